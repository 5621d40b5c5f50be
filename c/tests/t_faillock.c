/*
 * t_faillock.c - the faillock module (modules/faillock.c): pam_faillock's
 * preauth/authfail/authsucc in the recommended web stack (with a stand-in
 * for userdb), deny/fail_interval/unlock_time (ages written into the store
 * directly), the lock messages, silent, authsucc and account resets,
 * unknown users, the fail delay, bad arguments and an unusable store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"
#include "secret.h"
#include "trex_pam_module.h"
#include "store.h"
#include "token.h"
#include "registry.h"

static char *dir;
static char db[600];

/* ---- conversation -------------------------------------------------------------------- */
static const char *answer;
static char msgs[2048];

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
        if (m[i]->msg_style == TREX_PAM_PROMPT_ECHO_OFF) {
            note("PROMPT", m[i]->msg);
            if (answer == NULL || (res[i].resp = strdup(answer)) == NULL) {
                for (int j = 0; j < i; j++)
                    free(res[j].resp);
                free(res);
                return TREX_PAM_CONV_ERR;
            }
        } else {
            note(m[i]->msg_style == TREX_PAM_TEXT_INFO ? "INFO" : "ERR", m[i]->msg);
        }
    }
    *r = res;
    return TREX_PAM_SUCCESS;
}

static char logbuf[65536];
static size_t loglen;

static void log_cb(void *data, int prio, const char *line)
{
    int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof logbuf - loglen)
        loglen += (size_t)n;
}

