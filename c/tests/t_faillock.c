/*
 * t_faillock.c - the faillock module (modules/faillock.c): pam_faillock's
 * preauth/authfail/authsucc in the recommended web stack (with a stand-in
 * for userdb), deny/fail_interval/unlock_time (failures of chosen ages
 * added through the store), the lock messages, silent, authsucc and
 * account resets, names nobody has (counted alike), the purge of old
 * failures, the fail delay, bad arguments, the password change, a store
 * that cannot record failures (fail closed) and an unusable store. On the store under
 * test (harness.h: a new SQLite file, or $TREX_PAM_TEST_STORE).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include "harness.h"
#include "secret.h"
#include "token.h"

/* the store under test; "@DB@" in a pam.d file names it */
static char db[TP_STORE_LOCATION_MAX];

/* failures at given ages (seconds ago) */
static void plant(const char *user, int n, int64_t age)
{
    struct tp_store *st = th_store(db, 0);
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
    struct tp_store *st = th_store(db, 0);
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
    th_file("web", WEB);
    tap_is_int(th_auth("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "right password");
    tap_is_int(th_fail_count(db, "alice"), 0, "no failures");
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "wrong password 1: AUTH_ERR");
    tap_is_int(th_fail_count(db, "alice"), 1, "one failure recorded");
    tap_is_int(th_delay_calls(), 1, "the fail delay ran");
    tap_ok(th_delay_usec() >= 1000000 && th_delay_usec() < 3000000, "a 2 s delay was asked (%u us)",
           th_delay_usec());
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "wrong password 2");
    tap_is_int(th_log_count("temporarily locked"), 0, "not locked yet");
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "wrong password 3");
    tap_is_int(th_fail_count(db, "alice"), 3, "three failures");
    tap_is_int(th_log_count("Consecutive login failures for user alice account temporarily locked"), 1,
               "the lock logged once, at the third");

    tap_is_int(th_auth("web", "alice", "secret", 0), TREX_PAM_AUTH_ERR,
               "locked: the right password is refused");
    tap_is_str(th_seen(), LOCKED3 "|INFO:(10 minutes left to unlock)", "pam_faillock's messages");
    tap_is_int(th_pw_calls(), 0, "preauth is requisite: no password asked or checked");
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "locked, wrong password");
    tap_is_int(th_fail_count(db, "alice"), 3, "nothing more recorded while locked");
    tap_is_int(th_auth("web", "bob", "secret", 0), TREX_PAM_SUCCESS, "bob is not affected");

    /* a live session does not get past the lock either */
    {
        char id[TP_TOKEN_TEXT_SIZE];
        struct tp_store *st = th_store(db, 0);
        struct tp_session s;
        memset(&s, 0, sizeof s);
        tp_token_new(id, s.digest, NULL);
        s.user = (char *)"alice";
        s.created = s.last_used = (int64_t)time(NULL);
        tp_store_session_add(st, &s);
        tp_store_close(st);
        tap_is_int(th_auth("web", "alice", id, 0), TREX_PAM_AUTH_ERR,
                   "locked: a live session is refused too (preauth comes first)");
        reset("alice");
        tap_is_int(th_auth("web", "alice", id, 0), TREX_PAM_SUCCESS, "unlocked: the session works");
        tp_secret_wipe(id, sizeof id);
    }
}

