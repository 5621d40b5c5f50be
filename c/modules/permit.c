/*
 * permit.c - Linux-PAM's pam_permit: every call succeeds; authenticate asks
 * for the user first and names an empty one "nobody".
 */
#include "registry.h"

static int permit_auth(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    const char *user = NULL;
    int rc = trex_pam_get_user(h, &user, NULL);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    if (*user == '\0' && trex_pam_set_item(h, TREX_PAM_USER, "nobody") != TREX_PAM_SUCCESS)
        return TREX_PAM_USER_UNKNOWN;
    return TREX_PAM_SUCCESS;
}

static int permit_ok(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    return TREX_PAM_SUCCESS;
}

const struct trex_pam_module tp_mod_permit = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "permit",
    .authenticate = permit_auth,
    .setcred = permit_ok,
    .acct_mgmt = permit_ok,
    .open_session = permit_ok,
    .close_session = permit_ok,
    .chauthtok = permit_ok,
};
