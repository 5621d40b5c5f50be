/*
 * store.h - the one interface to where TRex::PAM keeps users, sessions and
 * failure tallies (DESIGN.md section 5). Modules and the admin API know the
 * store only through this header; backends (sqlite: the embedded default;
 * later postgresql, redis) implement struct tp_store_ops.
 *
 * Conventions
 * - Every function returns a TP_STORE_* code. On TP_STORE_ERR,
 *   tp_store_error() tells why, in words fit for a log line: it names the
 *   file and the reason, and never holds a password, hash or session ID.
 * - Strings are NUL-terminated bytes. Times are Unix seconds (int64_t).
 * - Every change is one transaction: a crash or a concurrent writer never
 *   leaves half of it. Concurrent processes never see "database is locked":
 *   the backend waits (busy timeout) and retries.
 * - Getters fill caller-owned structs whose strings the store allocates;
 *   tp_user_clear()/tp_session_clear() wipe and free them.
 */
#ifndef TP_STORE_H
#define TP_STORE_H

#include <stddef.h>
#include <stdint.h>

enum {
    TP_STORE_OK = 0,
    TP_STORE_NOTFOUND,      /* no such user / session */
    TP_STORE_EXISTS,        /* user_add: the name is taken */
    TP_STORE_CONFLICT,      /* a compare-and-swap lost: someone changed it first */
    TP_STORE_UNAVAIL,       /* the store cannot be used: missing, unreadable, corrupt,
                               foreign, unsafe permissions (map to PAM_AUTHINFO_UNAVAIL) */
    TP_STORE_ERR            /* anything else (I/O error, out of memory, bad argument) */
};

/* Open flags */
#define TP_STORE_CREATE   0x1   /* create the file (0600, or 0660 with GROUP) and schema if absent */
#define TP_STORE_RDONLY   0x2   /* never write (lookups only) */
#define TP_STORE_GROUP    0x4   /* with CREATE: mode 0660 instead of 0600 */

/* The default location when neither a db= argument nor $TREX_PAM_DB says. */
#ifndef TP_STORE_DEFAULT_PATH
#define TP_STORE_DEFAULT_PATH "/var/lib/trex-pam/trex-pam.db"
#endif

struct tp_store;

/* The path to use: given (a module's db= argument) if non-NULL and not
 * empty, else $TREX_PAM_DB, else TP_STORE_DEFAULT_PATH. Not a copy. */
const char *tp_store_path(const char *given);

/*
 * Open the store at path. Without TP_STORE_CREATE a missing file is
 * TP_STORE_UNAVAIL. A file that is not a database, is corrupt, or is some
 * other application's database (no TRex schema), or a schema version newer
 * than this code knows, is TP_STORE_UNAVAIL and is never modified. The
 * directory holding it must not be world-writable (else UNAVAIL). Older
 * schema versions are migrated in one transaction (unless RDONLY).
 * On failure *out is NULL and err (if non-NULL) receives the reason.
 */
int tp_store_open(const char *path, int flags, struct tp_store **out, char *err, size_t errlen);
void tp_store_close(struct tp_store *st);
const char *tp_store_error(const struct tp_store *st);

/* ---- users ---------------------------------------------------------------- */

struct tp_attr {
    char *name;
    char *value;
};

struct tp_user {
    char *name;
    char *hash;             /* crypt(3) string; "" means no password */
    int disabled;           /* account disabled by the administrator */
    int force_change;       /* must change the password at next login */
    int64_t expires;        /* account expiry (Unix time); 0 = never */
    int64_t pw_changed;     /* last password change; 0 = unknown/never */
    int pw_min_days;        /* days before the password may change again; 0 = any time */
    int pw_max_days;        /* password maximum age in days; -1 = no limit */
    int pw_warn_days;       /* warn this many days before pw_max_days; 0 = no warning */
    int64_t created;
    struct tp_attr *attrs;  /* free attributes ("display_name", "mail_home" ...) */
    size_t nattrs;
};

