/*
 * sqlite.c - the embedded store: one SQLite file (DESIGN.md section 5,
 * store.h for the contract).
 *
 * Files and permissions
 * - TP_STORE_CREATE makes the file here, open(O_CREAT|O_EXCL|O_NOFOLLOW)
 *   with mode 0600 (0660 with TP_STORE_GROUP) and then fchmod to exactly
 *   that mode, so it is never wider, whatever the umask; SQLite itself is
 *   never allowed to create it. SQLite gives the -wal and -shm files the
 *   mode of the database.
 * - Refused with TP_STORE_UNAVAIL: a directory writable by everyone (sticky
 *   or not, also the directory a symbolic link points into), a file or
 *   -wal/-shm writable by everyone, a file owned by neither this user nor
 *   root, something not a regular file; a file that is not a database, is
 *   corrupt, empty (unless CREATE), another application's, or of a newer
 *   schema. Such a file is never written: no journal mode change, no
 *   schema, and no checkpoint when the connection closes.
 *
 * Schema: PRAGMA application_id TP_SQLITE_APP_ID and the table
 * trex_pam_meta ('application' = 'TRex::PAM', 'schema_version' = N) mark a
 * TRex::PAM store (a file restored from `.dump` loses the application_id and
 * is still recognised by its meta rows). migrations[i] takes version i to
 * i + 1; a new file is version 0 taken through all of them, in the same one
 * transaction that creates it. An older file is upgraded in one transaction
 * by the first read-write open (another process doing it at the same moment
 * is seen inside that transaction, and nothing is done twice); a read-only
 * open uses a file of version READABLE_FROM or later as it is, and refuses
 * an older one. Version 2 adds the session indexes for a million sessions.
 *
 * Concurrency: WAL; every change is one BEGIN IMMEDIATE transaction; the
 * busy timeout waits for the lock, and a transaction that still meets
 * SQLITE_BUSY or SQLITE_LOCKED is rolled back and run again after a random
 * pause, for up to RETRY_MS in all. A connection belongs to one thread and
 * one process (open it after fork); one closed in another process (a child
 * dropping what it inherited) is closed without the checkpoint of a last
 * connection, so it writes nothing to files its parent may be using.
 *
 * Cost: opening a current store is sqlite3_open_v2 plus two reads
 * (application_id, the meta rows) and no DDL; statements are prepared on
 * first use and kept. A user lookup is one statement: a point query on the
 * users primary key joined to the attribute rows under the same key. The
 * -wal and -shm files stay when the last connection closes (the -wal
 * emptied), so a lone process does not create and unlink them each time.
 * A session lookup is one search of the digest primary key (the table is
 * WITHOUT ROWID: the row is in the key's leaf, no second lookup): two
 * pages deep at a thousand sessions, four at a million (4 KiB pages); purge
 * and a user's sessions are index searches (migration 1 -> 2).
 *
 * Rows: users, sessions and failures belong to a user (foreign keys, ON
 * DELETE CASCADE): a session or failure for an unknown user is
 * TP_STORE_NOTFOUND, and deleting a user deletes them. Failures keep the
 * FAIL_KEEP newest rows per user.
 *
 * Secrets: strings are bound SQLITE_STATIC, so SQLite makes no copy of a
 * hash or digest in its own memory for the bind; every statement is reset
 * and unbound before the call returns. secure_delete overwrites deleted and
 * replaced rows on disk. Error texts name the file and the operation, never
 * a value.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include "backend.h"

#define TP_SQLITE_APP_ID 0x54525850     /* "TRXP" */
#define APP_MARKER       "TRex::PAM"
#define BUSY_TIMEOUT_MS  5000           /* one wait for the lock */
#define RETRY_MS         20000          /* all the waits and retries of one call */
#define FAIL_KEEP        1024           /* failure rows kept per user (the newest) */

#define RETRY (-1)                      /* internal: SQLITE_BUSY/LOCKED, run it again */

/* ---- schema ------------------------------------------------------------------ */

static const char *const migrations[] = {
    /* 0 -> 1: users, attributes, sessions, failure tallies */
    "CREATE TABLE users ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  force_change INTEGER NOT NULL DEFAULT 0,"
    "  expires INTEGER NOT NULL DEFAULT 0,"
    "  pw_changed INTEGER NOT NULL DEFAULT 0,"
    "  pw_min_days INTEGER NOT NULL DEFAULT 0,"
    "  pw_max_days INTEGER NOT NULL DEFAULT -1,"
    "  pw_warn_days INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE user_attrs ("
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (user, name)"
    ") WITHOUT ROWID;"
    "CREATE TABLE sessions ("
    "  digest BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),"
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  created INTEGER NOT NULL,"
    "  last_used INTEGER NOT NULL,"
    "  rhost TEXT"
    ") WITHOUT ROWID;"
    "CREATE INDEX sessions_user ON sessions(user);"
    "CREATE TABLE failures ("
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  time INTEGER NOT NULL"
    ");"
    "CREATE INDEX failures_user_time ON failures(user, time);",

    /* 1 -> 2: sessions at scale (a million live ones). The lookup is the
     * digest primary key already; these make everything else an index
     * search: purge (last_used < ? OR created < ?: a MULTI-INDEX OR of two
     * range searches, not a scan of the table), and one user's sessions
     * (list in (created, digest) order straight from the index, delete_user,
     * the foreign-key cascade), which replaces the index on user alone.
     * Only indexes: a version 1 file is read with the same statements. */
    "CREATE INDEX sessions_last_used ON sessions(last_used);"
    "CREATE INDEX sessions_created ON sessions(created);"
    "CREATE INDEX sessions_user_created ON sessions(user, created);"
    "DROP INDEX sessions_user;",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))
/* The oldest version this code reads as it is: a read-only connection to a
 * file at least this new is used without upgrading it (the later
 * migrations only add indexes, so every statement below works on it, only
 * slower at scale). An older one needs one read-write open first. */
#define READABLE_FROM 1

/* The column list read into a struct tp_user (read_user). */
#define USER_COLS "u.hash, u.disabled, u.force_change, u.expires, u.pw_changed, " \
                  "u.pw_min_days, u.pw_max_days, u.pw_warn_days, u.created, a.name, a.value"
#define USER_NCOLS 9

/* user_update binds the mask and tests these bits in SQL. */
_Static_assert(TP_USER_HASH == 0x001 && TP_USER_DISABLED == 0x002 && TP_USER_FORCE_CHANGE == 0x004
               && TP_USER_EXPIRES == 0x008 && TP_USER_PW_CHANGED == 0x010 && TP_USER_PW_MIN == 0x020
               && TP_USER_PW_MAX == 0x040 && TP_USER_PW_WARN == 0x080,
               "user_update's SQL spells out the TP_USER_* bits");

enum stmt_id {
    S_BEGIN, S_COMMIT, S_ROLLBACK,
    S_USER_GET, S_USER_EXISTS, S_USER_ADD, S_USER_UPDATE, S_USER_SET_HASH, S_USER_DELETE,
    S_USER_LIST, S_ATTR_PUT, S_ATTR_DELETE,
    S_SES_ADD, S_SES_GET, S_SES_LAST, S_SES_TOUCH, S_SES_DELETE, S_SES_DELETE_USER,
    S_SES_PURGE, S_SES_LIST_ALL, S_SES_LIST_USER,
    S_FAIL_ADD, S_FAIL_STATS, S_FAIL_TRIM, S_FAIL_COUNT, S_FAIL_RESET,
    S_COUNT
};

