/*
 * sqlite_tallies.c - failure tallies in the embedded store (sqlite.h).
 */
#include <stdlib.h>
#include <string.h>
#include "sqlite.h"

struct fail_arg {
    const char *user;
    int64_t now, since;
    int count;
    int64_t latest;
};

/*
 * One row per failure; the FAIL_KEEP newest are kept per name, so a
 * password-guessing storm on one name cannot grow the file without bound
 * (a count reaches at most FAIL_KEEP, far above any lockout threshold);
 * names made up by guessers go with the purge of old failures.
 */
static int body_fail_add(struct sq *s, void *arg)
{
    struct fail_arg *a = arg;
    sqlite3_stmt *p;
    int64_t total = 0, recent = 0;
    int rc;

    if ((rc = tp_sq_prep(s, S_FAIL_ADD, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, a->user);
        sqlite3_bind_int64(p, 2, a->now);
        rc = tp_sq_step_done(p);
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "recording a failure");
    if ((rc = tp_sq_prep(s, S_FAIL_STATS, &p)) != SQLITE_OK)
        return tp_sq_fail(s, rc, "recording a failure");
    tp_sq_bind_text(p, 1, a->user);
    sqlite3_bind_int64(p, 2, a->since);
    if ((rc = sqlite3_step(p)) == SQLITE_ROW) {
        total = sqlite3_column_int64(p, 0);
        recent = sqlite3_column_int64(p, 1);
    }
    tp_sq_done(p);
    if (rc != SQLITE_ROW)
        return tp_sq_fail(s, rc, "recording a failure");
    if (total > FAIL_KEEP) {
        if ((rc = tp_sq_prep(s, S_FAIL_TRIM, &p)) == SQLITE_OK) {
            tp_sq_bind_text(p, 1, a->user);
            sqlite3_bind_int(p, 2, FAIL_KEEP);
            rc = tp_sq_step_done(p);
        }
        if (rc != SQLITE_OK)
            return tp_sq_fail(s, rc, "recording a failure");
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
    int code = tp_sq_write(sq_of(st), body_fail_add, &a, "recording a failure");

    if (code == TP_STORE_OK && count != NULL)
        *count = a.count;
    return code;
}

static int body_fail_count(struct sq *s, void *arg)
{
    struct fail_arg *a = arg;
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_FAIL_COUNT, &p)) != SQLITE_OK)
        return tp_sq_fail(s, rc, "counting failures");
    tp_sq_bind_text(p, 1, a->user);
    sqlite3_bind_int64(p, 2, a->since);
    if ((rc = sqlite3_step(p)) == SQLITE_ROW) {
        a->count = sqlite3_column_int(p, 0);
        a->latest = sqlite3_column_int64(p, 1);
    }
    tp_sq_done(p);
    return rc == SQLITE_ROW ? TP_STORE_OK : tp_sq_fail(s, rc, "counting failures");
}

static int sq_fail_count(struct tp_store *st, const char *user, int64_t since, int *count,
                         int64_t *latest)
{
    struct fail_arg a = { user, 0, since, 0, 0 };
    int code = tp_sq_read(sq_of(st), body_fail_count, &a, "counting failures");

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

    if ((rc = tp_sq_prep(s, S_FAIL_RESET, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, arg);
        rc = tp_sq_step_done(p);
    }
    return rc == SQLITE_OK ? TP_STORE_OK : tp_sq_fail(s, rc, "resetting failures");
}

static int sq_fail_reset(struct tp_store *st, const char *user)
{
    return tp_sq_write(sq_of(st), body_fail_reset, (void *)user, "resetting failures");
}

struct purge_arg {
    int64_t before;
    int n;
};

static int body_fail_purge(struct sq *s, void *arg)
{
    struct purge_arg *a = arg;
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_FAIL_PURGE, &p)) == SQLITE_OK) {
        sqlite3_bind_int64(p, 1, a->before);
        rc = tp_sq_step_done(p);
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "purging old failures");
    a->n = sqlite3_changes(s->db);
    return TP_STORE_OK;
}

static int sq_fail_purge(struct tp_store *st, int64_t before, int *n)
{
    struct purge_arg a = { before, 0 };
    int code = tp_sq_write(sq_of(st), body_fail_purge, &a, "purging old failures");

    if (code == TP_STORE_OK && n != NULL)
        *n = a.n;
    return code;
}

struct list_arg {
    const char *user;
    struct tp_fail_rows *rows;
};

/* The rows of the failures (a retried read starts them again). */
static int body_fail_list(struct sq *s, void *arg)
{
    struct list_arg *a = arg;
    sqlite3_stmt *p;
    int rc;

    for (size_t i = 0; i < a->rows->n; i++)
        free(a->rows->v[i].user);
    a->rows->n = 0;
    if ((rc = tp_sq_prep(s, a->user != NULL ? S_FAIL_LIST_USER : S_FAIL_LIST_ALL, &p)) != SQLITE_OK)
        return tp_sq_fail(s, rc, "listing failures");
    if (a->user != NULL)
        tp_sq_bind_text(p, 1, a->user);
    while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
        const char *u = (const char *)sqlite3_column_text(p, 0);
        if (u == NULL
            || tp_fail_rows_add(a->rows, u, (size_t)sqlite3_column_bytes(p, 0),
                                sqlite3_column_int64(p, 1)) != 0) {
            tp_sq_done(p);
            return tp_sq_nomem(s, "listing failures");
        }
    }
    tp_sq_done(p);
    return rc == SQLITE_DONE ? TP_STORE_OK : tp_sq_fail(s, rc, "listing failures");
}

static int sq_fail_list(struct tp_store *st, const char *user, struct tp_fail_rows *rows)
{
    struct list_arg a = { user, rows };

    return tp_sq_read(sq_of(st), body_fail_list, &a, "listing failures");
}

const struct tp_store_tallies tp_sq_tallies = {
    .add = sq_fail_add,
    .count = sq_fail_count,
    .reset = sq_fail_reset,
    .purge = sq_fail_purge,
    .list = sq_fail_list,
};
