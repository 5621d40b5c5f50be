/*
 * hash.c - password hashes through libxcrypt (hash.h).
 *
 * Every crypt_rn() works in a struct crypt_data on the stack that is wiped
 * before returning; settings come from crypt_gensalt_rn() with automatic
 * entropy. Only libc, libxcrypt and secret.h are used here.
 */
#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "secret.h"

/* ---- methods ------------------------------------------------------------- */

enum family {
    FAM_UNKNOWN, FAM_YESCRYPT, FAM_GOST_YESCRYPT, FAM_SCRYPT, FAM_BCRYPT, FAM_BCRYPT_X,
    FAM_SHA512, FAM_SHA256, FAM_MD5, FAM_SUNMD5, FAM_SHA1, FAM_NT, FAM_BSDI, FAM_DES
};

struct method {
    const char *name;       /* module argument method= */
    const char *prefix;     /* crypt_gensalt prefix; also accepted as a method= value */
    enum family fam;
};

/* Names for the policy; prefixes are the strings the policy points to. */
static const struct method methods[] = {
    { "yescrypt",      "$y$",    FAM_YESCRYPT },
    { "gost-yescrypt", "$gy$",   FAM_GOST_YESCRYPT },
    { "scrypt",        "$7$",    FAM_SCRYPT },
    { "bcrypt",        "$2b$",   FAM_BCRYPT },
    { "bcrypt-y",      "$2y$",   FAM_BCRYPT },
    { "bcrypt-a",      "$2a$",   FAM_BCRYPT },
    { "sha512crypt",   "$6$",    FAM_SHA512 },
    { "sha256crypt",   "$5$",    FAM_SHA256 },
    { "sha1crypt",     "$sha1",  FAM_SHA1 },
    { "sunmd5",        "$md5",   FAM_SUNMD5 },
    { "md5crypt",      "$1$",    FAM_MD5 },
    { "bsdicrypt",     "_",      FAM_BSDI },
    { "descrypt",      "",       FAM_DES },
};
#define NMETHODS (sizeof methods / sizeof methods[0])

/* The family of a stored hash or setting, by its prefix. */
static enum family family_of(const char *h)
{
    if (h == NULL || *h == '\0')
        return FAM_UNKNOWN;
    if (strncmp(h, "$y$", 3) == 0)
        return FAM_YESCRYPT;
    if (strncmp(h, "$gy$", 4) == 0)
        return FAM_GOST_YESCRYPT;
    if (strncmp(h, "$7$", 3) == 0)
        return FAM_SCRYPT;
    if (strncmp(h, "$2b$", 4) == 0 || strncmp(h, "$2y$", 4) == 0 || strncmp(h, "$2a$", 4) == 0)
        return FAM_BCRYPT;
    if (strncmp(h, "$2x$", 4) == 0)
        return FAM_BCRYPT_X;
    if (strncmp(h, "$6$", 3) == 0)
        return FAM_SHA512;
    if (strncmp(h, "$5$", 3) == 0)
        return FAM_SHA256;
    if (strncmp(h, "$1$", 3) == 0)
        return FAM_MD5;
    if (strncmp(h, "$md5", 4) == 0 && (h[4] == '$' || h[4] == ','))
        return FAM_SUNMD5;
    if (strncmp(h, "$sha1$", 6) == 0)
        return FAM_SHA1;
    if (strncmp(h, "$3$", 3) == 0)
        return FAM_NT;
    if (h[0] == '_')
        return FAM_BSDI;
    if (h[0] != '$')
        return FAM_DES;
    return FAM_UNKNOWN;
}

/* Fixed bytes for settings that are only parsed, never used for a hash. */
static const char probe_bytes[32] = "trex-pam cost probe, not a salt";

int tp_hash_policy_set(struct tp_hash_policy *p, const char *method, const char *cost)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    const struct method *m = NULL;
    unsigned long c = 0;

    if (p == NULL)
        return -1;
    if (method == NULL || *method == '\0') {
        m = &methods[0];
    } else {
        for (size_t i = 0; i < NMETHODS && m == NULL; i++)
            if (strcmp(method, methods[i].name) == 0 ||
                (methods[i].prefix[0] != '\0' && strcmp(method, methods[i].prefix) == 0))
                m = &methods[i];
    }
    if (m == NULL)
        return -1;
    if (cost != NULL && *cost != '\0') {
        char *end;
        if (*cost < '0' || *cost > '9')
            return -1;
        errno = 0;
        c = strtoul(cost, &end, 10);
        if (errno != 0 || *end != '\0')
            return -1;
    }
    /* the method must be enabled here and accept the cost: one trial
     * setting, from fixed bytes (it is only parsed, never used for a hash:
     * no random bytes are drawn for it) */
    if (crypt_gensalt_rn(m->prefix, c, probe_bytes, (int)sizeof probe_bytes, setting,
                         sizeof setting) == NULL)
        return -1;
    p->prefix = m->prefix;
    p->cost = c;
    return 0;
}

