/*
 * bench/fill_sessions.c - live sessions in a TRex::PAM store, the store's
 * own part of a session check, and writers of sessions' last use, for
 * bench/session. bench/session compiles it with perl's C compiler against
 * c/libtrexpam.a (the store's own open: the file is checked and brought to
 * the current schema exactly as the modules see it; the IDs and digests of
 * crypto/token.c) and libsqlite3.
 *
 *   fill_sessions DB COUNT USERS NOW SAMPLE IDS
 *       COUNT sessions over the users fill00000.. (USERS of them, made with
 *       no password), SAMPLE of them with real IDs, whose "user<TAB>ID"
 *       lines go to the new file IDS (mode 0600), in one transaction.
 *   fill_sessions --reads DB IDS SECONDS ORDER
 *       the store's part of one session check, per second, going through
 *       the sessions of IDS in turn: the digest of the ID, then the reads
 *       the stack makes, in one read transaction (tp_store_read_begin ..
 *       tp_store_read_end), on one connection kept open. ORDER default (the
 *       built-in default stack): faillock preauth's user_get and
 *       fail_count, session's session_get, userdb account's user_get;
 *       ORDER webmail (examples/pam.d/webmail): session_get, user_get.
 *       SECONDS 0: one check in this new process (open, the reads, close),
 *       printing nothing: the floor of a CGI process's store work.
 *   fill_sessions --exit
 *       exits at once: the same program and libraries, loaded and gone (the
 *       baseline of --reads with SECONDS 0).
 *   fill_sessions --touch DB IDS RATE K N
 *       a writer: the sessions of IDS whose line number is K modulo N, in
 *       turn, RATE per second, each through tp_store_session_touch(st,
 *       digest, now, 0) (a write whenever its last use is before this
 *       second); prints "ready" once the store is open, and at SIGTERM (or
 *       when its parent is gone) "TOUCHES WRITES SECONDS".
 *   fill_sessions --api DB SECONDS NOW
 *       tp_store_session_add for SECONDS, a transaction each (user fill00000).
 *   fill_sessions --count DB
 *       the number of sessions.
 *
 * Why one transaction of plain SQL: the store API adds a session per
 * transaction and every commit waits for the disk, so a million that way
 * takes minutes (--api measures it). The sessions without a known ID get
 * random 32-byte digests (the shape of the real ones), inserted in digest
 * order with the sessions' secondary indexes dropped and made again after
 * (the same schema; the B-trees come out packed, as after a VACUUM). All
 * are live under the example's idle=1800 lifetime=43200: created 15 min to
 * 6 h ago, used in the last 15 min (the sampled ones: used NOW, so none is
 * touched by a check during a short run). A checkpoint at the end leaves
 * the file as a store at rest (nothing in the -wal). Prints what it did on
 * one line.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "store.h"
#include "token.h"
#include "secret.h"

/* A store without read scopes (before tp_store_read_begin/end): each read
 * is its own transaction; bench/session says so on the floor's rows. */
#ifdef BENCH_NO_READ_SCOPE
#define tp_store_read_begin(st) ((void)(st), TP_STORE_OK)
#define tp_store_read_end(st) ((void)(st))
#endif

#define MAX_SAMPLE 100000
#define MAX_INDEXES 16

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long number(const char *s, const char *what)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "fill_sessions: %s: not a number: %s\n", what, s);
        exit(2);
    }
    return v;
}

static struct tp_store *store_open(const char *path)
{
    struct tp_store *st = NULL;
    char err[1024];

    if (tp_store_open(path, 0, &st, err, sizeof err) != TP_STORE_OK) {
        fprintf(stderr, "fill_sessions: %s\n", err);
        return NULL;
    }
    return st;
}

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "fill_sessions: %s: %s\n", what, sqlite3_errmsg(db));
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return 1;
}

/* One statement with ?1..?3 bound to a, b, c, run to the end. */
static int run3(sqlite3 *db, const char *sql, long long a, long long b, long long c)
{
    sqlite3_stmt *p = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &p, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(p, 1, a);
        sqlite3_bind_int64(p, 2, b);
        sqlite3_bind_int64(p, 3, c);
        rc = sqlite3_step(p);
    }
    sqlite3_finalize(p);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* SAMPLE sessions with real IDs: digests inserted, "user\tID" lines to fp. */
