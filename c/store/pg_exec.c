/*
 * pg_exec.c - running statements on the PostgreSQL store: parameters and
 * the rows a statement changed, waits bounded by the command timeout, errors, pipelines, a
 * command whose answer is read later (pg.h). Transactions and read scopes
 * are in pg_tx.c, the statements' texts in pg_sql.c, reading the columns
 * of a result in pg_rows.c.
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
#include <sodium.h>
#include "secret.h"

/* ---- parameters ---------------------------------------------------------- */

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
    tp_pg_first_clear(p);
}

static int finish_unwaited(struct pg *p);

int tp_pg_ready(struct pg *p)
{
    if (p->pid != getpid())
        return tp_store_fail(&p->base, TP_STORE_ERR,
                             "used after fork (a connection belongs to the process that opened it)");
    if (p->conn == NULL)
        return tp_store_fail(&p->base, TP_STORE_UNAVAIL,
                             "the connection was lost or timed out; open the store again");
    return p->ending ? finish_unwaited(p) : TP_STORE_OK;
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

/* A checksum of a result's rows: their number, and every value with its
 * length (NULL apart from empty). */
void tp_pg_result_sum(PGresult *r, unsigned char out[TP_PG_SUM_LEN])
{
    crypto_generichash_state g;
    int rows = tp_pq.PQntuples(r), cols = tp_pq.PQnfields(r);
    int64_t head[2] = { rows, cols };

    crypto_generichash_init(&g, NULL, 0, TP_PG_SUM_LEN);
    crypto_generichash_update(&g, (const unsigned char *)head, sizeof head);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            int64_t len = tp_pq.PQgetisnull(r, i, j) ? -1 : tp_pq.PQgetlength(r, i, j);
            crypto_generichash_update(&g, (const unsigned char *)&len, sizeof len);
            if (len > 0)
                crypto_generichash_update(&g, (const unsigned char *)tp_pq.PQgetvalue(r, i, j),
                                          (unsigned long long)len);
        }
    crypto_generichash_final(&g, out, TP_PG_SUM_LEN);
    tp_secret_wipe(&g, sizeof g);
}

/*
 * After a send: flushes, then reads every result until libpq has none
 * left, within the command timeout. The last result goes to *res (or is
 * freed); the first error decides the code. With pipe: a pipeline of
 * pipe->n statements and a sync (tp_pg_exec): only the last statement's
 * results are kept, the first one's success sets pipe->began, the rows of
 * pipe->again (the statement before the last) are summed into pipe->sum,
 * and the pipeline ends at the sync's result.
 */
