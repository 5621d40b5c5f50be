/*
 * registry.h - the built-in modules (each file of c/modules/ defines one
 * table) and what they share. The registry itself (registry.c) hands them
 * to the core by name, through trex_pam_builtin_registry().
 */
#ifndef TP_REGISTRY_H
#define TP_REGISTRY_H
#include "trex_pam_module.h"

extern const struct trex_pam_module tp_mod_permit;
extern const struct trex_pam_module tp_mod_deny;
extern const struct trex_pam_module tp_mod_debug;
extern const struct trex_pam_module tp_mod_userdb;
extern const struct trex_pam_module tp_mod_session;
extern const struct trex_pam_module tp_mod_faillock;
extern const struct trex_pam_module tp_mod_imap;

/* 1 when a password change is the administrator's (the admin command, uid
 * 0, TREX_ADMIN "1"; never for an expired password's change): userdb asks
 * no current password, faillock neither counts nor refuses. */
int tp_admin_change(const trex_pam_handle_t *h, int flags);
#endif
