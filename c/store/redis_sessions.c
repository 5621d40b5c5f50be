/*
 * redis_sessions.c - sessions on a Redis server (redis.h): a hash per
 * session under its digest in hex, a set of digests per user, key TTLs
 * from the session's expiry hints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "redis.h"

#define HEX_LEN (2 * TP_SESSION_DIGEST_LEN)

static void to_hex(const unsigned char *d, char out[HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < TP_SESSION_DIGEST_LEN; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[HEX_LEN] = '\0';
}

static int nomem(struct rd *r, const char *what)
{
    return tp_store_fail(&r->base, TP_STORE_ERR, "%s: out of memory", what);
}

/* The key TTL of a new session: min(idle, expires - now); 0 for none. */
static int64_t session_ttl(const struct tp_session *x, int64_t now)
{
    int64_t ttl = 0;

    if (x->idle > 0)
        ttl = x->idle;
    if (x->expires > 0 && (ttl == 0 || x->expires - now < ttl))
        ttl = x->expires - now;
    if ((x->idle > 0 || x->expires > 0) && ttl < 1)
        ttl = 1;                            /* ended already: forgotten at once */
    return ttl;
}

static int rd_session_add(struct tp_store *st, const struct tp_session *x)
{
    static const char what[] = "adding a session";
    struct rd *r = rd_of(st);
    int64_t now = (int64_t)time(NULL);
    int64_t created = x->created != 0 ? x->created : now;
    char hex[HEX_LEN + 1], num[5][24];
    const char *av[10];
    size_t klen;
    redisReply *y = NULL;
    int code;

    if ((code = tp_rd_usable(r, 1, what)) != TP_STORE_OK)
        return code;
    to_hex(x->digest, hex);
    snprintf(num[0], sizeof num[0], "%lld", (long long)created);
    snprintf(num[1], sizeof num[1], "%lld", (long long)(x->last_used != 0 ? x->last_used : created));
    snprintf(num[2], sizeof num[2], "%lld", (long long)(x->idle > 0 ? x->idle : 0));
    snprintf(num[3], sizeof num[3], "%lld", (long long)(x->expires > 0 ? x->expires : 0));
    snprintf(num[4], sizeof num[4], "%lld", (long long)session_ttl(x, now));
    av[0] = tp_rd_key(r, "s:", hex, HEX_LEN, &klen);
    av[1] = tp_rd_key(r, "u:", x->user, strlen(x->user), &klen);
    av[2] = x->user;
    av[3] = num[0];
    av[4] = num[1];
    av[5] = num[2];
    av[6] = num[3];
    av[7] = num[4];
    av[8] = hex;
    av[9] = x->rhost;
    if (av[0] == NULL || av[1] == NULL)
        code = nomem(r, what);
    else
        code = tp_rd_script(r, RS_SES_ADD, 2, x->rhost != NULL ? 10 : 9, av, NULL, &y, what);
    free((char *)av[0]);
    free((char *)av[1]);
    if (code != TP_STORE_OK)
        return code;
    if (y->type != REDIS_REPLY_INTEGER)
        code = tp_rd_bad_reply(r, what);
    else if (y->integer == 0)
        code = tp_store_fail(st, TP_STORE_EXISTS, "%s: it exists", what);
    tp_rd_free(r, y);
    return code;
}

static int rd_session_get(struct tp_store *st, const unsigned char *digest, struct tp_session *out)
{
    static const char what[] = "reading a session";
    struct rd *r = rd_of(st);
    char hex[HEX_LEN + 1];
    const char *av[2] = { "HGETALL", NULL };
    redisReply *y = NULL;
    size_t klen;
    int code, found;

    if ((code = tp_rd_usable(r, 0, what)) != TP_STORE_OK)
        return code;
    to_hex(digest, hex);
    if ((av[1] = tp_rd_key(r, "s:", hex, HEX_LEN, &klen)) == NULL)
        return nomem(r, what);
    code = tp_rd_command(r, 2, av, NULL, &y, what);
    free((char *)av[1]);
    if (code != TP_STORE_OK)
        return code;
    memcpy(out->digest, digest, TP_SESSION_DIGEST_LEN);
    found = tp_rd_session_hash(y, out);
    tp_rd_free(r, y);
    if (found == 0)
        return tp_store_fail(st, TP_STORE_NOTFOUND, "no such session");
    if (found < 0)
        return found == -2 ? nomem(r, what) : tp_rd_bad_reply(r, what);
    return TP_STORE_OK;
}

