/*
 * pg_exec.c - running statements on the PostgreSQL store: the statement
 * texts, parameters, waits bounded by the command timeout, errors,
 * transactions with their retries, and read scopes (pg.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pg.h"
#include "secret.h"

#define USER_COLS "u.hash, u.disabled, u.force_change, u.expires, u.pw_changed, " \
                  "u.pw_min_days, u.pw_max_days, u.pw_warn_days, u.created, a.name, a.value"

/* Names prepared on a connection, and their text. */
static const struct {
    const char *name, *sql;
} stmts[P_COUNT] = {
    [P_USER_GET] = { "tp_user_get",
        "SELECT " USER_COLS " FROM trex_pam.users AS u"
        " LEFT JOIN trex_pam.user_attrs AS a ON a.\"user\" = u.name"
        " WHERE u.name = $1 ORDER BY a.name" },
    [P_USER_EXISTS] = { "tp_user_exists", "SELECT 1 FROM trex_pam.users WHERE name = $1" },
    [P_USER_ADD] = { "tp_user_add",
        "INSERT INTO trex_pam.users (name, hash, disabled, force_change, expires, pw_changed,"
        " pw_min_days, pw_max_days, pw_warn_days, created)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)" },
    [P_USER_UPDATE] = { "tp_user_update",
        "UPDATE trex_pam.users SET"
        " hash = CASE WHEN $2::integer & 1 <> 0 THEN $3::text ELSE hash END,"
        " disabled = CASE WHEN $2 & 2 <> 0 THEN $4::integer ELSE disabled END,"
        " force_change = CASE WHEN $2 & 4 <> 0 THEN $5::integer ELSE force_change END,"
        " expires = CASE WHEN $2 & 8 <> 0 THEN $6::bigint ELSE expires END,"
        " pw_changed = CASE WHEN $2 & 17 <> 0 THEN $7::bigint ELSE pw_changed END,"
        " pw_min_days = CASE WHEN $2 & 32 <> 0 THEN $8::integer ELSE pw_min_days END,"
        " pw_max_days = CASE WHEN $2 & 64 <> 0 THEN $9::integer ELSE pw_max_days END,"
        " pw_warn_days = CASE WHEN $2 & 128 <> 0 THEN $10::integer ELSE pw_warn_days END"
        " WHERE name = $1" },
    /* compare-and-swap: the row is rechecked if a concurrent change
     * commits first; n = 0 and e: the hash was something else */
    [P_USER_SET_HASH] = { "tp_user_set_hash",
        "WITH c AS (UPDATE trex_pam.users SET hash = $3, pw_changed = $4, force_change = 0"
        " WHERE name = $1 AND ($2::text IS NULL OR hash = $2::text) RETURNING 1)"
        " SELECT (SELECT count(*) FROM c),"
        " EXISTS (SELECT 1 FROM trex_pam.users WHERE name = $1)" },
    [P_USER_DELETE] = { "tp_user_delete", "DELETE FROM trex_pam.users WHERE name = $1" },
    [P_USER_LIST] = { "tp_user_list",
        "SELECT u.name, " USER_COLS " FROM trex_pam.users AS u"
        " LEFT JOIN trex_pam.user_attrs AS a ON a.\"user\" = u.name ORDER BY u.name, a.name" },
    [P_ATTR_PUT] = { "tp_attr_put",
        "INSERT INTO trex_pam.user_attrs (\"user\", name, value) VALUES ($1, $2, $3)"
        " ON CONFLICT (\"user\", name) DO UPDATE SET value = EXCLUDED.value" },
    [P_ATTR_DELETE] = { "tp_attr_delete",
        "DELETE FROM trex_pam.user_attrs WHERE \"user\" = $1 AND name = $2" },
    [P_SES_ADD] = { "tp_session_add",
        "INSERT INTO trex_pam.sessions (digest, \"user\", created, last_used, rhost)"
        " VALUES ($1, $2, $3, $4, $5)" },
    [P_SES_GET] = { "tp_session_get",
        "SELECT \"user\", created, last_used, rhost FROM trex_pam.sessions WHERE digest = $1" },
    [P_SES_LAST] = { "tp_session_last",
        "SELECT last_used FROM trex_pam.sessions WHERE digest = $1" },
    [P_SES_TOUCH] = { "tp_session_touch",
        "WITH t AS (UPDATE trex_pam.sessions SET last_used = $2"
        " WHERE digest = $1 AND last_used < $3 RETURNING 1)"
        " SELECT (SELECT count(*) FROM t),"
        " EXISTS (SELECT 1 FROM trex_pam.sessions WHERE digest = $1)" },
    [P_SES_DELETE] = { "tp_session_delete", "DELETE FROM trex_pam.sessions WHERE digest = $1" },
    [P_SES_DELETE_USER] = { "tp_session_delete_user",
        "DELETE FROM trex_pam.sessions WHERE \"user\" = $1"
        " AND ($2::bytea IS NULL OR digest <> $2::bytea)" },
    [P_SES_PURGE] = { "tp_session_purge",
        "DELETE FROM trex_pam.sessions WHERE last_used < $1 OR created < $2" },
    [P_SES_LIST_ALL] = { "tp_session_list_all",
        "SELECT digest, \"user\", created, last_used, rhost FROM trex_pam.sessions"
        " ORDER BY \"user\", created, digest" },
    [P_SES_LIST_USER] = { "tp_session_list_user",
        "SELECT digest, \"user\", created, last_used, rhost FROM trex_pam.sessions"
        " WHERE \"user\" = $1 ORDER BY created, digest" },
    /* the user's row locked to the end of the transaction: concurrent adds
     * for one user take turns; no row: no such user */
    [P_FAIL_LOCK_ADD] = { "tp_fail_lock_add",
        "INSERT INTO trex_pam.failures (\"user\", time)"
        " SELECT name, $2 FROM (SELECT name FROM trex_pam.users WHERE name = $1"
        " FOR NO KEY UPDATE) AS u" },
    /* the count is of the rows before the trim (one snapshot): capped by the caller */
    [P_FAIL_TRIM_COUNT] = { "tp_fail_trim_count",
        "WITH d AS (DELETE FROM trex_pam.failures WHERE id IN (SELECT id FROM trex_pam.failures"
        " WHERE \"user\" = $1 ORDER BY time DESC, id DESC OFFSET $3) RETURNING 1)"
        " SELECT (SELECT count(*) FROM trex_pam.failures WHERE \"user\" = $1 AND time >= $2),"
        " (SELECT count(*) FROM d)" },
    [P_FAIL_COUNT] = { "tp_fail_count",
        "SELECT count(*), coalesce(max(time), 0) FROM trex_pam.failures"
        " WHERE \"user\" = $1 AND time >= $2" },
    [P_FAIL_RESET] = { "tp_fail_reset", "DELETE FROM trex_pam.failures WHERE \"user\" = $1" },
    [P_FAIL_LIST_ALL] = { "tp_fail_list_all", "SELECT \"user\", time FROM trex_pam.failures" },
    [P_FAIL_LIST_USER] = { "tp_fail_list_user",
        "SELECT \"user\", time FROM trex_pam.failures WHERE \"user\" = $1" },
};

