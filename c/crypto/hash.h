/*
 * hash.h - password hashes through libxcrypt, shared by the userdb module
 * and the admin API. No state; safe in any thread.
 */
#ifndef TP_HASH_H
#define TP_HASH_H

#include <stddef.h>

/* A preferred method and cost, from module arguments ("method=yescrypt
 * cost=5") or the defaults (yescrypt, libxcrypt's default cost). */
struct tp_hash_policy {
    const char *prefix;     /* "$y$", "$gy$", "$7$", "$2b$", "$6$", "$5$", ... */
    unsigned long cost;     /* 0: libxcrypt's default for the method */
};

/* The longest password libxcrypt hashes: it refuses a passphrase of
 * CRYPT_MAX_PASSPHRASE_SIZE (512) bytes or more. */
#define TP_HASH_PASS_MAX 511

/* method names: yescrypt, gost-yescrypt, scrypt, bcrypt, sha512crypt,
 * sha256crypt, md5crypt, descrypt (and the prefixes themselves).
 * 0, or -1 for an unknown name. */
int tp_hash_policy_set(struct tp_hash_policy *p, const char *method, const char *cost);
void tp_hash_policy_default(struct tp_hash_policy *p);

/*
 * Verify password against a stored hash, computing the hash exactly once,
 * comparing in constant time. 1 match, 0 no match (or a hash libxcrypt
 * cannot use: "*", "!", "" ...). An empty stored hash never matches here
 * (nullok is the module's decision).
 */
int tp_hash_verify(const char *password, const char *hash);
/* Costs what a tp_hash_verify against a hash of the policy's method costs,
 * and always fails: for unknown users. */
void tp_hash_verify_dummy(const char *password, const struct tp_hash_policy *p);
/* A new hash of password under the policy into out (CRYPT_OUTPUT_SIZE is
 * enough); 0 or -1. */
int tp_hash_make(const char *password, const struct tp_hash_policy *p, char *out, size_t outlen);
/* Whether hash is weaker than the policy (another method, or a lower cost,
 * or crypt_checksalt says legacy): 1 yes (upgrade it), 0 no. */
int tp_hash_needs_upgrade(const char *hash, const struct tp_hash_policy *p);
/* Whether libxcrypt can verify this hash at all (crypt_checksalt): 1 or 0. */
int tp_hash_usable(const char *hash);

#endif /* TP_HASH_H */
