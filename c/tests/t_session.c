/*
 * t_session.c - the session module (modules/session.c) through the core:
 * the web flow (login opens a session whose ID the application reads,
 * later handles authenticate with the ID as password),
 * another user's ID, passwords passed on to the next module, idle and
 * absolute expiry (sessions of chosen ages added through the store),
 * coalesced last-use writes, close_session, revoke_on_change, purging,
 * keyed digests, an unusable store, concurrent checks from several
 * processes, the default stack with userdb and faillock, and that no ID
 * ever reaches the log. On the store under test (harness.h: a new SQLite
 * file, or $TREX_PAM_TEST_STORE; on one that keeps no users, userdb's and
 * faillock's users are in another store).
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "registry.h"
#include "secret.h"
#include "token.h"

/* the store under test; "@DB@" in a pam.d file names it, "@USERS@" the
 * users' store */
static char db[TP_STORE_LOCATION_MAX];

/* every ID handed out or presented during the test */
static char ids[64][TP_TOKEN_TEXT_SIZE];
static int nids;

static void keep_id(const char *id)
{
    if (id != NULL && nids < 64)
        snprintf(ids[nids++], sizeof ids[0], "%s", id);
}

/* ---- helpers ("test:pw", the harness's, stands in for userdb) --------------------------- */

static const char *named(trex_pam_handle_t *h, const char *name)
{
    const char *v = NULL;
    if (trex_pam_get_named_item(h, name, &v) != TREX_PAM_SUCCESS)
        return "(error)";
    return v;
}

/* A session written straight into the store, with a chosen age. */
static void plant(char id[TP_TOKEN_TEXT_SIZE], const char *user, int64_t created,
                  int64_t last_used)
{
    struct tp_store *st = th_store(db, 0);
    struct tp_session s;
    memset(&s, 0, sizeof s);
    tp_token_new(id, s.digest, NULL);
    s.user = (char *)user;
    s.created = created;
    s.last_used = last_used;
    if (st == NULL || tp_store_session_add(st, &s) != TP_STORE_OK)
        tap_diag("plant: %s", st ? tp_store_error(st) : "no store");
    keep_id(id);
    if (st)
        tp_store_close(st);
}

/* The stored session of an ID: TP_STORE_* code; *out filled when found. */
static int lookup(const char *id, const unsigned char *key, struct tp_session *out)
{
    struct tp_store *st = th_store(db, 0);
    unsigned char dg[TP_TOKEN_DIGEST_LEN];
    int rc;
    memset(out, 0, sizeof *out);
    if (st == NULL)
        return TP_STORE_UNAVAIL;
    if (tp_token_digest(id, key, dg) != 0) {
        tp_store_close(st);
        return TP_STORE_ERR;
    }
    rc = tp_store_session_get(st, dg, out);
    tp_store_close(st);
    return rc;
}

static int exists(const char *id)
{
    struct tp_session s;
    int rc = lookup(id, NULL, &s);
    tp_session_clear(&s);
    return rc == TP_STORE_OK;
}

static int count_fn(void *data, const struct tp_session *s)
{
    (*(int *)data)++;
    return 0;
}

static int sessions_of(const char *user)
{
    struct tp_store *st = th_store(db, 0);
    int n = 0;
    if (st == NULL)
        return -1;
    if (tp_store_session_list(st, user, count_fn, &n) != TP_STORE_OK)
        n = -1;
    tp_store_close(st);
    return n;
}

/* A login through the password path; the new ID into id ("" on failure). */
static void login(const char *svc, const char *user, char id[TP_TOKEN_TEXT_SIZE])
{
    trex_pam_handle_t *h = th_start_pass(svc, user, "secret");
    const char *v;
    id[0] = '\0';
    if (h == NULL)
        return;
    trex_pam_set_item(h, TREX_PAM_RHOST, "192.0.2.7");
    if (trex_pam_authenticate(h, 0) == TREX_PAM_SUCCESS && trex_pam_acct_mgmt(h, 0) == 0 &&
        trex_pam_open_session(h, 0) == TREX_PAM_SUCCESS &&
        (v = named(h, TREX_PAM_ITEM_SESSION_ID)) != NULL)
        snprintf(id, TP_TOKEN_TEXT_SIZE, "%s", v);
    keep_id(id);
    trex_pam_end(h, 0);
}