/* Fields of tp_store_user_update's mask */
#define TP_USER_HASH          0x001   /* also sets pw_changed from the struct */
#define TP_USER_DISABLED      0x002
#define TP_USER_FORCE_CHANGE  0x004
#define TP_USER_EXPIRES       0x008
#define TP_USER_PW_CHANGED    0x010
#define TP_USER_PW_MIN        0x020
#define TP_USER_PW_MAX        0x040
#define TP_USER_PW_WARN       0x080

/* Defaults for a new user: everything 0 except pw_max_days = -1. */
void tp_user_init(struct tp_user *u);
/* Wipes the hash and frees every string; the struct is init'ed again. */
void tp_user_clear(struct tp_user *u);

int tp_store_user_get(struct tp_store *st, const char *name, struct tp_user *out);
/* Adds u with its attributes; TP_STORE_EXISTS if the name is taken.
 * created is set by the store when 0. */
int tp_store_user_add(struct tp_store *st, const struct tp_user *u);
/* Updates the fields in mask. NOTFOUND if there is no such user. */
int tp_store_user_update(struct tp_store *st, const struct tp_user *u, unsigned int mask);
/*
 * Replace the password hash atomically: only if the stored hash is still
 * expect_old (compare-and-swap; NULL: whatever it is), sets hash = new_hash,
 * pw_changed = changed_at and force_change = 0. TP_STORE_CONFLICT if the
 * stored hash was something else. Used for changes and for upgrades of a
 * hash to a stronger method at login.
 */
int tp_store_user_set_hash(struct tp_store *st, const char *name, const char *expect_old,
                           const char *new_hash, int64_t changed_at);
int tp_store_user_delete(struct tp_store *st, const char *name);   /* and its sessions, tallies */
/* value NULL deletes the attribute. */
int tp_store_attr_set(struct tp_store *st, const char *name, const char *attr, const char *value);
/* Calls fn for each user in name order (attrs included); fn returning
 * non-zero stops the walk (the function then returns TP_STORE_OK). */
int tp_store_user_list(struct tp_store *st, int (*fn)(void *data, const struct tp_user *u),
                       void *data);

/* ---- sessions (used by the session module, issue 4) --------------------------- */

#define TP_SESSION_DIGEST_LEN 32

struct tp_session {
    unsigned char digest[TP_SESSION_DIGEST_LEN];   /* the ID is never stored */
    char *user;
    int64_t created;
    int64_t last_used;
    char *rhost;            /* may be NULL */
};

void tp_session_clear(struct tp_session *s);
int tp_store_session_add(struct tp_store *st, const struct tp_session *s);
int tp_store_session_get(struct tp_store *st, const unsigned char digest[TP_SESSION_DIGEST_LEN],
                         struct tp_session *out);
/* last_used = now, but only if it is older than now - min_interval (write
 * coalescing); TP_STORE_OK whether or not a write was needed. */
int tp_store_session_touch(struct tp_store *st, const unsigned char digest[TP_SESSION_DIGEST_LEN],
                           int64_t now, int64_t min_interval);
int tp_store_session_delete(struct tp_store *st, const unsigned char digest[TP_SESSION_DIGEST_LEN]);
/* Every session of user except `keep` (NULL: all); *count gets how many. */
int tp_store_session_delete_user(struct tp_store *st, const char *user,
                                 const unsigned char *keep, int *count);
/* Sessions idle since before idle_before or created before created_before. */
int tp_store_session_purge(struct tp_store *st, int64_t idle_before, int64_t created_before,
                           int *count);
int tp_store_session_list(struct tp_store *st, const char *user,
                          int (*fn)(void *data, const struct tp_session *s), void *data);

/* ---- failure tallies (used by the faillock module, issue 4) -------------------- */

/* Records one failure at now and gives the number of failures at or after
 * since (including this one), atomically under concurrent writers. */
int tp_store_fail_add(struct tp_store *st, const char *user, int64_t now, int64_t since,
                      int *count);
/* The failures at or after since, and the time of the latest (0 if none). */
int tp_store_fail_count(struct tp_store *st, const char *user, int64_t since, int *count,
                        int64_t *latest);
int tp_store_fail_reset(struct tp_store *st, const char *user);

#endif /* TP_STORE_H */
