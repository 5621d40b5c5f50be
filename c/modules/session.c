/*
 * session.c - web sessions whose ID stands in for the password until the
 * session ends.
 *
 *   open_session   a new session for PAM_USER: 32 random bytes, ID
 *                  "trex1." + URL-safe base64; the store keeps only its
 *                  digest, the user, creation and last use (now) and
 *                  PAM_RHOST. The ID goes to the named item TREX_SESSION_ID
 *                  for the application's cookie. A handle that already has
 *                  a session (authenticated with one, or opened one) keeps it.
 *   authenticate   the answer to the password prompt: not an ID's shape →
 *                  PAM_IGNORE (the token stays in PAM_AUTHTOK for the next
 *                  module); a live session of this user → PAM_SUCCESS with
 *                  TREX_AUTH_METHOD=session and TREX_SESSION_ID=the ID;
 *                  expired → ended, TREX_SESSION_EXPIRED=idle|lifetime,
 *                  PAM_AUTH_ERR; unknown or another user's → PAM_AUTH_ERR.
 *                  Store unusable → PAM_AUTHINFO_UNAVAIL, in every call
 *                  below too (one log line naming the store and why).
 *   close_session  ends the session named by TREX_SESSION_ID if it is
 *                  PAM_USER's (one already gone: PAM_SUCCESS); no ID, a
 *                  malformed one or another user's → PAM_SESSION_ERR.
 *   chauthtok      with revoke_on_change, in the update pass: ends every
 *                  session of PAM_USER except this handle's (or the one in
 *                  TREX_SESSION_ID) and returns PAM_IGNORE (PAM_AUTHTOK_ERR
 *                  if the store fails); for "password optional session
 *                  revoke_on_change" after "password requisite userdb", so
 *                  it runs only when the change went through.
 *   setcred        PAM_SUCCESS; acct_mgmt PAM_IGNORE (accounts are userdb's).
 *
 * The auth line is "auth [success=done ignore=ignore default=die] session"
 * before the password module: a live ID ends the stack, a password goes on,
 * and a dead ID (expired, ended, foreign) ends it with PAM_AUTH_ERR, so it
 * is never tried as a password nor counted as a failed login by faillock.
 * New passwords of an ID's shape are refused (userdb, the admin command);
 * for one set before that, or imported, the argument fallthrough makes a
 * shaped answer that is no live session of this user PAM_IGNORE instead
 * (after the same lookup, expiry and log line), so the password line
 * checks it. The cost: a stale cookie then reaches the password check, and
 * faillock counts it as a failed login.
 *
 * Arguments: store=LOCATION or db=FILE (tp_store_location), key_file=PATH (keyed digests; the same
 * on every line), idle=S (1800; 0 none), lifetime=S (43200; 0 none),
 * touch_interval=S (60: last use is written at most once per S per session,
 * so idle counts from a last use up to S old), purge_every=N (64: each
 * open_session purges expired sessions with probability 1/N; 1 always, 0
 * never: CGI processes share no state, and a random draw needs none; not on
 * a store whose sessions expire by themselves, Redis),
 * revoke_on_change, fallthrough (above), debug (log accepted sessions).
 * A bad value keeps the
 * default and is logged, as is an unknown argument. The ID never reaches the
 * log; user names do.
 *
 * The store connection is the process's one for the path (storepool.h),
 * shared with userdb and faillock, taken by a handle at its first use and
 * kept until trex_pam_end; the reads of one service call share one read
 * transaction.
 *
 * Users: the module never looks one up, so it works the same on a store
 * that keeps none (Redis) while userdb's users are elsewhere. A store that
 * keeps users refuses a session for an unknown name (SESSION_ERR) and ends
 * a user's sessions with the user; one that keeps none takes any name (the
 * stack has authenticated it) and keeps a deleted user's sessions until
 * they expire or are revoked, while "account required userdb" refuses
 * that user at every request.
 */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include "trex_pam_module.h"