/* ---- the tests ------------------------------------------------------------------------------ */

#define WEB \
    "auth     [success=done ignore=ignore default=die] test:session @DB@\n" \
    "auth     required test:pw\n" \
    "account  required permit\n" \
    "password required permit\n" \
    "password optional test:session revoke_on_change @DB@\n" \
    "session  required test:session @DB@\n"

static void test_flow(void)
{
    trex_pam_handle_t *h;
    char id[TP_TOKEN_TEXT_SIZE], id2[TP_TOKEN_TEXT_SIZE];
    struct tp_session s;
    int64_t t0 = (int64_t)time(NULL);

    th_file("web", WEB);
    /* 1. login: password, then open_session hands out an ID */
    h = th_start_pass("web", "alice", "secret");
    trex_pam_set_item(h, TREX_PAM_RHOST, "192.0.2.7");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "login: password accepted");
    tap_is_str(th_pw_seen(), "secret", "the password went past the session module to the next");
    tap_is_str(named(h, TREX_PAM_ITEM_AUTH_METHOD), NULL, "TREX_AUTH_METHOD not set by a password login");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "login: acct_mgmt");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), NULL, "no TREX_SESSION_ID before open_session");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "login: open_session");
    snprintf(id, sizeof id, "%s", named(h, TREX_PAM_ITEM_SESSION_ID) ? named(h, TREX_PAM_ITEM_SESSION_ID) : "");
    keep_id(id);
    tap_ok(tp_token_shape(id) && strncmp(id, "trex1.", 6) == 0,
           "TREX_SESSION_ID holds an ID (trex1. + 43 characters)");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "open_session again on the handle");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), id, "keeps the same session");
    trex_pam_end(h, 0);
    tap_is_int(sessions_of("alice"), 1, "alice has one session in the store");
    tap_is_int(lookup(id, NULL, &s), TP_STORE_OK, "the store finds it by the ID's digest");
    tap_is_str(s.user, "alice", "bound to alice");
    tap_ok(s.created >= t0 && s.created <= (int64_t)time(NULL) && s.last_used == s.created,
           "created = last used = now");
    tap_is_str(s.rhost, "192.0.2.7", "remote host from PAM_RHOST");
    tp_session_clear(&s);

    /* 2. a later request answers the password prompt with the ID */
    h = th_start_pass("web", "alice", id);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "the ID authenticates alice");
    tap_ok(strstr(th_seen(), "PROMPT:Password: ") != NULL, "asked with the password prompt");
    tap_is_int(th_pw_calls(), 0, "the password module was not consulted");
    tap_is_str(named(h, TREX_PAM_ITEM_AUTH_METHOD), "session", "TREX_AUTH_METHOD=session");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), id, "TREX_SESSION_ID is the ID");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "acct_mgmt still runs");
    tap_is_int(trex_pam_setcred(h, TREX_PAM_ESTABLISH_CRED), TREX_PAM_SUCCESS, "setcred");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "open_session on a session check");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), id, "does not start another session");
    trex_pam_end(h, 0);
    tap_is_int(sessions_of("alice"), 1, "still one session");

    /* 3. another user cannot use it */
    tap_is_int(th_login("web", "bob", id), TREX_PAM_AUTH_ERR, "bob with alice's ID: AUTH_ERR");
    tap_is_int(th_pw_calls(), 0, "and it is not tried as bob's password");
    tap_ok(exists(id), "alice's session is untouched");

    /* 4. a password is no ID: PAM_IGNORE, and the next module gets the same token */
    tap_is_int(th_login("web", "alice", "hunter2"), TREX_PAM_AUTH_ERR, "a wrong password fails");
    tap_is_str(th_pw_seen(), "hunter2", "the password module saw the token");
    tap_is_int(th_login("web", "alice", "secret"), TREX_PAM_SUCCESS, "the right password passes");

    /* 5. an unknown ID, and one off by a character */
    plant(id2, "alice", t0, t0);
    {
        struct tp_store *st = th_store(db, 0);
        unsigned char dg[TP_TOKEN_DIGEST_LEN];
        tp_token_digest(id2, NULL, dg);
        tp_store_session_delete(st, dg);
        tp_store_close(st);
    }
    tap_is_int(th_login("web", "alice", id2), TREX_PAM_AUTH_ERR, "an unknown ID: AUTH_ERR");
    tap_is_int(th_pw_calls(), 0, "not tried as a password either");
    tap_ok(th_logged("unknown or ended session presented for alice"),
           "logged without the ID");
    snprintf(id2, sizeof id2, "%s", id);
    id2[10] = id2[10] == 'A' ? 'B' : 'A';
    tap_is_int(th_login("web", "alice", id2), TREX_PAM_AUTH_ERR, "the ID with one character changed");
}

