/*
 * t_store_conc.c - many processes on one store at once, as CGI processes
 * are: no lost update, no "database is locked" reaching a caller.
 *
 * 1. NPROC processes create the same new store at the same moment
 *    (CREATE_ROUNDS times): all succeed, and the schema is made once.
 * 2. NPROC processes x NOPS operations, started together, each opening the
 *    store afresh every 50 operations:
 *    - compare-and-swap increments of one user's hash (read, set_hash from
 *      n to n+1): the successes add up to the final value;
 *    - fail_add on two users, each shared by half the processes: the final
 *      counts are the numbers of adds, and each process sees its counts grow;
 *    - user_add races on shared names: exactly one winner per name;
 *    - reads, session touches and listings in between;
 *    and no call returns anything but the expected codes.
 * 3. NPROC processes open the same version 1 store at the same moment
 *    (UPGRADE_ROUNDS times), half read-write and half read-only: all
 *    succeed and use it, the upgrade is made once (version 3, its indexes,
 *    every row kept).
 *
 * With $TREX_PAM_TEST_STORE naming an empty server store (PostgreSQL,
 * Redis), only 2 runs, on it, with 8 processes x 1,000 operations. On a
 * store that keeps no users (Redis) the swaps and user_adds give way to
 * session adds (each listed once at the end: none lost) and removals of
 * all of a user's sessions but one, racing the adds (atomic: the kept one
 * survives every removal).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "harness.h"

#define NPROC 8                     /* at most; nproc of them run */
#define NOPS  1000                  /* at most; nops each */
#define NAMES (NOPS / 4)
static int nproc = 6, nops = 300;
static int no_users;                /* the store keeps no users: sessions instead */
#define CREATE_ROUNDS 25
#define UPGRADE_ROUNDS 10

struct result {
    int cas_ok, cas_conflict, fails, fail_order_bad, touches, added, rev_added, removed;
    int errors;                     /* any unexpected code */
    unsigned char won[NAMES];
    char first_error[1200];
};

static void note_error(struct result *r, struct tp_store *st, const char *what, int rc)
{
    if (r->errors++ == 0)
        snprintf(r->first_error, sizeof r->first_error, "%s: code %d: %s", what, rc,
                 st != NULL ? tp_store_error(st) : "no store");
}

static int count_users(void *data, const struct tp_user *u)
{
    (void)u;
    (*(int *)data)++;
    return 0;
}

/* Blocks until the parent closes the pipe: everyone starts together. */
static void wait_start(int fd)
{
    char c;
    while (read(fd, &c, 1) > 0)
        ;
    close(fd);
}

static struct tp_store *reopen(struct tp_store *st, const char *path, struct result *r)
{
    char err[1024];
    int rc;

    tp_store_close(st);
    st = NULL;
    if ((rc = tp_store_open(path, 0, &st, err, sizeof err)) != TP_STORE_OK && r->errors++ == 0)
        snprintf(r->first_error, sizeof r->first_error, "open: code %d: %s", rc, err);
    return st;
}

/* A session of user for process id, operation i (its digest unique to both). */
static void session_for(struct tp_session *s, const char *user, int id, int i)
{
    memset(s, 0, sizeof *s);
    memset(s->digest, 0xA5, sizeof s->digest);
    s->digest[0] = (unsigned char)(id + 1);
    s->digest[1] = (unsigned char)(i >> 8);
    s->digest[2] = (unsigned char)i;
    s->user = (char *)user;
    s->created = s->last_used = 1000 + i;
}

/* The swap and user_add of the hammer, for a store that keeps no users:
 * a new session of the process's own user "many<id>" (case 0); a new
 * session of "rev" (case 2), or, every 40th time, all of "rev"'s sessions
 * but the one the parent made removed, counting what went. */