const char *tp_pg_sql(enum pg_stmt id)
{
    return stmts[id].sql;
}

/* ---- parameters and columns ---------------------------------------------------------- */

void pg_arg_text(struct pg_args *a, const char *v)
{
    a->v[a->n] = v;
    a->len[a->n] = 0;
    a->fmt[a->n] = 0;
    a->n++;
}

void pg_arg_int(struct pg_args *a, int64_t v)
{
    snprintf(a->buf[a->n], sizeof a->buf[0], "%" PRId64, v);
    pg_arg_text(a, a->buf[a->n]);
}

void pg_arg_digest(struct pg_args *a, const unsigned char *d)
{
    a->v[a->n] = (const char *)d;
    a->len[a->n] = d != NULL ? TP_SESSION_DIGEST_LEN : 0;
    a->fmt[a->n] = 1;                 /* binary bytea */
    a->n++;
}

int tp_pg_changes(PGresult *r)
{
    const char *t = tp_pq.PQcmdTuples(r);
    return t != NULL && *t != '\0' ? atoi(t) : 0;
}

int64_t tp_pg_int(PGresult *r, int row, int col)
{
    if (tp_pq.PQgetisnull(r, row, col))
        return 0;
    return strtoll(tp_pq.PQgetvalue(r, row, col), NULL, 10);
}

