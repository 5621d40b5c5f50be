/*
 * token.c - see token.h. Every secret passes through a local buffer that is
 * wiped before the function returns, whatever the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "token.h"
#include "secret.h"
#include "strict.h"

#define KEY_FILE_MIN 16
#define KEY_FILE_MAX 4096

int tp_token_init(void)
{
    return sodium_init() < 0 ? -1 : 0;     /* 1 means "already done" */
}

/* All ones if lo <= c <= hi, else 0, without a branch (c, lo, hi < 256). */
static unsigned int in_range(int c, int lo, int hi)
{
    return ~(unsigned int)(((c - lo) | (hi - c)) >> 31);
}

/* The 6-bit value of a URL-safe base64 character, or 0x100 for any other
 * byte; without a branch or a table lookup on the (secret) character, like
 * libsodium's own decoder. */
static unsigned int b64url_value(int c)
{
    unsigned int upper = in_range(c, 'A', 'Z'), lower = in_range(c, 'a', 'z');
    unsigned int digit = in_range(c, '0', '9'), dash = in_range(c, '-', '-');
    unsigned int under = in_range(c, '_', '_');

    return (upper & (unsigned int)(c - 'A')) | (lower & (unsigned int)(c - 'a' + 26)) |
           (digit & (unsigned int)(c - '0' + 52)) | (dash & 62u) | (under & 63u) |
           (~(upper | lower | digit | dash | under) & 0x100u);
}

/* The 32 bytes of a token, or -1 if text is not a token's shape: the
 * prefix, then exactly 43 URL-safe base64 characters whose last one's two
 * unused bits are zero (so each token has one spelling, as libsodium's
 * decoder insists). */
static int decode(const char *text, unsigned char raw[TP_TOKEN_BYTES])
{
    const unsigned char *b64;
    unsigned int v[TP_TOKEN_B64_LEN + 1], bad = 0;
    size_t i, n;

    if (text == NULL || strncmp(text, TP_TOKEN_PREFIX, TP_TOKEN_PREFIX_LEN) != 0)
        return -1;
    b64 = (const unsigned char *)text + TP_TOKEN_PREFIX_LEN;
    if (strnlen((const char *)b64, TP_TOKEN_B64_LEN + 1) != TP_TOKEN_B64_LEN)
        return -1;                         /* too short or too long */
    for (i = 0; i < TP_TOKEN_B64_LEN; i++) {
        v[i] = b64url_value(b64[i]);
        bad |= v[i];
    }
    if ((bad & 0x100u) != 0) {
        tp_secret_wipe(v, sizeof v);
        return -1;                         /* not URL-safe base64 */
    }
    v[TP_TOKEN_B64_LEN] = 0;
    /* four characters, three bytes: 40 characters give 30 bytes; the last
     * three give two bytes and two bits that must be zero */
    for (i = 0, n = 0; i < 40; i += 4, n += 3) {
        unsigned int w = v[i] << 18 | v[i + 1] << 12 | v[i + 2] << 6 | v[i + 3];
        raw[n] = (unsigned char)(w >> 16);
        raw[n + 1] = (unsigned char)(w >> 8);
        raw[n + 2] = (unsigned char)w;
    }
    {
        unsigned int w = v[40] << 18 | v[41] << 12 | v[42] << 6;
        raw[30] = (unsigned char)(w >> 16);
        raw[31] = (unsigned char)(w >> 8);
        bad = (w >> 6) & 3u;
    }
    tp_secret_wipe(v, sizeof v);
    if (bad != 0) {
        tp_secret_wipe(raw, TP_TOKEN_BYTES);
        return -1;
    }
    return 0;
}

static int digest_raw(const unsigned char raw[TP_TOKEN_BYTES], const unsigned char *key,
                      unsigned char digest[TP_TOKEN_DIGEST_LEN])
{
    return crypto_generichash(digest, TP_TOKEN_DIGEST_LEN, raw, TP_TOKEN_BYTES, key,
                              key != NULL ? TP_TOKEN_KEY_LEN : 0) == 0 ? 0 : -1;
}

