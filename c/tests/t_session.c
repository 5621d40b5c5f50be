/*
 * t_session.c - the session module (modules/session.c) through the core:
 * the web flow of DESIGN.md section 4 (login opens a session whose ID the
 * application reads, later handles authenticate with the ID as password),
 * another user's ID, passwords passed on to the next module, idle and
 * absolute expiry (ages written into the store directly), coalesced
 * last-use writes, close_session, revoke_on_change, purging, keyed digests,
 * an unusable store, concurrent checks from several processes, and that no
 * ID ever reaches the log.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"
#include "secret.h"
#include "trex_pam_module.h"
#include "store.h"
#include "token.h"
#include "registry.h"
#include "hash.h"

static char *dir;
static char db[600];

/* ---- conversation: answers the password prompt, records everything else ----------- */
static const char *answer;            /* the password prompt's answer */
static const char *answer_old;        /* "Current password: " (chauthtok) */
static const char *answer_new;        /* "New password: " and its retype */
static char msgs[2048];               /* "PROMPT:Password: |INFO:..|ERR:.." */

static void note(const char *kind, const char *text)
{
    size_t n = strlen(msgs);
    snprintf(msgs + n, sizeof msgs - n, "%s%s:%s", n ? "|" : "", kind, text);
}

static int conv(int n, const struct trex_pam_message **m, struct trex_pam_response **r, void *d)
{
    struct trex_pam_response *res = calloc((size_t)n, sizeof *res);
    if (res == NULL)
        return TREX_PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        switch (m[i]->msg_style) {
        case TREX_PAM_PROMPT_ECHO_OFF: {
            const char *a = strncmp(m[i]->msg, "Current", 7) == 0 ? answer_old
                          : strncmp(m[i]->msg, "New", 3) == 0 ||
                            strncmp(m[i]->msg, "Retype", 6) == 0 ? answer_new : answer;
            note("PROMPT", m[i]->msg);
            if (a == NULL || (res[i].resp = strdup(a)) == NULL)
                goto fail;
            break;
        }
        case TREX_PAM_TEXT_INFO:
            note("INFO", m[i]->msg);
            break;
        case TREX_PAM_ERROR_MSG:
            note("ERR", m[i]->msg);
            break;
        default:
            goto fail;
        }
    }
    *r = res;
    return TREX_PAM_SUCCESS;
fail:
    for (int i = 0; i < n; i++)
        free(res[i].resp);
    free(res);
    return TREX_PAM_CONV_ERR;
}

/* ---- the log: every line kept, to look for IDs in it -------------------------------- */
static char logbuf[65536];
static size_t loglen;

static void log_cb(void *data, int prio, const char *line)
{
    int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof logbuf - loglen)
        loglen += (size_t)n;
}

/* every ID handed out or presented during the test */
static char ids[64][TP_TOKEN_TEXT_SIZE];
static int nids;

static void keep_id(const char *id)
{
    if (id != NULL && nids < 64)
        snprintf(ids[nids++], sizeof ids[0], "%s", id);
}

/* ---- test module "test:pw": a stand-in for userdb -------------------------------------
 * authenticate: PAM_AUTHTOK "secret" → SUCCESS, else AUTH_ERR; remembers the
 * token it was given (to show a password passes the session module). */
static char pw_seen[128];
static int pw_calls;

static int pw_auth(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    const char *tok = NULL;
    int rc = trex_pam_get_authtok(h, TREX_PAM_AUTHTOK, &tok, NULL);
    pw_calls++;
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    snprintf(pw_seen, sizeof pw_seen, "%s", tok);
    return strcmp(tok, "secret") == 0 ? TREX_PAM_SUCCESS : TREX_PAM_AUTH_ERR;
}
static int pw_ok(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return TREX_PAM_SUCCESS;
}
static const struct trex_pam_module pwmod = {
    TREX_PAM_MODULE_ABI, "pw", pw_auth, pw_ok, pw_ok, pw_ok, pw_ok, pw_ok, NULL, NULL
};

