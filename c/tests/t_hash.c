/*
 * t_hash.c - password hashing through libxcrypt (crypto/hash.h): every
 * method crypt_gensalt can make here, verify, the dummy verify, upgrades by
 * method and by cost, usable(), policies and their costs.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

static const struct {
    const char *name, *prefix;
} methods[] = {
    { "yescrypt", "$y$" }, { "gost-yescrypt", "$gy$" }, { "scrypt", "$7$" },
    { "bcrypt", "$2b$" }, { "bcrypt-y", "$2y$" }, { "bcrypt-a", "$2a$" },
    { "sha512crypt", "$6$" }, { "sha256crypt", "$5$" }, { "sha1crypt", "$sha1" },
    { "sunmd5", "$md5" }, { "md5crypt", "$1$" }, { "bsdicrypt", "_" }, { "descrypt", "" },
};

/* Whether libxcrypt here can make settings of this method at all. */
static int enabled(const char *prefix)
{
    char s[CRYPT_GENSALT_OUTPUT_SIZE];
    return crypt_gensalt_rn(prefix, 0, NULL, 0, s, sizeof s) != NULL;
}

static void make(const char *method, const char *cost, const char *pw, char *out)
{
    struct tp_hash_policy p;
    out[0] = '\0';
    if (tp_hash_policy_set(&p, method, cost) != 0 || tp_hash_make(pw, &p, out, CRYPT_OUTPUT_SIZE) != 0)
        tap_diag("cannot make a %s hash (cost %s)", method, cost ? cost : "default");
}

static int upgrade(const char *hash, const char *method, const char *cost)
{
    struct tp_hash_policy p;
    if (tp_hash_policy_set(&p, method, cost) != 0)
        return -1;
    return tp_hash_needs_upgrade(hash, &p);
}

/* tp_hash_verify_dummy returns nothing to look at: th_returns runs it in a
 * child, whose clean exit shows that it returned */
struct dummy {
    const char *password;
    const struct tp_hash_policy *policy;
};

static void run_dummy(void *arg)
{
    const struct dummy *d = arg;
    tp_hash_verify_dummy(d->password, d->policy);
}

static void test_methods(void)
{
    struct tp_hash_policy def, p;
    char h[CRYPT_OUTPUT_SIZE];

    tp_hash_policy_default(&def);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        const char *n = methods[i].name;
        if (!enabled(methods[i].prefix)) {
            tap_is_int(tp_hash_policy_set(&p, n, NULL), -1, "%s: disabled here, so no policy", n);
            continue;
        }
        tap_is_int(tp_hash_policy_set(&p, n, NULL), 0, "%s: policy by name", n);
        tap_is_str(p.prefix, methods[i].prefix, "%s: its prefix", n);
        tap_is_int(tp_hash_make("correct horse", &p, h, sizeof h), 0, "%s: make", n);
        tap_ok(strncmp(h, methods[i].prefix, strlen(methods[i].prefix)) == 0, "%s: %s", n, h);
        tap_is_int(tp_hash_usable(h), 1, "%s: usable", n);
        tap_is_int(tp_hash_verify("correct horse", h), 1, "%s: the right password verifies", n);
        tap_is_int(tp_hash_verify("Correct horse", h), 0, "%s: a wrong one does not", n);
        tap_is_int(tp_hash_verify("", h), 0, "%s: nor the empty one", n);
        tap_is_int(tp_hash_needs_upgrade(h, &p), 0, "%s: no upgrade under its own policy", n);
        tap_is_int(tp_hash_needs_upgrade(h, &def), strcmp(n, "yescrypt") != 0,
                   "%s: %s under the default (yescrypt) policy", n,
                   strcmp(n, "yescrypt") != 0 ? "upgrade" : "no upgrade");
        th_returns(run_dummy, &(struct dummy){ "correct horse", &p }, "%s: dummy verify returns", n);
        if (methods[i].prefix[0] != '\0') {
            struct tp_hash_policy q;
            tap_is_int(tp_hash_policy_set(&q, methods[i].prefix, NULL), 0, "%s: policy by prefix %s", n,
                       methods[i].prefix);
            tap_ok(q.prefix == p.prefix, "%s: ... the same policy", n);
        }
    }
}

