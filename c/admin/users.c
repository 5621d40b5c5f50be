/*
 * users.c - users for the administrator (trex_pam_admin.h): add, change,
 * set a password, attributes, delete, read and list; the hashing methods
 * and policies. Every hash made or copied here is wiped before it is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <crypt.h>
#include "admin.h"
#include "hash.h"
#include "secret.h"
#include "token.h"

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
    const char *refused = tp_token_password_refusal(password);

    if (refused != NULL) {
        tp_admin_err(db, "%s", refused);
        return TREX_PAM_AUTHTOK_ERR;
    }
    if (strlen(password) > TP_HASH_PASS_MAX) {         /* else "hashing failed", no reason */
        tp_admin_err(db, "the password is longer than %d bytes (libxcrypt's limit)",
                     TP_HASH_PASS_MAX);
        return TREX_PAM_BAD_ITEM;
    }
    if (get_policy(&p, method, cost) != 0) {
        tp_admin_err(db, "unknown hashing method or cost (method %s, cost %s)",
                method ? method : "default", cost ? cost : "default");
        return TREX_PAM_BAD_ITEM;
    }
    if (tp_hash_make(password, &p, out, outlen) != 0 || !trex_pam_db_hash_usable(out)) {
        tp_secret_wipe(out, outlen);
        tp_admin_err(db, "hashing the password failed (method %s)", method ? method : "default");
        return TREX_PAM_SYSTEM_ERR;
    }
    return TREX_PAM_SUCCESS;
}

/* The fields of u named by mask are in range. */
static int check_fields(trex_pam_db_t *db, const struct trex_pam_db_user *u, unsigned int mask)
{
    if ((mask & TREX_PAM_DB_DISABLED) && u->disabled != 0 && u->disabled != 1)
        tp_admin_err(db, "disabled must be 0 or 1");
    else if ((mask & TREX_PAM_DB_FORCE_CHANGE) && u->force_change != 0 && u->force_change != 1)
        tp_admin_err(db, "force_change must be 0 or 1");
    else if ((mask & TREX_PAM_DB_EXPIRES) && u->expires < 0)
        tp_admin_err(db, "expires must be a time (0 for never)");
    else if ((mask & TREX_PAM_DB_MIN_DAYS) && u->min_days < 0)
        tp_admin_err(db, "min_days must be 0 or more");
    else if ((mask & TREX_PAM_DB_MAX_DAYS) && u->max_days < -1)
        tp_admin_err(db, "max_days must be -1 (no limit) or more");
    else if ((mask & TREX_PAM_DB_WARN_DAYS) && u->warn_days < 0)
        tp_admin_err(db, "warn_days must be 0 or more");
    else if ((mask & (TREX_PAM_DB_HASH | TREX_PAM_DB_PW_CHANGED)) && u->pw_changed < 0)
        tp_admin_err(db, "pw_changed must be a time (0 for now)");
    else
        return TREX_PAM_SUCCESS;
    return TREX_PAM_BAD_ITEM;
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

    rc = tp_admin_begin(db, TP_ADMIN_WRITE | TP_ADMIN_USER, u != NULL, u ? u->name : NULL);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = check_fields(db, u, TREX_PAM_DB_ALL_FIELDS)) != TREX_PAM_SUCCESS)
        return rc;
    for (size_t i = 0; i < u->nattrs; i++) {
        if (!trex_pam_db_valid_attr(u->attrs[i].name))
            return tp_admin_bad_attr(db, u->attrs[i].name);
        if (u->attrs[i].value == NULL) {
            tp_admin_err(db, "attribute %s: no value", u->attrs[i].name);
            return TREX_PAM_BAD_ITEM;
        }
    }
    if (u->nattrs > 0 && (attrs = calloc(u->nattrs, sizeof *attrs)) == NULL) {
        tp_admin_err(db, "out of memory");
        return TREX_PAM_BUF_ERR;
    }
    to_store(u, &s, attrs);
    hash[0] = '\0';
    if (password != NULL) {
        if (u->hash != NULL && *u->hash != '\0') {
            tp_admin_err(db, "%s: a password and a hash at once", u->name);
            rc = TREX_PAM_BAD_ITEM;
            goto done;
        }
        if ((rc = make_hash(db, password, method, cost, hash, sizeof hash)) != TREX_PAM_SUCCESS)
            goto done;
        s.hash = hash;
    } else if (u->hash != NULL && *u->hash != '\0') {
        if (!trex_pam_db_hash_usable(u->hash)) {
            tp_admin_err(db, "%s: the hash is not one libxcrypt can verify", u->name);
            rc = TREX_PAM_BAD_ITEM;
            goto done;
        }
    } else {
        s.hash = empty;
    }
    if (*s.hash != '\0' && s.pw_changed == 0)
        s.pw_changed = tp_admin_now();
    if (*s.hash == '\0')
        s.pw_changed = 0;
    rc = tp_admin_from_store(db, tp_store_user_add(db->st, &s), u->name);
done:
    tp_secret_wipe(hash, sizeof hash);
    free(attrs);
    return rc;
}

