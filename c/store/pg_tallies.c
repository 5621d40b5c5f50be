/*
 * pg_tallies.c - failure tallies in the PostgreSQL store (pg.h).
 */
#include <stdlib.h>
#include <string.h>
#include "pg.h"

struct fail_arg {
    const char *user;
    int64_t now, since;
    int count;
    int64_t latest;
};

/*
 * One row per failure, added with the user's row locked, so concurrent
 * adds for one user are counted one after the other. The FAIL_KEEP newest
 * are kept per user: a password-guessing storm cannot grow the table
 * without bound (a count reaches at most FAIL_KEEP).
 */
static int body_fail_add(struct pg *p, void *arg)
{
    struct fail_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int64_t recent;
    int code, n;

    pg_arg_text(&a, x->user);
    pg_arg_int(&a, x->now);
    if ((code = tp_pg_run(p, P_FAIL_LOCK_ADD, &a, &r, "recording a failure")) != TP_STORE_OK)
        return code;
    n = tp_pg_changes(r);
    tp_pq.PQclear(r);
    if (n != 1)
        return tp_store_fail(&p->base, TP_STORE_ERR, "recording a failure: %d rows added", n);
    a.n = 0;
    pg_arg_text(&a, x->user);
    pg_arg_int(&a, x->since);
    pg_arg_int(&a, FAIL_KEEP);
    if ((code = tp_pg_run(p, P_FAIL_TRIM_COUNT, &a, &r, "recording a failure")) != TP_STORE_OK)
        return code;
    recent = tp_pg_int(r, 0, 0);
    tp_pq.PQclear(r);
    x->count = (int)(recent > FAIL_KEEP ? FAIL_KEEP : recent);      /* the oldest went first */
    return TP_STORE_OK;
}

static int pg_fail_add(struct tp_store *st, const char *user, int64_t now, int64_t since,
                       int *count)
{
    struct fail_arg a = { user, now, since, 0, 0 };
    int code = tp_pg_write(pg_of(st), body_fail_add, &a, "recording a failure");

    if (code == TP_STORE_OK && count != NULL)
        *count = a.count;
    return code;
}

static int body_fail_count(struct pg *p, void *arg)
{
    struct fail_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code;

    pg_arg_text(&a, x->user);
    pg_arg_int(&a, x->since);
    if ((code = tp_pg_run(p, P_FAIL_COUNT, &a, &r, "counting failures")) != TP_STORE_OK)
        return code;
    x->count = (int)tp_pg_int(r, 0, 0);
    x->latest = tp_pg_int(r, 0, 1);
    tp_pq.PQclear(r);
    return TP_STORE_OK;
}

static int pg_fail_count(struct tp_store *st, const char *user, int64_t since, int *count,
                         int64_t *latest)
{
    struct fail_arg a = { user, 0, since, 0, 0 };
    int code = tp_pg_read(pg_of(st), body_fail_count, &a, "counting failures");

    if (code == TP_STORE_OK) {
        if (count != NULL)
            *count = a.count;
        if (latest != NULL)
            *latest = a.latest;
    }
    return code;
}

static int body_fail_reset(struct pg *p, void *arg)
{
    struct pg_args a = { 0 };
    PGresult *r;
    int code;

    pg_arg_text(&a, arg);
    if ((code = tp_pg_run(p, P_FAIL_RESET, &a, &r, "resetting failures")) != TP_STORE_OK)
        return code;
    tp_pq.PQclear(r);
    return TP_STORE_OK;
}

static int pg_fail_reset(struct tp_store *st, const char *user)
{
    return tp_pg_write(pg_of(st), body_fail_reset, (void *)user, "resetting failures");
}

struct purge_arg {
    int64_t before;
    int n;
};

static int body_fail_purge(struct pg *p, void *arg)
{
    struct purge_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code;

    pg_arg_int(&a, x->before);
    if ((code = tp_pg_run(p, P_FAIL_PURGE, &a, &r, "purging old failures")) != TP_STORE_OK)
        return code;
    x->n = tp_pg_changes(r);
    tp_pq.PQclear(r);
    return TP_STORE_OK;
}

static int pg_fail_purge(struct tp_store *st, int64_t before, int *n)
{
    struct purge_arg a = { before, 0 };
    int code = tp_pg_write(pg_of(st), body_fail_purge, &a, "purging old failures");

    if (code == TP_STORE_OK && n != NULL)
        *n = a.n;
    return code;
}

struct list_arg {
    const char *user;
    struct tp_fail_rows *rows;
};

/* The rows of the failures (a retried read starts them again). */
static int body_fail_list(struct pg *p, void *arg)
{
    struct list_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code, bad;

    for (size_t i = 0; i < x->rows->n; i++)
        free(x->rows->v[i].user);
    x->rows->n = 0;
    if (x->user != NULL)
        pg_arg_text(&a, x->user);
    code = tp_pg_run(p, x->user != NULL ? P_FAIL_LIST_USER : P_FAIL_LIST_ALL, &a, &r,
                     "listing failures");
    if (code != TP_STORE_OK)
        return code;
    bad = tp_pg_fail_list_rows(r, x->rows) != 0;
    tp_pq.PQclear(r);
    return bad ? tp_pg_nomem(p, "listing failures") : TP_STORE_OK;
}

static int pg_fail_list(struct tp_store *st, const char *user, struct tp_fail_rows *rows)
{
    struct list_arg a = { user, rows };

    return tp_pg_read(pg_of(st), body_fail_list, &a, "listing failures");
}

const struct tp_store_tallies tp_pg_tallies = {
    .add = pg_fail_add,
    .count = pg_fail_count,
    .reset = pg_fail_reset,
    .purge = pg_fail_purge,
    .list = pg_fail_list,
};
