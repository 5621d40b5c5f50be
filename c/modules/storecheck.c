/*
 * storecheck.c - what the store modules (userdb, session, faillock)
 * answer trex_pam_check (trex-pam check-config): can the store a line
 * names be used, as the modules will use it (storepool.h)?
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "secret.h"
#include "storepool.h"

#define CHECKS_NAME "trex_store_checks"

/* One location asked, and its answer: kept in the handle, so that the
 * lines naming one store wait for a dead server once. */
struct checked {
    char *path;                    /* the location: may hold a password (wiped) */
    int code;                      /* TP_STORE_* */
    unsigned int keeps;            /* TP_STORE_KEEPS_* when code is OK */
    char msg[TP_LEASE_WHYLEN];     /* the store's "where: reason", or its where */
    struct checked *next;
};

struct checks {
    struct checked *head;
};

static void checks_free(trex_pam_handle_t *h, void *data, int status)
{
    struct checks *c = data;

    (void)h;
    (void)status;
    if (c == NULL)
        return;
    while (c->head != NULL) {
        struct checked *next = c->head->next;
        tp_secret_drop(&c->head->path);
        free(c->head);
        c->head = next;
    }
    free(c);
}

/* Opens path read-only, asks it once, closes it: into x. */
static void ask(struct checked *x, const char *path)
{
    static const unsigned int kinds[] = { TP_STORE_KEEPS_USERS, TP_STORE_KEEPS_SESSIONS,
                                          TP_STORE_KEEPS_TALLIES };
    struct tp_store *st = NULL;

    x->code = tp_store_open(path, TP_STORE_RDONLY, &st, x->msg, sizeof x->msg);
    if (x->code != TP_STORE_OK)
        return;
    if ((x->code = tp_store_ping(st)) != TP_STORE_OK) {
        snprintf(x->msg, sizeof x->msg, "%s", tp_store_error(st));
    } else {
        snprintf(x->msg, sizeof x->msg, "%s", tp_store_where(st));
        for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
            if (tp_store_keeps(st, kinds[i]))
                x->keeps |= kinds[i];
    }
    tp_store_close(st);
}

/* The answer for path: asked now, or earlier on this handle; NULL when out
 * of memory. */
static const struct checked *answer(trex_pam_handle_t *h, const char *path)
{
    static struct checked oom = { NULL, TP_STORE_ERR, 0, "out of memory", NULL };
    struct checks *c = NULL;
    struct checked *x;

    if (tp_pool_state(h, CHECKS_NAME, sizeof *c, checks_free, (void **)&c) != TREX_PAM_SUCCESS)
        return &oom;
    for (x = c->head; x != NULL; x = x->next)
        if (strcmp(x->path, path) == 0)
            return x;
    if ((x = calloc(1, sizeof *x)) == NULL || (x->path = strdup(path)) == NULL) {
        free(x);
        return &oom;
    }
    ask(x, path);
    x->next = c->head;
    c->head = x;
    return x;
}

static const char *kind_name(unsigned int needs)
{
    return needs & TP_STORE_KEEPS_USERS ? "users"
           : needs & TP_STORE_KEEPS_SESSIONS ? "sessions" : "failure tallies";
}

int tp_store_check_line(trex_pam_handle_t *h, const char *arg, const char *store,
                        const char *db, unsigned int needs, const char *who, unsigned int *keeps,
                        char *why, size_t whylen)
{
    char buf[TP_STORE_LOCATION_MAX], from[512], err[600];
    const struct checked *x;
    const char *path;

    if (keeps != NULL)
        *keeps = 0;
    buf[0] = '\0';
    path = tp_store_locate(store, db, trex_pam_confdir(h), buf, sizeof buf, from, sizeof from,
                           err, sizeof err);
    if (path == NULL) {
        snprintf(why, whylen, "%s: %s", who, err);
        return TREX_PAM_AUTHINFO_UNAVAIL;
    }
    if (path == store && strcmp(arg, "store") != 0)
        snprintf(from, sizeof from, "%s=", arg);      /* the argument's own name */
    x = answer(h, path);
    tp_secret_wipe(buf, sizeof buf);   /* the file's location may hold a password */
    if (x->code != TP_STORE_OK) {
        snprintf(why, whylen, "%s: store (%s): %s", who, from, x->msg);
        return tp_lease_pam_code(x->code);
    }
    for (unsigned int k = 1; k <= TP_STORE_KEEPS_TALLIES; k <<= 1)
        if ((needs & k) && !(x->keeps & k)) {
            snprintf(why, whylen, "%s: store (%s): %s: this kind of store keeps no %s", who,
                     from, x->msg, kind_name(k));
            return TREX_PAM_AUTHINFO_UNAVAIL;
        }
    if (keeps != NULL)
        *keeps = x->keeps;
    return TREX_PAM_SUCCESS;
}
