/*
 * backend.c - what the backends share (backend.h): the pause between
 * retries of a transaction, and the vectors in which a list is read whole
 * before its callback runs (so the callback may use the store, even change
 * it, and a retried read never repeats a callback).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "backend.h"

void tp_backend_pause(uint64_t *rng, int shift)
{
    uint64_t x = *rng;
    unsigned int cap = 1u << (shift < 6 ? (shift > 0 ? shift : 0) : 6);
    struct timespec ts;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(1 + x % cap) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Room for one more element of size in *v (n used of *cap): 0, or -1 when
 * out of memory (the vector as it was). */
static int grow(void **v, size_t size, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? 2 * *cap : 16;
    void *nv = ncap <= SIZE_MAX / size ? realloc(*v, ncap * size) : NULL;
    if (nv == NULL)
        return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

struct tp_user *tp_user_vec_add(struct tp_user_vec *uv)
{
    if (grow((void **)&uv->v, sizeof *uv->v, uv->n, &uv->cap) != 0)
        return NULL;
    tp_user_init(&uv->v[uv->n]);
    return &uv->v[uv->n++];
}

void tp_user_vec_clear(struct tp_user_vec *uv)
{
    for (size_t i = 0; i < uv->n; i++)
        tp_user_clear(&uv->v[i]);
    free(uv->v);
    uv->v = NULL;
    uv->n = uv->cap = 0;
}

void tp_user_vec_hand_out(struct tp_user_vec *uv, int (*fn)(void *data, const struct tp_user *u),
                          void *data)
{
    for (size_t i = 0; i < uv->n; i++)
        if (fn(data, &uv->v[i]) != 0)
            break;
    tp_user_vec_clear(uv);
}

struct tp_session *tp_session_vec_add(struct tp_session_vec *sv)
{
    if (grow((void **)&sv->v, sizeof *sv->v, sv->n, &sv->cap) != 0)
        return NULL;
    memset(&sv->v[sv->n], 0, sizeof sv->v[0]);
    return &sv->v[sv->n++];
}

void tp_session_vec_drop_last(struct tp_session_vec *sv)
{
    if (sv->n > 0)
        tp_session_clear(&sv->v[--sv->n]);
}

void tp_session_vec_clear(struct tp_session_vec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        tp_session_clear(&sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = sv->cap = 0;
}

void tp_session_vec_hand_out(struct tp_session_vec *sv,
                             int (*fn)(void *data, const struct tp_session *s), void *data)
{
    for (size_t i = 0; i < sv->n; i++)
        if (fn(data, &sv->v[i]) != 0)
            break;
    tp_session_vec_clear(sv);
}
