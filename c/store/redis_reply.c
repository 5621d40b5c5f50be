/*
 * redis_reply.c - the Redis store's replies into its structs: every reply
 * the backend reads a value from goes through here, apart from the
 * connection, so the fuzzer (c/fuzz/redis_replies.c) runs these functions
 * over replies it makes up. A reply's shape is the command's or script's
 * (redis_scripts.c), its values whatever the keys hold: anything else in
 * them is a bad reply, never a crash.
 */
#include <stdlib.h>
#include <string.h>
#include "redis.h"

#define HEX_LEN (2 * TP_SESSION_DIGEST_LEN)

static int from_hex(const char *s, size_t n, unsigned char *d)
{
    static const char digits[] = "0123456789abcdef";

    if (n != HEX_LEN)
        return -1;
    for (int i = 0; i < TP_SESSION_DIGEST_LEN; i++) {
        const char *hi = s[2 * i] ? strchr(digits, s[2 * i]) : NULL;
        const char *lo = s[2 * i + 1] ? strchr(digits, s[2 * i + 1]) : NULL;
        if (hi == NULL || lo == NULL)
            return -1;
        d[i] = (unsigned char)((hi - digits) << 4 | (lo - digits));
    }
    return 0;
}

static char *dup_reply(const redisReply *x)
{
    char *s = malloc(x->len + 1);

    if (s != NULL) {
        memcpy(s, x->str, x->len);
        s[x->len] = '\0';
    }
    return s;
}

int tp_rd_count_reply(const redisReply *y, int *n)
{
    if (y->type != REDIS_REPLY_INTEGER || y->integer < 0 || y->integer > INT32_MAX)
        return -1;
    *n = (int)y->integer;
    return 0;
}

int tp_rd_scan_reply(const redisReply *y, char *cursor, size_t size, const redisReply **keys)
{
    if (y->type != REDIS_REPLY_ARRAY || y->elements != 2
        || y->element[0]->type != REDIS_REPLY_STRING || y->element[0]->len >= size
        || y->element[1]->type != REDIS_REPLY_ARRAY)
        return -1;
    memcpy(cursor, y->element[0]->str, y->element[0]->len);
    cursor[y->element[0]->len] = '\0';
    *keys = y->element[1];
    return 0;
}

/* ---- sessions ------------------------------------------------------------------------- */

/* One session from the values of its hash (user, created, last_used,
 * idle, expires, rhost; NULL for a field absent). -1 if one is bad. */
static int fill(struct tp_session *x, const redisReply *v[6])
{
    int64_t n[4];

    if (v[0] == NULL || v[0]->type != REDIS_REPLY_STRING)
        return -1;
    for (int i = 0; i < 4; i++) {
        n[i] = 0;
        if (v[i + 1] != NULL && v[i + 1]->type != REDIS_REPLY_NIL && tp_rd_int(v[i + 1], &n[i]) != 0)
            return -1;
    }
    x->created = n[0];
    x->last_used = n[1];
    x->idle = n[2];
    x->expires = n[3];
    if ((x->user = dup_reply(v[0])) == NULL)
        return -2;
    if (v[5] != NULL && v[5]->type == REDIS_REPLY_STRING && (x->rhost = dup_reply(v[5])) == NULL)
        return -2;
    return 0;
}

int tp_rd_session_hash(const redisReply *y, struct tp_session *x)
{
    static const char *const names[6] = { "user", "created", "last_used", "idle", "expires", "rhost" };
    const redisReply *v[6] = { NULL };
    int bad;

    if (y->type != REDIS_REPLY_ARRAY || y->elements % 2 != 0)
        return -1;
    if (y->elements == 0)
        return 0;
    for (size_t i = 0; i + 1 < y->elements; i += 2) {
        const redisReply *k = y->element[i];
        for (int f = 0; f < 6 && k->type == REDIS_REPLY_STRING; f++)
            if (k->len == strlen(names[f]) && memcmp(k->str, names[f], k->len) == 0)
                v[f] = y->element[i + 1];
    }
    if ((bad = fill(x, v)) != 0) {
        tp_session_clear(x);
        return bad;
    }
    return 1;
}

int tp_rd_session_list_reply(const redisReply *y, struct tp_session_vec *sv)
{
    if (y->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i < y->elements; i++) {
        const redisReply *e = y->element[i], *v[6];
        struct tp_session *x;
        int bad;

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 6 || e->element[0]->type != REDIS_REPLY_STRING)
            return -1;
        if ((x = tp_session_vec_add(sv)) == NULL)
            return -2;
        for (int f = 0; f < 6; f++)
            v[f] = (size_t)f + 1 < e->elements ? e->element[f + 1] : NULL;
        if (from_hex(e->element[0]->str, e->element[0]->len, x->digest) != 0)
            bad = -1;
        else
            bad = fill(x, v);
        if (bad != 0) {
            tp_session_vec_drop_last(sv);
            return bad;
        }
    }
    return 0;
}

/* ---- failures ------------------------------------------------------------------------- */

int tp_rd_fail_count_reply(const redisReply *y, int64_t *count, int64_t *latest)
{
    if (y->type != REDIS_REPLY_ARRAY || y->elements != 2 || tp_rd_int(y->element[0], count) != 0
        || tp_rd_int(y->element[1], latest) != 0 || *count < 0 || *count > FAIL_KEEP)
        return -1;
    return 0;
}

int tp_rd_fail_list_reply(const redisReply *y, struct tp_fail_rows *rows)
{
    if (y->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t i = 0; i < y->elements; i++) {
        const redisReply *e = y->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2
            || e->element[0]->type != REDIS_REPLY_STRING || e->element[0]->len == 0)
            return -1;
        for (size_t j = 1; j < e->elements; j++) {
            int64_t t;
            if (tp_rd_int(e->element[j], &t) != 0)
                return -1;
            if (tp_fail_rows_add(rows, e->element[0]->str, e->element[0]->len, t) != 0)
                return -2;
        }
    }
    return 0;
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

int tp_rd_fail_rows_once(struct tp_fail_rows *rows)
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