static int collect(struct pg *p, PGresult **res, struct pg_pipe *pipe, const char *what)
{
    int64_t deadline = tp_pg_now_ms() + (int64_t)p->timeout * 1000;
    int code = TP_STORE_OK, rc, q = 0, nq = pipe != NULL ? pipe->n : 0;
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
            if (q == 0 && rs == PGRES_COMMAND_OK && pipe->pre[0] != NULL)
                pipe->began = 1;
            if (q == nq - 2 && rs == PGRES_TUPLES_OK && pipe->again != NULL) {
                tp_pg_result_sum(r, pipe->sum);
                pipe->summed = 1;
            }
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

int tp_pg_simple(struct pg *p, const char *sql, PGresult **res, const char *what)
{
    int code;

    if (res != NULL)
        *res = NULL;
    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    if (!tp_pq.PQsendQuery(p->conn, sql))
        return lost(p, what);
    return collect(p, res, NULL, what);
}

/* Reads the answer to what tp_pg_unwaited sent: TP_STORE_OK unless the
 * connection is lost (a failed COMMIT is rolled back). */
static int finish_unwaited(struct pg *p)
{
    int code;

    p->ending = 0;
    if ((code = collect(p, NULL, NULL, "ending a read")) != TP_STORE_OK && p->conn != NULL
        && tp_pq.PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        (void)tp_pg_simple(p, "ROLLBACK", NULL, "rolling back");
    return p->conn != NULL ? TP_STORE_OK : code;
}

void tp_pg_unwaited(struct pg *p, const char *sql)
{
    char keep[TP_STORE_ERRLEN];

    if (p->conn == NULL || p->pid != getpid() || tp_pg_ready(p) != TP_STORE_OK)
        return;
    if (tp_pq.PQsendQuery(p->conn, sql)) {
        p->ending = 1;
        if (tp_pq.PQflush(p->conn) == 0)
            return;
    }
    memcpy(keep, p->base.err, sizeof keep);     /* the caller's message stays */
    if (p->ending)
        (void)finish_unwaited(p);               /* not sent at once: wait here */
    else
        tp_pg_drop(p);
    memcpy(p->base.err, keep, sizeof keep);
}

/* Statement id prepared on the connection (the first time). */
static int prepare(struct pg *p, enum pg_stmt id, const char *what)
{
    int code;

    if (p->prepared[id])
        return TP_STORE_OK;
    if (!tp_pq.PQsendPrepare(p->conn, tp_pg_stmt_name(id), tp_pg_sql(id), 0, NULL))
        return lost(p, what);
    if ((code = collect(p, NULL, NULL, what)) != TP_STORE_OK)
        return code;
    p->prepared[id] = 1;
    return TP_STORE_OK;
}

static int send_prepared(struct pg *p, enum pg_stmt id, const struct pg_args *a)
{
    int n = a != NULL ? a->n : 0;

    return tp_pq.PQsendQueryPrepared(p->conn, tp_pg_stmt_name(id), n, n ? a->v : NULL,
                                     n ? a->len : NULL, n ? a->fmt : NULL, 0);
}

/* A pipe's statements one after the other, for a libpq without pipeline
 * mode (13 and older). */
static int exec_one_by_one(struct pg *p, struct pg_pipe *pipe, enum pg_stmt id,
                           const struct pg_args *a, PGresult **res, const char *what)
{
    PGresult *r = NULL;
    int code = TP_STORE_OK;

    for (int i = 0; i < 2 && pipe->pre[i] != NULL && code == TP_STORE_OK; i++)
        if ((code = tp_pg_simple(p, pipe->pre[i], NULL, what)) == TP_STORE_OK && i == 0)
            pipe->began = 1;
    if (code == TP_STORE_OK && pipe->again != NULL) {
        if (!send_prepared(p, pipe->again->id, &pipe->again->args))
            return lost(p, what);
        if ((code = collect(p, &r, NULL, what)) == TP_STORE_OK) {
            tp_pg_result_sum(r, pipe->sum);
            pipe->summed = 1;
            tp_pq.PQclear(r);
        }
    }
    if (code != TP_STORE_OK)
        return code;
    return tp_pg_exec(p, NULL, id, a, res, what);
}

int tp_pg_exec(struct pg *p, struct pg_pipe *pipe, enum pg_stmt id, const struct pg_args *a,
               PGresult **res, const char *what)
{
    int code;

    *res = NULL;
    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    if ((code = prepare(p, id, what)) != TP_STORE_OK
        || (pipe != NULL && pipe->again != NULL
            && (code = prepare(p, pipe->again->id, what)) != TP_STORE_OK))
        return code;
    if (pipe == NULL) {
        if (!send_prepared(p, id, a))
            return lost(p, what);
        return collect(p, res, NULL, what);
    }
    if (tp_pq.PQenterPipelineMode == NULL)
        return exec_one_by_one(p, pipe, id, a, res, what);
    if (!tp_pq.PQenterPipelineMode(p->conn))
        return lost(p, what);
    pipe->n = 1;
    for (int i = 0; i < 2 && pipe->pre[i] != NULL; i++, pipe->n++)
        if (!tp_pq.PQsendQueryParams(p->conn, pipe->pre[i], 0, NULL, NULL, NULL, NULL, 0))
            return lost(p, what);
    if (pipe->again != NULL) {
        if (!send_prepared(p, pipe->again->id, &pipe->again->args))
            return lost(p, what);
        pipe->n++;
    }
    if (!send_prepared(p, id, a) || !tp_pq.PQpipelineSync(p->conn))
        return lost(p, what);
    return collect(p, res, pipe, what);
}
