/*
 * redis_replies.c - fuzzes the Redis store's reading of replies
 * (store/redis_reply.c): a session's hash, lists of sessions and failures
 * (then the dropping of a key SCAN gave twice), a failure count, a
 * deletion count, SCAN's cursor and keys. Replies are built here the way
 * hiredis builds them: strings of len bytes (NULs allowed) with a NUL
 * after them, arrays whose elements are never NULL.
 *
 * Input: the reply's kind, then the reply as a tree: per node a type and
 * its contents (strings raw, from a few words the store knows, or digits).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "redis.h"

static const char *const words[] = {
    "user", "created", "last_used", "idle", "expires", "rhost", "0", "1700000000000",
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "alice", "bob", "",
};

static redisReply *node(struct fuzz_in *in, int depth)
{
    static const int types[] = { REDIS_REPLY_STRING, REDIS_REPLY_ARRAY, REDIS_REPLY_INTEGER,
                                 REDIS_REPLY_NIL, REDIS_REPLY_STATUS, REDIS_REPLY_ERROR };
    unsigned int b = fuzz_byte(in);
    redisReply *x = calloc(1, sizeof *x);
    char buf[32];
    const char *src = NULL;

    if (x == NULL)
        abort();
    x->type = types[b % 6];
    if (x->type == REDIS_REPLY_ARRAY && depth >= 3)
        x->type = REDIS_REPLY_NIL;
    switch (x->type) {
    case REDIS_REPLY_ARRAY:
        x->elements = fuzz_byte(in) % (depth == 0 ? 16 : 9);
        if (x->elements > 0 && (x->element = calloc(x->elements, sizeof *x->element)) == NULL)
            abort();
        for (size_t i = 0; i < x->elements; i++)
            x->element[i] = node(in, depth + 1);
        break;
    case REDIS_REPLY_INTEGER:
        x->integer = (long long)((uint64_t)fuzz_byte(in) << 56 | (uint64_t)fuzz_byte(in) << 8
                                 | fuzz_byte(in));
        if (b & 8)
            x->integer >>= 56;            /* small ones too, of either sign */
        break;
    case REDIS_REPLY_NIL:
        break;
    default:
        if ((b >> 3) % 4 == 0) {          /* a word the store looks for */
            src = words[fuzz_byte(in) % (sizeof words / sizeof words[0])];
            x->len = strlen(src);
        } else if ((b >> 3) % 4 == 1) {   /* a number as text */
            snprintf(buf, sizeof buf, "%" PRId64,
                     (int64_t)((uint64_t)fuzz_byte(in) << 56 | fuzz_byte(in)) >> (b & 7) * 8);
            src = buf;
            x->len = strlen(src);
        } else {                          /* raw bytes, NULs and all */
            x->len = fuzz_byte(in) % 72;
            if (x->len > in->n)
                x->len = in->n;
            src = (const char *)in->p;
            in->p += x->len;
            in->n -= x->len;
        }
        if ((x->str = malloc(x->len + 1)) == NULL)
            abort();
        memcpy(x->str, src, x->len);
        x->str[x->len] = '\0';
        break;
    }
    return x;
}

static void drop(redisReply *x)
{
    for (size_t i = 0; i < x->elements; i++)
        drop(x->element[i]);
    free(x->element);
    free(x->str);
    free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    unsigned int which = fuzz_byte(&in) % 6;
    redisReply *y = node(&in, 0);

    switch (which) {
    case 0: {
        struct tp_session x;
        memset(&x, 0, sizeof x);
        if (tp_rd_session_hash(y, &x) == 1 && x.user == NULL)
            abort();
        tp_session_clear(&x);
        break;
    }
    case 1: {
        struct tp_session_vec sv;
        memset(&sv, 0, sizeof sv);
        (void)tp_rd_session_list_reply(y, &sv);
        for (size_t i = 0; i < sv.n; i++)
            if (sv.v[i].user == NULL)
                abort();
        tp_session_vec_clear(&sv);
        break;
    }
    case 2: {
        int64_t c = 0, l = 0;
        if (tp_rd_fail_count_reply(y, &c, &l) == 0 && (c < 0 || c > FAIL_KEEP))
            abort();
        break;
    }
    case 3: {
        struct tp_fail_rows rows;
        memset(&rows, 0, sizeof rows);
        if (tp_rd_fail_list_reply(y, &rows) == 0 && tp_rd_fail_rows_once(&rows) != 0)
            abort();
        for (size_t i = 0; i < rows.n; i++)
            free(rows.v[i].user);
        free(rows.v);
        break;
    }
    case 4: {
        int n = -1;
        if (tp_rd_count_reply(y, &n) == 0 && n < 0)
            abort();
        break;
    }
    default: {
        char cursor[32];
        const redisReply *keys = NULL;
        if (tp_rd_scan_reply(y, cursor, sizeof cursor, &keys) == 0
            && (keys == NULL || keys->type != REDIS_REPLY_ARRAY || strlen(cursor) >= sizeof cursor))
            abort();
        break;
    }
    }
    drop(y);
    return 0;
}