static void test_expiry(void)
{
    char id[TP_TOKEN_TEXT_SIZE];
    struct tp_session s;
    int64_t now = (int64_t)time(NULL);
    trex_pam_handle_t *h;

    /* defaults: idle 1800 s, lifetime 43200 s */
    plant(id, "alice", now - 100, now - 1700);
    tap_is_int(th_login("web", "alice", id), TREX_PAM_SUCCESS, "idle 1700 s of 1800: alive");
    plant(id, "alice", now - 100, now - 1900);
    h = th_start_pass("web", "alice", id);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR, "idle 1900 s: AUTH_ERR");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_EXPIRED), "idle", "TREX_SESSION_EXPIRED=idle");
    tap_is_str(named(h, TREX_PAM_ITEM_AUTH_METHOD), NULL, "no TREX_AUTH_METHOD");
    trex_pam_end(h, 0);
    tap_is_int(th_pw_calls(), 0, "an expired ID is not tried as a password");
    tap_ok(!exists(id), "the expired session is gone from the store");
    tap_ok(th_logged("session for alice expired (idle)"), "expiry logged");

    plant(id, "alice", now - 43000, now - 10);
    tap_is_int(th_login("web", "alice", id), TREX_PAM_SUCCESS, "12 h lifetime not reached: alive");
    plant(id, "alice", now - 43300, now - 10);
    h = th_start_pass("web", "alice", id);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR, "older than 12 h: AUTH_ERR");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_EXPIRED), "lifetime", "TREX_SESSION_EXPIRED=lifetime");
    trex_pam_end(h, 0);
    tap_ok(!exists(id), "gone from the store");

    /* arguments */
    th_file("short", "auth required test:session idle=100 lifetime=1000 @DB@\n"
                     "account required permit\n");
    now = (int64_t)time(NULL);
    plant(id, "alice", now - 500, now - 40);
    tap_is_int(th_login("short", "alice", id), TREX_PAM_SUCCESS, "idle=100: 40 s idle is alive");
    plant(id, "alice", now - 500, now - 150);
    tap_is_int(th_login("short", "alice", id), TREX_PAM_AUTH_ERR, "idle=100: 150 s idle expired");
    plant(id, "alice", now - 1500, now - 1);
    tap_is_int(th_login("short", "alice", id), TREX_PAM_AUTH_ERR, "lifetime=1000: 1500 s old expired");
    th_file("forever", "auth required test:session idle=0 lifetime=0 @DB@\n"
                       "account required permit\n");
    plant(id, "alice", now - 400000, now - 300000);
    tap_is_int(th_login("forever", "alice", id), TREX_PAM_SUCCESS, "idle=0 lifetime=0: no limit");
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used >= now, "and its use recorded");
    tp_session_clear(&s);

    /* a bad value keeps the default and is logged */
    th_file("badarg", "auth required test:session idle=ten frobnicate @DB@\n"
                      "account required permit\n");
    plant(id, "alice", now - 100, now - 1700);
    tap_is_int(th_login("badarg", "alice", id), TREX_PAM_SUCCESS, "idle=ten: the default 1800 s");
    tap_ok(th_logged("bad value in \"idle=ten\""), "bad value logged");
    tap_ok(th_logged("unknown option \"frobnicate\""), "unknown option logged");
}

