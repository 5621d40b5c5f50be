/*
 * t_import.c - the import parsers (admin/import.c) on what only C callers
 * hand them: lines that are not NUL-terminated (heap copies of their exact
 * size, so that the sanitizer build sees a read past them), NULs inside,
 * bad arguments. TRex::PAM::Import's own behaviour is t/83 and t/85.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "trex_pam_admin.h"

static const char SHA[] = "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq"
                          ".qc.eoxqOmSuNp2xS0ktL3nh/";

/* line's bytes without their NUL, in a buffer of exactly that size */
static char *exact(const char *line, size_t n)
{
    char *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    memcpy(p, line, n);
    return p;
}

static int parse(int format, const char *line, size_t n, struct trex_pam_import_entry *e,
                 char *why, size_t whylen)
{
    char *p = exact(line, n);
    int rc = trex_pam_import_line(format, p, n, e, why, whylen);
    free(p);
    return rc;
}

int main(void)
{
    struct trex_pam_import_entry e;
    char why[256], line[256], *p;
    int rc;

    snprintf(line, sizeof line, "alice:%s", SHA);
    rc = parse(TREX_PAM_IMPORT_HTPASSWD, line, strlen(line), &e, why, sizeof why);
    tap_is_int(rc, 1, "htpasswd line without a NUL after it: an entry");
    tap_ok(rc == 1 && strcmp(e.name, "alice") == 0 && strcmp(e.hash, SHA) == 0
           && e.hash_len == strlen(SHA) && e.has == 0, "... name and hash, nothing else");
    trex_pam_import_clear(&e);
    tap_ok(e.name == NULL && e.hash == NULL, "clear empties the entry");

    p = exact(SHA, strlen(SHA));
    tap_is_int(trex_pam_import_hash_problem(p, strlen(SHA), why, sizeof why), 0,
               "hash_problem on a hash without a NUL after it: usable");
    tap_is_int(trex_pam_import_hash_problem(p, 3, why, sizeof why), -1, "... its first 3 bytes: not");
    free(p);
    p = exact("N", 1);
    tap_is_int(trex_pam_import_hash_problem(p, 1, why, sizeof why), -1, "one byte: not usable");
    free(p);
    tap_is_str(why, "not a hash libxcrypt can verify (plain text, or a method this build lacks)",
               "... the reason");

    snprintf(line, sizeof line, "alice:%s", SHA);
    memcpy(line + strlen(line), "\0x", 3);
    rc = parse(TREX_PAM_IMPORT_HTPASSWD, line, strlen(SHA) + 8, &e, why, sizeof why);
    tap_is_int(rc, -1, "a NUL inside the hash: refused");

    snprintf(line, sizeof line, "bob:%s:0::::::", SHA);
    rc = parse(TREX_PAM_IMPORT_SHADOW, line, strlen(line), &e, why, sizeof why);
    tap_ok(rc == 1 && e.force_change == 1 && e.max_days == -1
           && e.has == (TREX_PAM_IMPORT_HAS_FORCE | TREX_PAM_IMPORT_HAS_AGES),
           "shadow: last change 0 forces a change, no maximum age");
    trex_pam_import_clear(&e);
    rc = parse(TREX_PAM_IMPORT_SHADOW, "a:b:1234567890", 14, &e, why, sizeof why);
    tap_is_str(why, "the last change (field 3) is not a number of days", "shadow: ten digits are too many");

    rc = parse(TREX_PAM_IMPORT_DOVECOT, "a:{\x01}x", 7, &e, why, sizeof why);
    tap_is_str(why, "scheme {\\x01} is not a crypt(3) hash libxcrypt can verify",
               "dovecot: a control byte of a scheme is escaped");
    tap_is_int(parse(TREX_PAM_IMPORT_DOVECOT, " \t\r\n", 4, &e, why, sizeof why), 0,
               "a blank line: nothing");
    tap_is_int(trex_pam_import_line(7, "a:b", 3, &e, why, sizeof why), -2, "an unknown format: -2");
    tap_is_int(trex_pam_import_line(0, "a:b", 3, &e, NULL, 0), -2, "no room for a reason: -2");
    tap_is_int(trex_pam_import_guess("a:b", 3), TREX_PAM_IMPORT_HTPASSWD, "guess: htpasswd");
    tap_is_int(trex_pam_import_guess(NULL, 0), TREX_PAM_IMPORT_DOVECOT, "guess: nothing");
    return th_done();
}