#include "store.h"
#include "secret.h"
#include "storepool.h"
#include "modargs.h"
#include "token.h"
#include "registry.h"

_Static_assert(TP_SESSION_DIGEST_LEN == TP_TOKEN_DIGEST_LEN, "digest sizes differ");

#define DATA_NAME "trex_session"
#define WHO "session"
#define MAX_SECONDS ((int64_t)INT32_MAX)

struct opts {
    const char *db;
    const char *store;
    const char *key_file;
    int64_t idle, lifetime, touch_interval, purge_every;
    int revoke_on_change;
    int fallthrough;
    int debug;
};

/* Module data, one per handle: the store connection (leased from the
 * instance's pool, storepool.h), the key, and this handle's session. */
struct state {
    struct tp_lease lease;
    char *key_path;                  /* the key_file loaded into key; NULL: none */
    unsigned char key[TP_TOKEN_KEY_LEN];
    char *user;                      /* owner of this handle's session; NULL: none */
    unsigned char digest[TP_SESSION_DIGEST_LEN];
};

/* ---- arguments ------------------------------------------------------------------- */

#define OPT(field) offsetof(struct opts, field)
static const struct tp_arg args[] = {
    { "idle", TP_ARG_NUMBER, OPT(idle), 0, MAX_SECONDS, 0 },
    { "lifetime", TP_ARG_NUMBER, OPT(lifetime), 0, MAX_SECONDS, 0 },
    { "touch_interval", TP_ARG_NUMBER, OPT(touch_interval), 0, MAX_SECONDS, 0 },
    { "purge_every", TP_ARG_NUMBER, OPT(purge_every), 0, 1000000, 0 },
    { "db", TP_ARG_TEXT, OPT(db), 0, 0, 0 },
    { "store", TP_ARG_TEXT, OPT(store), 0, 0, 0 },
    { "key_file", TP_ARG_TEXT, OPT(key_file), 0, 0, 0 },
    { "revoke_on_change", TP_ARG_FLAG, OPT(revoke_on_change), 0, 0, 0 },
    { "fallthrough", TP_ARG_FLAG, OPT(fallthrough), 0, 0, 0 },
    { "debug", TP_ARG_FLAG, OPT(debug), 0, 0, 0 },
    { "use_first_pass", TP_ARG_SKIP, 0, 0, 0, 0 },
    { "try_first_pass", TP_ARG_SKIP, 0, 0, 0, 0 },
};
static const struct tp_args table = {
    args, TP_ARGS_COUNT(args),
    "session: bad value in \"%.*s\"; keeping the default", TP_ARGS_WHOLE,
    "session: unknown option \"%.*s\"",
};

static void parse_opts(trex_pam_handle_t *h, int argc, const char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->idle = 1800;
    o->lifetime = 43200;
    o->touch_interval = 60;
    o->purge_every = 64;
    (void)tp_args_parse(h, &table, argc, argv, o);
}

/* ---- module data -------------------------------------------------------------------- */

static void forget_session(struct state *s)
{
    free(s->user);
    s->user = NULL;
    tp_secret_wipe(s->digest, sizeof s->digest);
}

static void state_free(trex_pam_handle_t *h, void *data, int status)
{
    struct state *s = data;
    if (s == NULL)
        return;
    tp_lease_end(&s->lease);
    free(s->key_path);
    tp_secret_wipe(s->key, sizeof s->key);
    forget_session(s);
    free(s);
}

/* This handle's module data, made on first use; a PAM code. */
static int get_state(trex_pam_handle_t *h, struct state **out)
{
    return tp_pool_state(h, DATA_NAME, sizeof **out, state_free, (void **)out);
}

static struct tp_store *st_of(const struct state *s)
{
    return tp_lease_store(&s->lease);
}

