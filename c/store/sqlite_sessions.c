/*
 * sqlite_sessions.c - sessions in the embedded store (sqlite.h), looked up
 * by the digest primary key; purge and a user's sessions are index searches.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sqlite.h"

static int body_session_add(struct sq *s, void *arg)
{
    const struct tp_session *x = arg;
    int64_t created = x->created != 0 ? x->created : (int64_t)time(NULL);
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_SES_ADD, &p)) == SQLITE_OK) {
        tp_sq_bind_digest(p, 1, x->digest);
        tp_sq_bind_text(p, 2, x->user);
        sqlite3_bind_int64(p, 3, created);
        sqlite3_bind_int64(p, 4, x->last_used != 0 ? x->last_used : created);
        tp_sq_bind_text(p, 5, x->rhost);
        rc = tp_sq_step_done(p);
    }
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "adding a session: no such user");
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return tp_store_fail(&s->base, TP_STORE_EXISTS, "adding a session: it exists");
    return rc == SQLITE_OK ? TP_STORE_OK : tp_sq_fail(s, rc, "adding a session");
}

static int sq_session_add(struct tp_store *st, const struct tp_session *x)
{
    return tp_sq_write(sq_of(st), body_session_add, (void *)x, "adding a session");
}

/* Reads columns c.. (digest, user, created, last_used, rhost) or, with
 * digest given, c.. (user, created, last_used, rhost). */
static int read_session(sqlite3_stmt *p, int c, const unsigned char *digest, struct tp_session *x)
{
    int oom = 0;

    if (digest == NULL) {
        const void *d = sqlite3_column_blob(p, c);
        if (d == NULL || sqlite3_column_bytes(p, c) != TP_SESSION_DIGEST_LEN)
            return -1;
        memcpy(x->digest, d, TP_SESSION_DIGEST_LEN);
        c++;
    } else {
        memcpy(x->digest, digest, TP_SESSION_DIGEST_LEN);
    }
    x->user = tp_sq_dup_col(p, c, &oom);
    x->created = sqlite3_column_int64(p, c + 1);
    x->last_used = sqlite3_column_int64(p, c + 2);
    x->rhost = tp_sq_dup_col(p, c + 3, &oom);
    return oom || x->user == NULL ? -1 : 0;
}

struct session_get_arg {
    const unsigned char *digest;
    struct tp_session *out;
};

static int body_session_get(struct sq *s, void *arg)
{
    struct session_get_arg *g = arg;
    sqlite3_stmt *p;
    int rc, bad = 0;

    if ((rc = tp_sq_prep(s, S_SES_GET, &p)) != SQLITE_OK)
        return tp_sq_fail(s, rc, "reading a session");
    tp_sq_bind_digest(p, 1, g->digest);
    rc = sqlite3_step(p);
    if (rc == SQLITE_ROW)
        bad = read_session(p, 0, g->digest, g->out) != 0;
    tp_sq_done(p);
    if (rc == SQLITE_DONE)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such session");
    if (bad || rc != SQLITE_ROW) {
        tp_session_clear(g->out);
        return bad ? tp_sq_nomem(s, "reading a session") : tp_sq_fail(s, rc, "reading a session");
    }
    return TP_STORE_OK;
}

static int sq_session_get(struct tp_store *st, const unsigned char *digest, struct tp_session *out)
{
    struct session_get_arg g = { digest, out };
    return tp_sq_read(sq_of(st), body_session_get, &g, "reading a session");
}

struct touch_arg {
    const unsigned char *digest;
    int64_t now, threshold;
};

/* 1 found (last_used in *last), 0 not, -1 error (*code). */
static int session_last(struct sq *s, const unsigned char *digest, int64_t *last, int *code)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_SES_LAST, &p)) != SQLITE_OK) {
        *code = tp_sq_fail(s, rc, "touching a session");
        return -1;
    }
    tp_sq_bind_digest(p, 1, digest);
    rc = sqlite3_step(p);
    if (rc == SQLITE_ROW)
        *last = sqlite3_column_int64(p, 0);
    tp_sq_done(p);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc == SQLITE_ROW;
    *code = tp_sq_fail(s, rc, "touching a session");
    return -1;
}

static int body_touch_check(struct sq *s, void *arg)
{
    struct touch_arg *a = arg;
    int64_t last = 0;
    int code = TP_STORE_OK;

    switch (session_last(s, a->digest, &last, &code)) {
    case 1:
        return last < a->threshold ? TP_STORE_CONFLICT : TP_STORE_OK;  /* CONFLICT: write */
    case 0:
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such session");
    default:
        return code;
    }
}

static int body_touch(struct sq *s, void *arg)
{
    struct touch_arg *a = arg;
    sqlite3_stmt *p;
    int64_t last = 0;
    int rc, code = TP_STORE_OK;

    if ((rc = tp_sq_prep(s, S_SES_TOUCH, &p)) == SQLITE_OK) {
        tp_sq_bind_digest(p, 1, a->digest);
        sqlite3_bind_int64(p, 2, a->now);
        sqlite3_bind_int64(p, 3, a->threshold);
        rc = tp_sq_step_done(p);
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "touching a session");
    if (sqlite3_changes(s->db) > 0)
        return TP_STORE_OK;
    switch (session_last(s, a->digest, &last, &code)) {   /* touched meanwhile, or gone? */
    case 1:
        return TP_STORE_OK;
    case 0:
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such session");
    default:
        return code;
    }
}

