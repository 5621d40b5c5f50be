/*
 * pamd.c - fuzzes the pam.d reader (core/syntax.c, parse.c, files.c, the
 * stack attached by stack.c) and the six service functions run over what
 * it read (core/dispatch.c), with the built-in modules that need no store:
 * permit, deny and debug (under their Linux-PAM names too).
 *
 * Input: the service file NUL the "other" file NUL the conversation's
 * answers (fuzz_conv), then one byte of flags per call. Both files go to
 * the private directory, where includes and substacks find them by name.
 * A file with a '/' in it is skipped: a path would reach files outside the
 * directory (a device that never ends, a shared object to load).
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "registry.h"

static const struct trex_pam_module *lookup(const char *name)
{
    const struct trex_pam_module *m = trex_pam_builtin_registry()->lookup(name);
    return m == &tp_mod_permit || m == &tp_mod_deny || m == &tp_mod_debug ? m : NULL;
}

static const struct trex_pam_registry registry = { lookup, NULL, NULL };

static void no_delay(int status, unsigned int usec, void *appdata)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = { data, size };
    char *service = fuzz_rest(&in), *other = fuzz_rest(&in);
    struct trex_pam_conv conv = { fuzz_conv, &in };
    struct trex_pam_options opt;
    trex_pam_handle_t *h = NULL;
    int rc;

    if (service == NULL || other == NULL)
        abort();
    if (strchr(service, '/') != NULL || strchr(other, '/') != NULL)
        goto out;
    fuzz_write("fuzz", service, strlen(service));
    fuzz_write("other", other, strlen(other));
    fuzz_options(&opt, &registry);
    rc = trex_pam_start_opts("fuzz", (fuzz_byte(&in) & 1) ? "alice" : NULL, &conv, &opt, &h);
    if (rc != TREX_PAM_SUCCESS) {
        if (h != NULL)
            abort();                      /* a failed start leaves no handle */
        goto out;
    }
    if (trex_pam_set_item(h, TREX_PAM_FAIL_DELAY, (const void *)no_delay) != TREX_PAM_SUCCESS)
        abort();                          /* a failure is not slept */
    /* each call with the flags an application may pass it, some a bad one */
    rc = trex_pam_authenticate(h, (fuzz_byte(&in) & 1) ? TREX_PAM_SILENT : 0);
    if (rc == TREX_PAM_INCOMPLETE)
        rc = trex_pam_authenticate(h, 0);                 /* resumed after CONV_AGAIN */
    rc = trex_pam_setcred(h, (fuzz_byte(&in) & 1) ? TREX_PAM_ESTABLISH_CRED : 0x7fff);
    rc = trex_pam_acct_mgmt(h, 0);
    rc = trex_pam_chauthtok(h, (fuzz_byte(&in) & 1) ? TREX_PAM_CHANGE_EXPIRED_AUTHTOK : 0);
    rc = trex_pam_open_session(h, 0);
    rc = trex_pam_close_session(h, (fuzz_byte(&in) & 1) ? TREX_PAM_SILENT : 0);
    if (trex_pam_end(h, rc) != TREX_PAM_SUCCESS)
        abort();
out:
    free(service);
    free(other);
    return 0;
}