/* The site key of o's key_file= (*key NULL without one): 0, or -1 (logged). */
static int load_key(trex_pam_handle_t *h, struct state *s, const struct opts *o,
                    const unsigned char **key)
{
    char err[300];

    *key = NULL;
    if (o->key_file == NULL)
        return 0;
    if (s->key_path != NULL && strcmp(s->key_path, o->key_file) == 0) {
        *key = s->key;
        return 0;
    }
    free(s->key_path);
    s->key_path = NULL;
    if (tp_token_key_load(o->key_file, s->key, err, sizeof err) != 0) {
        trex_pam_log(h, LOG_ERR, "session: %s", err);
        return -1;
    }
    if ((s->key_path = strdup(o->key_file)) == NULL) {
        tp_secret_wipe(s->key, sizeof s->key);
        return -1;
    }
    *key = s->key;
    return 0;
}

/* Open the store and load the key; a TP_STORE_* code. */
static int prepare(trex_pam_handle_t *h, struct tp_pool *pool, struct state *s,
                   const struct opts *o, const unsigned char **key)
{
    int rc = tp_lease_use_at(h, pool, &s->lease, o->store, o->db, WHO);
    if (rc != TP_STORE_OK)
        return rc;
    return load_key(h, s, o, key) == 0 ? TP_STORE_OK : TP_STORE_UNAVAIL;
}

static int remember(struct state *s, const char *user, const unsigned char *digest)
{
    char *copy = strdup(user);
    if (copy == NULL)
        return -1;
    forget_session(s);
    s->user = copy;
    memcpy(s->digest, digest, sizeof s->digest);
    return 0;
}

/* One log line for a failed store call (none when this service call said
 * it already, storepool.h); the PAM code (AUTHINFO_UNAVAIL when the store
 * cannot be used). */
static int store_failed(trex_pam_handle_t *h, struct state *s, int src, const char *what)
{
    return tp_lease_failed(h, &s->lease, src, WHO, what);
}

/* open_session's and close_session's code for a store failure. */
static int session_code(int src)
{
    return src == TP_STORE_UNAVAIL ? TREX_PAM_AUTHINFO_UNAVAIL : TREX_PAM_SESSION_ERR;
}

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

/* ---- authenticate ---------------------------------------------------------------------- */

static int sess_auth(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct state *s;
    struct tp_session ses = { .user = NULL };
    unsigned char dg[TP_SESSION_DIGEST_LEN];
    const unsigned char *key;
    const char *user = NULL, *tok = NULL, *expired = NULL;
    int64_t now;
    int rc, src;

    parse_opts(h, argc, argv, &o);
    if ((rc = trex_pam_get_user(h, &user, NULL)) != TREX_PAM_SUCCESS)
        return rc == TREX_PAM_CONV_AGAIN ? TREX_PAM_INCOMPLETE : rc;
    if ((rc = trex_pam_get_authtok(h, TREX_PAM_AUTHTOK, &tok, NULL)) != TREX_PAM_SUCCESS)
        return rc == TREX_PAM_CONV_AGAIN ? TREX_PAM_INCOMPLETE : rc;
    if (!tp_token_shape(tok))
        return TREX_PAM_IGNORE;          /* a password: for the next module */

    if ((rc = get_state(h, &s)) != TREX_PAM_SUCCESS)
        return rc;
    if ((src = prepare(h, inst, s, &o, &key)) != TP_STORE_OK)
        return tp_lease_pam_code(src);
    if (tp_token_digest(tok, key, dg) != 0)
        return o.fallthrough ? TREX_PAM_IGNORE : TREX_PAM_AUTH_ERR;
    now = now_seconds();

    src = tp_store_session_get(st_of(s), dg, &ses);
    if (tp_lease_again(h, inst, &s->lease, src, WHO)) {
        tp_session_clear(&ses);
        src = tp_store_session_get(st_of(s), dg, &ses);
    }
    if (src == TP_STORE_NOTFOUND) {
        trex_pam_log(h, LOG_NOTICE, "session: unknown or ended session presented for %.100s", user);
        rc = TREX_PAM_AUTH_ERR;
        goto out;
    }
    if (src != TP_STORE_OK) {
        rc = store_failed(h, s, src, "session lookup");
        goto out;
    }
    if (ses.user == NULL || strcmp(ses.user, user) != 0) {
        trex_pam_log(h, LOG_NOTICE, "session: another user's session presented for %.100s", user);
        rc = TREX_PAM_AUTH_ERR;
        goto out;
    }
    if (o.lifetime > 0 && now - ses.created > o.lifetime)
        expired = "lifetime";
    else if (o.idle > 0 && now - ses.last_used > o.idle)
        expired = "idle";
    if (expired != NULL) {
        if ((src = tp_store_session_delete(st_of(s), dg)) != TP_STORE_OK
            && src != TP_STORE_NOTFOUND)
            (void)store_failed(h, s, src, "ending an expired session");
        (void)trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_EXPIRED, expired);
        trex_pam_log(h, LOG_INFO, "session: session for %.100s expired (%s)", user, expired);
        rc = TREX_PAM_AUTH_ERR;
        goto out;
    }
    /* coalesced: no write at all while the last one is recent enough */
    if (now - ses.last_used >= o.touch_interval &&
        (src = tp_store_session_touch(st_of(s), dg, now, o.touch_interval)) != TP_STORE_OK
        && src != TP_STORE_NOTFOUND)
        (void)store_failed(h, s, src, "recording the session's use");   /* it stays valid */

    if ((rc = trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, tok)) != TREX_PAM_SUCCESS ||
        (rc = trex_pam_set_named_item(h, TREX_PAM_ITEM_AUTH_METHOD, "session")) != TREX_PAM_SUCCESS ||
        (rc = trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_EXPIRED, NULL)) != TREX_PAM_SUCCESS)
        goto out;
    if (remember(s, user, dg) != 0) {
        rc = TREX_PAM_BUF_ERR;
        goto out;
    }
    if (o.debug)
        trex_pam_log(h, LOG_DEBUG, "session: session for %.100s accepted", user);
    rc = TREX_PAM_SUCCESS;