static int resolve(trex_pam_handle_t *pamh, void *data, const char *name,
                   const struct trex_pam_module **mod, void **inst)
{
    *inst = NULL;
    if (strcmp(name, "test:session") == 0)
        *mod = &tp_mod_session;
    else if (strcmp(name, "test:faillock") == 0)
        *mod = &tp_mod_faillock;
    else if (strcmp(name, "test:pw") == 0)
        *mod = &pwmod;
    else
        return TREX_PAM_MODULE_UNKNOWN;
    return TREX_PAM_SUCCESS;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* PAM_FAIL_DELAY: the 2 s that faillock and userdb ask for, not slept */
static void no_delay(int status, unsigned int usec, void *appdata)
{
}

static trex_pam_handle_t *start(const char *service, const char *user, const char *pass)
{
    struct trex_pam_conv c = { conv, NULL };
    struct trex_pam_options o = { .size = sizeof o, .registry = trex_pam_builtin_registry(), .confdir = dir,
                                  .log_mode = TREX_PAM_LOG_CALLBACK, .log_fn = log_cb,
                                  .resolve = resolve };
    trex_pam_handle_t *h = NULL;
    int rc;

    answer = pass;
    msgs[0] = '\0';
    pw_seen[0] = '\0';
    pw_calls = 0;
    if ((rc = trex_pam_start_opts(service, user, &c, &o, &h)) != TREX_PAM_SUCCESS)
        tap_diag("start %s: %d", service, rc);
    else
        trex_pam_set_item(h, TREX_PAM_FAIL_DELAY, (const void *)no_delay);
    return h;
}

/* Write a pam.d file; "@DB@" in text becomes db=<the test store>. */
static void service(const char *name, const char *text)
{
    char buf[4096], *o = buf;
    const char *p = text;
    while (*p && (size_t)(o - buf) < sizeof buf - 700) {
        if (strncmp(p, "@DB@", 4) == 0) {
            o += sprintf(o, "db=%s", db);
            p += 4;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    if (tap_write_file(dir, name, buf) != 0)
        tap_diag("cannot write %s", name);
}

static const char *named(trex_pam_handle_t *h, const char *name)
{
    const char *v = NULL;
    if (trex_pam_get_named_item(h, name, &v) != TREX_PAM_SUCCESS)
        return "(error)";
    return v;
}

static struct tp_store *open_db(void)
{
    struct tp_store *st = NULL;
    char err[256] = "";
    if (tp_store_open(db, 0, &st, err, sizeof err) != TP_STORE_OK)
        tap_diag("store: %s", err);
    return st;
}

/* A session written straight into the store, with a chosen age. */
static void plant(char id[TP_TOKEN_TEXT_SIZE], const char *user, int64_t created,
                  int64_t last_used)
{
    struct tp_store *st = open_db();
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
    struct tp_store *st = open_db();
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
    struct tp_store *st = open_db();
    int n = 0;
    if (st == NULL)
        return -1;
    if (tp_store_session_list(st, user, count_fn, &n) != TP_STORE_OK)
        n = -1;
    tp_store_close(st);
    return n;
}

/* authenticate (+ acct_mgmt when it succeeds) on a new handle; the result */
static int check(const char *svc, const char *user, const char *pass)
{
    trex_pam_handle_t *h = start(svc, user, pass);
    int rc;
    if (h == NULL)
        return -1;
    rc = trex_pam_authenticate(h, 0);
    if (rc == TREX_PAM_SUCCESS)
        rc = trex_pam_acct_mgmt(h, 0);
    trex_pam_end(h, rc);
    return rc;
}

/* A login through the password path; the new ID into id ("" on failure). */
static void login(const char *svc, const char *user, char id[TP_TOKEN_TEXT_SIZE])
{
    trex_pam_handle_t *h = start(svc, user, "secret");
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

    service("web", WEB);
    /* 1. login: password, then open_session hands out an ID */
    h = start("web", "alice", "secret");
    trex_pam_set_item(h, TREX_PAM_RHOST, "192.0.2.7");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "login: password accepted");
    tap_is_str(pw_seen, "secret", "the password went past the session module to the next");
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
    h = start("web", "alice", id);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "the ID authenticates alice");
    tap_ok(strstr(msgs, "PROMPT:Password: ") != NULL, "asked with the password prompt");
    tap_is_int(pw_calls, 0, "the password module was not consulted");
    tap_is_str(named(h, TREX_PAM_ITEM_AUTH_METHOD), "session", "TREX_AUTH_METHOD=session");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), id, "TREX_SESSION_ID is the ID");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "acct_mgmt still runs");
    tap_is_int(trex_pam_setcred(h, TREX_PAM_ESTABLISH_CRED), TREX_PAM_SUCCESS, "setcred");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "open_session on a session check");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), id, "does not start another session");
    trex_pam_end(h, 0);
    tap_is_int(sessions_of("alice"), 1, "still one session");

    /* 3. another user cannot use it */
    tap_is_int(check("web", "bob", id), TREX_PAM_AUTH_ERR, "bob with alice's ID: AUTH_ERR");
    tap_is_int(pw_calls, 0, "and it is not tried as bob's password");
    tap_ok(exists(id), "alice's session is untouched");

    /* 4. a password is no ID: PAM_IGNORE, and the next module gets the same token */
    tap_is_int(check("web", "alice", "hunter2"), TREX_PAM_AUTH_ERR, "a wrong password fails");
    tap_is_str(pw_seen, "hunter2", "the password module saw the token");
    tap_is_int(check("web", "alice", "secret"), TREX_PAM_SUCCESS, "the right password passes");

    /* 5. an unknown ID, and one off by a character */
    plant(id2, "alice", t0, t0);
    {
        struct tp_store *st = open_db();
        unsigned char dg[TP_TOKEN_DIGEST_LEN];
        tp_token_digest(id2, NULL, dg);
        tp_store_session_delete(st, dg);
        tp_store_close(st);
    }
    tap_is_int(check("web", "alice", id2), TREX_PAM_AUTH_ERR, "an unknown ID: AUTH_ERR");
    tap_is_int(pw_calls, 0, "not tried as a password either");
    tap_ok(strstr(logbuf, "unknown or ended session presented for alice") != NULL,
           "logged without the ID");
    snprintf(id2, sizeof id2, "%s", id);
    id2[10] = id2[10] == 'A' ? 'B' : 'A';
    tap_is_int(check("web", "alice", id2), TREX_PAM_AUTH_ERR, "the ID with one character changed");
}

