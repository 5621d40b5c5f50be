/*
 * debug.c - Linux-PAM's pam_debug: each call returns the status named by its
 * argument (auth= cred= acct= prechauthtok= chauthtok= open_session=
 * close_session=, lower-case pam.d status tokens) and tells the conversation
 * which argument matched with one PAM_TEXT_INFO. The first argument for the
 * event decides; an unknown status name sends nothing and gives success.
 */
#include <string.h>
#include "registry.h"

static int parse_args(trex_pam_handle_t *h, const char *event, int argc, const char **argv)
{
    size_t n = strlen(event);
    for (int i = 0; i < argc; i++) {
        if (strncmp(event, argv[i], n) != 0 || argv[i][n] != '=')
            continue;
        for (int code = 0; code < TREX_PAM_RETURN_VALUES; code++)
            if (strcmp(argv[i] + n + 1, trex_pam_status_token(code)) == 0) {
                (void)trex_pam_info(h, argv[i]);
                return code;
            }
        break;                            /* the first argument for the event decides */
    }
    return TREX_PAM_SUCCESS;
}

static int debug_auth(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return parse_args(h, "auth", argc, argv);
}
static int debug_cred(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return parse_args(h, "cred", argc, argv);
}
static int debug_acct(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return parse_args(h, "acct", argc, argv);
}
static int debug_open(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return parse_args(h, "open_session", argc, argv);
}
static int debug_close(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return parse_args(h, "close_session", argc, argv);
}
static int debug_chauthtok(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *i)
{
    return parse_args(h, (flags & TREX_PAM_PRELIM_CHECK) ? "prechauthtok" : "chauthtok", argc, argv);
}

const struct trex_pam_module tp_mod_debug = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "debug",
    .authenticate = debug_auth,
    .setcred = debug_cred,
    .acct_mgmt = debug_acct,
    .open_session = debug_open,
    .close_session = debug_close,
    .chauthtok = debug_chauthtok,
};
