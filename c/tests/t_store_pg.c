/*
 * t_store_pg.c - what only the PostgreSQL store does, on a real private
 * server (t/41-store-backends.t starts one and sets):
 *   TREX_PAM_TEST_PG         postgresql://user:password@127.0.0.1:PORT (no database:
 *                            the test makes its own with CREATE DATABASE)
 *   TREX_PAM_TEST_PG_DATA    the server's data directory (postmaster.pid)
 *   TREX_PAM_TEST_PG_STOP    a shell command stopping the server
 *   TREX_PAM_TEST_PG_START   a shell command starting it again
 * libpq is loaded only by a PostgreSQL open; the schema: refused without
 * CREATE, made by four processes at once, a newer version refused and left
 * as it was, an older one upgraded, a foreign trex_pam schema refused; no
 * password in any message; a server stopped, suspended (SIGSTOP) or
 * restarted gives UNAVAIL quickly and the next open works; failure tallies
 * from four processes at once are exact; a child closing an inherited
 * connection leaves the parent's working, and any other use is refused; a
 * row locked by another session makes a write fail in time, not wait.
 * Without TREX_PAM_TEST_PG: "1..0 # SKIP".
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/wait.h>
#include "harness.h"
#include "pg.h"

static const char *server;            /* postgresql://user:pw@host:port */
static int dbseq;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* Runs sql on database db (libpq through the store's own table): 0, or
 * -1; *val (if not NULL) gets the last row's first column as a number. */
static int sql_val(const char *db, const char *text, long *val)
{
    char uri[512], why[600];
    const char *keys[] = { "dbname", NULL }, *vals[] = { uri, NULL };
    PGconn *c;
    PGresult *r;
    int bad = 0;

    if (tp_pg_load(why, sizeof why) != 0) {
        tap_diag("%s", why);
        return -1;
    }
    snprintf(uri, sizeof uri, "%s/%s", server, db);
    c = tp_pq.PQconnectdbParams(keys, vals, 1);
    if (tp_pq.PQstatus(c) != CONNECTION_OK || !tp_pq.PQsendQuery(c, text)) {
        tap_diag("sql on %s: %s", db, tp_pq.PQerrorMessage(c));
        tp_pq.PQfinish(c);
        return -1;
    }
    while ((r = tp_pq.PQgetResult(c)) != NULL) {
        if (tp_pq.PQresultStatus(r) == PGRES_FATAL_ERROR) {
            tap_diag("sql on %s: %s", db, tp_pq.PQresultErrorMessage(r));
            bad = 1;
        } else if (val != NULL && tp_pq.PQntuples(r) > 0) {
            *val = strtol(tp_pq.PQgetvalue(r, tp_pq.PQntuples(r) - 1, 0), NULL, 10);
        }
        tp_pq.PQclear(r);
    }
    tp_pq.PQfinish(c);
    return bad ? -1 : 0;
}

static int sql(const char *db, const char *text)
{
    return sql_val(db, text, NULL);
}

/* A raw connection to db holding a transaction open (NULL on failure). */
static PGconn *hold(const char *db, const char *text)
{
    char uri[512];
    const char *keys[] = { "dbname", NULL }, *vals[] = { uri, NULL };
    PGconn *c;
    PGresult *r;
    int bad = 0;

    snprintf(uri, sizeof uri, "%s/%s", server, db);
    c = tp_pq.PQconnectdbParams(keys, vals, 1);
    if (tp_pq.PQstatus(c) != CONNECTION_OK || !tp_pq.PQsendQuery(c, text)) {
        tp_pq.PQfinish(c);
        return NULL;
    }
    while ((r = tp_pq.PQgetResult(c)) != NULL) {
        bad |= tp_pq.PQresultStatus(r) == PGRES_FATAL_ERROR;
        tp_pq.PQclear(r);
    }
    if (bad) {
        tp_pq.PQfinish(c);
        return NULL;
    }
    return c;
}

/* A fresh database: its name (static buffer, one of 8). */
static const char *newdb(void)
{
    static char names[8][64];
    char *n = names[dbseq % 8], q[128];

    snprintf(n, sizeof names[0], "tpg_%d_%d", (int)getpid(), ++dbseq);
    snprintf(q, sizeof q, "CREATE DATABASE %s", n);
    if (sql("postgres", q) != 0)
        th_bail("cannot create a database");
    return n;
}

/* The URI of db with extra query parameters (NULL: none). */
static const char *uri_of(const char *db, const char *query)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s%s%s", server, db, query != NULL ? "?" : "",
             query != NULL ? query : "");
    return buf[k];
}

