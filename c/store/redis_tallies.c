/*
 * redis_tallies.c - failure tallies on a Redis server (redis.h): a sorted
 * set per user, scored by time, the FAIL_KEEP newest kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include "redis.h"

static int nomem(struct rd *r, const char *what)
{
    return tp_store_fail(&r->base, TP_STORE_ERR, "%s: out of memory", what);
}

/* A member no other failure has: the time and 64 random bits (a counter
 * mixed with the pid and the clock when the kernel has no random bytes). */
static void member(int64_t now, char out[64])
{
    static uint64_t counter;
    uint64_t x;

    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = (uint64_t)getpid() << 40 ^ (uint64_t)ts.tv_nsec << 8 ^ ++counter;
    }
    snprintf(out, 64, "%lld:%016llx", (long long)now, (unsigned long long)x);
}

static int rd_fail_add(struct tp_store *st, const char *user, int64_t now, int64_t since,
                       int *count)
{
    static const char what[] = "recording a failure";
    struct rd *r = rd_of(st);
    char nbuf[24], sbuf[24], mbuf[64], ttl[16], keep[16];
    const char *av[6] = { NULL, nbuf, sbuf, mbuf, ttl, keep };
    redisReply *y = NULL;
    size_t klen;
    int code;

    if ((code = tp_rd_usable(r, 1, what)) != TP_STORE_OK)
        return code;
    snprintf(nbuf, sizeof nbuf, "%lld", (long long)now);
    snprintf(sbuf, sizeof sbuf, "%lld", (long long)since);
    member(now, mbuf);
    snprintf(ttl, sizeof ttl, "%d", FAIL_TTL);
    snprintf(keep, sizeof keep, "%d", FAIL_KEEP);
    if ((av[0] = tp_rd_key(r, "f:", user, strlen(user), &klen)) == NULL)
        return nomem(r, what);
    code = tp_rd_script(r, RS_FAIL_ADD, 1, 6, av, NULL, &y, what);
    free((char *)av[0]);
    if (code != TP_STORE_OK)
        return code;
    if (y->type != REDIS_REPLY_INTEGER || y->integer < 0 || y->integer > FAIL_KEEP)
        code = tp_rd_bad_reply(r, what);
    else if (count != NULL)
        *count = (int)y->integer;
    tp_rd_free(r, y);
    return code;
}

static int rd_fail_count(struct tp_store *st, const char *user, int64_t since, int *count,
                         int64_t *latest)
{
    static const char what[] = "counting failures";
    struct rd *r = rd_of(st);
    char sbuf[24];
    const char *av[2] = { NULL, sbuf };
    redisReply *y = NULL;
    int64_t c = 0, l = 0;
    size_t klen;
    int code;

    if ((code = tp_rd_usable(r, 0, what)) != TP_STORE_OK)
        return code;
    snprintf(sbuf, sizeof sbuf, "%lld", (long long)since);
    if ((av[0] = tp_rd_key(r, "f:", user, strlen(user), &klen)) == NULL)
        return nomem(r, what);
    code = tp_rd_script(r, RS_FAIL_COUNT, 1, 2, av, NULL, &y, what);
    free((char *)av[0]);
    if (code != TP_STORE_OK)
        return code;
    if (tp_rd_fail_count_reply(y, &c, &l) != 0) {
        code = tp_rd_bad_reply(r, what);
    } else {
        if (count != NULL)
            *count = (int)c;
        if (latest != NULL)
            *latest = l;
    }
    tp_rd_free(r, y);
    return code;
}

static int rd_fail_reset(struct tp_store *st, const char *user)
{
    static const char what[] = "resetting failures";
    struct rd *r = rd_of(st);
    const char *av[2] = { "DEL", NULL };
    redisReply *y = NULL;
    size_t klen;
    int code;

    if ((code = tp_rd_usable(r, 1, what)) != TP_STORE_OK)
        return code;
    if ((av[1] = tp_rd_key(r, "f:", user, strlen(user), &klen)) == NULL)
        return nomem(r, what);
    code = tp_rd_command(r, 2, av, NULL, &y, what);
    free((char *)av[1]);
    if (code == TP_STORE_OK)
        tp_rd_free(r, y);
    return code;
}

/* A FAIL_READ reply into rows. */
static int collect(struct rd *r, redisReply *y, void *arg, const char *what)
{
    int bad = tp_rd_fail_list_reply(y, arg);

    tp_rd_free(r, y);
    return bad == 0 ? TP_STORE_OK : bad == -2 ? nomem(r, what) : tp_rd_bad_reply(r, what);
}

static int rd_fail_list(struct tp_store *st, const char *user, struct tp_fail_rows *rows)
{
    static const char what[] = "listing failures";
    struct rd *r = rd_of(st);
    char skip[16];
    const char *av[2] = { NULL, skip };
    redisReply *y = NULL;
    size_t klen;
    int code;

    if ((code = tp_rd_usable(r, 0, what)) != TP_STORE_OK)
        return code;
    snprintf(skip, sizeof skip, "%zu", r->plen + 2);
    if (user == NULL) {
        code = tp_rd_scan(r, "f:*", RS_FAIL_READ, 1, av + 1, collect, rows, what);
        if (code == TP_STORE_OK && tp_rd_fail_rows_once(rows) != 0)
            code = nomem(r, what);
        return code;
    }
    if ((av[0] = tp_rd_key(r, "f:", user, strlen(user), &klen)) == NULL)
        return nomem(r, what);
    code = tp_rd_script(r, RS_FAIL_READ, 1, 2, av, NULL, &y, what);
    free((char *)av[0]);
    return code == TP_STORE_OK ? collect(r, y, rows, what) : code;
}

const struct tp_store_tallies tp_rd_tallies = {
    .add = rd_fail_add,
    .count = rd_fail_count,
    .reset = rd_fail_reset,
    .list = rd_fail_list,
};