static int rd_session_touch(struct tp_store *st, const unsigned char *digest, int64_t now,
                            int64_t min_interval)
{
    static const char what[] = "touching a session";
    struct rd *r = rd_of(st);
    int64_t threshold = now;
    char hex[HEX_LEN + 1], nbuf[24], tbuf[24];
    const char *av[5];
    redisReply *y = NULL;
    size_t klen;
    int code;

    if ((code = tp_rd_usable(r, 0, what)) != TP_STORE_OK)
        return code;
    if (min_interval > 0 && __builtin_sub_overflow(now, min_interval, &threshold))
        threshold = INT64_MIN;
    to_hex(digest, hex);
    snprintf(nbuf, sizeof nbuf, "%lld", (long long)now);
    snprintf(tbuf, sizeof tbuf, "%lld", (long long)threshold);
    if ((av[0] = tp_rd_key(r, "s:", hex, HEX_LEN, &klen)) == NULL)
        return nomem(r, what);
    av[1] = nbuf;
    av[2] = tbuf;
    av[3] = r->prefix;
    av[4] = r->rdonly ? "1" : "0";
    code = tp_rd_script(r, RS_SES_TOUCH, 1, 5, av, NULL, &y, what);
    free((char *)av[0]);
    if (code != TP_STORE_OK)
        return code;
    if (y->type != REDIS_REPLY_INTEGER)
        code = tp_rd_bad_reply(r, what);
    else if (y->integer < 0)
        code = tp_store_fail(st, TP_STORE_NOTFOUND, "no such session");
    else if (y->integer == 2)
        code = tp_rd_usable(r, 1, what);
    tp_rd_free(r, y);
    return code;
}

/* A script that answers how many it deleted: *n. */
static int count_reply(struct rd *r, redisReply *y, int *n, const char *what)
{
    int code = tp_rd_count_reply(y, n) == 0 ? TP_STORE_OK : tp_rd_bad_reply(r, what);

    tp_rd_free(r, y);
    return code;
}

static int rd_session_delete(struct tp_store *st, const unsigned char *digest)
{
    static const char what[] = "deleting a session";
    struct rd *r = rd_of(st);
    char hex[HEX_LEN + 1];
    const char *av[3];
    redisReply *y = NULL;
    size_t klen;
    int code, n = 0;

    if ((code = tp_rd_usable(r, 1, what)) != TP_STORE_OK)
        return code;
    to_hex(digest, hex);
    if ((av[0] = tp_rd_key(r, "s:", hex, HEX_LEN, &klen)) == NULL)
        return nomem(r, what);
    av[1] = r->prefix;
    av[2] = hex;
    code = tp_rd_script(r, RS_SES_DELETE, 1, 3, av, NULL, &y, what);
    free((char *)av[0]);
    if (code == TP_STORE_OK && (code = count_reply(r, y, &n, what)) == TP_STORE_OK && n == 0)
        code = tp_store_fail(st, TP_STORE_NOTFOUND, "no such session");
    return code;
}

static int rd_session_delete_user(struct tp_store *st, const char *user, const unsigned char *keep,
                                  int *count)
{
    static const char what[] = "deleting sessions";
    struct rd *r = rd_of(st);
    char hex[HEX_LEN + 1] = "";
    const char *av[4];
    redisReply *y = NULL;
    size_t klen;
    int code, n = 0;

    if ((code = tp_rd_usable(r, 1, what)) != TP_STORE_OK)
        return code;
    if (keep != NULL)
        to_hex(keep, hex);
    if ((av[0] = tp_rd_key(r, "u:", user, strlen(user), &klen)) == NULL)
        return nomem(r, what);
    av[1] = r->prefix;
    av[2] = user;
    av[3] = hex;
    code = tp_rd_script(r, RS_SES_DELETE_USER, 1, 4, av, NULL, &y, what);
    free((char *)av[0]);
    if (code == TP_STORE_OK && (code = count_reply(r, y, &n, what)) == TP_STORE_OK && count != NULL)
        *count = n;
    return code;
}

