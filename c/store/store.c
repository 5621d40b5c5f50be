/*
 * store.c - the public face of the store (store.h): argument checks shared
 * by every backend, the struct helpers, the location of the store, and the
 * choice of backend. The work is done by a backend (backend.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "backend.h"
#include "secret.h"

/* Asked in order; the embedded store, which takes any path, comes last. */
static const struct tp_store_backend *const backends[] = {
    &tp_store_postgresql,
    &tp_store_redis,
    &tp_store_sqlite,
};

/* ", postgresql:..." for each server backend, into buf (for messages). */
static const char *server_names(char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (backends[i] != &tp_store_sqlite && len < size) {
            int k = snprintf(buf + len, size - len, ", %s:...", backends[i]->name);
            if (k > 0)
                len += (size_t)k;
        }
    return buf;
}

int tp_store_fail(struct tp_store *st, int code, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(st->err, sizeof st->err, "%s: ", st->where);

    if (n < 0 || (size_t)n >= sizeof st->err)
        return code;
    va_start(ap, fmt);
    vsnprintf(st->err + n, sizeof st->err - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

/* The length of location's scheme with its ':' ("sqlite:" is 7), or 0 when
 * it has none (a path). */
static size_t scheme_len(const char *location)
{
    size_t n = 0;

    if (!((location[0] >= 'a' && location[0] <= 'z') || (location[0] >= 'A' && location[0] <= 'Z')))
        return 0;
    while (location[n] != '\0' && location[n] != ':') {
        char c = location[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '+' || c == '-' || c == '.'))
            return 0;
        n++;
    }
    return location[n] == ':' ? n + 1 : 0;
}

static int is_sqlite_scheme(const char *location, size_t n)
{
    return n == 7 && strncasecmp(location, "sqlite:", 7) == 0;
}

/* The server backend that claims location, or NULL. */
static const struct tp_store_backend *server_for(const char *location)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (backends[i] != &tp_store_sqlite && backends[i]->claims(location))
            return backends[i];
    return NULL;
}

const char *tp_store_file(const char *location)
{
    size_t n;

    if (location == NULL)
        return NULL;
    n = scheme_len(location);
    if (n == 0)
        return location;
    return is_sqlite_scheme(location, n) ? location + n : NULL;
}

static const char *env_value(const char *name)
{
    const char *v = secure_getenv(name);     /* not in setuid programs */
    return v != NULL && *v != '\0' ? v : NULL;
}

const char *tp_store_location(const char *store, const char *db, const char *confdir, char *buf,
                              size_t size, char *err, size_t errlen)
{
    return tp_store_locate(store, db, confdir, buf, size, NULL, 0, err, errlen);
}

static void said(char *from, size_t fromlen, const char *what)
{
    if (from != NULL && fromlen > 0)
        snprintf(from, fromlen, "%s", what);
}

const char *tp_store_locate(const char *store, const char *db, const char *confdir, char *buf,
                            size_t size, char *from, size_t fromlen, char *err, size_t errlen)
{
    const char *v;
    size_t n;
    char why[512];

    if (err != NULL && errlen > 0)
        *err = '\0';
    said(from, fromlen, "");
    if (store != NULL && *store == '\0')
        store = NULL;
    if (db != NULL && *db == '\0')
        db = NULL;
    if (store != NULL && db != NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "both store= and db= name the store: give one");
        return NULL;
    }
    if (db != NULL && (n = scheme_len(db)) != 0 && !is_sqlite_scheme(db, n)) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "db= names a file of the embedded store; a %.*s location"
                     " goes in store=", (int)(n - 1), db);
        return NULL;
    }
    if (store != NULL || db != NULL) {
        said(from, fromlen, store != NULL ? "store=" : "db=");
        return store != NULL ? store : db;
    }
    if ((v = env_value(TP_STORE_LOCATION_ENV)) != NULL) {
        said(from, fromlen, "$" TP_STORE_LOCATION_ENV);
        return v;
    }
    if ((v = env_value(TP_STORE_FILE_ENV)) != NULL) {
        said(from, fromlen, "$" TP_STORE_FILE_ENV);
        return v;
    }
    if (buf != NULL && size > 0) {
        switch (tp_store_conf_location(confdir, buf, size, why, sizeof why)) {
        case 1:
            if (from != NULL && fromlen > 0 && (confdir == NULL
                                                || tp_store_conf_path(confdir, from, fromlen) != 0))
                said(from, fromlen, "the store configuration file");
            return buf;
        case -1:
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "%s", why);
            return NULL;
        }
    }
    said(from, fromlen, "the default location");
    return TP_STORE_DEFAULT_PATH;
}