static const char *const sql_text[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_USER_GET] = "SELECT " USER_COLS " FROM users AS u"
                   " LEFT JOIN user_attrs AS a ON a.user = u.name"
                   " WHERE u.name = ?1 ORDER BY a.name",
    [S_USER_EXISTS] = "SELECT 1 FROM users WHERE name = ?1",
    [S_USER_ADD] = "INSERT INTO users (name, hash, disabled, force_change, expires, pw_changed,"
                   " pw_min_days, pw_max_days, pw_warn_days, created)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_USER_UPDATE] = "UPDATE users SET"
                      " hash = CASE WHEN ?2 & 1 THEN ?3 ELSE hash END,"
                      " disabled = CASE WHEN ?2 & 2 THEN ?4 ELSE disabled END,"
                      " force_change = CASE WHEN ?2 & 4 THEN ?5 ELSE force_change END,"
                      " expires = CASE WHEN ?2 & 8 THEN ?6 ELSE expires END,"
                      " pw_changed = CASE WHEN ?2 & 17 THEN ?7 ELSE pw_changed END,"
                      " pw_min_days = CASE WHEN ?2 & 32 THEN ?8 ELSE pw_min_days END,"
                      " pw_max_days = CASE WHEN ?2 & 64 THEN ?9 ELSE pw_max_days END,"
                      " pw_warn_days = CASE WHEN ?2 & 128 THEN ?10 ELSE pw_warn_days END"
                      " WHERE name = ?1",
    [S_USER_SET_HASH] = "UPDATE users SET hash = ?3, pw_changed = ?4, force_change = 0"
                        " WHERE name = ?1 AND (?2 IS NULL OR hash = ?2)",
    [S_USER_DELETE] = "DELETE FROM users WHERE name = ?1",
    [S_USER_LIST] = "SELECT u.name, " USER_COLS " FROM users AS u"
                    " LEFT JOIN user_attrs AS a ON a.user = u.name ORDER BY u.name, a.name",
    [S_ATTR_PUT] = "INSERT OR REPLACE INTO user_attrs (user, name, value) VALUES (?1, ?2, ?3)",
    [S_ATTR_DELETE] = "DELETE FROM user_attrs WHERE user = ?1 AND name = ?2",
    [S_SES_ADD] = "INSERT INTO sessions (digest, user, created, last_used, rhost)"
                  " VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_SES_GET] = "SELECT user, created, last_used, rhost FROM sessions WHERE digest = ?1",
    [S_SES_LAST] = "SELECT last_used FROM sessions WHERE digest = ?1",
    [S_SES_TOUCH] = "UPDATE sessions SET last_used = ?2 WHERE digest = ?1 AND last_used < ?3",
    [S_SES_DELETE] = "DELETE FROM sessions WHERE digest = ?1",
    [S_SES_DELETE_USER] = "DELETE FROM sessions WHERE user = ?1 AND (?2 IS NULL OR digest <> ?2)",
    [S_SES_PURGE] = "DELETE FROM sessions WHERE last_used < ?1 OR created < ?2",
    /* two statements: "?1 IS NULL OR user = ?1" would scan the whole table */
    [S_SES_LIST_ALL] = "SELECT digest, user, created, last_used, rhost FROM sessions"
                       " ORDER BY user, created, digest",
    [S_SES_LIST_USER] = "SELECT digest, user, created, last_used, rhost FROM sessions"
                        " WHERE user = ?1 ORDER BY created, digest",
    [S_FAIL_ADD] = "INSERT INTO failures (user, time) VALUES (?1, ?2)",
    [S_FAIL_STATS] = "SELECT count(*), coalesce(sum(time >= ?2), 0) FROM failures WHERE user = ?1",
    [S_FAIL_TRIM] = "DELETE FROM failures WHERE rowid IN (SELECT rowid FROM failures"
                    " WHERE user = ?1 ORDER BY time DESC, rowid DESC LIMIT -1 OFFSET ?2)",
    [S_FAIL_COUNT] = "SELECT count(*), coalesce(max(time), 0) FROM failures"
                     " WHERE user = ?1 AND time >= ?2",
    [S_FAIL_RESET] = "DELETE FROM failures WHERE user = ?1",
};

/* ---- the connection ------------------------------------------------------------ */

struct sq {
    struct tp_store base;           /* first: store.c sees only this */
    sqlite3 *db;
    char *where;                    /* the path as given, for messages */
    mode_t mode;                    /* of the file when opened */
    pid_t pid;                      /* the process that opened it */
    uint64_t rng;                   /* for the pauses between retries */
    sqlite3_stmt *stmt[S_COUNT];    /* prepared on first use */
};

static const struct tp_store_ops sqlite_ops;

