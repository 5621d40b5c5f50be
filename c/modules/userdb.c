/*
 * userdb.c - the built-in module "userdb": users, passwords and password
 * ageing in TRex::PAM's own store (store.h), hashes through libxcrypt
 * (hash.h). It behaves as pam_unix does for /etc/shadow (Linux-PAM 1.5.2,
 * modules/pam_unix): the same prompts, messages and return codes, with the
 * decisions below where the two differ.
 *
 * Arguments
 *   store=LOCATION   the store (db=FILE: a file of the embedded one); else
 *                    $TREX_PAM_STORE, $TREX_PAM_DB, TP_STORE_DEFAULT_PATH
 *                    (store.h: tp_store_location)
 *   method=M cost=N  the preferred hash (hash.h names; default yescrypt at
 *                    libxcrypt's default cost): new passwords, upgrades at
 *                    login, and the dummy hash for unknown users. A bad value
 *                    is logged and the default used.
 *   nullok           an empty stored password lets the user in without a
 *                    prompt (not with PAM_DISALLOW_NULL_AUTHTOK), and lets
 *                    chauthtok skip asking for the current one
 *   try_first_pass use_first_pass use_authtok authtok_type=X
 *                    token reuse, handled by trex_pam_get_authtok() with
 *                    Linux-PAM's rules; like modern pam_unix we never
 *                    prompt again after a reused token failed
 *   minlen=N         new passwords: at least N bytes (default 8)
 *   maxlen=N         new passwords: at most N bytes (default and limit 511:
 *                    libxcrypt refuses a passphrase of 512 bytes or more)
 *   blocklist=FILE   new passwords: not one of the lines of FILE, compared
 *                    ignoring ASCII case (an unreadable file refuses changes)
 *   nodelay          no 2-second failure delay request (pam_unix's nodelay)
 *   debug            more log lines (never a password or a hash)
 * Anything else is logged at LOG_ERR ("unrecognized option [x]", as
 * pam_unix does) and ignored.
 *
 * Return codes and their pam_unix counterparts
 *   any call, the store cannot be opened, read or written  AUTHINFO_UNAVAIL
 *       (setcred: CRED_UNAVAIL, the setcred code for it); one log line names
 *       the store (a file, or a server's backend and host) and the reason
 *       (storepool.h: one per store and service call)
 *   authenticate
 *     unknown user          AUTH_ERR, as a wrong password, after prompting and
 *                           after a dummy hash of the preferred method
 *                           (pam_unix: get_pwd_hash -> PAM_USER_UNKNOWN,
 *                           which tells the application, and whoever it
 *                           shows the status to, which names exist)
 *     wrong password        AUTH_ERR
 *     empty stored password SUCCESS without a prompt with nullok (pam_unix's
 *                           _unix_blankpasswd), else AUTH_ERR
 *     disabled account      AUTH_ERR even with the right password, after the
 *                           same hash computation (pam_unix fails a locked
 *                           "!" hash in auth; a disabled account must not get
 *                           in through an application that skips acct_mgmt)
 *   acct_mgmt (pam_unix_acct.c, check_shadow_expiry)
 *     no PAM_USER / unknown USER_UNKNOWN
 *     disabled              ACCT_EXPIRED   (pam_unix's answer for a locked and
 *                                           expired account, usermod -L -e 1)
 *     expires <= now        ACCT_EXPIRED   "Your account has expired; please
 *                                           contact your system administrator."
 *     force_change          NEW_AUTHTOK_REQD "You are required to change your
 *                           password immediately (administrator enforced)."
 *     empty password with PAM_DISALLOW_NULL_AUTHTOK  NEW_AUTHTOK_REQD (same text)
 *     pw_changed + max days NEW_AUTHTOK_REQD "... immediately (password expired)."
 *     within warn days      SUCCESS + TEXT_INFO "Warning: your password will
 *                           expire in N day(s)."
 *     (no inactivity period, so never AUTHTOK_EXPIRED)
 *   setcred                 SUCCESS; USER_UNKNOWN without PAM_USER or for an
 *                           unknown user; CRED_ERR if the environment cannot
 *                           be set
 *   chauthtok (pam_unix_passwd.c)
 *     unknown user          USER_UNKNOWN (before any prompt)
 *     wrong current password AUTH_ERR (pam_unix and pam_unix_ng both)
 *     account expired       ACCT_EXPIRED (pam_unix's _unix_verify_shadow)
 *     PAM_CHANGE_EXPIRED_AUTHTOK and the password has not expired
 *                           AUTHTOK_ERR "Your password is not expired."
 *                           (upstream pam_unix since "support shadow passwd
 *                           -k"; 1.5.2 ignored the flag)
 *     minimum age not over  AUTHTOK_ERR "You must wait longer to change your
 *                           password."
 *     a quality rule        AUTHTOK_ERR with its ERROR_MSG; pam_unix asks
 *                           again up to 3 times (once with use_first_pass or
 *                           use_authtok). In order, the first that fails:
 *       empty               "No password has been supplied."         (pam_unix)
 *       the current one     "The password has not been changed."     (pam_unix)
 *       longer than maxlen  "You must choose a shorter password."    (pam_unix)
 *       shorter than minlen "You must choose a longer password."     (pam_unix)
 *       the user name in it, forwards or backwards, any case (names of 3 bytes
 *       or more; shorter: only the whole password)
 *                           "The password contains the user name in some form"
 *                                                                (libpwquality)
 *       a blocklist line    "The password fails the dictionary check - it is
 *                           based on a dictionary word"    (libpwquality/cracklib)
 *     retype mismatch       TRY_AGAIN (from trex_pam_get_authtok)
 *     UPDATE without a successful PRELIM of ours for this user in the same
 *     pam_chauthtok (an optional line whose PRELIM failed)  AUTHTOK_RECOVERY_ERR
 *     the stored hash changed since PRELIM (compare-and-swap lost)  TRY_AGAIN:
 *                           nothing was changed, the whole change may be tried
 *                           again (pam_unix re-verifies under its lock and
 *                           fails "user password changed by another process")
 *
 * The administrator: in chauthtok the current password is not asked, and
 * the minimum age and the length/user-name/blocklist rules do not apply
 * (pam_unix's root), when the application set the named item TREX_ADMIN to
 * "1" AND the real uid is 0 AND PAM_CHANGE_EXPIRED_AUTHTOK is not set (as
 * pam_unix's UNIX__IAMROOT). The item alone is not enough: a web CGI never
 * runs as root, whatever it sets.
 *
 * setcred: each attribute NAME=VALUE of the user becomes the PAM environment
 * variable NAME upper-cased, every byte outside [A-Za-z0-9_] replaced by
 * '_' ("display-name" -> DISPLAY_NAME). PAM_DELETE_CRED removes those
 * variables again. Attributes are the administrator's data: an attribute
 * named "path" sets PATH.
 *
 * Store connections: one per store path per process, shared with the
 * session and faillock modules and kept open while a configuration that
 * uses it lives (storepool.h: with the application's configuration cache,
 * across every handle of a persistent process; a forked child opens its
 * own). A handle takes the connection at
 * its first use of a path and keeps it until trex_pam_end, so all calls on
 * one handle share one connection; a later handle notices a database file
 * replaced or removed meanwhile (its device and inode) and opens the path
 * afresh, and a read that fails on a kept connection is tried once more on
 * a fresh one. A successful login computes exactly one hash, unless the
 * stored hash is weaker than the preferred method (tp_hash_needs_upgrade):
 * then it is replaced by a new one of the same password, compare-and-swap
 * against the old, pw_changed kept; a lost race is ignored, and a user who
 * must change the password anyway (force_change) is not upgraded, since the
 * store's set_hash would clear that flag.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include "userdb.h"
#include "secret.h"
#include "modargs.h"

/* ---- authenticate ------------------------------------------------------------ */