void tp_hash_policy_default(struct tp_hash_policy *p)
{
    if (p == NULL)
        return;
    p->prefix = methods[0].prefix;
    p->cost = 0;
}

/* ---- hashing --------------------------------------------------------------- */

int tp_hash_verify(const char *password, const char *hash)
{
    struct crypt_data data;
    const char *out;
    int ok = 0;

    if (password == NULL || hash == NULL || !tp_hash_usable(hash))
        return 0;
    memset(&data, 0, sizeof data);
    out = crypt_rn(password, hash, &data, (int)sizeof data);
    if (out != NULL && out[0] != '*')
        ok = tp_secret_streq(out, hash);
    tp_secret_wipe(&data, sizeof data);
    return ok;
}

/* A fresh setting of the policy into setting (CRYPT_GENSALT_OUTPUT_SIZE);
 * falls back to the default policy if this one cannot make one. */
static const char *policy_setting(const struct tp_hash_policy *p, const char *rbytes, int nrbytes,
                                  char *setting, int size)
{
    const char *s = NULL;
    if (p != NULL && p->prefix != NULL)
        s = crypt_gensalt_rn(p->prefix, p->cost, rbytes, nrbytes, setting, size);
    if (s == NULL)
        s = crypt_gensalt_rn(methods[0].prefix, 0, rbytes, nrbytes, setting, size);
    return s;
}

void tp_hash_verify_dummy(const char *password, const struct tp_hash_policy *p)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data data;
    const char *s = policy_setting(p, NULL, 0, setting, (int)sizeof setting);

    if (s == NULL)
        return;
    memset(&data, 0, sizeof data);
    (void)crypt_rn(password != NULL ? password : "", s, &data, (int)sizeof data);
    tp_secret_wipe(&data, sizeof data);
}

int tp_hash_make(const char *password, const struct tp_hash_policy *p, char *out, size_t outlen)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data data;
    const char *s, *h;
    int rc = -1;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (password == NULL || p == NULL || p->prefix == NULL || out == NULL)
        return -1;
    if ((s = crypt_gensalt_rn(p->prefix, p->cost, NULL, 0, setting, (int)sizeof setting)) == NULL)
        return -1;
    memset(&data, 0, sizeof data);
    h = crypt_rn(password, s, &data, (int)sizeof data);
    /* a method libxcrypt does not know may hand back something else:
     * insist on the prefix asked for, as pam_unix does */
    if (h != NULL && h[0] != '*' && strncmp(h, p->prefix, strlen(p->prefix)) == 0 &&
        strlen(h) < outlen) {
        memcpy(out, h, strlen(h) + 1);
        rc = 0;
    }
    tp_secret_wipe(&data, sizeof data);
    return rc;
}