static void test_touch(void)
{
    char id[TP_TOKEN_TEXT_SIZE];
    struct tp_session s;
    int64_t now = (int64_t)time(NULL);

    plant(id, "alice", now - 100, now - 30);
    tap_is_int(th_login("web", "alice", id), TREX_PAM_SUCCESS, "used 30 s ago: accepted");
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used == now - 30,
           "last use not rewritten within touch_interval (60 s)");
    tp_session_clear(&s);
    plant(id, "alice", now - 100, now - 61);
    tap_is_int(th_login("web", "alice", id), TREX_PAM_SUCCESS, "used 61 s ago: accepted");
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used >= now,
           "last use written after touch_interval");
    tap_is_int((long)s.created, (long)(now - 100), "creation time kept");
    tp_session_clear(&s);

    th_file("touch300", "auth required test:session touch_interval=300 @DB@\n"
                        "account required permit\n");
    now = (int64_t)time(NULL);
    plant(id, "alice", now - 1000, now - 200);
    tap_is_int(th_login("touch300", "alice", id), TREX_PAM_SUCCESS, "touch_interval=300, used 200 s ago");
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used == now - 200, "not written");
    tp_session_clear(&s);
    plant(id, "alice", now - 1000, now - 400);
    tap_is_int(th_login("touch300", "alice", id), TREX_PAM_SUCCESS, "touch_interval=300, used 400 s ago");
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used >= now, "written");
    tp_session_clear(&s);
}

static void test_close(void)
{
    char id[TP_TOKEN_TEXT_SIZE], bobs[TP_TOKEN_TEXT_SIZE];
    trex_pam_handle_t *h;

    login("web", "alice", id);
    tap_ok(tp_token_shape(id), "logged in again");
    /* logout: authenticate with the ID, then close_session */
    h = th_start_pass("web", "alice", id);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "logout: authenticated by the ID");
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SUCCESS, "close_session");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), NULL, "TREX_SESSION_ID cleared");
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SESSION_ERR, "closing again: no session");
    trex_pam_end(h, 0);
    tap_ok(!exists(id), "the session is gone from the store");
    tap_is_int(th_login("web", "alice", id), TREX_PAM_AUTH_ERR, "the old ID no longer authenticates");

    /* close_session with an ID the application names itself */
    login("web", "alice", id);
    h = th_start_pass("web", "alice", NULL);
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SESSION_ERR, "no TREX_SESSION_ID: SESSION_ERR");
    trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, "not-an-id");
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SESSION_ERR, "a malformed ID: SESSION_ERR");
    login("web", "bob", bobs);
    trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, bobs);
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SESSION_ERR, "bob's ID as alice: SESSION_ERR");
    tap_ok(exists(bobs), "bob's session survives");
    trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, id);
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SUCCESS, "alice's own ID: closed");
    tap_ok(!exists(id), "gone");
    trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, id);
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SUCCESS, "an ID already ended: SUCCESS");
    trex_pam_end(h, 0);

    /* session hooks need a user and never prompt for one */
    h = th_start_pass("web", NULL, NULL);
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SESSION_ERR, "open_session without a user");
    trex_pam_end(h, 0);
}

static void test_revoke(void)
{
    char a[TP_TOKEN_TEXT_SIZE], b[TP_TOKEN_TEXT_SIZE], c[TP_TOKEN_TEXT_SIZE];
    char bob[TP_TOKEN_TEXT_SIZE];
    trex_pam_handle_t *h;
    struct tp_store *st = th_store(db, 0);
    int n = 0;

    tp_store_session_delete_user(st, "alice", NULL, &n);
    tp_store_session_delete_user(st, "bob", NULL, &n);
    tp_store_close(st);
    login("web", "alice", a);
    login("web", "alice", b);
    login("web", "alice", c);
    login("web", "bob", bob);
    tap_is_int(sessions_of("alice"), 3, "alice has three sessions");

    /* the change-password page: a session request changes the password */
    h = th_start_pass("web", "alice", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "authenticated by session A");
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "chauthtok");
    trex_pam_end(h, 0);
    tap_ok(exists(a) && !exists(b) && !exists(c), "the other sessions ended, A kept");
    tap_ok(exists(bob), "bob's session untouched");
    tap_ok(th_logged("password of alice changed: 2 other session(s) ended"),
           "logged");

    /* the forced change at login (no session yet): every session ends */
    login("web", "alice", b);
    h = th_start_pass("web", "alice", "secret");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "password login");
    tap_is_int(trex_pam_chauthtok(h, TREX_PAM_CHANGE_EXPIRED_AUTHTOK), TREX_PAM_SUCCESS,
               "chauthtok(CHANGE_EXPIRED_AUTHTOK)");
    trex_pam_end(h, 0);
    tap_is_int(sessions_of("alice"), 0, "all of alice's sessions ended");

    /* the application names the session to keep */
    login("web", "alice", a);
    login("web", "alice", b);
    h = th_start_pass("web", "alice", "secret");
    trex_pam_authenticate(h, 0);
    trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, b);
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "chauthtok with TREX_SESSION_ID set");
    trex_pam_end(h, 0);
    tap_ok(!exists(a) && exists(b), "the named session kept, the other ended");

    /* without the argument nothing ends */
    th_file("norevoke", "auth required test:pw\npassword required permit\n"
                        "password optional test:session @DB@\n");
    login("web", "alice", a);
    h = th_start_pass("norevoke", "alice", "secret");
    trex_pam_authenticate(h, 0);
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "chauthtok without revoke_on_change");
    trex_pam_end(h, 0);
    tap_ok(exists(a) && exists(b), "sessions kept");

    /* the update pass returns IGNORE: SUCCESS would be "bad" here */
    th_file("revoke-ignore", "auth required test:pw\npassword required permit\n"
                             "password [ignore=ignore default=bad] test:session revoke_on_change @DB@\n");
    h = th_start_pass("revoke-ignore", "alice", "secret");
    trex_pam_authenticate(h, 0);
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "revoke_on_change returns IGNORE");
    trex_pam_end(h, 0);
    tap_is_int(sessions_of("alice"), 0, "and ended the sessions");

    /* the other hooks never decide */
    tap_is_int(tp_mod_session.acct_mgmt(NULL, 0, 0, NULL, NULL), TREX_PAM_IGNORE, "acct_mgmt: IGNORE");
    tap_is_int(tp_mod_session.chauthtok(NULL, TREX_PAM_PRELIM_CHECK, 0, NULL, NULL),
               TREX_PAM_IGNORE, "chauthtok's first pass: IGNORE");
}