static int log_count(const char *needle)
{
    int n = 0;
    for (const char *p = logbuf; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* PAM_FAIL_DELAY: records the delay instead of sleeping */
static unsigned int delay_usec;
static int delay_calls;

static void delay_fn(int status, unsigned int usec, void *appdata)
{
    delay_usec = usec;
    delay_calls++;
}

/* ---- "test:pw": userdb's stand-in: the password is "secret" ---------------------------- */
static int pw_calls;

static int pw_auth(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    const char *tok = NULL;
    int rc = trex_pam_get_authtok(h, TREX_PAM_AUTHTOK, &tok, NULL);
    pw_calls++;
    if (rc != TREX_PAM_SUCCESS)
        return rc;
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

/* ---- helpers ------------------------------------------------------------------------------ */

static trex_pam_handle_t *start(const char *svc, const char *user, const char *pass)
{
    struct trex_pam_conv c = { conv, NULL };
    struct trex_pam_options o = { .size = sizeof o, .registry = trex_pam_builtin_registry(), .confdir = dir,
                                  .log_mode = TREX_PAM_LOG_CALLBACK, .log_fn = log_cb,
                                  .resolve = resolve };
    trex_pam_handle_t *h = NULL;

    answer = pass;
    msgs[0] = '\0';
    pw_calls = 0;
    delay_usec = 0;
    delay_calls = 0;
    if (trex_pam_start_opts(svc, user, &c, &o, &h) != TREX_PAM_SUCCESS)
        tap_diag("start %s failed", svc);
    else
        trex_pam_set_item(h, TREX_PAM_FAIL_DELAY, (const void *)delay_fn);
    return h;
}

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

static int login(const char *svc, const char *user, const char *pass, int flags)
{
    trex_pam_handle_t *h = start(svc, user, pass);
    int rc;
    if (h == NULL)
        return -1;
    rc = trex_pam_authenticate(h, flags);
    trex_pam_end(h, rc);
    return rc;
}

static struct tp_store *open_db(void)
{
    struct tp_store *st = NULL;
    char err[256] = "";
    if (tp_store_open(db, 0, &st, err, sizeof err) != TP_STORE_OK)
        tap_diag("store: %s", err);
    return st;
}

static int fails(const char *user)
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

/* failures at given ages (seconds ago) */
static void plant(const char *user, int n, int64_t age)
{
    struct tp_store *st = open_db();
    int64_t now = (int64_t)time(NULL);
    int c;
    for (int i = 0; st != NULL && i < n; i++)
        if (tp_store_fail_add(st, user, now - age, 0, &c) != TP_STORE_OK)
            tap_diag("fail_add: %s", tp_store_error(st));
    if (st)
        tp_store_close(st);
}

static void reset(const char *user)
{
    struct tp_store *st = open_db();
    if (st) {
        tp_store_fail_reset(st, user);
        tp_store_close(st);
    }
}

/* The recommended stack: "faillock preauth, userdb or session, faillock
 * authfail/authsucc, userdb account and password, session" (test:pw and
 * permit stand in for userdb). */
#define WEB \
    "auth     requisite                                test:faillock preauth @DB@\n" \
    "auth     [success=done ignore=ignore default=die] test:session @DB@\n" \
    "auth     [success=1 default=bad]                  test:pw\n" \
    "auth     [default=die]                            test:faillock authfail @DB@\n" \
    "auth     sufficient                               test:faillock authsucc @DB@\n" \
    "auth     required                                 deny\n" \
    "account  required                                 permit\n" \
    "password requisite                                permit\n" \
    "password optional                                 test:session revoke_on_change @DB@\n" \
    "session  required                                 test:session @DB@\n"

#define LOCKED3 "INFO:The account is locked due to 3 failed logins."

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_lock(void)
{
    service("web", WEB);
    tap_is_int(login("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "right password");
    tap_is_int(fails("alice"), 0, "no failures");
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "wrong password 1: AUTH_ERR");
    tap_is_int(fails("alice"), 1, "one failure recorded");
    tap_is_int(delay_calls, 1, "the fail delay ran");
    tap_ok(delay_usec >= 1000000 && delay_usec < 3000000, "a 2 s delay was asked (%u us)",
           delay_usec);
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "wrong password 2");
    tap_is_int(log_count("temporarily locked"), 0, "not locked yet");
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "wrong password 3");
    tap_is_int(fails("alice"), 3, "three failures");
    tap_is_int(log_count("Consecutive login failures for user alice account temporarily locked"), 1,
               "the lock logged once, at the third");

    tap_is_int(login("web", "alice", "secret", 0), TREX_PAM_AUTH_ERR,
               "locked: the right password is refused");
    tap_is_str(msgs, LOCKED3 "|INFO:(10 minutes left to unlock)", "pam_faillock's messages");
    tap_is_int(pw_calls, 0, "preauth is requisite: no password asked or checked");
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "locked, wrong password");
    tap_is_int(fails("alice"), 3, "nothing more recorded while locked");
    tap_is_int(login("web", "bob", "secret", 0), TREX_PAM_SUCCESS, "bob is not affected");

    /* a live session does not get past the lock either */
    {
        char id[TP_TOKEN_TEXT_SIZE];
        struct tp_store *st = open_db();
        struct tp_session s;
        memset(&s, 0, sizeof s);
        tp_token_new(id, s.digest, NULL);
        s.user = (char *)"alice";
        s.created = s.last_used = (int64_t)time(NULL);
        tp_store_session_add(st, &s);
        tp_store_close(st);
        tap_is_int(login("web", "alice", id, 0), TREX_PAM_AUTH_ERR,
                   "locked: a live session is refused too (preauth comes first)");
        reset("alice");
        tap_is_int(login("web", "alice", id, 0), TREX_PAM_SUCCESS, "unlocked: the session works");
        tp_secret_wipe(id, sizeof id);
    }
}

static void test_unlock(void)
{
    reset("alice");
    plant("alice", 3, 601);
    tap_is_int(login("web", "alice", "secret", 0), TREX_PAM_SUCCESS,
               "3 failures 601 s ago, unlock_time 600: unlocked");
    tap_is_int(fails("alice"), 0, "authsucc cleared them");

    plant("alice", 3, 590);
    tap_is_int(login("web", "alice", "secret", 0), TREX_PAM_AUTH_ERR, "590 s ago: still locked");
    tap_is_str(msgs, LOCKED3 "|INFO:(1 minute left to unlock)", "one minute left");

    reset("alice");
    plant("alice", 3, 601);
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "a failure after the lock ran out");
    tap_is_int(fails("alice"), 1, "counts afresh from one");
    tap_is_int(login("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "and does not lock again");

    /* fail_interval: failures more than 900 s before the latest do not count */
    reset("alice");
    plant("alice", 2, 1000);
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "a failure now, two 1000 s ago");
    tap_is_int(login("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "not locked (fail_interval 900)");
    plant("alice", 2, 1000);
    plant("alice", 2, 0);
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "three now, two 1000 s ago");
    tap_is_int(login("web", "alice", "secret", 0), TREX_PAM_AUTH_ERR, "third within 900 s: locked");
    tap_is_str(msgs, LOCKED3 "|INFO:(10 minutes left to unlock)", "three counted, not five");

    /* authsucc resets */
    reset("alice");
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "one wrong");
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "two wrong");
    tap_is_int(login("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "then right");
    tap_is_int(fails("alice"), 0, "authsucc cleared the tally");
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "one wrong again");
    tap_is_int(login("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "two wrong again");
    tap_is_int(login("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "not locked: consecutive only");
    reset("alice");
}

static void test_args(void)
{
    trex_pam_handle_t *h;

    /* unlock_time=never, deny=2, fail_interval=60 */
    service("never",
            "auth requisite test:faillock preauth deny=2 unlock_time=never @DB@\n"
            "auth [success=1 default=bad] test:pw\n"
            "auth [default=die] test:faillock authfail deny=2 unlock_time=never @DB@\n"
            "auth sufficient test:faillock authsucc deny=2 unlock_time=never @DB@\n"
            "auth required deny\n");
    plant("carol", 2, 100000);
    tap_is_int(login("never", "carol", "secret", 0), TREX_PAM_AUTH_ERR,
               "unlock_time=never: locked after a day");
    tap_is_str(msgs, "INFO:The account is locked due to 2 failed logins.",
               "no minutes left message");
    reset("carol");
    tap_is_int(login("never", "carol", "wrong", 0), TREX_PAM_AUTH_ERR, "deny=2: one");
    tap_is_int(login("never", "carol", "wrong", 0), TREX_PAM_AUTH_ERR, "deny=2: two");
    tap_is_int(login("never", "carol", "secret", 0), TREX_PAM_AUTH_ERR, "deny=2: locked");
    reset("carol");

    /* silent, and the PAM_SILENT flag */
    service("silent",
            "auth requisite test:faillock preauth silent @DB@\n"
            "auth required test:pw\n");
    plant("carol", 3, 10);
    tap_is_int(login("silent", "carol", "secret", 0), TREX_PAM_AUTH_ERR, "silent: locked");
    tap_is_str(msgs, "", "silent: no message");
    tap_is_int(login("web", "carol", "secret", TREX_PAM_SILENT), TREX_PAM_AUTH_ERR,
               "PAM_SILENT: locked");
    tap_is_str(msgs, "", "PAM_SILENT: no message");
    tap_is_int(login("web", "carol", "secret", 0), TREX_PAM_AUTH_ERR, "without: locked");
    tap_is_str(msgs, LOCKED3 "|INFO:(10 minutes left to unlock)", "with the message");

    /* authsucc refuses a locked user and keeps the tally */
    service("succ", "auth required test:faillock authsucc @DB@\n");
    tap_is_int(login("succ", "carol", "x", 0), TREX_PAM_AUTH_ERR, "authsucc while locked: AUTH_ERR");
    tap_is_int(fails("carol"), 3, "the tally is kept");
    tap_is_str(msgs, "", "authsucc sends no message");

    /* why the stack ends with "auth required deny": a lock that another
     * process set between preauth and authsucc (simulated: preauth with
     * deny=10 passes, authsucc with deny=3 finds the lock) is bypassed
     * without it */
    service("nodeny",
            "auth requisite test:faillock preauth deny=10 @DB@\n"
            "auth [success=1 default=bad] test:pw\n"
            "auth [default=die] test:faillock authfail @DB@\n"
            "auth sufficient test:faillock authsucc @DB@\n");
    service("withdeny",
            "auth requisite test:faillock preauth deny=10 @DB@\n"
            "auth [success=1 default=bad] test:pw\n"
            "auth [default=die] test:faillock authfail @DB@\n"
            "auth sufficient test:faillock authsucc @DB@\n"
            "auth required deny\n");
    tap_is_int(login("nodeny", "carol", "secret", 0), TREX_PAM_SUCCESS,
               "locked at authsucc, no deny line: the stack succeeds (fail open)");
    tap_is_int(login("withdeny", "carol", "secret", 0), TREX_PAM_AUTH_ERR,
               "with \"auth required deny\" last: AUTH_ERR");

    /* account phase clears the tally, as pam_faillock's account use does */
    service("acct", "account required test:faillock @DB@\n");
    h = start("acct", "carol", NULL);
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "account: SUCCESS");
    trex_pam_end(h, 0);
    tap_is_int(fails("carol"), 0, "and the tally is cleared");
    h = start("acct", "nobody-here", NULL);
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_PERM_DENIED, "account, unknown user: IGNORE");
    trex_pam_end(h, 0);

    /* deny=0 never locks */
    service("deny0",
            "auth [success=1 default=bad] test:pw\n"
            "auth [default=die] test:faillock authfail deny=0 @DB@\n"
            "auth sufficient test:faillock authsucc deny=0 @DB@\n"
            "auth required deny\n");
    for (int i = 0; i < 6; i++)
        login("deny0", "carol", "wrong", 0);
    tap_is_int(fails("carol"), 6, "deny=0: all six recorded");
    tap_is_int(login("deny0", "carol", "secret", 0), TREX_PAM_SUCCESS, "deny=0: never locked");

    /* nodelay */
    service("nodelay", "auth requisite test:faillock preauth nodelay @DB@\n"
                       "auth required test:pw\n");
    tap_is_int(login("nodelay", "carol", "wrong", 0), TREX_PAM_AUTH_ERR, "nodelay: failure");
    tap_is_int((long)delay_usec, 0, "nodelay: no delay asked");

    /* root is a user like any other; even_deny_root and pam_faillock's other
     * arguments are accepted */
    service("root",
            "auth requisite test:faillock preauth even_deny_root root_unlock_time=10 admin_group=wheel"
            " dir=/nonexistent conf=/nonexistent local_users_only audit no_log_info @DB@\n"
            "auth required test:pw\n");
    plant("root", 3, 5);
    loglen = 0;
    logbuf[0] = '\0';
    tap_is_int(login("root", "root", "secret", 0), TREX_PAM_AUTH_ERR, "root is locked like anyone");
    tap_is_int(log_count("unknown option"), 0, "pam_faillock's arguments are all known");
    reset("root");
    tap_is_int(login("web", "root", "secret", 0), TREX_PAM_SUCCESS, "root unlocked by a reset");

    /* bad values keep the defaults, and are logged */
    service("bad",
            "auth requisite test:faillock preauth deny=x fail_interval=999999 unlock_time=-1 frob @DB@\n"
            "auth required test:pw\n");
    plant("carol", 3, 10);
    tap_is_int(login("bad", "carol", "secret", 0), TREX_PAM_AUTH_ERR, "bad values: defaults (deny=3)");
    tap_ok(strstr(logbuf, "bad number supplied for deny argument") != NULL, "deny=x logged");
    tap_ok(strstr(logbuf, "bad number supplied for fail_interval argument") != NULL,
           "fail_interval over 7 days logged");
    tap_ok(strstr(logbuf, "bad number supplied for unlock_time argument") != NULL,
           "unlock_time=-1 logged");
    tap_ok(strstr(logbuf, "unknown option: frob") != NULL, "an unknown option logged");
    reset("carol");
}

static void test_unknown(void)
{
    loglen = 0;
    logbuf[0] = '\0';
    for (int i = 0; i < 4; i++)
        tap_is_int(login("web", "mallory", "wrong", 0), TREX_PAM_AUTH_ERR,
                   "unknown user, attempt %d: AUTH_ERR", i + 1);
    tap_is_int(fails("mallory"), 0, "nothing recorded for an unknown user");
    tap_ok(strstr(logbuf, "faillock: User unknown\n") != NULL, "logged without the name");
    service("audit", "auth requisite test:faillock preauth audit @DB@\nauth required test:pw\n");
    tap_is_int(login("audit", "mallory", "wrong", 0), TREX_PAM_AUTH_ERR, "audit, unknown user");
    tap_ok(strstr(logbuf, "faillock: User unknown: mallory") != NULL, "audit names the user");
    service("empty", "auth [ignore=ok default=bad] test:faillock preauth @DB@\n");
    tap_is_int(login("empty", "", "x", 0), TREX_PAM_IGNORE, "an empty user: IGNORE");
    tap_is_int(login("empty", "mallory", "x", 0), TREX_PAM_IGNORE, "an unknown user: IGNORE");
    tap_is_int(login("empty", "alice", "x", 0), TREX_PAM_PERM_DENIED, "a known one: SUCCESS (bad here)");
}

static void test_unavail(void)
{
    char text[1024];
    snprintf(text, sizeof text,
             "auth requisite test:faillock preauth db=%s/none.db\n"
             "auth required test:pw\n", dir);
    service("nodb", text);
    tap_is_int(login("nodb", "alice", "secret", 0), TREX_PAM_AUTHINFO_UNAVAIL,
               "no store: preauth fails closed (AUTHINFO_UNAVAIL)");
    tap_is_int(pw_calls, 0, "and stops the stack");
}

int main(void)
{
    struct tp_store *st = NULL;
    struct tp_user u;
    char err[256] = "";
    static const char *const users[] = { "alice", "bob", "carol", "root" };

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

    test_lock();
    test_unlock();
    test_args();
    test_unknown();
    test_unavail();
    tap_rmtree(dir);
    free(dir);
    return tap_done();
}