static void test_unlock(void)
{
    reset("alice");
    plant("alice", 3, 601);
    tap_is_int(th_auth("web", "alice", "secret", 0), TREX_PAM_SUCCESS,
               "3 failures 601 s ago, unlock_time 600: unlocked");
    tap_is_int(th_fail_count(db, "alice"), 0, "authsucc cleared them");

    plant("alice", 3, 590);
    tap_is_int(th_auth("web", "alice", "secret", 0), TREX_PAM_AUTH_ERR, "590 s ago: still locked");
    tap_is_str(th_seen(), LOCKED3 "|INFO:(1 minute left to unlock)", "one minute left");

    reset("alice");
    plant("alice", 3, 601);
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "a failure after the lock ran out");
    tap_is_int(th_fail_count(db, "alice"), 1, "counts afresh from one");
    tap_is_int(th_auth("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "and does not lock again");

    /* fail_interval: failures more than 900 s before the latest do not count */
    reset("alice");
    plant("alice", 2, 1000);
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "a failure now, two 1000 s ago");
    tap_is_int(th_auth("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "not locked (fail_interval 900)");
    plant("alice", 2, 1000);
    plant("alice", 2, 0);
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "three now, two 1000 s ago");
    tap_is_int(th_auth("web", "alice", "secret", 0), TREX_PAM_AUTH_ERR, "third within 900 s: locked");
    tap_is_str(th_seen(), LOCKED3 "|INFO:(10 minutes left to unlock)", "three counted, not five");

    /* authsucc resets */
    reset("alice");
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "one wrong");
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "two wrong");
    tap_is_int(th_auth("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "then right");
    tap_is_int(th_fail_count(db, "alice"), 0, "authsucc cleared the tally");
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "one wrong again");
    tap_is_int(th_auth("web", "alice", "wrong", 0), TREX_PAM_AUTH_ERR, "two wrong again");
    tap_is_int(th_auth("web", "alice", "secret", 0), TREX_PAM_SUCCESS, "not locked: consecutive only");
    reset("alice");
}