static void test_policy(void)
{
    struct tp_hash_policy p;
    char h[CRYPT_OUTPUT_SIZE];

    tp_hash_policy_default(&p);
    tap_is_str(p.prefix, "$y$", "default policy: yescrypt");
    tap_is_int((long)p.cost, 0, "... at libxcrypt's default cost");
    tap_is_int(tp_hash_make("pw", &p, h, sizeof h), 0, "default policy makes a hash");
    tap_ok(strncmp(h, "$y$j9T$", 7) == 0, "... $y$j9T$ (libxcrypt's default cost): %s", h);
    tap_is_int(tp_hash_policy_set(&p, NULL, NULL), 0, "no method: the default");
    tap_is_str(p.prefix, "$y$", "... yescrypt");

    tap_is_int(tp_hash_policy_set(&p, "rot13", NULL), -1, "unknown method");
    tap_is_int(tp_hash_policy_set(&p, "$9$", NULL), -1, "unknown prefix");
    tap_is_int(tp_hash_policy_set(&p, "yescrypt", "abc"), -1, "cost not a number");
    tap_is_int(tp_hash_policy_set(&p, "yescrypt", "-1"), -1, "negative cost");
    tap_is_int(tp_hash_policy_set(&p, "yescrypt", "5x"), -1, "cost with trailing text");
    tap_is_int(tp_hash_policy_set(&p, "yescrypt", "12"), -1, "yescrypt cost out of range (1..11)");
    tap_is_int(tp_hash_policy_set(&p, "bcrypt", "3"), -1, "bcrypt cost out of range (4..31)");
    tap_is_int(tp_hash_policy_set(&p, "yescrypt", "99999999999999999999999"), -1, "cost overflows");
    tap_is_int(tp_hash_policy_set(&p, "yescrypt", ""), 0, "empty cost: the default");
    tap_is_int(tp_hash_policy_set(NULL, "yescrypt", NULL), -1, "NULL policy");

    /* make() honours the cost */
    make("sha512crypt", "6000", "pw", h);
    tap_ok(strncmp(h, "$6$rounds=6000$", 15) == 0, "sha512crypt cost 6000: %s", h);
    make("sha512crypt", NULL, "pw", h);
    tap_ok(strncmp(h, "$6$", 3) == 0 && strstr(h, "rounds=") == NULL, "sha512crypt default: no rounds= (5000)");
    make("bcrypt", "4", "pw", h);
    tap_ok(strncmp(h, "$2b$04$", 7) == 0, "bcrypt cost 4: %s", h);
    make("yescrypt", "3", "pw", h);
    tap_ok(strncmp(h, "$y$j7T$", 7) == 0, "yescrypt cost 3: %s", h);
    tap_is_int(tp_hash_verify("pw", h), 1, "... verifies");
    make("yescrypt", "1", "pw", h);
    tap_ok(strncmp(h, "$y$j75$", 7) == 0, "yescrypt cost 1: %s", h);

    /* make() refusals */
    tp_hash_policy_default(&p);
    tap_is_int(tp_hash_make("pw", &p, h, 10), -1, "make: output buffer too small");
    tap_is_str(h, "", "... and the buffer holds an empty string");
    tap_is_int(tp_hash_make(NULL, &p, h, sizeof h), -1, "make: NULL password");
    p.prefix = "$9$";
    tap_is_int(tp_hash_make("pw", &p, h, sizeof h), -1, "make: a method libxcrypt does not have");
    th_returns(run_dummy, &(struct dummy){ "pw", &p }, "dummy with an unusable policy returns");
    th_returns(run_dummy, &(struct dummy){ NULL, NULL }, "dummy with NULL password and policy returns");
}

