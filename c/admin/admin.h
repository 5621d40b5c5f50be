/*
 * admin.h - what the parts of the administrator's API (c/admin/) share:
 * the handle, its error line, the translation of store codes into the
 * status codes of trex_pam_admin.h, and the checks every call begins with.
 * Private to c/admin/, which uses the store (store.h) and c/crypto only:
 * never a module, never the core.
 */
#ifndef TP_ADMIN_H
#define TP_ADMIN_H

#include <stdint.h>
#include "trex_pam_admin.h"
#include "store.h"

#define TP_ADMIN_MAX_SECONDS      ((int64_t)INT32_MAX)   /* the session module's limit */
#define TP_ADMIN_MAX_FAIL_SECONDS ((int64_t)604800)      /* the faillock module's (7 days) */
#define TP_ADMIN_MAX_DENY         65535

struct trex_pam_db {
    struct tp_store *st;
    struct tp_store *sst;           /* the sessions' store when not st (use_sessions) */
    int flags;
    char *path;
    char err[512];
};

/* The store of db's sessions: its own, or the one of trex_pam_db_use_sessions. */
static inline struct tp_store *tp_admin_sessions(const trex_pam_db_t *db)
{
    return db->sst != NULL ? db->sst : db->st;
}

/* Sets db's error line (printf format); never pass a secret. */
void tp_admin_err(trex_pam_db_t *db, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A store code as an API status; the store's reason (or one naming the
 * user) goes to db's error line. */
int tp_admin_from_store(trex_pam_db_t *db, int rc, const char *name);
/* The same for a code of store st (another than db's: its reason). */
int tp_admin_from_store_at(trex_pam_db_t *db, struct tp_store *st, int rc, const char *name);
/* Start of every call: a usable handle (its error line cleared); for
 * TP_ADMIN_WRITE one not opened read-only; the caller's required arguments
 * present (args_ok, else SYSTEM_ERR); for TP_ADMIN_USER a valid user name
 * (else BAD_ITEM, saying why). SUCCESS or the status to return. */
#define TP_ADMIN_READ  0
#define TP_ADMIN_WRITE 1
#define TP_ADMIN_USER  2
int tp_admin_begin(trex_pam_db_t *db, int how, int args_ok, const char *name);
/* BAD_ITEM after an error line saying why the name is refused (without
 * repeating it: it may hold control characters). */
int tp_admin_bad_user(trex_pam_db_t *db, const char *name);
int tp_admin_bad_attr(trex_pam_db_t *db, const char *attr);
/* SUCCESS if the user exists, USER_UNKNOWN or another error (line set).
 * SUCCESS for any name on a store that keeps no users (it cannot tell). */
int tp_admin_known_user(trex_pam_db_t *db, const char *name);
int64_t tp_admin_now(void);
/* The handle of a stored digest (trex_pam_admin.h): 0, or -1 (libsodium). */
int tp_admin_handle(const unsigned char digest[TP_SESSION_DIGEST_LEN],
                    char out[TREX_PAM_DB_HANDLE_LEN + 1]);

#endif /* TP_ADMIN_H */