static void test_args(void)
{
    trex_pam_handle_t *h;

    /* unlock_time=never, deny=2, fail_interval=60 */
    th_file("never",
            "auth requisite test:faillock preauth deny=2 unlock_time=never @DB@\n"
            "auth [success=1 default=bad] test:pw\n"
            "auth [default=die] test:faillock authfail deny=2 unlock_time=never @DB@\n"
            "auth sufficient test:faillock authsucc deny=2 unlock_time=never @DB@\n"
            "auth required deny\n");
    plant("carol", 2, 100000);
    tap_is_int(th_auth("never", "carol", "secret", 0), TREX_PAM_AUTH_ERR,
               "unlock_time=never: locked after a day");
    tap_is_str(th_seen(), "INFO:The account is locked due to 2 failed logins.",
               "no minutes left message");
    reset("carol");
    tap_is_int(th_auth("never", "carol", "wrong", 0), TREX_PAM_AUTH_ERR, "deny=2: one");
    tap_is_int(th_auth("never", "carol", "wrong", 0), TREX_PAM_AUTH_ERR, "deny=2: two");
    tap_is_int(th_auth("never", "carol", "secret", 0), TREX_PAM_AUTH_ERR, "deny=2: locked");
    reset("carol");

    /* silent, and the PAM_SILENT flag */
    th_file("silent",
            "auth requisite test:faillock preauth silent @DB@\n"
            "auth required test:pw\n");
    plant("carol", 3, 10);
    tap_is_int(th_auth("silent", "carol", "secret", 0), TREX_PAM_AUTH_ERR, "silent: locked");
    tap_is_str(th_seen(), "", "silent: no message");
    tap_is_int(th_auth("web", "carol", "secret", TREX_PAM_SILENT), TREX_PAM_AUTH_ERR,
               "PAM_SILENT: locked");
    tap_is_str(th_seen(), "", "PAM_SILENT: no message");
    tap_is_int(th_auth("web", "carol", "secret", 0), TREX_PAM_AUTH_ERR, "without: locked");
    tap_is_str(th_seen(), LOCKED3 "|INFO:(10 minutes left to unlock)", "with the message");

    /* authsucc refuses a locked user and keeps the tally */
    th_file("succ", "auth required test:faillock authsucc @DB@\n");
    tap_is_int(th_auth("succ", "carol", "x", 0), TREX_PAM_AUTH_ERR, "authsucc while locked: AUTH_ERR");
    tap_is_int(th_fail_count(db, "carol"), 3, "the tally is kept");
    tap_is_str(th_seen(), "", "authsucc sends no message");

    /* why the stack ends with "auth required deny": a lock that another
     * process set between preauth and authsucc (simulated: preauth with
     * deny=10 passes, authsucc with deny=3 finds the lock) is bypassed
     * without it */
    th_file("nodeny",
            "auth requisite test:faillock preauth deny=10 @DB@\n"
            "auth [success=1 default=bad] test:pw\n"
            "auth [default=die] test:faillock authfail @DB@\n"
            "auth sufficient test:faillock authsucc @DB@\n");
    th_file("withdeny",
            "auth requisite test:faillock preauth deny=10 @DB@\n"
            "auth [success=1 default=bad] test:pw\n"
            "auth [default=die] test:faillock authfail @DB@\n"
            "auth sufficient test:faillock authsucc @DB@\n"
            "auth required deny\n");
    tap_is_int(th_auth("nodeny", "carol", "secret", 0), TREX_PAM_SUCCESS,
               "locked at authsucc, no deny line: the stack succeeds (fail open)");
    tap_is_int(th_auth("withdeny", "carol", "secret", 0), TREX_PAM_AUTH_ERR,
               "with \"auth required deny\" last: AUTH_ERR");

    /* account phase clears the tally, as pam_faillock's account use does */
    th_file("acct", "account required test:faillock @DB@\n");
    h = th_start_pass("acct", "carol", NULL);
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "account: SUCCESS");
    trex_pam_end(h, 0);
    tap_is_int(th_fail_count(db, "carol"), 0, "and the tally is cleared");
    h = th_start_pass("acct", "nobody-here", NULL);
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "account, unknown name: SUCCESS too");
    trex_pam_end(h, 0);

    /* deny=0 never locks */
    th_file("deny0",
            "auth [success=1 default=bad] test:pw\n"
            "auth [default=die] test:faillock authfail deny=0 @DB@\n"
            "auth sufficient test:faillock authsucc deny=0 @DB@\n"
            "auth required deny\n");
    for (int i = 0; i < 6; i++)
        th_auth("deny0", "carol", "wrong", 0);
    tap_is_int(th_fail_count(db, "carol"), 6, "deny=0: all six recorded");
    tap_is_int(th_auth("deny0", "carol", "secret", 0), TREX_PAM_SUCCESS, "deny=0: never locked");

    /* nodelay */
    th_file("nodelay", "auth requisite test:faillock preauth nodelay @DB@\n"
                       "auth required test:pw\n");
    tap_is_int(th_auth("nodelay", "carol", "wrong", 0), TREX_PAM_AUTH_ERR, "nodelay: failure");
    tap_is_int((long)th_delay_usec(), 0, "nodelay: no delay asked");

    /* root is a user like any other; even_deny_root and pam_faillock's other
     * arguments are accepted */
    th_file("root",
            "auth requisite test:faillock preauth even_deny_root root_unlock_time=10 admin_group=wheel"
            " dir=/nonexistent conf=/nonexistent local_users_only audit no_log_info @DB@\n"
            "auth required test:pw\n");
    plant("root", 3, 5);
    th_log_reset();
    tap_is_int(th_auth("root", "root", "secret", 0), TREX_PAM_AUTH_ERR, "root is locked like anyone");
    tap_is_int(th_log_count("unknown option"), 0, "pam_faillock's arguments are all known");
    reset("root");
    tap_is_int(th_auth("web", "root", "secret", 0), TREX_PAM_SUCCESS, "root unlocked by a reset");

    /* bad values keep the defaults, and are logged */
    th_file("bad",
            "auth requisite test:faillock preauth deny=x fail_interval=999999 unlock_time=-1 frob @DB@\n"
            "auth required test:pw\n");
    plant("carol", 3, 10);
    tap_is_int(th_auth("bad", "carol", "secret", 0), TREX_PAM_AUTH_ERR, "bad values: defaults (deny=3)");
    tap_ok(th_logged("bad number supplied for deny argument"), "deny=x logged");
    tap_ok(th_logged("bad number supplied for fail_interval argument"),
           "fail_interval over 7 days logged");
    tap_ok(th_logged("bad number supplied for unlock_time argument"),
           "unlock_time=-1 logged");
    tap_ok(th_logged("unknown option: frob"), "an unknown option logged");
    reset("carol");
}

