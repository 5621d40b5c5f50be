/*
 * sqlite_users.c - users and their attributes in the embedded store
 * (sqlite.h). A user lookup is one statement: a point query on the users
 * primary key joined to the attribute rows under the same key.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sqlite.h"

/* Reads the user columns starting at column c into u (not the name). */
static int read_user(sqlite3_stmt *p, int c, struct tp_user *u)
{
    int oom = 0;

    u->hash = tp_sq_dup_col(p, c, &oom);
    if (u->hash == NULL && !oom)
        u->hash = strdup("");         /* NOT NULL in the schema; never NULL for callers */
    u->disabled = sqlite3_column_int(p, c + 1) != 0;
    u->force_change = sqlite3_column_int(p, c + 2) != 0;
    u->expires = sqlite3_column_int64(p, c + 3);
    u->pw_changed = sqlite3_column_int64(p, c + 4);
    u->pw_min_days = sqlite3_column_int(p, c + 5);
    u->pw_max_days = sqlite3_column_int(p, c + 6);
    u->pw_warn_days = sqlite3_column_int(p, c + 7);
    u->created = sqlite3_column_int64(p, c + 8);
    return oom || u->hash == NULL ? -1 : 0;
}

/* Appends the attribute in columns c, c+1 (if not NULL: LEFT JOIN). */
static int read_attr(sqlite3_stmt *p, int c, struct tp_user *u)
{
    int oom = 0;

    if (sqlite3_column_type(p, c) == SQLITE_NULL)
        return 0;
    return tp_user_attr_take(u, tp_sq_dup_col(p, c, &oom), tp_sq_dup_col(p, c + 1, &oom));
}

struct user_get_arg {
    const char *name;
    struct tp_user *out;
};

static int body_user_get(struct sq *s, void *arg)
{
    struct user_get_arg *g = arg;
    sqlite3_stmt *p;
    int rc, found = 0, bad = 0;

    if ((rc = tp_sq_prep(s, S_USER_GET, &p)) != SQLITE_OK)
        return tp_sq_fail(s, rc, "reading a user");
    tp_sq_bind_text(p, 1, g->name);
    while (!bad && (rc = sqlite3_step(p)) == SQLITE_ROW) {
        if (!found) {
            found = 1;
            if (read_user(p, 0, g->out) != 0 || (g->out->name = strdup(g->name)) == NULL)
                bad = 1;
        }
        if (!bad && read_attr(p, USER_NCOLS, g->out) != 0)
            bad = 1;
    }
    tp_sq_done(p);
    if (bad || rc != SQLITE_DONE) {
        tp_user_clear(g->out);
        return bad ? tp_sq_nomem(s, "reading a user") : tp_sq_fail(s, rc, "reading a user");
    }
    if (!found)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    return TP_STORE_OK;
}

static int sq_user_get(struct tp_store *st, const char *name, struct tp_user *out)
{
    struct user_get_arg g = { name, out };
    return tp_sq_read(sq_of(st), body_user_get, &g, "reading a user");
}

/* 1 the user exists, 0 not, or a negative store code (RETRY) / error code. */
static int user_exists(struct sq *s, const char *name, const char *what, int *code)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_USER_EXISTS, &p)) != SQLITE_OK) {
        *code = tp_sq_fail(s, rc, what);
        return -1;
    }
    tp_sq_bind_text(p, 1, name);
    rc = sqlite3_step(p);
    tp_sq_done(p);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    *code = tp_sq_fail(s, rc, what);
    return -1;
}

static int put_attr(struct sq *s, const char *user, const char *attr, const char *value,
                    const char *what)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_ATTR_PUT, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, user);
        tp_sq_bind_text(p, 2, attr);
        tp_sq_bind_text(p, 3, value);
        rc = tp_sq_step_done(p);
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    return rc == SQLITE_OK ? TP_STORE_OK : tp_sq_fail(s, rc, what);
}