static void sessions_op(struct tp_store *st, int id, int i, struct result *r)
{
    unsigned char keep[TP_SESSION_DIGEST_LEN];
    struct tp_session s;
    char user[16];
    int rc, n = 0;

    memset(keep, 0xEE, sizeof keep);
    snprintf(user, sizeof user, "many%d", id);
    if (i % 4 == 0) {
        session_for(&s, user, id, i);
        if ((rc = tp_store_session_add(st, &s)) == TP_STORE_OK)
            r->added++;
        else
            note_error(r, st, "session_add", rc);
    } else if (i % 40 == 2) {
        if ((rc = tp_store_session_delete_user(st, "rev", keep, &n)) == TP_STORE_OK)
            r->removed += n;
        else
            note_error(r, st, "session_delete_user", rc);
    } else {
        session_for(&s, "rev", id, i);
        if ((rc = tp_store_session_add(st, &s)) == TP_STORE_OK)
            r->rev_added++;
        else
            note_error(r, st, "session_add rev", rc);
    }
}

static void hammer(const char *path, int id, struct result *r)
{
    struct tp_store *st = NULL;
    struct tp_session s;
    struct tp_user u;
    char name[32], next[32];
    int rc, count, last_count = 0;

    memset(&s, 0, sizeof s);
    memset(s.digest, id + 1, sizeof s.digest);
    s.user = "cas";
    for (int i = 0; i < nops; i++) {
        if (i % 50 == 0 && (st = reopen(st, path, r)) == NULL)
            return;
        if (i == 0 && (rc = tp_store_session_add(st, &s)) != TP_STORE_OK)
            note_error(r, st, "session_add", rc);
        if (no_users && i % 2 == 0) {
            sessions_op(st, id, i, r);
            continue;
        }
        switch (i % 4) {
        case 0:                     /* read n, swap n -> n + 1 */
            if ((rc = tp_store_user_get(st, "cas", &u)) != TP_STORE_OK) {
                note_error(r, st, "user_get", rc);
                break;
            }
            snprintf(next, sizeof next, "%ld", strtol(u.hash, NULL, 10) + 1);
            if (i % 8 == 0)
                usleep((useconds_t)(id * 37 + i) % 300);  /* widen the window: let others in */
            rc = tp_store_user_set_hash(st, "cas", u.hash, next, i);
            tp_user_clear(&u);
            if (rc == TP_STORE_OK)
                r->cas_ok++;
            else if (rc == TP_STORE_CONFLICT)
                r->cas_conflict++;
            else
                note_error(r, st, "set_hash", rc);
            break;
        case 1:
            /* two users, each shared by half the processes: counts stay
             * below the 1,024 failures a store keeps per user */
            if ((rc = tp_store_fail_add(st, id % 2 ? "fails1" : "fails0", 1000 + i, 0, &count))
                != TP_STORE_OK) {
                note_error(r, st, "fail_add", rc);
                break;
            }
            r->fails++;
            if (count <= last_count)
                r->fail_order_bad++;
            last_count = count;
            break;
        case 2:                     /* every process tries every name */
            snprintf(name, sizeof name, "race%03d", i / 4);
            tp_user_init(&u);
            u.name = name;
            u.hash = "";
            rc = tp_store_user_add(st, &u);
            if (rc == TP_STORE_OK)
                r->won[i / 4] = 1;
            else if (rc != TP_STORE_EXISTS)
                note_error(r, st, "user_add", rc);
            break;
        default:
            if ((rc = tp_store_session_touch(st, s.digest, 10 + i, 0)) == TP_STORE_OK)
                r->touches++;
            else
                note_error(r, st, "session_touch", rc);
            if (i % 60 == 3 && !no_users) {
                count = 0;
                if ((rc = tp_store_user_list(st, count_users, &count)) != TP_STORE_OK)
                    note_error(r, st, "user_list", rc);
            }
            break;
        }
    }
    tp_store_close(st);
}

/* Runs fn in NPROC children started at once; collects their results. */
static int run_children(const char *path, void (*fn)(const char *, int, struct result *),
                        struct result res[NPROC])
{
    int go[2], out[NPROC][2], ok = 1;
    pid_t pid[NPROC];

