/*
 * userdb_passwd.c - the userdb module's chauthtok: pam_unix's password
 * change, with its prompts, messages and codes, the quality rules, the
 * administrator's change, and a compare-and-swap against the hash the
 * preliminary pass read (userdb.c has the whole list).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "userdb.h"
#include "secret.h"
#include "token.h"

/* ---- chauthtok ------------------------------------------------------------------- */

/* ASCII case-insensitive equality without an early exit. */
static int same_nocase(const char *a, size_t n, const char *b, size_t m)
{
    unsigned char diff = 0;
    if (n != m)
        return 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(tolower((unsigned char)a[i]) ^ tolower((unsigned char)b[i]));
    return diff == 0;
}

/* The user name, forwards or backwards, ignoring case, is the password or
 * (for names of 3 bytes or more) is part of it: libpwquality's user check. */
static int has_user_name(const char *pw, const char *user)
{
    size_t n = strlen(user);
    char *rev;
    int hit;

    if (same_nocase(pw, strlen(pw), user, n))
        return 1;
    if (n < 3)
        return 0;
    if (strcasestr(pw, user) != NULL)
        return 1;
    if ((rev = malloc(n + 1)) == NULL)
        return 1;                                  /* refuse rather than guess */
    for (size_t i = 0; i < n; i++)
        rev[i] = user[n - 1 - i];
    rev[n] = '\0';
    hit = strcasestr(pw, rev) != NULL;
    free(rev);
    return hit;
}

/* 1 if pw is a line of file (ignoring case), 0 if not, -1 if unreadable. */
static int in_blocklist(trex_pam_handle_t *h, const char *file, const char *pw)
{
    FILE *f = fopen(file, "re");
    size_t pwlen = strlen(pw), cap = 0;
    char *line = NULL;
    ssize_t n;
    int hit = 0;

    if (f == NULL) {
        trex_pam_log(h, LOG_ERR, "cannot read blocklist %s: %s", file, strerror(errno));
        return -1;
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        hit |= n > 0 && same_nocase(line, (size_t)n, pw, pwlen);
    }
    if (ferror(f)) {
        trex_pam_log(h, LOG_ERR, "cannot read blocklist %s: %s", file, strerror(errno));
        hit = -1;
    }
    free(line);
    fclose(f);
    return hit;
}

/* pam_unix's _pam_unix_approve_pass with our rules: SUCCESS or AUTHTOK_ERR
 * after one ERROR_MSG naming the rule (never the password). */
static int approve(trex_pam_handle_t *h, const struct opts *o, int flags, int admin,
                   const char *user, const char *old, const char *pw)
{
    const char *why = NULL;
    size_t n = pw != NULL ? strlen(pw) : 0;

    if (n == 0)
        why = "No password has been supplied.";
    else if (old != NULL && tp_secret_streq(old, pw))
        why = "The password has not been changed.";
    else if ((why = tp_token_password_refusal(pw)) != NULL)
        ;                   /* for the administrator too: nobody could log in with it */
    else if ((int64_t)n > o->maxlen)
        why = "You must choose a shorter password.";
    else if (!admin) {
        int b;
        if ((int64_t)n < o->minlen)
            why = "You must choose a longer password.";
        else if (has_user_name(pw, user))
            why = "The password contains the user name in some form";
        else if (o->blocklist != NULL && (b = in_blocklist(h, o->blocklist, pw)) != 0) {
            if (b < 0)
                return TREX_PAM_AUTHTOK_ERR;
            why = "The password fails the dictionary check - it is based on a dictionary word";
        }
    }
    if (why == NULL)
        return TREX_PAM_SUCCESS;
    if (o->debug)
        trex_pam_log(h, LOG_DEBUG, "new password of %s refused: %s", user, why);
    tp_userdb_remark(h, flags, TREX_PAM_ERROR_MSG, why);
    return TREX_PAM_AUTHTOK_ERR;
}

