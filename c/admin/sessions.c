/*
 * sessions.c - the session module's sessions for the administrator
 * (trex_pam_admin.h): list, end, purge. A session is shown by a handle, a
 * digest of the stored digest (token.h), never the digest itself, and
 * ended through the store's digest calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin.h"
#include "token.h"
#include "secret.h"

_Static_assert(TP_SESSION_DIGEST_LEN == TP_TOKEN_DIGEST_LEN, "digest sizes differ");

/* The handle of a stored digest: 8 lowercase hex digits and a NUL. The
 * fixed label separates it from the digests of IDs (also BLAKE2b): a
 * handle is never a part of what the store keeps for some ID. */
int tp_admin_handle(const unsigned char digest[TP_SESSION_DIGEST_LEN],
                    char out[TREX_PAM_DB_HANDLE_LEN + 1])
{
    return tp_token_label(digest, TREX_PAM_DB_HANDLE_KEY, out, TREX_PAM_DB_HANDLE_LEN);
}

int trex_pam_db_valid_handle(const char *handle)
{
    size_t n = 0;

    if (handle == NULL)
        return 0;
    for (const char *p = handle; *p; p++, n++) {
        char c = *p;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return n == TREX_PAM_DB_HANDLE_LEN;
}

/* libsodium ready: 0, or -1 with db's error line set. */
static int crypto_ready(trex_pam_db_t *db)
{
    if (tp_token_init() != 0) {
        tp_admin_err(db, "libsodium cannot be used");
        return -1;
    }
    return 0;
}

struct session_walk {
    int (*fn)(void *data, const struct trex_pam_db_session *s);
    void *data;
    int rc;
};

static int session_one(void *data, const struct tp_session *s)
{
    struct session_walk *w = data;
    struct trex_pam_db_session out;
    int stop;

    memset(&out, 0, sizeof out);
    if (tp_admin_handle(s->digest, out.handle) != 0) {
        w->rc = TREX_PAM_SYSTEM_ERR;
        return 1;
    }
    out.user = s->user;
    out.created = s->created;
    out.last_used = s->last_used;
    out.rhost = s->rhost != NULL && *s->rhost != '\0' ? s->rhost : NULL;
    stop = w->fn(w->data, &out);
    return stop;
}

int trex_pam_db_session_list(trex_pam_db_t *db, const char *name,
                             int (*fn)(void *data, const struct trex_pam_db_session *s),
                             void *data)
{
    struct session_walk w;
    int rc;

    if ((rc = tp_admin_begin(db, TP_ADMIN_READ, fn != NULL, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    if (name != NULL) {
        if (!trex_pam_db_valid_user(name))
            return tp_admin_bad_user(db, name);
        if ((rc = tp_admin_known_user(db, name)) != TREX_PAM_SUCCESS)
            return rc;
    }
    if (crypto_ready(db) != 0)
        return TREX_PAM_SYSTEM_ERR;
    w.fn = fn;
    w.data = data;
    w.rc = TREX_PAM_SUCCESS;
    rc = tp_admin_from_store_at(db, tp_admin_sessions(db),
                                tp_store_session_list(tp_admin_sessions(db), name, session_one, &w),
                                name);
    if (rc == TREX_PAM_SUCCESS && w.rc != TREX_PAM_SUCCESS) {
        tp_admin_err(db, "computing a session handle failed");
        rc = w.rc;
    }
    return rc;
}

/* The digests of a user's sessions with one handle (at most two kept:
 * two already make it ambiguous). */
struct session_find {
    char handle[TREX_PAM_DB_HANDLE_LEN + 1];
    unsigned char digest[2][TP_SESSION_DIGEST_LEN];
    int found;
    int rc;
};

static int session_match(void *data, const struct tp_session *s)
{
    struct session_find *f = data;
    char h[TREX_PAM_DB_HANDLE_LEN + 1];

    if (tp_admin_handle(s->digest, h) != 0) {
        f->rc = TREX_PAM_SYSTEM_ERR;
        return 1;
    }
    if (strcmp(h, f->handle) == 0) {
        if (f->found < 2)
            memcpy(f->digest[f->found], s->digest, TP_SESSION_DIGEST_LEN);
        f->found++;
    }
    return 0;
}

int trex_pam_db_session_revoke(trex_pam_db_t *db, const char *name, const char *handle,
                               int *count)
{
    struct session_find f;
    int rc, src, n = 0;

    if (count != NULL)
        *count = 0;
    if ((rc = tp_admin_begin(db, TP_ADMIN_WRITE | TP_ADMIN_USER, 1, name)) != TREX_PAM_SUCCESS)
        return rc;
    if (handle != NULL && !trex_pam_db_valid_handle(handle)) {
        tp_admin_err(db, "invalid session handle: want %d hex digits (as trex-pam sessions shows them)",
                TREX_PAM_DB_HANDLE_LEN);
        return TREX_PAM_BAD_ITEM;
    }
    if ((rc = tp_admin_known_user(db, name)) != TREX_PAM_SUCCESS)
        return rc;
    if (handle == NULL) {
        rc = tp_admin_from_store_at(db, tp_admin_sessions(db),
                                    tp_store_session_delete_user(tp_admin_sessions(db), name, NULL, &n),
                                    name);
        if (rc == TREX_PAM_SUCCESS && count != NULL)
            *count = n;
        return rc;
    }
    if (crypto_ready(db) != 0)
        return TREX_PAM_SYSTEM_ERR;
    memset(&f, 0, sizeof f);
    for (size_t i = 0; i < TREX_PAM_DB_HANDLE_LEN; i++)
        f.handle[i] = (char)(handle[i] >= 'A' && handle[i] <= 'F' ? handle[i] - 'A' + 'a' : handle[i]);
    f.rc = TREX_PAM_SUCCESS;
    rc = tp_admin_from_store_at(db, tp_admin_sessions(db),
                                tp_store_session_list(tp_admin_sessions(db), name, session_match, &f),
                                name);
    if (rc == TREX_PAM_SUCCESS && f.rc != TREX_PAM_SUCCESS) {
        tp_admin_err(db, "computing a session handle failed");
        rc = f.rc;
    }
    if (rc != TREX_PAM_SUCCESS)
        goto done;
    if (f.found > 1) {
        tp_admin_err(db, "%s: %d sessions have the handle %s; end them all with --revoke-all",
                name, f.found, f.handle);
        rc = TREX_PAM_BAD_ITEM;
        goto done;
    }
    src = f.found == 1 ? tp_store_session_delete(tp_admin_sessions(db), f.digest[0]) : TP_STORE_NOTFOUND;
    if (src == TP_STORE_NOTFOUND) {     /* none, or ended meanwhile */
        tp_admin_err(db, "%s: no session %s", name, f.handle);
        rc = TREX_PAM_DB_NO_SESSION;
        goto done;
    }
    if ((rc = tp_admin_from_store_at(db, tp_admin_sessions(db), src, name)) == TREX_PAM_SUCCESS
        && count != NULL)
        *count = 1;
done:
    tp_secret_wipe(&f, sizeof f);
    return rc;
}

int trex_pam_db_session_purge(trex_pam_db_t *db, int64_t idle, int64_t lifetime, int *count)
{
    int64_t t;
    int rc, n = 0;

    if (count != NULL)
        *count = 0;
    if ((rc = tp_admin_begin(db, TP_ADMIN_WRITE, 1, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    if (idle < 0 || idle > TP_ADMIN_MAX_SECONDS || lifetime < 0 || lifetime > TP_ADMIN_MAX_SECONDS) {
        tp_admin_err(db, "idle and lifetime must be from 0 to %lld seconds", (long long)TP_ADMIN_MAX_SECONDS);
        return TREX_PAM_BAD_ITEM;
    }
    if (idle == 0 && lifetime == 0) {
        tp_admin_err(db, "nothing to purge: neither an idle time-out nor a lifetime");
        return TREX_PAM_BAD_ITEM;
    }
    t = tp_admin_now();
    /* the module's rule: expired when now - last_used > idle or now - created > lifetime */
    rc = tp_admin_from_store_at(db, tp_admin_sessions(db),
                                tp_store_session_purge(tp_admin_sessions(db), idle > 0 ? t - idle : 0,
                                                       lifetime > 0 ? t - lifetime : 0, &n),
                                NULL);
    if (rc == TREX_PAM_SUCCESS && count != NULL)
        *count = n;
    return rc;
}
