/*
 * db.c - opening and closing the store for the administrator
 * (trex_pam_admin.h), the error line and status texts, and the rules for
 * user and attribute names.
 *
 * What the admin API adds to the store: the rules for names and values,
 * hashing a new password under a policy (users.c), refusing hashes
 * libxcrypt cannot verify, a read-only guard, the translation of store
 * codes to the TREX_PAM_* codes of the public header, and one error line
 * per failure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "admin.h"
#include "secret.h"

void tp_admin_err(trex_pam_db_t *db, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(db->err, sizeof db->err, fmt, ap);
    va_end(ap);
}

/* A store code as an API status; the store's reason goes to db->err. */
int tp_admin_from_store(trex_pam_db_t *db, int rc, const char *name)
{
    return tp_admin_from_store_at(db, db->st, rc, name);
}

int tp_admin_from_store_at(trex_pam_db_t *db, struct tp_store *st, int rc, const char *name)
{
    switch (rc) {
    case TP_STORE_OK:
        return TREX_PAM_SUCCESS;
    case TP_STORE_NOTFOUND:
        tp_admin_err(db, "%s: no such user", name ? name : "?");
        return TREX_PAM_USER_UNKNOWN;
    case TP_STORE_EXISTS:
        tp_admin_err(db, "%s: user already exists", name ? name : "?");
        return TREX_PAM_DB_EXISTS;
    case TP_STORE_CONFLICT:
        tp_admin_err(db, "%s: changed by someone else meanwhile; try again", name ? name : "?");
        return TREX_PAM_TRY_AGAIN;
    case TP_STORE_UNAVAIL: {
        const char *why = tp_store_error(st);
        tp_admin_err(db, "%s", why && *why ? why : "the user database cannot be used");
        return TREX_PAM_AUTHINFO_UNAVAIL;
    }
    default: {
        const char *why = tp_store_error(st);
        tp_admin_err(db, "%s", why && *why ? why : "user database error");
        return TREX_PAM_SYSTEM_ERR;
    }
    }
}

int tp_admin_begin(trex_pam_db_t *db, int how, int args_ok, const char *name)
{
    if (db == NULL)
        return TREX_PAM_SYSTEM_ERR;
    db->err[0] = '\0';
    if ((how & TP_ADMIN_WRITE) && (db->flags & TREX_PAM_DB_RDONLY)) {
        tp_admin_err(db, "%s: opened read-only", tp_store_where(db->st));
        return TREX_PAM_PERM_DENIED;
    }
    if (!args_ok)
        return TREX_PAM_SYSTEM_ERR;
    if ((how & TP_ADMIN_USER) && !trex_pam_db_valid_user(name))
        return tp_admin_bad_user(db, name);
    return TREX_PAM_SUCCESS;
}

_Static_assert(TREX_PAM_DB_NAME_MAX == TP_STORE_NAME_MAX, "two limits of a user name");

int trex_pam_db_valid_user(const char *name)
{
    return tp_store_user_name_ok(name);
}