static int open_rc(const char *loc, int flags, struct tp_store **st, char *err, size_t n)
{
    *st = NULL;
    return tp_store_open(loc, flags, st, err, n);
}

static int add_user(struct tp_store *st, const char *name)
{
    struct tp_user u;

    tp_user_init(&u);
    u.name = (char *)name;
    u.hash = "";
    return tp_store_user_add(st, &u);
}

static int libpq_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int found = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "libpq.so") != NULL)
            found = 1;
    fclose(f);
    return found;
}

/* ---- libpq only when used --------------------------------------------------------------- */

static void test_lazy_libpq(void)
{
    struct tp_store *st;
    char err[1024];
    pid_t pid;
    int status;

    fflush(stdout);
    if ((pid = fork()) == 0) {
        int ok = libpq_mapped() == 0
                 && open_rc(th_path("lazy.db"), TP_STORE_CREATE, &st, err, sizeof err) == TP_STORE_OK
                 && libpq_mapped() == 0;
        tp_store_close(st);
        _exit(ok ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "a process on the SQLite store never maps libpq");
}

/* ---- the schema --------------------------------------------------------------------------- */

static int open_create(int k)
{
    const char *db = getenv("TP_CONC_DB");
    struct tp_store *st;
    char err[1024];
    int rc = open_rc(uri_of(db, NULL), TP_STORE_CREATE, &st, err, sizeof err);

    (void)k;
    if (rc != TP_STORE_OK)
        fprintf(stderr, "# concurrent create: %s\n", err);
    tp_store_close(st);
    return rc;
}

static void test_schema(void)
{
    const char *db = newdb();
    struct tp_store *st, *ro;
    struct tp_user u;
    char err[1024];

    tap_is_int(open_rc(uri_of(db, NULL), 0, &st, err, sizeof err), TP_STORE_UNAVAIL,
               "open without CREATE on an empty database: UNAVAIL");
    tap_ok(contains(err, "no TRex::PAM schema here (trex-pam init --store ...)"), "names the missing schema: %s", err);
    tap_ok(contains(err, "postgresql://trex@127.0.0.1:"), "the location without its password: %s", err);
    tap_is_int(open_rc(uri_of(db, NULL), TP_STORE_RDONLY, &st, err, sizeof err), TP_STORE_UNAVAIL,
               "read-only: UNAVAIL");
    tap_is_int(open_rc(uri_of(db, NULL), 0, &st, err, sizeof err), TP_STORE_UNAVAIL,
               "still no schema: nothing was made");
    tap_ok(libpq_mapped() == 1, "libpq is loaded now");

    setenv("TP_CONC_DB", db, 1);
    tap_is_int(th_parallel(4, open_create), 0, "four processes create the schema at once");
    tap_is_int(open_rc(uri_of(db, NULL), 0, &st, err, sizeof err), TP_STORE_OK,
               "then an open without CREATE works");
    tap_is_int(add_user(st, "alice"), TP_STORE_OK, "and writes");
    tap_is_int(open_rc(uri_of(db, NULL), TP_STORE_RDONLY, &ro, err, sizeof err), TP_STORE_OK,
               "a read-only open");
    tap_is_int(tp_store_user_get(ro, "alice", &u), TP_STORE_OK, "reads");
    tp_user_clear(&u);
    tap_ok(add_user(ro, "bob") != TP_STORE_OK, "and never writes: %s", tp_store_error(ro));
    tap_is_int(tp_store_user_get(st, "bob", &u), TP_STORE_NOTFOUND, "nothing written");
    tp_store_close(ro);
    tp_store_close(st);

    /* a newer version: refused and left alone */
    sql(db, "UPDATE trex_pam.meta SET value = '3' WHERE key = 'schema_version'");
    tap_is_int(open_rc(uri_of(db, NULL), TP_STORE_CREATE, &st, err, sizeof err), TP_STORE_UNAVAIL,
               "a newer schema version: UNAVAIL");
    tap_ok(contains(err, "schema version 3 was made by a newer TRex::PAM"), "says so: %s", err);
    tap_is_int(sql(db, "DO $$ BEGIN IF (SELECT value FROM trex_pam.meta"
                       " WHERE key = 'schema_version') <> '3' THEN RAISE 'changed'; END IF; END $$"),
               0, "the version is left as it was");

    /* an older one (0: the meta table alone) is upgraded read-write */
    db = newdb();
    sql(db, "CREATE SCHEMA trex_pam; CREATE TABLE trex_pam.meta (key text PRIMARY KEY,"
            " value text NOT NULL); INSERT INTO trex_pam.meta VALUES ('application', 'TRex::PAM'),"
            " ('schema_version', '0')");
    tap_is_int(open_rc(uri_of(db, NULL), TP_STORE_RDONLY, &st, err, sizeof err), TP_STORE_UNAVAIL,
               "an old version read-only: UNAVAIL");
    tap_ok(contains(err, "open it read-write once"), "says how: %s", err);
    tap_is_int(open_rc(uri_of(db, NULL), 0, &st, err, sizeof err), TP_STORE_OK,
               "read-write: upgraded");
    tap_is_int(add_user(st, "alice"), TP_STORE_OK, "the tables are there");
    tp_store_close(st);
    tap_is_int(sql(db, "DO $$ BEGIN IF (SELECT value FROM trex_pam.meta"
                       " WHERE key = 'schema_version') <> '2' THEN RAISE 'old'; END IF; END $$"),
               0, "version 2 now");

    /* someone else's schema of that name */
    db = newdb();
    sql(db, "CREATE SCHEMA trex_pam; CREATE TABLE trex_pam.other (x int)");
    tap_is_int(open_rc(uri_of(db, NULL), TP_STORE_CREATE, &st, err, sizeof err), TP_STORE_UNAVAIL,
               "a foreign trex_pam schema: UNAVAIL even with CREATE");
    tap_is_int(sql(db, "DO $$ BEGIN IF to_regclass('trex_pam.users') IS NOT NULL"
                       " THEN RAISE 'touched'; END IF; END $$"), 0, "left untouched");
}

/* ---- no secret in messages ---------------------------------------------------------------- */

static void test_secrets(const char *db)
{
    char loc[512], err[1024], port[16] = "";
    const char *p = strrchr(server, ':');
    struct tp_store *st;
    struct tp_user u;

    snprintf(port, sizeof port, "%s", p != NULL ? p + 1 : "5432");
    snprintf(loc, sizeof loc, "postgresql://trex:Wr0ngS3cret@127.0.0.1:%s/%s?connect_timeout=3",
             port, db);
    tap_is_int(open_rc(loc, 0, &st, err, sizeof err), TP_STORE_UNAVAIL, "a wrong password: UNAVAIL");
    tap_ok(!contains(err, "Wr0ngS3cret"), "the password is in no message: %s", err);
    tap_ok(contains(err, "127.0.0.1") && contains(err, "password authentication failed"),
           "names the host and libpq's reason");
    tap_ok(err[0] != '\0' && err[strlen(err) - 1] != '\n', "no trailing newline");

    snprintf(loc, sizeof loc, "postgresql://trex@127.0.0.1:%s/%s?password=Wr0ngS3cret", port, db);
    open_rc(loc, 0, &st, err, sizeof err);
    tap_ok(!contains(err, "Wr0ngS3cret") && err[0] != '\0', "password= in the query: %s", err);
    snprintf(loc, sizeof loc, "postgresql:host=127.0.0.1 port=%s user=trex password='Wr0ngS3cret'"
             " dbname=%s", port, db);
    open_rc(loc, 0, &st, err, sizeof err);
    tap_ok(!contains(err, "Wr0ngS3cret") && contains(err, "postgresql:host=127.0.0.1"),
           "password= in a keyword string: %s", err);
    snprintf(loc, sizeof loc, "postgresql://trex:Wr0ngS3cret@127.0.0.1:%s/%s?command_timeout=0",
             port, db);
    tap_is_int(open_rc(loc, 0, &st, err, sizeof err), TP_STORE_ERR, "command_timeout=0: ERR");
    tap_ok(contains(err, "bad command_timeout") && !contains(err, "Wr0ngS3cret"), "%s", err);
    snprintf(loc, sizeof loc, "postgresql:dbname=%s command_timeout=3601 password=Wr0ngS3cret", db);
    tap_is_int(open_rc(loc, 0, &st, err, sizeof err), TP_STORE_ERR, "command_timeout=3601: ERR");
    snprintf(loc, sizeof loc, "postgresql://trex:Wr0ngS3cret@127.0.0.1:%s/%s?connect_timeout=0",
             port, db);
    tap_is_int(open_rc(loc, 0, &st, err, sizeof err), TP_STORE_ERR,
               "connect_timeout=0 (libpq: wait for ever): ERR");
    tap_ok(contains(err, "bad connect_timeout") && !contains(err, "Wr0ngS3cret"), "%s", err);
    snprintf(loc, sizeof loc, "postgresql:dbname=%s connect_timeout=3601 password=Wr0ngS3cret", db);
    tap_is_int(open_rc(loc, 0, &st, err, sizeof err), TP_STORE_ERR, "connect_timeout=3601: ERR");
    snprintf(loc, sizeof loc, "postgresql://trex:Wr0ngS3cret@127.0.0.1:%s/%s?bogus=%%zz", port, db);
    tap_ok(open_rc(loc, 0, &st, err, sizeof err) != TP_STORE_OK && !contains(err, "Wr0ngS3cret"),
           "a bad URI: %s", err);

    /* other spellings: postgres://, and a service file (libpq's own) */
    snprintf(loc, sizeof loc, "postgres://trex:trexpw@127.0.0.1:%s/%s", port, db);
    tap_is_int(open_rc(loc, 0, &st, err, sizeof err), TP_STORE_OK, "postgres:// %s", err);
    tp_store_close(st);
    snprintf(loc, sizeof loc, "[trex]\nhost=127.0.0.1\nport=%s\nuser=trex\npassword=trexpw\n"
             "dbname=%s\n", port, db);
    th_file("pg_service.conf", loc);
    setenv("PGSERVICEFILE", th_path("pg_service.conf"), 1);
    tap_is_int(open_rc("postgresql:service=trex command_timeout=2", 0, &st, err, sizeof err),
               TP_STORE_OK, "postgresql:service=trex through PGSERVICEFILE %s", err);
    tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_OK, "reads there");
    tp_user_clear(&u);
    tp_store_close(st);
    unsetenv("PGSERVICEFILE");

    /* a working connection's messages: the location without its password */
    tap_is_int(open_rc(uri_of(db, "command_timeout=4"), 0, &st, err, sizeof err), TP_STORE_OK,
               "command_timeout in the URI");
    tap_is_int(tp_store_user_get(st, "nobody", &u), TP_STORE_NOTFOUND, "a NOTFOUND");
    tap_ok(contains(tp_store_error(st), "postgresql://trex@127.0.0.1:")
           && !contains(tp_store_error(st), "trexpw"), "its message: %s", tp_store_error(st));
    tp_store_close(st);
}