static void test_expiry(void)
{
    char id[TP_TOKEN_TEXT_SIZE];
    struct tp_session s;
    int64_t now = (int64_t)time(NULL);
    trex_pam_handle_t *h;

    /* defaults: idle 1800 s, lifetime 43200 s */
    plant(id, "alice", now - 100, now - 1700);
    tap_is_int(check("web", "alice", id), TREX_PAM_SUCCESS, "idle 1700 s of 1800: alive");
    plant(id, "alice", now - 100, now - 1900);
    h = start("web", "alice", id);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR, "idle 1900 s: AUTH_ERR");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_EXPIRED), "idle", "TREX_SESSION_EXPIRED=idle");
    tap_is_str(named(h, TREX_PAM_ITEM_AUTH_METHOD), NULL, "no TREX_AUTH_METHOD");
    trex_pam_end(h, 0);
    tap_is_int(pw_calls, 0, "an expired ID is not tried as a password");
    tap_ok(!exists(id), "the expired session is gone from the store");
    tap_ok(strstr(logbuf, "session for alice expired (idle)") != NULL, "expiry logged");

    plant(id, "alice", now - 43000, now - 10);
    tap_is_int(check("web", "alice", id), TREX_PAM_SUCCESS, "12 h lifetime not reached: alive");
    plant(id, "alice", now - 43300, now - 10);
    h = start("web", "alice", id);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR, "older than 12 h: AUTH_ERR");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_EXPIRED), "lifetime", "TREX_SESSION_EXPIRED=lifetime");
    trex_pam_end(h, 0);
    tap_ok(!exists(id), "gone from the store");

    /* arguments */
    service("short", "auth required test:session idle=100 lifetime=1000 @DB@\n"
                     "account required permit\n");
    now = (int64_t)time(NULL);
    plant(id, "alice", now - 500, now - 40);
    tap_is_int(check("short", "alice", id), TREX_PAM_SUCCESS, "idle=100: 40 s idle is alive");
    plant(id, "alice", now - 500, now - 150);
    tap_is_int(check("short", "alice", id), TREX_PAM_AUTH_ERR, "idle=100: 150 s idle expired");
    plant(id, "alice", now - 1500, now - 1);
    tap_is_int(check("short", "alice", id), TREX_PAM_AUTH_ERR, "lifetime=1000: 1500 s old expired");
    service("forever", "auth required test:session idle=0 lifetime=0 @DB@\n"
                       "account required permit\n");
    plant(id, "alice", now - 400000, now - 300000);
    tap_is_int(check("forever", "alice", id), TREX_PAM_SUCCESS, "idle=0 lifetime=0: no limit");
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used >= now, "and its use recorded");
    tp_session_clear(&s);

    /* a bad value keeps the default and is logged */
    service("badarg", "auth required test:session idle=ten frobnicate @DB@\n"
                      "account required permit\n");
    plant(id, "alice", now - 100, now - 1700);
    tap_is_int(check("badarg", "alice", id), TREX_PAM_SUCCESS, "idle=ten: the default 1800 s");
    tap_ok(strstr(logbuf, "bad value in \"idle=ten\"") != NULL, "bad value logged");
    tap_ok(strstr(logbuf, "unknown option \"frobnicate\"") != NULL, "unknown option logged");
}