static int chauthtok_prelim(trex_pam_handle_t *h, struct tp_pool *pool, const struct opts *o,
                            int flags, int admin, struct conn *c, const char *user)
{
    struct tp_user u;
    const char *old = NULL;
    int64_t now = (int64_t)time(NULL);
    int rc;

    /* a PRELIM that fails leaves nothing for an UPDATE to act on */
    tp_secret_drop(&c->prelim_user);
    tp_secret_drop(&c->prelim_hash);
    tp_user_init(&u);
    if ((rc = tp_userdb_user(h, pool, c, user, TREX_PAM_AUTHINFO_UNAVAIL, &u)) != TREX_PAM_SUCCESS) {
        if (rc == TREX_PAM_USER_UNKNOWN)
            trex_pam_log(h, LOG_NOTICE, "user \"%s\" does not exist in the user database", user);
        return rc;
    }
    /* the current password, unless the administrator changes it or there is
     * none to give (nullok) */
    if (!admin && !(u.hash[0] == '\0' && o->nullok)) {
        if (!(flags & TREX_PAM_SILENT)) {
            char msg[600];
            snprintf(msg, sizeof msg, "Changing password for %s.", user);
            if ((rc = trex_pam_info(h, msg)) != TREX_PAM_SUCCESS)
                goto out;
        }
        rc = trex_pam_get_authtok(h, TREX_PAM_OLDAUTHTOK, &old, NULL);
        if (rc != TREX_PAM_SUCCESS) {
            if (rc == TREX_PAM_CONV_AGAIN)
                rc = TREX_PAM_INCOMPLETE;
            trex_pam_log(h, LOG_NOTICE, "password - (old) token not obtained");
            goto out;
        }
        if (!o->nodelay)
            (void)trex_pam_fail_delay(h, FAIL_DELAY);
        if (!tp_userdb_check(old, &u, &o->policy) || u.disabled) {
            tp_userdb_auth_failure(h, user);
            rc = TREX_PAM_AUTH_ERR;
            goto out;
        }
    }
    /* pam_unix's _unix_verify_shadow */
    if (!admin && tp_userdb_acct_expired(&u, now)) {
        trex_pam_log(h, LOG_NOTICE, "account %s has expired (account expired)", user);
        rc = TREX_PAM_ACCT_EXPIRED;
        goto out;
    }
    if ((flags & TREX_PAM_CHANGE_EXPIRED_AUTHTOK) && !tp_userdb_pw_expired(&u, now)) {
        tp_userdb_remark(h, flags, TREX_PAM_ERROR_MSG, "Your password is not expired.");
        rc = TREX_PAM_AUTHTOK_ERR;
        goto out;
    }
    if (!admin && !tp_userdb_pw_expired(&u, now) && u.pw_min_days > 0 && u.pw_changed > 0 &&
        tp_userdb_day(now) >= tp_userdb_day(u.pw_changed) &&
        tp_userdb_day(now) - tp_userdb_day(u.pw_changed) < u.pw_min_days) {
        trex_pam_log(h, LOG_NOTICE, "password of %s changed too recently", user);
        tp_userdb_remark(h, flags, TREX_PAM_ERROR_MSG, "You must wait longer to change your password.");
        rc = TREX_PAM_AUTHTOK_ERR;
        goto out;
    }
    /* remember what was checked, for the compare-and-swap in UPDATE */
    if ((c->prelim_user = strdup(user)) == NULL || (c->prelim_hash = strdup(u.hash)) == NULL) {
        tp_secret_drop(&c->prelim_user);
        rc = TREX_PAM_BUF_ERR;
        goto out;
    }
    rc = TREX_PAM_SUCCESS;
out:
    tp_user_clear(&u);
    return rc;
}

static int change_password(trex_pam_handle_t *h, const struct opts *o, int flags, int admin,
                           struct conn *c, const char *user)
{
    const char *old = NULL, *pw = NULL;
    char nh[HASH_BUF];
    int rc = TREX_PAM_AUTHTOK_ERR, tries;