static void test_purge(void)
{
    struct tp_store *st = th_store(db, 0);
    int expiring = tp_store_expires_sessions(st);
    char old1[TP_TOKEN_TEXT_SIZE], old2[TP_TOKEN_TEXT_SIZE], live[TP_TOKEN_TEXT_SIZE];
    char id[TP_TOKEN_TEXT_SIZE];
    int64_t now = (int64_t)time(NULL);

    if (st != NULL)
        tp_store_close(st);
    tap_is_int(expiring, strncmp(db, "redis", 5) == 0 || strncmp(db, "unix:", 5) == 0,
               "tp_store_expires_sessions: Redis only");
    th_file("nopurge", "auth required test:pw\naccount required permit\n"
                       "session required test:session purge_every=0 @DB@\n");
    th_file("purge", "auth required test:pw\naccount required permit\n"
                     "session required test:session purge_every=1 @DB@\n");
    plant(old1, "carol", now - 100, now - 1900);      /* idle */
    plant(old2, "carol", now - 50000, now - 10);      /* too old */
    plant(live, "carol", now - 100, now - 100);
    login("nopurge", "dave", id);
    tap_ok(tp_token_shape(id), "login with purge_every=0");
    tap_ok(exists(old1) && exists(old2), "expired sessions left alone");
    login("purge", "dave", id);
    tap_ok(tp_token_shape(id), "login with purge_every=1");
    if (expiring) {
        /* Redis: the keys' TTL ends sessions, the module never walks them */
        tap_ok(exists(old1) && exists(old2), "a store whose sessions expire by themselves: no purge");
        tap_ok(!th_logged("purged"), "and none logged");
        return;
    }
    tap_ok(!exists(old1), "the idle session purged");
    tap_ok(!exists(old2), "the too old session purged");
    tap_ok(exists(live) && exists(id), "live sessions kept");
    tap_ok(th_logged("purged 2 expired session(s)"), "purge logged");
}