static void test_touch(void)
{
    char id[TP_TOKEN_TEXT_SIZE];
    struct tp_session s;
    int64_t now = (int64_t)time(NULL);

    plant(id, "alice", now - 100, now - 30);
    tap_is_int(check("web", "alice", id), TREX_PAM_SUCCESS, "used 30 s ago: accepted");
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used == now - 30,
           "last use not rewritten within touch_interval (60 s)");
    tp_session_clear(&s);
    plant(id, "alice", now - 100, now - 61);
    tap_is_int(check("web", "alice", id), TREX_PAM_SUCCESS, "used 61 s ago: accepted");
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used >= now,
           "last use written after touch_interval");
    tap_is_int((long)s.created, (long)(now - 100), "creation time kept");
    tp_session_clear(&s);

    service("touch300", "auth required test:session touch_interval=300 @DB@\n"
                        "account required permit\n");
    now = (int64_t)time(NULL);
    plant(id, "alice", now - 1000, now - 200);
    tap_is_int(check("touch300", "alice", id), TREX_PAM_SUCCESS, "touch_interval=300, used 200 s ago");
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used == now - 200, "not written");
    tp_session_clear(&s);
    plant(id, "alice", now - 1000, now - 400);
    tap_is_int(check("touch300", "alice", id), TREX_PAM_SUCCESS, "touch_interval=300, used 400 s ago");
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
    h = start("web", "alice", id);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "logout: authenticated by the ID");
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SUCCESS, "close_session");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), NULL, "TREX_SESSION_ID cleared");
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SESSION_ERR, "closing again: no session");
    trex_pam_end(h, 0);
    tap_ok(!exists(id), "the session is gone from the store");
    tap_is_int(check("web", "alice", id), TREX_PAM_AUTH_ERR, "the old ID no longer authenticates");

    /* close_session with an ID the application names itself */
    login("web", "alice", id);
    h = start("web", "alice", NULL);
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
    h = start("web", NULL, NULL);
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SESSION_ERR, "open_session without a user");
    trex_pam_end(h, 0);
}

