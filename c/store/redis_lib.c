/*
 * redis_lib.c - libhiredis, loaded at the first open of a Redis location
 * (never linked: a process on the embedded store does not pay for it), and
 * the SHA-1 of our scripts for EVALSHA (redis.h).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "redis.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct tp_rd_lib lib;
static int lib_ok;
static char lib_err[512];
static char shas[RS_COUNT][41];

/* ---- SHA-1 (FIPS 180-4), only to name our scripts as the server does ---------- */

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16
               | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    for (int i = 0; i < 80; i++) {
        uint32_t f, k, t;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static void sha1_hex(const char *text, char out[41])
{
    uint32_t h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0 };
    size_t n = strlen(text), i;
    unsigned char last[128];
    uint64_t bits = (uint64_t)n * 8;
    size_t rest, tail;

    for (i = 0; i + 64 <= n; i += 64)
        sha1_block(h, (const unsigned char *)text + i);
    rest = n - i;
    memset(last, 0, sizeof last);
    memcpy(last, text + i, rest);
    last[rest] = 0x80;
    tail = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int k = 0; k < 8; k++)
        last[tail - 1 - k] = (unsigned char)(bits >> (8 * k));
    sha1_block(h, last);
    if (tail == 128)
        sha1_block(h, last + 64);
    for (int k = 0; k < 5; k++)
        snprintf(out + 8 * k, 9, "%08x", (unsigned)h[k]);
}

/* ---- the library ------------------------------------------------------------------ */

static void *sym(void *dl, const char *name, int *missing)
{
    void *p = dlsym(dl, name);

    if (p == NULL && !*missing) {
        *missing = 1;
        snprintf(lib_err, sizeof lib_err, "redis: %s has no %s (install libhiredis0.14)",
                 REDIS_SONAME, name);
    }
    return p;
}

static void load(void)
{
    void *dl;
    int missing = 0;

    for (int i = 0; i < RS_COUNT; i++)
        sha1_hex(tp_rd_script_text[i], shas[i]);
    if ((dl = dlopen(REDIS_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        const char *why = dlerror();
        snprintf(lib_err, sizeof lib_err, "redis: cannot load %s (install libhiredis0.14): %s",
                 REDIS_SONAME, why != NULL ? why : "unknown reason");
        return;
    }
    /* data pointers to function pointers: POSIX allows it, ISO C does not say */
    *(void **)&lib.connect_tcp = sym(dl, "redisConnectWithTimeout", &missing);
    *(void **)&lib.connect_unix = sym(dl, "redisConnectUnixWithTimeout", &missing);
    *(void **)&lib.set_timeout = sym(dl, "redisSetTimeout", &missing);
    *(void **)&lib.command_argv = sym(dl, "redisCommandArgv", &missing);
    *(void **)&lib.get_reply = sym(dl, "redisGetReply", &missing);
    *(void **)&lib.free_reply = sym(dl, "freeReplyObject", &missing);
    *(void **)&lib.free_context = sym(dl, "redisFree", &missing);
    if (missing) {
        dlclose(dl);
        return;
    }
    lib_ok = 1;                        /* kept loaded for the life of the process */
}

const struct tp_rd_lib *tp_rd_lib(char *err, size_t errlen)
{
    pthread_once(&once, load);
    if (lib_ok)
        return &lib;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", lib_err);
    return NULL;
}

const char *tp_rd_script_sha(enum rd_script id)
{
    pthread_once(&once, load);
    return shas[id];
}
