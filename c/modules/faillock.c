/*
 * faillock.c - Linux-PAM's pam_faillock over the store: failed logins per
 * user within an interval, and a lock after too many.
 *
 * auth (the argument names the place in the stack; none means preauth):
 *   preauth   locked → PAM_AUTH_ERR and, unless silent, the two TEXT_INFOs
 *             "The account is locked due to N failed logins." and
 *             "(M minutes left to unlock)"; else PAM_SUCCESS.
 *   authfail  locked → PAM_AUTH_ERR (nothing recorded); else records one
 *             failure and returns PAM_IGNORE, as pam_faillock does (the stack
 *             line is "[default=die]", so the failing module's code stands).
 *             The deny-th failure logs the lock.
 *   authsucc  locked → PAM_AUTH_ERR; else records one failure and clears
 *             them all, PAM_SUCCESS: the record proves that failures can be
 *             recorded.
 *   Fail closed: when a failure cannot be recorded (full disk, read-only
 *   file or server), authfail and authsucc return PAM_AUTHINFO_UNAVAIL and
 *   log "failed logins cannot be recorded for USER, so password logins are
 *   refused until they can be: REASON". No password login succeeds then,
 *   since guesses would not be counted; a live session still can (the
 *   session line ends the stack before authsucc).
 * chauthtok (Linux-PAM's pam_faillock has none): the current password's
 *   check is a login too, or a stolen session cookie would give free
 *   guesses at the password behind it. The same lines and actions as auth
 *   in the password stack (examples/pam.d/default); in the first pass
 *   (PRELIM_CHECK) they act as above; in the second they check the lock
 *   again and write nothing (authfail: PAM_IGNORE). The administrator's
 *   change (tp_admin_change) is neither counted nor refused: PAM_SUCCESS
 *   (authfail: PAM_IGNORE).
 * account: clears the failures, PAM_SUCCESS (pam_faillock's account use).
 * setcred: PAM_SUCCESS.
 *
 * Locked: at least deny failures no more than fail_interval apart from the
 * latest one, and the latest less than unlock_time ago (unlock_time 0 or
 * "never": until cleared). The first failure after a lock ran out starts
 * the count afresh. Every auth call asks for a 2 s fail delay (nodelay: none).
 * A name no user can have (empty, a control character, ':' or '/', over
 * 255 bytes: tp_store_user_name_ok) gives PAM_IGNORE and is not counted:
 * it tells nothing, and a 1 MiB name would be a 1 MiB row; an unusable store
 * PAM_AUTHINFO_UNAVAIL (PAM_SYSTEM_ERR for other store errors): never open.
 *
 * Every name is counted, known or not (pam_faillock counts local users
 * only): a name nobody has is locked after deny failures like a user, with
 * the same messages, the same store writes and the same time taken, so a
 * lock tells nobody which names exist. No user is looked up. Failures
 * older than fail_interval + unlock_time go with a purge that one authfail
 * in PURGE_EVERY makes (not with unlock_time=never), so made-up names do
 * not stay; a store whose failures expire by themselves (Redis) needs none.
 *
 * Web stack: "auth requisite faillock preauth" first (a locked account is
 * refused before any password hash, sessions included), then session and
 * userdb, then "auth [default=die] faillock authfail" and "auth sufficient
 * faillock authsucc" and "auth required deny", as in pam_faillock(8). Not
 * in the account stack there: account runs on every session request and
 * would clear the tally between an attacker's guesses.
 *
 * The store connection is the instance's (storepool.h): kept open across
 * the handles of a configuration, one per location, taken by a handle at
 * its first use and kept until trex_pam_end.
 *
 * Concurrency: each failure is one atomic insert-and-count in the store, so
 * none is lost and exactly one process sees the deny-th and logs the lock.
 * The check before it is a separate read (pam_faillock holds a file lock
 * over both), so processes racing past an unlocked check all record theirs:
 * the tally may end above deny. Clearing the records of an expired lock
 * before the next failure is a second transaction too.
 *
 * Arguments: preauth|authfail|authsucc, deny=N (3; 0 never locks),
 * fail_interval=S (900), unlock_time=S|never (600), silent (also the
 * PAM_SILENT flag), no_log_info, nodelay, store=LOCATION or
 * db=FILE (tp_store_location). Accepted with no effect, since store users
 * are not system users and the store replaces the tally directory and
 * faillock.conf: even_deny_root (every user, root included, is treated
 * alike), root_unlock_time=, admin_group=, dir=, conf=, local_users_only;
 * and users=LOCATION and audit (earlier versions looked users up there and
 * logged unknown ones: every name counts now). Values over 604800 s or malformed keep the default and
 * are logged, as are unknown arguments.
 *
 * trex_pam_faillock_settings (trex_pam.h) reads a service's faillock line
 * with these same arguments for trex-pam faillock --service: the auth
 * stack's first preauth line, which refuses a locked account, else its
 * first faillock line.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include "trex_pam_module.h"
#include "store.h"
#include "secret.h"
#include "storepool.h"
#include "modargs.h"
#include "registry.h"
#include "token.h"

#define DATA_NAME "trex_faillock"
#define WHO "faillock"
#define MAX_TIME_INTERVAL 604800     /* 7 days, pam_faillock's limit */
#define FAIL_DELAY_USEC 2000000u
#define PURGE_EVERY 64               /* one authfail in 64 purges old failures */