static void test_revoke(void)
{
    char a[TP_TOKEN_TEXT_SIZE], b[TP_TOKEN_TEXT_SIZE], c[TP_TOKEN_TEXT_SIZE];
    char bob[TP_TOKEN_TEXT_SIZE];
    trex_pam_handle_t *h;
    struct tp_store *st = open_db();
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
    h = start("web", "alice", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "authenticated by session A");
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "chauthtok");
    trex_pam_end(h, 0);
    tap_ok(exists(a) && !exists(b) && !exists(c), "the other sessions ended, A kept");
    tap_ok(exists(bob), "bob's session untouched");
    tap_ok(strstr(logbuf, "password of alice changed: 2 other session(s) ended") != NULL,
           "logged");

    /* the forced change at login (no session yet): every session ends */
    login("web", "alice", b);
    h = start("web", "alice", "secret");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "password login");
    tap_is_int(trex_pam_chauthtok(h, TREX_PAM_CHANGE_EXPIRED_AUTHTOK), TREX_PAM_SUCCESS,
               "chauthtok(CHANGE_EXPIRED_AUTHTOK)");
    trex_pam_end(h, 0);
    tap_is_int(sessions_of("alice"), 0, "all of alice's sessions ended");

    /* the application names the session to keep */
    login("web", "alice", a);
    login("web", "alice", b);
    h = start("web", "alice", "secret");
    trex_pam_authenticate(h, 0);
    trex_pam_set_named_item(h, TREX_PAM_ITEM_SESSION_ID, b);
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "chauthtok with TREX_SESSION_ID set");
    trex_pam_end(h, 0);
    tap_ok(!exists(a) && exists(b), "the named session kept, the other ended");

    /* without the argument nothing ends */
    service("norevoke", "auth required test:pw\npassword required permit\n"
                        "password optional test:session @DB@\n");
    login("web", "alice", a);
    h = start("norevoke", "alice", "secret");
    trex_pam_authenticate(h, 0);
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "chauthtok without revoke_on_change");
    trex_pam_end(h, 0);
    tap_ok(exists(a) && exists(b), "sessions kept");

    /* the update pass returns IGNORE: SUCCESS would be "bad" here */
    service("revoke-ignore", "auth required test:pw\npassword required permit\n"
                             "password [ignore=ignore default=bad] test:session revoke_on_change @DB@\n");
    h = start("revoke-ignore", "alice", "secret");
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
    char old1[TP_TOKEN_TEXT_SIZE], old2[TP_TOKEN_TEXT_SIZE], live[TP_TOKEN_TEXT_SIZE];
    char id[TP_TOKEN_TEXT_SIZE];
    int64_t now = (int64_t)time(NULL);

    service("nopurge", "auth required test:pw\naccount required permit\n"
                       "session required test:session purge_every=0 @DB@\n");
    service("purge", "auth required test:pw\naccount required permit\n"
                     "session required test:session purge_every=1 @DB@\n");
    plant(old1, "carol", now - 100, now - 1900);      /* idle */
    plant(old2, "carol", now - 50000, now - 10);      /* too old */
    plant(live, "carol", now - 100, now - 100);
    login("nopurge", "dave", id);
    tap_ok(tp_token_shape(id), "login with purge_every=0");
    tap_ok(exists(old1) && exists(old2), "expired sessions left alone");
    login("purge", "dave", id);
    tap_ok(tp_token_shape(id), "login with purge_every=1");
    tap_ok(!exists(old1), "the idle session purged");
    tap_ok(!exists(old2), "the too old session purged");
    tap_ok(exists(live) && exists(id), "live sessions kept");
    tap_ok(strstr(logbuf, "purged 2 expired session(s)") != NULL, "purge logged");
}

