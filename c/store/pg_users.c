/*
 * pg_users.c - users and their attributes in the PostgreSQL store (pg.h).
 * A user lookup is one statement: the users primary key joined to the
 * attribute rows under the same key.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pg.h"

struct user_get_arg {
    const char *name;
    struct tp_user *out;
};

static int body_user_get(struct pg *p, void *arg)
{
    struct user_get_arg *g = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code, rows;

    pg_arg_text(&a, g->name);
    if ((code = tp_pg_run(p, P_USER_GET, &a, &r, "reading a user")) != TP_STORE_OK)
        return code;
    rows = tp_pg_user_rows(r, g->name, g->out);
    tp_pq.PQclear(r);
    if (rows < 0)
        return tp_pg_nomem(p, "reading a user");
    if (rows == 0)
        return tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such user");
    return TP_STORE_OK;
}

static int pg_user_get(struct tp_store *st, const char *name, struct tp_user *out)
{
    struct user_get_arg g = { name, out };
    return tp_pg_read(pg_of(st), body_user_get, &g, "reading a user");
}

/* 1 the user exists, 0 not, -1 error (*code). */
static int user_exists(struct pg *p, const char *name, const char *what, int *code)
{
    struct pg_args a = { 0 };
    PGresult *r;
    int n;

    pg_arg_text(&a, name);
    if ((*code = tp_pg_run(p, P_USER_EXISTS, &a, &r, what)) != TP_STORE_OK)
        return -1;
    n = tp_pq.PQntuples(r);
    tp_pq.PQclear(r);
    return n > 0;
}

static int put_attr(struct pg *p, const char *user, const char *attr, const char *value,
                    const char *what)
{
    struct pg_args a = { 0 };
    PGresult *r;
    int code;

    pg_arg_text(&a, user);
    pg_arg_text(&a, attr);
    pg_arg_text(&a, value);
    code = tp_pg_run(p, P_ATTR_PUT, &a, &r, what);
    if (code == TP_STORE_OK)
        tp_pq.PQclear(r);
    else if (strcmp(p->sqlstate, "23503") == 0)
        return tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such user");
    return code;
}

static int body_user_add(struct pg *p, void *arg)
{
    const struct tp_user *u = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code;

    pg_arg_text(&a, u->name);
    pg_arg_text(&a, u->hash);
    pg_arg_int(&a, u->disabled != 0);
    pg_arg_int(&a, u->force_change != 0);
    pg_arg_int(&a, u->expires);
    pg_arg_int(&a, u->pw_changed);
    pg_arg_int(&a, u->pw_min_days);
    pg_arg_int(&a, u->pw_max_days);
    pg_arg_int(&a, u->pw_warn_days);
    pg_arg_int(&a, u->created != 0 ? u->created : (int64_t)time(NULL));
    code = tp_pg_run(p, P_USER_ADD, &a, &r, "adding a user");
    if (code != TP_STORE_OK)
        return strcmp(p->sqlstate, "23505") == 0
                   ? tp_store_fail(&p->base, TP_STORE_EXISTS, "adding a user: the name is taken")
                   : code;
    tp_pq.PQclear(r);
    for (size_t i = 0; i < u->nattrs; i++)
        if ((code = put_attr(p, u->name, u->attrs[i].name, u->attrs[i].value,
                             "adding a user")) != TP_STORE_OK)
            return code;
    return TP_STORE_OK;
}

static int pg_user_add(struct tp_store *st, const struct tp_user *u)
{
    return tp_pg_write(pg_of(st), body_user_add, (void *)u, "adding a user");
}

struct user_update_arg {
    const struct tp_user *u;
    unsigned int mask;
};

static int body_user_update(struct pg *p, void *arg)
{
    struct user_update_arg *x = arg;
    const struct tp_user *u = x->u;
    struct pg_args a = { 0 };
    PGresult *r;
    int code, n;

    pg_arg_text(&a, u->name);
    pg_arg_int(&a, (int64_t)x->mask);
    pg_arg_text(&a, (x->mask & TP_USER_HASH) ? u->hash : NULL);
    pg_arg_int(&a, u->disabled != 0);
    pg_arg_int(&a, u->force_change != 0);
    pg_arg_int(&a, u->expires);
    pg_arg_int(&a, u->pw_changed);
    pg_arg_int(&a, u->pw_min_days);
    pg_arg_int(&a, u->pw_max_days);
    pg_arg_int(&a, u->pw_warn_days);
    if ((code = tp_pg_run(p, P_USER_UPDATE, &a, &r, "updating a user")) != TP_STORE_OK)
        return code;
    n = tp_pg_changes(r);
    tp_pq.PQclear(r);
    return n > 0 ? TP_STORE_OK : tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such user");
}