static struct sq *sq_of(struct tp_store *st)
{
    return (struct sq *)st;         /* base is the first member */
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A random pause of 1..2^min(attempt,6) ms, so retrying processes spread out. */
static void pause_before_retry(struct sq *s, int attempt)
{
    uint64_t x = s->rng;
    unsigned int cap = 1u << (attempt < 6 ? attempt : 6);
    struct timespec ts;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(1 + x % cap) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int is_busy(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* Maps an SQLite failure to a store code with a message naming the file and
 * the operation ("reading a user") and SQLite's reason; BUSY gives RETRY. */
static int sq_fail(struct sq *s, int rc, const char *what)
{
    int code, sys = sqlite3_system_errno(s->db);

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return RETRY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        code = TP_STORE_UNAVAIL;
        break;
    default:
        code = TP_STORE_ERR;
        break;
    }
    if (rc == SQLITE_NOMEM)
        return tp_store_fail(&s->base, code, "%s: out of memory", what);
    if (sys != 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN))
        return tp_store_fail(&s->base, code, "%s: %s (%s)", what, sqlite3_errmsg(s->db),
                             strerror(sys));
    return tp_store_fail(&s->base, code, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int nomem(struct sq *s, const char *what)
{
    return tp_store_fail(&s->base, TP_STORE_ERR, "%s: out of memory", what);
}

static int prep(struct sq *s, enum stmt_id id, sqlite3_stmt **out)
{
    int rc = SQLITE_OK;

    if (s->stmt[id] == NULL)
        rc = sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
                                &s->stmt[id], NULL);
    *out = s->stmt[id];
    return rc;
}

/* Every bind is STATIC: the caller's memory stays valid until done(). */
static void bind_text(sqlite3_stmt *p, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(p, i);
    else
        sqlite3_bind_text(p, i, v, -1, SQLITE_STATIC);
}

static void bind_digest(sqlite3_stmt *p, int i, const unsigned char *d)
{
    if (d == NULL)
        sqlite3_bind_null(p, i);
    else
        sqlite3_bind_blob(p, i, d, TP_SESSION_DIGEST_LEN, SQLITE_STATIC);
}

static void done(sqlite3_stmt *p)
{
    if (p == NULL)
        return;
    sqlite3_reset(p);
    sqlite3_clear_bindings(p);
}

/* Steps a statement that returns no row; SQLITE_OK or the error. */
static int step_done(sqlite3_stmt *p)
{
    int rc = sqlite3_step(p);
    done(p);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A copy of a text column (NULL for SQL NULL; *oom set when malloc fails). */
static char *dup_col(sqlite3_stmt *p, int i, int *oom)
{
    const unsigned char *t;
    size_t n;
    char *c;

    if (sqlite3_column_type(p, i) == SQLITE_NULL)
        return NULL;
    t = sqlite3_column_text(p, i);
    n = (size_t)sqlite3_column_bytes(p, i);
    if (t == NULL || (c = malloc(n + 1)) == NULL) {
        *oom = 1;
        return NULL;
    }
    memcpy(c, t, n);
    c[n] = '\0';
    return c;
}

/* ---- transactions and retries ------------------------------------------------------ */

typedef int (*body_fn)(struct sq *s, void *arg);

static int gave_up(struct sq *s, const char *what, int64_t start)
{
    return tp_store_fail(&s->base, TP_STORE_ERR,
                         "%s: the database stayed locked by other processes for %d s",
                         what, (int)((now_ms() - start) / 1000));
}

static void rollback(struct sq *s)
{
    sqlite3_stmt *p;

    if (sqlite3_get_autocommit(s->db))
        return;                       /* SQLite already rolled back */
    if (prep(s, S_ROLLBACK, &p) == SQLITE_OK)
        step_done(p);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* body inside BEGIN IMMEDIATE ... COMMIT; the whole transaction again on
 * BUSY/LOCKED. A body returning anything but TP_STORE_OK is rolled back. */
static int write_txn(struct sq *s, body_fn body, void *arg, const char *what)
{
    int64_t start = now_ms();
    sqlite3_stmt *p;
    int rc, code;

    for (int attempt = 0;; attempt++) {
        if ((rc = prep(s, S_BEGIN, &p)) == SQLITE_OK)
            rc = step_done(p);
        if (rc == SQLITE_OK) {
            code = body(s, arg);
            if (code == TP_STORE_OK) {
                if ((rc = prep(s, S_COMMIT, &p)) == SQLITE_OK)
                    rc = step_done(p);
                if (rc == SQLITE_OK)
                    return TP_STORE_OK;
                code = sq_fail(s, rc, what);
            }
            rollback(s);
        } else {
            code = sq_fail(s, rc, what);
        }
        if (code != RETRY)
            return code;
        if (now_ms() - start > RETRY_MS)
            return gave_up(s, what, start);
        pause_before_retry(s, attempt);
    }
}

/* A read (one statement, autocommit): again on BUSY/LOCKED. */
static int read_op(struct sq *s, body_fn body, void *arg, const char *what)
{
    int64_t start = now_ms();
    int code;

    for (int attempt = 0;; attempt++) {
        if ((code = body(s, arg)) != RETRY)
            return code;
        if (now_ms() - start > RETRY_MS)
            return gave_up(s, what, start);
        pause_before_retry(s, attempt);
    }
}

/* ---- users --------------------------------------------------------------------------- */

/* Reads the user columns starting at column c into u (not the name). */
static int read_user(sqlite3_stmt *p, int c, struct tp_user *u)
{
    int oom = 0;

    u->hash = dup_col(p, c, &oom);
    if (u->hash == NULL && !oom)
        u->hash = strdup("");         /* NOT NULL in the schema; never NULL for callers */
    u->disabled = sqlite3_column_int(p, c + 1) != 0;
    u->force_change = sqlite3_column_int(p, c + 2) != 0;
    u->expires = sqlite3_column_int64(p, c + 3);
    u->pw_changed = sqlite3_column_int64(p, c + 4);
    u->pw_min_days = sqlite3_column_int(p, c + 5);
    u->pw_max_days = sqlite3_column_int(p, c + 6);
    u->pw_warn_days = sqlite3_column_int(p, c + 7);
    u->created = sqlite3_column_int64(p, c + 8);
    return oom || u->hash == NULL ? -1 : 0;
}

/* Appends the attribute in columns c, c+1 (if not NULL: LEFT JOIN). */
static int read_attr(sqlite3_stmt *p, int c, struct tp_user *u)
{
    struct tp_attr *a;
    int oom = 0;

    if (sqlite3_column_type(p, c) == SQLITE_NULL)
        return 0;
    if ((a = realloc(u->attrs, (u->nattrs + 1) * sizeof *a)) == NULL)
        return -1;
    u->attrs = a;
    a += u->nattrs;
    a->name = dup_col(p, c, &oom);
    a->value = dup_col(p, c + 1, &oom);
    if (oom || a->name == NULL || a->value == NULL) {
        free(a->name);
        free(a->value);
        return -1;
    }
    u->nattrs++;
    return 0;
}

struct user_get_arg {
    const char *name;
    struct tp_user *out;
};

static int body_user_get(struct sq *s, void *arg)
{
    struct user_get_arg *g = arg;
    sqlite3_stmt *p;
    int rc, found = 0, bad = 0;

    if ((rc = prep(s, S_USER_GET, &p)) != SQLITE_OK)
        return sq_fail(s, rc, "reading a user");
    bind_text(p, 1, g->name);
    while (!bad && (rc = sqlite3_step(p)) == SQLITE_ROW) {
        if (!found) {
            found = 1;
            if (read_user(p, 0, g->out) != 0 || (g->out->name = strdup(g->name)) == NULL)
                bad = 1;
        }
        if (!bad && read_attr(p, USER_NCOLS, g->out) != 0)
            bad = 1;
    }
    done(p);
    if (bad || rc != SQLITE_DONE) {
        tp_user_clear(g->out);
        return bad ? nomem(s, "reading a user") : sq_fail(s, rc, "reading a user");
    }
    if (!found)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    return TP_STORE_OK;
}

static int sq_user_get(struct tp_store *st, const char *name, struct tp_user *out)
{
    struct user_get_arg g = { name, out };
    return read_op(sq_of(st), body_user_get, &g, "reading a user");
}

/* 1 the user exists, 0 not, or a negative store code (RETRY) / error code. */
static int user_exists(struct sq *s, const char *name, const char *what, int *code)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_USER_EXISTS, &p)) != SQLITE_OK) {
        *code = sq_fail(s, rc, what);
        return -1;
    }
    bind_text(p, 1, name);
    rc = sqlite3_step(p);
    done(p);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    *code = sq_fail(s, rc, what);
    return -1;
}

static int put_attr(struct sq *s, const char *user, const char *attr, const char *value,
                    const char *what)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_ATTR_PUT, &p)) == SQLITE_OK) {
        bind_text(p, 1, user);
        bind_text(p, 2, attr);
        bind_text(p, 3, value);
        rc = step_done(p);
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    return rc == SQLITE_OK ? TP_STORE_OK : sq_fail(s, rc, what);
}

static int body_user_add(struct sq *s, void *arg)
{
    const struct tp_user *u = arg;
    sqlite3_stmt *p;
    int rc, code;

    if ((rc = prep(s, S_USER_ADD, &p)) == SQLITE_OK) {
        bind_text(p, 1, u->name);
        bind_text(p, 2, u->hash);
        sqlite3_bind_int(p, 3, u->disabled != 0);
        sqlite3_bind_int(p, 4, u->force_change != 0);
        sqlite3_bind_int64(p, 5, u->expires);
        sqlite3_bind_int64(p, 6, u->pw_changed);
        sqlite3_bind_int(p, 7, u->pw_min_days);
        sqlite3_bind_int(p, 8, u->pw_max_days);
        sqlite3_bind_int(p, 9, u->pw_warn_days);
        sqlite3_bind_int64(p, 10, u->created != 0 ? u->created : (int64_t)time(NULL));
        rc = step_done(p);
    }
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return tp_store_fail(&s->base, TP_STORE_EXISTS, "adding a user: the name is taken");
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "adding a user");
    for (size_t i = 0; i < u->nattrs; i++)
        if ((code = put_attr(s, u->name, u->attrs[i].name, u->attrs[i].value,
                             "adding a user")) != TP_STORE_OK)
            return code;
    return TP_STORE_OK;
}

