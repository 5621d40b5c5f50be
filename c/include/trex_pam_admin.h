/*
 * trex_pam_admin.h - the administrator's interface to the user database:
 * open it, add, change, list and delete users, set their passwords and
 * attributes, list and end their sessions, read and clear their failure
 * tallies. bin/trex-pam and the Perl class TRex::PAM::DB use it (through
 * the XS layer, which includes only the headers of c/include). It is
 * implemented in c/admin/, over the store (c/store/) and c/crypto;
 * authentication itself is the userdb module's business, not this API's.
 *
 * Status codes: every int function returns one of
 *   TREX_PAM_SUCCESS           done
 *   TREX_PAM_AUTHINFO_UNAVAIL  the store cannot be used (open: missing without
 *                              CREATE, unreadable, not a database, corrupt, some
 *                              other application's file, a newer schema, a
 *                              world-writable directory); it is left untouched
 *   TREX_PAM_USER_UNKNOWN      no user of that name
 *   TREX_PAM_DB_EXISTS         user_add: the name is taken (not a PAM code: 64,
 *                              outside Linux-PAM's 0..31)
 *   TREX_PAM_DB_NO_SESSION     session_revoke: the user has no session of that
 *                              handle (not a PAM code: 65)
 *   TREX_PAM_BAD_ITEM          an invalid argument: a user or attribute name
 *                              breaking the rules below, a value out of range, a
 *                              hash libxcrypt cannot verify, an unknown method or
 *                              cost, a password and a hash at once
 *   TREX_PAM_PERM_DENIED       a change through a database opened read-only
 *   TREX_PAM_TRY_AGAIN         a concurrent writer changed the record first
 *   TREX_PAM_BUF_ERR           out of memory
 *   TREX_PAM_SYSTEM_ERR        anything else (an I/O error, hashing failed, NULL)
 * On any failure trex_pam_db_error() tells why in one line fit for a log or a
 * terminal (it may name the file, the user and the rule broken; never a
 * password or a hash). trex_pam_db_strerror() gives the generic text of a code.
 *
 * Names: a user name is 1 to 255 bytes with no ':', no '/' and no control
 * character (0x00-0x1f, 0x7f); an attribute name is 1 to 255 of
 * [A-Za-z0-9_.-]. Strings are NUL-terminated bytes; times are Unix seconds.
 *
 * Ownership: the functions copy what they are given. Passwords are only read
 * (the caller wipes its own copy); every copy made here (a new hash, the
 * hashes of a fetched user) is wiped before it is freed. Not thread-safe: one
 * trex_pam_db_t per thread; do not use one across fork() (open it again).
 */
#ifndef TREX_PAM_ADMIN_H
#define TREX_PAM_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "trex_pam.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TREX_PAM_DB_EXISTS      64      /* status: the user already exists */
#define TREX_PAM_DB_NO_SESSION  65      /* status: no session of that handle */

#define TREX_PAM_DB_NAME_MAX    255     /* bytes of a user or attribute name */

typedef struct trex_pam_db trex_pam_db_t;

/* ---- opening --------------------------------------------------------------- */

/* trex_pam_db_open flags */
#define TREX_PAM_DB_CREATE      0x1     /* create the file and schema if absent (mode 0600) */
#define TREX_PAM_DB_RDONLY      0x2     /* never write: every change is PERM_DENIED */
#define TREX_PAM_DB_GROUP       0x4     /* with CREATE: mode 0660 (a group of services) */

/*
 * Open the store at path, a location: a file of the embedded store (a path,
 * or sqlite:PATH) or a server's location (postgresql://...); NULL or ""
 * means $TREX_PAM_STORE, else $TREX_PAM_DB, else the compiled default
 * (/var/lib/trex-pam/trex-pam.db). On success *db is the handle; on
 * failure *db is NULL and err (if non-NULL, errlen bytes) holds the reason,
 * naming the store (never a password in the location). An existing store
 * is never re-created or repaired: one that is not a TRex::PAM store is
 * AUTHINFO_UNAVAIL.
 */
int trex_pam_db_open(const char *path, int flags, trex_pam_db_t **db, char *err, size_t errlen);
/* The file trex_pam_db_open(path, ...) would use, or NULL when that
 * location is a server's (static or within path; read before the next
 * change of the environment). */
