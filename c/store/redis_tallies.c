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
    if (y->type != REDIS_REPLY_ARRAY || y->elements != 2 || tp_rd_int(y->element[0], &c) != 0
        || tp_rd_int(y->element[1], &l) != 0 || c < 0 || c > FAIL_KEEP) {
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
    struct tp_fail_rows *rows = arg;
    int code = TP_STORE_OK;

    if (y->type != REDIS_REPLY_ARRAY)
        code = tp_rd_bad_reply(r, what);
    for (size_t i = 0; code == TP_STORE_OK && i < y->elements; i++) {
        const redisReply *e = y->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2
            || e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len == 0) {
            code = tp_rd_bad_reply(r, what);
            break;
        }
        for (size_t j = 1; code == TP_STORE_OK && j < e->elements; j++) {
            int64_t t;
            if (tp_rd_int(e->element[j], &t) != 0)
                code = tp_rd_bad_reply(r, what);
            else if (tp_fail_rows_add(rows, e->element[0]->str, e->element[0]->len, t) != 0)
                code = nomem(r, what);
        }
    }
    tp_rd_free(r, y);
    return code;
}

struct group {
    size_t start, n;
    const char *user;
};

static int by_user(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    int c = strcmp(x->user, y->user);

    return c != 0 ? c : (x->start > y->start) - (x->start < y->start);
}

/* SCAN may give a key twice: each key's rows are together, so the rows of
 * a user that come twice are dropped the second time. 0, or -1 out of
 * memory. */
static int drop_repeats(struct tp_fail_rows *rows)
{
    struct group *g;
    struct tp_fail_row *v;
    size_t ng = 0, n = 0;

    if (rows->n == 0)
        return 0;
    if ((g = malloc(rows->n * sizeof *g)) == NULL)
        return -1;
    if ((v = malloc(rows->n * sizeof *v)) == NULL) {
        free(g);
        return -1;
    }
    for (size_t i = 0; i < rows->n; i++) {
        if (i == 0 || strcmp(rows->v[i].user, rows->v[i - 1].user) != 0)
            g[ng++] = (struct group){ i, 0, rows->v[i].user };
        g[ng - 1].n++;
    }
    qsort(g, ng, sizeof *g, by_user);
    for (size_t k = 0, kept = 0; k < ng; k++) {
        int again = k > 0 && strcmp(g[k].user, g[kept].user) == 0;
        if (!again)
            kept = k;
        for (size_t i = g[k].start; i < g[k].start + g[k].n; i++) {
            if (again)
                free(rows->v[i].user);
            else
                v[n++] = rows->v[i];
        }
    }
    free(g);
    free(rows->v);
    rows->v = v;
    rows->n = rows->cap = n;
    return 0;
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
        if (code == TP_STORE_OK && drop_repeats(rows) != 0)
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
