/*
 * t_token.c - session ID tokens (crypto/token.h): shape, uniqueness, the
 * URL-safe alphabet, digests (known answers from Python's hashlib, keyed
 * and unkeyed), shape refusals, constant-time comparison and key files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "secret.h"
#include "token.h"

#define N_IDS 10000

/* bytes 0..31, and BLAKE2b-256 of them: unkeyed, and keyed with the digest
 * of the key file "0123456789abcdef0123456789abcdef" (hashlib.blake2b) */
static const char KAT_TEXT[] = "trex1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
static const char KAT_PLAIN[] = "cb2f5160fc1f7e05a55ef49d340b48da2e5a78099d53393351cd579dd42503d6";
static const char KAT_KEYED[] = "86752ac8f282f515e3b3e569e66ff985bd3268c7307f60cac80a7aafd299c948";
static const char KEY_TEXT[] = "0123456789abcdef0123456789abcdef";

static void hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_digest(const void *a, const void *b)
{
    return memcmp(a, b, TP_TOKEN_DIGEST_LEN);
}

static int all_zero(const unsigned char *p, size_t n)
{
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= p[i];
    return d == 0;
}

static void test_new(void)
{
    char text[TP_TOKEN_TEXT_SIZE], again[TP_TOKEN_DIGEST_LEN * 2 + 1], h1[65], h2[65];
    unsigned char dg[TP_TOKEN_DIGEST_LEN], dg2[TP_TOKEN_DIGEST_LEN];
    size_t bad = 0;

    tap_is_int(tp_token_init(), 0, "init");
    tap_is_int(tp_token_init(), 0, "init again (idempotent)");
    tap_is_int(tp_token_new(text, dg, NULL), 0, "new token");
    tap_is_int((long)strlen(text), 49, "49 characters");
    tap_ok(strncmp(text, "trex1.", 6) == 0, "starts with trex1.");
    for (const char *p = text + 6; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            bad++;
    tap_is_int((long)bad, 0, "URL-safe base64 alphabet only, no padding");
    tap_ok(tp_token_shape(text), "has the shape");
    tap_is_int(tp_token_digest(text, NULL, dg2), 0, "digest of the text");
    hex(dg, sizeof dg, h1);
    hex(dg2, sizeof dg2, h2);
    tap_is_str(h2, h1, "the digest from new is the digest of the text");
    tap_is_int(tp_token_digest(text, NULL, dg2), 0, "digest again");
    hex(dg2, sizeof dg2, again);
    tap_is_str(again, h1, "digest is stable");
}

static void test_unique(void)
{
    char **ids = calloc(N_IDS, sizeof *ids);
    unsigned char *dgs = calloc(N_IDS, TP_TOKEN_DIGEST_LEN);
    size_t ok = 0, dup = 0, dupd = 0, alpha = 0;
    unsigned long seen[64] = { 0 };

    if (ids == NULL || dgs == NULL) {
        tap_ok(0, "memory");
        free(ids);
        free(dgs);
        return;
    }
    for (size_t i = 0; i < N_IDS; i++) {
        char text[TP_TOKEN_TEXT_SIZE];
        if (tp_token_new(text, dgs + i * TP_TOKEN_DIGEST_LEN, NULL) == 0 &&
            (ids[i] = strdup(text)) != NULL)
            ok++;
        else
            ids[i] = strdup("");
        for (const char *p = text + 6; *p; p++) {
            int v = *p >= 'A' && *p <= 'Z' ? *p - 'A' : *p >= 'a' && *p <= 'z' ? *p - 'a' + 26
                  : *p >= '0' && *p <= '9' ? *p - '0' + 52 : *p == '-' ? 62 : 63;
            seen[v]++;
        }
    }
    tap_is_int((long)ok, N_IDS, "%d tokens made", N_IDS);
    qsort(ids, N_IDS, sizeof *ids, cmp_str);
    for (size_t i = 1; i < N_IDS; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            dup++;
    tap_is_int((long)dup, 0, "%d tokens, all distinct", N_IDS);
    qsort(dgs, N_IDS, TP_TOKEN_DIGEST_LEN, cmp_digest);
    for (size_t i = 1; i < N_IDS; i++)
        if (memcmp(dgs + (i - 1) * TP_TOKEN_DIGEST_LEN, dgs + i * TP_TOKEN_DIGEST_LEN,
                   TP_TOKEN_DIGEST_LEN) == 0)
            dupd++;
    tap_is_int((long)dupd, 0, "their digests all distinct");
    for (int v = 0; v < 64; v++)
        if (seen[v] > 0)
            alpha++;
    tap_is_int((long)alpha, 64, "all 64 characters of the alphabet occur");
    for (size_t i = 0; i < N_IDS; i++)
        free(ids[i]);
    free(ids);
    free(dgs);
}

static void test_kat(void)
{
    unsigned char dg[TP_TOKEN_DIGEST_LEN], key[TP_TOKEN_KEY_LEN], k2[TP_TOKEN_KEY_LEN];
    char h[65], path[512], err[300];

    tap_ok(tp_token_shape(KAT_TEXT), "known token has the shape");
    tap_is_int(tp_token_digest(KAT_TEXT, NULL, dg), 0, "known token: digest");
    hex(dg, sizeof dg, h);
    tap_is_str(h, KAT_PLAIN, "unkeyed digest: BLAKE2b-256 of the 32 bytes");

    tap_is_int(th_file("key", KEY_TEXT), 0, "key file written");
    snprintf(path, sizeof path, "%s", th_path("key"));
    chmod(path, 0600);
    tap_is_int(tp_token_key_load(path, key, err, sizeof err), 0, "key file loads");
    tap_is_int(tp_token_digest(KAT_TEXT, key, dg), 0, "known token: keyed digest");
    hex(dg, sizeof dg, h);
    tap_is_str(h, KAT_KEYED, "keyed digest: BLAKE2b-256 keyed with the file's digest");
    tap_ok(strcmp(h, KAT_PLAIN) != 0, "keyed and unkeyed digests differ");
    tap_is_int(tp_token_key_load(path, k2, err, sizeof err), 0, "loads again");
    tap_ok(tp_secret_equal(key, k2, sizeof key), "the same key");

    /* new with a key gives the keyed digest of its text */
    {
        char text[TP_TOKEN_TEXT_SIZE];
        unsigned char d1[TP_TOKEN_DIGEST_LEN], d2[TP_TOKEN_DIGEST_LEN];
        tap_is_int(tp_token_new(text, d1, key), 0, "new with a key");
        tp_token_digest(text, key, d2);
        tap_ok(tp_secret_equal(d1, d2, sizeof d1), "keyed digest of new matches");
        tp_token_digest(text, NULL, d2);
        tap_ok(!tp_secret_equal(d1, d2, sizeof d1), "and differs from the unkeyed one");
        tp_secret_wipe(text, sizeof text);
        tap_ok(all_zero((unsigned char *)text, sizeof text), "wipe zeroes");
    }

    /* refusals */
    tap_is_int(th_file("other", KEY_TEXT), 0, "world-readable key file written");
    snprintf(path, sizeof path, "%s", th_path("other"));
    chmod(path, 0644);
    tap_is_int(tp_token_key_load(path, key, err, sizeof err), -1, "world-readable key refused");
    tap_ok(strstr(err, "others") != NULL && strstr(err, KEY_TEXT) == NULL, "reason: %s", err);
    tap_ok(all_zero(key, sizeof key), "key zeroed on failure");
    tap_is_int(th_file("short", "0123456789"), 0, "short key file written");
    snprintf(path, sizeof path, "%s", th_path("short"));
    chmod(path, 0600);
    tap_is_int(tp_token_key_load(path, key, err, sizeof err), -1, "a 10-byte key refused");
    snprintf(path, sizeof path, "%s", th_path("missing"));
    tap_is_int(tp_token_key_load(path, key, err, sizeof err), -1, "missing key file refused");
    tap_is_int(tp_token_key_load(th_dir(), key, err, sizeof err), -1, "a directory refused");
    {
        char link[512];
        snprintf(path, sizeof path, "%s", th_path("key"));
        snprintf(link, sizeof link, "%s", th_path("link"));
        tap_is_int(symlink(path, link), 0, "symlink made");
        tap_is_int(tp_token_key_load(link, key, err, sizeof err), -1, "a symbolic link refused");
    }
    tap_is_int(tp_token_key_load(NULL, key, err, sizeof err), -1, "no path refused");
}

static void test_shapes(void)
{
    char text[TP_TOKEN_TEXT_SIZE + 8];
    unsigned char dg[TP_TOKEN_DIGEST_LEN];
    static const char *const bad[] = {
        "", "trex1.", "hunter2", "correct horse battery staple",
        "trex2.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",   /* wrong version */
        "TREX1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",   /* case */
        "trex1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh",    /* 42 characters */
        "trex1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",  /* 44 */
        "trex1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",  /* padding */
        "trex1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9",   /* non-zero padding bits */
        "trex1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH+8",   /* '+' (standard alphabet) */
        "trex1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH/8",   /* '/' */
        "trex1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH 8",   /* space */
        " trex1.AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",  /* leading space */
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(dg, 0xa5, sizeof dg);
        tap_ok(!tp_token_shape(bad[i]), "not a token: \"%s\"", bad[i]);
        tap_ok(tp_token_digest(bad[i], NULL, dg) == -1 && all_zero(dg, sizeof dg),
               "no digest for it, and the output zeroed");
    }
    tap_ok(!tp_token_shape(NULL), "NULL is not a token");
    /* a token with a NUL in the middle is shorter than 49 */
    memcpy(text, KAT_TEXT, sizeof KAT_TEXT);
    text[20] = '\0';
    tap_ok(!tp_token_shape(text), "truncated by a NUL");
}

static void test_equal(void)
{
    unsigned char a[32], b[32];
    for (int i = 0; i < 32; i++)
        a[i] = b[i] = (unsigned char)(i * 7);
    tap_is_int(tp_secret_equal(a, b, sizeof a), 1, "equal buffers");
    b[0] ^= 1;
    tap_is_int(tp_secret_equal(a, b, sizeof a), 0, "differ in the first byte");
    b[0] ^= 1;
    b[31] ^= 0x80;
    tap_is_int(tp_secret_equal(a, b, sizeof a), 0, "differ in the last byte");
    tap_is_int(tp_secret_equal(a, b, 31), 1, "equal over the first 31 bytes");
    tap_is_int(tp_secret_equal(a, b, 0), 1, "zero bytes are equal");
}

static void test_uniform(void)
{
    int in_range = 1, hit0 = 0, hit63 = 0;
    tap_is_int(tp_token_uniform(0), 0, "uniform(0) is 0");
    tap_is_int(tp_token_uniform(1), 0, "uniform(1) is 0");
    for (int i = 0; i < 20000; i++) {
        uint32_t v = tp_token_uniform(64);
        if (v >= 64)
            in_range = 0;
        hit0 |= v == 0;
        hit63 |= v == 63;
    }
    tap_ok(in_range && hit0 && hit63, "uniform(64) covers 0..63 and stays in range");
}

int main(void)
{
    test_new();
    test_unique();
    test_kat();
    test_shapes();
    test_equal();
    test_uniform();
    return th_done();
}