static void test_key(void)
{
    char id[TP_TOKEN_TEXT_SIZE], path[700], text[2048];
    unsigned char key[TP_TOKEN_KEY_LEN];
    struct tp_session s;
    char err[300];

    tap_is_int(tap_write_file(dir, "site.key", "a site key of more than sixteen bytes\n"), 0,
               "key file");
    snprintf(path, sizeof path, "%s/site.key", dir);
    chmod(path, 0600);
    snprintf(text, sizeof text,
             "auth [success=done ignore=ignore default=die] test:session key_file=%s @DB@\n"
             "auth required test:pw\naccount required permit\n"
             "session required test:session key_file=%s @DB@\n", path, path);
    service("keyed", text);
    login("keyed", "alice", id);
    tap_ok(tp_token_shape(id), "login with key_file=");
    tap_is_int(tp_token_key_load(path, key, err, sizeof err), 0, "the test loads the key too");
    tap_is_int(lookup(id, key, &s), TP_STORE_OK, "stored under the keyed digest");
    tp_session_clear(&s);
    tap_is_int(lookup(id, NULL, &s), TP_STORE_NOTFOUND, "not under the plain digest");
    tp_session_clear(&s);
    tap_is_int(check("keyed", "alice", id), TREX_PAM_SUCCESS, "the keyed line accepts it");
    tap_is_int(check("web", "alice", id), TREX_PAM_AUTH_ERR, "a line without the key does not");
    tp_secret_wipe(key, sizeof key);

    snprintf(text, sizeof text,
             "auth [success=done ignore=ignore default=die] test:session key_file=%s/nokey @DB@\n"
             "auth required test:pw\naccount required permit\n", dir);
    service("nokey", text);
    tap_is_int(check("nokey", "alice", id), TREX_PAM_AUTHINFO_UNAVAIL,
               "a missing key file: AUTHINFO_UNAVAIL");
    tap_is_int(check("nokey", "alice", "secret"), TREX_PAM_SUCCESS,
               "passwords need no key: still passed on");
}

static void test_unavail(void)
{
    char id[TP_TOKEN_TEXT_SIZE], text[1024];
    trex_pam_handle_t *h;

    snprintf(text, sizeof text,
             "auth [success=done ignore=ignore default=die] test:session db=%s/none.db\n"
             "auth required test:pw\naccount required permit\n"
             "session required test:session db=%s/none.db\n", dir, dir);
    service("nodb", text);
    plant(id, "alice", time(NULL), time(NULL));
    tap_is_int(check("nodb", "alice", id), TREX_PAM_AUTHINFO_UNAVAIL,
               "no store: an ID gives AUTHINFO_UNAVAIL");
    tap_is_int(check("nodb", "alice", "secret"), TREX_PAM_SUCCESS, "a password still passes on");
    h = start("nodb", "alice", "secret");
    trex_pam_authenticate(h, 0);
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SESSION_ERR, "open_session: SESSION_ERR");
    tap_is_str(named(h, TREX_PAM_ITEM_SESSION_ID), NULL, "and no ID");
    trex_pam_end(h, 0);
}

/* several processes check the same session at once, every check writing */
static void test_concurrent(void)
{
    enum { PROCS = 4, CHECKS = 40 };
    char id[TP_TOKEN_TEXT_SIZE];
    int go[2], bad = 0;
    pid_t pids[PROCS];
    struct tp_session s;
    int64_t t0 = (int64_t)time(NULL);

    service("touch0", "auth required test:session touch_interval=0 @DB@\n"
                      "account required permit\n");
    login("web", "erin", id);
    if (pipe(go) != 0)
        return;
    for (int p = 0; p < PROCS; p++) {
        if ((pids[p] = fork()) == 0) {
            char c;
            int fails = 0;
            close(go[1]);
            if (read(go[0], &c, 1) < 0)
                _exit(99);
            for (int i = 0; i < CHECKS; i++)
                if (check("touch0", "erin", id) != TREX_PAM_SUCCESS)
                    fails++;
            _exit(fails > 98 ? 98 : fails);
        }
    }
    close(go[0]);
    close(go[1]);                       /* everyone starts at once */
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        if (pids[p] < 0 || waitpid(pids[p], &status, 0) != pids[p] || !WIFEXITED(status))
            bad += 100;
        else
            bad += WEXITSTATUS(status);
    }
    tap_is_int(bad, 0, "%d processes x %d checks with a write each: all accepted", PROCS, CHECKS);
    tap_ok(lookup(id, NULL, &s) == TP_STORE_OK && s.last_used >= t0, "the session is intact");
    tp_session_clear(&s);
}