const char *trex_pam_db_file(const char *path);
/* Closes the store and frees db (NULL: nothing). */
void trex_pam_db_close(trex_pam_db_t *db);
/* The location the handle uses, as given (valid until close). */
const char *trex_pam_db_path(const trex_pam_db_t *db);
/* The store's name for messages: the file, or a server's location without
 * its password (valid until close). */
const char *trex_pam_db_where(const trex_pam_db_t *db);
/*
 * Keep db's sessions in the store at location instead of its own (users in
 * PostgreSQL, sessions in Redis): every session call on db (list, revoke,
 * purge) goes there, and trex_pam_db_user_delete ends the user's sessions
 * there too, after the user is deleted. The users stay in db's own store,
 * which still answers whether a user exists. Opened read-only when db is.
 * AUTHINFO_UNAVAIL (or BAD_ITEM for a store that keeps no sessions) with
 * the reason in err, naming the store without its password; db's sessions
 * then stay where they were.
 */
int trex_pam_db_use_sessions(trex_pam_db_t *db, const char *location, char *err, size_t errlen);
/* The sessions' store's name for messages (db's own unless
 * trex_pam_db_use_sessions named another); valid until close. */
const char *trex_pam_db_sessions_where(const trex_pam_db_t *db);

/* What the store keeps (the sessions: the sessions' store): TREX_PAM_DB_KEEPS_*
 * bits. A store that keeps no users (Redis) answers every user call with
 * AUTHINFO_UNAVAIL ("a redis store keeps no users"), and the calls on a
 * user's sessions and failures take any valid name there (it cannot say
 * whether the user exists). */
#define TREX_PAM_DB_KEEPS_USERS     0x1
#define TREX_PAM_DB_KEEPS_SESSIONS  0x2
#define TREX_PAM_DB_KEEPS_TALLIES   0x4
int trex_pam_db_keeps(const trex_pam_db_t *db);

/* Why the last call on db failed ("" after a success). Valid until the next call. */
const char *trex_pam_db_error(const trex_pam_db_t *db);
/* A fixed text for a status code of this API ("user already exists"). */
const char *trex_pam_db_strerror(int status);

/* ---- users ----------------------------------------------------------------- */

struct trex_pam_db_attr {
    char *name;
    char *value;
};

struct trex_pam_db_user {
    char *name;
    char *hash;                 /* crypt(3) string; "" = no password */
    int disabled;               /* 1: the administrator disabled the account */
    int force_change;           /* 1: the password must change at the next login */
    int64_t expires;            /* account expiry (Unix time); 0 = never */
    int64_t pw_changed;         /* last password change (Unix time); 0 = unknown */
    int min_days;               /* days before the password may change again (>= 0) */
    int max_days;               /* password maximum age in days; -1 = no limit */
    int warn_days;              /* warn this many days before max_days (>= 0) */
    int64_t created;            /* set by the store */
    struct trex_pam_db_attr *attrs;     /* free attributes, name order */
    size_t nattrs;
};

/* Defaults of a new user: all zero/NULL except max_days = -1. */
void trex_pam_db_user_init(struct trex_pam_db_user *u);

/*
 * Add the user u->name with u's fields and attributes, in one transaction.
 * The password is one of:
 *   password non-NULL     hashed with method/cost (NULL: yescrypt at
 *                         libxcrypt's default cost; see trex_pam_db_method);
 *   u->hash non-empty     a ready hash (an import): kept byte for byte, and it
 *                         must pass trex_pam_db_hash_usable;
 *   neither               no password (hash ""): userdb then accepts an empty
 *                         password only with nullok, as pam_unix does.
 * With a password or a hash, pw_changed 0 means now. u->created is ignored.
 * DB_EXISTS if the name is taken.
 */
int trex_pam_db_user_add(trex_pam_db_t *db, const struct trex_pam_db_user *u,
                         const char *password, const char *method, const char *cost);

/* trex_pam_db_user_update mask: which of u's fields to write */
#define TREX_PAM_DB_HASH          0x001   /* u->hash (usable, kept as is) and pw_changed (0: now) */
#define TREX_PAM_DB_DISABLED      0x002
#define TREX_PAM_DB_FORCE_CHANGE  0x004
#define TREX_PAM_DB_EXPIRES       0x008
#define TREX_PAM_DB_PW_CHANGED    0x010   /* pw_changed alone (0: unknown) */
#define TREX_PAM_DB_MIN_DAYS      0x020
#define TREX_PAM_DB_MAX_DAYS      0x040
#define TREX_PAM_DB_WARN_DAYS     0x080
#define TREX_PAM_DB_ALL_FIELDS    0x0ff