static int sample(sqlite3 *db, FILE *fp, long long n, long long users, long long now)
{
    static const char *const sql =
        "INSERT INTO sessions (digest, user, created, last_used, rhost)"
        " VALUES (?1, printf('fill%05d', ?2), ?3 - 900 - abs(random() % 20700), ?3, '203.0.113.9')";
    char text[TP_TOKEN_TEXT_SIZE];
    unsigned char dg[TP_TOKEN_DIGEST_LEN];
    sqlite3_stmt *p = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &p, NULL);

    for (long long i = 0; rc == SQLITE_OK && i < n; i++) {
        if (tp_token_new(text, dg, NULL) != 0) {
            fprintf(stderr, "fill_sessions: no random bytes\n");
            rc = SQLITE_ERROR;
            break;
        }
        sqlite3_bind_blob(p, 1, dg, sizeof dg, SQLITE_TRANSIENT);
        sqlite3_bind_int64(p, 2, i % users);
        sqlite3_bind_int64(p, 3, now);
        rc = sqlite3_step(p);
        sqlite3_reset(p);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        if (fprintf(fp, "fill%05lld\t%s\n", i % users, text) < 0)
            rc = SQLITE_IOERR;
    }
    tp_secret_wipe(text, sizeof text);
    sqlite3_finalize(p);
    return rc;
}

/* The sessions' secondary indexes: their CREATE statements into sql[] (how
 * many, or -1), and dropped. */
static int drop_indexes(sqlite3 *db, char *sql[MAX_INDEXES])
{
    sqlite3_stmt *p = NULL;
    char name[MAX_INDEXES][128];
    int n = 0, rc = sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                                       " AND tbl_name = 'sessions' AND sql IS NOT NULL", -1, &p, NULL);

    while (rc == SQLITE_OK && n < MAX_INDEXES && sqlite3_step(p) == SQLITE_ROW) {
        snprintf(name[n], sizeof name[n], "%s", (const char *)sqlite3_column_text(p, 0));
        sql[n++] = sqlite3_mprintf("%s", (const char *)sqlite3_column_text(p, 1));
    }
    sqlite3_finalize(p);
    for (int i = 0; rc == SQLITE_OK && i < n; i++) {
        char *drop = sqlite3_mprintf("DROP INDEX \"%w\"", name[i]);
        rc = sqlite3_exec(db, drop, NULL, NULL, NULL);
        sqlite3_free(drop);
    }
    return rc == SQLITE_OK ? n : -1;
}

static int fill(const char *path, long long count, long long users, long long now, long long nsample,
                const char *ids)
{
    static const char *const users_sql =
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)"
        " INSERT OR IGNORE INTO users (name, hash, created) SELECT printf('fill%05d', i), '', ?2 FROM n";
    static const char *const sessions_sql =
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)"
        " INSERT INTO sessions (digest, user, created, last_used, rhost)"
        " SELECT d, printf('fill%05d', i % ?2), ?3 - 900 - abs(random() % 20700),"
        " ?3 - abs(random() % 900), printf('198.51.100.%d', i % 250 + 1)"
        " FROM (SELECT randomblob(32) AS d, i FROM n) ORDER BY d";
    struct tp_store *st;
    sqlite3 *db = NULL;
    char *index_sql[MAX_INDEXES];
    FILE *fp;
    double t0 = now_s(), t1;
    int fd, rc, nindex;

    if (nsample > count || nsample > MAX_SAMPLE || users < 1) {
        fprintf(stderr, "fill_sessions: SAMPLE must be at most COUNT and %d, USERS at least 1\n",
                MAX_SAMPLE);
        return 2;
    }
    if ((st = store_open(path)) == NULL)
        return 1;
    tp_store_close(st);
    if ((fd = open(ids, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0 ||
        (fp = fdopen(fd, "w")) == NULL) {
        perror(ids);
        return 1;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return fail(db, "open");
    sqlite3_busy_timeout(db, 20000);
    /* the B-trees stay in memory until the commit: no spill, no re-reads;
     * a temporary file: no need to wait for the disk */
    if (sqlite3_exec(db, "PRAGMA cache_size = -524288; PRAGMA synchronous = OFF; BEGIN IMMEDIATE",
                     NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, "begin");
    if ((rc = run3(db, users_sql, users, now, 0)) != SQLITE_OK)
        return fail(db, "users");
    if ((nindex = drop_indexes(db, index_sql)) < 0)
        return fail(db, "dropping the indexes");
    if (count > nsample && (rc = run3(db, sessions_sql, count - nsample, users, now)) != SQLITE_OK)
        return fail(db, "sessions");
    if ((rc = sample(db, fp, nsample, users, now)) != SQLITE_OK)
        return fail(db, "sessions with IDs");
    for (int i = 0; i < nindex; i++) {
        rc = rc == SQLITE_OK ? sqlite3_exec(db, index_sql[i], NULL, NULL, NULL) : rc;
        sqlite3_free(index_sql[i]);
    }
    if (rc != SQLITE_OK)
        return fail(db, "making the indexes again");
    if (fclose(fp) != 0) {
        perror(ids);
        return fail(db, "the ID file");
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, "commit");
    t1 = now_s();
    if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, "checkpoint");
    sqlite3_close(db);
    printf("%lld sessions (%lld with known IDs) over %lld users in one transaction: %.2f s,"
           " checkpoint %.2f s\n", count, nsample, users, t1 - t0, now_s() - t1);
    return 0;
}

/* The number of sessions, read through plain SQLite (read-only). */
static int count_sessions(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *p = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);

    if (rc != SQLITE_OK || sqlite3_prepare_v2(db, "SELECT count(*) FROM sessions", -1, &p, NULL) != SQLITE_OK
        || sqlite3_step(p) != SQLITE_ROW)
        return fail(db, "count");
    printf("%lld\n", (long long)sqlite3_column_int64(p, 0));
    sqlite3_finalize(p);
    sqlite3_close(db);
    return 0;
}

struct sess_id {
    char user[64];
    char id[TP_TOKEN_TEXT_SIZE];
};

/* The "user\tID" lines of path: how many, or -1. */
static long load_ids(const char *path, struct sess_id **out)
{
    FILE *fp = fopen(path, "r");
    struct sess_id *v = NULL;
    char line[256];
    long n = 0;

    *out = NULL;
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
        struct sess_id *w;
        if (tab == NULL || nl == NULL || (size_t)(tab - line) >= sizeof v->user ||
            (size_t)(nl - tab - 1) >= sizeof v->id || (w = realloc(v, (n + 1) * sizeof *v)) == NULL)
            break;
        v = w;
        *tab = *nl = '\0';
        snprintf(v[n].user, sizeof v[n].user, "%s", line);
        snprintf(v[n].id, sizeof v[n].id, "%s", tab + 1);
        n++;
    }
    fclose(fp);
    explicit_bzero(line, sizeof line);
    *out = v;
    return n;
}