out:
    tp_session_clear(&ses);
    tp_secret_wipe(dg, sizeof dg);
    /* no live session of this user: a password, if the line says so */
    if (rc == TREX_PAM_AUTH_ERR && o.fallthrough)
        rc = TREX_PAM_IGNORE;
    return rc;
}

static int sess_setcred(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    return TREX_PAM_SUCCESS;
}

static int sess_acct(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    return TREX_PAM_IGNORE;
}

/* ---- open / close ------------------------------------------------------------------------ */

/* PAM_USER without prompting (session hooks never prompt); NULL if unset or empty. */
static const char *session_user(trex_pam_handle_t *h)
{
    const void *u = NULL;
    if (trex_pam_get_item(h, TREX_PAM_USER, &u) != TREX_PAM_SUCCESS || u == NULL ||
        *(const char *)u == '\0')
        return NULL;
    return u;
}

static void maybe_purge(trex_pam_handle_t *h, struct state *s, const struct opts *o, int64_t now)
{
    int n = 0, src;

    /* a store whose sessions expire by themselves (Redis) needs none: a
     * purge there walks every key, seconds at a million sessions */
    if (o->purge_every == 0 || tp_store_expires_sessions(st_of(s))
        || tp_token_uniform((uint32_t)o->purge_every) != 0)
        return;
    if ((src = tp_store_session_purge(st_of(s), o->idle > 0 ? now - o->idle : 0,
                                      o->lifetime > 0 ? now - o->lifetime : 0, &n)) != TP_STORE_OK)
        (void)store_failed(h, s, src, "purging expired sessions");
    else if (n > 0)
        trex_pam_log(h, LOG_INFO, "session: purged %d expired session(s)", n);
}