/* Write the fields of mask of the user u->name, in one transaction. */
int trex_pam_db_user_update(trex_pam_db_t *db, const struct trex_pam_db_user *u,
                            unsigned int mask);

/*
 * Set a new password: hashed with method/cost (NULL: the defaults), stored
 * atomically with pw_changed = now and force_change = 0. The administrator
 * needs no old password. An empty password is refused (BAD_ITEM).
 */
int trex_pam_db_set_password(trex_pam_db_t *db, const char *name, const char *password,
                             const char *method, const char *cost);

/* Set attribute attr of user name to value; value NULL deletes it (deleting
 * one that is not there succeeds). */
int trex_pam_db_attr_set(trex_pam_db_t *db, const char *name, const char *attr,
                         const char *value);

/* Delete the user with its attributes, sessions and failure tallies. */
int trex_pam_db_user_delete(trex_pam_db_t *db, const char *name);

/* One user: *out is a copy (hash included) that trex_pam_db_user_free wipes
 * and frees; NULL on failure. */
int trex_pam_db_user_get(trex_pam_db_t *db, const char *name, struct trex_pam_db_user **out);
void trex_pam_db_user_free(struct trex_pam_db_user *u);

/* Calls fn for every user in name order; u is lent for the call only. fn
 * returning non-zero stops the walk (the function still returns SUCCESS). */
int trex_pam_db_user_list(trex_pam_db_t *db,
                          int (*fn)(void *data, const struct trex_pam_db_user *u), void *data);

/* ---- sessions (the session module's) ----------------------------------------- */

/*
 * A session is named here by its handle: 8 lowercase hex digits, the first
 * 4 bytes of BLAKE2b-256 of the digest the store keeps, keyed with the
 * fixed text TREX_PAM_DB_HANDLE_KEY (which only sets it apart from the
 * digests of IDs; it is no secret). The session ID itself is never stored
 * (only that digest of it), and the handle is a digest of the digest: it
 * reveals no bit of either, cannot be turned back into anything that
 * authenticates, and is fit for a terminal, a ticket or a log. It is stable
 * for the life of the session. Handles are unique among one user's sessions
 * in practice (two of n sessions share one with a chance of about
 * n*n/2^33); revoking an ambiguous handle is refused.
 */
#define TREX_PAM_DB_HANDLE_LEN  8       /* hex digits of a session handle */
#define TREX_PAM_DB_HANDLE_KEY  "TRex::PAM session handle"

struct trex_pam_db_session {
    const char *user;
    char handle[TREX_PAM_DB_HANDLE_LEN + 1];   /* NUL-terminated */
    int64_t created;            /* opened (Unix time) */
    int64_t last_used;          /* last use recorded (the module coalesces its writes:
                                   up to its touch_interval older than the real one) */
    const char *rhost;          /* PAM_RHOST when it was opened; NULL if none */
};

/* Calls fn for each session of user name (NULL: of every user), by user
 * then creation time; s is lent for the call only, fn returning non-zero
 * stops the walk (still SUCCESS). USER_UNKNOWN for a name not in the store. */
int trex_pam_db_session_list(trex_pam_db_t *db, const char *name,
                             int (*fn)(void *data, const struct trex_pam_db_session *s),
                             void *data);
/* Ends the session of user name with that handle (8 hex digits, either
 * case), or with handle NULL every session of the user. *count (if
 * non-NULL) gets how many ended. NO_SESSION if the user has none of that
 * handle, BAD_ITEM for a malformed or ambiguous handle. Ended sessions fail
 * the next authentication with their ID (PAM_AUTH_ERR). */
int trex_pam_db_session_revoke(trex_pam_db_t *db, const char *name, const char *handle,
                               int *count);
/* Deletes the sessions the session module would refuse as expired: idle
 * longer than idle seconds, or older than lifetime seconds (each 0: no such
 * limit; at least one must be set; at most INT32_MAX). Give the module's
 * idle= and lifetime= values. *count (if non-NULL) gets how many. */
int trex_pam_db_session_purge(trex_pam_db_t *db, int64_t idle, int64_t lifetime, int *count);

/* ---- failure tallies (the faillock module's) ---------------------------------- */