/* One check's reads, in one read transaction: default or webmail order
 * (the stacks' order of reads); non-zero if one failed or the session is
 * not the user's. */
static int check_reads(struct tp_store *st, const struct sess_id *id, int webmail)
{
    unsigned char dg[TP_SESSION_DIGEST_LEN];
    struct tp_session ses;
    struct tp_user u;
    int64_t latest;
    int count, bad;

    memset(&ses, 0, sizeof ses);
    if (tp_token_digest(id->id, NULL, dg) != 0 || tp_store_read_begin(st) != TP_STORE_OK)
        return 1;
    tp_user_init(&u);
    bad = !webmail && (tp_store_user_get(st, id->user, &u) != TP_STORE_OK
                       || tp_store_fail_count(st, id->user, 0, &count, &latest) != TP_STORE_OK);
    tp_user_clear(&u);
    bad = bad || tp_store_session_get(st, dg, &ses) != TP_STORE_OK || strcmp(ses.user, id->user) != 0;
    tp_session_clear(&ses);
    bad = bad || tp_store_user_get(st, id->user, &u) != TP_STORE_OK;
    tp_user_clear(&u);
    tp_store_read_end(st);
    return bad;
}

/* The store's part of a check, as often as it goes in `seconds`. */
static int reads(const char *path, const char *ids, double seconds, const char *order)
{
    struct tp_store *st;
    struct sess_id *v;
    double t0, t;
    long n = 0, k = 0, nids = load_ids(ids, &v);
    int bad = 0, webmail = strcmp(order, "webmail") == 0;

    if (!webmail && strcmp(order, "default") != 0) {
        fprintf(stderr, "fill_sessions: --reads: ORDER is default or webmail\n");
        free(v);
        return 2;
    }
    if (nids <= 0 || tp_token_init() != 0) {
        fprintf(stderr, "fill_sessions: no session IDs in %s\n", ids);
        free(v);
        return 2;
    }
    if ((st = store_open(path)) == NULL) {
        free(v);
        return 1;
    }
    if (seconds == 0) {                /* one check, as a CGI process makes it */
        if ((bad = check_reads(st, &v[0], webmail)) != 0)
            fprintf(stderr, "fill_sessions: the reads failed: %s\n", tp_store_error(st));
        tp_store_close(st);
        explicit_bzero(v, nids * sizeof *v);
        free(v);
        return bad;
    }
    t0 = now_s();
    do {
        for (int i = 0; i < 100 && !bad; i++, k = (k + 1) % nids)
            bad = check_reads(st, &v[k], webmail);
        n += 100;
    } while (!bad && (t = now_s() - t0) < seconds);
    if (bad)
        fprintf(stderr, "fill_sessions: the reads failed: %s\n", tp_store_error(st));
    else
        printf("%.3f\n", n / t);
    tp_store_close(st);
    explicit_bzero(v, nids * sizeof *v);
    free(v);
    return bad;
}

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