    memset(res, 0, (size_t)nproc * sizeof res[0]);
    if (pipe(go) != 0)
        return 0;
    for (int k = 0; k < nproc; k++) {
        if (pipe(out[k]) != 0 || (pid[k] = fork()) < 0)
            return 0;
        if (pid[k] == 0) {
            struct result r;
            ssize_t n;
            memset(&r, 0, sizeof r);
            close(go[1]);
            close(out[k][0]);
            wait_start(go[0]);
            fn(path, k, &r);
            n = write(out[k][1], &r, sizeof r);
            close(out[k][1]);
            exit(n == (ssize_t)sizeof r ? 0 : 1);
        }
        close(out[k][1]);
    }
    close(go[0]);
    close(go[1]);                   /* start */
    for (int k = 0; k < nproc; k++) {
        int status = 0;
        if (read(out[k][0], &res[k], sizeof res[k]) != (ssize_t)sizeof res[k])
            ok = 0;
        close(out[k][0]);
        waitpid(pid[k], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ok = 0;
    }
    return ok;
}

static void create_one(const char *path, int id, struct result *r)
{
    struct tp_store *st = NULL;
    char err[1024], name[16];
    struct tp_user u;
    int rc;

    if ((rc = tp_store_open(path, TP_STORE_CREATE, &st, err, sizeof err)) != TP_STORE_OK) {
        r->errors++;
        snprintf(r->first_error, sizeof r->first_error, "create: code %d: %s", rc, err);
        return;
    }
    snprintf(name, sizeof name, "c%d", id);
    tp_user_init(&u);
    u.name = name;
    u.hash = "";
    if ((rc = tp_store_user_add(st, &u)) != TP_STORE_OK)
        note_error(r, st, "user_add after create", rc);
    tp_store_close(st);
}

/* A version 1 store (the tables as migration 0 -> 1 made them) with a user
 * and a session. */
static int make_v1(const char *path)
{
    return th_store_v1(path, "INSERT INTO users (name, hash, created) VALUES ('old', '', 1);"
                             "INSERT INTO sessions VALUES (zeroblob(32), 'old', 100, 1000, NULL);");
}

/* Odd ids read-only, even ones read-write: open, read the old session, and
 * (read-write) add a user. */
static void upgrade_one(const char *path, int id, struct result *r)
{
    struct tp_store *st = NULL;
    struct tp_session ses;
    unsigned char zero[TP_SESSION_DIGEST_LEN] = { 0 };
    char err[1024], name[16];
    struct tp_user u;
    int rc;

    if ((rc = tp_store_open(path, id % 2 ? TP_STORE_RDONLY : 0, &st, err, sizeof err)) != TP_STORE_OK) {
        r->errors++;
        snprintf(r->first_error, sizeof r->first_error, "open: code %d: %s", rc, err);
        return;
    }
    if ((rc = tp_store_session_get(st, zero, &ses)) != TP_STORE_OK)
        note_error(r, st, "session_get", rc);
    tp_session_clear(&ses);
    if (id % 2 == 0) {
        snprintf(name, sizeof name, "u%d", id);
        tp_user_init(&u);
        u.name = name;
        u.hash = "";
        if ((rc = tp_store_user_add(st, &u)) != TP_STORE_OK)
            note_error(r, st, "user_add", rc);
    }
    tp_store_close(st);
}

static void report_errors(const struct result res[NPROC], const char *what)
{
    int errors = 0;
    for (int k = 0; k < nproc; k++) {
        errors += res[k].errors;
        if (res[k].errors)
            tap_diag("%s: process %d: %d errors, first: %s", what, k, res[k].errors,
                     res[k].first_error);
    }
    tap_is_int(errors, 0, "%s: no call failed (no \"database is locked\")", what);
}

static int count_sessions(void *data, const struct tp_session *s)
{
    (void)s;
    (*(int *)data)++;
    return 0;
}

/* 1. creating together, a few times over (the race is short) */
static void test_create(struct result *res)
{
    struct tp_store *st = NULL;
    char path[4096], err[1024];
    int creates_ok = 0, n;

    for (int round = 0; round < CREATE_ROUNDS; round++) {
        int ran, errors = 0;
        snprintf(path, sizeof path, "%s/created%d.db", th_dir(), round);
        ran = run_children(path, create_one, res);
        for (int k = 0; k < nproc; k++) {
            errors += res[k].errors;
            if (res[k].errors)
                tap_diag("create round %d: process %d: %s", round, k, res[k].first_error);
        }
        n = 0;
        if (tp_store_open(path, 0, &st, err, sizeof err) == TP_STORE_OK) {
            tp_store_user_list(st, count_users, &n);
            tp_store_close(st);
        }
        creates_ok += ran && errors == 0 && n == nproc;
    }
    tap_is_int(creates_ok, CREATE_ROUNDS,
               "create: %d rounds of %d processes creating one store at once: all succeed,"
               " every user is there", CREATE_ROUNDS, nproc);
}

/* What the hammer left, on a store with users: the counter, the tally,
 * the raced names. */
static void check_users(struct tp_store *st, const struct result *res, int cas_ok, int fails)
{
    struct tp_user u;
    int n = 0, once = 0;

    if (tap_is_int(tp_store_user_get(st, "cas", &u), TP_STORE_OK, "hammer: read the counter")) {
        tap_is_int(strtol(u.hash, NULL, 10), cas_ok, "hammer: no lost update (counter = swaps won)");
        tp_user_clear(&u);
    }
    (void)fails;
    tp_store_user_list(st, count_users, &n);
    tap_is_int(n, 3 + nops / 4, "hammer: every raced name exists once");
    for (int i = 0; i < nops / 4; i++) {
        int winners = 0;
        for (int k = 0; k < nproc; k++)
            winners += res[k].won[i];
        once += winners == 1;
    }
    tap_is_int(once, nops / 4, "hammer: exactly one user_add won each name");
}

/* What the hammer left, on a store without users: every session added is
 * there or was counted by exactly one removal, the kept one survived. */
static void check_sessions(struct tp_store *st, const struct result *res)
{
    struct tp_session s;
    unsigned char keep[TP_SESSION_DIGEST_LEN];
    int added = 0, listed = 0, rev_added = 0, removed = 0, left = 0;
    char user[16];

    for (int k = 0; k < nproc; k++) {
        int n = 0;
        snprintf(user, sizeof user, "many%d", k);
        tp_store_session_list(st, user, count_sessions, &n);
        listed += n;
        added += res[k].added;
        rev_added += res[k].rev_added;
        removed += res[k].removed;
    }
    tap_is_int(added, nproc * (nops / 4), "hammer: every session_add succeeded");
    tap_is_int(listed, added, "hammer: every session added is listed (none lost)");
    tp_store_session_list(st, "rev", count_sessions, &left);
    tap_is_int(removed + left, 1 + rev_added,
               "hammer: removals racing adds: each session removed once or left (%d removed, %d left)",
               removed, left);
    memset(keep, 0xEE, sizeof keep);
    tap_is_int(tp_store_session_get(st, keep, &s), TP_STORE_OK,
               "hammer: the session kept by every removal is there");
    tp_session_clear(&s);
}

/* 2. the hammer */
static void test_hammer(const char *path, struct result *res)
{
    struct tp_store *st = NULL;
    struct tp_user u;
    struct tp_session s;
    char err[1024];
    int cas_ok = 0, conflicts = 0, fails = 0, bad_order = 0, touches = 0, count = 0, count1 = 0;
    int64_t latest;

    if (!tap_is_int(tp_store_open(path, TP_STORE_CREATE, &st, err, sizeof err), TP_STORE_OK,
                    "hammer: create"))
        tap_diag("%s", err);
    if (no_users) {
        memset(&s, 0, sizeof s);
        memset(s.digest, 0xEE, sizeof s.digest);
        s.user = "rev";
        tap_is_int(tp_store_session_add(st, &s), TP_STORE_OK, "hammer: the session to keep");
    } else {
        tp_user_init(&u);
        u.name = "cas";
        u.hash = "0";
        tap_is_int(tp_store_user_add(st, &u), TP_STORE_OK, "hammer: counter user");
        u.name = "fails0";
        tap_is_int(tp_store_user_add(st, &u), TP_STORE_OK, "hammer: tally user 0");
        u.name = "fails1";
        tap_is_int(tp_store_user_add(st, &u), TP_STORE_OK, "hammer: tally user 1");
    }
    tp_store_close(st);
    st = NULL;

    tap_ok(run_children(path, hammer, res), "hammer: %d processes x %d operations ran", nproc, nops);
    report_errors(res, "hammer");
    for (int k = 0; k < nproc; k++) {
        cas_ok += res[k].cas_ok;
        conflicts += res[k].cas_conflict;
        fails += res[k].fails;
        bad_order += res[k].fail_order_bad;
        touches += res[k].touches;
    }
    if (!no_users) {
        tap_diag("hammer: %d swaps won, %d lost to a concurrent change", cas_ok, conflicts);
        tap_is_int(cas_ok + conflicts, nproc * (nops / 4), "hammer: every swap answered OK or CONFLICT");
    }
    tap_is_int(touches, nproc * (nops / 4), "hammer: every touch answered OK");
    tap_is_int(bad_order, 0, "hammer: each process saw its failure count grow");

    if (tap_is_int(tp_store_open(path, 0, &st, err, sizeof err), TP_STORE_OK, "hammer: reopen")) {
        tp_store_fail_count(st, "fails0", 0, &count, &latest);
        tp_store_fail_count(st, "fails1", 0, &count1, &latest);
        tap_is_int(count + count1, fails, "hammer: every failure counted (the tallies are exact)");
        tap_is_int(count, (nproc + 1) / 2 * (nops / 4), "hammer: the first tally is exact");
        tap_is_int(fails, nproc * (nops / 4), "hammer: every fail_add succeeded");
        if (no_users)
            check_sessions(st, res);
        else
            check_users(st, res, cas_ok, fails);
        tp_store_close(st);
    }
}

/* 3. upgrading together */
static void test_upgrade(struct result *res)
{
    char path[4096];
    int n = 0;

    for (int round = 0; round < UPGRADE_ROUNDS; round++) {
        int ran, errors = 0;
        snprintf(path, sizeof path, "%s/upgraded%d.db", th_dir(), round);
        if (make_v1(path) != 0) {
            tap_diag("upgrade round %d: cannot make the version 1 store", round);
            continue;
        }
        ran = run_children(path, upgrade_one, res);
        for (int k = 0; k < nproc; k++) {
            errors += res[k].errors;
            if (res[k].errors)
                tap_diag("upgrade round %d: process %d: %s", round, k, res[k].first_error);
        }
        n += ran && errors == 0
             && th_sql_int(path, "SELECT value FROM trex_pam_meta WHERE key = 'schema_version'") == 3
             && th_sql_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                        " ('sessions_last_used', 'sessions_created', 'sessions_user_created', 'failures_time')")
                == 4
             && th_sql_int(path, "SELECT count(*) FROM users") == 1 + (nproc + 1) / 2
             && th_sql_int(path, "SELECT count(*) FROM sessions") == 1;
    }
    tap_is_int(n, UPGRADE_ROUNDS,
               "upgrade: %d rounds of %d processes (half read-only) opening one version 1 store"
               " at once: all succeed, upgraded once, every row kept", UPGRADE_ROUNDS, nproc);
}

int main(void)
{
    static struct result res[NPROC];
    const char *loc = getenv("TREX_PAM_TEST_STORE");

    if (loc != NULL && *loc != '\0') {
        /* a server store: 8 x 1,000 on it */
        nproc = 8;
        nops = 1000;
        {
            struct tp_store *st = th_store(loc, TP_STORE_CREATE);
            if (st == NULL)
                th_bail("cannot open the store under test");
            no_users = !tp_store_keeps(st, TP_STORE_KEEPS_USERS);
            tp_store_close(st);
        }
        test_hammer(loc, res);
        return th_done();
    }
    test_create(res);
    test_hammer(th_path("hammer.db"), res);
    test_upgrade(res);
    return th_done();
}