static void test_upgrade(void)
{
    char h[CRYPT_OUTPUT_SIZE];

    make("sha512crypt", NULL, "pw", h);
    tap_is_int(upgrade(h, "sha512crypt", "6000"), 1, "sha512crypt 5000 rounds < policy 6000: upgrade");
    tap_is_int(upgrade(h, "sha512crypt", "5000"), 0, "sha512crypt 5000 = policy 5000: no upgrade");
    tap_is_int(upgrade(h, "sha512crypt", "1000"), 0, "sha512crypt 5000 > policy 1000: no upgrade");
    tap_is_int(upgrade(h, "sha512crypt", NULL), 0, "sha512crypt 5000 = policy default: no upgrade");
    make("sha512crypt", "20000", "pw", h);
    tap_is_int(upgrade(h, "sha512crypt", NULL), 0, "sha512crypt 20000 > default: no upgrade");

    make("bcrypt", "4", "pw", h);
    tap_is_int(upgrade(h, "bcrypt", "5"), 1, "bcrypt 04 < policy 5: upgrade");
    tap_is_int(upgrade(h, "bcrypt", "4"), 0, "bcrypt 04 = policy 4: no upgrade");
    tap_is_int(upgrade(h, "bcrypt-y", "4"), 0, "$2b$ under a $2y$ policy: the same method");
    make("bcrypt-y", "5", "pw", h);
    tap_is_int(upgrade(h, "bcrypt", "5"), 0, "$2y$05 under $2b$ cost 5: no upgrade");
    tap_is_int(upgrade(h, "bcrypt", "6"), 1, "$2y$05 under $2b$ cost 6: upgrade");
    tap_is_int(upgrade("$2b$74$Zi", "bcrypt", "5"), 0, "bcrypt cost 74 (past 31): cost unknown, no upgrade");

    make("yescrypt", "3", "pw", h);
    tap_is_int(upgrade(h, "yescrypt", NULL), 1, "yescrypt cost 3 < default 5: upgrade");
    tap_is_int(upgrade(h, "yescrypt", "3"), 0, "yescrypt cost 3 = policy 3: no upgrade");
    tap_is_int(upgrade(h, "yescrypt", "2"), 0, "yescrypt cost 3 > policy 2: no upgrade");
    make("yescrypt", "1", "pw", h);
    tap_is_int(upgrade(h, "yescrypt", "2"), 1, "yescrypt cost 1 (r=8, N=2^10) < 2 (r=8, N=2^11)");
    make("yescrypt", "2", "pw", h);
    tap_is_int(upgrade(h, "yescrypt", "3"), 1, "yescrypt cost 2 (r=8, N=2^11) < 3 (r=32, N=2^10)");
    make("yescrypt", NULL, "pw", h);
    tap_is_int(upgrade(h, "yescrypt", "6"), 1, "yescrypt default < 6: upgrade");
    tap_is_int(upgrade(h, "gost-yescrypt", NULL), 1, "yescrypt under a gost-yescrypt policy: upgrade");
    tap_is_int(upgrade(h, "sha512crypt", NULL), 1, "another method, even a weaker one: upgrade");

    if (enabled("$gy$")) {
        make("gost-yescrypt", "4", "pw", h);
        tap_is_int(upgrade(h, "gost-yescrypt", "5"), 1, "gost-yescrypt cost 4 < 5: upgrade");
        tap_is_int(upgrade(h, "gost-yescrypt", "4"), 0, "gost-yescrypt cost 4 = 4: no upgrade");
    }
    if (enabled("$7$")) {
        make("scrypt", "6", "pw", h);
        tap_is_int(upgrade(h, "scrypt", "7"), 1, "scrypt cost 6 < 7: upgrade");
        tap_is_int(upgrade(h, "scrypt", "6"), 0, "scrypt cost 6 = 6: no upgrade");
        /* a setting cut short inside its parameters (a heap copy of its exact
         * size, so that the sanitizer build sees a read past it) */
        char *cut = strdup("$7$cc$c");
        tap_ok(cut != NULL && upgrade(cut, "scrypt", "6") == 0,
               "scrypt hash cut short in its parameters: cost unknown, no upgrade");
        free(cut);
    }
    if (enabled("$1$")) {
        make("md5crypt", NULL, "pw", h);
        tap_is_int(crypt_checksalt(h), CRYPT_SALT_METHOD_LEGACY, "md5crypt is legacy here");
        tap_is_int(upgrade(h, "md5crypt", NULL), 0, "... but not upgraded under an md5crypt policy (no loop)");
        tap_is_int(upgrade(h, "yescrypt", NULL), 1, "... and upgraded under yescrypt");
    }
    if (enabled("")) {
        make("descrypt", NULL, "pw", h);
        tap_is_int(upgrade(h, "yescrypt", NULL), 1, "descrypt under yescrypt: upgrade");
    }
    if (enabled("_")) {
        make("bsdicrypt", NULL, "pw", h);
        tap_is_int(upgrade(h, "bsdicrypt", NULL), 0, "bsdicrypt under its own policy: no upgrade");
    }
    tap_is_int(upgrade("", "yescrypt", NULL), 0, "empty hash: nothing to upgrade");
    tap_is_int(upgrade("!", "yescrypt", NULL), 0, "locked hash: nothing to upgrade");
    tap_is_int(tp_hash_needs_upgrade(NULL, NULL), 0, "NULL: no upgrade");
}