enum action { PREAUTH, AUTHSUCC, AUTHFAIL };

struct opts {
    int action;                      /* enum action */
    int64_t deny, fail_interval, unlock_time;
    int silent, no_log_info, nodelay;
    const char *db;
    const char *store;
};

struct state {                       /* module data: the handle's store connection */
    struct tp_lease lease;           /* from the instance's pool (storepool.h) */
};

struct tally {
    int total;                       /* every failure on record */
    int failures;                    /* those within fail_interval of the latest */
    int64_t latest;
    int lock_expired;                /* enough failures, but unlock_time has passed */
};

/* ---- arguments ------------------------------------------------------------------- */

#define OPT(field) offsetof(struct opts, field)
static const struct tp_arg args[] = {
    { "preauth", TP_ARG_WORD, OPT(action), PREAUTH, 0, 0 },
    { "authfail", TP_ARG_WORD, OPT(action), AUTHFAIL, 0, 0 },
    { "authsucc", TP_ARG_WORD, OPT(action), AUTHSUCC, 0, 0 },
    { "deny", TP_ARG_NUMBER, OPT(deny), 0, USHRT_MAX, 0 },
    { "fail_interval", TP_ARG_NUMBER, OPT(fail_interval), 0, MAX_TIME_INTERVAL, 0 },
    { "unlock_time", TP_ARG_NUMBER, OPT(unlock_time), 0, MAX_TIME_INTERVAL, TP_ARG_NEVER },
    { "silent", TP_ARG_FLAG, OPT(silent), 0, 0, 0 },
    { "no_log_info", TP_ARG_FLAG, OPT(no_log_info), 0, 0, 0 },
    { "nodelay", TP_ARG_FLAG, OPT(nodelay), 0, 0, 0 },
    { "db", TP_ARG_TEXT, OPT(db), 0, 0, 0 },
    { "store", TP_ARG_TEXT, OPT(store), 0, 0, 0 },
    /* pam_faillock's, with no effect here (see the top of the file) */
    { "even_deny_root", TP_ARG_SKIP, 0, 0, 0, 0 },
    { "local_users_only", TP_ARG_SKIP, 0, 0, 0, 0 },
    { "uid_based_files", TP_ARG_SKIP, 0, 0, 0, 0 },
    { "debug", TP_ARG_SKIP, 0, 0, 0, 0 },
    { "root_unlock_time", TP_ARG_SKIP_VALUE, 0, 0, 0, 0 },
    { "admin_group", TP_ARG_SKIP_VALUE, 0, 0, 0, 0 },
    { "dir", TP_ARG_SKIP_VALUE, 0, 0, 0, 0 },
    { "conf", TP_ARG_SKIP_VALUE, 0, 0, 0, 0 },
    { "users", TP_ARG_SKIP_VALUE, 0, 0, 0, 0 },     /* earlier versions': every name counts */
    { "audit", TP_ARG_SKIP, 0, 0, 0, 0 },           /* it named unknown users: none now */
};
static const struct tp_args table = {
    args, TP_ARGS_COUNT(args),
    "faillock: bad number supplied for %.*s argument", TP_ARGS_NAME,
    "faillock: unknown option: %.*s",
};

