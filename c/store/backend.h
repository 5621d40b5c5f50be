/*
 * backend.h - what a store backend implements (private to c/store/).
 *
 * store.c owns the public functions of store.h: it checks the arguments
 * every backend would check, clears the error line, and calls the backend
 * through its struct tp_store_backend. A backend:
 *   - embeds struct tp_store as the first member of its connection;
 *   - says which locations are its own (claims): a URI scheme for a server
 *     backend, anything for the embedded one, which is tried last;
 *   - implements open and close, and the groups of calls for what it keeps
 *     (users, sessions, failure tallies). A backend that keeps no users
 *     (a cache server) leaves that group NULL: store.c then answers those
 *     calls with TP_STORE_UNAVAIL and a line saying so, and no caller needs
 *     to know which backend it talks to.
 * Every function keeps store.h's contract: TP_STORE_* codes, one
 * transaction per change, the error line in st->err (tp_store_fail), never
 * a secret in it, connections bound to one process and one thread.
 *
 * Adding a backend: its files in c/store/, a struct tp_store_backend, and
 * one line in store.c's table.
 */
#ifndef TP_STORE_BACKEND_H
#define TP_STORE_BACKEND_H

#include "store.h"

#define TP_STORE_ERRLEN 1024

struct tp_store_backend;

/* The part of every connection that store.c sees. */
struct tp_store {
    const struct tp_store_backend *backend;
    const char *where;              /* the location as given, for messages (owned by the backend) */
    char err[TP_STORE_ERRLEN];      /* the last error, "" if none; never a secret */
    int timed_out;                  /* the last error was a wait that ran out (store.h) */
};

struct tp_store_users {
    int (*get)(struct tp_store *st, const char *name, struct tp_user *out);
    int (*add)(struct tp_store *st, const struct tp_user *u);
    int (*update)(struct tp_store *st, const struct tp_user *u, unsigned int mask);
    int (*set_hash)(struct tp_store *st, const char *name, const char *expect_old,
                    const char *new_hash, int64_t changed_at);
    int (*remove)(struct tp_store *st, const char *name);
    int (*attr_set)(struct tp_store *st, const char *name, const char *attr, const char *value);
    int (*list)(struct tp_store *st, int (*fn)(void *data, const struct tp_user *u), void *data);
};

struct tp_store_sessions {
    int (*add)(struct tp_store *st, const struct tp_session *s);
    int (*get)(struct tp_store *st, const unsigned char *digest, struct tp_session *out);
    int (*touch)(struct tp_store *st, const unsigned char *digest, int64_t now,
                 int64_t min_interval);
    int (*remove)(struct tp_store *st, const unsigned char *digest);
    int (*remove_user)(struct tp_store *st, const char *user, const unsigned char *keep,
                       int *count);
    int (*purge)(struct tp_store *st, int64_t idle_before, int64_t created_before, int *count);
    int (*list)(struct tp_store *st, const char *user,
                int (*fn)(void *data, const struct tp_session *s), void *data);
};

/* Failures read by a backend's tallies list: (user, time) rows. */
struct tp_fail_row {
    char *user;
    int64_t time;
};
struct tp_fail_rows {
    struct tp_fail_row *v;
    size_t n, cap;
};
/* Appends a copy of user (ulen bytes) and time: 0, or -1 out of memory. */
int tp_fail_rows_add(struct tp_fail_rows *rows, const char *user, size_t ulen, int64_t time);

struct tp_store_tallies {
    int (*add)(struct tp_store *st, const char *user, int64_t now, int64_t since, int *count);
    int (*count)(struct tp_store *st, const char *user, int64_t since, int *count,
                 int64_t *latest);
    int (*reset)(struct tp_store *st, const char *user);
    /* Forgets every failure older than before, of every user; *n how many
     * (NULL: a backend whose failures expire by themselves: Redis). */
    int (*purge)(struct tp_store *st, int64_t before, int *n);
    /* Every failure of user (NULL: of every user) into rows, in any order;
     * store.c sorts them and calls the caller's function. */
    int (*list)(struct tp_store *st, const char *user, struct tp_fail_rows *rows);
};

