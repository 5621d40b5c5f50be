/*
 * import.c - lines of the password files sites already have (shadow(5),
 * Apache's htpasswd, Dovecot's passwd-file) into entries for user_add
 * (trex_pam_admin.h). TRex::PAM::Import and `trex-pam import` read files
 * through it; it was Perl first, and reads every line as that did (Perl's
 * split on ':', its \s, its /^[0-9]{1,9}$/ that lets a final "\n" by), so
 * that the reasons an import gives stayed the same. A line is bytes with a
 * length: it comes from a file, NULs and all. No reason ever holds a hash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin.h"
#include "secret.h"

#define MAX_FIELDS 10              /* shadow's 9, and one to tell "too many" */

struct field {
    const char *p;
    size_t n;
};

/* Perl's split /:/, $line, limit (limit 0: every field): how many fields
 * the line has, the first max of them in f (the last one taking the rest
 * when limit is reached). An empty line has none. */
static size_t split(const char *p, size_t n, size_t limit, struct field *f, size_t max)
{
    size_t count = 0, start = 0;

    if (n == 0)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && (p[i] != ':' || (limit != 0 && count + 1 == limit)))
            continue;
        if (count < max)
            f[count] = (struct field){ p + start, i - start };
        count++;
        start = i + 1;
    }
    return count;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int starts(const char *p, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(p, prefix, k) == 0;
}

/* "{SCHEME}" at the start of p: the scheme's length (to the first '}'), or -1. */
static long scheme_len(const char *p, size_t n)
{
    const char *close;

    if (n == 0 || p[0] != '{' || (close = memchr(p + 1, '}', n - 1)) == NULL)
        return -1;
    return (long)(close - p - 1);
}

/* "scheme {NAME} is not ...", the name's control bytes as \xHH: a reason is
 * printed on a terminal. */
static void scheme_reason(const char *name, size_t n, char *why, size_t whylen)
{
    char shown[96];
    size_t k = 0;

    for (size_t i = 0; i < n && k + 5 < sizeof shown; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f)
            k += (size_t)snprintf(shown + k, sizeof shown - k, "\\x%02X", c);
        else
            shown[k++] = (char)c;
    }
    shown[k] = '\0';
    snprintf(why, whylen, "scheme {%s%s} is not a crypt(3) hash libxcrypt can verify", shown,
             k + 5 >= sizeof shown ? "..." : "");
}

/* Whether libxcrypt verifies the len bytes at hash (a NUL inside: no). They
 * need not end in a NUL: libxcrypt reads a copy that does, wiped after. */
static int usable(const char *hash, size_t len)
{
    char *h;
    int ok;

    if (memchr(hash, '\0', len) != NULL || len == SIZE_MAX || (h = malloc(len + 1)) == NULL)
        return 0;
    memcpy(h, hash, len);
    h[len] = '\0';
    ok = trex_pam_db_hash_usable(h);
    tp_secret_wipe(h, len);
    free(h);
    return ok;
}

int trex_pam_import_hash_problem(const char *hash, size_t len, char *why, size_t whylen)
{
    const char *text;
    long sl;

    if (why == NULL || whylen == 0)
        return -1;
    why[0] = '\0';
    if (hash == NULL || len == 0)
        text = "no password (empty field)";
    else if (usable(hash, len))
        return 0;
    else if (hash[0] == '!')
        text = "locked password (\"!\"): not imported";
    else if (hash[0] == '*')
        text = "no valid password (\"*\"): not imported";
    else if (starts(hash, len, "$apr1$"))
        text = "Apache MD5 ($apr1$) is a hash libxcrypt cannot verify";
    else if ((sl = scheme_len(hash, len)) >= 0) {
        scheme_reason(hash + 1, (size_t)sl, why, whylen);
        return -1;
    } else
        text = "not a hash libxcrypt can verify (plain text, or a method this build lacks)";
    snprintf(why, whylen, "%s", text);
    return -1;
}