static int sq_user_add(struct tp_store *st, const struct tp_user *u)
{
    return write_txn(sq_of(st), body_user_add, (void *)u, "adding a user");
}

struct user_update_arg {
    const struct tp_user *u;
    unsigned int mask;
};

static int body_user_update(struct sq *s, void *arg)
{
    struct user_update_arg *a = arg;
    const struct tp_user *u = a->u;
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_USER_UPDATE, &p)) == SQLITE_OK) {
        bind_text(p, 1, u->name);
        sqlite3_bind_int(p, 2, (int)a->mask);
        bind_text(p, 3, (a->mask & TP_USER_HASH) ? u->hash : NULL);
        sqlite3_bind_int(p, 4, u->disabled != 0);
        sqlite3_bind_int(p, 5, u->force_change != 0);
        sqlite3_bind_int64(p, 6, u->expires);
        sqlite3_bind_int64(p, 7, u->pw_changed);
        sqlite3_bind_int(p, 8, u->pw_min_days);
        sqlite3_bind_int(p, 9, u->pw_max_days);
        sqlite3_bind_int(p, 10, u->pw_warn_days);
        rc = step_done(p);
    }
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "updating a user");
    if (sqlite3_changes(s->db) == 0)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    return TP_STORE_OK;
}

static int sq_user_update(struct tp_store *st, const struct tp_user *u, unsigned int mask)
{
    struct user_update_arg a = { u, mask };
    return write_txn(sq_of(st), body_user_update, &a, "updating a user");
}

struct set_hash_arg {
    const char *name, *expect_old, *new_hash;
    int64_t changed_at;
};

static int body_user_set_hash(struct sq *s, void *arg)
{
    struct set_hash_arg *a = arg;
    sqlite3_stmt *p;
    int rc, code = TP_STORE_OK;

    if ((rc = prep(s, S_USER_SET_HASH, &p)) == SQLITE_OK) {
        bind_text(p, 1, a->name);
        bind_text(p, 2, a->expect_old);
        bind_text(p, 3, a->new_hash);
        sqlite3_bind_int64(p, 4, a->changed_at);
        rc = step_done(p);
    }
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "changing a password hash");
    if (sqlite3_changes(s->db) > 0)
        return TP_STORE_OK;
    switch (user_exists(s, a->name, "changing a password hash", &code)) {
    case 1:
        return tp_store_fail(&s->base, TP_STORE_CONFLICT,
                             "changing a password hash: it was changed meanwhile");
    case 0:
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    default:
        return code;
    }
}

static int sq_user_set_hash(struct tp_store *st, const char *name, const char *expect_old,
                            const char *new_hash, int64_t changed_at)
{
    struct set_hash_arg a = { name, expect_old, new_hash, changed_at };
    return write_txn(sq_of(st), body_user_set_hash, &a, "changing a password hash");
}

static int body_user_delete(struct sq *s, void *arg)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_USER_DELETE, &p)) == SQLITE_OK) {
        bind_text(p, 1, arg);
        rc = step_done(p);            /* attributes, sessions, failures: ON DELETE CASCADE */
    }
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "deleting a user");
    if (sqlite3_changes(s->db) == 0)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    return TP_STORE_OK;
}

static int sq_user_delete(struct tp_store *st, const char *name)
{
    return write_txn(sq_of(st), body_user_delete, (void *)name, "deleting a user");
}

struct attr_arg {
    const char *name, *attr, *value;
};

static int body_attr_set(struct sq *s, void *arg)
{
    struct attr_arg *a = arg;
    sqlite3_stmt *p;
    int rc, code = TP_STORE_OK;

    switch (user_exists(s, a->name, "setting an attribute", &code)) {
    case 1:
        break;
    case 0:
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    default:
        return code;
    }
    if (a->value != NULL)
        return put_attr(s, a->name, a->attr, a->value, "setting an attribute");
    if ((rc = prep(s, S_ATTR_DELETE, &p)) == SQLITE_OK) {
        bind_text(p, 1, a->name);
        bind_text(p, 2, a->attr);
        rc = step_done(p);
    }
    return rc == SQLITE_OK ? TP_STORE_OK : sq_fail(s, rc, "deleting an attribute");
}

static int sq_attr_set(struct tp_store *st, const char *name, const char *attr, const char *value)
{
    struct attr_arg a = { name, attr, value };
    return write_txn(sq_of(st), body_attr_set, &a, "setting an attribute");
}

/* Lists are read whole, then handed out: the callback may use the store
 * (even change it) and a retry never repeats a callback. */
struct user_vec {
    struct tp_user *v;
    size_t n, cap;
};

static void user_vec_clear(struct user_vec *uv)
{
    for (size_t i = 0; i < uv->n; i++)
        tp_user_clear(&uv->v[i]);
    free(uv->v);
    memset(uv, 0, sizeof *uv);
}

static int body_user_list(struct sq *s, void *arg)
{
    struct user_vec *uv = arg;
    struct tp_user *u = NULL;
    sqlite3_stmt *p;
    int rc, bad = 0, oom = 0;

    if ((rc = prep(s, S_USER_LIST, &p)) != SQLITE_OK)
        return sq_fail(s, rc, "listing users");
    while (!bad && (rc = sqlite3_step(p)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(p, 0);
        if (name == NULL) {
            bad = 1;
            break;
        }
        if (u == NULL || strcmp(u->name, name) != 0) {
            if (uv->n == uv->cap) {
                size_t cap = uv->cap ? 2 * uv->cap : 16;
                struct tp_user *v = realloc(uv->v, cap * sizeof *v);
                if (v == NULL) {
                    bad = 1;
                    break;
                }
                uv->v = v;
                uv->cap = cap;
            }
            u = &uv->v[uv->n++];
            tp_user_init(u);
            if ((u->name = dup_col(p, 0, &oom)) == NULL || read_user(p, 1, u) != 0) {
                bad = 1;
                break;
            }
        }
        if (read_attr(p, 1 + USER_NCOLS, u) != 0)
            bad = 1;
    }
    done(p);
    if (bad || rc != SQLITE_DONE) {
        user_vec_clear(uv);
        return bad ? nomem(s, "listing users") : sq_fail(s, rc, "listing users");
    }
    return TP_STORE_OK;
}

static int sq_user_list(struct tp_store *st, int (*fn)(void *data, const struct tp_user *u),
                        void *data)
{
    struct user_vec uv = { NULL, 0, 0 };
    int code = read_op(sq_of(st), body_user_list, &uv, "listing users");

    for (size_t i = 0; code == TP_STORE_OK && i < uv.n; i++)
        if (fn(data, &uv.v[i]) != 0)
            break;
    user_vec_clear(&uv);
    return code;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static int body_session_add(struct sq *s, void *arg)
{
    const struct tp_session *x = arg;
    int64_t created = x->created != 0 ? x->created : (int64_t)time(NULL);
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_SES_ADD, &p)) == SQLITE_OK) {
        bind_digest(p, 1, x->digest);
        bind_text(p, 2, x->user);
        sqlite3_bind_int64(p, 3, created);
        sqlite3_bind_int64(p, 4, x->last_used != 0 ? x->last_used : created);
        bind_text(p, 5, x->rhost);
        rc = step_done(p);
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "adding a session: no such user");
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return tp_store_fail(&s->base, TP_STORE_EXISTS, "adding a session: it exists");
    return rc == SQLITE_OK ? TP_STORE_OK : sq_fail(s, rc, "adding a session");
}