static void test_usable(void)
{
    static const char sha512_vector[] =
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
    char h[CRYPT_OUTPUT_SIZE];

    tap_is_int(tp_hash_usable("*"), 0, "usable: '*' is not");
    tap_is_int(tp_hash_usable("!"), 0, "usable: '!' is not");
    tap_is_int(tp_hash_usable("*LK*"), 0, "usable: '*LK*' is not");
    tap_is_int(tp_hash_usable(""), 0, "usable: '' is not");
    tap_is_int(tp_hash_usable(NULL), 0, "usable: NULL is not");
    tap_is_int(tp_hash_usable("garbage"), 0, "usable: 'garbage' is not (though crypt_checksalt reads a DES salt)");
    tap_is_int(tp_hash_usable("$6$abc"), 0, "usable: a setting without a hash is not");
    tap_is_int(tp_hash_usable("$6$abc$"), 0, "usable: ... nor with an empty hash");
    tap_is_int(tp_hash_usable("$9$abc$def"), 0, "usable: an unknown method is not");
    tap_is_int(tp_hash_usable(sha512_vector), 1, "usable: a sha512crypt hash");
    tap_is_int(tp_hash_verify("Hello world!", sha512_vector), 1, "verify: the published SHA-crypt test vector");
    tap_is_int(tp_hash_verify("Hello world?", sha512_vector), 0, "verify: ... and not another password");
    make("sha512crypt", NULL, "pw", h);
    memmove(h + 1, h, strlen(h) + 1);
    h[0] = '!';
    tap_is_int(tp_hash_usable(h), 0, "usable: a locked hash ('!' before it) is not");
    tap_is_int(tp_hash_verify("pw", h), 0, "verify: a locked hash never matches");
    if (enabled("")) {
        make("descrypt", NULL, "pw", h);
        tap_is_int(tp_hash_usable(h), 1, "usable: a 13-character DES hash");
        tap_is_int(tp_hash_verify("pw", h), 1, "verify: DES");
    }
    tap_is_int(tp_hash_verify("", ""), 0, "verify: an empty stored hash never matches (nullok is the module's)");
    tap_is_int(tp_hash_verify(NULL, sha512_vector), 0, "verify: NULL password");
    tap_is_int(tp_hash_verify("x", NULL), 0, "verify: NULL hash");
    make("yescrypt", "1", "", h);
    tap_is_int(tp_hash_verify("", h), 1, "verify: the empty password against its own hash");
    make("sha512crypt", NULL, "pw", h);
    h[strlen(h) - 1] ^= 1;
    tap_is_int(tp_hash_verify("pw", h), 0, "verify: one changed character in the stored hash");
    h[strlen(h) - 1] = '\0';
    tap_is_int(tp_hash_verify("pw", h), 0, "verify: a truncated stored hash");
}

int main(void)
{
    test_methods();
    test_policy();
    test_upgrade();
    test_usable();
    return th_done();
}
