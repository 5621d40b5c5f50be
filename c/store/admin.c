/*
 * admin.c - the administrator's interface to the user database
 * (c/include/trex_pam_admin.h) over the store interface (store.h) and the
 * libxcrypt helpers (hash.h).
 *
 * What it adds to the store: the rules for names and values, hashing a new
 * password under a policy, refusing hashes libxcrypt cannot verify, a
 * read-only guard, the translation of store codes to the TREX_PAM_* codes of
 * the public header, and one error line per failure. Every hash it makes or
 * copies is wiped before it is freed.
 *
 * Sessions are shown by a handle (a digest of the stored digest, never the
 * digest itself) and ended through the store's digest calls; failure
 * tallies are read with the store's counting call only (the times of the
 * failures are found by bisection over the counts) and judged by the
 * faillock module's rule (c/modules/faillock.c, check()).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <crypt.h>
#include <sodium.h>

#include "trex_pam_admin.h"
#include "store.h"
#include "hash.h"

struct trex_pam_db {
    struct tp_store *st;
    int flags;
    char *path;
    char err[512];
};

/* ---- small helpers ------------------------------------------------------------ */

static void wipe_str(char *s)
{
    if (s != NULL)
        explicit_bzero(s, strlen(s));
}

static void drop_secret(char **p)
{
    if (*p == NULL)
        return;
    wipe_str(*p);
    free(*p);
    *p = NULL;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void set_err(trex_pam_db_t *db, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(db->err, sizeof db->err, fmt, ap);
    va_end(ap);
}

/* A store code as an API status; the store's reason goes to db->err. */
static int from_store(trex_pam_db_t *db, int rc, const char *name)
{
    switch (rc) {
    case TP_STORE_OK:
        return TREX_PAM_SUCCESS;
    case TP_STORE_NOTFOUND:
        set_err(db, "%s: no such user", name ? name : "?");
        return TREX_PAM_USER_UNKNOWN;
    case TP_STORE_EXISTS:
        set_err(db, "%s: user already exists", name ? name : "?");
        return TREX_PAM_DB_EXISTS;
    case TP_STORE_CONFLICT:
        set_err(db, "%s: changed by someone else meanwhile; try again", name ? name : "?");
        return TREX_PAM_TRY_AGAIN;
    case TP_STORE_UNAVAIL: {
        const char *why = tp_store_error(db->st);
        set_err(db, "%s", why && *why ? why : "the user database cannot be used");
        return TREX_PAM_AUTHINFO_UNAVAIL;
    }
    default: {
        const char *why = tp_store_error(db->st);
        set_err(db, "%s", why && *why ? why : "user database error");
        return TREX_PAM_SYSTEM_ERR;
    }
    }
}

/* Start of every call: a usable handle, and for changes a writable one. */
static int begin(trex_pam_db_t *db, int write)
{
    if (db == NULL)
        return TREX_PAM_SYSTEM_ERR;
    db->err[0] = '\0';
    if (write && (db->flags & TREX_PAM_DB_RDONLY)) {
        set_err(db, "%s: opened read-only", db->path);
        return TREX_PAM_PERM_DENIED;
    }
    return TREX_PAM_SUCCESS;
}

int trex_pam_db_valid_user(const char *name)
{
    size_t n = 0;

    if (name == NULL)
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++, n++) {
        if (*p < 0x20 || *p == 0x7f || *p == ':' || *p == '/')
            return 0;
    }
    return n > 0 && n <= TREX_PAM_DB_NAME_MAX;
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
static int bad_user(trex_pam_db_t *db, const char *name)
{
    if (name == NULL || *name == '\0')
        set_err(db, "invalid user name: empty");
    else if (strlen(name) > TREX_PAM_DB_NAME_MAX)
        set_err(db, "invalid user name: longer than %d bytes", TREX_PAM_DB_NAME_MAX);
    else if (strchr(name, ':') != NULL)
        set_err(db, "invalid user name: contains ':'");
    else if (strchr(name, '/') != NULL)
        set_err(db, "invalid user name: contains '/'");
    else
        set_err(db, "invalid user name: contains a control character");
    return TREX_PAM_BAD_ITEM;
}

static int bad_attr(trex_pam_db_t *db, const char *attr)
{
    if (attr == NULL || *attr == '\0')
        set_err(db, "invalid attribute name: empty");
    else if (strlen(attr) > TREX_PAM_DB_NAME_MAX)
        set_err(db, "invalid attribute name: longer than %d bytes", TREX_PAM_DB_NAME_MAX);
    else
        set_err(db, "invalid attribute name: only A-Z, a-z, 0-9, '_', '.' and '-' may be used");
    return TREX_PAM_BAD_ITEM;
}

int trex_pam_db_hash_usable(const char *hash)
{
    return hash != NULL && *hash != '\0' && tp_hash_usable(hash) == 1;
}

const char *trex_pam_db_hash_method(const char *hash)
{
    static const struct { const char *prefix, *name; } known[] = {
        { "$y$", "yescrypt" }, { "$gy$", "gost-yescrypt" }, { "$7$", "scrypt" },
        { "$2b$", "bcrypt" }, { "$2a$", "bcrypt" }, { "$2y$", "bcrypt" }, { "$2x$", "bcrypt" },
        { "$6$", "sha512crypt" }, { "$5$", "sha256crypt" }, { "$sha1$", "sha1crypt" },
        { "$md5", "sunmd5" }, { "$1$", "md5crypt" }, { "$3$", "nt" }, { "_", "bsdicrypt" },
    };

    if (hash == NULL || *hash == '\0')
        return "none";
    if (!trex_pam_db_hash_usable(hash))
        return "unusable";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strncmp(hash, known[i].prefix, strlen(known[i].prefix)) == 0)
            return known[i].name;
    return strlen(hash) == 13 ? "descrypt" : "unusable";
}