/* Every name is counted, known or not: a name nobody has is locked like a
 * user, with the same messages, and the lock tells nothing. users= is
 * accepted with no effect (earlier versions looked users up there). */
static void test_unknown(void)
{
    char known[512], unknown[512];

    th_log_reset();
    for (int i = 0; i < 3; i++) {
        tap_is_int(th_auth("web", "mallory", "wrong", 0), TREX_PAM_AUTH_ERR,
                   "unknown name, attempt %d: AUTH_ERR", i + 1);
        tap_is_int(th_auth("web", "bob", "wrong", 0), TREX_PAM_AUTH_ERR,
                   "bob, attempt %d: AUTH_ERR", i + 1);
    }
    tap_is_int(th_fail_count(db, "mallory"), 3, "an unknown name's failures are recorded");
    tap_is_int(th_fail_count(db, "bob"), 3, "  as a user's are");
    tap_ok(th_logged("Consecutive login failures for user mallory account temporarily locked"),
           "  and its lock logged alike");
    tap_is_int(th_log_count("User unknown"), 0, "no line says the name is unknown");
    th_seen_reset();
    tap_is_int(th_auth("web", "mallory", "secret", 0), TREX_PAM_AUTH_ERR, "the unknown name is locked");
    snprintf(unknown, sizeof unknown, "%s", th_seen());
    th_seen_reset();
    tap_is_int(th_auth("web", "bob", "secret", 0), TREX_PAM_AUTH_ERR, "  as bob is");
    snprintf(known, sizeof known, "%s", th_seen());
    tap_is_str(unknown, known, "  with the same messages");
    tap_is_str(unknown, LOCKED3 "|INFO:(10 minutes left to unlock)", "  pam_faillock's");
    reset("mallory");
    reset("bob");

    th_file("empty", "auth [ignore=ok default=bad] test:faillock preauth @DB@\n");
    tap_is_int(th_auth("empty", "", "x", 0), TREX_PAM_IGNORE, "an empty user: IGNORE");
    tap_is_int(th_auth("empty", "mallory", "x", 0), TREX_PAM_PERM_DENIED,
               "an unknown name: SUCCESS, as a known one (bad here)");

    /* users= (earlier versions' users' store): accepted, no effect */
    th_file("users", "auth requisite test:faillock preauth users=@DIR@/none.db @DB@\n"
                     "auth [success=1 default=bad] test:pw\n"
                     "auth [default=die] test:faillock authfail users=@DIR@/none.db @DB@\n"
                     "auth sufficient test:faillock authsucc users=@DIR@/none.db @DB@\n"
                     "auth required deny\n");
    th_log_reset();
    tap_is_int(th_auth("users", "alice", "wrong", 0), TREX_PAM_AUTH_ERR,
               "users= naming no store: no effect, a wrong password");
    tap_is_int(th_fail_count(db, "alice"), 1, "  counted");
    tap_is_int(th_auth("users", "alice", "secret", 0), TREX_PAM_SUCCESS, "  the right one");
    tap_is_int(th_log_count("unknown option"), 0, "  and no complaint about users=");
}

/* The purge of old failures that one authfail in 64 makes: names that
 * guesses made up do not stay. */