/* A shadow count of days: 0 absent (empty), 1 with *v, -1 not a number
 * (Perl's /^[0-9]{1,9}$/, whose $ also matches before a final "\n"). */
static int days(struct field f, long *v)
{
    size_t n = f.n;

    if (n == 0)
        return 0;
    if (f.p[n - 1] == '\n')
        n--;
    if (n == 0 || n > 9)
        return -1;
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (f.p[i] < '0' || f.p[i] > '9')
            return -1;
        *v = *v * 10 + (f.p[i] - '0');
    }
    return 1;
}

/* shadow(5): name:hash:lastchg:min:max:warn:inactive:expire:reserved, days
 * since 1970-01-01. lastchg 0 forces a change at the next login; an empty
 * max is no limit; expire 0 is already expired (as pam_unix reads it). The
 * inactive period has no counterpart here and is not kept. */
static int shadow(const char *line, size_t len, struct field *name, struct field *hash,
                  struct trex_pam_import_entry *e, char *why, size_t whylen)
{
    static const char *const what[] = { "the last change (field 3)", "the minimum age (field 4)",
        "the maximum age (field 5)", "the warning period (field 6)", NULL,
        "the expiry date (field 8)" };
    struct field f[MAX_FIELDS];
    long v[6] = { 0 };
    int got[6] = { 0 };
    size_t n = split(line, len, 0, f, MAX_FIELDS);

    if (n < 2 || n > 9) {
        snprintf(why, whylen, "%s",
                 "not a shadow line (want name:hash:lastchg:min:max:warn:inactive:expire)");
        return -1;
    }
    for (size_t i = n; i < 9; i++)
        f[i] = (struct field){ "", 0 };
    *name = f[0];
    *hash = f[1];
    for (int i = 0; i < 6; i++) {
        if (what[i] == NULL)
            continue;                     /* inactive */
        if ((got[i] = days(f[2 + i], &v[i])) < 0) {
            snprintf(why, whylen, "%s is not a number of days", what[i]);
            return -1;
        }
    }
    if (got[0] && v[0] == 0) {
        e->force_change = 1;
        e->has |= TREX_PAM_IMPORT_HAS_FORCE;
    } else if (got[0]) {
        e->changed = (int64_t)v[0] * 86400;
        e->has |= TREX_PAM_IMPORT_HAS_CHANGED;
    }
    e->min_days = got[1] ? (int)v[1] : 0;
    e->max_days = got[2] ? (int)v[2] : -1;
    e->warn_days = got[3] ? (int)v[3] : 0;
    e->has |= TREX_PAM_IMPORT_HAS_AGES;
    if (got[5]) {
        e->expires = v[5] ? (int64_t)v[5] * 86400 : 1;   /* 0: expired long ago */
        e->has |= TREX_PAM_IMPORT_HAS_EXPIRES;
    }
    return 0;
}

/* Dovecot's crypt(3) schemes: their value is the hash. */
static int crypt_scheme(const char *s, size_t n)
{
    static const char *const names[] = { "CRYPT", "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT",
                                         "MD5-CRYPT", "DES-CRYPT" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t k = strlen(names[i]), j;
        if (k != n)
            continue;
        for (j = 0; j < n; j++) {
            char c = s[j] >= 'a' && s[j] <= 'z' ? (char)(s[j] - 'a' + 'A') : s[j];
            if (c != names[i][j])
                break;
        }
        if (j == n)
            return 1;
    }
    return 0;
}

static char *dup_bytes(struct field f)
{
    char *s = malloc(f.n + 1);

    if (s != NULL) {
        memcpy(s, f.p, f.n);
        s[f.n] = '\0';
    }
    return s;
}

int trex_pam_import_line(int format, const char *line, size_t len,
                         struct trex_pam_import_entry *e, char *why, size_t whylen)
{
    struct field f[3], name, hash;
    const char *bad = NULL;
    size_t i;

