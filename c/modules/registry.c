/*
 * registry.c - names of the built-in modules, and the versioned function
 * table for external modules (trex_pam_module.h).
 */
#include <string.h>
#include "registry.h"

static const struct trex_pam_module *const builtins[] = {
    &tp_mod_permit, &tp_mod_deny, &tp_mod_debug, &tp_mod_userdb, &tp_mod_session,
    &tp_mod_faillock,
};

/* Built-ins whose "pam_NAME.so" spelling names a different Linux-PAM module
 * (pam_userdb.so reads a Berkeley DB file) or none at all: only the bare
 * name is ours. (pam_faillock.so is Linux-PAM's faillock: same arguments.) */
static const char *const own_names_only[] = { "userdb", "session" };

static int own_name_only(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof own_names_only / sizeof own_names_only[0]; i++)
        if (strlen(own_names_only[i]) == n && strncmp(own_names_only[i], name, n) == 0)
            return 1;
    return 0;
}

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
        if (own_name_only(name, n))
            return NULL;
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
