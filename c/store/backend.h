/*
 * backend.h - what a store backend implements (private to c/store/).
 *
 * store.c owns the public functions of store.h: it checks the arguments
 * every backend would check, clears the error text and calls the backend
 * through struct tp_store_ops. A backend embeds struct tp_store as the first
 * member of its own connection structure. Only sqlite exists today; a
 * server backend (postgresql, redis) adds its ops table and one line in
 * store.c's tp_store_open, and no caller changes.
 */
#ifndef TP_STORE_BACKEND_H
#define TP_STORE_BACKEND_H

#include "store.h"

#define TP_STORE_ERRLEN 1024

struct tp_store_ops {
    const char *name;
    void (*close)(struct tp_store *st);
    int (*user_get)(struct tp_store *st, const char *name, struct tp_user *out);
    int (*user_add)(struct tp_store *st, const struct tp_user *u);
    int (*user_update)(struct tp_store *st, const struct tp_user *u, unsigned int mask);
    int (*user_set_hash)(struct tp_store *st, const char *name, const char *expect_old,
                         const char *new_hash, int64_t changed_at);
    int (*user_delete)(struct tp_store *st, const char *name);
    int (*attr_set)(struct tp_store *st, const char *name, const char *attr, const char *value);
    int (*user_list)(struct tp_store *st, int (*fn)(void *data, const struct tp_user *u),
                     void *data);
    int (*session_add)(struct tp_store *st, const struct tp_session *s);
    int (*session_get)(struct tp_store *st, const unsigned char *digest, struct tp_session *out);
    int (*session_touch)(struct tp_store *st, const unsigned char *digest, int64_t now,
                         int64_t min_interval);
    int (*session_delete)(struct tp_store *st, const unsigned char *digest);
    int (*session_delete_user)(struct tp_store *st, const char *user, const unsigned char *keep,
                               int *count);
    int (*session_purge)(struct tp_store *st, int64_t idle_before, int64_t created_before,
                         int *count);
    int (*session_list)(struct tp_store *st, const char *user,
                        int (*fn)(void *data, const struct tp_session *s), void *data);
    int (*fail_add)(struct tp_store *st, const char *user, int64_t now, int64_t since,
                    int *count);
    int (*fail_count)(struct tp_store *st, const char *user, int64_t since, int *count,
                      int64_t *latest);
    int (*fail_reset)(struct tp_store *st, const char *user);
};

/* The part of every connection that store.c sees. */
struct tp_store {
    const struct tp_store_ops *ops;
    const char *where;              /* the location as given (owned by the backend) */
    char err[TP_STORE_ERRLEN];      /* the last error, "" if none; never a secret */
};

/* Formats "where: fmt ..." into st->err; returns code (`return tp_store_fail(...)`). */
int tp_store_fail(struct tp_store *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Backends. Same contract as tp_store_open. */
int tp_store_sqlite_open(const char *path, int flags, struct tp_store **out, char *err,
                         size_t errlen);

#endif /* TP_STORE_BACKEND_H */