/* The policy of method/cost (NULL: the defaults): 0, or -1 if unknown. */
static int get_policy(struct tp_hash_policy *p, const char *method, const char *cost)
{
    tp_hash_policy_default(p);
    if (method == NULL && cost == NULL)
        return 0;
    if (method == NULL)
        method = p->prefix;             /* a cost for the default method */
    return tp_hash_policy_set(p, method, cost) == 0 ? 0 : -1;
}

int trex_pam_db_check_policy(const char *method, const char *cost)
{
    struct tp_hash_policy p;
    return get_policy(&p, method, cost) == 0 ? TREX_PAM_SUCCESS : TREX_PAM_BAD_ITEM;
}

static const char *const methods[] = {
    "yescrypt", "gost-yescrypt", "scrypt", "bcrypt", "sha512crypt", "sha256crypt",
    "md5crypt", "descrypt",
};

int trex_pam_db_method(size_t i, const char **name, int *usable)
{
    struct tp_hash_policy p;

    if (i >= sizeof methods / sizeof methods[0])
        return 0;
    if (name != NULL)
        *name = methods[i];
    if (usable != NULL)
        *usable = tp_hash_policy_set(&p, methods[i], NULL) == 0;
    return 1;
}

/* Hash password under method/cost into out (CRYPT_OUTPUT_SIZE bytes). */
static int make_hash(trex_pam_db_t *db, const char *password, const char *method,
                     const char *cost, char *out, size_t outlen)
{
    struct tp_hash_policy p;

    if (get_policy(&p, method, cost) != 0) {
        set_err(db, "unknown hashing method or cost (method %s, cost %s)",
                method ? method : "default", cost ? cost : "default");
        return TREX_PAM_BAD_ITEM;
    }
    if (tp_hash_make(password, &p, out, outlen) != 0 || !trex_pam_db_hash_usable(out)) {
        explicit_bzero(out, outlen);
        set_err(db, "hashing the password failed (method %s)", method ? method : "default");
        return TREX_PAM_SYSTEM_ERR;
    }
    return TREX_PAM_SUCCESS;
}