static int all_itoa64(const char *s)
{
    return strspn(s, "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == strlen(s);
}

/*
 * crypt_checksalt() judges the setting only: "$6$abc" (a setting without a
 * hash) or "garbage" (read as a DES salt "ga") pass it. A stored hash must
 * also have the shape of a whole hash: DES 13 characters (bigcrypt 13 + 11k),
 * BSDi 20, the "$id$" methods at least three '$' and something after the
 * last one.
 */
int tp_hash_usable(const char *hash)
{
    size_t n, dollars = 0;
    int r;

    if (hash == NULL || *hash == '\0')
        return 0;
    r = crypt_checksalt(hash);
    if (r != CRYPT_SALT_OK && r != CRYPT_SALT_METHOD_LEGACY && r != CRYPT_SALT_TOO_CHEAP)
        return 0;
    n = strlen(hash);
    switch (family_of(hash)) {
    case FAM_DES:
        return n >= 13 && (n - 13) % 11 == 0 && all_itoa64(hash);
    case FAM_BSDI:
        return n == 20 && all_itoa64(hash + 1);
    case FAM_UNKNOWN:
        return 0;
    default:
        for (const char *p = hash; *p != '\0'; p++)
            dollars += *p == '$';
        return dollars >= 3 && hash[n - 1] != '$';
    }
}

/* ---- cost -------------------------------------------------------------------- */

static int atoi64(char c)
{
    static const char itoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const char *p = c != '\0' ? strchr(itoa64, c) : NULL;
    return p != NULL ? (int)(p - itoa64) : -1;
}

/* yescrypt's variable-length number encoding (decode64_uint32 in libxcrypt's
 * alg-yescrypt-common.c); returns the position after it or NULL. */
static const char *yescrypt_uint32(const char *s, uint32_t min, uint32_t *out)
{
    uint32_t start = 0, end = 47, chars = 1, bits = 0, v = min;
    int c = atoi64(*s++);
    if (c < 0)
        return NULL;
    while ((uint32_t)c > end) {
        v += (end + 1 - start) << bits;
        start = end + 1;
        end = start + (62 - end) / 2;
        chars++;
        bits += 6;
        if (bits > 24)
            return NULL;
    }
    v += ((uint32_t)c - start) << bits;
    while (--chars) {
        if ((c = atoi64(*s++)) < 0)
            return NULL;
        bits -= 6;
        v += (uint32_t)c << bits;
    }
    *out = v;
    return s;
}

/* A number proportional to the work a hash or setting costs, comparable
 * within one family; -1 where we cannot tell (then no cost upgrade). */
static double work_of(const char *h, enum family fam)
{
    const char *s;
    char *end;
    unsigned long v;

    switch (fam) {
    case FAM_YESCRYPT:
    case FAM_GOST_YESCRYPT: {
        uint32_t flavor, nlog2, r;
        s = h + (fam == FAM_YESCRYPT ? 3 : 4);
        if ((s = yescrypt_uint32(s, 0, &flavor)) == NULL ||
            (s = yescrypt_uint32(s, 1, &nlog2)) == NULL ||
            (s = yescrypt_uint32(s, 1, &r)) == NULL || nlog2 > 63)
            return -1;
        return (double)(1ULL << nlog2) * r;          /* N * r: time and memory */
    }
    case FAM_SCRYPT: {
        int nlog2 = atoi64(h[3]);
        double r = 0, p = 0;
        if (nlog2 < 0 || nlog2 > 63)
            return -1;
        /* r in h[4..8], then p in h[9..13]: read in order, so that a
         * setting ending early stops at its NUL, not past it */
        for (int i = 0; i < 10; i++) {
            int a = atoi64(h[4 + i]);
            if (a < 0)
                return -1;
            *(i < 5 ? &r : &p) += (double)a * (double)(1UL << (6 * (i % 5)));
        }
        return (double)(1ULL << nlog2) * r * p;
    }
    case FAM_BCRYPT:
    case FAM_BCRYPT_X:
        if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$'
            || (h[4] - '0') * 10 + (h[5] - '0') > 31)
            return -1;                                 /* bcrypt's costs end at 31 */
        return (double)(1ULL << ((h[4] - '0') * 10 + (h[5] - '0')));
    case FAM_SHA512:
    case FAM_SHA256:
        if (strncmp(h + 3, "rounds=", 7) != 0)
            return 5000;                               /* the default, not written */
        v = strtoul(h + 10, &end, 10);
        if (end == h + 10 || *end != '$')
            return -1;
        return (double)(v < 1000 ? 1000 : v);          /* libxcrypt clamps, as glibc did */
    case FAM_BSDI: {
        double n = 0;
        for (int i = 0; i < 4; i++) {
            int a = atoi64(h[1 + i]);
            if (a < 0)
                return -1;
            n += (double)a * (double)(1UL << (6 * i));
        }
        return n;
    }
    default:
        /* no cost parameter, or (sunmd5, sha1crypt) a randomised one */
        return 0;
    }
}

int tp_hash_needs_upgrade(const char *hash, const struct tp_hash_policy *p)
{
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *s;
    enum family hf, pf;
    double hw, pw;

    if (hash == NULL || p == NULL || !tp_hash_usable(hash))
        return 0;                   /* no password to upgrade from */
    /* fixed bytes: this setting is only parsed, never used for a hash */
    if ((s = policy_setting(p, probe_bytes, (int)sizeof probe_bytes, setting,
                            (int)sizeof setting)) == NULL)
        return 0;
    hf = family_of(hash);
    pf = family_of(s);
    if (hf != pf)
        return 1;
    /* the same method: legacy is only worth leaving for a method that is not */
    if (crypt_checksalt(hash) == CRYPT_SALT_METHOD_LEGACY &&
        crypt_checksalt(s) != CRYPT_SALT_METHOD_LEGACY)
        return 1;
    hw = work_of(hash, hf);
    pw = work_of(s, pf);
    return hw >= 0 && pw >= 0 && hw < pw;
}
