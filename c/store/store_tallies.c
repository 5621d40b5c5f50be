/*
 * store_tallies.c - the public face of the store's failure tallies
 * (store.h): the argument checks every backend shares (backend.h), then the
 * backend's call; the list of failures sorted by user and time.
 */
#include <stdlib.h>
#include <string.h>
#include "backend.h"

int tp_store_fail_add(struct tp_store *st, const char *user, int64_t now, int64_t since,
                      int *count)
{
    if (count != NULL)
        *count = 0;
    if (!tp_store_usable(st) || !tp_store_name_given(user))
        return tp_store_bad_arg(st, "fail_add needs a user name");
    if (st->backend->tallies == NULL)
        return tp_store_keeps_none(st, "failure tallies");
    return st->backend->tallies->add(st, user, now, since, count);
}

int tp_store_fail_count(struct tp_store *st, const char *user, int64_t since, int *count,
                        int64_t *latest)
{
    if (count != NULL)
        *count = 0;
    if (latest != NULL)
        *latest = 0;
    if (!tp_store_usable(st) || !tp_store_name_given(user))
        return tp_store_bad_arg(st, "fail_count needs a user name");
    if (st->backend->tallies == NULL)
        return tp_store_keeps_none(st, "failure tallies");
    return st->backend->tallies->count(st, user, since, count, latest);
}

int tp_store_fail_reset(struct tp_store *st, const char *user)
{
    if (!tp_store_usable(st) || !tp_store_name_given(user))
        return tp_store_bad_arg(st, "fail_reset needs a user name");
    if (st->backend->tallies == NULL)
        return tp_store_keeps_none(st, "failure tallies");
    return st->backend->tallies->reset(st, user);
}

int tp_store_fail_purge(struct tp_store *st, int64_t before, int *n)
{
    if (n != NULL)
        *n = 0;
    if (!tp_store_usable(st))
        return tp_store_bad_arg(st, "fail_purge needs a store");
    if (st->backend->tallies == NULL)
        return tp_store_keeps_none(st, "failure tallies");
    if (st->backend->tallies->purge == NULL)
        return TP_STORE_OK;
    return st->backend->tallies->purge(st, before, n);
}

int tp_fail_rows_add(struct tp_fail_rows *rows, const char *user, size_t ulen, int64_t time)
{
    char *u;

    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? 2 * rows->cap : 64;
        struct tp_fail_row *v = realloc(rows->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        rows->v = v;
        rows->cap = cap;
    }
    if ((u = malloc(ulen + 1)) == NULL)
        return -1;
    memcpy(u, user, ulen);
    u[ulen] = '\0';
    rows->v[rows->n].user = u;
    rows->v[rows->n].time = time;
    rows->n++;
    return 0;
}

static void fail_rows_clear(struct tp_fail_rows *rows)
{
    for (size_t i = 0; i < rows->n; i++)
        free(rows->v[i].user);
    free(rows->v);
    rows->v = NULL;
    rows->n = rows->cap = 0;
}

static int by_user_time(const void *a, const void *b)
{
    const struct tp_fail_row *x = a, *y = b;
    int c = strcmp(x->user, y->user);

    if (c != 0)
        return c;
    return x->time < y->time ? -1 : x->time > y->time;
}

int tp_store_fail_list(struct tp_store *st, const char *user,
                       int (*fn)(void *data, const char *user, const int64_t *times, size_t n),
                       void *data)
{
    struct tp_fail_rows rows = { NULL, 0, 0 };
    int64_t *times = NULL;
    int code;

    if (!tp_store_usable(st) || fn == NULL || (user != NULL && *user == '\0'))
        return tp_store_bad_arg(st, "fail_list needs a function (and a user name or NULL)");
    if (st->backend->tallies == NULL)
        return tp_store_keeps_none(st, "failure tallies");
    code = st->backend->tallies->list(st, user, &rows);
    if (code == TP_STORE_OK && rows.n > 0) {
        qsort(rows.v, rows.n, sizeof rows.v[0], by_user_time);
        if ((times = malloc(rows.n * sizeof *times)) == NULL)
            code = tp_store_fail(st, TP_STORE_ERR, "listing failures: out of memory");
    }
    for (size_t i = 0, j; code == TP_STORE_OK && i < rows.n; i = j) {
        for (j = i; j < rows.n && strcmp(rows.v[j].user, rows.v[i].user) == 0; j++)
            times[j - i] = rows.v[j].time;
        if (fn(data, rows.v[i].user, times, j - i) != 0)
            break;
    }
    free(times);
    fail_rows_clear(&rows);
    return code;
}