static void test_key(void)
{
    char id[TP_TOKEN_TEXT_SIZE], path[PATH_MAX], text[2 * PATH_MAX + 256];
    unsigned char key[TP_TOKEN_KEY_LEN];
    struct tp_session s;
    char err[300];

    tap_is_int(th_file("site.key", "a site key of more than sixteen bytes\n"), 0,
               "key file");
    snprintf(path, sizeof path, "%s", th_path("site.key"));
    chmod(path, 0600);
    snprintf(text, sizeof text,
             "auth [success=done ignore=ignore default=die] test:session key_file=%s @DB@\n"
             "auth required test:pw\naccount required permit\n"
             "session required test:session key_file=%s @DB@\n", path, path);
    th_file("keyed", text);
    login("keyed", "alice", id);
    tap_ok(tp_token_shape(id), "login with key_file=");
    tap_is_int(tp_token_key_load(path, key, err, sizeof err), 0, "the test loads the key too");
    tap_is_int(lookup(id, key, &s), TP_STORE_OK, "stored under the keyed digest");
    tp_session_clear(&s);
    tap_is_int(lookup(id, NULL, &s), TP_STORE_NOTFOUND, "not under the plain digest");
    tp_session_clear(&s);
    tap_is_int(th_login("keyed", "alice", id), TREX_PAM_SUCCESS, "the keyed line accepts it");
    tap_is_int(th_login("web", "alice", id), TREX_PAM_AUTH_ERR, "a line without the key does not");
    tp_secret_wipe(key, sizeof key);

    th_file("nokey", "auth [success=done ignore=ignore default=die] test:session key_file=@DIR@/nokey @DB@\n"
                     "auth required test:pw\naccount required permit\n");
    tap_is_int(th_login("nokey", "alice", id), TREX_PAM_AUTHINFO_UNAVAIL,
               "a missing key file: AUTHINFO_UNAVAIL");
    tap_is_int(th_login("nokey", "alice", "secret"), TREX_PAM_SUCCESS,
               "passwords need no key: still passed on");
}

static void test_unavail(void)
{
    char id[TP_TOKEN_TEXT_SIZE];
    trex_pam_handle_t *h;

    th_file("nodb", "auth [success=done ignore=ignore default=die] test:session db=@DIR@/none.db\n"
                    "auth required test:pw\naccount required permit\n"
                    "session required test:session db=@DIR@/none.db\n");
    plant(id, "alice", time(NULL), time(NULL));
    tap_is_int(th_login("nodb", "alice", id), TREX_PAM_AUTHINFO_UNAVAIL,
               "no store: an ID gives AUTHINFO_UNAVAIL");
    tap_is_int(th_login("nodb", "alice", "secret"), TREX_PAM_SUCCESS, "a password still passes on");
    h = th_start_pass("nodb", "alice", "secret");
    trex_pam_authenticate(h, 0);
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_AUTHINFO_UNAVAIL, "open_session: AUTHINFO_UNAVAIL");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), NULL, "and no ID");
    trex_pam_end(h, 0);
}

/* several processes check the same session at once, every check writing */
enum { PROCS = 4, CHECKS = 40 };
static char shared_id[TP_TOKEN_TEXT_SIZE];

static int checker(int k)
{
    int fails = 0;
    for (int i = 0; i < CHECKS; i++)
        if (th_login("touch0", "erin", shared_id) != TREX_PAM_SUCCESS)
            fails++;
    return fails > 98 ? 98 : fails;
}

static void test_concurrent(void)
{
    struct tp_session s;
    int64_t t0 = (int64_t)time(NULL);

    th_file("touch0", "auth required test:session touch_interval=0 @DB@\n"
                      "account required permit\n");
    login("web", "erin", shared_id);
    tap_is_int(th_parallel(PROCS, checker), 0, "%d processes x %d checks with a write each: all accepted",
               PROCS, CHECKS);
    tap_ok(lookup(shared_id, NULL, &s) == TP_STORE_OK && s.last_used >= t0, "the session is intact");
    tp_session_clear(&s);
}

/*
 * The recommended default stack, exactly (with test: names for the two
 * modules until they are built-ins, and the test's stores named; faillock
 * finds the users through $TREX_PAM_STORE when its store keeps none):
 * "faillock preauth, userdb or session, faillock authfail/authsucc, userdb
 * account and password, session".
 */
#define DEFAULT_STACK \
    "auth     requisite                                test:faillock preauth @DB@\n" \
    "auth     [success=done ignore=ignore default=die] test:session @DB@\n" \
    "auth     [success=1 default=bad]                  userdb @USERS@\n" \
    "auth     [default=die]                            test:faillock authfail @DB@\n" \
    "auth     sufficient                               test:faillock authsucc @DB@\n" \
    "auth     required                                 deny\n" \
    "account  required                                 userdb @USERS@\n" \
    "password requisite                                userdb @USERS@\n" \
    "password optional                                 test:session revoke_on_change @DB@\n" \
    "session  required                                 test:session @DB@\n"

