/*
 * storelease.c - what the store modules (userdb, session, faillock) call on
 * a handle: their module data, a lease on the process's connection to a
 * store, the read scope of a service call, and the second chance after a
 * failure (storepool.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "secret.h"
#include "storepool.h"

int tp_pool_state(trex_pam_handle_t *h, const char *name, size_t size,
                  trex_pam_cleanup_fn cleanup, void **out)
{
    const void *d = NULL;
    void *s;
    int rc;

    *out = NULL;
    if (trex_pam_get_data(h, name, &d) == TREX_PAM_SUCCESS && d != NULL) {
        *out = (void *)d;
        return TREX_PAM_SUCCESS;
    }
    if ((s = calloc(1, size)) == NULL)
        return TREX_PAM_BUF_ERR;
    if ((rc = trex_pam_set_data(h, name, s, cleanup)) != TREX_PAM_SUCCESS) {
        cleanup(h, s, rc);
        return rc;
    }
    *out = s;
    return TREX_PAM_SUCCESS;
}

/* trex_pam_at_pause's hook: the service call is over, or a person took
 * their time to answer. */
static void scope_pause(trex_pam_handle_t *h, void *arg)
{
    (void)h;
    tp_lease_read_end(arg);
}

int tp_lease_use_at(trex_pam_handle_t *h, struct tp_pool *pool, struct tp_lease *l,
                    const char *store, const char *db, const char *who)
{
    char buf[TP_STORE_LOCATION_MAX], err[600];
    const char *where;
    int rc;

    buf[0] = '\0';
    where = tp_store_location(store, db, trex_pam_confdir(h), buf, sizeof buf, err, sizeof err);
    if (where == NULL) {
        trex_pam_log(h, LOG_ERR, "%s: %s", who, err);
        return TP_STORE_UNAVAIL;
    }
    rc = tp_lease_use(h, pool, l, where, who);
    tp_secret_wipe(buf, strlen(buf));  /* the file's location may hold a password */
    return rc;
}

int tp_lease_use(trex_pam_handle_t *h, struct tp_pool *pool, struct tp_lease *l,
                 const char *path, const char *who)
{
    char err[1024];
    const char *held = tp_lease_path(l);
    int rc = TP_STORE_OK;

    if (held == NULL || strcmp(held, path) != 0) {
        tp_lease_end(l);
        rc = tp_pool_lease(pool, path, l, err, sizeof err);
        if (rc != TP_STORE_OK) {
            trex_pam_log(h, LOG_ERR, "%s: %s", who, err[0] ? err : "cannot open the store");
            return rc;
        }
    }
    /* the reads until the handle's next pause share one snapshot with
     * those of the other modules on this store */
    if (tp_lease_read_begin(l) && trex_pam_at_pause(h, scope_pause, l) != TREX_PAM_SUCCESS)
        tp_lease_read_end(l);      /* no hook to end it: no scope */
    return rc;
}

int tp_lease_again(trex_pam_handle_t *h, struct tp_pool *pool, struct tp_lease *l, int src,
                   const char *who)
{
    char err[1024];

    if (l->conn == NULL || l->fresh || (src != TP_STORE_ERR && src != TP_STORE_UNAVAIL))
        return 0;
    trex_pam_log(h, LOG_NOTICE, "%s: the store failed on a kept connection: %s; opening it again",
                 who, tp_store_error(tp_lease_store(l)));
    if (tp_lease_retry(pool, l, src, err, sizeof err))
        return 1;
    trex_pam_log(h, LOG_ERR, "%s: %s", who, err[0] ? err : "cannot open the store");
    return 0;
}

int tp_lease_pam_code(int src)
{
    return src == TP_STORE_UNAVAIL ? TREX_PAM_AUTHINFO_UNAVAIL : TREX_PAM_SYSTEM_ERR;
}
