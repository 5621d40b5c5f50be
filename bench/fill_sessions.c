/*
 * bench/fill_sessions.c - live sessions in a TRex::PAM store, and the
 * store's own part of a session check, for bench/session. bench/session
 * compiles it with perl's C compiler against c/libtrexpam.a (the store's own
 * open: the file is checked and brought to the current schema exactly as
 * the modules see it; the IDs and digests of crypto/token.c) and libsqlite3.
 *
 *   fill_sessions DB COUNT USERS NOW SAMPLE IDS
 *       COUNT sessions over the users fill00000.. (USERS of them, made with
 *       no password), SAMPLE of them with real IDs, whose "user<TAB>ID"
 *       lines go to the new file IDS (mode 0600), in one transaction.
 *   fill_sessions --reads DB IDS SECONDS
 *       the store's part of one session check, per second, going through
 *       the sessions of IDS in turn: the digest of the ID, then the reads the
 *       web stack makes (faillock preauth: fail_count; session: session_get;
 *       userdb account: user_get), on one connection kept open.
 *   fill_sessions --api DB SECONDS NOW
 *       tp_store_session_add for SECONDS, a transaction each (user fill00000).
 *   fill_sessions --count DB
 *       the number of sessions.
 *
 * Why one transaction of plain SQL: the store API adds a session per
 * transaction and every commit waits for the disk, so a million that way
 * takes minutes (--api measures it). The sessions without a known ID get
 * random 32-byte digests (the shape of the real ones). All are live under
 * the example's idle=1800 lifetime=43200: created 15 min to 6 h ago, used in
 * the last 15 min (the sampled ones: used NOW, so none is touched during a
 * short run). A checkpoint at the end leaves the file as a store at rest
 * (nothing in the -wal). Prints what it did on one line.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "store.h"
#include "token.h"
#include "secret.h"

#define MAX_SAMPLE 100000

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

static int fill(const char *path, long long count, long long users, long long now, long long nsample,
                const char *ids)
{
    static const char *const users_sql =
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)"
        " INSERT OR IGNORE INTO users (name, hash, created) SELECT printf('fill%05d', i), '', ?2 FROM n";
    static const char *const sessions_sql =
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)"
        " INSERT INTO sessions (digest, user, created, last_used, rhost)"
        " SELECT randomblob(32), printf('fill%05d', i % ?2), ?3 - 900 - abs(random() % 20700),"
        " ?3 - abs(random() % 900), printf('198.51.100.%d', i % 250 + 1) FROM n";
    struct tp_store *st;
    sqlite3 *db = NULL;
    FILE *fp;
    double t0 = now_s(), t1;
    int fd, rc;

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
    /* the B-trees stay in memory until the commit: no spill, no re-reads */
    if (sqlite3_exec(db, "PRAGMA cache_size = -524288; BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, "begin");
    if ((rc = run3(db, users_sql, users, now, 0)) != SQLITE_OK)
        return fail(db, "users");
    if (count > nsample && (rc = run3(db, sessions_sql, count - nsample, users, now)) != SQLITE_OK)
        return fail(db, "sessions");
    if ((rc = sample(db, fp, nsample, users, now)) != SQLITE_OK)
        return fail(db, "sessions with IDs");
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

/* The store's part of a check, as often as it goes in `seconds`. */
static int reads(const char *path, const char *ids, double seconds)
{
    unsigned char dg[TP_SESSION_DIGEST_LEN];
    struct tp_store *st;
    struct sess_id *v;
    struct tp_session ses;
    struct tp_user u;
    double t0, t;
    int64_t latest;
    long n = 0, k = 0, nids = load_ids(ids, &v);
    int count, bad = 0;

    if (nids <= 0 || tp_token_init() != 0) {
        fprintf(stderr, "fill_sessions: no session IDs in %s\n", ids);
        free(v);
        return 2;
    }
    if ((st = store_open(path)) == NULL) {
        free(v);
        return 1;
    }
    t0 = now_s();
    do {
        for (int i = 0; i < 100 && !bad; i++, k = (k + 1) % nids) {
            const char *user = v[k].user;
            memset(&ses, 0, sizeof ses);
            tp_user_init(&u);
            bad = tp_token_digest(v[k].id, NULL, dg) != 0
                  || tp_store_fail_count(st, user, 0, &count, &latest) != TP_STORE_OK
                  || tp_store_session_get(st, dg, &ses) != TP_STORE_OK;
            bad = bad || strcmp(ses.user, user) != 0;
            tp_session_clear(&ses);
            bad = bad || tp_store_user_get(st, user, &u) != TP_STORE_OK;
            tp_user_clear(&u);
        }
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
    if (argc == 5 && strcmp(argv[1], "--api") == 0) {
        srand((unsigned int)time(NULL));
        return api(argv[2], strtod(argv[3], NULL), number(argv[4], "NOW"));
    }
    if (argc == 5 && strcmp(argv[1], "--reads") == 0)
        return reads(argv[2], argv[3], strtod(argv[4], NULL));
    if (argc == 3 && strcmp(argv[1], "--count") == 0)
        return count_sessions(argv[2]);
    if (argc == 7 && argv[1][0] != '-')
        return fill(argv[1], number(argv[2], "COUNT"), number(argv[3], "USERS"),
                    number(argv[4], "NOW"), number(argv[5], "SAMPLE"), argv[6]);
    fprintf(stderr, "usage: fill_sessions DB COUNT USERS NOW SAMPLE IDS | --reads DB IDS SECONDS"
            " | --api DB SECONDS NOW | --count DB\n");
    return 2;
}