int trex_pam_db_valid_attr(const char *attr)
{
    size_t n = 0;

    if (attr == NULL)
        return 0;
    for (const char *p = attr; *p; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return n > 0 && n <= TREX_PAM_DB_NAME_MAX;
}

/* Why a user name is refused, without repeating it (it may hold control
 * characters). */
int tp_admin_bad_user(trex_pam_db_t *db, const char *name)
{
    if (name == NULL || *name == '\0')
        tp_admin_err(db, "invalid user name: empty");
    else if (strlen(name) > TREX_PAM_DB_NAME_MAX)
        tp_admin_err(db, "invalid user name: longer than %d bytes", TREX_PAM_DB_NAME_MAX);
    else if (strchr(name, ':') != NULL)
        tp_admin_err(db, "invalid user name: contains ':'");
    else if (strchr(name, '/') != NULL)
        tp_admin_err(db, "invalid user name: contains '/'");
    else
        tp_admin_err(db, "invalid user name: contains a control character");
    return TREX_PAM_BAD_ITEM;
}

int tp_admin_bad_attr(trex_pam_db_t *db, const char *attr)
{
    if (attr == NULL || *attr == '\0')
        tp_admin_err(db, "invalid attribute name: empty");
    else if (strlen(attr) > TREX_PAM_DB_NAME_MAX)
        tp_admin_err(db, "invalid attribute name: longer than %d bytes", TREX_PAM_DB_NAME_MAX);
    else
        tp_admin_err(db, "invalid attribute name: only A-Z, a-z, 0-9, '_', '.' and '-' may be used");
    return TREX_PAM_BAD_ITEM;
}

int tp_admin_known_user(trex_pam_db_t *db, const char *name)
{
    struct tp_user u;
    int rc;

    if (!tp_store_keeps(db->st, TP_STORE_KEEPS_USERS))
        return TREX_PAM_SUCCESS;
    tp_user_init(&u);
    rc = tp_admin_from_store(db, tp_store_user_get(db->st, name, &u), name);
    tp_user_clear(&u);
    return rc;
}

int64_t tp_admin_now(void)
{
    return (int64_t)time(NULL);
}

/* ---- opening ------------------------------------------------------------------ */

/* The configuration directory a service would read, whose store
 * configuration file names the store when nothing else does. */
static const char *admin_confdir(void)
{
    const char *dir = secure_getenv("TREX_PAM_CONFDIR");
    return dir != NULL && *dir != '\0' ? dir : TREX_PAM_DEFAULT_CONFDIR;
}

int trex_pam_db_open(const char *path, int flags, trex_pam_db_t **out, char *err, size_t errlen)
{
    trex_pam_db_t *db = NULL;
    int sflags = 0, rc;
    const char *file;
    char where[TP_STORE_LOCATION_MAX] = "";

    if (out != NULL)
        *out = NULL;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if ((flags & ~(TREX_PAM_DB_CREATE | TREX_PAM_DB_RDONLY | TREX_PAM_DB_GROUP)) != 0
        || ((flags & TREX_PAM_DB_CREATE) && (flags & TREX_PAM_DB_RDONLY))) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "invalid open flags (create and read-only exclude each other)");
        return TREX_PAM_BAD_ITEM;
    }
    if ((file = tp_store_location(path, NULL, admin_confdir(), where, sizeof where, err, errlen))
        == NULL)
        return TREX_PAM_AUTHINFO_UNAVAIL;
    db = calloc(1, sizeof *db);
    if (db != NULL)
        db->path = strdup(file);
    tp_secret_wipe(where, strlen(where));
    if (db == NULL || db->path == NULL) {
        free(db);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "out of memory");
        return TREX_PAM_BUF_ERR;
    }
    db->flags = flags;
    if (flags & TREX_PAM_DB_CREATE)
        sflags |= TP_STORE_CREATE;
    if (flags & TREX_PAM_DB_RDONLY)
        sflags |= TP_STORE_RDONLY;
    if (flags & TREX_PAM_DB_GROUP)
        sflags |= TP_STORE_GROUP;
    rc = tp_store_open(db->path, sflags, &db->st, err, errlen);
    if (rc != TP_STORE_OK) {
        if (err != NULL && errlen > 0 && err[0] == '\0')
            snprintf(err, errlen, "%s: cannot open the user database",
                     tp_store_file(db->path) != NULL ? tp_store_file(db->path) : "the store");
        tp_secret_drop(&db->path);
        free(db);
        return rc == TP_STORE_UNAVAIL || rc == TP_STORE_NOTFOUND ? TREX_PAM_AUTHINFO_UNAVAIL
                                                                 : TREX_PAM_SYSTEM_ERR;
    }
    *out = db;
    return TREX_PAM_SUCCESS;
}