static void parse_opts(trex_pam_handle_t *h, int argc, const char **argv, int flags,
                       struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->action = PREAUTH;
    o->deny = 3;
    o->fail_interval = 900;
    o->unlock_time = 600;
    (void)tp_args_parse(h, &table, argc, argv, o);
    if (flags & TREX_PAM_SILENT)
        o->silent = 1;
}

/* ---- the store ---------------------------------------------------------------------- */

static void state_free(trex_pam_handle_t *h, void *data, int status)
{
    struct state *s = data;
    if (s == NULL)
        return;
    tp_lease_end(&s->lease);
    free(s);
}

/* One log line for a failed store call (none when this service call said
 * it already, storepool.h); the PAM code. */
static int store_failed(trex_pam_handle_t *h, struct tp_lease *l, int src, const char *what,
                        const char *user)
{
    char buf[200];

    snprintf(buf, sizeof buf, "%s for %.100s", what, user);
    return tp_lease_failed(h, l, src, WHO, buf);
}

/* The handle's connection to the store of o's db= (the process's one for
 * that path, storepool.h), leased at the handle's first use of it; a PAM
 * code. */
static int open_store(trex_pam_handle_t *h, struct tp_pool *pool, const struct opts *o,
                      struct state **out)
{
    int rc;

    if ((rc = tp_pool_state(h, DATA_NAME, sizeof **out, state_free, (void **)out)) !=
        TREX_PAM_SUCCESS)
        return rc;
    rc = tp_lease_use_at(h, pool, &(*out)->lease, o->store, o->db, WHO);
    return rc == TP_STORE_OK ? TREX_PAM_SUCCESS : tp_lease_pam_code(rc);
}

/* PAM_USER (prompting if need be), any name a user could have (else IGNORE:
 * an empty one, a control character, over 255 bytes: tp_store_user_name_ok),
 * and the lease on the store in *lease; a PAM code. */
static int get_user(trex_pam_handle_t *h, struct tp_pool *pool, const struct opts *o,
                    const char **user, struct tp_lease **lease)
{
    struct state *s;
    int rc;

    if ((rc = trex_pam_get_user(h, user, NULL)) != TREX_PAM_SUCCESS)
        return rc == TREX_PAM_CONV_AGAIN ? TREX_PAM_INCOMPLETE : rc;
    if (!tp_store_user_name_ok(*user))
        return TREX_PAM_IGNORE;          /* no user can have it: nothing to tell, or to lock */
    if ((rc = open_store(h, pool, o, &s)) != TREX_PAM_SUCCESS)
        return rc;
    *lease = &s->lease;
    return TREX_PAM_SUCCESS;
}

/* ---- the tally --------------------------------------------------------------------- */

/* pam_faillock's check_tally: PAM_SUCCESS (not locked), PAM_AUTH_ERR
 * (locked) or a store error. The first read of a call: one second chance
 * on a fresh connection when the kept one was dropped (tp_lease_again). */