/* Coalesced: a read decides, and only a stale last_used takes the write lock. */
static int sq_session_touch(struct tp_store *st, const unsigned char *digest, int64_t now,
                            int64_t min_interval)
{
    struct sq *s = sq_of(st);
    struct touch_arg a = { digest, now, now };
    int code;

    if (min_interval > 0 && __builtin_sub_overflow(now, min_interval, &a.threshold))
        a.threshold = INT64_MIN;
    code = tp_sq_read(s, body_touch_check, &a, "touching a session");
    if (code != TP_STORE_CONFLICT)
        return code;
    return tp_sq_write_lazy(s, body_touch, &a, "touching a session");
}

static int body_session_delete(struct sq *s, void *arg)
{
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_SES_DELETE, &p)) == SQLITE_OK) {
        tp_sq_bind_digest(p, 1, arg);
        rc = tp_sq_step_done(p);
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "deleting a session");
    if (sqlite3_changes(s->db) == 0)
        return tp_store_fail(&s->base, TP_STORE_NOTFOUND, "no such session");
    return TP_STORE_OK;
}

static int sq_session_delete(struct tp_store *st, const unsigned char *digest)
{
    return tp_sq_write(sq_of(st), body_session_delete, (void *)digest, "deleting a session");
}

struct delete_arg {
    const char *user;
    const unsigned char *keep;
    int64_t idle_before, created_before;
    int changes;
};

static int body_session_delete_user(struct sq *s, void *arg)
{
    struct delete_arg *a = arg;
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_SES_DELETE_USER, &p)) == SQLITE_OK) {
        tp_sq_bind_text(p, 1, a->user);
        tp_sq_bind_digest(p, 2, a->keep);
        rc = tp_sq_step_done(p);
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "deleting sessions");
    a->changes = sqlite3_changes(s->db);
    return TP_STORE_OK;
}

static int sq_session_delete_user(struct tp_store *st, const char *user, const unsigned char *keep,
                                  int *count)
{
    struct delete_arg a = { user, keep, 0, 0, 0 };
    int code = tp_sq_write(sq_of(st), body_session_delete_user, &a, "deleting sessions");

    if (code == TP_STORE_OK && count != NULL)
        *count = a.changes;
    return code;
}

static int body_session_purge(struct sq *s, void *arg)
{
    struct delete_arg *a = arg;
    sqlite3_stmt *p;
    int rc;

    if ((rc = tp_sq_prep(s, S_SES_PURGE, &p)) == SQLITE_OK) {
        sqlite3_bind_int64(p, 1, a->idle_before);
        sqlite3_bind_int64(p, 2, a->created_before);
        rc = tp_sq_step_done(p);
    }
    if (rc != SQLITE_OK)
        return tp_sq_fail(s, rc, "purging sessions");
    a->changes = sqlite3_changes(s->db);
    return TP_STORE_OK;
}

static int sq_session_purge(struct tp_store *st, int64_t idle_before, int64_t created_before,
                            int *count)
{
    struct delete_arg a = { NULL, NULL, idle_before, created_before, 0 };
    int code = tp_sq_write(sq_of(st), body_session_purge, &a, "purging sessions");

    if (code == TP_STORE_OK && count != NULL)
        *count = a.changes;
    return code;
}

static int body_session_list(struct sq *s, void *arg)
{
    struct tp_session_vec *sv = arg;
    sqlite3_stmt *p;
    int rc, bad = 0;

    if ((rc = tp_sq_prep(s, sv->user != NULL ? S_SES_LIST_USER : S_SES_LIST_ALL, &p)) != SQLITE_OK)
        return tp_sq_fail(s, rc, "listing sessions");
    if (sv->user != NULL)
        tp_sq_bind_text(p, 1, sv->user);
    while (!bad && (rc = sqlite3_step(p)) == SQLITE_ROW) {
        struct tp_session *x = tp_session_vec_add(sv);
        bad = x == NULL || read_session(p, 0, NULL, x) != 0;
    }
    tp_sq_done(p);
    if (bad || rc != SQLITE_DONE) {
        tp_session_vec_clear(sv);
        return bad ? tp_sq_nomem(s, "listing sessions") : tp_sq_fail(s, rc, "listing sessions");
    }
    return TP_STORE_OK;
}

static int sq_session_list(struct tp_store *st, const char *user,
                           int (*fn)(void *data, const struct tp_session *x), void *data)
{
    struct tp_session_vec sv = { user, NULL, 0, 0 };
    int code = tp_sq_read(sq_of(st), body_session_list, &sv, "listing sessions");

    tp_session_vec_hand_out(&sv, fn, data);
    return code;
}

const struct tp_store_sessions tp_sq_sessions = {
    .add = sq_session_add,
    .get = sq_session_get,
    .touch = sq_session_touch,
    .remove = sq_session_delete,
    .remove_user = sq_session_delete_user,
    .purge = sq_session_purge,
    .list = sq_session_list,
};
