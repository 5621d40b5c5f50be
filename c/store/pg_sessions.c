/*
 * pg_sessions.c - sessions in the PostgreSQL store (pg.h), looked up by
 * the digest primary key; purge and a user's sessions are index searches.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pg.h"

static int body_session_add(struct pg *p, void *arg)
{
    const struct tp_session *x = arg;
    int64_t created = x->created != 0 ? x->created : (int64_t)time(NULL);
    struct pg_args a = { 0 };
    PGresult *r;
    int code;

    pg_arg_digest(&a, x->digest);
    pg_arg_text(&a, x->user);
    pg_arg_int(&a, created);
    pg_arg_int(&a, x->last_used != 0 ? x->last_used : created);
    pg_arg_text(&a, x->rhost);
    code = tp_pg_run(p, P_SES_ADD, &a, &r, "adding a session");
    if (code == TP_STORE_OK) {
        tp_pq.PQclear(r);
        return TP_STORE_OK;
    }
    if (strcmp(p->sqlstate, "23503") == 0)
        return tp_store_fail(&p->base, TP_STORE_NOTFOUND, "adding a session: no such user");
    if (strcmp(p->sqlstate, "23505") == 0)
        return tp_store_fail(&p->base, TP_STORE_EXISTS, "adding a session: it exists");
    return code;
}

static int pg_session_add(struct tp_store *st, const struct tp_session *x)
{
    return tp_pg_write(pg_of(st), body_session_add, (void *)x, "adding a session");
}

struct session_get_arg {
    const unsigned char *digest;
    struct tp_session *out;
};

static int body_session_get(struct pg *p, void *arg)
{
    struct session_get_arg *g = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code, rows;

    pg_arg_digest(&a, g->digest);
    if ((code = tp_pg_run(p, P_SES_GET, &a, &r, "reading a session")) != TP_STORE_OK)
        return code;
    rows = tp_pg_session_rows(r, g->digest, g->out);
    tp_pq.PQclear(r);
    if (rows < 0)
        return tp_pg_nomem(p, "reading a session");
    if (rows == 0)
        return tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such session");
    return TP_STORE_OK;
}

static int pg_session_get(struct tp_store *st, const unsigned char *digest, struct tp_session *out)
{
    struct session_get_arg g = { digest, out };
    return tp_pg_read(pg_of(st), body_session_get, &g, "reading a session");
}

struct touch_arg {
    const unsigned char *digest;
    int64_t now, threshold;
};

static int body_touch_check(struct pg *p, void *arg)
{
    struct touch_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int64_t last = 0;
    int code, rows;

    pg_arg_digest(&a, x->digest);
    if ((code = tp_pg_run(p, P_SES_LAST, &a, &r, "touching a session")) != TP_STORE_OK)
        return code;
    if ((rows = tp_pq.PQntuples(r)) > 0)
        last = tp_pg_int(r, 0, 0);
    tp_pq.PQclear(r);
    if (rows == 0)
        return tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such session");
    return last < x->threshold ? TP_STORE_CONFLICT : TP_STORE_OK;     /* CONFLICT: write */
}

static int body_touch(struct pg *p, void *arg)
{
    struct touch_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code, exists;

    pg_arg_digest(&a, x->digest);
    pg_arg_int(&a, x->now);
    pg_arg_int(&a, x->threshold);
    if ((code = tp_pg_run(p, P_SES_TOUCH, &a, &r, "touching a session")) != TP_STORE_OK)
        return code;
    /* not changed: touched meanwhile (OK), or gone */
    exists = tp_pg_int(r, 0, 0) > 0 || strcmp(tp_pq.PQgetvalue(r, 0, 1), "t") == 0;
    tp_pq.PQclear(r);
    return exists ? TP_STORE_OK : tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such session");
}