/* A writer of last-use times: RATE touches per second on the sessions of
 * IDS numbered K modulo N, until SIGTERM. */
static int touch(const char *path, const char *ids, double rate, long k, long nw)
{
    unsigned char dg[TP_SESSION_DIGEST_LEN];
    struct sigaction sa;
    struct tp_store *st;
    struct tp_session ses;
    struct sess_id *v;
    long nids = load_ids(ids, &v), touches = 0, writes = 0, i = k;
    pid_t parent = getppid();
    double t0, next;
    int bad = 0;

    if (nids <= k || rate <= 0 || nw < 1 || tp_token_init() != 0) {
        fprintf(stderr, "fill_sessions: --touch: no session %ld in %s, or a bad RATE or N\n", k, ids);
        free(v);
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    if ((st = store_open(path)) == NULL) {
        free(v);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    t0 = next = now_s();
    while (!stop && !bad && getppid() == parent) {
        double now = now_s();
        int64_t wall = (int64_t)time(NULL);
        if (now < next) {
            struct timespec ts = { 0, (long)((next - now) * 1e9) };
            nanosleep(&ts, NULL);
            continue;
        }
        next += 1.0 / rate;
        memset(&ses, 0, sizeof ses);
        bad = tp_token_digest(v[i].id, NULL, dg) != 0 || tp_store_session_get(st, dg, &ses) != TP_STORE_OK;
        writes += !bad && ses.last_used < wall;      /* touch writes when last use is before now */
        tp_session_clear(&ses);
        bad = bad || tp_store_session_touch(st, dg, wall, 0) != TP_STORE_OK;
        touches++;
        if ((i += nw) >= nids)
            i = k;
    }
    if (bad)
        fprintf(stderr, "fill_sessions: touch failed: %s\n", tp_store_error(st));
    printf("%ld %ld %.3f\n", touches, writes, now_s() - t0);
    tp_store_close(st);
    explicit_bzero(v, nids * sizeof *v);
    free(v);
    return bad;
}

/* The store API, one transaction per session, for `seconds`. */
static int api(const char *path, double seconds, long long now)
{
    struct tp_store *st;
    struct tp_session s;
    double t0, t;
    long n = 0;

    if ((st = store_open(path)) == NULL)
        return 1;
    memset(&s, 0, sizeof s);
    s.user = "fill00000";
    s.created = s.last_used = now;
    t0 = now_s();
    do {
        for (size_t i = 0; i < sizeof s.digest; i++)
            s.digest[i] = (unsigned char)rand();
        if (tp_store_session_add(st, &s) != TP_STORE_OK) {
            fprintf(stderr, "fill_sessions: %s\n", tp_store_error(st));
            tp_store_close(st);
            return 1;
        }
        n++;
    } while ((t = now_s() - t0) < seconds);
    tp_store_close(st);
    printf("%ld sessions through tp_store_session_add in %.2f s: %.0f/s\n", n, t, n / t);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--exit") == 0)
        return 0;
    if (argc == 5 && strcmp(argv[1], "--api") == 0) {
        srand((unsigned int)time(NULL));
        return api(argv[2], strtod(argv[3], NULL), number(argv[4], "NOW"));
    }
    if (argc == 6 && strcmp(argv[1], "--reads") == 0)
        return reads(argv[2], argv[3], strtod(argv[4], NULL), argv[5]);
    if (argc == 7 && strcmp(argv[1], "--touch") == 0)
        return touch(argv[2], argv[3], strtod(argv[4], NULL), (long)number(argv[5], "K"),
                     (long)number(argv[6], "N"));
    if (argc == 3 && strcmp(argv[1], "--count") == 0)
        return count_sessions(argv[2]);
    if (argc == 7 && argv[1][0] != '-')
        return fill(argv[1], number(argv[2], "COUNT"), number(argv[3], "USERS"),
                    number(argv[4], "NOW"), number(argv[5], "SAMPLE"), argv[6]);
    fprintf(stderr, "usage: fill_sessions DB COUNT USERS NOW SAMPLE IDS | --reads DB IDS SECONDS ORDER"
            " | --touch DB IDS RATE K N | --api DB SECONDS NOW | --count DB | --exit\n");
    return 2;
}
