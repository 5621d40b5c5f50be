/*
 * sqlite_exec.c - running statements on the embedded store: the statement
 * texts, binds, errors and transactions with their retries (sqlite.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sqlite.h"

static const char *const sql_text[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_BEGIN_READ] = "BEGIN",
    [S_SYNC_NORMAL] = "PRAGMA synchronous = NORMAL",
    [S_SYNC_FULL] = "PRAGMA synchronous = FULL",
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
    [S_FAIL_PURGE] = "DELETE FROM failures WHERE time < ?1",
    [S_USER_DELETE_FAILS] = "DELETE FROM failures WHERE user = ?1",
    [S_FAIL_LIST_ALL] = "SELECT user, time FROM failures",
    [S_FAIL_LIST_USER] = "SELECT user, time FROM failures WHERE user = ?1",
};

int64_t tp_sq_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tp_sq_busy(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* Maps an SQLite failure to a store code with a message naming the file and
 * the operation ("reading a user") and SQLite's reason; BUSY gives RETRY. */
int tp_sq_fail(struct sq *s, int rc, const char *what)
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

int tp_sq_nomem(struct sq *s, const char *what)
{
    return tp_store_fail(&s->base, TP_STORE_ERR, "%s: out of memory", what);
}

int tp_sq_prep(struct sq *s, enum stmt_id id, sqlite3_stmt **out)
{
    int rc = SQLITE_OK;

    if (s->stmt[id] == NULL)
        rc = sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
                                &s->stmt[id], NULL);
    *out = s->stmt[id];
    return rc;
}

/* Every bind is STATIC: the caller's memory stays valid until tp_sq_done(). */
void tp_sq_bind_text(sqlite3_stmt *p, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(p, i);
    else
        sqlite3_bind_text(p, i, v, -1, SQLITE_STATIC);
}

void tp_sq_bind_digest(sqlite3_stmt *p, int i, const unsigned char *d)
{
    if (d == NULL)
        sqlite3_bind_null(p, i);
    else
        sqlite3_bind_blob(p, i, d, TP_SESSION_DIGEST_LEN, SQLITE_STATIC);
}

void tp_sq_done(sqlite3_stmt *p)
{
    if (p == NULL)
        return;
    sqlite3_reset(p);
    sqlite3_clear_bindings(p);
}

/* Steps a statement that returns no row; SQLITE_OK or the error. */
int tp_sq_step_done(sqlite3_stmt *p)
{
    int rc = sqlite3_step(p);
    tp_sq_done(p);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A copy of a text column (NULL for SQL NULL; *oom set when malloc fails). */
char *tp_sq_dup_col(sqlite3_stmt *p, int i, int *oom)
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

static int gave_up(struct sq *s, const char *what, int64_t start)
{
    return tp_store_fail(&s->base, TP_STORE_ERR,
                         "%s: the database stayed locked by other processes for %d s",
                         what, (int)((tp_sq_now_ms() - start) / 1000));
}

static void rollback(struct sq *s)
{
    sqlite3_stmt *p;

    if (sqlite3_get_autocommit(s->db))
        return;                       /* SQLite already rolled back */
    if (tp_sq_prep(s, S_ROLLBACK, &p) == SQLITE_OK)
        tp_sq_step_done(p);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs a statement of sql_text that returns no row (a PRAGMA, COMMIT ...). */
static int run(struct sq *s, enum stmt_id id)
{
    sqlite3_stmt *p;
    int rc = tp_sq_prep(s, id, &p);

    return rc == SQLITE_OK ? tp_sq_step_done(p) : rc;
}

/* Ends the read transaction of a scope: COMMIT (it changed nothing), or a
 * rollback should that fail; either way the snapshot is let go. */
static void end_read(struct sq *s)
{
    if (!s->reading)
        return;
    s->reading = 0;
    if (!sqlite3_get_autocommit(s->db) && run(s, S_COMMIT) != SQLITE_OK)
        rollback(s);
}

int tp_sq_write(struct sq *s, tp_sq_body body, void *arg, const char *what)
{
    int64_t start = tp_sq_now_ms();
    int rc, code;

    end_read(s);
    for (int attempt = 0;; attempt++) {
        if ((rc = run(s, S_BEGIN)) == SQLITE_OK) {
            code = body(s, arg);
            if (code == TP_STORE_OK) {
                if ((rc = run(s, S_COMMIT)) == SQLITE_OK)
                    return TP_STORE_OK;
                code = tp_sq_fail(s, rc, what);
            }
            rollback(s);
        } else {
            code = tp_sq_fail(s, rc, what);
        }
        if (code != RETRY)
            return code;
        if (tp_sq_now_ms() - start > RETRY_MS)
            return gave_up(s, what, start);
        tp_backend_pause(&s->rng, attempt);
    }
}

int tp_sq_write_lazy(struct sq *s, tp_sq_body body, void *arg, const char *what)
{
    int code, rc;

    /* synchronous is a setting of the connection, read at each commit:
     * NORMAL for this one transaction, FULL again before anything else */
    if (run(s, S_SYNC_NORMAL) != SQLITE_OK)
        return tp_sq_write(s, body, arg, what);  /* still FULL: durable, and as correct */
    code = tp_sq_write(s, body, arg, what);
    if ((rc = run(s, S_SYNC_FULL)) != SQLITE_OK) {
        /* a connection that cannot go back to FULL must not be used for the
         * durable writes: say so, the caller gets an error */
        tp_sq_fail(s, rc, "restoring synchronous commits");
        return TP_STORE_ERR;
    }
    return code;
}

/* A read: in autocommit, or in the scope's read transaction; again on BUSY/LOCKED. */
int tp_sq_read(struct sq *s, tp_sq_body body, void *arg, const char *what)
{
    int64_t start = tp_sq_now_ms();
    int code, rc;

    for (int attempt = 0;; attempt++) {
        if (s->scope > 0 && !s->reading && sqlite3_get_autocommit(s->db)) {
            if ((rc = run(s, S_BEGIN_READ)) == SQLITE_OK)
                s->reading = 1;
        } else {
            rc = SQLITE_OK;
        }
        if (rc == SQLITE_OK) {
            code = body(s, arg);
            if (code != TP_STORE_OK && code != TP_STORE_NOTFOUND)
                end_read(s);          /* a retry or an error starts from a new snapshot */
        } else {
            code = tp_sq_fail(s, rc, what);
        }
        if (code != RETRY)
            return code;
        if (tp_sq_now_ms() - start > RETRY_MS)
            return gave_up(s, what, start);
        tp_backend_pause(&s->rng, attempt);
    }
}

int tp_sq_read_begin(struct tp_store *st)
{
    struct sq *s = sq_of(st);

    if (s->scope == INT_MAX)
        return tp_store_fail(st, TP_STORE_ERR, "read scopes nested too deep");
    s->scope++;
    return TP_STORE_OK;
}

void tp_sq_read_end(struct tp_store *st)
{
    struct sq *s = sq_of(st);

    if (s->scope > 0 && --s->scope == 0)
        end_read(s);
}

int tp_sq_exec(struct sq *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? TP_STORE_OK : tp_sq_fail(s, rc, what);
}