    if (c->prelim_user == NULL || c->prelim_hash == NULL || strcmp(c->prelim_user, user) != 0) {
        trex_pam_log(h, LOG_ERR, "password - no preliminary check for %s", user);
        return TREX_PAM_AUTHTOK_RECOVERY_ERR;
    }
    old = tp_userdb_item(h, TREX_PAM_OLDAUTHTOK);
    tries = (o->use_first_pass || o->use_authtok) ? 1 : MAX_PASSWD_TRIES;
    for (int i = 0; i < tries && rc != TREX_PAM_SUCCESS; i++) {
        rc = trex_pam_get_authtok(h, TREX_PAM_AUTHTOK, &pw, NULL);
        if (rc != TREX_PAM_SUCCESS) {
            if (rc == TREX_PAM_CONV_AGAIN)
                rc = TREX_PAM_INCOMPLETE;
            if (o->debug)
                trex_pam_log(h, LOG_DEBUG, "password - new password not obtained");
            return rc;
        }
        rc = approve(h, o, flags, admin, user, old, pw);
        if (rc != TREX_PAM_SUCCESS)
            (void)trex_pam_set_item(h, TREX_PAM_AUTHTOK, NULL);
    }
    if (rc != TREX_PAM_SUCCESS) {
        trex_pam_log(h, LOG_NOTICE, "new password not acceptable");
        return rc;
    }
    if (tp_hash_make(pw, &o->policy, nh, sizeof nh) != 0) {
        trex_pam_log(h, LOG_CRIT, "crypt() failure or out of memory for password");
        return TREX_PAM_BUF_ERR;
    }
    rc = tp_store_user_set_hash(tp_userdb_store(c), user, c->prelim_hash, nh, (int64_t)time(NULL));
    tp_secret_wipe(nh, sizeof nh);
    switch (rc) {
    case TP_STORE_OK:
        trex_pam_log(h, LOG_NOTICE, "password changed for %s", user);
        return TREX_PAM_SUCCESS;
    case TP_STORE_CONFLICT:
        trex_pam_log(h, LOG_NOTICE, "user password changed by another process");
        return TREX_PAM_TRY_AGAIN;
    case TP_STORE_NOTFOUND:
        trex_pam_log(h, LOG_NOTICE, "user \"%s\" does not exist in the user database", user);
        return TREX_PAM_USER_UNKNOWN;
    default: {
        /* a store that cannot be used: AUTHINFO_UNAVAIL, as at login */
        char what[200];
        snprintf(what, sizeof what, "cannot store the new password of %.100s", user);
        return tp_lease_failed(h, &c->lease, rc, WHO, what) == TREX_PAM_AUTHINFO_UNAVAIL
               ? TREX_PAM_AUTHINFO_UNAVAIL : TREX_PAM_AUTHTOK_ERR;
    }
    }
}

/* UPDATE uses what its PRELIM checked once: the next change checks again. */
static int chauthtok_update(trex_pam_handle_t *h, const struct opts *o, int flags, int admin,
                            struct conn *c, const char *user)
{
    int rc = change_password(h, o, flags, admin, c, user);
    tp_secret_drop(&c->prelim_user);
    tp_secret_drop(&c->prelim_hash);
    return rc;
}

int tp_userdb_chauthtok(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct conn *c;
    const char *user;
    int rc, admin;

    tp_userdb_opts(h, argc, argv, &o);
    if ((rc = tp_userdb_want_user(h, &o, &user)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = tp_userdb_conn(h, inst, &o, TREX_PAM_AUTHINFO_UNAVAIL, &c)) != TREX_PAM_SUCCESS)
        return rc;
    admin = tp_admin_change(h, flags);
    if (admin && o.debug)
        trex_pam_log(h, LOG_DEBUG, "password of %s changed by the administrator", user);
    if (flags & TREX_PAM_PRELIM_CHECK)
        return chauthtok_prelim(h, inst, &o, flags, admin, c, user);
    if (flags & TREX_PAM_UPDATE_AUTHTOK)
        return chauthtok_update(h, &o, flags, admin, c, user);
    trex_pam_log(h, LOG_CRIT, "password received unknown request");
    return TREX_PAM_ABORT;
}