static void test_purge(void)
{
    int64_t now = (int64_t)time(NULL);
    struct tp_store *st = th_store(db, 0);
    int tries = 0;

    if (st == NULL)
        th_bail("cannot open %s", db);
    /* older than fail_interval + unlock_time (900 + 600), and just inside */
    tp_store_fail_add(st, "made-up-1", now - 1600, 0, NULL);
    tp_store_fail_add(st, "made-up-2", now - 1400, 0, NULL);
    tp_store_close(st);
    th_file("purge", "auth [success=1 default=bad] test:pw\n"
                     "auth [default=die] test:faillock authfail nodelay deny=0 @DB@\n"
                     "auth required permit\n");
    /* one in 64: a chance of (63/64)^2000, about 1e-14, of no purge */
    while (th_fail_count(db, "made-up-1") > 0 && tries < 2000) {
        th_auth("purge", "someone", "wrong", 0);
        tries++;
    }
    if (strcmp(th_store_kind(), "redis") == 0) {
        tap_is_int(th_fail_count(db, "made-up-1"), 1,
                   "Redis: no purge (its keys expire by their TTL)");
        tap_skip("Redis: no purge");
    } else {
        tap_is_int(th_fail_count(db, "made-up-1"), 0,
                   "an old failure of a made-up name was purged (after %d failures)", tries);
        tap_is_int(th_fail_count(db, "made-up-2"), 1, "  one that may still count was kept");
    }
    reset("made-up-1");
    reset("made-up-2");
    reset("someone");
}

/* ---- the password change ------------------------------------------------------------------ */

/* The default stack's password lines over the real userdb. */
#define PASSWD \
    "password requisite                            test:faillock preauth @DB@\n" \
    "password [success=1 auth_err=bad default=die] userdb @USERS@ minlen=6 nodelay\n" \
    "password [default=die]                        test:faillock authfail @DB@\n" \
    "password [success=ok default=die]             test:faillock authsucc @DB@\n"

static int change(const char *user, const char *current, const char *next, int admin)
{
    trex_pam_handle_t *h;
    int rc;

    if ((h = th_start("passwd", user)) == NULL)
        return -1;
    if (admin)
        trex_pam_set_named_item(h, TREX_PAM_ITEM_ADMIN, "1");
    if (current != NULL)
        th_answers(3, current, next, next);
    else
        th_answers(2, next, next);
    rc = trex_pam_chauthtok(h, 0);
    trex_pam_end(h, rc);
    return rc;
}

static void test_chauthtok(void)
{
    struct tp_store *us = th_store(th_users_location(), 0);

    if (us == NULL || th_user(us, "dave", "old-pass-1", NULL) != 0)
        th_bail("cannot add dave");
    tp_store_close(us);
    th_file("passwd", PASSWD);
    tap_is_int(change("dave", "wrong-1", "new-pass-1", 0), TREX_PAM_AUTH_ERR,
               "chauthtok, wrong current password: AUTH_ERR");
    tap_is_int(th_fail_count(db, "dave"), 1, "... counted as a failed login");
    tap_is_int(change("dave", "old-pass-1", "abc", 0), TREX_PAM_AUTHTOK_ERR,
               "right current password, new one too short: AUTHTOK_ERR");
    tap_is_int(th_fail_count(db, "dave"), 0,
               "... the right current password cleared the count; the quality rule counts nothing");
    for (int i = 1; i <= 3; i++)
        tap_is_int(change("dave", "wrong-2", "new-pass-1", 0), TREX_PAM_AUTH_ERR,
                   "wrong current password %d", i);
    tap_is_int(th_log_count("Consecutive login failures for user dave account temporarily locked"), 1,
               "the third locks the account, logged once");
    th_seen_reset();
    tap_is_int(change("dave", "old-pass-1", "new-pass-1", 0), TREX_PAM_AUTH_ERR,
               "locked: the right current password cannot change it");
    tap_ok(strstr(th_seen(), LOCKED3) != NULL, "... with pam_faillock's message (%s)", th_seen());
    tap_is_int(th_fail_count(db, "dave"), 3, "... and nothing more recorded");
    tap_is_int(th_auth("web", "dave", "secret", 0), TREX_PAM_AUTH_ERR,
               "the lock holds for the login form too");
    tap_is_int(change("dave", NULL, "admin-set-1", 1), TREX_PAM_SUCCESS,
               "the administrator's change (root, TREX_ADMIN=1) is not refused");
    tap_is_int(th_fail_count(db, "dave"), 3, "... nor counted");
    reset("dave");
    tap_is_int(change("dave", "admin-set-1", "new-pass-2", 0), TREX_PAM_SUCCESS,
               "unlocked: the change goes through");
    tap_is_int(th_fail_count(db, "dave"), 0, "... no failure left on record");
}