static int pg_user_update(struct tp_store *st, const struct tp_user *u, unsigned int mask)
{
    struct user_update_arg a = { u, mask };
    return tp_pg_write(pg_of(st), body_user_update, &a, "updating a user");
}

struct set_hash_arg {
    const char *name, *expect_old, *new_hash;
    int64_t changed_at;
};

static int body_user_set_hash(struct pg *p, void *arg)
{
    struct set_hash_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code, changed, exists;

    pg_arg_text(&a, x->name);
    pg_arg_text(&a, x->expect_old);
    pg_arg_text(&a, x->new_hash);
    pg_arg_int(&a, x->changed_at);
    if ((code = tp_pg_run(p, P_USER_SET_HASH, &a, &r, "changing a password hash")) != TP_STORE_OK)
        return code;
    changed = tp_pg_int(r, 0, 0) > 0;
    exists = strcmp(tp_pq.PQgetvalue(r, 0, 1), "t") == 0;
    tp_pq.PQclear(r);
    if (changed)
        return TP_STORE_OK;
    if (exists)
        return tp_store_fail(&p->base, TP_STORE_CONFLICT,
                             "changing a password hash: it was changed meanwhile");
    return tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such user");
}

static int pg_user_set_hash(struct tp_store *st, const char *name, const char *expect_old,
                            const char *new_hash, int64_t changed_at)
{
    struct set_hash_arg a = { name, expect_old, new_hash, changed_at };
    return tp_pg_write(pg_of(st), body_user_set_hash, &a, "changing a password hash");
}

static int body_user_delete(struct pg *p, void *arg)
{
    struct pg_args a = { 0 };
    PGresult *r;
    int code, n;

    pg_arg_text(&a, arg);
    /* attributes, sessions: ON DELETE CASCADE; failures: the statement's own */
    if ((code = tp_pg_run(p, P_USER_DELETE, &a, &r, "deleting a user")) != TP_STORE_OK)
        return code;
    n = tp_pg_changes(r);
    tp_pq.PQclear(r);
    return n > 0 ? TP_STORE_OK : tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such user");
}

static int pg_user_delete(struct tp_store *st, const char *name)
{
    return tp_pg_write(pg_of(st), body_user_delete, (void *)name, "deleting a user");
}

struct attr_arg {
    const char *name, *attr, *value;
};

static int body_attr_set(struct pg *p, void *arg)
{
    struct attr_arg *x = arg;
    struct pg_args a = { 0 };
    PGresult *r;
    int code = TP_STORE_OK;

    switch (user_exists(p, x->name, "setting an attribute", &code)) {
    case 1:
        break;
    case 0:
        return tp_store_fail(&p->base, TP_STORE_NOTFOUND, "no such user");
    default:
        return code;
    }
    if (x->value != NULL)
        return put_attr(p, x->name, x->attr, x->value, "setting an attribute");
    pg_arg_text(&a, x->name);
    pg_arg_text(&a, x->attr);
    if ((code = tp_pg_run(p, P_ATTR_DELETE, &a, &r, "deleting an attribute")) != TP_STORE_OK)
        return code;
    tp_pq.PQclear(r);
    return TP_STORE_OK;
}

static int pg_attr_set(struct tp_store *st, const char *name, const char *attr, const char *value)
{
    struct attr_arg a = { name, attr, value };
    return tp_pg_write(pg_of(st), body_attr_set, &a, "setting an attribute");
}

/* Lists are read whole (backend.h), then handed out. */
static int body_user_list(struct pg *p, void *arg)
{
    struct tp_user_vec *uv = arg;
    PGresult *r;
    int code, bad;

    if ((code = tp_pg_run(p, P_USER_LIST, NULL, &r, "listing users")) != TP_STORE_OK)
        return code;
    bad = tp_pg_user_list_rows(r, uv) != 0;
    tp_pq.PQclear(r);
    return bad ? tp_pg_nomem(p, "listing users") : TP_STORE_OK;
}

static int pg_user_list(struct tp_store *st, int (*fn)(void *data, const struct tp_user *u),
                        void *data)
{
    struct tp_user_vec uv = { 0 };
    int code = tp_pg_read(pg_of(st), body_user_list, &uv, "listing users");

    tp_user_vec_hand_out(&uv, fn, data);
    return code;
}

const struct tp_store_users tp_pg_users = {
    .get = pg_user_get,
    .add = pg_user_add,
    .update = pg_user_update,
    .set_hash = pg_user_set_hash,
    .remove = pg_user_delete,
    .attr_set = pg_attr_set,
    .list = pg_user_list,
};