static int body_user_add(struct sq *s, void *arg)
{
    const struct tp_user *u = arg;
    sqlite3_stmt *p;
    int rc, code;

    if ((rc = tp_sq_prep(s, S_USER_ADD, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, u->name);
        tp_sq_bind_text(p, 2, u->hash);
        sqlite3_bind_int(p, 3, u->disabled != 0);
        sqlite3_bind_int(p, 4, u->force_change != 0);
        sqlite3_bind_int64(p, 5, u->expires);
        sqlite3_bind_int64(p, 6, u->pw_changed);
        sqlite3_bind_int(p, 7, u->pw_min_days);
        sqlite3_bind_int(p, 8, u->pw_max_days);
        sqlite3_bind_int(p, 9, u->pw_warn_days);
        sqlite3_bind_int64(p, 10, u->created != 0 ? u->created : (int64_t)time(NULL));
        rc = tp_sq_step_done(p);
    }
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return tp_store_fail(&s->base, TP_STORE_EXISTS, "adding a user: the name is taken");
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "adding a user");
    for (size_t i = 0; i < u->nattrs; i++)
        if ((code = put_attr(s, u->name, u->attrs[i].name, u->attrs[i].value,
                             "adding a user")) != TP_STORE_OK)
            return code;
    return TP_STORE_OK;
}

static int sq_user_add(struct tp_store *st, const struct tp_user *u)
{
    return tp_sq_write(sq_of(st), body_user_add, (void *)u, "adding a user");
}

struct user_update_arg {
    const struct tp_user *u;
    unsigned int mask;
};

static int body_user_update(struct sq *s, void *arg)
{
    struct user_update_arg *a = arg;
    const struct tp_user *u = a->u;
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_USER_UPDATE, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, u->name);
        sqlite3_bind_int(p, 2, (int)a->mask);
        tp_sq_bind_text(p, 3, (a->mask & TP_USER_HASH) ? u->hash : NULL);
        sqlite3_bind_int(p, 4, u->disabled != 0);
        sqlite3_bind_int(p, 5, u->force_change != 0);
        sqlite3_bind_int64(p, 6, u->expires);
        sqlite3_bind_int64(p, 7, u->pw_changed);
        sqlite3_bind_int(p, 8, u->pw_min_days);
        sqlite3_bind_int(p, 9, u->pw_max_days);
        sqlite3_bind_int(p, 10, u->pw_warn_days);
        rc = tp_sq_step_done(p);
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "updating a user");
    if (sqlite3_changes(s->db) == 0)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    return TP_STORE_OK;
}

static int sq_user_update(struct tp_store *st, const struct tp_user *u, unsigned int mask)
{
    struct user_update_arg a = { u, mask };
    return tp_sq_write(sq_of(st), body_user_update, &a, "updating a user");
}

struct set_hash_arg {
    const char *name, *expect_old, *new_hash;
    int64_t changed_at;
};

static int body_user_set_hash(struct sq *s, void *arg)
{
    struct set_hash_arg *a = arg;
    sqlite3_stmt *p;
    int rc, code = TP_STORE_OK;

    if ((rc = tp_sq_prep(s, S_USER_SET_HASH, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, a->name);
        tp_sq_bind_text(p, 2, a->expect_old);
        tp_sq_bind_text(p, 3, a->new_hash);
        sqlite3_bind_int64(p, 4, a->changed_at);
        rc = tp_sq_step_done(p);
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "changing a password hash");
    if (sqlite3_changes(s->db) > 0)
        return TP_STORE_OK;
    switch (user_exists(s, a->name, "changing a password hash", &code)) {
    case 1:
        return tp_store_fail(&s->base, TP_STORE_CONFLICT,
                             "changing a password hash: it was changed meanwhile");
    case 0:
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    default:
        return code;
    }
}

static int sq_user_set_hash(struct tp_store *st, const char *name, const char *expect_old,
                            const char *new_hash, int64_t changed_at)
{
    struct set_hash_arg a = { name, expect_old, new_hash, changed_at };
    return tp_sq_write(sq_of(st), body_user_set_hash, &a, "changing a password hash");
}

static int body_user_delete(struct sq *s, void *arg)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_USER_DELETE, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, arg);
        rc = tp_sq_step_done(p);            /* attributes, sessions: ON DELETE CASCADE */
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "deleting a user");
    if (sqlite3_changes(s->db) == 0)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    if ((rc = tp_sq_prep(s, S_USER_DELETE_FAILS, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, arg);
        rc = tp_sq_step_done(p);            /* failures: any name's, so no foreign key */
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "deleting a user");
    return TP_STORE_OK;
}