/* ---- failures that cannot be recorded ------------------------------------------------------ */

/* A store whose files cannot grow (RLIMIT_FSIZE at their size, SIGXFSZ
 * ignored: a write fails with EFBIG, as on a full disk). SQLite only:
 * a server's disk is the server's. */
static void test_unrecordable(void)
{
    char id[TP_TOKEN_TEXT_SIZE], wal[PATH_MAX];
    struct rlimit old, rl;
    struct tp_session ses;
    struct stat sb;
    struct tp_store *st;
    const char *path = tp_store_file(db);

    if (!th_sqlite_only(8, "a full disk is a file's"))
        return;
    th_file("full",
            "auth requisite                                          test:faillock preauth @DB@\n"
            "auth [success=done ignore=ignore default=die]           test:session @DB@\n"
            "auth [success=1 default=bad]                            test:pw\n"
            "auth [default=die]                                      test:faillock authfail @DB@\n"
            "auth [success=done authinfo_unavail=die default=ignore] test:faillock authsucc @DB@\n"
            "auth required                                           deny\n");
    memset(&ses, 0, sizeof ses);
    tp_token_new(id, ses.digest, NULL);
    ses.user = (char *)"carol";
    ses.created = ses.last_used = (int64_t)time(NULL);
    if ((st = th_store(db, 0)) == NULL || tp_store_session_add(st, &ses) != TP_STORE_OK)
        th_bail("cannot add carol's session");
    /* st stays open, as a persistent process's connection would: the -shm
     * and -wal files stay, and only writes need room */
    tap_is_int(th_auth("full", "carol", "secret", 0), TREX_PAM_SUCCESS, "a login, store writable");

    /* every change is appended to the -wal first: it may not grow */
    snprintf(wal, sizeof wal, "%s-wal", path != NULL ? path : "");
    if (path == NULL || getrlimit(RLIMIT_FSIZE, &old) != 0)
        th_bail("cannot size %s", db);
    signal(SIGXFSZ, SIG_IGN);
    rl = old;
    rl.rlim_cur = stat(wal, &sb) == 0 ? (rlim_t)sb.st_size : 0;
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        th_bail("setrlimit");
    th_log_reset();
    tap_is_int(th_auth("full", "carol", "wrong", 0), TREX_PAM_AUTH_ERR,
               "store full: a wrong password fails");
    tap_ok(th_logged("faillock: failed logins cannot be recorded for carol, so password logins"
                     " are refused until they can be: "),
           "... and the log says the failure could not be recorded (%s)", th_log());
    th_log_reset();
    tap_is_int(th_auth("full", "carol", "secret", 0), TREX_PAM_AUTHINFO_UNAVAIL,
               "store full: the right password is refused too, AUTHINFO_UNAVAIL (fail closed)");
    tap_ok(th_logged("failed logins cannot be recorded for carol"), "... saying why (%s)", th_log());
    tap_is_int(th_auth("full", "carol", id, 0), TREX_PAM_SUCCESS,
               "store full: a live session is still accepted");
    if (setrlimit(RLIMIT_FSIZE, &old) != 0)
        th_bail("setrlimit back");
    signal(SIGXFSZ, SIG_DFL);
    tp_store_close(st);
    tap_is_int(th_auth("full", "carol", "secret", 0), TREX_PAM_SUCCESS,
               "room again: the password logs in");
    tap_is_int(th_fail_count(db, "carol"), 0, "... and no failure is left on record");
    tp_secret_wipe(id, sizeof id);
}

