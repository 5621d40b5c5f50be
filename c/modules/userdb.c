/*
 * userdb.c - the built-in module "userdb": users, passwords and password
 * ageing in TRex::PAM's own store (store.h), hashes through libxcrypt
 * (hash.h). It behaves as pam_unix does for /etc/shadow (Linux-PAM 1.5.2,
 * modules/pam_unix): the same prompts, messages and return codes, with the
 * decisions below where the two differ.
 *
 * Arguments
 *   db=PATH          the store (else $TREX_PAM_DB, else TP_STORE_DEFAULT_PATH)
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
 *   any call, the store cannot be opened or read  AUTHINFO_UNAVAIL
 *       (setcred: CRED_UNAVAIL, the setcred code for it); the log line names
 *       the file and the reason
 *   authenticate
 *     unknown user          USER_UNKNOWN, after prompting and after a dummy
 *                           hash of the preferred method (pam_unix:
 *                           get_pwd_hash -> PAM_USER_UNKNOWN)
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
 * Store connections: the module's instance keeps one per store path,
 * open across the handles that share the configuration (storepool.h: with
 * the application's configuration cache, every handle of a persistent
 * process; a forked child opens its own). A handle takes the connection at
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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "registry.h"
#include "store.h"
#include "storepool.h"
#include "hash.h"

#define HASH_BUF        512        /* >= libxcrypt's CRYPT_OUTPUT_SIZE (384) */
#define PASS_MAX        511        /* libxcrypt: a passphrase is < 512 bytes */
#define MAX_PASSWD_TRIES  3        /* pam_unix */
#define FAIL_DELAY  2000000        /* pam_unix: 2 s on failure */
#define DAY           86400

struct opts {
    const char *db;
    struct tp_hash_policy policy;
    int nullok, use_first_pass, use_authtok, nodelay, debug;
    size_t minlen, maxlen;
    const char *blocklist;
};

/* One per handle and store path, in the handle's module data: the
 * connection this handle uses (from the instance's pool) and its chauthtok
 * state. */
struct conn {
    struct tp_lease lease;
    char *prelim_user;             /* chauthtok: who PRELIM checked ... */
    char *prelim_hash;             /* ... and the hash it read (compare-and-swap) */
};

/* ---- arguments --------------------------------------------------------- */

static const char *arg_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long v;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static void parse_opts(trex_pam_handle_t *h, int argc, const char **argv, struct opts *o)
{
    const char *method = NULL, *cost = NULL, *v;

    memset(o, 0, sizeof *o);
    o->minlen = 8;
    o->maxlen = PASS_MAX;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a == NULL)
            continue;
        if ((v = arg_value(a, "db")) != NULL)
            o->db = v;
        else if ((v = arg_value(a, "method")) != NULL)
            method = v;
        else if ((v = arg_value(a, "cost")) != NULL)
            cost = v;
        else if ((v = arg_value(a, "minlen")) != NULL) {
            if (parse_size(v, &o->minlen) != 0) {
                trex_pam_log(h, LOG_ERR, "bad value in option [%s]", a);
                o->minlen = 8;
            }
        } else if ((v = arg_value(a, "maxlen")) != NULL) {
            if (parse_size(v, &o->maxlen) != 0 || o->maxlen == 0) {
                trex_pam_log(h, LOG_ERR, "bad value in option [%s]", a);
                o->maxlen = PASS_MAX;
            } else if (o->maxlen > PASS_MAX) {
                trex_pam_log(h, LOG_NOTICE, "Password maxlen reset to %d characters", PASS_MAX);
                o->maxlen = PASS_MAX;
            }
        } else if ((v = arg_value(a, "blocklist")) != NULL)
            o->blocklist = *v != '\0' ? v : NULL;
        else if (arg_value(a, "authtok_type") != NULL)
            ;                                   /* read by trex_pam_get_authtok */
        else if (strcmp(a, "nullok") == 0)
            o->nullok = 1;
        else if (strcmp(a, "try_first_pass") == 0)
            ;                                   /* reuse is the default (4.2) */
        else if (strcmp(a, "use_first_pass") == 0)
            o->use_first_pass = 1;
        else if (strcmp(a, "use_authtok") == 0)
            o->use_authtok = 1;
        else if (strcmp(a, "nodelay") == 0)
            o->nodelay = 1;
        else if (strcmp(a, "debug") == 0)
            o->debug = 1;
        else
            trex_pam_log(h, LOG_ERR, "unrecognized option [%s]", a);
    }
    if (tp_hash_policy_set(&o->policy, method, cost) != 0) {
        trex_pam_log(h, LOG_ERR, "unusable hash method=%s cost=%s; using yescrypt at its default cost",
                     method ? method : "(default)", cost ? cost : "(default)");
        tp_hash_policy_default(&o->policy);
    }
}