/* ---- faults ------------------------------------------------------------------------------- */

/* SIGSTOP or SIGCONT to the postmaster and its children. */
static int signal_server(int sig)
{
    char path[1024];
    const char *data = getenv("TREX_PAM_TEST_PG_DATA");
    FILE *f;
    long pm = 0;
    DIR *d;
    struct dirent *e;
    int n = 0;

    snprintf(path, sizeof path, "%s/postmaster.pid", data != NULL ? data : "/nonexistent");
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    if (fscanf(f, "%ld", &pm) != 1)
        pm = 0;
    fclose(f);
    if (pm <= 0 || (d = opendir("/proc")) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char stat[512];
        long pid = atol(e->d_name), ppid = 0;
        if (pid <= 0)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(stat, sizeof stat, f) != NULL) {
            char *r = strrchr(stat, ')');
            if (r != NULL)
                sscanf(r + 2, "%*c %ld", &ppid);
        }
        fclose(f);
        if (ppid == pm && kill((pid_t)pid, sig) == 0)
            n++;
    }
    closedir(d);
    if (kill((pid_t)pm, sig) == 0)
        n++;
    return n;
}

static void test_faults(const char *db)
{
    const char *stop = getenv("TREX_PAM_TEST_PG_STOP"), *start = getenv("TREX_PAM_TEST_PG_START");
    struct tp_store *st, *old;
    struct tp_user u;
    char err[1024];
    double t0, dt;
    int rc;

    /* suspended: no answer within command_timeout */
    rc = open_rc(uri_of(db, "command_timeout=1"), 0, &st, err, sizeof err);
    tap_is_int(rc, TP_STORE_OK, "open with command_timeout=1");
    if (rc == TP_STORE_OK) {
        tap_ok(signal_server(SIGSTOP) > 1, "server suspended (SIGSTOP)");
        t0 = now_s();
        rc = tp_store_user_get(st, "alice", &u);
        dt = now_s() - t0;
        signal_server(SIGCONT);
        tap_is_int(rc, TP_STORE_UNAVAIL, "a read on a suspended server: UNAVAIL");
        tap_ok(dt >= 0.9 && dt < 3, "after the command timeout, not a hang (%.2f s)", dt);
        tap_ok(contains(tp_store_error(st), "no answer from the server in 1 s"), "%s",
               tp_store_error(st));
        tap_ok(tp_store_timed_out(st), "the failure is a timeout (tp_store_timed_out)");
        tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_UNAVAIL,
                   "the connection stays unusable");
        tap_ok(!tp_store_timed_out(st), "... which is no timeout: %s", tp_store_error(st));
        tp_store_close(st);
        /* an open while suspended: the server's kernel accepts the TCP
         * connection, nothing answers; the whole connect is bounded by
         * connect_timeout, even below libpq's own minimum of 2 s */
        signal_server(SIGSTOP);
        t0 = now_s();
        rc = open_rc(uri_of(db, "connect_timeout=1"), 0, &st, err, sizeof err);
        dt = now_s() - t0;
        signal_server(SIGCONT);
        tap_is_int(rc, TP_STORE_UNAVAIL, "an open on a suspended server: UNAVAIL");
        tap_ok(dt >= 0.9 && dt < 1.9, "after connect_timeout=1, not libpq's 2 s (%.2f s)", dt);
        tap_ok(contains(err, "no answer from the server in 1 s (connect_timeout)")
               && contains(err, "127.0.0.1") && !contains(err, "trexpw"), "%s", err);
        if (rc == TP_STORE_OK)
            tp_store_close(st);
        signal_server(SIGSTOP);
        t0 = now_s();
        rc = open_rc(uri_of(db, "command_timeout=1"), 0, &st, err, sizeof err);
        dt = now_s() - t0;
        signal_server(SIGCONT);
        tap_is_int(rc, TP_STORE_UNAVAIL, "the default connect_timeout (5 s) bounds it too");
        tap_ok(dt >= 4.5 && dt < 9, "in %.2f s", dt);
        if (rc == TP_STORE_OK)
            tp_store_close(st);
        tap_is_int(open_rc(uri_of(db, NULL), 0, &st, err, sizeof err), TP_STORE_OK,
                   "resumed: a new open works");
        tp_store_close(st);
    }

    if (stop == NULL || start == NULL) {
        tap_skip("no stop/start commands for the server");
        return;
    }
    if (open_rc(uri_of(db, NULL), 0, &old, err, sizeof err) != TP_STORE_OK)
        old = NULL;
    tap_is_int(system(stop), 0, "server stopped");
    t0 = now_s();
    rc = open_rc(uri_of(db, "connect_timeout=1"), 0, &st, err, sizeof err);
    dt = now_s() - t0;
    tap_is_int(rc, TP_STORE_UNAVAIL, "open with the server stopped: UNAVAIL");
    tap_ok(dt < 2, "quickly (%.2f s)", dt);
    tap_ok(contains(err, "127.0.0.1") && contains(err, "cannot connect"), "names the host: %s", err);
    if (old != NULL) {
        tap_is_int(tp_store_user_get(old, "alice", &u), TP_STORE_UNAVAIL,
                   "a connection made before the stop: UNAVAIL");
        tap_diag("%s", tp_store_error(old));
        tp_store_close(old);
    }
    tap_is_int(system(start), 0, "server started again");
    rc = open_rc(uri_of(db, NULL), 0, &st, err, sizeof err);
    tap_is_int(rc, TP_STORE_OK, "after the restart the next open works");
    if (rc == TP_STORE_OK) {
        tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_OK, "and reads what was there");
        tp_user_clear(&u);
        tp_store_close(st);
    }
}

