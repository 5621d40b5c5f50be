/*
 * pg_tx.c - transactions and read scopes on the PostgreSQL store (pg.h):
 * each change in BEGIN ... COMMIT with its retries, the reads of a scope
 * in one snapshot at one round trip a statement.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pg.h"
#include "secret.h"

#define READ_BEGIN "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

static void rollback(struct pg *p)
{
    if (p->conn != NULL && tp_pg_ready(p) == TP_STORE_OK
        && tp_pq.PQtransactionStatus(p->conn) != PQTRANS_IDLE)
        tp_pg_simple(p, "ROLLBACK", NULL, "rolling back");
}

/* ---- the scope's first statement ------------------------------------------------------ */

void tp_pg_first_clear(struct pg *p)
{
    if (p->first.mem != NULL) {
        tp_secret_wipe(p->first.mem, p->first.memlen);
        free(p->first.mem);
    }
    memset(&p->first, 0, sizeof p->first);
}

/* Keeps statement id, a copy of its arguments and the checksum of its rows
 * r as the scope's first: 0, or -1 when out of memory. */
static int first_keep(struct pg *p, enum pg_stmt id, const struct pg_args *a, PGresult *r)
{
    int n = a != NULL ? a->n : 0;
    size_t len = 1, off = 0;

    tp_pg_first_clear(p);
    for (int i = 0; i < n; i++)
        if (a->v[i] != NULL)
            len += a->fmt[i] ? (size_t)a->len[i] : strlen(a->v[i]) + 1;
    if ((p->first.mem = malloc(len)) == NULL)
        return -1;
    p->first.memlen = len;
    p->first.args.n = n;
    for (int i = 0; i < n; i++) {
        size_t l;

        p->first.args.len[i] = a->len[i];
        p->first.args.fmt[i] = a->fmt[i];
        if (a->v[i] == NULL)
            continue;
        l = a->fmt[i] ? (size_t)a->len[i] : strlen(a->v[i]) + 1;
        memcpy(p->first.mem + off, a->v[i], l);
        p->first.args.v[i] = p->first.mem + off;
        off += l;
    }
    p->first.id = id;
    tp_pg_result_sum(r, p->first.sum);
    p->first.set = 1;
    return 0;
}

int tp_pg_run(struct pg *p, enum pg_stmt id, const struct pg_args *a, PGresult **res,
              const char *what)
{
    struct pg_pipe pipe;
    int code, same;

    memset(&pipe, 0, sizeof pipe);
    if (p->opening) {
        /* a change's BEGIN goes with its first statement */
        p->opening = 0;
        pipe.pre[0] = "BEGIN";
        pipe.pre[1] = p->opening_also;
        return tp_pg_exec(p, &pipe, id, a, res, what);
    }
    if (!p->in_read || p->scope == 0 || p->reading)
        return tp_pg_exec(p, NULL, id, a, res, what);
    if (!p->first.set) {
        /* the scope's first statement: alone, and kept */
        code = tp_pg_exec(p, NULL, id, a, res, what);
        if (code == TP_STORE_OK && first_keep(p, id, a, *res) != 0) {
            tp_pq.PQclear(*res);
            *res = NULL;
            return tp_pg_nomem(p, what);
        }
        return code;
    }
    /* its second: the snapshot, the first again in it, and this one */
    pipe.pre[0] = READ_BEGIN;
    pipe.again = &p->first;
    code = tp_pg_exec(p, &pipe, id, a, res, what);
    if (pipe.began && p->conn != NULL)
        p->reading = 1;
    same = pipe.summed && tp_secret_equal(pipe.sum, p->first.sum, TP_PG_SUM_LEN);
    tp_pg_first_clear(p);
    if (code == TP_STORE_OK && !same) {
        tp_pq.PQclear(*res);
        *res = NULL;
        code = tp_store_fail(&p->base, TP_STORE_CONFLICT,
                             "%s: the store changed between two reads of one call (another"
                             " process wrote meanwhile); try again", what);
    }
    return code;
}

int tp_pg_run_sql(struct pg *p, const char *sql, PGresult **res, const char *what)
{
    int code;

    if (p->opening) {
        /* a change's first statement is text: its BEGIN goes first, alone */
        p->opening = 0;
        if ((code = tp_pg_simple(p, "BEGIN", NULL, what)) != TP_STORE_OK
            || (p->opening_also != NULL
                && (code = tp_pg_simple(p, p->opening_also, NULL, what)) != TP_STORE_OK)) {
            if (res != NULL)
                *res = NULL;
            return code;
        }
    }
    return tp_pg_simple(p, sql, res, what);
}

/* ---- transactions ----------------------------------------------------------------------- */

/* Ends the snapshot of a scope: forgets its first statement, and commits
 * its transaction if one was begun (the answer read later). */
static void end_read(struct pg *p)
{
    tp_pg_first_clear(p);
    if (!p->reading)
        return;
    p->reading = 0;
    tp_pg_unwaited(p, "COMMIT");
}

static int write_tx(struct pg *p, const char *also, tp_pg_body body, void *arg,
                    const char *what)
{
    int code, sent;

    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    end_read(p);
    for (int attempt = 0;; attempt++) {
        p->opening = 1;               /* BEGIN goes with the body's first statement */
        p->opening_also = also;
        code = body(p, arg);
        sent = !p->opening;
        p->opening = 0;
        p->opening_also = NULL;
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

static int read_as(struct pg *p, int scoped, tp_pg_body body, void *arg, const char *what)
{
    int code;

    if ((code = tp_pg_ready(p)) != TP_STORE_OK)
        return code;
    for (int attempt = 0;; attempt++) {
        p->in_read = scoped;
        code = body(p, arg);
        p->in_read = 0;
        if (code != TP_STORE_OK && code != TP_STORE_NOTFOUND) {
            if (p->reading)
                rollback(p);          /* the transaction failed: a new snapshot next */
            p->reading = 0;
            tp_pg_first_clear(p);
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

int tp_pg_read(struct pg *p, tp_pg_body body, void *arg, const char *what)
{
    return read_as(p, 1, body, arg, what);
}

int tp_pg_read_alone(struct pg *p, tp_pg_body body, void *arg, const char *what)
{
    return read_as(p, 0, body, arg, what);
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