static int sq_session_add(struct tp_store *st, const struct tp_session *x)
{
    return write_txn(sq_of(st), body_session_add, (void *)x, "adding a session");
}

/* Reads columns c.. (digest, user, created, last_used, rhost) or, with
 * digest given, c.. (user, created, last_used, rhost). */
static int read_session(sqlite3_stmt *p, int c, const unsigned char *digest, struct tp_session *x)
{
    int oom = 0;

    if (digest == NULL) {
        const void *d = sqlite3_column_blob(p, c);
        if (d == NULL || sqlite3_column_bytes(p, c) != TP_SESSION_DIGEST_LEN)
            return -1;
        memcpy(x->digest, d, TP_SESSION_DIGEST_LEN);
        c++;
    } else {
        memcpy(x->digest, digest, TP_SESSION_DIGEST_LEN);
    }
    x->user = dup_col(p, c, &oom);
    x->created = sqlite3_column_int64(p, c + 1);
    x->last_used = sqlite3_column_int64(p, c + 2);
    x->rhost = dup_col(p, c + 3, &oom);
    return oom || x->user == NULL ? -1 : 0;
}

struct session_get_arg {
    const unsigned char *digest;
    struct tp_session *out;
};

static int body_session_get(struct sq *s, void *arg)
{
    struct session_get_arg *g = arg;
    sqlite3_stmt *p;
    int rc, bad = 0;

    if ((rc = prep(s, S_SES_GET, &p)) != SQLITE_OK)
        return sq_fail(s, rc, "reading a session");
    bind_digest(p, 1, g->digest);
    rc = sqlite3_step(p);
    if (rc == SQLITE_ROW)
        bad = read_session(p, 0, g->digest, g->out) != 0;
    done(p);
    if (rc == SQLITE_DONE)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such session");
    if (bad || rc != SQLITE_ROW) {
        tp_session_clear(g->out);
        return bad ? nomem(s, "reading a session") : sq_fail(s, rc, "reading a session");
    }
    return TP_STORE_OK;
}

static int sq_session_get(struct tp_store *st, const unsigned char *digest, struct tp_session *out)
{
    struct session_get_arg g = { digest, out };
    return read_op(sq_of(st), body_session_get, &g, "reading a session");
}

struct touch_arg {
    const unsigned char *digest;
    int64_t now, threshold;
};

/* 1 found (last_used in *last), 0 not, -1 error (*code). */
static int session_last(struct sq *s, const unsigned char *digest, int64_t *last, int *code)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_SES_LAST, &p)) != SQLITE_OK) {
        *code = sq_fail(s, rc, "touching a session");
        return -1;
    }
    bind_digest(p, 1, digest);
    rc = sqlite3_step(p);
    if (rc == SQLITE_ROW)
        *last = sqlite3_column_int64(p, 0);
    done(p);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc == SQLITE_ROW;
    *code = sq_fail(s, rc, "touching a session");
    return -1;
}

static int body_touch_check(struct sq *s, void *arg)
{
    struct touch_arg *a = arg;
    int64_t last = 0;
    int code = TP_STORE_OK;

    switch (session_last(s, a->digest, &last, &code)) {
    case 1:
        return last < a->threshold ? TP_STORE_CONFLICT : TP_STORE_OK;  /* CONFLICT: write */
    case 0:
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such session");
    default:
        return code;
    }
}

static int body_touch(struct sq *s, void *arg)
{
    struct touch_arg *a = arg;
    sqlite3_stmt *p;
    int64_t last = 0;
    int rc, code = TP_STORE_OK;

    if ((rc = prep(s, S_SES_TOUCH, &p)) == SQLITE_OK) {
        bind_digest(p, 1, a->digest);
        sqlite3_bind_int64(p, 2, a->now);
        sqlite3_bind_int64(p, 3, a->threshold);
        rc = step_done(p);
    }
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "touching a session");
    if (sqlite3_changes(s->db) > 0)
        return TP_STORE_OK;
    switch (session_last(s, a->digest, &last, &code)) {   /* touched meanwhile, or gone? */
    case 1:
        return TP_STORE_OK;
    case 0:
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such session");
    default:
        return code;
    }
}

/* Coalesced: a read decides, and only a stale last_used takes the write lock. */
static int sq_session_touch(struct tp_store *st, const unsigned char *digest, int64_t now,
                            int64_t min_interval)
{
    struct sq *s = sq_of(st);
    struct touch_arg a = { digest, now, now };
    int code;

    if (min_interval > 0 && __builtin_sub_overflow(now, min_interval, &a.threshold))
        a.threshold = INT64_MIN;
    code = read_op(s, body_touch_check, &a, "touching a session");
    if (code != TP_STORE_CONFLICT)
        return code;
    return write_txn(s, body_touch, &a, "touching a session");
}

static int body_session_delete(struct sq *s, void *arg)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_SES_DELETE, &p)) == SQLITE_OK) {
        bind_digest(p, 1, arg);
        rc = step_done(p);
    }
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "deleting a session");
    if (sqlite3_changes(s->db) == 0)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such session");
    return TP_STORE_OK;
}

static int sq_session_delete(struct tp_store *st, const unsigned char *digest)
{
    return write_txn(sq_of(st), body_session_delete, (void *)digest, "deleting a session");
}

struct delete_arg {
    const char *user;
    const unsigned char *keep;
    int64_t idle_before, created_before;
    int changes;
};

static int body_session_delete_user(struct sq *s, void *arg)
{
    struct delete_arg *a = arg;
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_SES_DELETE_USER, &p)) == SQLITE_OK) {
        bind_text(p, 1, a->user);
        bind_digest(p, 2, a->keep);
        rc = step_done(p);
    }
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "deleting sessions");
    a->changes = sqlite3_changes(s->db);
    return TP_STORE_OK;
}

static int sq_session_delete_user(struct tp_store *st, const char *user, const unsigned char *keep,
                                  int *count)
{
    struct delete_arg a = { user, keep, 0, 0, 0 };
    int code = write_txn(sq_of(st), body_session_delete_user, &a, "deleting sessions");

    if (code == TP_STORE_OK && count != NULL)
        *count = a.changes;
    return code;
}

static int body_session_purge(struct sq *s, void *arg)
{
    struct delete_arg *a = arg;
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_SES_PURGE, &p)) == SQLITE_OK) {
        sqlite3_bind_int64(p, 1, a->idle_before);
        sqlite3_bind_int64(p, 2, a->created_before);
        rc = step_done(p);
    }
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "purging sessions");
    a->changes = sqlite3_changes(s->db);
    return TP_STORE_OK;
}

static int sq_session_purge(struct tp_store *st, int64_t idle_before, int64_t created_before,
                            int *count)
{
    struct delete_arg a = { NULL, NULL, idle_before, created_before, 0 };
    int code = write_txn(sq_of(st), body_session_purge, &a, "purging sessions");

    if (code == TP_STORE_OK && count != NULL)
        *count = a.changes;
    return code;
}