/*
 * The recommended default stack, exactly (with test: names for the two
 * modules until they are built-ins, and db= for the test store):
 * "faillock preauth, userdb or session, faillock authfail/authsucc, userdb
 * account and password, session".
 */
#define DEFAULT_STACK \
    "auth     requisite                                test:faillock preauth @DB@\n" \
    "auth     [success=done ignore=ignore default=die] test:session @DB@\n" \
    "auth     [success=1 default=bad]                  userdb @DB@\n" \
    "auth     [default=die]                            test:faillock authfail @DB@\n" \
    "auth     sufficient                               test:faillock authsucc @DB@\n" \
    "auth     required                                 deny\n" \
    "account  required                                 userdb @DB@\n" \
    "password requisite                                userdb @DB@\n" \
    "password optional                                 test:session revoke_on_change @DB@\n" \
    "session  required                                 test:session @DB@\n"

static int tally(const char *user)
{
    struct tp_store *st = open_db();
    int n = -1;
    int64_t latest;
    if (st != NULL && tp_store_fail_count(st, user, 0, &n, &latest) != TP_STORE_OK)
        n = -1;
    if (st)
        tp_store_close(st);
    return n;
}

static void set_disabled(const char *user, int disabled)
{
    struct tp_store *st = open_db();
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
    char hash[512];
    struct tp_hash_policy pol;
    struct tp_store *st = open_db();
    struct tp_user u;
    trex_pam_handle_t *h;
    int64_t now = (int64_t)time(NULL);
    int rc;

    tp_hash_policy_default(&pol);
    tp_user_init(&u);
    u.name = (char *)"frank";
    u.hash = hash;
    if (tp_hash_make("correct horse", &pol, hash, sizeof hash) != 0 || st == NULL ||
        tp_store_user_add(st, &u) != TP_STORE_OK)
        tap_diag("cannot add frank");
    if (st)
        tp_store_close(st);
    service("default", DEFAULT_STACK);

    /* login with the password, open a session */
    h = start("default", "frank", "correct horse");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "default stack: password login");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "acct_mgmt");
    tap_is_int(trex_pam_setcred(h, TREX_PAM_ESTABLISH_CRED), TREX_PAM_SUCCESS, "setcred");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "open_session");
    snprintf(a, sizeof a, "%s", named(h, TREX_PAM_ITEM_SESSION_ID) ? named(h, TREX_PAM_ITEM_SESSION_ID) : "");
    keep_id(a);
    trex_pam_end(h, 0);
    tap_ok(tp_token_shape(a), "a session ID to put in the cookie");
    tap_is_int(check("default", "frank", "wrong 1"), TREX_PAM_AUTH_ERR, "a wrong password");
    tap_is_int(tally("frank"), 1, "is on the tally");

    /* a request with the cookie */
    h = start("default", "frank", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "the ID authenticates");
    tap_is_str(named(h, TREX_PAM_ITEM_AUTH_METHOD), "session", "by a session");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "acct_mgmt");
    tap_is_int(trex_pam_setcred(h, TREX_PAM_ESTABLISH_CRED), TREX_PAM_SUCCESS, "setcred");
    trex_pam_end(h, 0);
    tap_is_int(tally("frank"), 1, "a session check leaves the tally alone");

    /* a disabled account is refused at once, even with a live session */
    set_disabled("frank", 1);
    h = start("default", "frank", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "disabled: the session is valid");
    rc = trex_pam_acct_mgmt(h, 0);
    tap_ok(rc != TREX_PAM_SUCCESS, "but acct_mgmt refuses the account (%d)", rc);
    trex_pam_end(h, 0);
    set_disabled("frank", 0);

    /* an expired or ended ID is no failed login */
    plant(old, "frank", now - 100, now - 4000);
    tap_is_int(check("default", "frank", old), TREX_PAM_AUTH_ERR, "an expired ID: AUTH_ERR");
    tap_is_int(check("default", "frank", old), TREX_PAM_AUTH_ERR, "again: gone");
    tap_is_int(tally("frank"), 1, "neither counted as a failed login");

    /* lockout after three wrong passwords in a row */
    tap_is_int(check("default", "frank", "wrong 2"), TREX_PAM_AUTH_ERR, "wrong password");
    tap_is_int(check("default", "frank", "wrong 3"), TREX_PAM_AUTH_ERR, "wrong password again");
    tap_is_int(tally("frank"), 3, "three on the tally");
    tap_is_int(check("default", "frank", "correct horse"), TREX_PAM_AUTH_ERR,
               "locked: the right password refused");
    tap_ok(strstr(msgs, "INFO:The account is locked due to 3 failed logins.") != NULL,
           "with pam_faillock's message");
    tap_is_int(check("default", "frank", a), TREX_PAM_AUTH_ERR, "locked: the session refused too");
    {
        struct tp_store *s2 = open_db();
        tp_store_fail_reset(s2, "frank");
        tp_store_close(s2);
    }
    tap_is_int(check("default", "frank", a), TREX_PAM_SUCCESS, "unlocked (faillock --reset)");
    tap_is_int(check("default", "frank", "correct horse"), TREX_PAM_SUCCESS, "password again");
    tap_is_int(check("default", "nobody-at-all", "x"), TREX_PAM_USER_UNKNOWN,
               "an unknown user: USER_UNKNOWN (userdb's code stands)");

    /* change the password in session A: session B ends */
    h = start("default", "frank", "correct horse");
    trex_pam_authenticate(h, 0);
    trex_pam_open_session(h, 0);
    snprintf(b, sizeof b, "%s", named(h, TREX_PAM_ITEM_SESSION_ID) ? named(h, TREX_PAM_ITEM_SESSION_ID) : "");
    keep_id(b);
    trex_pam_end(h, 0);
    tap_ok(exists(a) && exists(b), "frank has sessions A and B");
    h = start("default", "frank", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "in session A");
    answer_old = "correct horse";
    answer_new = "battery staple 42";
    rc = trex_pam_chauthtok(h, 0);
    answer_old = answer_new = NULL;
    tap_is_int(rc, TREX_PAM_SUCCESS, "chauthtok");
    trex_pam_end(h, 0);
    tap_ok(exists(a) && !exists(b), "session B ended, A kept");
    tap_is_int(check("default", "frank", "battery staple 42"), TREX_PAM_SUCCESS, "the new password");

    /* logout */
    h = start("default", "frank", a);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "logout: authenticate by the ID");
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_SUCCESS, "close_session");
    trex_pam_end(h, 0);
    tap_is_int(check("default", "frank", a), TREX_PAM_AUTH_ERR, "the old cookie is refused");
    tap_is_int(tally("frank"), 0, "and not counted as a failure");
}