static int add_count(struct rd *r, redisReply *y, void *arg, const char *what)
{
    int n = 0, code = count_reply(r, y, &n, what);

    if (code == TP_STORE_OK)
        *(int *)arg += n;
    return code;
}

static int rd_session_purge(struct tp_store *st, int64_t idle_before, int64_t created_before,
                            int *count)
{
    static const char what[] = "purging sessions";
    struct rd *r = rd_of(st);
    char ib[24], cb[24], skip[16];
    const char *av[4] = { r->prefix, ib, cb, skip };
    int code, n = 0, cleaned = 0;

    if ((code = tp_rd_usable(r, 1, what)) != TP_STORE_OK)
        return code;
    snprintf(ib, sizeof ib, "%lld", (long long)idle_before);
    snprintf(cb, sizeof cb, "%lld", (long long)created_before);
    snprintf(skip, sizeof skip, "%zu", r->plen + 2);
    code = tp_rd_scan(r, "s:*", RS_SES_PURGE, 4, av, add_count, &n, what);
    if (code == TP_STORE_OK)
        code = tp_rd_scan(r, "u:*", RS_SES_CLEAN_SETS, 1, av, add_count, &cleaned, what);
    if (code == TP_STORE_OK && count != NULL)
        *count = n;
    return code;
}

/* A script's sessions into the vector. */
static int collect(struct rd *r, redisReply *y, void *arg, const char *what)
{
    int bad = tp_rd_session_list_reply(y, arg);

    tp_rd_free(r, y);
    return bad == 0 ? TP_STORE_OK : bad == -2 ? nomem(r, what) : tp_rd_bad_reply(r, what);
}

/* (user, created, digest) order, as the embedded store lists them. */
static int by_user_created(const void *a, const void *b)
{
    const struct tp_session *x = a, *y = b;
    int c = strcmp(x->user, y->user);

    if (c != 0)
        return c;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return memcmp(x->digest, y->digest, TP_SESSION_DIGEST_LEN);
}

static int rd_session_list(struct tp_store *st, const char *user,
                           int (*fn)(void *data, const struct tp_session *x), void *data)
{
    static const char what[] = "listing sessions";
    struct rd *r = rd_of(st);
    struct tp_session_vec sv = { NULL, NULL, 0, 0 };
    int code;

    if ((code = tp_rd_usable(r, 0, what)) != TP_STORE_OK)
        return code;
    if (user != NULL) {
        const char *av[4];
        redisReply *y = NULL;
        size_t klen;
        if ((av[0] = tp_rd_key(r, "u:", user, strlen(user), &klen)) == NULL)
            return nomem(r, what);
        av[1] = r->prefix;
        av[2] = user;
        av[3] = r->rdonly ? "0" : "1";
        code = tp_rd_script(r, RS_SES_LIST_USER, 1, 4, av, NULL, &y, what);
        free((char *)av[0]);
        if (code == TP_STORE_OK)
            code = collect(r, y, &sv, what);
    } else {
        char skip[16];
        const char *av[1] = { skip };
        snprintf(skip, sizeof skip, "%zu", r->plen + 2);
        code = tp_rd_scan(r, "s:*", RS_SES_READ, 1, av, collect, &sv, what);
    }
    if (code == TP_STORE_OK && sv.n > 1)
        qsort(sv.v, sv.n, sizeof sv.v[0], by_user_created);
    /* SCAN may give a key twice: the list has it once */
    for (size_t i = 0; code == TP_STORE_OK && i < sv.n; i++) {
        if (i > 0 && memcmp(sv.v[i].digest, sv.v[i - 1].digest, TP_SESSION_DIGEST_LEN) == 0)
            continue;
        if (fn(data, &sv.v[i]) != 0)
            break;
    }
    tp_session_vec_clear(&sv);
    return code;
}

const struct tp_store_sessions tp_rd_sessions = {
    .add = rd_session_add,
    .get = rd_session_get,
    .touch = rd_session_touch,
    .remove = rd_session_delete,
    .remove_user = rd_session_delete_user,
    .purge = rd_session_purge,
    .list = rd_session_list,
};
