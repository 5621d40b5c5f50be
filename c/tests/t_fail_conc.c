/*
 * t_fail_conc.c - faillock under concurrent processes, as CGI runs it:
 * several processes (fork) record failures for the same user at once.
 *   1. no lost update: the final tally is the number of failures recorded;
 *   2. a consistent lock: across every process the lock is logged exactly
 *      once (one failure, and only one, is the deny-th), and each process
 *      finds the account locked after its own deny failures.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"

enum { PROCS = 6, COUNT_EACH = 30, DENY = 5 };

static char db[PATH_MAX];
static int lock_lines;

/* One authenticate on a fresh handle; counts the lock lines it logged and
 * shows any other faillock line (a store error, if any) on stderr. */
static int login(const char *svc, const char *user, const char *pass)
{
    int rc;
    th_log_reset();
    rc = th_auth(svc, user, pass, 0);
    lock_lines += th_log_count("temporarily locked");
    for (const char *p = th_log(); *p != '\0';) {
        const char *end = strchr(p, '\n');
        int n = end != NULL ? (int)(end - p) : (int)strlen(p);
        if (memmem(p, (size_t)n, "faillock:", 9) != NULL && memmem(p, (size_t)n, "temporarily locked", 18) == NULL)
            fprintf(stderr, "# [%d] %.*s\n", (int)getpid(), n, p);
        p += n + (end != NULL);
    }
    return rc;
}

/* 1: COUNT_EACH failures, each recorded (deny=0 never locks); exit = unexpected results */
static int count_child(int p)
{
    int bad = 0;
    for (int i = 0; i < COUNT_EACH; i++)
        if (login("count", "alice", "wrong") != TREX_PAM_PERM_DENIED)
            bad++;
    return bad > 200 ? 200 : bad;
}

/* 2: DENY wrong passwords through the web stack; exit = lock lines logged
 * here + 10 x unexpected results (+ 100 if not locked afterwards) */
static int lock_child(int p)
{
    int bad = 0;
    lock_lines = 0;
    for (int i = 0; i < DENY; i++)
        if (login("web", "bob", "wrong") != TREX_PAM_AUTH_ERR)
            bad++;
    if (login("pre", "bob", "secret") != TREX_PAM_AUTH_ERR ||
        strstr(th_infos(), "The account is locked due to ") == NULL)
        return 100 + lock_lines;
    return (bad > 9 ? 9 : bad) * 10 + lock_lines;
}

int main(void)
{
    static const char *const users[] = { "alice", "bob", NULL };
    char text[4 * PATH_MAX], want[128];
    int rc, n;

    snprintf(db, sizeof db, "%s", th_user_store("trex.db", users));

    snprintf(text, sizeof text, "auth [default=die] test:faillock authfail deny=0 db=%s\n", db);
    th_file("count", text);
    snprintf(text, sizeof text,
             "auth     requisite                    test:faillock preauth deny=%d db=%s\n"
             "auth     [success=1 default=bad]      test:pw\n"
             "auth     [default=die]                test:faillock authfail deny=%d db=%s\n"
             "auth     sufficient                   test:faillock authsucc deny=%d db=%s\n"
             "auth     required                     deny\n", DENY, db, DENY, db, DENY, db);
    th_file("web", text);
    snprintf(text, sizeof text,
             "auth requisite test:faillock preauth deny=%d db=%s\nauth required permit\n", DENY, db);
    th_file("pre", text);

    rc = th_parallel(PROCS, count_child);
    tap_is_int(rc, 0, "%d processes x %d failures: every call as expected", PROCS, COUNT_EACH);
    tap_is_int(th_fail_count(db, "alice"), PROCS * COUNT_EACH, "the tally holds all %d: no lost update",
               PROCS * COUNT_EACH);

    rc = th_parallel(PROCS, lock_child);
    tap_is_int(rc / 100, 0, "every process finds the account locked after its %d failures", DENY);
    tap_is_int(rc % 100 / 10, 0, "every wrong password gave AUTH_ERR");
    tap_is_int(rc % 10, 1, "the lock was logged exactly once across %d processes", PROCS);
    n = th_fail_count(db, "bob");
    tap_ok(n >= DENY && n <= PROCS * DENY, "tally %d: at least deny, at most the attempts", n);
    rc = login("pre", "bob", "secret");
    snprintf(want, sizeof want, "The account is locked due to %d failed logins.", n);
    tap_is_int(rc, TREX_PAM_AUTH_ERR, "locked for the parent too");
    tap_ok(strncmp(th_infos(), want, strlen(want)) == 0, "message counts the tally: %s", th_infos());
    rc = login("web", "bob", "wrong");
    tap_is_int(th_fail_count(db, "bob"), n, "no failure recorded once locked");

    return th_done();
}