static int sess_open(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct state *s;
    struct tp_session ses;
    char text[TP_TOKEN_TEXT_SIZE];
    const unsigned char *key;
    const void *rhost = NULL;
    const char *user;
    int64_t now;
    int rc, src;

    parse_opts(h, argc, argv, &o);
    if ((user = session_user(h)) == NULL) {
        trex_pam_log(h, LOG_ERR, "session: open_session without a user");
        return TREX_PAM_SESSION_ERR;
    }
    if ((rc = get_state(h, &s)) != TREX_PAM_SUCCESS)
        return rc;
    if (s->user != NULL && strcmp(s->user, user) == 0)
        return TREX_PAM_SUCCESS;          /* this handle's session goes on */
    if ((src = prepare(h, inst, s, &o, &key)) != TP_STORE_OK)
        return session_code(src);

    now = now_seconds();
    memset(&ses, 0, sizeof ses);
    if (tp_token_new(text, ses.digest, key) != 0) {
        trex_pam_log(h, LOG_ERR, "session: no random bytes for a session ID");
        return TREX_PAM_SESSION_ERR;
    }
    (void)trex_pam_get_item(h, TREX_PAM_RHOST, &rhost);
    ses.user = (char *)user;              /* lent: the store only reads it */
    ses.created = ses.last_used = now;
    ses.rhost = (char *)rhost;
    ses.idle = o.idle;                    /* a store that expires keys may forget it then */
    ses.expires = o.lifetime > 0 ? now + o.lifetime : 0;
    src = tp_store_session_add(st_of(s), &ses);
    /* a kept connection the server dropped: once more on a fresh one. The
     * digest is new and random: EXISTS then means the first try landed. */
    if (tp_lease_again(h, inst, &s->lease, src, WHO)
        && (src = tp_store_session_add(st_of(s), &ses)) == TP_STORE_EXISTS)
        src = TP_STORE_OK;
    if (src != TP_STORE_OK) {
        rc = store_failed(h, s, src, "creating a session");
        rc = rc == TREX_PAM_AUTHINFO_UNAVAIL ? rc : TREX_PAM_SESSION_ERR;
        goto out;
    }
    rc = trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, text);
    if (rc == TREX_PAM_SUCCESS && remember(s, user, ses.digest) != 0)
        rc = TREX_PAM_BUF_ERR;
    if (rc != TREX_PAM_SUCCESS) {         /* nobody can use it: take it back */
        (void)tp_store_session_delete(st_of(s), ses.digest);
        (void)trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, NULL);
        goto out;
    }
    trex_pam_log(h, LOG_INFO, "session: session opened for user %.100s", user);
    maybe_purge(h, s, &o, now);
out:
    tp_secret_wipe(text, sizeof text);
    tp_secret_wipe(ses.digest, sizeof ses.digest);
    return rc;
}

static int sess_close(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct state *s;
    struct tp_session ses = { .user = NULL };
    unsigned char dg[TP_SESSION_DIGEST_LEN];
    const unsigned char *key;
    const char *user, *id = NULL;
    int rc, src;

    parse_opts(h, argc, argv, &o);
    if ((user = session_user(h)) == NULL) {
        trex_pam_log(h, LOG_ERR, "session: close_session without a user");
        return TREX_PAM_SESSION_ERR;
    }
    if (trex_pam_get_named_item(h, TREX_PAM_ITEM_SESSION_ID, &id) != TREX_PAM_SUCCESS || id == NULL) {
        trex_pam_log(h, LOG_ERR, "session: close_session for %.100s without a session", user);
        return TREX_PAM_SESSION_ERR;
    }
    if ((rc = get_state(h, &s)) != TREX_PAM_SUCCESS)
        return rc;
    if ((src = prepare(h, inst, s, &o, &key)) != TP_STORE_OK)
        return session_code(src);
    if (tp_token_digest(id, key, dg) != 0) {
        trex_pam_log(h, LOG_ERR, "session: close_session for %.100s: not a session ID", user);
        return TREX_PAM_SESSION_ERR;
    }
    src = tp_store_session_get(st_of(s), dg, &ses);
    if (tp_lease_again(h, inst, &s->lease, src, WHO)) {
        tp_session_clear(&ses);
        src = tp_store_session_get(st_of(s), dg, &ses);
    }
    if (src == TP_STORE_OK && (ses.user == NULL || strcmp(ses.user, user) != 0)) {
        trex_pam_log(h, LOG_NOTICE, "session: close_session for %.100s: another user's session",
                     user);
        rc = TREX_PAM_SESSION_ERR;
    } else if (src != TP_STORE_OK && src != TP_STORE_NOTFOUND) {
        (void)store_failed(h, s, src, "session lookup");
        rc = session_code(src);
    } else if (src == TP_STORE_OK && (src = tp_store_session_delete(st_of(s), dg)) != TP_STORE_OK &&
               src != TP_STORE_NOTFOUND) {
        (void)store_failed(h, s, src, "ending a session");
        rc = session_code(src);
    } else {
        /* ended now, or already gone (ended elsewhere, expired and purged) */
        if (s->user != NULL && tp_secret_equal(s->digest, dg, sizeof dg))
            forget_session(s);
        (void)trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, NULL);
        trex_pam_log(h, LOG_INFO, "session: session closed for user %.100s", user);
        rc = TREX_PAM_SUCCESS;
    }
    tp_session_clear(&ses);
    tp_secret_wipe(dg, sizeof dg);
    return rc;
}