char *tp_pg_dup(PGresult *r, int row, int col, int *oom)
{
    char *c;

    if (tp_pq.PQgetisnull(r, row, col))
        return NULL;
    if ((c = strdup(tp_pq.PQgetvalue(r, row, col))) == NULL)
        *oom = 1;
    return c;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* bytea in text results: "\x" and two hex digits a byte (bytea_output = hex). */
int tp_pg_bytes(PGresult *r, int row, int col, unsigned char *out, size_t n)
{
    const char *t;

    if (tp_pq.PQgetisnull(r, row, col))
        return -1;
    t = tp_pq.PQgetvalue(r, row, col);
    if ((size_t)tp_pq.PQgetlength(r, row, col) != 2 + 2 * n || t[0] != '\\' || t[1] != 'x')
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(t[2 + 2 * i]), lo = hexval(t[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

void tp_pg_wipe_col(PGresult *r, int col)
{
    int rows = tp_pq.PQntuples(r);

    for (int i = 0; i < rows; i++)
        if (!tp_pq.PQgetisnull(r, i, col))
            tp_secret_wipe(tp_pq.PQgetvalue(r, i, col), (size_t)tp_pq.PQgetlength(r, i, col));
}

int tp_pg_nomem(struct pg *p, const char *what)
{
    return tp_store_fail(&p->base, TP_STORE_ERR, "%s: out of memory", what);
}

/* ---- the connection's state ------------------------------------------------------------ */

int64_t tp_pg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tp_pg_drop(struct pg *p)
{
    if (p->conn != NULL)
        tp_pq.PQfinish(p->conn);
    p->conn = NULL;
    p->reading = 0;
}

int tp_pg_ready(struct pg *p)
{
    if (p->pid != getpid())
        return tp_store_fail(&p->base, TP_STORE_ERR,
                             "used after fork (a connection belongs to the process that opened it)");
    if (p->conn == NULL)
        return tp_store_fail(&p->base, TP_STORE_UNAVAIL,
                             "the connection was lost or timed out; open the store again");
    return TP_STORE_OK;
}

/* libpq's message for the connection, without its trailing newline. */
static void conn_message(struct pg *p, char *buf, size_t n)
{
    const char *m = p->conn != NULL ? tp_pq.PQerrorMessage(p->conn) : "";

    snprintf(buf, n, "%s", m != NULL && *m != '\0' ? m : "connection lost");
    tp_pg_one_line(buf);
}

static int lost(struct pg *p, const char *what)
{
    char m[512];

    conn_message(p, m, sizeof m);
    tp_pg_drop(p);
    return tp_store_fail(&p->base, TP_STORE_UNAVAIL, "%s: %s", what, m);
}

static int timed_out(struct pg *p, const char *what)
{
    tp_pg_drop(p);
    tp_store_fail(&p->base, TP_STORE_UNAVAIL, "%s: no answer from the server in %d s", what,
                  p->timeout);
    p->base.timed_out = 1;
    return TP_STORE_UNAVAIL;
}

int tp_pg_wait(struct pg *p, short events, int64_t deadline)
{
    struct pollfd pfd = { .fd = tp_pq.PQsocket(p->conn), .events = events };
    int64_t left;
    int rc;

    if (pfd.fd < 0)
        return -1;
    for (;;) {
        if ((left = deadline - tp_pg_now_ms()) <= 0)
            return 0;
        rc = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (rc > 0)
            return 1;
        if (rc == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* The server's error in a result as a store code (the message set). */
static int server_error(struct pg *p, PGresult *r, const char *what)
{
    const char *state = tp_pq.PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *msg = tp_pq.PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    int code = TP_STORE_ERR;

    snprintf(p->sqlstate, sizeof p->sqlstate, "%s", state != NULL ? state : "");
    if (msg == NULL)
        msg = "unknown server error";
    if (strcmp(p->sqlstate, "40001") == 0 || strcmp(p->sqlstate, "40P01") == 0)
        code = RETRY;
    else if (strncmp(p->sqlstate, "08", 2) == 0 || strncmp(p->sqlstate, "57P", 3) == 0
             || strncmp(p->sqlstate, "53", 2) == 0 || strcmp(p->sqlstate, "42501") == 0
             || strcmp(p->sqlstate, "42P01") == 0 || strcmp(p->sqlstate, "3F000") == 0
             || strcmp(p->sqlstate, "25006") == 0)
        code = TP_STORE_UNAVAIL;      /* the connection, the server, or its schema */
    if (strcmp(p->sqlstate, "55P03") == 0)
        return tp_store_fail(&p->base, TP_STORE_ERR,
                             "%s: the rows stayed locked by other sessions (%s)", what, msg);
    if (strcmp(p->sqlstate, "57014") == 0)
        return tp_store_fail(&p->base, TP_STORE_ERR,
                             "%s: the server gave up within the command timeout of %d s (%s)",
                             what, p->timeout, msg);
    tp_store_fail(&p->base, code == RETRY ? TP_STORE_ERR : code, "%s: %s (SQLSTATE %s)", what,
                  msg, p->sqlstate);
    return code;
}

/*
 * After a send: flushes, then reads every result until libpq has none
 * left, within the command timeout. The last result goes to *res (or is
 * freed); the first error decides the code.
 */
static int collect(struct pg *p, PGresult **res, const char *what)
{
    int64_t deadline = tp_pg_now_ms() + (int64_t)p->timeout * 1000;
    int code = TP_STORE_OK, rc;
    PGresult *r, *last = NULL;

    p->sqlstate[0] = '\0';
    while ((rc = tp_pq.PQflush(p->conn)) == 1) {
        if ((rc = tp_pg_wait(p, POLLOUT | POLLIN, deadline)) <= 0)
            return rc == 0 ? timed_out(p, what) : lost(p, what);
        if (!tp_pq.PQconsumeInput(p->conn))
            return lost(p, what);
    }
    if (rc < 0)
        return lost(p, what);
    for (;;) {
        while (tp_pq.PQisBusy(p->conn)) {
            if ((rc = tp_pg_wait(p, POLLIN, deadline)) <= 0) {
                tp_pq.PQclear(last);
                return rc == 0 ? timed_out(p, what) : lost(p, what);
            }
            if (!tp_pq.PQconsumeInput(p->conn)) {
                tp_pq.PQclear(last);
                return lost(p, what);
            }
        }
        if ((r = tp_pq.PQgetResult(p->conn)) == NULL)
            break;
        switch (tp_pq.PQresultStatus(r)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
            break;
        case PGRES_FATAL_ERROR:
            if (code == TP_STORE_OK)
                code = server_error(p, r, what);
            break;
        default:
            if (code == TP_STORE_OK)
                code = tp_store_fail(&p->base, TP_STORE_ERR, "%s: unexpected answer (%d)",
                                     what, (int)tp_pq.PQresultStatus(r));
            break;
        }
        tp_pq.PQclear(last);
        last = r;
    }
    if (tp_pq.PQstatus(p->conn) == CONNECTION_BAD) {
        tp_pq.PQclear(last);
        return lost(p, what);
    }
    if (code != TP_STORE_OK || res == NULL)
        tp_pq.PQclear(last);
    else
        *res = last;
    return code;
}

int tp_pg_simple(struct pg *p, const char *sql, PGresult **res, const char *what)
{
    int code;

    if (res != NULL)
        *res = NULL;
    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    if (!tp_pq.PQsendQuery(p->conn, sql))
        return lost(p, what);
    return collect(p, res, what);
}

int tp_pg_run(struct pg *p, enum pg_stmt id, const struct pg_args *a, PGresult **res,
              const char *what)
{
    int code, n = a != NULL ? a->n : 0;

    *res = NULL;
    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    if (!p->prepared[id]) {
        if (!tp_pq.PQsendPrepare(p->conn, stmts[id].name, stmts[id].sql, 0, NULL))
            return lost(p, what);
        if ((code = collect(p, NULL, what)) != TP_STORE_OK)
            return code;
        p->prepared[id] = 1;
    }
    if (!tp_pq.PQsendQueryPrepared(p->conn, stmts[id].name, n, n ? a->v : NULL,
                                   n ? a->len : NULL, n ? a->fmt : NULL, 0))
        return lost(p, what);
    return collect(p, res, what);
}

/* ---- transactions ----------------------------------------------------------------------- */

static void rollback(struct pg *p)
{
    if (p->conn != NULL && tp_pq.PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        tp_pg_simple(p, "ROLLBACK", NULL, "rolling back");
}

/* Ends the read transaction of a scope (COMMIT: it changed nothing). */
static void end_read(struct pg *p)
{
    char keep[TP_STORE_ERRLEN];

    if (!p->reading)
        return;
    p->reading = 0;
    memcpy(keep, p->base.err, sizeof keep);     /* the caller's message stays */
    if (p->conn != NULL && tp_pg_simple(p, "COMMIT", NULL, "ending a read") != TP_STORE_OK)
        rollback(p);
    memcpy(p->base.err, keep, sizeof keep);
}

static int write_tx(struct pg *p, const char *begin, tp_pg_body body, void *arg,
                    const char *what)
{
    int code;

    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    end_read(p);
    for (int attempt = 0;; attempt++) {
        if ((code = tp_pg_simple(p, begin, NULL, what)) == TP_STORE_OK) {
            code = body(p, arg);
            if (code == TP_STORE_OK) {
                if ((code = tp_pg_simple(p, "COMMIT", NULL, what)) == TP_STORE_OK)
                    return TP_STORE_OK;
            }
        }
        if (p->conn == NULL)
            return code == RETRY ? TP_STORE_UNAVAIL : code;
        rollback(p);
        if (code != RETRY)
            return code;
        if (attempt + 1 >= RETRY_TIMES)
            return TP_STORE_ERR;      /* the message of the last failure is set */
        tp_backend_pause(&p->rng, attempt + 2);
    }
}

int tp_pg_write(struct pg *p, tp_pg_body body, void *arg, const char *what)
{
    return write_tx(p, "BEGIN", body, arg, what);
}

int tp_pg_write_lazy(struct pg *p, tp_pg_body body, void *arg, const char *what)
{
    return write_tx(p, "BEGIN; SET LOCAL synchronous_commit = off", body, arg, what);
}

int tp_pg_read(struct pg *p, tp_pg_body body, void *arg, const char *what)
{
    int code;

    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    for (int attempt = 0;; attempt++) {
        code = TP_STORE_OK;
        if (p->scope > 0 && !p->reading) {
            code = tp_pg_simple(p, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, what);
            if (code == TP_STORE_OK)
                p->reading = 1;
        }
        if (code == TP_STORE_OK) {
            code = body(p, arg);
            if (code != TP_STORE_OK && code != TP_STORE_NOTFOUND) {
                if (p->reading)
                    rollback(p);      /* the transaction failed: a new snapshot next */
                p->reading = 0;
            }
        }
        if (code != RETRY)
            return code;
        if (p->conn == NULL)
            return TP_STORE_UNAVAIL;
        if (attempt + 1 >= RETRY_TIMES)
            return TP_STORE_ERR;
        tp_backend_pause(&p->rng, attempt + 2);
    }
}

int tp_pg_read_begin(struct tp_store *st)
{
    struct pg *p = pg_of(st);
    int code;

    if ((code = tp_pg_ready(p)) != TP_STORE_OK && p->pid != getpid())
        return code;
    if (p->scope == INT_MAX)
        return tp_store_fail(st, TP_STORE_ERR, "read scopes nested too deep");
    p->scope++;
    return TP_STORE_OK;
}

void tp_pg_read_end(struct tp_store *st)
{
    struct pg *p = pg_of(st);

    if (p->scope > 0 && --p->scope == 0 && p->pid == getpid())
        end_read(p);
}
