/* deny.c - Linux-PAM's pam_deny: every call fails with its service's code. */
#include "registry.h"

static int deny_auth(trex_pam_handle_t *h, int f, int c, const char **v, void *i)
{
    return TREX_PAM_AUTH_ERR;
}
static int deny_cred(trex_pam_handle_t *h, int f, int c, const char **v, void *i)
{
    return TREX_PAM_CRED_ERR;
}
static int deny_authtok(trex_pam_handle_t *h, int f, int c, const char **v, void *i)
{
    return TREX_PAM_AUTHTOK_ERR;
}
static int deny_session(trex_pam_handle_t *h, int f, int c, const char **v, void *i)
{
    return TREX_PAM_SESSION_ERR;
}

const struct trex_pam_module tp_mod_deny = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "deny",
    .authenticate = deny_auth,
    .setcred = deny_cred,
    .acct_mgmt = deny_auth,
    .open_session = deny_session,
    .close_session = deny_session,
    .chauthtok = deny_authtok,
};