/* The fields of u named by mask are in range. */
static int check_fields(trex_pam_db_t *db, const struct trex_pam_db_user *u, unsigned int mask)
{
    if ((mask & TREX_PAM_DB_DISABLED) && u->disabled != 0 && u->disabled != 1)
        set_err(db, "disabled must be 0 or 1");
    else if ((mask & TREX_PAM_DB_FORCE_CHANGE) && u->force_change != 0 && u->force_change != 1)
        set_err(db, "force_change must be 0 or 1");
    else if ((mask & TREX_PAM_DB_EXPIRES) && u->expires < 0)
        set_err(db, "expires must be a time (0 for never)");
    else if ((mask & TREX_PAM_DB_MIN_DAYS) && u->min_days < 0)
        set_err(db, "min_days must be 0 or more");
    else if ((mask & TREX_PAM_DB_MAX_DAYS) && u->max_days < -1)
        set_err(db, "max_days must be -1 (no limit) or more");
    else if ((mask & TREX_PAM_DB_WARN_DAYS) && u->warn_days < 0)
        set_err(db, "warn_days must be 0 or more");
    else if ((mask & (TREX_PAM_DB_HASH | TREX_PAM_DB_PW_CHANGED)) && u->pw_changed < 0)
        set_err(db, "pw_changed must be a time (0 for now)");
    else
        return TREX_PAM_SUCCESS;
    return TREX_PAM_BAD_ITEM;
}

static int64_t now(void)
{
    return (int64_t)time(NULL);
}

/* ---- opening ------------------------------------------------------------------ */

int trex_pam_db_open(const char *path, int flags, trex_pam_db_t **out, char *err, size_t errlen)
{
    trex_pam_db_t *db = NULL;
    int sflags = 0, rc;
    const char *file;

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
    file = tp_store_path(path);
    if ((db = calloc(1, sizeof *db)) == NULL || (db->path = strdup(file)) == NULL) {
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
            snprintf(err, errlen, "%s: cannot open the user database", db->path);
        free(db->path);
        free(db);
        return rc == TP_STORE_UNAVAIL || rc == TP_STORE_NOTFOUND ? TREX_PAM_AUTHINFO_UNAVAIL
                                                                 : TREX_PAM_SYSTEM_ERR;
    }
    *out = db;
    return TREX_PAM_SUCCESS;
}

const char *trex_pam_db_file(const char *path)
{
    return tp_store_path(path);
}

void trex_pam_db_close(trex_pam_db_t *db)
{
    if (db == NULL)
        return;
    tp_store_close(db->st);
    free(db->path);
    free(db);
}