struct tp_store_backend {
    const char *name;               /* "sqlite": for messages */
    /* 1 if location names a store of this backend */
    int (*claims)(const char *location);
    /* Same contract as tp_store_open; location is claimed and not empty. */
    int (*open)(const char *location, int flags, struct tp_store **out, char *err,
                size_t errlen);
    void (*close)(struct tp_store *st);
    /* The read scope of store.h (NULL: every read stands alone, which keeps
     * the contract for a backend whose reads are one request each). */
    int (*read_begin)(struct tp_store *st);
    void (*read_end)(struct tp_store *st);
    /* tp_store_ping's round trip (NULL: the open asked the server already) */
    int (*ping)(struct tp_store *st);
    /* 1: sessions expire by themselves (Redis: the keys' TTL), so a purge
     * now and then at open_session is not needed */
    int sessions_expire;
    const struct tp_store_users *users;         /* NULL: keeps no users */
    const struct tp_store_sessions *sessions;   /* NULL: keeps no sessions */
    const struct tp_store_tallies *tallies;     /* NULL: keeps no failure tallies */
};

/* store.c's checks before a call reaches the backend (store_tallies.c's
 * too): the store is there (and its last error cleared); a name was given;
 * the codes for a group of calls the backend does not implement (it keeps
 * no such rows) and for a bad argument. */
int tp_store_usable(struct tp_store *st);
int tp_store_name_given(const char *s);
int tp_store_keeps_none(struct tp_store *st, const char *what);
int tp_store_bad_arg(struct tp_store *st, const char *what);

/* Appends the attribute name = value to u, taking both strings (malloc'd;
 * NULL for one that could not be copied): 0, or -1 with both freed. */
int tp_user_attr_take(struct tp_user *u, char *name, char *value);

/* Formats "where: fmt ..." into st->err; returns code (`return tp_store_fail(...)`). */
int tp_store_fail(struct tp_store *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- what backends share (backend.c) ---- */

/* Sleeps a random 1..2^min(shift, 6) ms (xorshift state in *rng, never 0),
 * so processes retrying a transaction spread out. */
void tp_backend_pause(uint64_t *rng, int shift);

/* A list read whole before its callback runs: the callback may then use
 * the store (even change it), and a retried read never repeats a callback.
 * Start from { 0 }. _add gives a new element at the end (a user
 * tp_user_init'ed, a session zeroed), or NULL when out of memory;
 * _hand_out calls fn for each element until it returns non-zero, then
 * clears the vector; _clear wipes and frees every element. */
struct tp_user_vec {
    struct tp_user *v;
    size_t n, cap;
};
struct tp_user *tp_user_vec_add(struct tp_user_vec *uv);
void tp_user_vec_hand_out(struct tp_user_vec *uv, int (*fn)(void *data, const struct tp_user *u),
                          void *data);
void tp_user_vec_clear(struct tp_user_vec *uv);

struct tp_session_vec {
    const char *user;               /* the user whose sessions are read; NULL: all */
    struct tp_session *v;
    size_t n, cap;
};
struct tp_session *tp_session_vec_add(struct tp_session_vec *sv);
void tp_session_vec_drop_last(struct tp_session_vec *sv);     /* clears and forgets the last */
void tp_session_vec_hand_out(struct tp_session_vec *sv,
                             int (*fn)(void *data, const struct tp_session *s), void *data);
void tp_session_vec_clear(struct tp_session_vec *sv);

/* The backends (store.c's table). */
extern const struct tp_store_backend tp_store_redis;
extern const struct tp_store_backend tp_store_sqlite;
extern const struct tp_store_backend tp_store_postgresql;    /* libpq: dlopen'ed (pg.h) */

#endif /* TP_STORE_BACKEND_H */
