/*
 * token_hash.c - fuzzes what reads session IDs and stored hashes
 * (crypto/token.c, crypto/hash.c): a token's shape and digest, whether a
 * hash is usable and whether it needs an upgrade under a policy read from
 * the input (a method and a cost, as module arguments give them). Nothing
 * here computes a password hash: the cost of one is the input's to choose.
 *
 * Input: method NUL cost NUL text (the token or hash).
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "hash.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char key[TP_TOKEN_KEY_LEN] = "a fixed key for the fuzzer.....";
    struct fuzz_in in = { data, size };
    char *method = fuzz_rest(&in), *cost = fuzz_rest(&in), *text = fuzz_rest(&in);
    unsigned char digest[TP_TOKEN_DIGEST_LEN], again[TP_TOKEN_DIGEST_LEN];
    struct tp_hash_policy p;
    int shape;

    if (method == NULL || cost == NULL || text == NULL)
        abort();
    shape = tp_token_shape(text);
    if ((tp_token_password_refusal(text) != NULL) != shape)
        abort();
    if ((tp_token_digest(text, NULL, digest) == 0) != shape
        || (tp_token_digest(text, key, again) == 0) != shape)
        abort();
    if (shape && memcmp(digest, again, sizeof digest) == 0)
        abort();                          /* the key must change the digest */
    if (shape) {
        char hex[65];
        if (tp_token_label(digest, text, hex, 64) != 0 || strlen(hex) != 64)
            abort();
    }

    tp_hash_policy_default(&p);
    if (tp_hash_policy_set(&p, method, cost) != 0)
        tp_hash_policy_default(&p);
    if (tp_hash_usable(text))
        (void)tp_hash_needs_upgrade(text, &p);
    else if (tp_hash_needs_upgrade(text, &p))
        abort();                          /* nothing to upgrade from */
    free(method);
    free(cost);
    free(text);
    return 0;
}