/* Coalesced: a read decides, and only a stale last_used is written. */
static int pg_session_touch(struct tp_store *st, const unsigned char *digest, int64_t now,
                            int64_t min_interval)
{
    struct pg *p = pg_of(st);
    struct touch_arg a = { digest, now, now };
    int code;

    if (min_interval > 0 && __builtin_sub_overflow(now, min_interval, &a.threshold))
        a.threshold = INT64_MIN;
    /* the check decides a change: never the scope's first or second read */
    code = tp_pg_read_alone(p, body_touch_check, &a, "touching a session");
    if (code != TP_STORE_CONFLICT)
        return code;
    return tp_pg_write_lazy(p, body_touch, &a, "touching a session");
}

static int body_session_delete(struct pg *p, void *arg)
{
    struct pg_args a = { 0 };
    PGresult *r;
    int code, n;

    pg_arg_digest(&a, arg);
    if ((code = tp_pg_run(p, P_SES_DELETE, &a, &r, "deleting a session")) != TP_STORE_OK)
        return code;
    n = tp_pg_changes(r);
    tp_pq.PQclear(r);
    return n > 0 ? TP_STORE_OK : tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such session");
}

static int pg_session_delete(struct tp_store *st, const unsigned char *digest)
{
    return tp_pg_write(pg_of(st), body_session_delete, (void *)digest, "deleting a session");
}

struct delete_arg {
    const char *user;
    const unsigned char *keep;
    int64_t idle_before, created_before;
    int changes;
};

static int body_session_delete_user(struct pg *p, void *arg)
{
    struct delete_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code;

    pg_arg_text(&a, x->user);
    pg_arg_digest(&a, x->keep);
    if ((code = tp_pg_run(p, P_SES_DELETE_USER, &a, &r, "deleting sessions")) != TP_STORE_OK)
        return code;
    x->changes = tp_pg_changes(r);
    tp_pq.PQclear(r);
    return TP_STORE_OK;
}

static int pg_session_delete_user(struct tp_store *st, const char *user, const unsigned char *keep,
                                  int *count)
{
    struct delete_arg a = { user, keep, 0, 0, 0 };
    int code = tp_pg_write(pg_of(st), body_session_delete_user, &a, "deleting sessions");

    if (code == TP_STORE_OK && count != NULL)
        *count = a.changes;
    return code;
}

static int body_session_purge(struct pg *p, void *arg)
{
    struct delete_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code;

    pg_arg_int(&a, x->idle_before);
    pg_arg_int(&a, x->created_before);
    if ((code = tp_pg_run(p, P_SES_PURGE, &a, &r, "purging sessions")) != TP_STORE_OK)
        return code;
    x->changes = tp_pg_changes(r);
    tp_pq.PQclear(r);
    return TP_STORE_OK;
}

static int pg_session_purge(struct tp_store *st, int64_t idle_before, int64_t created_before,
                            int *count)
{
    struct delete_arg a = { NULL, NULL, idle_before, created_before, 0 };
    int code = tp_pg_write(pg_of(st), body_session_purge, &a, "purging sessions");

    if (code == TP_STORE_OK && count != NULL)
        *count = a.changes;
    return code;
}

static int body_session_list(struct pg *p, void *arg)
{
    struct tp_session_vec *sv = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code, bad;

    if (sv->user != NULL)
        pg_arg_text(&a, sv->user);
    code = tp_pg_run(p, sv->user != NULL ? P_SES_LIST_USER : P_SES_LIST_ALL, &a, &r,
                     "listing sessions");
    if (code != TP_STORE_OK)
        return code;
    bad = tp_pg_session_list_rows(r, sv) != 0;
    tp_pq.PQclear(r);
    return bad ? tp_pg_nomem(p, "listing sessions") : TP_STORE_OK;
}

static int pg_session_list(struct tp_store *st, const char *user,
                           int (*fn)(void *data, const struct tp_session *x), void *data)
{
    struct tp_session_vec sv = { user, NULL, 0, 0 };
    int code = tp_pg_read(pg_of(st), body_session_list, &sv, "listing sessions");

    tp_session_vec_hand_out(&sv, fn, data);
    return code;
}

const struct tp_store_sessions tp_pg_sessions = {
    .add = pg_session_add,
    .get = pg_session_get,
    .touch = pg_session_touch,
    .remove = pg_session_delete,
    .remove_user = pg_session_delete_user,
    .purge = pg_session_purge,
    .list = pg_session_list,
};