static void test_log(void)
{
    int leaked = 0;
    for (int i = 0; i < nids; i++)
        if (ids[i][0] && strstr(logbuf, ids[i] + 6) != NULL)
            leaked++;
    tap_ok(nids > 10, "%d IDs used in this test", nids);
    tap_is_int(leaked, 0, "none of them in the log (%zu bytes)", loglen);
    tap_ok(strstr(logbuf, "trex1.") == NULL, "no ID prefix in the log at all");
}

int main(void)
{
    struct tp_store *st = NULL;
    struct tp_user u;
    char err[256] = "";
    static const char *const users[] = { "alice", "bob", "carol", "dave", "erin" };

    signal(SIGPIPE, SIG_IGN);
    dir = tap_tmpdir();
    snprintf(db, sizeof db, "%s/trex.db", dir);
    if (tp_store_open(db, TP_STORE_CREATE, &st, err, sizeof err) != TP_STORE_OK) {
        tap_ok(0, "create the store: %s", err);
        return tap_done();
    }
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        tp_user_init(&u);
        u.name = (char *)users[i];
        u.hash = (char *)"";
        if (tp_store_user_add(st, &u) != TP_STORE_OK)
            tap_diag("user_add %s: %s", users[i], tp_store_error(st));
    }
    tp_store_close(st);

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
    test_log();
    tap_rmtree(dir);
    free(dir);
    return tap_done();
}