struct session_vec {
    const char *user;
    struct tp_session *v;
    size_t n, cap;
};

static void session_vec_clear(struct session_vec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        tp_session_clear(&sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

static int body_session_list(struct sq *s, void *arg)
{
    struct session_vec *sv = arg;
    sqlite3_stmt *p;
    int rc, bad = 0;

    if ((rc = prep(s, sv->user != NULL ? S_SES_LIST_USER : S_SES_LIST_ALL, &p)) != SQLITE_OK)
        return sq_fail(s, rc, "listing sessions");
    if (sv->user != NULL)
        bind_text(p, 1, sv->user);
    while (!bad && (rc = sqlite3_step(p)) == SQLITE_ROW) {
        if (sv->n == sv->cap) {
            size_t cap = sv->cap ? 2 * sv->cap : 16;
            struct tp_session *v = realloc(sv->v, cap * sizeof *v);
            if (v == NULL) {
                bad = 1;
                break;
            }
            sv->v = v;
            sv->cap = cap;
        }
        memset(&sv->v[sv->n], 0, sizeof sv->v[0]);
        bad = read_session(p, 0, NULL, &sv->v[sv->n++]) != 0;
    }
    done(p);
    if (bad || rc != SQLITE_DONE) {
        session_vec_clear(sv);
        return bad ? nomem(s, "listing sessions") : sq_fail(s, rc, "listing sessions");
    }
    return TP_STORE_OK;
}

static int sq_session_list(struct tp_store *st, const char *user,
                           int (*fn)(void *data, const struct tp_session *x), void *data)
{
    struct session_vec sv = { user, NULL, 0, 0 };
    int code = read_op(sq_of(st), body_session_list, &sv, "listing sessions");

    for (size_t i = 0; code == TP_STORE_OK && i < sv.n; i++)
        if (fn(data, &sv.v[i]) != 0)
            break;
    session_vec_clear(&sv);
    return code;
}

/* ---- failure tallies -------------------------------------------------------------------- */

struct fail_arg {
    const char *user;
    int64_t now, since;
    int count;
    int64_t latest;
};

/*
 * One row per failure; the FAIL_KEEP newest are kept per user, so a
 * password-guessing storm cannot grow the file without bound (a count
 * reaches at most FAIL_KEEP, far above any lockout threshold).
 */
static int body_fail_add(struct sq *s, void *arg)
{
    struct fail_arg *a = arg;
    sqlite3_stmt *p;
    int64_t total = 0, recent = 0;
    int rc;

    if ((rc = prep(s, S_FAIL_ADD, &p)) == SQLITE_OK) {
        bind_text(p, 1, a->user);
        sqlite3_bind_int64(p, 2, a->now);
        rc = step_done(p);
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "recording a failure: no such user");
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "recording a failure");
    if ((rc = prep(s, S_FAIL_STATS, &p)) != SQLITE_OK)
        return sq_fail(s, rc, "recording a failure");
    bind_text(p, 1, a->user);
    sqlite3_bind_int64(p, 2, a->since);
    if ((rc = sqlite3_step(p)) == SQLITE_ROW) {
        total = sqlite3_column_int64(p, 0);
        recent = sqlite3_column_int64(p, 1);
    }
    done(p);
    if (rc != SQLITE_ROW)
        return sq_fail(s, rc, "recording a failure");
    if (total > FAIL_KEEP) {
        if ((rc = prep(s, S_FAIL_TRIM, &p)) == SQLITE_OK) {
            bind_text(p, 1, a->user);
            sqlite3_bind_int(p, 2, FAIL_KEEP);
            rc = step_done(p);
        }
        if (rc != SQLITE_OK)
            return sq_fail(s, rc, "recording a failure");
        if (recent > FAIL_KEEP)
            recent = FAIL_KEEP;       /* the oldest went first */
    }
    a->count = (int)recent;
    return TP_STORE_OK;
}

static int sq_fail_add(struct tp_store *st, const char *user, int64_t now, int64_t since,
                       int *count)
{
    struct fail_arg a = { user, now, since, 0, 0 };
    int code = write_txn(sq_of(st), body_fail_add, &a, "recording a failure");

    if (code == TP_STORE_OK && count != NULL)
        *count = a.count;
    return code;
}

static int body_fail_count(struct sq *s, void *arg)
{
    struct fail_arg *a = arg;
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_FAIL_COUNT, &p)) != SQLITE_OK)
        return sq_fail(s, rc, "counting failures");
    bind_text(p, 1, a->user);
    sqlite3_bind_int64(p, 2, a->since);
    if ((rc = sqlite3_step(p)) == SQLITE_ROW) {
        a->count = sqlite3_column_int(p, 0);
        a->latest = sqlite3_column_int64(p, 1);
    }
    done(p);
    return rc == SQLITE_ROW ? TP_STORE_OK : sq_fail(s, rc, "counting failures");
}

static int sq_fail_count(struct tp_store *st, const char *user, int64_t since, int *count,
                         int64_t *latest)
{
    struct fail_arg a = { user, 0, since, 0, 0 };
    int code = read_op(sq_of(st), body_fail_count, &a, "counting failures");

    if (code == TP_STORE_OK) {
        if (count != NULL)
            *count = a.count;
        if (latest != NULL)
            *latest = a.latest;
    }
    return code;
}

static int body_fail_reset(struct sq *s, void *arg)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = prep(s, S_FAIL_RESET, &p)) == SQLITE_OK) {
        bind_text(p, 1, arg);
        rc = step_done(p);
    }
    return rc == SQLITE_OK ? TP_STORE_OK : sq_fail(s, rc, "resetting failures");
}

static int sq_fail_reset(struct tp_store *st, const char *user)
{
    return write_txn(sq_of(st), body_fail_reset, (void *)user, "resetting failures");
}

/* ---- opening: the file ------------------------------------------------------------------ */

#define UNAVAIL(s, ...) tp_store_fail(&(s)->base, TP_STORE_UNAVAIL, __VA_ARGS__)

/* The directory holding path must exist and not be writable by everyone. */
static int check_dir(struct sq *s, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    struct stat sb;
    size_t n;

    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir)
            return UNAVAIL(s, "the path is too long");
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    if (stat(dir, &sb) != 0)
        return UNAVAIL(s, "directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return UNAVAIL(s, "%s is not a directory", dir);
    if (sb.st_mode & S_IWOTH)
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                             "directory %s is writable by everyone (mode %04o): refused",
                             dir, (unsigned int)(sb.st_mode & 07777));
    return TP_STORE_OK;
}

/* -wal and -shm: if present, not writable by everyone. */
static int check_companions(struct sq *s, const char *real)
{
    static const char *const suffix[] = { "-wal", "-shm" };
    char name[PATH_MAX];
    struct stat sb;

    for (size_t i = 0; i < 2; i++) {
        if ((size_t)snprintf(name, sizeof name, "%s%s", real, suffix[i]) >= sizeof name)
            return UNAVAIL(s, "the path is too long");
        if (stat(name, &sb) == 0 && (sb.st_mode & S_IWOTH))
            return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                                 "%s is writable by everyone (mode %04o): refused", name,
                                 (unsigned int)(sb.st_mode & 07777));
    }
    return TP_STORE_OK;
}

/*
 * Checks the place and the file, creating it with CREATE. *real gets the
 * name to hand SQLite: the absolute path with every symbolic link resolved
 * (so no name is ever read as a URI or ":memory:" either).
 */
