/*
 * userdb_base.c - what every hook of the userdb module uses: its
 * arguments, its store connection, and the rules of an account.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "userdb.h"
#include "secret.h"
#include "modargs.h"

/* ---- arguments --------------------------------------------------------- */

#define OPT(field) offsetof(struct opts, field)
static const struct tp_arg args[] = {
    { "db", TP_ARG_TEXT, OPT(db), 0, 0, 0 },
    { "store", TP_ARG_TEXT, OPT(store), 0, 0, 0 },
    { "method", TP_ARG_TEXT, OPT(method), 0, 0, 0 },
    { "cost", TP_ARG_TEXT, OPT(cost), 0, 0, 0 },
    { "minlen", TP_ARG_NUMBER, OPT(minlen), 0, INT64_MAX, 0 },
    { "maxlen", TP_ARG_NUMBER, OPT(maxlen), 1, INT64_MAX, 0 },
    { "blocklist", TP_ARG_TEXT, OPT(blocklist), 0, 0, 0 },
    { "nullok", TP_ARG_FLAG, OPT(nullok), 0, 0, 0 },
    { "use_first_pass", TP_ARG_FLAG, OPT(use_first_pass), 0, 0, 0 },
    { "use_authtok", TP_ARG_FLAG, OPT(use_authtok), 0, 0, 0 },
    { "nodelay", TP_ARG_FLAG, OPT(nodelay), 0, 0, 0 },
    { "debug", TP_ARG_FLAG, OPT(debug), 0, 0, 0 },
    { "try_first_pass", TP_ARG_SKIP, 0, 0, 0, 0 },          /* reuse is the default */
    { "authtok_type", TP_ARG_SKIP_VALUE, 0, 0, 0, 0 },      /* read by trex_pam_get_authtok */
};
static const struct tp_args table = {        /* pam_unix's words */
    args, TP_ARGS_COUNT(args), "bad value in option [%.*s]", TP_ARGS_WHOLE,
    "unrecognized option [%.*s]",
};

void tp_userdb_opts(trex_pam_handle_t *h, int argc, const char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->minlen = 8;
    o->maxlen = PASS_MAX;
    (void)tp_args_parse(h, &table, argc, argv, o);
    if (o->maxlen > PASS_MAX) {
        trex_pam_log(h, LOG_NOTICE, "Password maxlen reset to %d characters", PASS_MAX);
        o->maxlen = PASS_MAX;
    }
    if (o->blocklist != NULL && *o->blocklist == '\0')
        o->blocklist = NULL;
    if (tp_hash_policy_set(&o->policy, o->method, o->cost) != 0) {
        trex_pam_log(h, LOG_ERR, "unusable hash method=%s cost=%s; using yescrypt at its default cost",
                     o->method ? o->method : "(default)", o->cost ? o->cost : "(default)");
        tp_hash_policy_default(&o->policy);
    }
}

/* ---- the store connection ---------------------------------------------- */

static void conn_cleanup(trex_pam_handle_t *h, void *data, int status)
{
    struct conn *c = data;
    if (c == NULL)
        return;
    tp_lease_end(&c->lease);
    tp_secret_drop(&c->prelim_user);
    tp_secret_drop(&c->prelim_hash);
    free(c);
}

struct tp_store *tp_userdb_store(const struct conn *c)
{
    return tp_lease_store(&c->lease);
}

/* The handle's connection to the store at the line's path, leased from the
 * instance's pool on first use. TREX_PAM_SUCCESS, unavail (the caller's
 * code for "no store") or BUF_ERR. */
int tp_userdb_conn(trex_pam_handle_t *h, struct tp_pool *pool, const struct opts *o, int unavail,
                    struct conn **out)
{
    char key[64 + 2 * TP_STORE_LOCATION_MAX];
    int rc;

    *out = NULL;
    /* one connection per store the lines name (the same words, the same
     * store: the environment and the configuration file are one for all) */
    if (snprintf(key, sizeof key, "trex-userdb:%s|%s", o->store ? o->store : "",
                 o->db ? o->db : "") >= (int)sizeof key) {
        trex_pam_log(h, LOG_ERR, "user database path too long");
        return unavail;
    }
    if ((rc = tp_pool_state(h, key, sizeof **out, conn_cleanup, (void **)out)) != TREX_PAM_SUCCESS)
        return rc;
    rc = tp_lease_use_at(h, pool, &(*out)->lease, o->store, o->db, WHO);
    return rc == TP_STORE_OK ? TREX_PAM_SUCCESS : unavail;
}

/* Looks name up: SUCCESS (u filled), USER_UNKNOWN, or unavail after a log
 * line with the store's reason. */