/* ---- the store connection ---------------------------------------------- */

static void drop_str(char **p)
{
    if (*p == NULL)
        return;
    trex_pam_wipe(*p, strlen(*p));
    free(*p);
    *p = NULL;
}

static void conn_cleanup(trex_pam_handle_t *h, void *data, int status)
{
    struct conn *c = data;
    if (c == NULL)
        return;
    tp_lease_end(&c->lease);
    drop_str(&c->prelim_user);
    drop_str(&c->prelim_hash);
    free(c);
}

static struct tp_store *st_of(const struct conn *c)
{
    return tp_lease_store(&c->lease);
}

/* The handle's connection to the store at the line's path, leased from the
 * instance's pool on first use. TREX_PAM_SUCCESS, unavail (the caller's
 * code for "no store") or BUF_ERR. */
static int get_conn(trex_pam_handle_t *h, struct tp_pool *pool, const struct opts *o, int unavail,
                    struct conn **out)
{
    const char *path = tp_store_path(o->db);
    char key[64 + 4096], err[1024];
    const void *d = NULL;
    struct conn *c;
    int rc;

    *out = NULL;
    if (snprintf(key, sizeof key, "trex-userdb:%s", path) >= (int)sizeof key) {
        trex_pam_log(h, LOG_ERR, "user database path too long");
        return unavail;
    }
    if (trex_pam_get_data(h, key, &d) == TREX_PAM_SUCCESS && d != NULL) {
        c = (struct conn *)d;
        if (st_of(c) == NULL &&        /* lost to a failed second chance: open again */
            tp_pool_lease(pool, path, &c->lease, err, sizeof err) != TP_STORE_OK) {
            trex_pam_log(h, LOG_ERR, "cannot open the user database: %s",
                         err[0] != '\0' ? err : path);
            return unavail;
        }
        *out = c;
        return TREX_PAM_SUCCESS;
    }
    if ((c = calloc(1, sizeof *c)) == NULL)
        return TREX_PAM_BUF_ERR;
    rc = tp_pool_lease(pool, path, &c->lease, err, sizeof err);
    if (rc != TP_STORE_OK) {
        trex_pam_log(h, LOG_ERR, "cannot open the user database: %s",
                     err[0] != '\0' ? err : path);
        free(c);
        return unavail;
    }
    if ((rc = trex_pam_set_data(h, key, c, conn_cleanup)) != TREX_PAM_SUCCESS) {
        conn_cleanup(h, c, 0);
        return rc;
    }
    *out = c;
    return TREX_PAM_SUCCESS;
}

/* After a failed read (src): 1 if c now has a fresh connection to read
 * again from (once per handle, and only if the failed one was kept from an
 * earlier handle), else 0. */
static int store_again(trex_pam_handle_t *h, struct tp_pool *pool, struct conn *c, int src)
{
    char err[1024];

    if (c->lease.fresh || (src != TP_STORE_ERR && src != TP_STORE_UNAVAIL))
        return 0;
    trex_pam_log(h, LOG_NOTICE, "the user database failed on a kept connection: %s; opening it again",
                 tp_store_error(st_of(c)));
    if (tp_lease_retry(pool, &c->lease, src, err, sizeof err))
        return 1;
    trex_pam_log(h, LOG_ERR, "cannot open the user database: %s", err);
    return 0;
}

/* Looks name up: SUCCESS (u filled), USER_UNKNOWN, or unavail after a log
 * line with the store's reason. */
