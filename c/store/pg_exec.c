/*
 * pg_exec.c - running statements on the PostgreSQL store: parameters,
 * waits bounded by the command timeout, errors, transactions with their
 * retries, and read scopes (pg.h); the statements' texts are in pg_sql.c.
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
    p->ending = 0;
}

static int finish_read(struct pg *p);

int tp_pg_ready(struct pg *p)
{
    if (p->pid != getpid())
        return tp_store_fail(&p->base, TP_STORE_ERR,
                             "used after fork (a connection belongs to the process that opened it)");
    if (p->conn == NULL)
        return tp_store_fail(&p->base, TP_STORE_UNAVAIL,
                             "the connection was lost or timed out; open the store again");
    return p->ending ? finish_read(p) : TP_STORE_OK;
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
 * freed); the first error decides the code. nq > 0: a pipeline of nq
 * statements and a sync (run_opening): the results of the last statement
 * are the ones kept, the first statement's success sets *p->opened, and
 * the pipeline ends at the sync's result.
 */
static int collect(struct pg *p, PGresult **res, int nq, const char *what)
{
    int64_t deadline = tp_pg_now_ms() + (int64_t)p->timeout * 1000;
    int code = TP_STORE_OK, rc, q = 0;
    PGresult *r, *last = NULL;
    ExecStatusType rs;

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
        if ((r = tp_pq.PQgetResult(p->conn)) == NULL) {
            if (nq == 0)
                break;
            if (++q <= nq)
                continue;           /* the end of one statement's results */
            tp_pq.PQclear(last);
            tp_pg_drop(p);
            return tp_store_fail(&p->base, TP_STORE_UNAVAIL, "%s: the pipeline ended early",
                                 what);
        }
        rs = tp_pq.PQresultStatus(r);
        if (nq > 0 && (rs == PGRES_PIPELINE_SYNC || rs == PGRES_PIPELINE_ABORTED
                       || q < nq - 1)) {
            if (q == 0 && rs == PGRES_COMMAND_OK && p->opened != NULL)
                *p->opened = 1;
            if (rs == PGRES_FATAL_ERROR && code == TP_STORE_OK)
                code = server_error(p, r, what);
            tp_pq.PQclear(r);
            if (rs == PGRES_PIPELINE_SYNC)
                break;
            continue;
        }
        switch (rs) {
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
    if (tp_pq.PQstatus(p->conn) == CONNECTION_BAD
        || (nq > 0 && !tp_pq.PQexitPipelineMode(p->conn))) {
        tp_pq.PQclear(last);
        return lost(p, what);
    }
    if (code != TP_STORE_OK || res == NULL)
        tp_pq.PQclear(last);
    else
        *res = last;
    return code;
}

/* Takes the transaction's first statements that wait to be sent
 * (p->opening) into open; 1 if there were any. */
static int take_opening(struct pg *p, const char *open[2], int **opened)
{
    open[0] = p->opening[0];
    open[1] = p->opening[1];
    *opened = p->opened;
    p->opening[0] = p->opening[1] = NULL;
    p->opened = NULL;
    return open[0] != NULL;
}

/* Sends them one after the other (an older libpq, or before a simple query). */
static int send_opening(struct pg *p, const char *open[2], int *opened, const char *what)
{
    int code = TP_STORE_OK;

    for (int i = 0; i < 2 && open[i] != NULL && code == TP_STORE_OK; i++)
        if ((code = tp_pg_simple(p, open[i], NULL, what)) == TP_STORE_OK && i == 0
            && opened != NULL)
            *opened = 1;
    return code;
}

int tp_pg_simple(struct pg *p, const char *sql, PGresult **res, const char *what)
{
    const char *open[2];
    int code, *opened;

    if (res != NULL)
        *res = NULL;
    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    if (take_opening(p, open, &opened)
        && (code = send_opening(p, open, opened, what)) != TP_STORE_OK)
        return code;
    if (!tp_pq.PQsendQuery(p->conn, sql))
        return lost(p, what);
    return collect(p, res, 0, what);
}

/* The transaction's first statements and statement id in one round trip:
 * one pipeline (libpq 14 and later) ending in a sync. */
static int run_opening(struct pg *p, const char *open[2], int *opened, enum pg_stmt id,
                       const struct pg_args *a, PGresult **res, const char *what)
{
    int code, nq = 1, n = a != NULL ? a->n : 0;

    if (tp_pq.PQenterPipelineMode == NULL) {
        if ((code = send_opening(p, open, opened, what)) != TP_STORE_OK)
            return code;
        return tp_pg_run(p, id, a, res, what);
    }
    if (!tp_pq.PQenterPipelineMode(p->conn))
        return lost(p, what);
    for (int i = 0; i < 2 && open[i] != NULL; i++, nq++)
        if (!tp_pq.PQsendQueryParams(p->conn, open[i], 0, NULL, NULL, NULL, NULL, 0))
            return lost(p, what);
    if (!tp_pq.PQsendQueryPrepared(p->conn, tp_pg_stmt_name(id), n, n ? a->v : NULL,
                                   n ? a->len : NULL, n ? a->fmt : NULL, 0)
        || !tp_pq.PQpipelineSync(p->conn))
        return lost(p, what);
    p->opened = opened;
    code = collect(p, res, nq, what);
    p->opened = NULL;
    return code;
}

int tp_pg_run(struct pg *p, enum pg_stmt id, const struct pg_args *a, PGresult **res,
              const char *what)
{
    const char *open[2];
    int code, *opened, n = a != NULL ? a->n : 0;

    *res = NULL;
    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    if (!p->prepared[id]) {
        if (!tp_pq.PQsendPrepare(p->conn, tp_pg_stmt_name(id), tp_pg_sql(id), 0, NULL))
            return lost(p, what);
        if ((code = collect(p, NULL, 0, what)) != TP_STORE_OK)
            return code;
        p->prepared[id] = 1;
    }
    if (take_opening(p, open, &opened))
        return run_opening(p, open, opened, id, a, res, what);
    if (!tp_pq.PQsendQueryPrepared(p->conn, tp_pg_stmt_name(id), n, n ? a->v : NULL,
                                   n ? a->len : NULL, n ? a->fmt : NULL, 0))
        return lost(p, what);
    return collect(p, res, 0, what);
}

/* ---- transactions ----------------------------------------------------------------------- */

static void rollback(struct pg *p)
{
    if (p->conn != NULL && tp_pq.PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        tp_pg_simple(p, "ROLLBACK", NULL, "rolling back");
}

/* Reads the answer to the COMMIT end_read sent: TP_STORE_OK unless the
 * connection is lost (a failed COMMIT of a read is rolled back). */
static int finish_read(struct pg *p)
{
    int code;

    p->ending = 0;
    if ((code = collect(p, NULL, 0, "ending a read")) != TP_STORE_OK && p->conn != NULL)
        rollback(p);
    return p->conn != NULL ? TP_STORE_OK : code;
}

/* Ends the read transaction of a scope: COMMIT (it changed nothing), sent
 * without waiting; its answer is read before the next command
 * (tp_pg_ready: finish_read). */
static void end_read(struct pg *p)
{
    char keep[TP_STORE_ERRLEN];

    if (!p->reading)
        return;
    p->reading = 0;
    if (p->conn == NULL)
        return;
    if (tp_pq.PQsendQuery(p->conn, "COMMIT")) {
        p->ending = 1;
        if (tp_pq.PQflush(p->conn) == 0)
            return;
    }
    memcpy(keep, p->base.err, sizeof keep);     /* the caller's message stays */
    if (p->ending)
        (void)finish_read(p);                   /* not sent at once: wait here */
    else
        tp_pg_drop(p);
    memcpy(p->base.err, keep, sizeof keep);
}

static int write_tx(struct pg *p, const char *also, tp_pg_body body, void *arg,
                    const char *what)
{
    int code, sent;

    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    end_read(p);
    for (int attempt = 0;; attempt++) {
        /* BEGIN goes with the body's first statement */
        p->opening[0] = "BEGIN";
        p->opening[1] = also;
        p->opened = NULL;
        code = body(p, arg);
        sent = p->opening[0] == NULL;
        p->opening[0] = p->opening[1] = NULL;
        if (code == TP_STORE_OK) {
            if (!sent)
                return TP_STORE_OK;   /* the body had nothing to send */
            if ((code = tp_pg_simple(p, "COMMIT", NULL, what)) == TP_STORE_OK)
                return TP_STORE_OK;
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
    return write_tx(p, NULL, body, arg, what);
}

int tp_pg_write_lazy(struct pg *p, tp_pg_body body, void *arg, const char *what)
{
    return write_tx(p, "SET LOCAL synchronous_commit = off", body, arg, what);
}

int tp_pg_read(struct pg *p, tp_pg_body body, void *arg, const char *what)
{
    int code;

    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    for (int attempt = 0;; attempt++) {
        if (p->scope > 0 && !p->reading) {
            /* the snapshot's BEGIN goes with the body's first statement */
            p->opening[0] = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
            p->opening[1] = NULL;
            p->opened = &p->reading;
        }
        code = body(p, arg);
        p->opening[0] = p->opening[1] = NULL;
        p->opened = NULL;
        if (code != TP_STORE_OK && code != TP_STORE_NOTFOUND) {
            if (p->reading)
                rollback(p);          /* the transaction failed: a new snapshot next */
            p->reading = 0;
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
