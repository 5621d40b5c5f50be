/*
 * import.c - fuzzes the import parsers (admin/import.c): a line of each
 * format, the guess of a format, the reason a hash is refused. Checks what
 * callers rely on: an entry has a name and a usable hash, a reason is
 * never empty.
 *
 * Input: the line, whole (any bytes).
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "trex_pam_admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    char why[256];
    int g = trex_pam_import_guess(line, size);

    if (g < TREX_PAM_IMPORT_SHADOW || g > TREX_PAM_IMPORT_DOVECOT)
        abort();
    for (int format = TREX_PAM_IMPORT_SHADOW; format <= TREX_PAM_IMPORT_DOVECOT; format++) {
        struct trex_pam_import_entry e;
        int rc = trex_pam_import_line(format, line, size, &e, why, sizeof why);

        if (rc == 1) {
            if (e.name == NULL || e.name_len == 0 || e.hash == NULL || e.hash_len == 0
                || strlen(e.hash) != e.hash_len || !trex_pam_db_hash_usable(e.hash))
                abort();                  /* (the name is user_add's to check) */
            if (trex_pam_import_hash_problem(e.hash, e.hash_len, why, sizeof why) != 0)
                abort();
            trex_pam_import_clear(&e);
        } else if (rc == -1) {
            if (why[0] == '\0' || strlen(why) >= sizeof why)
                abort();
        } else if (rc != 0) {
            abort();                      /* -2 only for out of memory or a bad argument */
        }
    }
    if (trex_pam_import_hash_problem(line, size, why, sizeof why) != 0 && why[0] == '\0')
        abort();
    return 0;
}