struct trex_pam_db_faillock {
    int total;                  /* failures on record */
    int failures;               /* those less than fail_interval before the latest:
                                   the ones that count towards a lock */
    int64_t latest;             /* time of the latest failure; 0 if none */
    int locked;                 /* 1: faillock's preauth refuses the user now */
    int64_t unlock_at;          /* locked: when the lock runs out; 0: only a reset ends it */
};

/*
 * The failure tally of name (any valid name: the faillock module counts
 * names nobody has too), and whether the faillock module with
 * deny= (0..65535; 0 never locks), fail_interval= and unlock_time= (0..604800
 * seconds; unlock_time 0 is "never") locks the user now: at least deny
 * failures less than fail_interval before the latest, and the latest less
 * than unlock_time ago. Give the module's arguments.
 */
int trex_pam_db_faillock_get(trex_pam_db_t *db, const char *name, int deny,
                             int64_t fail_interval, int64_t unlock_time,
                             struct trex_pam_db_faillock *out);
/* Calls fn for each second in which user name has failures on record,
 * oldest first, with how many (count >= 1); fn returning non-zero stops. */
int trex_pam_db_faillock_list(trex_pam_db_t *db, const char *name,
                              int (*fn)(void *data, int64_t time, int count), void *data);
/* Calls fn once for each user with failures on record (name NULL: every
 * such user, in name order; else that user alone, if it has any) with the
 * times of its failures, oldest first (n >= 1; times lent for the call);
 * fn returning non-zero stops. */
int trex_pam_db_tally_list(trex_pam_db_t *db, const char *name,
                           int (*fn)(void *data, const char *user, const int64_t *times, size_t n),
                           void *data);
/* Clears the failures of user name (unlocks it); *count (if non-NULL) gets
 * how many there were. */
int trex_pam_db_faillock_reset(trex_pam_db_t *db, const char *name, int *count);

/* ---- copying between stores ------------------------------------------------------ */

/*
 * trex_pam_db_copy copies the records of one store into another: users
 * (every field, the hash byte for byte, the attributes, the creation
 * time), sessions (digest, user, times, remote host; between the
 * sessions' stores, see trex_pam_db_use_sessions) and failure tallies
 * (every failure's time). First it reads both sides and plans: a record
 * missing at the target is added; one the same there is unchanged; a
 * session the same but for an older last use there is updated (its last
 * use moves forward); one that differs is a conflict (a user: any field
 * but the creation time, or an attribute; a session: its user, creation
 * time or remote host; a tally: any failure's time). With conflicts and
 * without REPLACE, or with DRY_RUN, nothing is written: the counts and
 * notes are the plan's. Otherwise each record is written (a user replaced:
 * its fields and attributes overwritten; a session: deleted and added; a
 * tally: reset and added), each in a transaction of its own: a copy
 * stopped half way by an error is finished by running it again, which
 * writes only what is missing. A second run of a finished copy writes
 * nothing (all unchanged).
 *
 * Sessions and tallies go only with a user the target has or this copy
 * gives it (on a target that keeps users): those of a user in conflict,
 * or missing at the target, are skipped. Sessions expired under idle and
 * lifetime (the session module's rule; 0: no such limit) are left out and
 * counted as expired; each session copied carries the expiry hints idle
 * and created + lifetime, by which a Redis target forgets it.
 *
 * Refused before anything is read (BAD_ITEM, the reason in from's error
 * line): no kind asked, a kind one side does not keep (users into or out
 * of Redis), or the same store on both sides. The target must exist with
 * its schema (opened without CREATE). Errors of either store are on from's
 * error line, naming that store (never its password).
 *
 * note (NULL: none) is called for each conflict and each skipped record:
 * kind "user", "session" or "tally", the user's name, and a text fit for
 * one line ("differs at the target: password hash, attributes"; never a
 * hash, an ID or a digest: a session is named by its handle).
 */
#define TREX_PAM_DB_COPY_USERS      0x01
#define TREX_PAM_DB_COPY_SESSIONS   0x02
#define TREX_PAM_DB_COPY_TALLIES    0x04
#define TREX_PAM_DB_COPY_REPLACE    0x08    /* overwrite what differs at the target */
#define TREX_PAM_DB_COPY_DRY_RUN    0x10    /* plan only: write nothing */

struct trex_pam_db_copy_count {
    int added, updated, unchanged, replaced, conflicts, skipped, expired;
};

struct trex_pam_db_copy_result {
    struct trex_pam_db_copy_count users, sessions, tallies;
    int written;                /* 1: the records were written; 0: a plan only */
};