static int check_file(struct sq *s, const char *path, int flags, char **real, int *created)
{
    mode_t mode = (flags & TP_STORE_GROUP) ? 0660 : 0600;
    struct stat sb;
    int code, fd;

    *real = NULL;
    if ((code = check_dir(s, path)) != TP_STORE_OK)
        return code;
    if (lstat(path, &sb) != 0) {
        if (errno != ENOENT)
            return UNAVAIL(s, "cannot examine the file: %s", strerror(errno));
        if (!(flags & TP_STORE_CREATE))
            return UNAVAIL(s, "no such file (`trex-pam init` creates the store)");
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0) {
            /* umask may only have narrowed it: make it exactly mode. A new
             * inode, so closing this descriptor drops no SQLite lock. */
            int bad = fchmod(fd, mode) != 0 ? errno : 0;
            close(fd);
            if (bad) {
                unlink(path);
                return UNAVAIL(s, "cannot set the mode of the new file: %s", strerror(bad));
            }
            *created = 1;
        } else if (errno != EEXIST) {
            return UNAVAIL(s, "cannot create the file: %s", strerror(errno));
        }                             /* EEXIST: another process made it just now */
        if (lstat(path, &sb) != 0)
            return UNAVAIL(s, "cannot examine the file: %s", strerror(errno));
    }
    /* SQLite gets the resolved name: its -wal and -shm go beside the real
     * file, and SQLITE_OPEN_NOFOLLOW refuses any symbolic link in it */
    if ((*real = realpath(path, NULL)) == NULL)
        return errno == ENOMEM ? nomem(s, "opening")
                               : UNAVAIL(s, "cannot resolve the path: %s", strerror(errno));
    if (S_ISLNK(sb.st_mode) && (code = check_dir(s, *real)) != TP_STORE_OK)
        return code;                  /* the directory the link points into */
    if (stat(*real, &sb) != 0)
        return UNAVAIL(s, "cannot examine the file: %s", strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return UNAVAIL(s, "not a regular file");
    if (sb.st_uid != geteuid() && sb.st_uid != 0)
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                             "owned by uid %u, neither root nor this user (uid %u): refused",
                             (unsigned int)sb.st_uid, (unsigned int)geteuid());
    if (sb.st_mode & S_IWOTH)
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                             "writable by everyone (mode %04o): refused",
                             (unsigned int)(sb.st_mode & 07777));
    s->mode = sb.st_mode;
    return check_companions(s, *real);
}

/* ---- opening: the schema ---------------------------------------------------------------- */

enum kind { K_OURS, K_EMPTY, K_FOREIGN, K_DAMAGED };

struct probe {
    enum kind kind;
    int version;
    char why[128];
};

static int one_int(struct sq *s, const char *sql, int64_t *v)
{
    sqlite3_stmt *p;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &p, NULL);

    if (rc != SQLITE_OK)
        return rc;
    if ((rc = sqlite3_step(p)) == SQLITE_ROW)
        *v = sqlite3_column_int64(p, 0);
    sqlite3_finalize(p);
    return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* What the file holds. SQLITE_OK with pr filled in, or SQLite's error. */
static int probe(struct sq *s, struct probe *pr)
{
    int64_t app = 0, n = 0, uv = 0;
    int rc, marked = 0, have_version = 0;
    sqlite3_stmt *p;

    pr->kind = K_DAMAGED;
    pr->version = -1;
    pr->why[0] = '\0';
    if ((rc = one_int(s, "PRAGMA application_id", &app)) != SQLITE_OK)
        return rc;
    if (app != 0 && app != TP_SQLITE_APP_ID) {
        pr->kind = K_FOREIGN;
        snprintf(pr->why, sizeof pr->why, "its application_id is 0x%08" PRIx32,
                 (uint32_t)app);
        return SQLITE_OK;
    }
    rc = sqlite3_prepare_v2(s->db, "SELECT key, value FROM trex_pam_meta"
                            " WHERE key IN ('application', 'schema_version')", -1, &p, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
            const char *k = (const char *)sqlite3_column_text(p, 0);
            const char *v = (const char *)sqlite3_column_text(p, 1);
            char *end;
            long ver;
            if (k == NULL || v == NULL)
                continue;
            if (strcmp(k, "application") == 0) {
                marked = strcmp(v, APP_MARKER) == 0;
            } else {
                errno = 0;
                ver = strtol(v, &end, 10);
                if (errno == 0 && end != v && *end == '\0' && ver >= 0 && ver < INT_MAX) {
                    pr->version = (int)ver;
                    have_version = 1;
                }
            }
        }
        sqlite3_finalize(p);
        if (rc != SQLITE_DONE)
            return rc;
        if (!marked) {
            pr->kind = app == TP_SQLITE_APP_ID ? K_DAMAGED : K_FOREIGN;
            snprintf(pr->why, sizeof pr->why, "its trex_pam_meta table has no TRex::PAM marker");
        } else if (!have_version) {
            snprintf(pr->why, sizeof pr->why, "its schema version is missing or unreadable");
        } else {
            pr->kind = K_OURS;
        }
        return SQLITE_OK;
    }
    if ((rc & 0xff) != SQLITE_ERROR)  /* corrupt, not a database, busy ... */
        return rc;
    if (app == TP_SQLITE_APP_ID) {
        snprintf(pr->why, sizeof pr->why, "its trex_pam_meta table is missing");
        return SQLITE_OK;
    }
    if ((rc = one_int(s, "SELECT count(*) FROM sqlite_master", &n)) != SQLITE_OK
        || (rc = one_int(s, "PRAGMA user_version", &uv)) != SQLITE_OK)
        return rc;
    if (n == 0 && uv == 0) {
        pr->kind = K_EMPTY;
    } else {
        pr->kind = K_FOREIGN;
        snprintf(pr->why, sizeof pr->why, "it has no TRex::PAM tables");
    }
    return SQLITE_OK;
}

/* The open-time failure of a probe, in words. */
static int probe_fail(struct sq *s, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL, "not a TRex::PAM database: %s",
                             sqlite3_errmsg(s->db));
    case SQLITE_CORRUPT:
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL, "corrupt database: %s",
                             sqlite3_errmsg(s->db));
    default:
        if (is_busy(rc))
            rc = SQLITE_IOERR;        /* gave up: do not return RETRY */
        return sq_fail(s, rc, "reading the database");
    }
}

/*
 * probe's statements are separate reads, so a store being created or
 * upgraded by another process right now can look half made (no meta table,
 * then tables). The usual answer (ours) needs no more; any other is checked
 * again inside one read transaction, which sees one consistent state.
 */