static void test_unavail(void)
{
    th_file("nodb", "auth requisite test:faillock preauth db=@DIR@/none.db\n"
                    "auth required test:pw\n");
    tap_is_int(th_auth("nodb", "alice", "secret", 0), TREX_PAM_AUTHINFO_UNAVAIL,
               "no store: preauth fails closed (AUTHINFO_UNAVAIL)");
    tap_is_int(th_pw_calls(), 0, "and stops the stack");
}

/* trex_pam_faillock_settings: the line that decides, read as the module reads it */
static void test_settings(void)
{
    struct trex_pam_faillock_settings fs;
    trex_pam_handle_t *h;

    th_file("fs", "auth [default=die] test:faillock authfail deny=9 db=/x.db\n"
                  "auth required test:pw\n"
                  "auth requisite pam_faillock.so preauth deny=5 unlock_time=never store=/y.db\n"
                  "account required test:faillock deny=7\n");
    h = th_start("fs", "alice");
    tap_is_int(trex_pam_faillock_settings(h, &fs), TREX_PAM_SUCCESS, "settings: found");
    tap_ok(fs.action != NULL && strcmp(fs.action, "preauth") == 0 && fs.line == 3 && fs.deny == 5
           && fs.fail_interval == 900 && fs.unlock_time == 0, "settings: the preauth line decides");
    tap_ok(fs.store != NULL && strcmp(fs.store, "/y.db") == 0 && fs.db == NULL
           && strcmp(fs.file, "fs") == 0 && !fs.builtin && strcmp(fs.confdir, th_dir()) == 0,
           "settings: its store=, its place");
    trex_pam_end(h, 0);

    th_file("fs2", "auth required test:pw\nauth [default=die] test:faillock authfail deny=x\n");
    h = th_start("fs2", "alice");
    th_log_reset();
    tap_is_int(trex_pam_faillock_settings(h, &fs), TREX_PAM_SUCCESS, "settings: no preauth");
    tap_ok(strcmp(fs.action, "authfail") == 0 && fs.line == 2 && fs.deny == 3 && fs.db == NULL,
           "settings: the first faillock line, a malformed deny= keeps the default");
    tap_ok(th_logged("bad number supplied for deny"), "settings: ... logged");
    trex_pam_end(h, 0);

    th_file("fs3", "auth required test:pw\naccount required test:faillock deny=4\n");
    h = th_start("fs3", "alice");
    tap_is_int(trex_pam_faillock_settings(h, &fs), TREX_PAM_IGNORE, "settings: no auth faillock line");
    tap_ok(fs.action == NULL && fs.deny == 3 && fs.fail_interval == 900 && fs.unlock_time == 600,
           "settings: the module's defaults");
    trex_pam_end(h, 0);
    tap_is_int(trex_pam_faillock_settings(NULL, &fs), TREX_PAM_IGNORE, "settings: NULL handle: the defaults");
    tap_is_int(trex_pam_lines(NULL, "auth", NULL, NULL), TREX_PAM_SYSTEM_ERR, "lines: NULL handle");
}

int main(void)
{
    static const char *const users[] = { "alice", "bob", "carol", "root", NULL };

    snprintf(db, sizeof db, "%s", th_user_store("trex.db", users));

    test_lock();
    test_unlock();
    test_args();
    test_unknown();
    test_purge();
    test_chauthtok();
    test_unrecordable();
    test_unavail();
    test_settings();
    return th_done();
}