const char *trex_pam_db_path(const trex_pam_db_t *db)
{
    return db ? db->path : NULL;
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

/* ---- users ------------------------------------------------------------------------ */

void trex_pam_db_user_init(struct trex_pam_db_user *u)
{
    memset(u, 0, sizeof *u);
    u->max_days = -1;
}

/* A store record from a public one; strings are lent (not copied). attrs is
 * a caller-provided array of u->nattrs. */
static void to_store(const struct trex_pam_db_user *u, struct tp_user *s, struct tp_attr *attrs)
{
    tp_user_init(s);
    s->name = u->name;
    s->hash = u->hash;
    s->disabled = u->disabled;
    s->force_change = u->force_change;
    s->expires = u->expires;
    s->pw_changed = u->pw_changed;
    s->pw_min_days = u->min_days;
    s->pw_max_days = u->max_days;
    s->pw_warn_days = u->warn_days;
    s->created = 0;
    s->attrs = NULL;
    s->nattrs = 0;
    if (attrs != NULL && u->nattrs > 0) {
        for (size_t i = 0; i < u->nattrs; i++) {
            attrs[i].name = u->attrs[i].name;
            attrs[i].value = u->attrs[i].value;
        }
        s->attrs = attrs;
        s->nattrs = u->nattrs;
    }
}

int trex_pam_db_user_add(trex_pam_db_t *db, const struct trex_pam_db_user *u,
                         const char *password, const char *method, const char *cost)
{
    char hash[CRYPT_OUTPUT_SIZE], empty[1] = "";
    struct tp_user s;
    struct tp_attr *attrs = NULL;
    int rc;

    if ((rc = begin(db, 1)) != TREX_PAM_SUCCESS)
        return rc;
    if (u == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (!trex_pam_db_valid_user(u->name))
        return bad_user(db, u->name);
    if ((rc = check_fields(db, u, TREX_PAM_DB_ALL_FIELDS)) != TREX_PAM_SUCCESS)
        return rc;
    for (size_t i = 0; i < u->nattrs; i++) {
        if (!trex_pam_db_valid_attr(u->attrs[i].name))
            return bad_attr(db, u->attrs[i].name);
        if (u->attrs[i].value == NULL) {
            set_err(db, "attribute %s: no value", u->attrs[i].name);
            return TREX_PAM_BAD_ITEM;
        }
    }
    if (u->nattrs > 0 && (attrs = calloc(u->nattrs, sizeof *attrs)) == NULL) {
        set_err(db, "out of memory");
        return TREX_PAM_BUF_ERR;
    }
    to_store(u, &s, attrs);
    hash[0] = '\0';
    if (password != NULL) {
        if (u->hash != NULL && *u->hash != '\0') {
            set_err(db, "%s: a password and a hash at once", u->name);
            rc = TREX_PAM_BAD_ITEM;
            goto done;
        }
        if ((rc = make_hash(db, password, method, cost, hash, sizeof hash)) != TREX_PAM_SUCCESS)
            goto done;
        s.hash = hash;
    } else if (u->hash != NULL && *u->hash != '\0') {
        if (!trex_pam_db_hash_usable(u->hash)) {
            set_err(db, "%s: the hash is not one libxcrypt can verify", u->name);
            rc = TREX_PAM_BAD_ITEM;
            goto done;
        }
    } else {
        s.hash = empty;
    }
    if (*s.hash != '\0' && s.pw_changed == 0)
        s.pw_changed = now();
    if (*s.hash == '\0')
        s.pw_changed = 0;
    rc = from_store(db, tp_store_user_add(db->st, &s), u->name);
done:
    explicit_bzero(hash, sizeof hash);
    free(attrs);
    return rc;
}

int trex_pam_db_user_update(trex_pam_db_t *db, const struct trex_pam_db_user *u,
                            unsigned int mask)
{
    struct tp_user s;
    unsigned int smask = 0;
    int rc;

    if ((rc = begin(db, 1)) != TREX_PAM_SUCCESS)
        return rc;
    if (u == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (!trex_pam_db_valid_user(u->name))
        return bad_user(db, u->name);
    if ((mask & ~(unsigned int)TREX_PAM_DB_ALL_FIELDS) != 0) {
        set_err(db, "invalid field mask 0x%x", mask);
        return TREX_PAM_BAD_ITEM;
    }
    if ((rc = check_fields(db, u, mask)) != TREX_PAM_SUCCESS)
        return rc;
    if ((mask & TREX_PAM_DB_HASH) && !trex_pam_db_hash_usable(u->hash)) {
        set_err(db, "%s: the hash is not one libxcrypt can verify", u->name);
        return TREX_PAM_BAD_ITEM;
    }
    to_store(u, &s, NULL);
    if (mask & TREX_PAM_DB_HASH) {
        smask |= TP_USER_HASH | TP_USER_PW_CHANGED;
        if (s.pw_changed == 0)
            s.pw_changed = now();
    }
    if (mask & TREX_PAM_DB_PW_CHANGED)
        smask |= TP_USER_PW_CHANGED;
    if (mask & TREX_PAM_DB_DISABLED)
        smask |= TP_USER_DISABLED;
    if (mask & TREX_PAM_DB_FORCE_CHANGE)
        smask |= TP_USER_FORCE_CHANGE;
    if (mask & TREX_PAM_DB_EXPIRES)
        smask |= TP_USER_EXPIRES;
    if (mask & TREX_PAM_DB_MIN_DAYS)
        smask |= TP_USER_PW_MIN;
    if (mask & TREX_PAM_DB_MAX_DAYS)
        smask |= TP_USER_PW_MAX;
    if (mask & TREX_PAM_DB_WARN_DAYS)
        smask |= TP_USER_PW_WARN;
    if (smask == 0) {                   /* nothing to write: only check the user exists */
        struct tp_user tmp;
        tp_user_init(&tmp);
        rc = from_store(db, tp_store_user_get(db->st, u->name, &tmp), u->name);
        tp_user_clear(&tmp);
        return rc;
    }
    return from_store(db, tp_store_user_update(db->st, &s, smask), u->name);
}

int trex_pam_db_set_password(trex_pam_db_t *db, const char *name, const char *password,
                             const char *method, const char *cost)
{
    char hash[CRYPT_OUTPUT_SIZE];
    int rc;

    if ((rc = begin(db, 1)) != TREX_PAM_SUCCESS)
        return rc;
    if (!trex_pam_db_valid_user(name))
        return bad_user(db, name);
    if (password == NULL || *password == '\0') {
        set_err(db, "%s: an empty password is not set", name);
        return TREX_PAM_BAD_ITEM;
    }
    if ((rc = make_hash(db, password, method, cost, hash, sizeof hash)) != TREX_PAM_SUCCESS)
        return rc;
    rc = from_store(db, tp_store_user_set_hash(db->st, name, NULL, hash, now()), name);
    explicit_bzero(hash, sizeof hash);
    return rc;
}

int trex_pam_db_attr_set(trex_pam_db_t *db, const char *name, const char *attr,
                         const char *value)
{
    int rc;

    if ((rc = begin(db, 1)) != TREX_PAM_SUCCESS)
        return rc;
    if (!trex_pam_db_valid_user(name))
        return bad_user(db, name);
    if (!trex_pam_db_valid_attr(attr))
        return bad_attr(db, attr);
    return from_store(db, tp_store_attr_set(db->st, name, attr, value), name);
}

int trex_pam_db_user_delete(trex_pam_db_t *db, const char *name)
{
    int rc;

    if ((rc = begin(db, 1)) != TREX_PAM_SUCCESS)
        return rc;
    if (!trex_pam_db_valid_user(name))
        return bad_user(db, name);
    return from_store(db, tp_store_user_delete(db->st, name), name);
}

void trex_pam_db_user_free(struct trex_pam_db_user *u)
{
    if (u == NULL)
        return;
    free(u->name);
    drop_secret(&u->hash);
    for (size_t i = 0; i < u->nattrs; i++) {
        free(u->attrs[i].name);
        free(u->attrs[i].value);
    }
    free(u->attrs);
    explicit_bzero(u, sizeof *u);
    free(u);
}

/* A copy of a store record, or NULL (out of memory). */
/* The account fields of a store record (not name, hash, attributes). */
static void copy_fields(struct trex_pam_db_user *u, const struct tp_user *s)
{
    u->disabled = s->disabled;
    u->force_change = s->force_change;
    u->expires = s->expires;
    u->pw_changed = s->pw_changed;
    u->min_days = s->pw_min_days;
    u->max_days = s->pw_max_days;
    u->warn_days = s->pw_warn_days;
    u->created = s->created;
}

static struct trex_pam_db_user *copy_user(const struct tp_user *s)
{
    struct trex_pam_db_user *u = calloc(1, sizeof *u);

    if (u == NULL)
        return NULL;
    copy_fields(u, s);
    if ((u->name = strdup(s->name ? s->name : "")) == NULL
        || (u->hash = strdup(s->hash ? s->hash : "")) == NULL)
        goto fail;
    if (s->nattrs > 0) {
        if ((u->attrs = calloc(s->nattrs, sizeof *u->attrs)) == NULL)
            goto fail;
        for (size_t i = 0; i < s->nattrs; i++, u->nattrs++) {
            u->attrs[i].name = strdup(s->attrs[i].name ? s->attrs[i].name : "");
            u->attrs[i].value = strdup(s->attrs[i].value ? s->attrs[i].value : "");
            if (u->attrs[i].name == NULL || u->attrs[i].value == NULL) {
                u->nattrs++;
                goto fail;
            }
        }
    }
    return u;
fail:
    trex_pam_db_user_free(u);
    return NULL;
}

int trex_pam_db_user_get(trex_pam_db_t *db, const char *name, struct trex_pam_db_user **out)
{
    struct tp_user s;
    int rc;

    if (out != NULL)
        *out = NULL;
    if ((rc = begin(db, 0)) != TREX_PAM_SUCCESS)
        return rc;
    if (out == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (!trex_pam_db_valid_user(name))
        return bad_user(db, name);
    tp_user_init(&s);
    rc = from_store(db, tp_store_user_get(db->st, name, &s), name);
    if (rc == TREX_PAM_SUCCESS && (*out = copy_user(&s)) == NULL) {
        set_err(db, "out of memory");
        rc = TREX_PAM_BUF_ERR;
    }
    tp_user_clear(&s);
    return rc;
}

struct walk {
    int (*fn)(void *data, const struct trex_pam_db_user *u);
    void *data;
    int rc;
};

/* The store's callback: the record as a public struct, lent to fn. */
static int walk_one(void *data, const struct tp_user *s)
{
    struct walk *w = data;
    struct trex_pam_db_user u;
    int stop;

    memset(&u, 0, sizeof u);
    u.name = s->name;
    u.hash = s->hash;
    copy_fields(&u, s);
    if (s->nattrs > 0) {
        if ((u.attrs = calloc(s->nattrs, sizeof *u.attrs)) == NULL) {
            w->rc = TREX_PAM_BUF_ERR;
            return 1;
        }
        for (size_t i = 0; i < s->nattrs; i++) {
            u.attrs[i].name = s->attrs[i].name;
            u.attrs[i].value = s->attrs[i].value;
        }
        u.nattrs = s->nattrs;
    }
    stop = w->fn(w->data, &u);
    free(u.attrs);
    return stop;
}

int trex_pam_db_user_list(trex_pam_db_t *db,
                          int (*fn)(void *data, const struct trex_pam_db_user *u), void *data)
{
    struct walk w;
    int rc;

    if ((rc = begin(db, 0)) != TREX_PAM_SUCCESS)
        return rc;
    if (fn == NULL)
        return TREX_PAM_SYSTEM_ERR;
    w.fn = fn;
    w.data = data;
    w.rc = TREX_PAM_SUCCESS;
    rc = from_store(db, tp_store_user_list(db->st, walk_one, &w), NULL);
    if (rc == TREX_PAM_SUCCESS && w.rc != TREX_PAM_SUCCESS) {
        set_err(db, "out of memory");
        rc = w.rc;
    }
    return rc;
}


/* ---- sessions ------------------------------------------------------------------------ */

#define MAX_SECONDS ((int64_t)INT32_MAX)        /* the session module's limit */
#define MAX_FAIL_SECONDS ((int64_t)604800)       /* the faillock module's (7 days) */
#define MAX_DENY 65535

/* The user name exists: SUCCESS, USER_UNKNOWN or another error (db->err set). */
static int known_user(trex_pam_db_t *db, const char *name)
{
    struct tp_user u;
    int rc;

    tp_user_init(&u);
    rc = from_store(db, tp_store_user_get(db->st, name, &u), name);
    tp_user_clear(&u);
    return rc;
}

/* The handle of a stored digest: 8 lowercase hex digits and a NUL. The
 * fixed key separates it from the digests of IDs (also BLAKE2b): a handle
 * is never a part of what the store keeps for some ID. */
static int make_handle(const unsigned char digest[TP_SESSION_DIGEST_LEN],
                       char out[TREX_PAM_DB_HANDLE_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    static const char key[] = TREX_PAM_DB_HANDLE_KEY;
    unsigned char h[crypto_generichash_BYTES];

    if (crypto_generichash(h, sizeof h, digest, TP_SESSION_DIGEST_LEN,
                           (const unsigned char *)key, sizeof key - 1) != 0) {
        memset(out, 0, TREX_PAM_DB_HANDLE_LEN + 1);
        return -1;
    }
    for (size_t i = 0; i < TREX_PAM_DB_HANDLE_LEN / 2; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 0xf];
    }
    out[TREX_PAM_DB_HANDLE_LEN] = '\0';
    sodium_memzero(h, sizeof h);
    return 0;
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

/* libsodium ready (sodium_init is idempotent): 0, or -1 with db->err set. */
static int crypto_ready(trex_pam_db_t *db)
{
    if (sodium_init() < 0) {
        set_err(db, "libsodium cannot be used");
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
    if (make_handle(s->digest, out.handle) != 0) {
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

    if ((rc = begin(db, 0)) != TREX_PAM_SUCCESS)
        return rc;
    if (fn == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (name != NULL) {
        if (!trex_pam_db_valid_user(name))
            return bad_user(db, name);
        if ((rc = known_user(db, name)) != TREX_PAM_SUCCESS)
            return rc;
    }
    if (crypto_ready(db) != 0)
        return TREX_PAM_SYSTEM_ERR;
    w.fn = fn;
    w.data = data;
    w.rc = TREX_PAM_SUCCESS;
    rc = from_store(db, tp_store_session_list(db->st, name, session_one, &w), name);
    if (rc == TREX_PAM_SUCCESS && w.rc != TREX_PAM_SUCCESS) {
        set_err(db, "computing a session handle failed");
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

    if (make_handle(s->digest, h) != 0) {
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
    if ((rc = begin(db, 1)) != TREX_PAM_SUCCESS)
        return rc;
    if (!trex_pam_db_valid_user(name))
        return bad_user(db, name);
    if (handle != NULL && !trex_pam_db_valid_handle(handle)) {
        set_err(db, "invalid session handle: want %d hex digits (as trex-pam sessions shows them)",
                TREX_PAM_DB_HANDLE_LEN);
        return TREX_PAM_BAD_ITEM;
    }
    if ((rc = known_user(db, name)) != TREX_PAM_SUCCESS)
        return rc;
    if (handle == NULL) {
        rc = from_store(db, tp_store_session_delete_user(db->st, name, NULL, &n), name);
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
    rc = from_store(db, tp_store_session_list(db->st, name, session_match, &f), name);
    if (rc == TREX_PAM_SUCCESS && f.rc != TREX_PAM_SUCCESS) {
        set_err(db, "computing a session handle failed");
        rc = f.rc;
    }
    if (rc != TREX_PAM_SUCCESS)
        goto done;
    if (f.found > 1) {
        set_err(db, "%s: %d sessions have the handle %s; end them all with --revoke-all",
                name, f.found, f.handle);
        rc = TREX_PAM_BAD_ITEM;
        goto done;
    }
    src = f.found == 1 ? tp_store_session_delete(db->st, f.digest[0]) : TP_STORE_NOTFOUND;
    if (src == TP_STORE_NOTFOUND) {     /* none, or ended meanwhile */
        set_err(db, "%s: no session %s", name, f.handle);
        rc = TREX_PAM_DB_NO_SESSION;
        goto done;
    }
    if ((rc = from_store(db, src, name)) == TREX_PAM_SUCCESS && count != NULL)
        *count = 1;
done:
    sodium_memzero(&f, sizeof f);
    return rc;
}

int trex_pam_db_session_purge(trex_pam_db_t *db, int64_t idle, int64_t lifetime, int *count)
{
    int64_t t;
    int rc, n = 0;

    if (count != NULL)
        *count = 0;
    if ((rc = begin(db, 1)) != TREX_PAM_SUCCESS)
        return rc;
    if (idle < 0 || idle > MAX_SECONDS || lifetime < 0 || lifetime > MAX_SECONDS) {
        set_err(db, "idle and lifetime must be from 0 to %lld seconds", (long long)MAX_SECONDS);
        return TREX_PAM_BAD_ITEM;
    }
    if (idle == 0 && lifetime == 0) {
        set_err(db, "nothing to purge: neither an idle time-out nor a lifetime");
        return TREX_PAM_BAD_ITEM;
    }
    t = now();
    /* the module's rule: expired when now - last_used > idle or now - created > lifetime */
    rc = from_store(db, tp_store_session_purge(db->st, idle > 0 ? t - idle : 0,
                                               lifetime > 0 ? t - lifetime : 0, &n), NULL);
    if (rc == TREX_PAM_SUCCESS && count != NULL)
        *count = n;
    return rc;
}

/* ---- failure tallies --------------------------------------------------------------------- */

/* Failures of name at or after since (and the latest time, if asked). */
static int fail_since(trex_pam_db_t *db, const char *name, int64_t since, int *n, int64_t *latest)
{
    return from_store(db, tp_store_fail_count(db->st, name, since, n, latest), name);
}

int trex_pam_db_faillock_get(trex_pam_db_t *db, const char *name, int deny,
                             int64_t fail_interval, int64_t unlock_time,
                             struct trex_pam_db_faillock *out)
{
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if ((rc = begin(db, 0)) != TREX_PAM_SUCCESS)
        return rc;
    if (out == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (!trex_pam_db_valid_user(name))
        return bad_user(db, name);
    if (deny < 0 || deny > MAX_DENY) {
        set_err(db, "deny must be from 0 to %d", MAX_DENY);
        return TREX_PAM_BAD_ITEM;
    }
    if (fail_interval < 0 || fail_interval > MAX_FAIL_SECONDS || unlock_time < 0
        || unlock_time > MAX_FAIL_SECONDS) {
        set_err(db, "fail_interval and unlock_time must be from 0 to %lld seconds",
                (long long)MAX_FAIL_SECONDS);
        return TREX_PAM_BAD_ITEM;
    }
    if ((rc = known_user(db, name)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = fail_since(db, name, 0, &out->total, &out->latest)) != TREX_PAM_SUCCESS)
        return rc;
    if (out->total == 0)
        return TREX_PAM_SUCCESS;
    /* less than fail_interval before the latest: time >= latest - fail_interval + 1 */
    if ((rc = fail_since(db, name, out->latest - fail_interval + 1, &out->failures, NULL))
        != TREX_PAM_SUCCESS)
        return rc;
    if (deny > 0 && out->failures >= deny
        && (unlock_time == 0 || out->latest + unlock_time >= now())) {
        out->locked = 1;
        out->unlock_at = unlock_time > 0 ? out->latest + unlock_time : 0;
    }
    return TREX_PAM_SUCCESS;
}

/* The failures of name from since up to and including the second until. */
static int fail_window(trex_pam_db_t *db, const char *name, int64_t since, int64_t until, int *n)
{
    int all = 0, after = 0, rc;

    *n = 0;
    if ((rc = fail_since(db, name, since, &all, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    if (until < INT64_MAX && (rc = fail_since(db, name, until + 1, &after, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    *n = all - after;
    return TREX_PAM_SUCCESS;
}

struct fail_second {
    int64_t time;
    int count;
};

int trex_pam_db_faillock_list(trex_pam_db_t *db, const char *name,
                              int (*fn)(void *data, int64_t time, int count), void *data)
{
    struct fail_second *v = NULL;
    size_t n = 0, cap = 0;
    int64_t latest = 0, t;
    int total = 0, cum = 0, c = 0, rc;

    if ((rc = begin(db, 0)) != TREX_PAM_SUCCESS)
        return rc;
    if (fn == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (!trex_pam_db_valid_user(name))
        return bad_user(db, name);
    if ((rc = known_user(db, name)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = fail_since(db, name, 0, &total, &latest)) != TREX_PAM_SUCCESS || total == 0)
        return rc;
    /*
     * The store gives counts, not rows. window(t), the failures from t up
     * to latest, falls as t grows, one step per second with failures; from
     * the latest second down, the next earlier one is the largest t below
     * it where window(t) is more than so far (bisection), and the
     * difference is its count. Failures recorded meanwhile (after latest)
     * stay out of every window; a reset meanwhile ends the walk.
     */
    t = latest;
    if ((rc = fail_window(db, name, t, latest, &cum)) != TREX_PAM_SUCCESS)
        goto done;
    for (int here = cum; here > 0;) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct fail_second *nv = realloc(v, ncap * sizeof *nv);
            if (nv == NULL) {
                set_err(db, "out of memory");
                rc = TREX_PAM_BUF_ERR;
                goto done;
            }
            v = nv;
            cap = ncap;
        }
        v[n].time = t;
        v[n].count = here;
        n++;
        if (t <= 0 || cum >= total)
            break;
        if ((rc = fail_window(db, name, 0, latest, &c)) != TREX_PAM_SUCCESS)
            goto done;
        if (c <= cum)
            break;                          /* none earlier (a reset meanwhile) */
        {
            int64_t lo = 0, hi = t - 1;     /* window(lo) > cum holds at lo = 0 */
            while (lo < hi) {
                int64_t mid = lo + (hi - lo + 1) / 2;
                if ((rc = fail_window(db, name, mid, latest, &c)) != TREX_PAM_SUCCESS)
                    goto done;
                if (c > cum)
                    lo = mid;
                else
                    hi = mid - 1;
            }
            if ((rc = fail_window(db, name, lo, latest, &c)) != TREX_PAM_SUCCESS)
                goto done;
            t = lo;
        }
        here = c - cum;
        cum = c;
    }
    for (size_t i = n; i-- > 0;)
        if (fn(data, v[i].time, v[i].count) != 0)
            break;
done:
    free(v);
    return rc;
}

int trex_pam_db_faillock_reset(trex_pam_db_t *db, const char *name, int *count)
{
    int rc, n = 0;

    if (count != NULL)
        *count = 0;
    if ((rc = begin(db, 1)) != TREX_PAM_SUCCESS)
        return rc;
    if (!trex_pam_db_valid_user(name))
        return bad_user(db, name);
    if ((rc = known_user(db, name)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = fail_since(db, name, 0, &n, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = from_store(db, tp_store_fail_reset(db->st, name), name)) == TREX_PAM_SUCCESS
        && count != NULL)
        *count = n;
    return rc;
}