static int sq_user_delete(struct tp_store *st, const char *name)
{
    return tp_sq_write(sq_of(st), body_user_delete, (void *)name, "deleting a user");
}

struct attr_arg {
    const char *name, *attr, *value;
};

static int body_attr_set(struct sq *s, void *arg)
{
    struct attr_arg *a = arg;
    sqlite3_stmt *p;
    int rc, code = TP_STORE_OK;

    switch (user_exists(s, a->name, "setting an attribute", &code)) {
    case 1:
        break;
    case 0:
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such user");
    default:
        return code;
    }
    if (a->value != NULL)
        return put_attr(s, a->name, a->attr, a->value, "setting an attribute");
    if ((rc = tp_sq_prep(s, S_ATTR_DELETE, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, a->name);
        tp_sq_bind_text(p, 2, a->attr);
        rc = tp_sq_step_done(p);
    }
    return rc == SQLITE_OK ? TP_STORE_OK : tp_sq_fail(s, rc, "deleting an attribute");
}

static int sq_attr_set(struct tp_store *st, const char *name, const char *attr, const char *value)
{
    struct attr_arg a = { name, attr, value };
    return tp_sq_write(sq_of(st), body_attr_set, &a, "setting an attribute");
}

/* Lists are read whole (backend.h), then handed out. */
static int body_user_list(struct sq *s, void *arg)
{
    struct tp_user_vec *uv = arg;
    struct tp_user *u = NULL;
    sqlite3_stmt *p;
    int rc, bad = 0, oom = 0;

    if ((rc = tp_sq_prep(s, S_USER_LIST, &p)) != SQLITE_OK)
        return tp_sq_fail(s, rc, "listing users");
    while (!bad && (rc = sqlite3_step(p)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(p, 0);
        if (name == NULL) {
            bad = 1;
            break;
        }
        if (u == NULL || strcmp(u->name, name) != 0) {
            if ((u = tp_user_vec_add(uv)) == NULL) {
                bad = 1;
                break;
            }
            if ((u->name = tp_sq_dup_col(p, 0, &oom)) == NULL || read_user(p, 1, u) != 0) {
                bad = 1;
                break;
            }
        }
        if (read_attr(p, 1 + USER_NCOLS, u) != 0)
            bad = 1;
    }
    tp_sq_done(p);
    if (bad || rc != SQLITE_DONE) {
        tp_user_vec_clear(uv);
        return bad ? tp_sq_nomem(s, "listing users") : tp_sq_fail(s, rc, "listing users");
    }
    return TP_STORE_OK;
}

static int sq_user_list(struct tp_store *st, int (*fn)(void *data, const struct tp_user *u),
                        void *data)
{
    struct tp_user_vec uv = { 0 };
    int code = tp_sq_read(sq_of(st), body_user_list, &uv, "listing users");

    tp_user_vec_hand_out(&uv, fn, data);
    return code;
}

const struct tp_store_users tp_sq_users = {
    .get = sq_user_get,
    .add = sq_user_add,
    .update = sq_user_update,
    .set_hash = sq_user_set_hash,
    .remove = sq_user_delete,
    .attr_set = sq_attr_set,
    .list = sq_user_list,
};