int tp_token_new(char text[TP_TOKEN_TEXT_SIZE], unsigned char digest[TP_TOKEN_DIGEST_LEN],
                 const unsigned char *key)
{
    unsigned char raw[TP_TOKEN_BYTES];
    int rc = -1;

    text[0] = '\0';
    if (tp_token_init() != 0)
        return -1;
    randombytes_buf(raw, sizeof raw);
    memcpy(text, TP_TOKEN_PREFIX, TP_TOKEN_PREFIX_LEN);
    if (sodium_bin2base64(text + TP_TOKEN_PREFIX_LEN, TP_TOKEN_B64_LEN + 1, raw, sizeof raw,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != NULL &&
        digest_raw(raw, key, digest) == 0)
        rc = 0;
    tp_secret_wipe(raw, sizeof raw);
    if (rc != 0) {
        tp_secret_wipe(text, TP_TOKEN_TEXT_SIZE);
        tp_secret_wipe(digest, TP_TOKEN_DIGEST_LEN);
    }
    return rc;
}

int tp_token_shape(const char *text)
{
    unsigned char raw[TP_TOKEN_BYTES];
    int ok = decode(text, raw) == 0;
    tp_secret_wipe(raw, sizeof raw);
    return ok;
}

const char *tp_token_password_refusal(const char *pw)
{
    if (pw == NULL || !tp_token_shape(pw))
        return NULL;
    return "The password has the form of a session ID (" TP_TOKEN_PREFIX
           " and 43 characters): choose another.";
}

int tp_token_digest(const char *text, const unsigned char *key,
                    unsigned char digest[TP_TOKEN_DIGEST_LEN])
{
    unsigned char raw[TP_TOKEN_BYTES];
    int rc = -1;

    if (tp_token_init() == 0 && decode(text, raw) == 0)
        rc = digest_raw(raw, key, digest);
    tp_secret_wipe(raw, sizeof raw);
    if (rc != 0)
        tp_secret_wipe(digest, TP_TOKEN_DIGEST_LEN);
    return rc;
}

int tp_token_label(const unsigned char digest[TP_TOKEN_DIGEST_LEN], const char *label,
                   char *hex, size_t hexlen)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char h[crypto_generichash_BYTES];

    if (hexlen < 2 || hexlen > 2 * sizeof h || hexlen % 2 != 0 || tp_token_init() != 0 ||
        crypto_generichash(h, sizeof h, digest, TP_TOKEN_DIGEST_LEN, (const unsigned char *)label,
                           strlen(label)) != 0) {
        if (hex != NULL)
            hex[0] = '\0';
        return -1;
    }
    for (size_t i = 0; i < hexlen / 2; i++) {
        hex[2 * i] = digits[h[i] >> 4];
        hex[2 * i + 1] = digits[h[i] & 0xf];
    }
    hex[hexlen] = '\0';
    tp_secret_wipe(h, sizeof h);
    return 0;
}

uint32_t tp_token_uniform(uint32_t upper)
{
    if (upper < 2 || tp_token_init() != 0)
        return 0;
    return randombytes_uniform(upper);
}

int tp_token_key_load(const char *path, unsigned char key[TP_TOKEN_KEY_LEN], char *err,
                      size_t errlen)
{
    unsigned char buf[KEY_FILE_MAX + 1];
    char bad[PATH_MAX + 256];
    struct stat sb;
    size_t len = 0;
    const char *why = NULL;
    int fd, rc = -1;

    tp_secret_wipe(key, TP_TOKEN_KEY_LEN);
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (path == NULL || *path == '\0') {
        why = "no key file named";
        goto out;
    }
    if (tp_token_init() != 0) {
        why = "libsodium cannot be initialised";
        goto out;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0) {
        why = strerror(errno);
        goto out;
    }
    if (fstat(fd, &sb) != 0)
        why = strerror(errno);
    else if (tp_strict_file(path, &sb, TP_STRICT_OTHERS, bad, sizeof bad) != 0)
        why = bad;                    /* its group may read it: the services' group */
    while (why == NULL && len < sizeof buf) {
        ssize_t n = read(fd, buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            why = strerror(errno);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (why == NULL && (len < KEY_FILE_MIN || len > KEY_FILE_MAX))
        why = "a key file holds 16 to 4096 bytes";
    if (why == NULL && crypto_generichash(key, TP_TOKEN_KEY_LEN, buf, len, NULL, 0) != 0)
        why = "cannot digest the key";
    if (why == NULL)
        rc = 0;
out:
    tp_secret_wipe(buf, sizeof buf);
    if (rc != 0) {
        tp_secret_wipe(key, TP_TOKEN_KEY_LEN);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "key file %.200s: %s", path ? path : "(none)", why);
    }
    return rc;
}