int tp_store_open(const char *path, int flags, struct tp_store **out, char *err, size_t errlen)
{
    const struct tp_store_backend *b;
    size_t n;

    if (out != NULL)
        *out = NULL;
    if (err != NULL && errlen > 0)
        *err = '\0';
    if (out == NULL || path == NULL || *path == '\0'
        || (flags & ~(TP_STORE_CREATE | TP_STORE_RDONLY | TP_STORE_GROUP)) != 0
        || (flags & (TP_STORE_CREATE | TP_STORE_RDONLY)) == (TP_STORE_CREATE | TP_STORE_RDONLY)) {
        /* the location may hold a password: named only when it is a file */
        const char *file = path != NULL && *path != '\0' ? tp_store_file(path) : NULL;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: bad arguments to open the store",
                     file != NULL ? file : path != NULL && *path != '\0' ? "(a server)" : "(no path)");
        return TP_STORE_ERR;
    }
    if ((n = scheme_len(path)) == 0)
        return tp_store_sqlite.open(path, flags, out, err, errlen);
    if (is_sqlite_scheme(path, n)) {
        if (path[n] == '\0') {
            if (err != NULL && errlen > 0)
                snprintf(err, errlen, "sqlite: names no file (sqlite:/var/lib/trex-pam/trex-pam.db)");
            return TP_STORE_ERR;
        }
        return tp_store_sqlite.open(path + n, flags, out, err, errlen);
    }
    if ((b = server_for(path)) != NULL)
        return b->open(path, flags, out, err, errlen);
    if (err != NULL && errlen > 0) {
        char names[256];
        snprintf(err, errlen, "%.*s: no store backend of this build takes such a location"
                 " (it takes a path, sqlite:PATH%s)", (int)(n - 1), path,
                 server_names(names, sizeof names));
    }
    return TP_STORE_UNAVAIL;
}

void tp_store_close(struct tp_store *st)
{
    if (st != NULL)
        st->backend->close(st);
}

int tp_store_expires_sessions(const struct tp_store *st)
{
    return st != NULL && st->backend->sessions != NULL && st->backend->sessions_expire;
}

int tp_store_keeps(const struct tp_store *st, unsigned int what)
{
    const struct tp_store_backend *b = st != NULL ? st->backend : NULL;

    if (b == NULL || what == 0
        || (what & ~(unsigned int)(TP_STORE_KEEPS_USERS | TP_STORE_KEEPS_SESSIONS
                                   | TP_STORE_KEEPS_TALLIES)) != 0)
        return 0;
    return (!(what & TP_STORE_KEEPS_USERS) || b->users != NULL)
           && (!(what & TP_STORE_KEEPS_SESSIONS) || b->sessions != NULL)
           && (!(what & TP_STORE_KEEPS_TALLIES) || b->tallies != NULL);
}

const char *tp_store_where(const struct tp_store *st)
{
    return st != NULL ? st->where : "";
}

int tp_store_read_begin(struct tp_store *st)
{
    if (st == NULL)
        return TP_STORE_ERR;
    return st->backend->read_begin != NULL ? st->backend->read_begin(st) : TP_STORE_OK;
}

void tp_store_read_end(struct tp_store *st)
{
    if (st != NULL && st->backend->read_end != NULL)
        st->backend->read_end(st);
}

const char *tp_store_error(const struct tp_store *st)
{
    return st != NULL ? st->err : "no store";
}

int tp_store_timed_out(const struct tp_store *st)
{
    return st != NULL && st->timed_out;
}

int tp_store_ping(struct tp_store *st)
{
    if (st == NULL)
        return TP_STORE_ERR;
    st->err[0] = '\0';
    st->timed_out = 0;
    return st->backend->ping != NULL ? st->backend->ping(st) : TP_STORE_OK;
}

/* ---- struct helpers ---------------------------------------------------------- */

void tp_user_init(struct tp_user *u)
{
    if (u == NULL)
        return;
    memset(u, 0, sizeof *u);
    u->pw_max_days = -1;
}