static int check(trex_pam_handle_t *h, struct tp_pool *pool, struct tp_lease *l,
                 const struct opts *o, const char *user, int64_t now, struct tally *t)
{
    struct tp_store *st = tp_lease_store(l);
    int64_t latest = 0;
    int src;

    memset(t, 0, sizeof *t);
    src = tp_store_fail_count(st, user, 0, &t->total, &t->latest);
    if (tp_lease_again(h, pool, l, src, WHO))
        src = tp_store_fail_count(st = tp_lease_store(l), user, 0, &t->total, &t->latest);
    if (src != TP_STORE_OK)
        return store_failed(h, l, src, "reading the failures", user);
    t->failures = t->total;
    if (o->deny == 0 || t->total < o->deny)
        return TREX_PAM_SUCCESS;         /* the common case: one query */
    /* those within fail_interval of the latest: latest - time < fail_interval */
    if ((src = tp_store_fail_count(st, user, t->latest - o->fail_interval + 1, &t->failures,
                                   &latest)) != TP_STORE_OK)
        return store_failed(h, l, src, "reading the failures", user);
    if (t->failures < o->deny)
        return TREX_PAM_SUCCESS;
    if (o->unlock_time > 0 && t->latest + o->unlock_time < now) {
        t->lock_expired = 1;
        return TREX_PAM_SUCCESS;
    }
    return TREX_PAM_AUTH_ERR;
}

static void locked_message(trex_pam_handle_t *h, const struct opts *o, const struct tally *t,
                           int64_t now)
{
    char msg[128];
    int64_t left = t->latest + o->unlock_time - now;

    snprintf(msg, sizeof msg, "The account is locked due to %u failed logins.",
             (unsigned int)t->failures);
    (void)trex_pam_info(h, msg);
    if (left > 0) {
        left = (left + 59) / 60;
        snprintf(msg, sizeof msg, left == 1 ? "(%d minute left to unlock)"
                                            : "(%d minutes left to unlock)", (int)left);
        (void)trex_pam_info(h, msg);
    }
}

/* The log line, and the code, for failures that cannot be recorded: fail
 * closed, since a guess that is not counted would be free. */
static int unrecordable(trex_pam_handle_t *h, struct tp_lease *l, int src, const char *user)
{
    char what[200];

    snprintf(what, sizeof what, "failed logins cannot be recorded for %.100s, so password"
             " logins are refused until they can be", user);
    (void)tp_lease_failed(h, l, src, WHO, what);
    return TREX_PAM_AUTHINFO_UNAVAIL;
}

/* authfail: one more failure; a PAM code. */
static int record(trex_pam_handle_t *h, struct tp_lease *l, const struct opts *o,
                  const char *user, int64_t now, const struct tally *t)
{
    struct tp_store *st = tp_lease_store(l);
    int count = 0, src;

    /* pam_faillock drops every record once a lock has run out, so the next
     * failure counts from one (see the report: not atomic with the add) */
    if (t->lock_expired && (src = tp_store_fail_reset(st, user)) != TP_STORE_OK)
        return store_failed(h, l, src, "clearing an expired lock", user);
    src = tp_store_fail_add(st, user, now, now - o->fail_interval + 1, &count);
    if (src != TP_STORE_OK)
        return unrecordable(h, l, src, user);
    if (o->deny > 0 && count == o->deny && !o->no_log_info)
        trex_pam_log(h, LOG_INFO,
                     "faillock: Consecutive login failures for user %.100s account temporarily locked",
                     user);
    /* older than this, a failure neither counts nor keeps a lock */
    if (o->unlock_time > 0 && tp_token_uniform(PURGE_EVERY) == 0 &&
        (src = tp_store_fail_purge(st, now - o->fail_interval - o->unlock_time, NULL)) != TP_STORE_OK)
        (void)store_failed(h, l, src, "purging old failures", user);   /* the count stands */
    return TREX_PAM_IGNORE;             /* this return value should be ignored */
}