static void set_disabled(const char *user, int disabled)
{
    struct tp_store *st = th_store(th_users_location(), 0);
    struct tp_user u;
    tp_user_init(&u);
    u.name = (char *)user;
    u.disabled = disabled;
    if (st == NULL || tp_store_user_update(st, &u, TP_USER_DISABLED) != TP_STORE_OK)
        tap_diag("user_update: %s", st ? tp_store_error(st) : "no store");
    if (st)
        tp_store_close(st);
}

static void test_default_stack(void)
{
    char a[TP_TOKEN_TEXT_SIZE], b[TP_TOKEN_TEXT_SIZE], old[TP_TOKEN_TEXT_SIZE];
    struct tp_store *st = th_store(th_users_location(), 0);
    trex_pam_handle_t *h;
    int64_t now = (int64_t)time(NULL);
    int rc;

    th_user(st, "frank", "correct horse", NULL);
    tp_store_close(st);
    th_file("default", DEFAULT_STACK);

    /* login with the password, open a session */
    h = th_start_pass("default", "frank", "correct horse");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "default stack: password login");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "acct_mgmt");
    tap_is_int(trex_pam_setcred(h, TREX_PAM_ESTABLISH_CRED), TREX_PAM_SUCCESS, "setcred");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "open_session");
    snprintf(a, sizeof a, "%s", named(h, TREX_PAM_ITEM_SESSION_ID) ? named(h, TREX_PAM_ITEM_SESSION_ID) : "");
    keep_id(a);
    trex_pam_end(h, 0);
    tap_ok(tp_token_shape(a), "a session ID to put in the cookie");
    tap_is_int(th_login("default", "frank", "wrong 1"), TREX_PAM_AUTH_ERR, "a wrong password");
    tap_is_int(th_fail_count(db, "frank"), 1, "is on the tally");

    /* a request with the cookie */
    h = th_start_pass("default", "frank", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "the ID authenticates");
    tap_is_str(named(h, TREX_PAM_ITEM_AUTH_METHOD), "session", "by a session");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "acct_mgmt");
    tap_is_int(trex_pam_setcred(h, TREX_PAM_ESTABLISH_CRED), TREX_PAM_SUCCESS, "setcred");
    trex_pam_end(h, 0);
    tap_is_int(th_fail_count(db, "frank"), 1, "a session check leaves the tally alone");

    /* a disabled account is refused at once, even with a live session */
    set_disabled("frank", 1);
    h = th_start_pass("default", "frank", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "disabled: the session is valid");
    rc = trex_pam_acct_mgmt(h, 0);
    tap_ok(rc != TREX_PAM_SUCCESS, "but acct_mgmt refuses the account (%d)", rc);
    trex_pam_end(h, 0);
    set_disabled("frank", 0);

    /* an expired or ended ID is no failed login */
    plant(old, "frank", now - 100, now - 4000);
    tap_is_int(th_login("default", "frank", old), TREX_PAM_AUTH_ERR, "an expired ID: AUTH_ERR");
    tap_is_int(th_login("default", "frank", old), TREX_PAM_AUTH_ERR, "again: gone");
    tap_is_int(th_fail_count(db, "frank"), 1, "neither counted as a failed login");

    /* lockout after three wrong passwords in a row */
    tap_is_int(th_login("default", "frank", "wrong 2"), TREX_PAM_AUTH_ERR, "wrong password");
    tap_is_int(th_login("default", "frank", "wrong 3"), TREX_PAM_AUTH_ERR, "wrong password again");
    tap_is_int(th_fail_count(db, "frank"), 3, "three on the tally");
    tap_is_int(th_login("default", "frank", "correct horse"), TREX_PAM_AUTH_ERR,
               "locked: the right password refused");
    tap_ok(strstr(th_seen(), "INFO:The account is locked due to 3 failed logins.") != NULL,
           "with pam_faillock's message");
    tap_is_int(th_login("default", "frank", a), TREX_PAM_AUTH_ERR, "locked: the session refused too");
    {
        struct tp_store *s2 = th_store(db, 0);
        tp_store_fail_reset(s2, "frank");
        tp_store_close(s2);
    }
    tap_is_int(th_login("default", "frank", a), TREX_PAM_SUCCESS, "unlocked (faillock --reset)");
    tap_is_int(th_login("default", "frank", "correct horse"), TREX_PAM_SUCCESS, "password again");
    tap_is_int(th_login("default", "nobody-at-all", "x"), TREX_PAM_AUTH_ERR,
               "an unknown user: AUTH_ERR, as a wrong password (userdb's code stands)");

    /* change the password in session A: session B ends */
    h = th_start_pass("default", "frank", "correct horse");
    trex_pam_authenticate(h, 0);
    trex_pam_open_session(h, 0);
    snprintf(b, sizeof b, "%s", named(h, TREX_PAM_ITEM_SESSION_ID) ? named(h, TREX_PAM_ITEM_SESSION_ID) : "");
    keep_id(b);
    trex_pam_end(h, 0);
    tap_ok(exists(a) && exists(b), "frank has sessions A and B");
    h = th_start_pass("default", "frank", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "in session A");
    /* the current password, then the new one and its retype */
    th_answers(3, "correct horse", "battery staple 42", "battery staple 42");
    rc = trex_pam_chauthtok(h, 0);
    tap_is_int(rc, TREX_PAM_SUCCESS, "chauthtok");
    trex_pam_end(h, 0);
    tap_ok(exists(a) && !exists(b), "session B ended, A kept");
    tap_is_int(th_login("default", "frank", "battery staple 42"), TREX_PAM_SUCCESS, "the new password");

    /* logout */
    h = th_start_pass("default", "frank", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "logout: authenticate by the ID");
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SUCCESS, "close_session");
    trex_pam_end(h, 0);
    tap_is_int(th_login("default", "frank", a), TREX_PAM_AUTH_ERR, "the old cookie is refused");
    tap_is_int(th_fail_count(db, "frank"), 0, "and not counted as a failure");
}

