/*
 * registry.h - the built-in modules and the function table handed to
 * external ones. Included by the core (core/impl.h) and by each module.
 */
#ifndef TP_REGISTRY_H
#define TP_REGISTRY_H
#include "trex_pam_module.h"

/* A built-in module by name: "permit", or Linux-PAM's spelling
 * "pam_permit.so" (not for "userdb": Linux-PAM's pam_userdb.so is another
 * module). NULL if there is none of that name. */
const struct trex_pam_module *tp_module_builtin(const char *name);
/* The table external modules receive (static, lives as long as the core). */
const struct trex_pam_api *tp_module_api(void);

extern const struct trex_pam_module tp_mod_permit;
extern const struct trex_pam_module tp_mod_deny;
extern const struct trex_pam_module tp_mod_debug;
extern const struct trex_pam_module tp_mod_userdb;
extern const struct trex_pam_module tp_mod_session;
extern const struct trex_pam_module tp_mod_faillock;
#endif