static void clear(trex_pam_handle_t *h, struct tp_lease *l, const char *user,
                  const struct tally *t)
{
    int src;

    if (t->total > 0 && (src = tp_store_fail_reset(tp_lease_store(l), user)) != TP_STORE_OK)
        (void)store_failed(h, l, src, "clearing the failures", user);
}

/* authsucc: a password was right. It counts only if a failure could have
 * been counted: one is recorded first, as the proof, and then every
 * failure is cleared. A store that takes no writes (full disk, read-only
 * file, a read-only server) refuses the login, or a guesser would get
 * unlimited tries while nothing is recorded. A PAM code. */
static int succeeded(trex_pam_handle_t *h, struct tp_lease *l, const struct opts *o,
                     const char *user, int64_t now)
{
    struct tp_store *st = tp_lease_store(l);
    int src;

    if ((src = tp_store_fail_add(st, user, now, now - o->fail_interval + 1, NULL)) != TP_STORE_OK ||
        (src = tp_store_fail_reset(st, user)) != TP_STORE_OK)
        return unrecordable(h, l, src, user);
    return TREX_PAM_SUCCESS;
}

/* ---- hooks ------------------------------------------------------------------------- */

/* One line's action; pass: 0 for pam_authenticate, else the chauthtok
 * pass (PRELIM_CHECK or UPDATE_AUTHTOK). */
static int act(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst,
               int pass)
{
    struct opts o;
    struct tally t;
    struct tp_lease *l = NULL;
    const char *user = NULL;
    int64_t now;
    int rc;

    parse_opts(h, argc, argv, flags, &o);
    if (pass != 0 && tp_admin_change(h, flags))   /* neither counted nor refused */
        return o.action == AUTHFAIL ? TREX_PAM_IGNORE : TREX_PAM_SUCCESS;
    if (pass != TREX_PAM_UPDATE_AUTHTOK && !o.nodelay)
        (void)trex_pam_fail_delay(h, FAIL_DELAY_USEC);
    if ((rc = get_user(h, inst, &o, &user, &l)) != TREX_PAM_SUCCESS)
        return rc;
    now = (int64_t)time(NULL);
    rc = check(h, inst, l, &o, user, now, &t);
    if (pass == TREX_PAM_UPDATE_AUTHTOK)   /* the first pass counted, or refused */
        return o.action == AUTHFAIL && rc == TREX_PAM_SUCCESS ? TREX_PAM_IGNORE : rc;
    switch (o.action) {
    case PREAUTH:
        if (rc == TREX_PAM_AUTH_ERR && !o.silent)
            locked_message(h, &o, &t, now);
        break;
    case AUTHSUCC:
        if (rc == TREX_PAM_SUCCESS)
            rc = succeeded(h, l, &o, user, now);
        break;
    case AUTHFAIL:
        if (rc == TREX_PAM_SUCCESS)
            rc = record(h, l, &o, user, now, &t);
        break;
    }
    return rc;
}

static int fl_auth(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    return act(h, flags, argc, argv, inst, 0);
}

/* chauthtok: the current password's check in the first pass is a login of
 * its own (a stolen session cookie must not give free guesses at the
 * password behind it): the same three actions then. In the second pass,
 * the lock is checked again and nothing is written. The administrator's
 * change is neither counted nor refused. */
static int fl_chauthtok(trex_pam_handle_t *h, int flags, int argc, const char **argv,
                        void *inst)
{
    if (flags & TREX_PAM_PRELIM_CHECK)
        return act(h, flags, argc, argv, inst, TREX_PAM_PRELIM_CHECK);
    if (flags & TREX_PAM_UPDATE_AUTHTOK)
        return act(h, flags, argc, argv, inst, TREX_PAM_UPDATE_AUTHTOK);
    return TREX_PAM_SERVICE_ERR;
}

static int fl_setcred(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    return TREX_PAM_SUCCESS;
}

