/*
 * load.c - the modules of a configuration: a bare name through the
 * registry the application handed the core (the built-in modules), a name
 * with a ':' through the application's resolver ("perl:Package"), an
 * absolute path as a shared object that receives the core's function
 * table. Each module is loaded once per configuration, with its instance.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "conf.h"

/* The table external modules receive: the module API of trex_pam_module.h
 * (static, lives as long as the core). */
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
    .at_pause = trex_pam_at_pause,
    .confdir = trex_pam_confdir,
};

_Static_assert(sizeof(trex_pam_module_entry_fn) == sizeof(void *),
               "dlsym needs function pointers as wide as void *");

/* The module ABI versions this core accepts (trex_pam_module.h). */
static int abi_known(const struct trex_pam_module *mod)
{
    return mod->abi >= 1 && mod->abi <= TREX_PAM_MODULE_ABI;
}

/* A built-in or external module's instance, made once per configuration
 * (released in tp_conf_free). An abi-1 table ends before instance_new: the
 * member is never read. NULL (none, or out of memory) is a valid instance. */
static void *new_instance(const struct trex_pam_module *mod)
{
    if (mod->abi < 2 || mod->instance_new == NULL)
        return NULL;
    return mod->instance_new();
}

static const char *load_external(struct tp_modref *r)
{
    trex_pam_module_entry_fn entry;
    const struct trex_pam_module *mod;
    void *dl = dlopen(r->name, RTLD_NOW | RTLD_LOCAL), *sym;
    const char *why = NULL;

    if (dl == NULL) {
        const char *e = dlerror();
        return e != NULL ? e : "cannot load";
    }
    sym = dlsym(dl, TREX_PAM_MODULE_ENTRY);
    memcpy(&entry, &sym, sizeof entry);       /* object to function pointer, as POSIX allows */
    if (sym == NULL)
        why = "no " TREX_PAM_MODULE_ENTRY " symbol";
    else if ((mod = entry(&api)) == NULL)
        why = "the module refused this core's API version";
    else if (!abi_known(mod))
        why = "wrong module ABI version";
    else {
        r->mod = mod;
        r->dl = dl;
        r->instance = new_instance(mod);
        return NULL;
    }
    dlclose(dl);
    return why;
}

static const char *load_resolved(trex_pam_handle_t *h, struct tp_modref *r)
{
    const struct trex_pam_module *mod = NULL;
    void *instance = NULL;

    if (h->resolve == NULL)
        return "no resolver for this kind of module";
    if (h->resolve(h, h->resolve_data, r->name, &mod, &instance) != TREX_PAM_SUCCESS || mod == NULL)
        return "the resolver could not load it";
    if (!abi_known(mod))
        return "wrong module ABI version";   /* its release() cannot be trusted either */
    r->mod = mod;                            /* the resolver's instance: no instance_new */
    r->instance = instance;
    return NULL;
}

/* A bare name: the registry's module of that name. */
static const char *load_registered(trex_pam_handle_t *h, struct tp_modref *r)
{
    if (h->registry == NULL || h->registry->lookup == NULL)
        return "no registry of modules";
    if ((r->mod = h->registry->lookup(r->name)) == NULL)
        return "no such module";
    if (!abi_known(r->mod)) {
        r->mod = NULL;
        return "wrong module ABI version";
    }
    r->instance = new_instance(r->mod);
    return NULL;
}

struct tp_modref *tp_load_module(trex_pam_handle_t *h, struct tp_conf *c, const char *name,
                                 int silent, const char *file, int line)
{
    struct tp_modref *r;
    const char *why;

    for (r = c->mods; r != NULL; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    if ((r = calloc(1, sizeof *r)) == NULL)
        return NULL;
    if ((r->name = strdup(name)) == NULL) {
        free(r);
        return NULL;
    }
    if (name[0] == '/')
        why = load_external(r);
    else if (strchr(name, ':') != NULL)
        why = load_resolved(h, r);
    else
        why = load_registered(h, r);
    if (why != NULL && !silent)
        tp_log(h, LOG_ERR, "%s:%d: unable to load module \"%.200s\": %.300s", file, line,
               name, why);
    r->next = c->mods;
    c->mods = r;
    return r;
}

void tp_load_free(struct tp_modref *list)
{
    struct tp_modref *r, *next;

    for (r = list; r != NULL; r = next) {
        next = r->next;
        if (r->mod != NULL && r->mod->release != NULL)
            r->mod->release(r->instance);
        if (r->dl != NULL)
            dlclose(r->dl);
        free(r->name);
        free(r);
    }
}