/* A name's failures locked by another session (its advisory lock, as a
 * concurrent fail_add holds it): the wait is bounded (lock_timeout). */
static void test_lock_wait(const char *db)
{
    PGconn *locker = hold(db, "BEGIN; SELECT pg_advisory_xact_lock(" FAIL_LOCK_SPACE
                              ", hashtext('alice'))");
    struct tp_store *st;
    struct tp_user u;
    char err[1024];
    double t0, dt;
    int rc;

    if (locker == NULL || open_rc(uri_of(db, "command_timeout=1"), 0, &st, err, sizeof err)
                              != TP_STORE_OK) {
        tap_ok(0, "set up a locked row");
        if (locker != NULL)
            tp_pq.PQfinish(locker);
        return;
    }
    t0 = now_s();
    rc = tp_store_fail_add(st, "alice", 100, 0, NULL);
    dt = now_s() - t0;
    tap_is_int(rc, TP_STORE_ERR, "a failure of a name whose lock another session holds: ERR");
    tap_ok(dt < 1.5, "within the command timeout (%.2f s)", dt);
    tap_ok(contains(tp_store_error(st), "stayed locked"), "%s", tp_store_error(st));
    tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_OK, "the connection is still usable");
    tp_user_clear(&u);
    tp_pq.PQfinish(locker);
    tap_is_int(tp_store_fail_add(st, "alice", 100, 0, NULL), TP_STORE_OK, "and writes once it is free");
    tp_store_fail_reset(st, "alice");
    tp_store_close(st);
}

