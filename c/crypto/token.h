/*
 * token.h - random bearer tokens (session IDs) and their digests, through
 * libsodium. No state of our own: sodium_init() is idempotent and
 * thread-safe, and every function here that needs it calls it first.
 *
 * A token reads "trex1." followed by 43 characters of URL-safe base64
 * without padding: 32 bytes (256 bits) from the OS generator. The prefix
 * makes a token recognisable, so a module can tell it from a password.
 * Only its digest is ever stored: BLAKE2b-256 of the 32 bytes, keyed with a
 * site key when one is configured.
 *
 * Ownership: callers own every buffer; tp_token_new() and
 * tp_token_key_load() write secrets into them, which the caller wipes with
 * tp_secret_wipe() (secret.h) when done. A lookup by digest compares in
 * constant time by construction; tp_secret_equal() is for everything else.
 */
#ifndef TP_TOKEN_H
#define TP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TP_TOKEN_PREFIX      "trex1."
#define TP_TOKEN_PREFIX_LEN  6
#define TP_TOKEN_BYTES       32                  /* the secret */
#define TP_TOKEN_B64_LEN     43                  /* its URL-safe base64, no padding */
#define TP_TOKEN_TEXT_LEN    (TP_TOKEN_PREFIX_LEN + TP_TOKEN_B64_LEN)   /* 49 */
#define TP_TOKEN_TEXT_SIZE   (TP_TOKEN_TEXT_LEN + 1)                    /* with the NUL */
#define TP_TOKEN_DIGEST_LEN  32
#define TP_TOKEN_KEY_LEN     32

/* libsodium's sodium_init(): 0, or -1 if it cannot be used (no entropy). */
int tp_token_init(void);

/*
 * A new token: text receives "trex1." + 43 characters and a NUL, digest its
 * digest under key (NULL: unkeyed; else TP_TOKEN_KEY_LEN bytes). The random
 * bytes are wiped before returning. 0, or -1 (libsodium unusable).
 */
int tp_token_new(char text[TP_TOKEN_TEXT_SIZE], unsigned char digest[TP_TOKEN_DIGEST_LEN],
                 const unsigned char *key);

/* Whether text has a token's shape: the prefix, then exactly 43 URL-safe
 * base64 characters that decode canonically to 32 bytes. 1 or 0. */
int tp_token_shape(const char *text);

/* Why a new password that has a token's shape is refused (a session line
 * would take it for a session ID, and its owner could not log in with it),
 * or NULL when pw has no such shape. */
const char *tp_token_password_refusal(const char *pw);

/* The digest of a token under key (NULL: unkeyed). 0, or -1 if text is not
 * a token's shape (digest is then zeroed). */
int tp_token_digest(const char *text, const unsigned char *key,
                    unsigned char digest[TP_TOKEN_DIGEST_LEN]);

/*
 * A short public name for a stored digest: the first hexlen/2 bytes of
 * BLAKE2b-256 of digest keyed with label (any text that sets these names
 * apart from the digests of tokens), as hexlen lowercase hex digits and a
 * NUL in hex (hexlen even, 2 to 64). It reveals no bit of the digest and
 * cannot be turned back into anything that authenticates. 0, or -1
 * (libsodium unusable, or a bad hexlen: hex is then "").
 */
int tp_token_label(const unsigned char digest[TP_TOKEN_DIGEST_LEN], const char *label,
                   char *hex, size_t hexlen);

/* A uniform random number in [0, upper) from the OS generator (0 if upper < 2). */
uint32_t tp_token_uniform(uint32_t upper);

/*
 * A site key from a file (a module's key_file= argument): the key is the
 * BLAKE2b-256 digest of the file's contents, so any 16 to 4096 bytes of
 * random data will do (`head -c 32 /dev/urandom`). The file must be a
 * regular file that only its owner and group may read (no "other" bits),
 * not a symbolic link. 0, or -1 with the reason in err (no secret in it).
 */
int tp_token_key_load(const char *path, unsigned char key[TP_TOKEN_KEY_LEN], char *err,
                      size_t errlen);

#endif /* TP_TOKEN_H */