/* ---- chauthtok: revoke_on_change ------------------------------------------------------------ */

static int sess_chauthtok(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    struct opts o;
    struct state *s;
    unsigned char dg[TP_SESSION_DIGEST_LEN];
    const unsigned char *key, *keep = NULL;
    const char *user, *id = NULL;
    int n = 0, rc = TREX_PAM_IGNORE, src;

    if (!(flags & TREX_PAM_UPDATE_AUTHTOK))
        return TREX_PAM_IGNORE;           /* nothing to check in the first pass */
    parse_opts(h, argc, argv, &o);
    if (!o.revoke_on_change || (user = session_user(h)) == NULL)
        return TREX_PAM_IGNORE;
    if ((rc = get_state(h, &s)) != TREX_PAM_SUCCESS)
        return rc;
    if (prepare(h, inst, s, &o, &key) != TP_STORE_OK)
        return TREX_PAM_AUTHTOK_ERR;
    rc = TREX_PAM_IGNORE;                 /* never decides the stack */
    if (s->user != NULL && strcmp(s->user, user) == 0) {
        keep = s->digest;                 /* the session this handle runs in */
    } else if (trex_pam_get_named_item(h, TREX_PAM_ITEM_SESSION_ID, &id) == TREX_PAM_SUCCESS &&
               id != NULL && tp_token_digest(id, key, dg) == 0) {
        keep = dg;                        /* only ever spares a session of this user */
    }
    if ((src = tp_store_session_delete_user(st_of(s), user, keep, &n)) != TP_STORE_OK) {
        (void)store_failed(h, s, src, "ending the other sessions");
        rc = TREX_PAM_AUTHTOK_ERR;
    } else if (n > 0) {
        trex_pam_log(h, LOG_INFO, "session: password of %.100s changed: %d other session(s) ended",
                     user, n);
    }
    tp_secret_wipe(dg, sizeof dg);
    return rc;
}

/* trex-pam check-config: the line's store can be used and keeps sessions. */
static int sess_check(trex_pam_handle_t *h, int argc, const char **argv, void *inst, char *why,
                      size_t whylen)
{
    (void)inst;
    return tp_store_check_line(h, "store", tp_args_value(argc, argv, "store"),
                               tp_args_value(argc, argv, "db"), TP_STORE_KEEPS_SESSIONS, WHO,
                               NULL, why, whylen);
}

const struct trex_pam_module tp_mod_session = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "session",
    .authenticate = sess_auth,
    .setcred = sess_setcred,
    .acct_mgmt = sess_acct,
    .open_session = sess_open,
    .close_session = sess_close,
    .chauthtok = sess_chauthtok,
    .release = tp_pool_instance_release,   /* the instance: a store pool (storepool.h) */
    .instance_new = tp_pool_instance_new,
    .check = sess_check,
};
