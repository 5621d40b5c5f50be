/*
 * ext_module.c - an external module for the tests: a shared object that does
 * not link against the core and reaches it only through the API table.
 *   auth:    asks for the user; SUCCESS if it equals the "user=NAME" argument
 *            (or there is none), else AUTH_ERR
 *   setcred: putenv("EXT_MODULE=loaded") and the named item TREX_EXT=yes
 *   others:  the status named by "ret=TOKEN" (default SUCCESS); unset hooks
 *            (close_session) are missing on purpose
 */
#include <string.h>
#include "trex_pam_module.h"

static const struct trex_pam_api *api;

static const char *arg(int argc, const char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    return NULL;
}

static int ext_auth(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    const char *user = NULL, *want = arg(argc, argv, "user");
    int rc = api->get_user(h, &user, NULL);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    return want == NULL || strcmp(user, want) == 0 ? TREX_PAM_SUCCESS : TREX_PAM_AUTH_ERR;
}

static int ext_cred(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    int rc = api->putenv(h, "EXT_MODULE=loaded");
    if (rc == TREX_PAM_SUCCESS)
        rc = api->set_named_item(h, "TREX_EXT", "yes");
    return rc == TREX_PAM_SUCCESS ? TREX_PAM_SUCCESS : TREX_PAM_CRED_ERR;
}

static int ext_ret(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    const char *want = arg(argc, argv, "ret");
    if (want == NULL)
        return TREX_PAM_SUCCESS;
    for (int c = 0; c < TREX_PAM_RETURN_VALUES; c++)
        if (strcmp(api->status_token(c), want) == 0)
            return c;
    return TREX_PAM_SERVICE_ERR;
}

static const struct trex_pam_module ext = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "ext_module",
    .authenticate = ext_auth,
    .setcred = ext_cred,
    .acct_mgmt = ext_ret,
    .open_session = ext_ret,
    .close_session = NULL,
    .chauthtok = ext_ret,
};

__attribute__((visibility("default")))
const struct trex_pam_module *trex_pam_module_entry(const struct trex_pam_api *a);

const struct trex_pam_module *trex_pam_module_entry(const struct trex_pam_api *a)
{
    if (a == NULL || a->version != TREX_PAM_API_VERSION ||
        a->size < offsetof(struct trex_pam_api, status_token) + sizeof a->status_token)
        return NULL;
    api = a;
    return &ext;
}