/* ---- concurrency and fork ---------------------------------------------------------------- */

static void test_concurrent_tallies(const char *db)
{
    int fds[2], seen[401] = { 0 }, v, n = 0, dup = 0, bad = 0, count = 0, status;
    struct tp_store *st;
    char err[1024];
    pid_t kids[4];

    if (open_rc(uri_of(db, NULL), 0, &st, err, sizeof err) != TP_STORE_OK
        || (add_user(st, "carol") != TP_STORE_OK) || pipe(fds) != 0) {
        tap_ok(0, "set up the concurrent tallies: %s", err);
        return;
    }
    fflush(stdout);
    for (int k = 0; k < 4; k++) {
        if ((kids[k] = fork()) == 0) {
            struct tp_store *mine;
            close(fds[0]);
            if (open_rc(uri_of(db, NULL), 0, &mine, err, sizeof err) != TP_STORE_OK)
                _exit(2);
            for (int i = 0; i < 100; i++) {
                int c = -1;
                if (tp_store_fail_add(mine, "carol", 1000 + i, 0, &c) != TP_STORE_OK)
                    c = -1;
                if (write(fds[1], &c, sizeof c) != sizeof c)
                    _exit(3);
            }
            tp_store_close(mine);
            _exit(0);
        }
    }
    close(fds[1]);
    while (read(fds[0], &v, sizeof v) == sizeof v) {
        n++;
        if (v < 1 || v > 400)
            bad++;
        else if (seen[v]++)
            dup++;
    }
    close(fds[0]);
    for (int k = 0; k < 4; k++)
        if (waitpid(kids[k], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            bad++;
    tap_is_int(n, 400, "4 processes x 100 failures recorded");
    tap_ok(bad == 0 && dup == 0, "each add saw its own count: 1 to 400, none twice");
    tp_store_fail_count(st, "carol", 0, &count, NULL);
    tap_is_int(count, 400, "the tally is exact");
    tp_store_close(st);
}

static void test_fork(const char *db)
{
    struct tp_store *st;
    struct tp_user u;
    char err[1024];
    pid_t pid;
    int status;

    if (open_rc(uri_of(db, NULL), 0, &st, err, sizeof err) != TP_STORE_OK) {
        tap_ok(0, "open: %s", err);
        return;
    }
    tap_is_int(tp_store_user_get(st, "carol", &u), TP_STORE_OK, "the parent reads");
    tp_user_clear(&u);
    fflush(stdout);
    if ((pid = fork()) == 0) {
        int rc = tp_store_user_get(st, "carol", &u);
        int ok = rc == TP_STORE_ERR && contains(tp_store_error(st), "used after fork");
        tp_user_clear(&u);
        tp_store_close(st);           /* drops what it inherited */
        _exit(ok ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "the child: any use is ERR \"used after fork\"; it closes the connection");
    tap_is_int(tp_store_user_get(st, "carol", &u), TP_STORE_OK,
               "the parent's connection still works after the child closed it");
    tp_user_clear(&u);
    tap_is_int(tp_store_fail_reset(st, "carol"), TP_STORE_OK, "and writes");
    tp_store_close(st);
}

/* The store's connections to db inside a transaction, as the server sees
 * them: after waiting up to 2 s for want (-1: no wait), or -1. */
static long in_transaction(const char *db, long want)
{
    char q[256];
    long n = -1;

    snprintf(q, sizeof q, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
             " AND state LIKE 'idle in transaction%%'", db);
    for (int i = 0; i < 200; i++) {
        if (sql_val(db, q, &n) != 0 || want < 0 || n == want)
            break;
        usleep(10000);
    }
    return n;
}

/* A scope of two reads of alice (the second begins its snapshot). */
static void scope_of_two(struct tp_store *st, const char *scope, const char *first)
{
    struct tp_user u;

    tap_is_int(tp_store_read_begin(st), TP_STORE_OK, "%s", scope);
    tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_OK, "%s", first);
    tp_user_clear(&u);
    tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_OK, "and a second");
    tp_user_clear(&u);
    tp_store_read_end(st);
}

/* A read scope: its first statement alone (no transaction), its second
 * with BEGIN and the first again in one round trip, its COMMIT without a
 * wait: the server ends the transaction all the same, and the connection
 * reads the answer before its next command. */
static void test_read_scope_ends(const char *db)
{
    struct tp_store *st;
    struct tp_user u;
    char err[1024];

    tap_diag("a read scope's transaction on the server");
    if (open_rc(uri_of(db, NULL), 0, &st, err, sizeof err) != TP_STORE_OK)
        th_bail("open: %s", err);
    tap_is_int(tp_store_read_begin(st), TP_STORE_OK, "a scope begins: nothing sent");
    tap_is_int(in_transaction(db, -1), 0, "no transaction yet");
    tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_OK, "the first read");
    tp_user_clear(&u);
    tap_is_int(in_transaction(db, -1), 0, "runs alone: still no transaction");
    tp_store_read_end(st);
    tap_is_int(tp_store_read_begin(st), TP_STORE_OK, "a scope");
    tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_OK, "a first read");
    tp_user_clear(&u);
    tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_OK, "a second read");
    tp_user_clear(&u);
    tap_is_int(in_transaction(db, -1), 1, "the second began the snapshot: a transaction on the server");
    tp_store_read_end(st);
    tap_is_int(in_transaction(db, 0), 0, "the end of the scope ends it there (COMMIT, not waited for)");
    for (int i = 0; i < 3; i++)
        scope_of_two(st, "a scope again", "its read (after the answer)");
    tap_is_int(tp_store_fail_add(st, "alice", 1000, 0, NULL), TP_STORE_OK,
               "a change after a scope's COMMIT");
    tap_is_int(tp_store_fail_reset(st, "alice"), TP_STORE_OK, "and another");
    tap_is_int(in_transaction(db, 0), 0, "nothing left open");
    scope_of_two(st, "a scope", "a read");
    {
        char q[256];
        snprintf(q, sizeof q, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                 " WHERE datname = '%s' AND pid <> pg_backend_pid()", db);
        tap_ok(sql(db, q) == 0, "the server ends the store's connection after the COMMIT");
    }
    tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_UNAVAIL,
               "the next command finds the connection lost");
    tap_ok(contains(tp_store_error(st), "ending a read") || contains(tp_store_error(st), "lost")
           || contains(tp_store_error(st), "terminat"), "and says so: %s", tp_store_error(st));
    tp_store_close(st);
}

