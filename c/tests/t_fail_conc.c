/*
 * t_fail_conc.c - faillock under concurrent processes, as CGI runs it:
 * several processes (fork) record failures for the same user at once.
 *   1. no lost update: the final tally is the number of failures recorded;
 *   2. a consistent lock: across every process the lock is logged exactly
 *      once (one failure, and only one, is the deny-th), and each process
 *      finds the account locked after its own deny failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"
#include "trex_pam_module.h"
#include "store.h"
#include "registry.h"

enum { PROCS = 6, COUNT_EACH = 30, DENY = 5 };

static char *dir;
static char db[600];
static const char *answer;
static char infos[512];
static int lock_lines;

static int conv(int n, const struct trex_pam_message **m, struct trex_pam_response **r, void *d)
{
    struct trex_pam_response *res = calloc((size_t)n, sizeof *res);
    if (res == NULL)
        return TREX_PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (m[i]->msg_style == TREX_PAM_PROMPT_ECHO_OFF) {
            if ((res[i].resp = strdup(answer)) == NULL) {
                for (int j = 0; j < i; j++)
                    free(res[j].resp);
                free(res);
                return TREX_PAM_BUF_ERR;
            }
        } else if (m[i]->msg_style == TREX_PAM_TEXT_INFO) {
            size_t k = strlen(infos);
            snprintf(infos + k, sizeof infos - k, "%s%s", k ? "|" : "", m[i]->msg);
        }
    }
    *r = res;
    return TREX_PAM_SUCCESS;
}

static void log_cb(void *data, int prio, const char *line)
{
    if (strstr(line, "temporarily locked") != NULL)
        lock_lines++;
    else if (strstr(line, "faillock:") != NULL)
        fprintf(stderr, "# [%d] %s\n", (int)getpid(), line);   /* store errors, if any */
}

static void no_delay(int status, unsigned int usec, void *appdata)
{
}

static int pw_auth(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    const char *tok = NULL;
    int rc = trex_pam_get_authtok(h, TREX_PAM_AUTHTOK, &tok, NULL);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    return strcmp(tok, "secret") == 0 ? TREX_PAM_SUCCESS : TREX_PAM_AUTH_ERR;
}
static const struct trex_pam_module pwmod = {
    TREX_PAM_MODULE_ABI, "pw", pw_auth, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

static int resolve(trex_pam_handle_t *pamh, void *data, const char *name,
                   const struct trex_pam_module **mod, void **inst)
{
    *inst = NULL;
    if (strcmp(name, "test:faillock") == 0)
        *mod = &tp_mod_faillock;
    else if (strcmp(name, "test:pw") == 0)
        *mod = &pwmod;
    else
        return TREX_PAM_MODULE_UNKNOWN;
    return TREX_PAM_SUCCESS;
}

static int login(const char *svc, const char *user, const char *pass)
{
    struct trex_pam_conv c = { conv, NULL };
    struct trex_pam_options o = { .size = sizeof o, .registry = trex_pam_builtin_registry(), .confdir = dir,
                                  .log_mode = TREX_PAM_LOG_CALLBACK, .log_fn = log_cb,
                                  .resolve = resolve };
    trex_pam_handle_t *h = NULL;
    int rc;

    answer = pass;
    infos[0] = '\0';
    if ((rc = trex_pam_start_opts(svc, user, &c, &o, &h)) != TREX_PAM_SUCCESS)
        return -rc - 100;
    trex_pam_set_item(h, TREX_PAM_FAIL_DELAY, (const void *)no_delay);
    rc = trex_pam_authenticate(h, 0);
    trex_pam_end(h, rc);
    return rc;
}

static int fails(const char *user)
{
    struct tp_store *st = NULL;
    char err[256] = "";
    int n = -1;
    int64_t latest;
    if (tp_store_open(db, 0, &st, err, sizeof err) != TP_STORE_OK)
        return -1;
    if (tp_store_fail_count(st, user, 0, &n, &latest) != TP_STORE_OK)
        n = -1;
    tp_store_close(st);
    return n;
}

/* Run fn in PROCS processes released together; the sum of their exit codes
 * (each at most 255; a crash counts 1000). */
static int in_parallel(int (*fn)(int p))
{
    pid_t pids[PROCS];
    int go[2], sum = 0;

    if (pipe(go) != 0)
        return 1000;
    fflush(stdout);
    for (int p = 0; p < PROCS; p++) {
        if ((pids[p] = fork()) == 0) {
            char c;
            close(go[1]);
            if (read(go[0], &c, 1) < 0)   /* EOF when the parent closes: go */
                _exit(255);
            _exit(fn(p));
        }
    }
    close(go[0]);
    close(go[1]);
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        if (pids[p] < 0 || waitpid(pids[p], &status, 0) != pids[p] || !WIFEXITED(status))
            sum += 1000;
        else
            sum += WEXITSTATUS(status);
    }
    return sum;
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
        strstr(infos, "The account is locked due to ") == NULL)
        return 100 + lock_lines;
    return (bad > 9 ? 9 : bad) * 10 + lock_lines;
}