static int get_user_rec(trex_pam_handle_t *h, struct tp_pool *pool, struct conn *c,
                        const char *name, int unavail, struct tp_user *u)
{
    int rc = tp_store_user_get(st_of(c), name, u);
    if (store_again(h, pool, c, rc)) {
        tp_user_clear(u);
        rc = tp_store_user_get(st_of(c), name, u);
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
    if (st_of(c) != NULL)                  /* else store_again said why */
        trex_pam_log(h, LOG_ERR, "cannot read the user database: %s", tp_store_error(st_of(c)));
    return unavail;
}

/* ---- helpers -------------------------------------------------------------- */

/* pam_unix's _make_remark: nothing under PAM_SILENT. */
static void remark(trex_pam_handle_t *h, int flags, int style, const char *text)
{
    if (!(flags & TREX_PAM_SILENT))
        (void)trex_pam_prompt(h, style, NULL, text);
}

static const char *item_str(const trex_pam_handle_t *h, int item)
{
    const void *v = NULL;
    if (trex_pam_get_item(h, item, &v) != TREX_PAM_SUCCESS)
        return NULL;
    return v;
}

static void log_auth_failure(trex_pam_handle_t *h, const char *user)
{
    const char *tty = item_str(h, TREX_PAM_TTY), *ruser = item_str(h, TREX_PAM_RUSER),
               *rhost = item_str(h, TREX_PAM_RHOST);
    trex_pam_log(h, LOG_NOTICE, "authentication failure; uid=%d euid=%d tty=%s ruser=%s rhost=%s user=%s",
                 (int)getuid(), (int)geteuid(), tty ? tty : "", ruser ? ruser : "",
                 rhost ? rhost : "", user);
}

/* The user as pam_get_user gives it, CONV_AGAIN mapped to INCOMPLETE as
 * pam_unix does; an empty name is no user. */
static int want_user(trex_pam_handle_t *h, const struct opts *o, const char **user)
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
static const char *named_user(trex_pam_handle_t *h)
{
    const char *u = item_str(h, TREX_PAM_USER);
    if (u == NULL || *u == '\0') {
        trex_pam_log(h, LOG_NOTICE, "could not identify user (from uid=%lu)", (unsigned long)getuid());
        return NULL;
    }
    return u;
}

/* Verifies password against u's hash with exactly one hash computation: a
 * hash libxcrypt cannot use ("", "*", "!...") costs a dummy of the policy,
 * so that no stored state shows in the time taken. */
static int check_password(const char *password, const struct tp_user *u, const struct tp_hash_policy *p)
{
    if (tp_hash_usable(u->hash))
        return tp_hash_verify(password, u->hash);
    tp_hash_verify_dummy(password, p);
    return 0;
}

static int64_t day_of(int64_t t)
{
    return t / DAY;
}

/* Whether the password must be changed now: the administrator said so, or
 * it is older than pw_max_days (pam_unix: PAM_NEW_AUTHTOK_REQD). */
static int password_expired(const struct tp_user *u, int64_t now)
{
    if (u->force_change)
        return 1;
    if (u->pw_max_days < 0 || u->pw_changed <= 0 || day_of(now) < day_of(u->pw_changed))
        return 0;
    return day_of(now) - day_of(u->pw_changed) >= u->pw_max_days;
}

static int account_expired(const struct tp_user *u, int64_t now)
{
    return u->expires > 0 && now >= u->expires;
}

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
    rc = tp_store_user_set_hash(st_of(c), user, u->hash, nh, u->pw_changed);
    trex_pam_wipe(nh, sizeof nh);
    if (rc == TP_STORE_OK)
        trex_pam_log(h, LOG_INFO, "password hash of %s upgraded to the preferred method", user);
    else if (rc == TP_STORE_CONFLICT || rc == TP_STORE_NOTFOUND) {
        if (o->debug)
            trex_pam_log(h, LOG_DEBUG, "password of %s changed meanwhile; no upgrade", user);
    } else
        trex_pam_log(h, LOG_ERR, "cannot store the upgraded hash of %s: %s", user,
                     tp_store_error(st_of(c)));
}