static void upgrade_hash(trex_pam_handle_t *h, const struct opts *o, struct conn *c,
                         const char *user, const struct tp_user *u, const char *password)
{
    char nh[HASH_BUF];
    int rc;

    if (tp_hash_make(password, &o->policy, nh, sizeof nh) != 0) {
        trex_pam_log(h, LOG_ERR, "cannot make a %s hash to upgrade the password of %s",
                     o->policy.prefix, user);
        return;
    }
    rc = tp_store_user_set_hash(tp_userdb_store(c), user, u->hash, nh, u->pw_changed);
    tp_secret_wipe(nh, sizeof nh);
    if (rc == TP_STORE_OK)
        trex_pam_log(h, LOG_INFO, "password hash of %s upgraded to the preferred method", user);
    else if (rc == TP_STORE_CONFLICT || rc == TP_STORE_NOTFOUND) {
        if (o->debug)
            trex_pam_log(h, LOG_DEBUG, "password of %s changed meanwhile; no upgrade", user);
    } else {
        char what[200];
        snprintf(what, sizeof what, "cannot store the upgraded hash of %.100s", user);
        (void)tp_lease_failed(h, &c->lease, rc, WHO, what);   /* the login goes on */
    }
}

static int userdb_authenticate(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct conn *c;
    struct tp_user u;
    const char *user, *password = NULL;
    int rc, ok, known;

    tp_userdb_opts(h, argc, argv, &o);
    if ((rc = tp_userdb_want_user(h, &o, &user)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = tp_userdb_conn(h, inst, &o, TREX_PAM_AUTHINFO_UNAVAIL, &c)) != TREX_PAM_SUCCESS)
        return rc;
    tp_user_init(&u);
    rc = tp_userdb_user(h, inst, c, user, TREX_PAM_AUTHINFO_UNAVAIL, &u);
    if (rc != TREX_PAM_SUCCESS && rc != TREX_PAM_USER_UNKNOWN)
        return rc;
    known = rc == TREX_PAM_SUCCESS;

    /* pam_unix's _unix_blankpasswd: no password, nullok, not refused by the
     * application: in without a prompt */
    if (known && u.hash[0] == '\0' && o.nullok && !(flags & TREX_PAM_DISALLOW_NULL_AUTHTOK) &&
        !u.disabled) {
        if (o.debug)
            trex_pam_log(h, LOG_DEBUG, "user [%s] has blank password; authenticated without it", user);
        tp_user_clear(&u);
        return TREX_PAM_SUCCESS;
    }

    rc = trex_pam_get_authtok(h, TREX_PAM_AUTHTOK, &password, NULL);
    if (rc != TREX_PAM_SUCCESS) {
        if (rc == TREX_PAM_CONV_AGAIN)
            rc = TREX_PAM_INCOMPLETE;
        else
            trex_pam_log(h, LOG_CRIT, "auth could not identify password for [%s]", user);
        tp_user_clear(&u);
        return rc;
    }
    if (!o.nodelay)
        (void)trex_pam_fail_delay(h, FAIL_DELAY);

    if (!known) {
        tp_hash_verify_dummy(password, &o.policy);      /* the cost of a wrong password */
        trex_pam_log(h, LOG_NOTICE, "check pass; user unknown");
        return TREX_PAM_AUTH_ERR;       /* as a wrong password: the name is not told */
    }
    ok = tp_userdb_check(password, &u, &o.policy);
    if (ok && u.disabled) {
        trex_pam_log(h, LOG_NOTICE, "account %s is disabled", user);
        ok = 0;
    }
    if (!ok) {
        tp_userdb_auth_failure(h, user);
        tp_user_clear(&u);
        return TREX_PAM_AUTH_ERR;
    }
    if (!u.force_change && tp_hash_needs_upgrade(u.hash, &o.policy))
        upgrade_hash(h, &o, c, user, &u, password);
    tp_user_clear(&u);
    return TREX_PAM_SUCCESS;
}