static int fl_acct(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct tally t;
    struct tp_lease *l = NULL;
    const char *user = NULL;
    int rc;

    parse_opts(h, argc, argv, flags, &o);
    if ((rc = get_user(h, inst, &o, &user, &l)) != TREX_PAM_SUCCESS)
        return rc;
    memset(&t, 0, sizeof t);
    rc = tp_store_fail_count(tp_lease_store(l), user, 0, &t.total, &t.latest);
    if (tp_lease_again(h, inst, l, rc, WHO))
        rc = tp_store_fail_count(tp_lease_store(l), user, 0, &t.total, &t.latest);
    if (rc != TP_STORE_OK)
        t.total = 1;                      /* unknown: clear anyway */
    clear(h, l, user, &t);
    return TREX_PAM_SUCCESS;
}

/* trex-pam check-config: the store can be used and keeps failure tallies. */
static int fl_check(trex_pam_handle_t *h, int argc, const char **argv, void *inst, char *why,
                    size_t whylen)
{
    (void)inst;
    return tp_store_check_line(h, "store", tp_args_value(argc, argv, "store"),
                               tp_args_value(argc, argv, "db"), TP_STORE_KEEPS_TALLIES, WHO, NULL,
                               why, whylen);
}

const struct trex_pam_module tp_mod_faillock = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "faillock",
    .authenticate = fl_auth,
    .setcred = fl_setcred,
    .acct_mgmt = fl_acct,
    .chauthtok = fl_chauthtok,
    .release = tp_pool_instance_release,   /* the instance: a store pool (storepool.h) */
    .instance_new = tp_pool_instance_new,
    .check = fl_check,
};

/* ---- the settings of a service (trex-pam faillock --service) ------------------------- */

struct pick {
    trex_pam_handle_t *h;
    struct trex_pam_faillock_settings *out;
};

/* A faillock line of the auth stack: the first preauth decides, else the
 * first of any kind (trex_pam_lines's callback). */
static int pick_line(void *data, const struct trex_pam_line *l)
{
    static const char *const names[] = { [PREAUTH] = "preauth", [AUTHSUCC] = "authsucc",
                                         [AUTHFAIL] = "authfail" };
    struct pick *p = data;
    struct opts o;

    if (l->mod != &tp_mod_faillock)
        return 0;
    parse_opts(p->h, l->argc, (const char **)l->argv, 0, &o);
    if (p->out->action != NULL && o.action != PREAUTH)
        return 0;                    /* keep the first until a preauth comes */
    p->out->deny = (int)o.deny;
    p->out->fail_interval = o.fail_interval;
    p->out->unlock_time = o.unlock_time;
    p->out->action = names[o.action];
    p->out->store = o.store != NULL && *o.store != '\0' ? o.store : NULL;
    p->out->db = o.db != NULL && *o.db != '\0' ? o.db : NULL;
    p->out->file = l->file;
    p->out->line = l->line;
    p->out->builtin = l->builtin;
    return o.action == PREAUTH;
}

int trex_pam_faillock_settings(trex_pam_handle_t *h, struct trex_pam_faillock_settings *out)
{
    struct pick p = { h, out };
    struct opts o;
    int rc;

    if (out == NULL)
        return TREX_PAM_SYSTEM_ERR;
    memset(out, 0, sizeof *out);
    parse_opts(h, 0, NULL, 0, &o);   /* the defaults, for a service without a line */
    out->deny = (int)o.deny;
    out->fail_interval = o.fail_interval;
    out->unlock_time = o.unlock_time;
    if (h == NULL)
        return TREX_PAM_IGNORE;
    if ((rc = trex_pam_lines(h, "auth", pick_line, &p)) != TREX_PAM_SUCCESS)
        return rc;
    out->confdir = trex_pam_confdir(h);
    return out->action != NULL ? TREX_PAM_SUCCESS : TREX_PAM_IGNORE;
}
