/*
 * registry.c - the library's registry: the built-in modules by name, the
 * built-in default stack, and the two pam_start calls that hand them to
 * the core (trex_pam_start_opts takes a registry in its options; these
 * give the built-in one).
 */
#include <string.h>
#include <unistd.h>
#include "registry.h"

static const struct trex_pam_module *const builtins[] = {
    &tp_mod_permit, &tp_mod_deny, &tp_mod_debug, &tp_mod_userdb, &tp_mod_session,
    &tp_mod_faillock, &tp_mod_imap,
};

/* Built-ins whose "pam_NAME.so" spelling names a different Linux-PAM module
 * (pam_userdb.so reads a Berkeley DB file), none at all, or another
 * project's (pam_imap.so, with other arguments): only the bare name is
 * ours. (pam_faillock.so is Linux-PAM's faillock: same arguments.) */
static const char *const own_names_only[] = { "userdb", "session", "imap" };

static int own_name_only(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof own_names_only / sizeof own_names_only[0]; i++)
        if (strlen(own_names_only[i]) == n && strncmp(own_names_only[i], name, n) == 0)
            return 1;
    return 0;
}

/* A built-in module by name: "permit", or Linux-PAM's spelling
 * "pam_permit.so" (not for "userdb": Linux-PAM's pam_userdb.so is another
 * module). NULL if there is none of that name. */
static const struct trex_pam_module *lookup(const char *name)
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

/*
 * The stack used when the configuration directory does not exist at all,
 * so that a new installation works before anyone writes a file: faillock,
 * then a session ID or a password (userdb) on the embedded store
 * ($TREX_PAM_STORE, $TREX_PAM_DB or its default path), userdb's account and password rules,
 * session IDs. The same text ships as examples/pam.d/default;
 * t/36-default-stack.t keeps the two equal.
 */
static const char default_stack[] =
    "auth     requisite                                          faillock preauth\n"
    "auth     [success=done ignore=ignore default=die]           session\n"
    "auth     [success=1 default=bad]                            userdb\n"
    "auth     [default=die]                                      faillock authfail\n"
    "auth     [success=done authinfo_unavail=die default=ignore] faillock authsucc\n"
    "auth     required                                           deny\n"
    "account  required                                           userdb\n"
    "password requisite                                          faillock preauth\n"
    "password [success=1 auth_err=bad default=die]               userdb\n"
    "password [default=die]                                      faillock authfail\n"
    "password [success=ok default=die]                           faillock authsucc\n"
    "password optional                                           session revoke_on_change\n"
    "session  required                                           session\n";

int tp_admin_change(const trex_pam_handle_t *h, int flags)
{
    const char *v = NULL;
    if (flags & TREX_PAM_CHANGE_EXPIRED_AUTHTOK)
        return 0;
    if (trex_pam_get_named_item(h, TREX_PAM_ITEM_ADMIN, &v) != TREX_PAM_SUCCESS || v == NULL)
        return 0;
    return strcmp(v, "1") == 0 && getuid() == 0;
}

static const struct trex_pam_registry builtin_registry = {
    .lookup = lookup,
    .default_stack = default_stack,
    .default_name = "(built-in default)",
};

const struct trex_pam_registry *trex_pam_builtin_registry(void)
{
    return &builtin_registry;
}

int trex_pam_start(const char *service, const char *user, const struct trex_pam_conv *conv,
                   trex_pam_handle_t **pamh)
{
    struct trex_pam_options o = { .size = sizeof o, .registry = &builtin_registry };
    return trex_pam_start_opts(service, user, conv, &o, pamh);
}

int trex_pam_start_confdir(const char *service, const char *user,
                           const struct trex_pam_conv *conv, const char *confdir,
                           trex_pam_handle_t **pamh)
{
    struct trex_pam_options o = { .size = sizeof o, .confdir = confdir,
                                  .registry = &builtin_registry };
    if (confdir == NULL) {
        if (pamh != NULL)
            *pamh = NULL;
        return TREX_PAM_SYSTEM_ERR;
    }
    return trex_pam_start_opts(service, user, conv, &o, pamh);
}