/* ---- acct_mgmt ----------------------------------------------------------------- */

static int userdb_acct_mgmt(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    static const char expired_msg[] =
        "Your account has expired; please contact your system administrator.";
    static const char admin_msg[] =
        "You are required to change your password immediately (administrator enforced).";
    struct opts o;
    struct conn *c;
    struct tp_user u;
    const char *user;
    int64_t now = (int64_t)time(NULL);
    int rc;

    tp_userdb_opts(h, argc, argv, &o);
    if ((user = tp_userdb_named_user(h)) == NULL)
        return TREX_PAM_USER_UNKNOWN;
    if ((rc = tp_userdb_conn(h, inst, &o, TREX_PAM_AUTHINFO_UNAVAIL, &c)) != TREX_PAM_SUCCESS)
        return rc;
    tp_user_init(&u);
    if ((rc = tp_userdb_user(h, inst, c, user, TREX_PAM_AUTHINFO_UNAVAIL, &u)) != TREX_PAM_SUCCESS) {
        if (rc == TREX_PAM_USER_UNKNOWN)
            trex_pam_log(h, LOG_NOTICE, "could not identify user (from the user database: %s)", user);
        return rc;
    }

    if (u.disabled || tp_userdb_acct_expired(&u, now)) {
        trex_pam_log(h, LOG_NOTICE, "account %s has expired (%s)", user,
                     u.disabled ? "account disabled" : "account expired");
        tp_userdb_remark(h, flags, TREX_PAM_ERROR_MSG, expired_msg);
        rc = TREX_PAM_ACCT_EXPIRED;
    } else if (u.force_change) {
        trex_pam_log(h, LOG_NOTICE, "expired password for user %s (root enforced)", user);
        tp_userdb_remark(h, flags, TREX_PAM_ERROR_MSG, admin_msg);
        rc = TREX_PAM_NEW_AUTHTOK_REQD;
    } else if ((flags & TREX_PAM_DISALLOW_NULL_AUTHTOK) && u.hash[0] == '\0') {
        trex_pam_log(h, LOG_NOTICE, "user %s has no password (null password disallowed)", user);
        tp_userdb_remark(h, flags, TREX_PAM_ERROR_MSG, admin_msg);
        rc = TREX_PAM_NEW_AUTHTOK_REQD;
    } else if (tp_userdb_pw_expired(&u, now)) {
        trex_pam_log(h, LOG_DEBUG, "expired password for user %s (password aged)", user);
        tp_userdb_remark(h, flags, TREX_PAM_ERROR_MSG,
               "You are required to change your password immediately (password expired).");
        rc = TREX_PAM_NEW_AUTHTOK_REQD;
    } else {
        rc = TREX_PAM_SUCCESS;
        if (u.pw_max_days >= 0 && u.pw_changed > 0 && u.pw_warn_days > 0 &&
            tp_userdb_day(now) >= tp_userdb_day(u.pw_changed)) {
            int64_t passed = tp_userdb_day(now) - tp_userdb_day(u.pw_changed);
            /* pam_unix: a warning period longer than the maximum age warns always */
            int64_t warn = u.pw_warn_days > u.pw_max_days ? -1 : u.pw_max_days - u.pw_warn_days;
            if (passed >= warn) {
                long left = (long)(u.pw_max_days - passed);
                char msg[128];
                trex_pam_log(h, LOG_DEBUG, "password for user %s will expire in %ld days", user, left);
                snprintf(msg, sizeof msg, left == 1 ? "Warning: your password will expire in %ld day."
                                                    : "Warning: your password will expire in %ld days.",
                         left);
                tp_userdb_remark(h, flags, TREX_PAM_TEXT_INFO, msg);
            }
        } else if (u.pw_changed > 0 && tp_userdb_day(now) < tp_userdb_day(u.pw_changed)) {
            trex_pam_log(h, LOG_DEBUG, "account %s has password changed in future", user);
        }
    }
    tp_user_clear(&u);
    return rc;
}