/* A password of an ID's shape (set before such were refused, or
 * imported): refused at login by default; with fallthrough, an answer of
 * that shape that is no live session of this user goes on to userdb. */
static void test_fallthrough(void)
{
    char pw[TP_TOKEN_TEXT_SIZE], other[TP_TOKEN_TEXT_SIZE];
    unsigned char dg[TP_TOKEN_DIGEST_LEN];
    struct tp_store *us = th_store(th_users_location(), 0);

    tp_token_new(pw, dg, NULL);
    tp_token_new(other, dg, NULL);
    if (us == NULL || th_user(us, "tina", pw, NULL) != 0)
        th_bail("cannot add tina");
    tp_store_close(us);
    th_file("nofall", "auth [success=done ignore=ignore default=die] test:session @DB@\n"
                      "auth required userdb nodelay @USERS@\n");
    th_file("fall", "auth [success=done ignore=ignore default=die] test:session fallthrough @DB@\n"
                    "auth required userdb nodelay @USERS@\n");
    tap_is_int(th_auth("nofall", "tina", pw, 0), TREX_PAM_AUTH_ERR,
               "a password of an ID's shape, without fallthrough: taken for a dead ID");
    tap_is_int(th_auth("fall", "tina", pw, 0), TREX_PAM_SUCCESS,
               "with fallthrough: userdb checks it, and it logs in");
    tap_is_int(th_auth("fall", "tina", other, 0), TREX_PAM_AUTH_ERR,
               "with fallthrough, another shaped answer: userdb's wrong password");
    th_log_reset();
    tap_is_int(th_auth("fall", "tina", "not-shaped", 0), TREX_PAM_AUTH_ERR,
               "with fallthrough, an ordinary wrong password: as before");
    tp_secret_wipe(pw, sizeof pw);
}

static void test_log(void)
{
    int leaked = 0;
    for (int i = 0; i < nids; i++)
        if (ids[i][0] && strstr(th_log_all(), ids[i] + 6) != NULL)
            leaked++;
    tap_ok(nids > 10, "%d IDs used in this test", nids);
    tap_is_int(leaked, 0, "none of them in the log (%zu bytes)", th_log_len());
    tap_ok(strstr(th_log_all(), "trex1.") == NULL, "no ID prefix in the log at all");
}

int main(void)
{
    static const char *const users[] = { "alice", "bob", "carol", "dave", "erin", NULL };

    signal(SIGPIPE, SIG_IGN);
    snprintf(db, sizeof db, "%s", th_user_store("trex.db", users));

    test_flow();
    test_expiry();
    test_touch();
    test_close();
    test_revoke();
    test_purge();
    test_key();
    test_unavail();
    test_concurrent();
    test_default_stack();
    test_fallthrough();
    test_log();
    return th_done();
}
