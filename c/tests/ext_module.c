/*
 * ext_module.c - an external module for the tests: a shared object that does
 * not link against the core and reaches it only through the API table.
 *   auth:    asks for the user; SUCCESS if it equals the "user=NAME" argument
 *            (or there is none), else AUTH_ERR; with "data=TEXT" it first
 *            sets module data whose cleanup (this object's code) logs
 *            "ext_module: cleanup of TEXT"
 *   setcred: putenv("EXT_MODULE=loaded"), the named item TREX_EXT=yes and
 *            EXT_INSTANCE=N, the number of its instance (1, 2, ... in the
 *            order instance_new made them; "none" without one)
 *   others:  the status named by "ret=TOKEN" (default SUCCESS); unset hooks
 *            (close_session) are missing on purpose
 *   check:   (trex_pam_check) the status named by "check=TOKEN" (default
 *            SUCCESS), saying "ext_module: told to answer TOKEN"
 * The table has TREX_PAM_MODULE_ABI (3) and an instance. With
 * TREX_EXT_ABI=1 in the environment when the module is loaded, the entry
 * returns what a module built against the first version of the header
 * returns: a table that ends after release (an AddressSanitizer build sees
 * a read past it); with TREX_EXT_ABI=2, one that ends after instance_new;
 * with TREX_EXT_ABI=4, a table of a future ABI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "trex_pam_module.h"

static const struct trex_pam_api *api;
static unsigned long instances_made;

struct ext_instance {
    unsigned long number;
};

static const char *arg(int argc, const char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    return NULL;
}

/* Module data's cleanup: code of this shared object, run by trex_pam_end. */
static void ext_cleanup(trex_pam_handle_t *h, void *data, int status)
{
    api->log(h, 6 /* LOG_INFO */, "ext_module: cleanup of %s", (const char *)data);
}

static int ext_auth(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    const char *user = NULL, *want = arg(argc, argv, "user"), *data = arg(argc, argv, "data");
    int rc = api->get_user(h, &user, NULL);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    if (data != NULL && (rc = api->set_data(h, "ext", (void *)data, ext_cleanup)) != TREX_PAM_SUCCESS)
        return rc;
    return want == NULL || strcmp(user, want) == 0 ? TREX_PAM_SUCCESS : TREX_PAM_AUTH_ERR;
}

static int ext_cred(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    char env[64];
    int rc = api->putenv(h, "EXT_MODULE=loaded");
    if (rc == TREX_PAM_SUCCESS)
        rc = api->set_named_item(h, "TREX_EXT", "yes");
    if (inst != NULL)
        snprintf(env, sizeof env, "EXT_INSTANCE=%lu", ((const struct ext_instance *)inst)->number);
    else
        snprintf(env, sizeof env, "EXT_INSTANCE=none");
    if (rc == TREX_PAM_SUCCESS)
        rc = api->putenv(h, env);
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

static int ext_check(trex_pam_handle_t *h, int argc, const char **argv, void *inst, char *why,
                     size_t whylen)
{
    const char *want = arg(argc, argv, "check");
    (void)h;
    (void)inst;
    if (want == NULL)
        return TREX_PAM_SUCCESS;
    snprintf(why, whylen, "ext_module: told to answer %s", want);
    for (int c = 0; c < TREX_PAM_RETURN_VALUES; c++)
        if (strcmp(api->status_token(c), want) == 0)
            return c;
    return TREX_PAM_SERVICE_ERR;
}

static void *ext_instance_new(void)
{
    struct ext_instance *i = malloc(sizeof *i);
    if (i != NULL)
        i->number = ++instances_made;
    return i;
}

static void ext_release(void *inst)
{
    free(inst);
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
    .release = ext_release,
    .instance_new = ext_instance_new,
    .check = ext_check,
};

/* The module table as the first version of trex_pam_module.h declared it. */
struct module_abi1 {
    unsigned int abi;
    const char *name;
    trex_pam_sm_fn authenticate, setcred, acct_mgmt, open_session, close_session, chauthtok;
    void (*release)(void *instance);
};

static const struct module_abi1 ext_abi1 = {
    1, "ext_module", ext_auth, ext_cred, ext_ret, ext_ret, NULL, ext_ret, ext_release
};

/* ... and as the second: it ends after instance_new. */
struct module_abi2 {
    struct module_abi1 v1;
    void *(*instance_new)(void);
};

static const struct module_abi2 ext_abi2 = {
    { 2, "ext_module", ext_auth, ext_cred, ext_ret, ext_ret, NULL, ext_ret, ext_release },
    ext_instance_new
};

static const struct trex_pam_module ext_abi4 = {
    .abi = 4,
    .name = "ext_module",
    .authenticate = ext_auth,
    .setcred = ext_cred,
    .acct_mgmt = ext_ret,
    .open_session = ext_ret,
    .chauthtok = ext_ret,
};

__attribute__((visibility("default")))
const struct trex_pam_module *trex_pam_module_entry(const struct trex_pam_api *a);

const struct trex_pam_module *trex_pam_module_entry(const struct trex_pam_api *a)
{
    const char *abi = getenv("TREX_EXT_ABI");

    if (a == NULL || a->version != TREX_PAM_API_VERSION ||
        a->size < offsetof(struct trex_pam_api, status_token) + sizeof a->status_token)
        return NULL;
    api = a;
    if (abi != NULL && strcmp(abi, "1") == 0)
        return (const struct trex_pam_module *)(const void *)&ext_abi1;
    if (abi != NULL && strcmp(abi, "2") == 0)
        return (const struct trex_pam_module *)(const void *)&ext_abi2;
    if (abi != NULL && strcmp(abi, "4") == 0)
        return &ext_abi4;
    return &ext;
}
