/*
 * conv.c - fuzzes how the core takes a conversation's replies (core/conv.c):
 * pam_get_user, pam_get_authtok (in authenticate and in both passes of
 * chauthtok, with and without authtok_type=, use_first_pass, use_authtok),
 * one-message prompts of every style and several-message conversations,
 * each answered from the input by fuzz_conv; and trex_pam_answer_copy, the
 * check the Perl binding makes of an answer's bytes.
 *
 * Input: a byte for the user, then the module's operations and the
 * conversation's answers, interleaved as they are used.
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "trex_pam_module.h"

static const char config[] =
    "auth optional fuzzconv\n"
    "auth optional fuzzconv use_first_pass\n"
    "account optional fuzzconv\n"
    "password optional fuzzconv\n"
    "password optional fuzzconv authtok_type=UNIX\n"
    "password optional fuzzconv use_authtok\n"
    "session optional fuzzconv\n";

static struct fuzz_in in;            /* the input the module and the conversation share */

static int op(trex_pam_handle_t *h)
{
    const char *s = NULL;
    char *resp = NULL;
    unsigned int b = fuzz_byte(&in);
    int rc;

    switch (b % 8) {
    case 0:
        return trex_pam_get_user(h, &s, (b & 8) ? "Name: " : NULL);
    case 1:
        return trex_pam_get_authtok(h, TREX_PAM_AUTHTOK, &s, (b & 8) ? "PIN: " : NULL);
    case 2:
        return trex_pam_get_authtok(h, TREX_PAM_OLDAUTHTOK, &s, NULL);
    case 3:                                   /* any style, even one that does not exist */
        rc = trex_pam_prompt(h, (int)(b >> 4) - 2, &resp, "say something");
        if (resp != NULL && strlen(resp) > 600)
            abort();                          /* longer than the conversation made it */
        trex_pam_drop_secret(&resp);
        return rc;
    case 4: {
        struct trex_pam_message m[4];
        const struct trex_pam_message *mp[4];
        struct trex_pam_response *r = NULL;
        int n = 1 + (int)(b >> 3) % 4;
        for (int i = 0; i < n; i++) {
            m[i].msg_style = 1 + (int)(fuzz_byte(&in) % 4);
            m[i].msg = "message";
            mp[i] = &m[i];
        }
        rc = trex_pam_converse(h, n, mp, &r);
        if (rc == TREX_PAM_SUCCESS && r != NULL)
            for (int i = 0; i < n; i++)       /* what a module reads of the replies */
                if (r[i].resp != NULL && strlen(r[i].resp) > 600)
                    abort();
        trex_pam_free_responses(r, n);
        return rc;
    }
    case 5:
        return trex_pam_set_item(h, (b & 8) ? TREX_PAM_USER : TREX_PAM_AUTHTOK, NULL);
    case 6:
        return (b & 8) ? trex_pam_info(h, "info") : trex_pam_error(h, "error");
    default: {
        char *bytes = fuzz_str(&in, 32), *copy = NULL;
        size_t len;
        if (bytes == NULL)
            abort();
        len = strlen(bytes) + (b & 8 ? 1 : 0);   /* with its NUL: refused */
        rc = trex_pam_answer_copy(bytes, len, &copy);
        if ((rc == TREX_PAM_SUCCESS) != (len == strlen(bytes))
            || (rc == TREX_PAM_SUCCESS && strcmp(copy, bytes) != 0)
            || (rc != TREX_PAM_SUCCESS && copy != NULL))
            abort();
        free(copy);
        free(bytes);
        return rc;
    }
    }
}

static int run(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *instance)
{
    int rc = TREX_PAM_SUCCESS;
    for (int i = 0; i < 6 && in.n > 0; i++)
        rc = op(h);
    return rc;
}

static const struct trex_pam_module fuzzconv = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "fuzzconv",
    .authenticate = run,
    .setcred = run,
    .acct_mgmt = run,
    .open_session = run,
    .close_session = run,
    .chauthtok = run,
};

static const struct trex_pam_module *lookup(const char *name)
{
    return strcmp(name, "fuzzconv") == 0 ? &fuzzconv : NULL;
}

static const struct trex_pam_registry registry = { lookup, NULL, NULL };

static void no_delay(int status, unsigned int usec, void *appdata)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int written;
    struct trex_pam_conv conv = { fuzz_conv, &in };
    struct trex_pam_options opt;
    trex_pam_handle_t *h = NULL;
    int rc;

    if (!written) {
        fuzz_write("fuzz", config, strlen(config));
        written = 1;
    }
    in.p = data;
    in.n = size;
    fuzz_options(&opt, &registry);
    if (trex_pam_start_opts("fuzz", (fuzz_byte(&in) & 1) ? "alice" : NULL, &conv, &opt, &h)
            != TREX_PAM_SUCCESS
        || trex_pam_set_item(h, TREX_PAM_FAIL_DELAY, (const void *)no_delay) != TREX_PAM_SUCCESS)
        abort();
    rc = trex_pam_authenticate(h, 0);
    if (rc == TREX_PAM_INCOMPLETE)
        rc = trex_pam_authenticate(h, 0);   /* resumed after CONV_AGAIN */
    rc = trex_pam_setcred(h, TREX_PAM_ESTABLISH_CRED);
    rc = trex_pam_acct_mgmt(h, 0);
    rc = trex_pam_chauthtok(h, 0);
    if (rc == TREX_PAM_INCOMPLETE)
        rc = trex_pam_chauthtok(h, 0);
    rc = trex_pam_open_session(h, 0);
    rc = trex_pam_close_session(h, 0);
    if (trex_pam_end(h, rc) != TREX_PAM_SUCCESS)
        abort();
    return 0;
}