static int userdb_authenticate(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct conn *c;
    struct tp_user u;
    const char *user, *password = NULL;
    int rc, ok, known;

    parse_opts(h, argc, argv, &o);
    if ((rc = want_user(h, &o, &user)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = get_conn(h, inst, &o, TREX_PAM_AUTHINFO_UNAVAIL, &c)) != TREX_PAM_SUCCESS)
        return rc;
    tp_user_init(&u);
    rc = get_user_rec(h, inst, c, user, TREX_PAM_AUTHINFO_UNAVAIL, &u);
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
        return TREX_PAM_USER_UNKNOWN;
    }
    ok = check_password(password, &u, &o.policy);
    if (ok && u.disabled) {
        trex_pam_log(h, LOG_NOTICE, "account %s is disabled", user);
        ok = 0;
    }
    if (!ok) {
        log_auth_failure(h, user);
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

    parse_opts(h, argc, argv, &o);
    if ((user = named_user(h)) == NULL)
        return TREX_PAM_USER_UNKNOWN;
    if ((rc = get_conn(h, inst, &o, TREX_PAM_AUTHINFO_UNAVAIL, &c)) != TREX_PAM_SUCCESS)
        return rc;
    tp_user_init(&u);
    if ((rc = get_user_rec(h, inst, c, user, TREX_PAM_AUTHINFO_UNAVAIL, &u)) != TREX_PAM_SUCCESS) {
        if (rc == TREX_PAM_USER_UNKNOWN)
            trex_pam_log(h, LOG_NOTICE, "could not identify user (from the user database: %s)", user);
        return rc;
    }

    if (u.disabled || account_expired(&u, now)) {
        trex_pam_log(h, LOG_NOTICE, "account %s has expired (%s)", user,
                     u.disabled ? "account disabled" : "account expired");
        remark(h, flags, TREX_PAM_ERROR_MSG, expired_msg);
        rc = TREX_PAM_ACCT_EXPIRED;
    } else if (u.force_change) {
        trex_pam_log(h, LOG_NOTICE, "expired password for user %s (root enforced)", user);
        remark(h, flags, TREX_PAM_ERROR_MSG, admin_msg);
        rc = TREX_PAM_NEW_AUTHTOK_REQD;
    } else if ((flags & TREX_PAM_DISALLOW_NULL_AUTHTOK) && u.hash[0] == '\0') {
        trex_pam_log(h, LOG_NOTICE, "user %s has no password (null password disallowed)", user);
        remark(h, flags, TREX_PAM_ERROR_MSG, admin_msg);
        rc = TREX_PAM_NEW_AUTHTOK_REQD;
    } else if (password_expired(&u, now)) {
        trex_pam_log(h, LOG_DEBUG, "expired password for user %s (password aged)", user);
        remark(h, flags, TREX_PAM_ERROR_MSG,
               "You are required to change your password immediately (password expired).");
        rc = TREX_PAM_NEW_AUTHTOK_REQD;
    } else {
        rc = TREX_PAM_SUCCESS;
        if (u.pw_max_days >= 0 && u.pw_changed > 0 && u.pw_warn_days > 0 &&
            day_of(now) >= day_of(u.pw_changed)) {
            int64_t passed = day_of(now) - day_of(u.pw_changed);
            /* pam_unix: a warning period longer than the maximum age warns always */
            int64_t warn = u.pw_warn_days > u.pw_max_days ? -1 : u.pw_max_days - u.pw_warn_days;
            if (passed >= warn) {
                long left = (long)(u.pw_max_days - passed);
                char msg[128];
                trex_pam_log(h, LOG_DEBUG, "password for user %s will expire in %ld days", user, left);
                snprintf(msg, sizeof msg, left == 1 ? "Warning: your password will expire in %ld day."
                                                    : "Warning: your password will expire in %ld days.",
                         left);
                remark(h, flags, TREX_PAM_TEXT_INFO, msg);
            }
        } else if (u.pw_changed > 0 && day_of(now) < day_of(u.pw_changed)) {
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

    parse_opts(h, argc, argv, &o);
    if ((user = named_user(h)) == NULL)
        return TREX_PAM_USER_UNKNOWN;
    if ((rc = get_conn(h, inst, &o, TREX_PAM_CRED_UNAVAIL, &c)) != TREX_PAM_SUCCESS)
        return rc;
    tp_user_init(&u);
    if ((rc = get_user_rec(h, inst, c, user, TREX_PAM_CRED_UNAVAIL, &u)) != TREX_PAM_SUCCESS)
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

/* ---- chauthtok ------------------------------------------------------------------- */

/* The administrator command: see the top of the file. */
static int is_admin(const trex_pam_handle_t *h, int flags)
{
    const char *v = NULL;
    if (flags & TREX_PAM_CHANGE_EXPIRED_AUTHTOK)
        return 0;
    if (trex_pam_get_named_item(h, TREX_PAM_ITEM_ADMIN, &v) != TREX_PAM_SUCCESS || v == NULL)
        return 0;
    return strcmp(v, "1") == 0 && getuid() == 0;
}

/* Equal secrets: length first, then without an early exit. */
static int same_secret(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && trex_pam_secret_equal(a, b, n);
}

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
    else if (old != NULL && same_secret(old, pw))
        why = "The password has not been changed.";
    else if (n > o->maxlen)
        why = "You must choose a shorter password.";
    else if (!admin) {
        int b;
        if (n < o->minlen)
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
    remark(h, flags, TREX_PAM_ERROR_MSG, why);
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
    drop_str(&c->prelim_user);
    drop_str(&c->prelim_hash);
    tp_user_init(&u);
    if ((rc = get_user_rec(h, pool, c, user, TREX_PAM_AUTHINFO_UNAVAIL, &u)) != TREX_PAM_SUCCESS) {
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
        if (!check_password(old, &u, &o->policy) || u.disabled) {
            log_auth_failure(h, user);
            rc = TREX_PAM_AUTH_ERR;
            goto out;
        }
    }
    /* pam_unix's _unix_verify_shadow */
    if (!admin && account_expired(&u, now)) {
        trex_pam_log(h, LOG_NOTICE, "account %s has expired (account expired)", user);
        rc = TREX_PAM_ACCT_EXPIRED;
        goto out;
    }
    if ((flags & TREX_PAM_CHANGE_EXPIRED_AUTHTOK) && !password_expired(&u, now)) {
        remark(h, flags, TREX_PAM_ERROR_MSG, "Your password is not expired.");
        rc = TREX_PAM_AUTHTOK_ERR;
        goto out;
    }
    if (!admin && !password_expired(&u, now) && u.pw_min_days > 0 && u.pw_changed > 0 &&
        day_of(now) >= day_of(u.pw_changed) &&
        day_of(now) - day_of(u.pw_changed) < u.pw_min_days) {
        trex_pam_log(h, LOG_NOTICE, "password of %s changed too recently", user);
        remark(h, flags, TREX_PAM_ERROR_MSG, "You must wait longer to change your password.");
        rc = TREX_PAM_AUTHTOK_ERR;
        goto out;
    }
    /* remember what was checked, for the compare-and-swap in UPDATE */
    if ((c->prelim_user = strdup(user)) == NULL || (c->prelim_hash = strdup(u.hash)) == NULL) {
        drop_str(&c->prelim_user);
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
    old = item_str(h, TREX_PAM_OLDAUTHTOK);
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
    rc = tp_store_user_set_hash(st_of(c), user, c->prelim_hash, nh, (int64_t)time(NULL));
    trex_pam_wipe(nh, sizeof nh);
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
    default:
        trex_pam_log(h, LOG_ERR, "cannot store the new password of %s: %s", user,
                     tp_store_error(st_of(c)));
        return TREX_PAM_AUTHTOK_ERR;
    }
}

/* UPDATE uses what its PRELIM checked once: the next change checks again. */
static int chauthtok_update(trex_pam_handle_t *h, const struct opts *o, int flags, int admin,
                            struct conn *c, const char *user)
{
    int rc = change_password(h, o, flags, admin, c, user);
    drop_str(&c->prelim_user);
    drop_str(&c->prelim_hash);
    return rc;
}

static int userdb_chauthtok(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct conn *c;
    const char *user;
    int rc, admin;

    parse_opts(h, argc, argv, &o);
    if ((rc = want_user(h, &o, &user)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = get_conn(h, inst, &o, TREX_PAM_AUTHINFO_UNAVAIL, &c)) != TREX_PAM_SUCCESS)
        return rc;
    admin = is_admin(h, flags);
    if (admin && o.debug)
        trex_pam_log(h, LOG_DEBUG, "password of %s changed by the administrator", user);
    if (flags & TREX_PAM_PRELIM_CHECK)
        return chauthtok_prelim(h, inst, &o, flags, admin, c, user);
    if (flags & TREX_PAM_UPDATE_AUTHTOK)
        return chauthtok_update(h, &o, flags, admin, c, user);
    trex_pam_log(h, LOG_CRIT, "password received unknown request");
    return TREX_PAM_ABORT;
}

const struct trex_pam_module tp_mod_userdb = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "userdb",
    .authenticate = userdb_authenticate,
    .setcred = userdb_setcred,
    .acct_mgmt = userdb_acct_mgmt,
    .chauthtok = userdb_chauthtok,
    .release = tp_pool_instance_release,   /* the instance: a store pool (storepool.h) */
    .instance_new = tp_pool_instance_new,
};