/* The same with a libpq that has no pipeline mode (13 and older): BEGIN
 * and the first read one after the other. */
static void test_read_scope_ends_old_libpq(const char *db)
{
    __typeof__(tp_pq.PQenterPipelineMode) keep = tp_pq.PQenterPipelineMode;

    tap_diag("as with libpq 13 (no pipeline mode)");
    tp_pq.PQenterPipelineMode = NULL;
    test_read_scope_ends(db);
    tp_pq.PQenterPipelineMode = keep;
}

int main(void)
{
    const char *db;

    server = getenv("TREX_PAM_TEST_PG");
    if (server == NULL || *server == '\0') {
        printf("1..0 # SKIP TREX_PAM_TEST_PG names no PostgreSQL server\n");
        return 0;
    }
    test_lazy_libpq();
    test_schema();
    db = newdb();
    {
        struct tp_store *st;
        char err[1024];
        if (open_rc(uri_of(db, NULL), TP_STORE_CREATE, &st, err, sizeof err) != TP_STORE_OK)
            th_bail("cannot make the store: %s", err);
        add_user(st, "alice");
        tp_store_close(st);
    }
    test_secrets(db);
    test_read_scope_ends(db);
    test_read_scope_ends_old_libpq(db);
    test_lock_wait(db);
    test_concurrent_tallies(db);
    test_fork(db);
    test_faults(db);
    return th_done();
}