static int probe_whole(struct sq *s, struct probe *pr)
{
    int rc = probe(s, pr);

    if (rc != SQLITE_OK || pr->kind == K_OURS)
        return rc;
    if ((rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
        return rc;
    rc = probe(s, pr);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);    /* it only read */
    return rc;
}

static int probe_wait(struct sq *s, struct probe *pr)
{
    int64_t start = now_ms();
    int rc;

    for (int attempt = 0;; attempt++) {
        if (!is_busy(rc = probe_whole(s, pr)) || now_ms() - start > RETRY_MS)
            return rc;
        pause_before_retry(s, attempt);
    }
}

static int exec(struct sq *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? TP_STORE_OK : sq_fail(s, rc, what);
}

static int migrate(struct sq *s, int from)
{
    char sql[128];
    int code;

    for (int v = from; v < SCHEMA_VERSION; v++)
        if ((code = exec(s, migrations[v], "upgrading the schema")) != TP_STORE_OK)
            return code;
    snprintf(sql, sizeof sql, "UPDATE trex_pam_meta SET value = '%d' WHERE key = 'schema_version'",
             SCHEMA_VERSION);
    return exec(s, sql, "upgrading the schema");
}

/* Inside the write transaction: look again (another process may have done
 * it meanwhile), then create or upgrade. */
static int body_setup(struct sq *s, void *arg)
{
    int flags = *(int *)arg, rc, code;
    struct probe pr;
    char sql[256];

    if ((rc = probe(s, &pr)) != SQLITE_OK)
        return is_busy(rc) ? RETRY : probe_fail(s, rc);
    if (pr.kind == K_OURS && pr.version == SCHEMA_VERSION)
        return TP_STORE_OK;
    if (pr.kind == K_OURS && pr.version < SCHEMA_VERSION)
        return migrate(s, pr.version);
    if (pr.kind != K_EMPTY || !(flags & TP_STORE_CREATE))
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL, "changed while opening it: %s", pr.why);
    snprintf(sql, sizeof sql,
             "PRAGMA application_id = %d;"
             "CREATE TABLE trex_pam_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)"
             " WITHOUT ROWID;"
             "INSERT INTO trex_pam_meta (key, value) VALUES ('application', '" APP_MARKER "'),"
             " ('schema_version', '0');", TP_SQLITE_APP_ID);
    if ((code = exec(s, sql, "creating the schema")) != TP_STORE_OK)
        return code;
    return migrate(s, 0);
}

static int set_wal(struct sq *s)
{
    int64_t start = now_ms();
    int rc;

    for (int attempt = 0;; attempt++) {
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return TP_STORE_OK;
        if (!is_busy(rc) || now_ms() - start > RETRY_MS)
            return probe_fail(s, rc);
        pause_before_retry(s, attempt);
    }
}

/* Decides what to do with the file: use it, create or upgrade the schema, or refuse. */
static int settle(struct sq *s, int flags, int created)
{
    struct probe pr;
    int rc, code;

    if ((rc = probe_wait(s, &pr)) != SQLITE_OK)
        return probe_fail(s, rc);
    switch (pr.kind) {
    case K_OURS:
        if (pr.version == SCHEMA_VERSION)
            return TP_STORE_OK;       /* the usual case: nothing to write */
        if (pr.version > SCHEMA_VERSION)
            return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                                 "schema version %d was made by a newer TRex::PAM"
                                 " (this one knows up to %d)", pr.version, SCHEMA_VERSION);
        if ((flags & TP_STORE_RDONLY) && pr.version >= READABLE_FROM)
            return TP_STORE_OK;       /* read as it is; a read-write open upgrades it */
        if (flags & TP_STORE_RDONLY)
            return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                                 "schema version %d needs an upgrade to %d; open it read-write once",
                                 pr.version, SCHEMA_VERSION);
        break;
    case K_FOREIGN:
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                             "not a TRex::PAM database: %s; left untouched", pr.why);
    case K_DAMAGED:
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                             "damaged TRex::PAM database: %s; left untouched", pr.why);
    case K_EMPTY:
        if (!(flags & TP_STORE_CREATE))
            return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                                 "empty file, not a TRex::PAM database yet"
                                 " (`trex-pam init` creates the store)");
        if (!created && (s->mode & S_IRWXO))
            return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                                 "refusing to put users into a file others can read (mode %04o)",
                                 (unsigned int)(s->mode & 07777));
        if ((code = set_wal(s)) != TP_STORE_OK)
            return code;
        break;
    }
    return write_txn(s, body_setup, &flags, "setting up the schema");
}

static void sq_close(struct tp_store *st)
{
    struct sq *s = sq_of(st);

#ifdef SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE
    /* Closed in another process than the one that opened it (a child
     * dropping what it inherited through fork): write nothing, not even the
     * checkpoint of a last connection, to files the parent may be using. */
    if (s->db != NULL && s->pid != getpid())
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
#endif
    for (size_t i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s->where);
    free(s);
}

static void remove_created(const char *path)
{
    char name[PATH_MAX];

    unlink(path);
    if ((size_t)snprintf(name, sizeof name, "%s-wal", path) < sizeof name)
        unlink(name);
    if ((size_t)snprintf(name, sizeof name, "%s-shm", path) < sizeof name)
        unlink(name);
}

int tp_store_sqlite_open(const char *path, int flags, struct tp_store **out, char *err,
                         size_t errlen)
{
    int oflags = (flags & TP_STORE_RDONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    struct sq *s = calloc(1, sizeof *s);
    char *real = NULL;
    int rc, code, created = 0, persist = 1;

    if (s == NULL || (s->where = strdup(path)) == NULL) {
        free(s);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: out of memory", path);
        return TP_STORE_ERR;
    }
    s->base.ops = &sqlite_ops;
    s->base.where = s->where;
    s->pid = getpid();
    s->rng = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)now_ms() ^ (uintptr_t)s;
    s->rng |= 1;
    if ((code = check_file(s, path, flags, &real, &created)) != TP_STORE_OK)
        goto fail;

    oflags |= SQLITE_OPEN_NOMUTEX;    /* never SQLITE_OPEN_CREATE: the file exists by now */
#ifdef SQLITE_OPEN_NOFOLLOW
    oflags |= SQLITE_OPEN_NOFOLLOW;   /* real holds no symbolic link */
#endif
    rc = sqlite3_open_v2(real, &s->db, oflags, NULL);
    if (rc != SQLITE_OK) {
        code = s->db != NULL ? sq_fail(s, rc, "cannot open")
                             : tp_store_fail(&s->base, TP_STORE_ERR, "cannot open: out of memory");
        if (code == RETRY)
            code = tp_store_fail(&s->base, TP_STORE_ERR, "cannot open: %s", sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
#endif
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
#endif
    if ((code = exec(s, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
                     " PRAGMA journal_size_limit = 0", "configuring the connection")) != TP_STORE_OK)
        goto fail;
    if ((code = settle(s, flags, created)) != TP_STORE_OK)
        goto fail;
    /* The last connection to close keeps the -wal (emptied: journal_size_limit)
     * and -shm, so a lone CGI process does not create and unlink both each time. */
    sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    free(real);
    *out = &s->base;
    return TP_STORE_OK;

fail:
    if (code == RETRY)
        code = TP_STORE_ERR;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", s->base.err);
#ifdef SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE
    if (s->db != NULL)                /* a refused file is not written, not even by a checkpoint */
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
#endif
    sq_close(&s->base);
    if (created)                      /* ours and never usable: leave nothing behind */
        remove_created(path);
    free(real);
    return code;
}

static const struct tp_store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .user_get = sq_user_get,
    .user_add = sq_user_add,
    .user_update = sq_user_update,
    .user_set_hash = sq_user_set_hash,
    .user_delete = sq_user_delete,
    .attr_set = sq_attr_set,
    .user_list = sq_user_list,
    .session_add = sq_session_add,
    .session_get = sq_session_get,
    .session_touch = sq_session_touch,
    .session_delete = sq_session_delete,
    .session_delete_user = sq_session_delete_user,
    .session_purge = sq_session_purge,
    .session_list = sq_session_list,
    .fail_add = sq_fail_add,
    .fail_count = sq_fail_count,
    .fail_reset = sq_fail_reset,
};
