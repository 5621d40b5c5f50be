/*
 * registry.c - names of the built-in modules, and the versioned function
 * table for external modules (trex_pam_module.h).
 */
#include <string.h>
#include "registry.h"

static const struct trex_pam_module *const builtins[] = {
    &tp_mod_permit, &tp_mod_deny, &tp_mod_debug,
};

const struct trex_pam_module *tp_module_builtin(const char *name)
{
    size_t n;
    if (name == NULL)
        return NULL;
    /* Linux-PAM prefixes its module directory to a relative name, so
     * "./pam_debug.so" names the same module as "pam_debug.so" */
    while (strncmp(name, "./", 2) == 0)
        name += 2;
    /* Linux-PAM's spelling: "pam_NAME.so" names the built-in NAME */
    n = strlen(name);
    if (n > 7 && strncmp(name, "pam_", 4) == 0 && strcmp(name + n - 3, ".so") == 0) {
        name += 4;
        n -= 7;
    }
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strlen(builtins[i]->name) == n && strncmp(builtins[i]->name, name, n) == 0)
            return builtins[i];
    return NULL;
}

static const struct trex_pam_api api = {
    .version = TREX_PAM_API_VERSION,
    .size = sizeof(struct trex_pam_api),
    .get_user = trex_pam_get_user,
    .get_authtok = trex_pam_get_authtok,
    .get_item = trex_pam_get_item,
    .set_item = trex_pam_set_item,
    .get_named_item = trex_pam_get_named_item,
    .set_named_item = trex_pam_set_named_item,
    .set_data = trex_pam_set_data,
    .get_data = trex_pam_get_data,
    .prompt = trex_pam_prompt,
    .putenv = trex_pam_putenv,
    .getenv = trex_pam_getenv,
    .fail_delay = trex_pam_fail_delay,
    .strerror = trex_pam_strerror,
    .log = trex_pam_log,
    .wipe = trex_pam_wipe,
    .secret_equal = trex_pam_secret_equal,
    .status_token = trex_pam_status_token,
};

const struct trex_pam_api *tp_module_api(void)
{
    return &api;
}