int trex_pam_db_copy(trex_pam_db_t *from, trex_pam_db_t *to, int flags, int64_t idle,
                     int64_t lifetime, struct trex_pam_db_copy_result *out,
                     void (*note)(void *data, const char *kind, const char *name,
                                  const char *text),
                     void *data);

/* ---- checks ------------------------------------------------------------------ */

/* 1 if name is a valid user name (rules above), else 0. */
int trex_pam_db_valid_user(const char *name);
/* 1 if handle has a session handle's form (8 hex digits, either case), else 0. */
int trex_pam_db_valid_handle(const char *handle);
/* 1 if attr is a valid attribute name, else 0. */
int trex_pam_db_valid_attr(const char *attr);
/* 1 if libxcrypt can verify hash here (so an import keeps it), else 0:
 * "", "!", "*", "{SSHA}...", "$apr1$..." are not. */
int trex_pam_db_hash_usable(const char *hash);
/* The method of a stored hash, for display (the hash itself stays hidden):
 * "yescrypt", "bcrypt", "sha512crypt", ... (the names of trex_pam_db_method,
 * plus "sha1crypt", "sunmd5", "bsdicrypt", "nt"); "none" for "" (no
 * password); "unusable" for anything libxcrypt cannot verify. Static text. */
const char *trex_pam_db_hash_method(const char *hash);
/* SUCCESS if method/cost name a policy this build can hash with (NULL: the
 * default), else BAD_ITEM. */
int trex_pam_db_check_policy(const char *method, const char *cost);
/* The hashing methods, strongest first: "yescrypt" (the default),
 * "gost-yescrypt", "scrypt", "bcrypt", "sha512crypt", "sha256crypt", and the
 * legacy "md5crypt", "descrypt". Returns 1 and sets *name for index i (and
 * *usable: whether this build's libxcrypt hashes with it), 0 past the end. */
int trex_pam_db_method(size_t i, const char **name, int *usable);

/* ---- import: the password files sites already have ---------------------------
 * Lines of shadow(5), Apache's htpasswd and Dovecot's passwd-file, read into
 * what trex_pam_db_user_add takes (TRex::PAM::Import documents the formats).
 * A line is len bytes (a NUL is a byte like any other, and makes a hash
 * unusable); one "\n" or "\r\n" at its end is dropped. */
#define TREX_PAM_IMPORT_SHADOW    0
#define TREX_PAM_IMPORT_HTPASSWD  1
#define TREX_PAM_IMPORT_DOVECOT   2

struct trex_pam_import_entry {
    char *name, *hash;              /* malloc'd, NUL-terminated (hash wiped by clear) */
    size_t name_len, hash_len;      /* their bytes */
    unsigned int has;               /* TREX_PAM_IMPORT_HAS_*: what the line said */
    int force_change;               /* shadow's last change 0: change at next login */
    int64_t changed, expires;       /* seconds since 1970 */
    int min_days, max_days, warn_days;  /* max_days -1: no limit */
};
#define TREX_PAM_IMPORT_HAS_CHANGED  0x1u   /* changed */
#define TREX_PAM_IMPORT_HAS_FORCE    0x2u   /* force_change */
#define TREX_PAM_IMPORT_HAS_AGES     0x4u   /* min_days, max_days, warn_days (shadow) */
#define TREX_PAM_IMPORT_HAS_EXPIRES  0x8u   /* expires (1: expired long ago) */

/* One line of a file in format: 0 for a blank or comment line (nothing in
 * *e); 1 with an entry to import in *e (its hash is usable); -1 with why
 * the line cannot be imported in why (whylen bytes with the NUL; never
 * the hash); -2 out of memory or a bad argument (why says which). *e is
 * zeroed first; clear it with trex_pam_import_clear after 1. */
int trex_pam_import_line(int format, const char *line, size_t len,
                         struct trex_pam_import_entry *e, char *why, size_t whylen);
void trex_pam_import_clear(struct trex_pam_import_entry *e);
/* The format a file's first entry looks like (TREX_PAM_IMPORT_*). */
int trex_pam_import_guess(const char *line, size_t len);
/* Why a hash of len bytes is not imported, in why (never the hash itself:
 * at most the name of its {SCHEME}); 0 when libxcrypt can verify it, -1
 * otherwise. */
int trex_pam_import_hash_problem(const char *hash, size_t len, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif /* TREX_PAM_ADMIN_H */