int main(void)
{
    struct tp_store *st = NULL;
    struct tp_user u;
    char err[256] = "", text[4096], want[128];
    int rc, n;

    dir = tap_tmpdir();
    snprintf(db, sizeof db, "%s/trex.db", dir);
    if (tp_store_open(db, TP_STORE_CREATE, &st, err, sizeof err) != TP_STORE_OK) {
        tap_ok(0, "create the store: %s", err);
        return tap_done();
    }
    tp_user_init(&u);
    u.name = (char *)"alice";
    u.hash = (char *)"";
    tp_store_user_add(st, &u);
    u.name = (char *)"bob";
    tp_store_user_add(st, &u);
    tp_store_close(st);

    snprintf(text, sizeof text, "auth [default=die] test:faillock authfail deny=0 db=%s\n", db);
    tap_write_file(dir, "count", text);
    snprintf(text, sizeof text,
             "auth     requisite                    test:faillock preauth deny=%d db=%s\n"
             "auth     [success=1 default=bad]      test:pw\n"
             "auth     [default=die]                test:faillock authfail deny=%d db=%s\n"
             "auth     sufficient                   test:faillock authsucc deny=%d db=%s\n"
             "auth     required                     deny\n", DENY, db, DENY, db, DENY, db);
    tap_write_file(dir, "web", text);
    snprintf(text, sizeof text,
             "auth requisite test:faillock preauth deny=%d db=%s\nauth required permit\n", DENY, db);
    tap_write_file(dir, "pre", text);

    rc = in_parallel(count_child);
    tap_is_int(rc, 0, "%d processes x %d failures: every call as expected", PROCS, COUNT_EACH);
    tap_is_int(fails("alice"), PROCS * COUNT_EACH, "the tally holds all %d: no lost update",
               PROCS * COUNT_EACH);

    rc = in_parallel(lock_child);
    tap_is_int(rc / 100, 0, "every process finds the account locked after its %d failures", DENY);
    tap_is_int(rc % 100 / 10, 0, "every wrong password gave AUTH_ERR");
    tap_is_int(rc % 10, 1, "the lock was logged exactly once across %d processes", PROCS);
    n = fails("bob");
    tap_ok(n >= DENY && n <= PROCS * DENY, "tally %d: at least deny, at most the attempts", n);
    rc = login("pre", "bob", "secret");
    snprintf(want, sizeof want, "The account is locked due to %d failed logins.", n);
    tap_is_int(rc, TREX_PAM_AUTH_ERR, "locked for the parent too");
    tap_ok(strncmp(infos, want, strlen(want)) == 0, "message counts the tally: %s", infos);
    rc = login("web", "bob", "wrong");
    tap_is_int(fails("bob"), n, "no failure recorded once locked");

    tap_rmtree(dir);
    free(dir);
    return tap_done();
}