const char *trex_pam_db_file(const char *path)
{
    static __thread char where[TP_STORE_LOCATION_MAX];
    const char *loc, *file;

    tp_secret_wipe(where, sizeof where);
    loc = tp_store_location(path, NULL, admin_confdir(), where, sizeof where, NULL, 0);
    file = loc != NULL ? tp_store_file(loc) : NULL;
    if (file == NULL)
        tp_secret_wipe(where, sizeof where);    /* a server's location: no copy kept */
    return file;
}

int trex_pam_db_use_sessions(trex_pam_db_t *db, const char *location, char *err, size_t errlen)
{
    struct tp_store *st = NULL;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (db == NULL || location == NULL || *location == '\0')
        return TREX_PAM_SYSTEM_ERR;
    rc = tp_store_open(location, (db->flags & TREX_PAM_DB_RDONLY) ? TP_STORE_RDONLY : 0, &st,
                       err, errlen);
    if (rc != TP_STORE_OK) {
        if (err != NULL && errlen > 0 && err[0] == '\0')
            snprintf(err, errlen, "%s: cannot open the sessions' store",
                     tp_store_file(location) != NULL ? tp_store_file(location) : "the server");
        return rc == TP_STORE_UNAVAIL || rc == TP_STORE_NOTFOUND ? TREX_PAM_AUTHINFO_UNAVAIL
                                                                 : TREX_PAM_SYSTEM_ERR;
    }
    if (!tp_store_keeps(st, TP_STORE_KEEPS_SESSIONS)) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: this store keeps no sessions", tp_store_where(st));
        tp_store_close(st);
        return TREX_PAM_BAD_ITEM;
    }
    tp_store_close(db->sst);
    db->sst = st;
    return TREX_PAM_SUCCESS;
}

const char *trex_pam_db_sessions_where(const trex_pam_db_t *db)
{
    return db ? tp_store_where(tp_admin_sessions(db)) : NULL;
}

int trex_pam_db_keeps(const trex_pam_db_t *db)
{
    if (db == NULL)
        return 0;
    return (tp_store_keeps(db->st, TP_STORE_KEEPS_USERS) ? TREX_PAM_DB_KEEPS_USERS : 0)
           | (tp_store_keeps(tp_admin_sessions(db), TP_STORE_KEEPS_SESSIONS)
              ? TREX_PAM_DB_KEEPS_SESSIONS : 0)
           | (tp_store_keeps(db->st, TP_STORE_KEEPS_TALLIES) ? TREX_PAM_DB_KEEPS_TALLIES : 0);
}

void trex_pam_db_close(trex_pam_db_t *db)
{
    if (db == NULL)
        return;
    tp_store_close(db->sst);
    tp_store_close(db->st);
    tp_secret_drop(&db->path);     /* a server's location may hold its password */
    free(db);
}

const char *trex_pam_db_path(const trex_pam_db_t *db)
{
    return db ? db->path : NULL;
}

const char *trex_pam_db_where(const trex_pam_db_t *db)
{
    return db ? tp_store_where(db->st) : NULL;
}

const char *trex_pam_db_error(const trex_pam_db_t *db)
{
    return db ? db->err : "no database";
}

const char *trex_pam_db_strerror(int status)
{
    switch (status) {
    case TREX_PAM_SUCCESS:          return "success";
    case TREX_PAM_AUTHINFO_UNAVAIL: return "the user database cannot be used";
    case TREX_PAM_USER_UNKNOWN:     return "no such user";
    case TREX_PAM_DB_EXISTS:        return "user already exists";
    case TREX_PAM_DB_NO_SESSION:    return "no such session";
    case TREX_PAM_BAD_ITEM:         return "invalid argument";
    case TREX_PAM_PERM_DENIED:      return "the user database is open read-only";
    case TREX_PAM_TRY_AGAIN:        return "changed concurrently; try again";
    case TREX_PAM_BUF_ERR:          return "out of memory";
    case TREX_PAM_SYSTEM_ERR:       return "user database error";
    default:                        return "unknown status";
    }
}