/* ---- setcred --------------------------------------------------------------------- */

/* NAME upper-cased, anything outside [A-Za-z0-9_] as '_'; NULL if empty. */
static char *env_name(const char *attr)
{
    size_t n = strlen(attr);
    char *s;
    if (n == 0 || (s = malloc(n + 1)) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)attr[i];
        s[i] = (ch < 128 && (isalnum(ch) || ch == '_')) ? (char)toupper(ch) : '_';
    }
    s[n] = '\0';
    return s;
}

static int userdb_setcred(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct conn *c;
    struct tp_user u;
    const char *user;
    int rc = TREX_PAM_SUCCESS, del = (flags & TREX_PAM_DELETE_CRED) != 0;

    tp_userdb_opts(h, argc, argv, &o);
    if ((user = tp_userdb_named_user(h)) == NULL)
        return TREX_PAM_USER_UNKNOWN;
    if ((rc = tp_userdb_conn(h, inst, &o, TREX_PAM_CRED_UNAVAIL, &c)) != TREX_PAM_SUCCESS)
        return rc;
    tp_user_init(&u);
    if ((rc = tp_userdb_user(h, inst, c, user, TREX_PAM_CRED_UNAVAIL, &u)) != TREX_PAM_SUCCESS)
        return rc;
    for (size_t i = 0; i < u.nattrs && rc == TREX_PAM_SUCCESS; i++) {
        const char *value = u.attrs[i].value != NULL ? u.attrs[i].value : "";
        char *name, *nv;
        int r;

        if (u.attrs[i].name == NULL || (name = env_name(u.attrs[i].name)) == NULL) {
            if (u.attrs[i].name != NULL && u.attrs[i].name[0] != '\0')
                rc = TREX_PAM_CRED_ERR;           /* out of memory */
            continue;
        }
        if (del) {
            r = trex_pam_getenv(h, name) != NULL ? trex_pam_putenv(h, name) : TREX_PAM_SUCCESS;
        } else if ((nv = malloc(strlen(name) + strlen(value) + 2)) == NULL) {
            r = TREX_PAM_BUF_ERR;
        } else {
            sprintf(nv, "%s=%s", name, value);
            r = trex_pam_putenv(h, nv);
            free(nv);
        }
        if (r != TREX_PAM_SUCCESS) {
            trex_pam_log(h, LOG_ERR, "cannot %s environment variable %s for %s: %s",
                         del ? "remove" : "set", name, user, trex_pam_strerror(h, r));
            rc = TREX_PAM_CRED_ERR;
        }
        free(name);
    }
    if (o.debug && rc == TREX_PAM_SUCCESS)
        trex_pam_log(h, LOG_DEBUG, "%s %zu attribute(s) of %s", del ? "removed" : "exported",
                     u.nattrs, user);
    tp_user_clear(&u);
    return rc;
}


/* trex-pam check-config: the line's store can be used and keeps users. */
static int userdb_check(trex_pam_handle_t *h, int argc, const char **argv, void *inst,
                        char *why, size_t whylen)
{
    (void)inst;
    return tp_store_check_line(h, "store", tp_args_value(argc, argv, "store"),
                               tp_args_value(argc, argv, "db"), TP_STORE_KEEPS_USERS, WHO, NULL,
                               why, whylen);
}

const struct trex_pam_module tp_mod_userdb = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "userdb",
    .authenticate = userdb_authenticate,
    .setcred = userdb_setcred,
    .acct_mgmt = userdb_acct_mgmt,
    .chauthtok = tp_userdb_chauthtok,
    .release = tp_pool_instance_release,   /* the instance: a store pool (storepool.h) */
    .instance_new = tp_pool_instance_new,
    .check = userdb_check,
};