void tp_user_clear(struct tp_user *u)
{
    if (u == NULL)
        return;
    free(u->name);
    tp_secret_drop(&u->hash);
    for (size_t i = 0; i < u->nattrs; i++) {
        free(u->attrs[i].name);
        free(u->attrs[i].value);
    }
    free(u->attrs);
    tp_user_init(u);
}

void tp_session_clear(struct tp_session *s)
{
    if (s == NULL)
        return;
    free(s->user);
    free(s->rhost);
    tp_secret_wipe(s, sizeof *s);
}

/* ---- checked calls into the backend ------------------------------------------ */

int tp_user_attr_take(struct tp_user *u, char *name, char *value)
{
    struct tp_attr *a;

    if (name == NULL || value == NULL ||
        (a = realloc(u->attrs, (u->nattrs + 1) * sizeof *a)) == NULL) {
        free(name);
        free(value);
        return -1;
    }
    u->attrs = a;
    a[u->nattrs].name = name;
    a[u->nattrs].value = value;
    u->nattrs++;
    return 0;
}

int tp_store_usable(struct tp_store *st)
{
    if (st == NULL)
        return 0;
    st->err[0] = '\0';
    st->timed_out = 0;
    return 1;
}

int tp_store_keeps_none(struct tp_store *st, const char *what)
{
    return tp_store_fail(st, TP_STORE_UNAVAIL, "a %s store keeps no %s", st->backend->name, what);
}

int tp_store_bad_arg(struct tp_store *st, const char *what)
{
    if (st == NULL)
        return TP_STORE_ERR;
    return tp_store_fail(st, TP_STORE_ERR, "bad argument: %s", what);
}

int tp_store_name_given(const char *s)
{
    return s != NULL && *s != '\0';
}

int tp_store_user_name_ok(const char *name)
{
    size_t n = 0;

    if (name == NULL)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++, n++)
        if (*p < 0x20 || *p == 0x7f || *p == ':' || *p == '/')
            return 0;
    return n > 0 && n <= TP_STORE_NAME_MAX;
}

int tp_store_user_get(struct tp_store *st, const char *name, struct tp_user *out)
{
    tp_user_init(out);
    if (!tp_store_usable(st) || out == NULL || !tp_store_name_given(name))
        return tp_store_bad_arg(st, "user_get needs a user name and a struct");
    if (st->backend->users == NULL)
        return tp_store_keeps_none(st, "users");
    return st->backend->users->get(st, name, out);
}

int tp_store_user_add(struct tp_store *st, const struct tp_user *u)
{
    if (!tp_store_usable(st) || u == NULL || !tp_store_name_given(u->name) || u->hash == NULL
        || (u->nattrs > 0 && u->attrs == NULL))
        return tp_store_bad_arg(st, "user_add needs a user with a name and a hash (\"\": none)");
    for (size_t i = 0; i < u->nattrs; i++)
        if (!tp_store_name_given(u->attrs[i].name) || u->attrs[i].value == NULL)
            return tp_store_bad_arg(st, "user_add: an attribute without a name or value");
    if (st->backend->users == NULL)
        return tp_store_keeps_none(st, "users");
    return st->backend->users->add(st, u);
}

int tp_store_user_update(struct tp_store *st, const struct tp_user *u, unsigned int mask)
{
    const unsigned int all = TP_USER_HASH | TP_USER_DISABLED | TP_USER_FORCE_CHANGE
                             | TP_USER_EXPIRES | TP_USER_PW_CHANGED | TP_USER_PW_MIN
                             | TP_USER_PW_MAX | TP_USER_PW_WARN;

    if (!tp_store_usable(st) || u == NULL || !tp_store_name_given(u->name) || (mask & ~all) != 0
        || ((mask & TP_USER_HASH) && u->hash == NULL))
        return tp_store_bad_arg(st, "user_update needs a user with a name and a valid mask");
    if (st->backend->users == NULL)
        return tp_store_keeps_none(st, "users");
    return st->backend->users->update(st, u, mask);
}

int tp_store_user_set_hash(struct tp_store *st, const char *name, const char *expect_old,
                           const char *new_hash, int64_t changed_at)
{
    if (!tp_store_usable(st) || !tp_store_name_given(name) || new_hash == NULL)
        return tp_store_bad_arg(st, "user_set_hash needs a user name and a hash");
    if (st->backend->users == NULL)
        return tp_store_keeps_none(st, "users");
    return st->backend->users->set_hash(st, name, expect_old, new_hash, changed_at);
}

