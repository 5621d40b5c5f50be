/*
 * userdb.h - what the parts of the userdb module share (private to
 * c/modules/): userdb_base.c (arguments, the store, the account rules),
 * userdb.c (authenticate, acct_mgmt, setcred, the module table) and
 * userdb_passwd.c (chauthtok).
 */
#ifndef TP_USERDB_H
#define TP_USERDB_H

#include <stdint.h>
#include "registry.h"
#include "store.h"
#include "storepool.h"
#include "hash.h"

#define HASH_BUF        512        /* >= libxcrypt's CRYPT_OUTPUT_SIZE (384) */
#define PASS_MAX        TP_HASH_PASS_MAX
#define MAX_PASSWD_TRIES  3        /* pam_unix */
#define FAIL_DELAY  2000000        /* pam_unix: 2 s on failure */
#define DAY           86400
#define WHO           "userdb"

struct opts {
    const char *db;
    const char *store;
    const char *method, *cost;
    struct tp_hash_policy policy;
    int nullok, use_first_pass, use_authtok, nodelay, debug;
    int64_t minlen, maxlen;
    const char *blocklist;
};

/* One per handle and store path, in the handle's module data: the
 * connection this handle uses (from the instance's pool) and its chauthtok
 * state. */
struct conn {
    struct tp_lease lease;
    char *prelim_user;             /* chauthtok: who PRELIM checked ... */
    char *prelim_hash;             /* ... and the hash it read (compare-and-swap) */
};


/* ---- userdb_base.c --------------------------------------------------------- */
void tp_userdb_opts(trex_pam_handle_t *h, int argc, const char **argv, struct opts *o);
struct tp_store *tp_userdb_store(const struct conn *c);
/* The handle's connection to the store at the line's path, leased from the
 * instance's pool on first use. TREX_PAM_SUCCESS, unavail (the caller's
 * code for "no store") or BUF_ERR. */
int tp_userdb_conn(trex_pam_handle_t *h, struct tp_pool *pool, const struct opts *o, int unavail,
                   struct conn **out);
/* Looks name up: SUCCESS (u filled), USER_UNKNOWN, or unavail after a log
 * line with the store's reason. */
int tp_userdb_user(trex_pam_handle_t *h, struct tp_pool *pool, struct conn *c, const char *name,
                   int unavail, struct tp_user *u);
/* pam_unix's _make_remark: nothing under PAM_SILENT. */
void tp_userdb_remark(trex_pam_handle_t *h, int flags, int style, const char *text);
const char *tp_userdb_item(const trex_pam_handle_t *h, int item);
void tp_userdb_auth_failure(trex_pam_handle_t *h, const char *user);
/* The user as pam_get_user gives it, CONV_AGAIN mapped to INCOMPLETE as
 * pam_unix does; an empty name is no user. */
int tp_userdb_want_user(trex_pam_handle_t *h, const struct opts *o, const char **user);
/* The user named by PAM_USER (acct_mgmt, setcred: no prompting). */
const char *tp_userdb_named_user(trex_pam_handle_t *h);
/* Verifies password against u's hash with exactly one hash computation. */
int tp_userdb_check(const char *password, const struct tp_user *u, const struct tp_hash_policy *p);
int64_t tp_userdb_day(int64_t t);
int tp_userdb_pw_expired(const struct tp_user *u, int64_t now);
int tp_userdb_acct_expired(const struct tp_user *u, int64_t now);

/* ---- userdb_passwd.c -------------------------------------------------------- */
int tp_userdb_chauthtok(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst);

#endif /* TP_USERDB_H */
