/*
 * token.c - see token.h. Every secret passes through a local buffer that is
 * wiped before the function returns, whatever the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "token.h"

#define KEY_FILE_MIN 16
#define KEY_FILE_MAX 4096

int tp_token_init(void)
{
    return sodium_init() < 0 ? -1 : 0;     /* 1 means "already done" */
}

static int is_b64url(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* The 32 bytes of a token, or -1 if text is not a token's shape. */
static int decode(const char *text, unsigned char raw[TP_TOKEN_BYTES])
{
    const char *b64, *end = NULL;
    size_t len = 0;

    if (text == NULL || strncmp(text, TP_TOKEN_PREFIX, TP_TOKEN_PREFIX_LEN) != 0)
        return -1;
    b64 = text + TP_TOKEN_PREFIX_LEN;
    for (size_t i = 0; i < TP_TOKEN_B64_LEN; i++)
        if (!is_b64url((unsigned char)b64[i]))
            return -1;                     /* also stops at a NUL: too short */
    if (b64[TP_TOKEN_B64_LEN] != '\0')
        return -1;                         /* too long */
    /* libsodium refuses non-zero padding bits, so each token has one spelling */
    if (sodium_base642bin(raw, TP_TOKEN_BYTES, b64, TP_TOKEN_B64_LEN, NULL, &len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len != TP_TOKEN_BYTES || end != b64 + TP_TOKEN_B64_LEN) {
        sodium_memzero(raw, TP_TOKEN_BYTES);
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
    sodium_memzero(raw, sizeof raw);
    if (rc != 0) {
        sodium_memzero(text, TP_TOKEN_TEXT_SIZE);
        sodium_memzero(digest, TP_TOKEN_DIGEST_LEN);
    }
    return rc;
}

int tp_token_shape(const char *text)
{
    unsigned char raw[TP_TOKEN_BYTES];
    int ok = decode(text, raw) == 0;
    sodium_memzero(raw, sizeof raw);
    return ok;
}

int tp_token_digest(const char *text, const unsigned char *key,
                    unsigned char digest[TP_TOKEN_DIGEST_LEN])
{
    unsigned char raw[TP_TOKEN_BYTES];
    int rc = -1;

    if (tp_token_init() == 0 && decode(text, raw) == 0)
        rc = digest_raw(raw, key, digest);
    sodium_memzero(raw, sizeof raw);
    if (rc != 0)
        sodium_memzero(digest, TP_TOKEN_DIGEST_LEN);
    return rc;
}

int tp_token_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

void tp_token_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
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
    struct stat sb;
    size_t len = 0;
    const char *why = NULL;
    int fd, rc = -1;

    sodium_memzero(key, TP_TOKEN_KEY_LEN);
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
    else if (!S_ISREG(sb.st_mode))
        why = "not a regular file";
    else if (sb.st_mode & (S_IROTH | S_IWOTH))
        why = "readable or writable by others (chmod o-rw)";
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
    sodium_memzero(buf, sizeof buf);
    if (rc != 0) {
        sodium_memzero(key, TP_TOKEN_KEY_LEN);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "key file %.200s: %s", path ? path : "(none)", why);
    }
    return rc;
}