int tp_store_user_delete(struct tp_store *st, const char *name)
{
    if (!tp_store_usable(st) || !tp_store_name_given(name))
        return tp_store_bad_arg(st, "user_delete needs a user name");
    if (st->backend->users == NULL)
        return tp_store_keeps_none(st, "users");
    return st->backend->users->remove(st, name);
}

int tp_store_attr_set(struct tp_store *st, const char *name, const char *attr, const char *value)
{
    if (!tp_store_usable(st) || !tp_store_name_given(name) || !tp_store_name_given(attr))
        return tp_store_bad_arg(st, "attr_set needs a user name and an attribute name");
    if (st->backend->users == NULL)
        return tp_store_keeps_none(st, "users");
    return st->backend->users->attr_set(st, name, attr, value);
}

int tp_store_user_list(struct tp_store *st, int (*fn)(void *data, const struct tp_user *u),
                       void *data)
{
    if (!tp_store_usable(st) || fn == NULL)
        return tp_store_bad_arg(st, "user_list needs a function");
    if (st->backend->users == NULL)
        return tp_store_keeps_none(st, "users");
    return st->backend->users->list(st, fn, data);
}

int tp_store_session_add(struct tp_store *st, const struct tp_session *s)
{
    if (!tp_store_usable(st) || s == NULL || !tp_store_name_given(s->user))
        return tp_store_bad_arg(st, "session_add needs a session with a user");
    if (st->backend->sessions == NULL)
        return tp_store_keeps_none(st, "sessions");
    return st->backend->sessions->add(st, s);
}

int tp_store_session_get(struct tp_store *st, const unsigned char digest[TP_SESSION_DIGEST_LEN],
                         struct tp_session *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (!tp_store_usable(st) || digest == NULL || out == NULL)
        return tp_store_bad_arg(st, "session_get needs a digest and a struct");
    if (st->backend->sessions == NULL)
        return tp_store_keeps_none(st, "sessions");
    return st->backend->sessions->get(st, digest, out);
}

int tp_store_session_touch(struct tp_store *st, const unsigned char digest[TP_SESSION_DIGEST_LEN],
                           int64_t now, int64_t min_interval)
{
    if (!tp_store_usable(st) || digest == NULL)
        return tp_store_bad_arg(st, "session_touch needs a digest");
    if (st->backend->sessions == NULL)
        return tp_store_keeps_none(st, "sessions");
    return st->backend->sessions->touch(st, digest, now, min_interval);
}

int tp_store_session_delete(struct tp_store *st, const unsigned char digest[TP_SESSION_DIGEST_LEN])
{
    if (!tp_store_usable(st) || digest == NULL)
        return tp_store_bad_arg(st, "session_delete needs a digest");
    if (st->backend->sessions == NULL)
        return tp_store_keeps_none(st, "sessions");
    return st->backend->sessions->remove(st, digest);
}

int tp_store_session_delete_user(struct tp_store *st, const char *user,
                                 const unsigned char *keep, int *count)
{
    if (count != NULL)
        *count = 0;
    if (!tp_store_usable(st) || !tp_store_name_given(user))
        return tp_store_bad_arg(st, "session_delete_user needs a user name");
    if (st->backend->sessions == NULL)
        return tp_store_keeps_none(st, "sessions");
    return st->backend->sessions->remove_user(st, user, keep, count);
}

int tp_store_session_purge(struct tp_store *st, int64_t idle_before, int64_t created_before,
                           int *count)
{
    if (count != NULL)
        *count = 0;
    if (!tp_store_usable(st))
        return tp_store_bad_arg(st, "session_purge needs a store");
    if (st->backend->sessions == NULL)
        return tp_store_keeps_none(st, "sessions");
    return st->backend->sessions->purge(st, idle_before, created_before, count);
}

int tp_store_session_list(struct tp_store *st, const char *user,
                          int (*fn)(void *data, const struct tp_session *s), void *data)
{
    if (!tp_store_usable(st) || fn == NULL)
        return tp_store_bad_arg(st, "session_list needs a function");
    if (st->backend->sessions == NULL)
        return tp_store_keeps_none(st, "sessions");
    return st->backend->sessions->list(st, user, fn, data);
}