int tp_userdb_user(trex_pam_handle_t *h, struct tp_pool *pool, struct conn *c,
                        const char *name, int unavail, struct tp_user *u)
{
    int rc = tp_store_user_get(tp_userdb_store(c), name, u);
    if (tp_lease_again(h, pool, &c->lease, rc, WHO)) {
        tp_user_clear(u);
        rc = tp_store_user_get(tp_userdb_store(c), name, u);
    }
    if (rc == TP_STORE_OK) {
        if (u->hash == NULL && (u->hash = strdup("")) == NULL) {   /* "" is no password */
            tp_user_clear(u);
            return TREX_PAM_BUF_ERR;
        }
        return TREX_PAM_SUCCESS;
    }
    tp_user_clear(u);
    if (rc == TP_STORE_NOTFOUND)
        return TREX_PAM_USER_UNKNOWN;
    (void)tp_lease_failed(h, &c->lease, rc, WHO, "cannot read the user database");
    return unavail;
}

/* ---- helpers -------------------------------------------------------------- */

/* pam_unix's _make_remark: nothing under PAM_SILENT. */
void tp_userdb_remark(trex_pam_handle_t *h, int flags, int style, const char *text)
{
    if (!(flags & TREX_PAM_SILENT))
        (void)trex_pam_prompt(h, style, NULL, text);
}

const char *tp_userdb_item(const trex_pam_handle_t *h, int item)
{
    const void *v = NULL;
    if (trex_pam_get_item(h, item, &v) != TREX_PAM_SUCCESS)
        return NULL;
    return v;
}

void tp_userdb_auth_failure(trex_pam_handle_t *h, const char *user)
{
    const char *tty = tp_userdb_item(h, TREX_PAM_TTY), *ruser = tp_userdb_item(h, TREX_PAM_RUSER),
               *rhost = tp_userdb_item(h, TREX_PAM_RHOST);
    trex_pam_log(h, LOG_NOTICE, "authentication failure; uid=%d euid=%d tty=%s ruser=%s rhost=%s user=%s",
                 (int)getuid(), (int)geteuid(), tty ? tty : "", ruser ? ruser : "",
                 rhost ? rhost : "", user);
}

/* The user as pam_get_user gives it, CONV_AGAIN mapped to INCOMPLETE as
 * pam_unix does; an empty name is no user. */
int tp_userdb_want_user(trex_pam_handle_t *h, const struct opts *o, const char **user)
{
    int rc = trex_pam_get_user(h, user, NULL);
    if (rc == TREX_PAM_CONV_AGAIN)
        return TREX_PAM_INCOMPLETE;
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    if (*user == NULL || **user == '\0') {
        trex_pam_log(h, LOG_NOTICE, "bad username []");
        return TREX_PAM_USER_UNKNOWN;
    }
    if (o->debug)
        trex_pam_log(h, LOG_DEBUG, "username [%s] obtained", *user);
    return TREX_PAM_SUCCESS;
}

/* The user named by PAM_USER (acct_mgmt, setcred: no prompting). */
const char *tp_userdb_named_user(trex_pam_handle_t *h)
{
    const char *u = tp_userdb_item(h, TREX_PAM_USER);
    if (u == NULL || *u == '\0') {
        trex_pam_log(h, LOG_NOTICE, "could not identify user (from uid=%lu)", (unsigned long)getuid());
        return NULL;
    }
    return u;
}

/* Verifies password against u's hash with exactly one hash computation: a
 * hash libxcrypt cannot use ("", "*", "!...") costs a dummy of the policy,
 * so that no stored state shows in the time taken. */
int tp_userdb_check(const char *password, const struct tp_user *u, const struct tp_hash_policy *p)
{
    if (tp_hash_usable(u->hash))
        return tp_hash_verify(password, u->hash);
    tp_hash_verify_dummy(password, p);
    return 0;
}

int64_t tp_userdb_day(int64_t t)
{
    return t / DAY;
}

/* Whether the password must be changed now: the administrator said so, or
 * it is older than pw_max_days (pam_unix: PAM_NEW_AUTHTOK_REQD). */
int tp_userdb_pw_expired(const struct tp_user *u, int64_t now)
{
    if (u->force_change)
        return 1;
    if (u->pw_max_days < 0 || u->pw_changed <= 0 || tp_userdb_day(now) < tp_userdb_day(u->pw_changed))
        return 0;
    return tp_userdb_day(now) - tp_userdb_day(u->pw_changed) >= u->pw_max_days;
}

int tp_userdb_acct_expired(const struct tp_user *u, int64_t now)
{
    return u->expires > 0 && now >= u->expires;
}

