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

/* ---- the stores that failed in this service call ------------------------------------
 * One per handle, shared by every store module: the locations that could
 * not be used since the handle's last pause. A later use of one of them in
 * the same call fails at once, logs nothing more and waits no timeout
 * again; the pause (the end of the call) forgets them, so the next call
 * tries afresh and finds a server that is back. Beside them, the second
 * chances that worked (tp_lease_again): their notice is logged at the
 * pause, unless the store failed in the call after all, which then says
 * so in its one line. */

#define FAULTS_NAME "trex_store_faults"

struct fault {
    char *path;                      /* a location: may hold a password (wiped) */
    const char *who;                 /* a notice's: the module (a literal) */
    char *msg;                       /* a notice's: what failed first (no secret) */
    struct fault *next;
};

struct faults {
    struct fault *head;              /* the stores that failed */
    struct fault *notices;           /* the second chances that worked */
    int hooked;                      /* faults_pause is waiting for the pause */
};

static void fault_list_free(struct fault **head)
{
    while (*head != NULL) {
        struct fault *next = (*head)->next;
        tp_secret_drop(&(*head)->path);
        free((*head)->msg);
        free(*head);
        *head = next;
    }
}

static void faults_clear(struct faults *f)
{
    fault_list_free(&f->head);
    fault_list_free(&f->notices);
}

static int fault_in(const struct fault *x, const char *path)
{
    for (; x != NULL; x = x->next)
        if (strcmp(x->path, path) == 0)
            return 1;
    return 0;
}

static void faults_pause(trex_pam_handle_t *h, void *arg)
{
    struct faults *f = arg;

    for (const struct fault *n = f->notices; n != NULL; n = n->next)
        if (!fault_in(f->head, n->path))
            trex_pam_log(h, LOG_NOTICE, "%s: the store failed on a kept connection: %s;"
                         " opened it again", n->who, n->msg);
    faults_clear(f);
    f->hooked = 0;
}

static void faults_free(trex_pam_handle_t *h, void *data, int status)
{
    (void)h;
    (void)status;
    if (data != NULL) {
        faults_clear(data);
        free(data);
    }
}

static struct faults *faults_of(trex_pam_handle_t *h)
{
    void *f = NULL;
    return tp_pool_state(h, FAULTS_NAME, sizeof(struct faults), faults_free, &f)
           == TREX_PAM_SUCCESS ? f : NULL;
}

/* 1 if path could not be used earlier in this service call. */
static int fault_seen(trex_pam_handle_t *h, const char *path)
{
    const void *d = NULL;

    if (path == NULL || trex_pam_get_data(h, FAULTS_NAME, &d) != TREX_PAM_SUCCESS || d == NULL)
        return 0;
    return fault_in(((const struct faults *)d)->head, path);
}

/* Adds path (and for a notice who and msg) to the handle's list, until its
 * next pause: 1, or 0 when it cannot (out of memory, no pause hook left:
 * then later uses try again, and a notice is not logged). */
static int fault_add(trex_pam_handle_t *h, int notice, const char *path, const char *who,
                     const char *msg)
{
    struct faults *f;
    struct fault *x;

    if (path == NULL || (f = faults_of(h)) == NULL)
        return 0;
    if (!f->hooked) {
        if (trex_pam_at_pause(h, faults_pause, f) != TREX_PAM_SUCCESS)
            return 0;
        f->hooked = 1;
    }
    if ((x = calloc(1, sizeof *x)) == NULL || (x->path = strdup(path)) == NULL
        || (notice && (x->msg = strdup(msg)) == NULL)) {
        if (x != NULL)
            tp_secret_drop(&x->path);
        free(x);
        return 0;
    }
    x->who = who;
    if (notice) {
        x->next = f->notices;
        f->notices = x;
    } else {
        x->next = f->head;
        f->head = x;
    }
    return 1;
}

/* Remembers path as failed until the handle's next pause (fault_add). */
static int fault_note(trex_pam_handle_t *h, const char *path)
{
    if (path != NULL && fault_seen(h, path))
        return 1;
    return fault_add(h, 0, path, NULL, NULL);
}

/* ---- leases ---------------------------------------------------------------------------- */

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

    if (fault_seen(h, path))
        return TP_STORE_UNAVAIL;   /* logged when it failed, earlier in this call */
    if (held == NULL || strcmp(held, path) != 0 || tp_lease_discarded(l)) {
        tp_lease_end(l);
        rc = tp_pool_lease(pool, path, l, err, sizeof err);
        if (rc != TP_STORE_OK) {
            if (rc == TP_STORE_UNAVAIL)
                (void)fault_note(h, path);
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
    char first[TP_LEASE_WHYLEN], *path;
    struct tp_store *st = tp_lease_store(l);
    int ok;

    l->why[0] = '\0';
    if (st == NULL || l->fresh || (src != TP_STORE_ERR && src != TP_STORE_UNAVAIL))
        return 0;
    /* no second wait for a server that did not answer, nor for one that
     * failed earlier in this call */
    if (tp_store_timed_out(st) || fault_seen(h, tp_lease_path(l)))
        return 0;
    snprintf(first, sizeof first, "%s", tp_store_error(st));
    if ((path = strdup(tp_lease_path(l))) == NULL)
        return 0;
    ok = tp_lease_retry(pool, l, src, l->why, sizeof l->why);
    if (ok) {
        /* said at the pause, unless the store fails in this call after all */
        (void)fault_add(h, 1, path, who, first);
        l->why[0] = '\0';
    } else if (tp_lease_store(l) == NULL) {
        /* the fresh open failed too: tp_lease_failed logs l->why */
        (void)fault_note(h, path);
        if (l->why[0] == '\0')
            snprintf(l->why, sizeof l->why, "%s", "cannot open the store");
    }
    tp_secret_drop(&path);
    tp_secret_wipe(first, sizeof first);
    return ok;
}

int tp_lease_failed(trex_pam_handle_t *h, struct tp_lease *l, int src, const char *who,
                    const char *what)
{
    struct tp_store *st = tp_lease_store(l);

    if (st == NULL) {
        /* the second chance's open failed: its reason, once */
        if (l->why[0] != '\0')
            trex_pam_log(h, LOG_ERR, "%s: %s: %s", who, what, l->why);
        l->why[0] = '\0';
        return tp_lease_pam_code(src);
    }
    if (src == TP_STORE_UNAVAIL) {
        tp_lease_discard(l);       /* the next use opens it afresh */
        if (fault_seen(h, tp_lease_path(l)))
            return tp_lease_pam_code(src);   /* said once in this call already */
        (void)fault_note(h, tp_lease_path(l));
    }
    trex_pam_log(h, LOG_ERR, "%s: %s: %s", who, what, tp_store_error(st));
    return tp_lease_pam_code(src);
}

int tp_lease_pam_code(int src)
{
    return src == TP_STORE_UNAVAIL ? TREX_PAM_AUTHINFO_UNAVAIL : TREX_PAM_SYSTEM_ERR;
}