    if (e != NULL)
        memset(e, 0, sizeof *e);
    if (why == NULL || whylen == 0)
        return -2;
    why[0] = '\0';
    if (e == NULL || (line == NULL && len > 0) || format < TREX_PAM_IMPORT_SHADOW
        || format > TREX_PAM_IMPORT_DOVECOT) {
        snprintf(why, whylen, "%s", "bad argument");
        return -2;
    }
    if (len > 0 && line[len - 1] == '\n')
        len -= len > 1 && line[len - 2] == '\r' ? 2 : 1;
    for (i = 0; i < len && is_space((unsigned char)line[i]); i++)
        ;
    if (i == len || line[i] == '#')
        return 0;

    if (format == TREX_PAM_IMPORT_SHADOW) {
        if (shadow(line, len, &name, &hash, e, why, whylen) != 0) {
            memset(e, 0, sizeof *e);
            return -1;
        }
    } else if (split(line, len, 3, f, 3) < 2) {
        bad = format == TREX_PAM_IMPORT_HTPASSWD
            ? "not an htpasswd line (want name:hash)"
            : "not a passwd-file line (want name:password[:uid:gid:gecos:home:shell:extra])";
    } else {
        long sl;
        name = f[0];
        hash = f[1];
        /* Dovecot: "{SCHEME}value" or a bare crypt(3) string (CRYPT) */
        if (format == TREX_PAM_IMPORT_DOVECOT && (sl = scheme_len(hash.p, hash.n)) >= 0) {
            if (!crypt_scheme(hash.p + 1, (size_t)sl)) {
                scheme_reason(hash.p + 1, (size_t)sl, why, whylen);
                return -1;
            }
            hash.p += sl + 2;
            hash.n -= (size_t)sl + 2;
        }
    }
    if (bad != NULL) {
        memset(e, 0, sizeof *e);
        snprintf(why, whylen, "%s", bad);
        return -1;
    }
    if (name.n == 0) {
        memset(e, 0, sizeof *e);
        snprintf(why, whylen, "%s", "empty user name");
        return -1;
    }
    {
        /* the hash as a C string for libxcrypt: wiped below */
        char *h = dup_bytes(hash);
        int problem;
        if (h == NULL) {
            snprintf(why, whylen, "%s", "out of memory");
            return -2;
        }
        problem = trex_pam_import_hash_problem(h, hash.n, why, whylen);
        if (problem != 0) {
            tp_secret_wipe(h, hash.n);    /* all of it: a NUL may be inside */
            free(h);
            memset(e, 0, sizeof *e);
            return -1;
        }
        e->hash = h;
    }
    e->hash_len = hash.n;
    e->name_len = name.n;
    if ((e->name = dup_bytes(name)) == NULL) {
        trex_pam_import_clear(e);
        snprintf(why, whylen, "%s", "out of memory");
        return -2;
    }
    return 1;
}

void trex_pam_import_clear(struct trex_pam_import_entry *e)
{
    if (e == NULL)
        return;
    if (e->hash != NULL)
        tp_secret_wipe(e->hash, e->hash_len);
    free(e->hash);
    free(e->name);
    memset(e, 0, sizeof *e);
}

int trex_pam_import_guess(const char *line, size_t len)
{
    struct field f[MAX_FIELDS];
    size_t n = line != NULL ? split(line, len, 0, f, MAX_FIELDS) : 0;

    if (n >= 2 && f[1].n > 0 && f[1].p[0] == '{')
        return TREX_PAM_IMPORT_DOVECOT;
    if (n == 2)
        return TREX_PAM_IMPORT_HTPASSWD;
    if (n == 8 || n == 9) {
        for (size_t i = 2; i <= 7 && i < n; i++)
            for (size_t k = 0; k < f[i].n; k++)
                if (f[i].p[k] < '0' || f[i].p[k] > '9')
                    return TREX_PAM_IMPORT_DOVECOT;
        return TREX_PAM_IMPORT_SHADOW;
    }
    return TREX_PAM_IMPORT_DOVECOT;
}