int trex_pam_db_user_update(trex_pam_db_t *db, const struct trex_pam_db_user *u,
                            unsigned int mask)
{
    struct tp_user s;
    unsigned int smask = 0;
    int rc;

    rc = tp_admin_begin(db, TP_ADMIN_WRITE | TP_ADMIN_USER, u != NULL, u ? u->name : NULL);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    if ((mask & ~(unsigned int)TREX_PAM_DB_ALL_FIELDS) != 0) {
        tp_admin_err(db, "invalid field mask 0x%x", mask);
        return TREX_PAM_BAD_ITEM;
    }
    if ((rc = check_fields(db, u, mask)) != TREX_PAM_SUCCESS)
        return rc;
    if ((mask & TREX_PAM_DB_HASH) && !trex_pam_db_hash_usable(u->hash)) {
        tp_admin_err(db, "%s: the hash is not one libxcrypt can verify", u->name);
        return TREX_PAM_BAD_ITEM;
    }
    to_store(u, &s, NULL);
    if (mask & TREX_PAM_DB_HASH) {
        smask |= TP_USER_HASH | TP_USER_PW_CHANGED;
        if (s.pw_changed == 0)
            s.pw_changed = tp_admin_now();
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
        rc = tp_admin_from_store(db, tp_store_user_get(db->st, u->name, &tmp), u->name);
        tp_user_clear(&tmp);
        return rc;
    }
    return tp_admin_from_store(db, tp_store_user_update(db->st, &s, smask), u->name);
}

int trex_pam_db_set_password(trex_pam_db_t *db, const char *name, const char *password,
                             const char *method, const char *cost)
{
    char hash[CRYPT_OUTPUT_SIZE];
    int rc;

    if ((rc = tp_admin_begin(db, TP_ADMIN_WRITE | TP_ADMIN_USER, 1, name)) != TREX_PAM_SUCCESS)
        return rc;
    if (password == NULL || *password == '\0') {
        tp_admin_err(db, "%s: an empty password is not set", name);
        return TREX_PAM_BAD_ITEM;
    }
    if ((rc = make_hash(db, password, method, cost, hash, sizeof hash)) != TREX_PAM_SUCCESS)
        return rc;
    rc = tp_admin_from_store(db, tp_store_user_set_hash(db->st, name, NULL, hash, tp_admin_now()), name);
    tp_secret_wipe(hash, sizeof hash);
    return rc;
}

int trex_pam_db_attr_set(trex_pam_db_t *db, const char *name, const char *attr,
                         const char *value)
{
    int rc;

    if ((rc = tp_admin_begin(db, TP_ADMIN_WRITE | TP_ADMIN_USER, 1, name)) != TREX_PAM_SUCCESS)
        return rc;
    if (!trex_pam_db_valid_attr(attr))
        return tp_admin_bad_attr(db, attr);
    return tp_admin_from_store(db, tp_store_attr_set(db->st, name, attr, value), name);
}

int trex_pam_db_user_delete(trex_pam_db_t *db, const char *name)
{
    int rc, src;

    if ((rc = tp_admin_begin(db, TP_ADMIN_WRITE | TP_ADMIN_USER, 1, name)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = tp_admin_from_store(db, tp_store_user_delete(db->st, name), name)) != TREX_PAM_SUCCESS
        || db->sst == NULL)
        return rc;
    /* after the user went: no session can be opened for it in between */
    if ((src = tp_store_session_delete_user(db->sst, name, NULL, NULL)) != TP_STORE_OK) {
        char why[sizeof db->err];
        tp_admin_from_store_at(db, db->sst, src, name);
        snprintf(why, sizeof why, "%s", db->err);
        tp_admin_err(db, "%s deleted, but its sessions were not ended: %s", name, why);
        return src == TP_STORE_UNAVAIL ? TREX_PAM_AUTHINFO_UNAVAIL : TREX_PAM_SYSTEM_ERR;
    }
    return TREX_PAM_SUCCESS;
}

void trex_pam_db_user_free(struct trex_pam_db_user *u)
{
    if (u == NULL)
        return;
    free(u->name);
    tp_secret_drop(&u->hash);
    for (size_t i = 0; i < u->nattrs; i++) {
        free(u->attrs[i].name);
        free(u->attrs[i].value);
    }
    free(u->attrs);
    tp_secret_wipe(u, sizeof *u);
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
    rc = tp_admin_begin(db, TP_ADMIN_READ | TP_ADMIN_USER, out != NULL, name);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    tp_user_init(&s);
    rc = tp_admin_from_store(db, tp_store_user_get(db->st, name, &s), name);
    if (rc == TREX_PAM_SUCCESS && (*out = copy_user(&s)) == NULL) {
        tp_admin_err(db, "out of memory");
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

    if ((rc = tp_admin_begin(db, TP_ADMIN_READ, fn != NULL, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    w.fn = fn;
    w.data = data;
    w.rc = TREX_PAM_SUCCESS;
    rc = tp_admin_from_store(db, tp_store_user_list(db->st, walk_one, &w), NULL);
    if (rc == TREX_PAM_SUCCESS && w.rc != TREX_PAM_SUCCESS) {
        tp_admin_err(db, "out of memory");
        rc = w.rc;
    }
    return rc;
}

