/*
 * store.h - the one interface to where TRex::PAM keeps users, sessions and
 * failure tallies. Modules and the admin API know the store only through
 * this header; each backend (sqlite, the embedded default; server backends
 * beside it) implements backend.h. The store knows nothing of PAM: it
 * answers in TP_STORE_* codes, and of passwords it keeps only the hashes
 * it is given.
 *
 * Conventions
 * - Every function returns a TP_STORE_* code. On TP_STORE_ERR,
 *   tp_store_error() tells why, in words fit for a log line: it names the
 *   file and the reason, and never holds a password, hash or session ID.
 * - Strings are NUL-terminated bytes. Times are Unix seconds (int64_t).
 * - Every change is one transaction: a crash or a concurrent writer never
 *   leaves half of it. Concurrent processes never see "database is locked":
 *   the backend waits (busy timeout) and retries, for up to 20 s per
 *   transaction; a store still locked after that gives TP_STORE_ERR
 *   ("stayed locked by other processes").
 * - A handle belongs to the process and the thread that opened it: never
 *   use one across fork() (open it again in the child) nor from two threads.
 *   Any number of handles, in any number of processes, may be open on one
 *   store at once.
 * - Getters fill caller-owned structs whose strings the store allocates;
 *   tp_user_clear()/tp_session_clear() wipe and free them.
 * - Unknown users: calls that create a row for a user (session_add,
 *   attr_set) and calls on the user itself (user_update,
 *   user_set_hash, user_delete, user_get) return TP_STORE_NOTFOUND; calls
 *   that count or remove a user's rows (fail_count, fail_reset,
 *   session_delete_user, session_list) return TP_STORE_OK with nothing
 *   counted, removed or listed.
 * - What a store keeps: a backend may keep only some of users, sessions
 *   and failure tallies (tp_store_keeps; Redis keeps no users). Calls of a
 *   kind it does not keep return TP_STORE_UNAVAIL ("a redis store keeps
 *   no users"). A store that keeps no users cannot know them: its
 *   session_add takes any name, and a user deleted elsewhere keeps their
 *   rows there (the caller checks the user in the store that keeps users,
 *   and ends what it must itself).
 * - Failure tallies are kept for any name, known or not, on every backend
 *   (so that faillock treats a name nobody has like a user's: a lock must
 *   not tell who exists); deleting a user deletes theirs.
 * - List callbacks run after the rows are read, so they may use the store
 *   (even change it); a callback returning non-zero stops the walk and the
 *   call still returns TP_STORE_OK.
 * - Durability, by kind of write: every change is on disk (or on the
 *   server, acknowledged) when the call returns - a user added, changed or
 *   deleted, a password hash set, a failure recorded (a lockout) or reset,
 *   a session added or deleted - except one: tp_store_session_touch may
 *   return before its last-use time reaches the disk. A crash of the
 *   process loses nothing; a crash of the machine may lose the latest
 *   touches, so a session then looks idle since a little earlier than it
 *   was (it can time out sooner, never later). A durable change written
 *   after a touch carries the touch with it.
 * - Read scopes: the reads between tp_store_read_begin and
 *   tp_store_read_end see one snapshot of the store (SQLite: one read
 *   transaction, from the first read; PostgreSQL: the first read alone,
 *   then a repeatable-read transaction from the second, in which the
 *   first is checked: when another writer changed what it returned in
 *   between, that read is TP_STORE_CONFLICT, "the store changed between
 *   two reads of one call", never a mix of two states), which is also
 *   cheaper than a transaction per read. A change made inside a scope ends the snapshot
 *   first and is its own transaction as always; the reads after it see it
 *   (a new snapshot). Scopes nest (counted); the outermost end lets the
 *   snapshot go. Keep a scope short: never across a wait for a person.
 */
#ifndef TP_STORE_H
#define TP_STORE_H

#include <stddef.h>
#include <stdint.h>

enum {
    TP_STORE_OK = 0,
    TP_STORE_NOTFOUND,      /* no such user / session */
    TP_STORE_EXISTS,        /* user_add: the name is taken; session_add: the digest is */
    TP_STORE_CONFLICT,      /* a compare-and-swap lost: someone changed it first;
                             * a read in a scope: what an earlier read of the scope
                             * returned was changed meanwhile (PostgreSQL) */
    TP_STORE_UNAVAIL,       /* the store cannot be used: missing, unreadable, corrupt,
                               foreign, unsafe permissions (map to PAM_AUTHINFO_UNAVAIL) */
    TP_STORE_ERR            /* anything else (I/O error, out of memory, bad argument) */
};

/* Open flags */
#define TP_STORE_CREATE   0x1   /* create the file (0600, or 0660 with GROUP) and schema if absent */
#define TP_STORE_RDONLY   0x2   /* never write (lookups only) */
#define TP_STORE_GROUP    0x4   /* with CREATE: mode 0660 instead of 0600 */

/* The location when neither the caller nor the environment names one. */
#ifndef TP_STORE_DEFAULT_PATH
#define TP_STORE_DEFAULT_PATH "/var/lib/trex-pam/trex-pam.db"
#endif

struct tp_store;

/*
 * Locations. A store is named by a location:
 *   - a path, or "sqlite:" and a path: a file of the embedded store;
 *   - "SCHEME:..." for a server backend (postgresql://..., postgres://...,
 *     postgresql:KEYWORD=VALUE ...); a scheme is a letter, then letters,
 *     digits, '+', '-' or '.', then ':'. A scheme no backend of this build
 *     claims is refused (TP_STORE_UNAVAIL), never taken for a file name.
 * A location may hold a secret (a server password): messages name the
 * store by its backend's redacted form (the start of tp_store_error's
 * line), never by the location as given.
 */

/* The environment variables, in order: any location, then a file. */
#define TP_STORE_LOCATION_ENV "TREX_PAM_STORE"
#define TP_STORE_FILE_ENV     "TREX_PAM_DB"

/* The longest location (with its NUL). */
#define TP_STORE_LOCATION_MAX 4096

/*
 * The location a module line or an admin command names: store (any
 * location) or db (a file of the embedded store), else $TREX_PAM_STORE,
 * else $TREX_PAM_DB, else the store configuration file beside confdir
 * (the directory of the pam.d files; NULL: none), else
 * TP_STORE_DEFAULT_PATH. The variables are read through secure_getenv, so
 * never in a setuid program; an empty argument or variable is none.
 * The result is an argument, a variable, the default, or buf (size bytes)
 * holding the configuration file's location: wipe buf after use, it may
 * hold a password. NULL, with the reason in err, when both store and db
 * are given, db names a server's location, or the configuration file is
 * unsafe or malformed ("file:line: reason").
 */
const char *tp_store_location(const char *store, const char *db, const char *confdir, char *buf,
                              size_t size, char *err, size_t errlen);
/* The same, also saying where the location came from into from (fromlen
 * bytes, may be NULL): "store=", "db=", "$TREX_PAM_STORE", "$TREX_PAM_DB",
 * the configuration file's path, or "the default location". For messages
 * that must tell an administrator which setting to change. */
const char *tp_store_locate(const char *store, const char *db, const char *confdir, char *buf,
                            size_t size, char *from, size_t fromlen, char *err, size_t errlen);

/*
 * The store configuration file: trex-pam.conf in the directory holding
 * confdir (/etc/trex-pam.conf for /etc/trex-pam.d), with one setting,
 * "store = LOCATION" ('#' comments, blank lines). Refused (-1, the reason in
 * err) when owned by neither root nor this user, writable by group or
 * others, not a regular file, malformed, or readable by others while its
 * location holds a password. 1 and the location in buf, 0 when there is no
 * such file. Read again only when its stat data changed (asked at most
 * every millisecond).
 */
int tp_store_conf_location(const char *confdir, char *buf, size_t size, char *err, size_t errlen);
/* The path of that file for confdir into buf: 0, or -1 when it does not fit. */
int tp_store_conf_path(const char *confdir, char *buf, size_t size);
/* 1 if location holds a password (user:password@ in a URI, or a password
 * keyword or query parameter). */
int tp_store_location_has_secret(const char *location);

/* The file of a location of the embedded store (the path itself, or what
 * follows "sqlite:"); NULL for a server's location or a scheme no backend
 * claims. Not a copy. */
const char *tp_store_file(const char *location);

/*
 * Open the store at path (a location, above). Without TP_STORE_CREATE a missing file is
 * TP_STORE_UNAVAIL. A file that is not a database, is corrupt, or is some
 * other application's database (no TRex schema), or a schema version newer
 * than this code knows, is TP_STORE_UNAVAIL and is never modified. The
 * directory holding it must not be world-writable (else UNAVAIL). An older
 * schema version is upgraded in one transaction (all of it or none) by the
 * first read-write open; a read-only open uses it as it is if this code can
 * read it (version 1 and later: the upgrades since only add indexes), and
 * is UNAVAIL otherwise ("open it read-write once").
 * On failure *out is NULL and err (if non-NULL) receives the reason.
 */
int tp_store_open(const char *path, int flags, struct tp_store **out, char *err, size_t errlen);
void tp_store_close(struct tp_store *st);

/* What a store keeps (tp_store_keeps' what: one or more, or'ed). */
#define TP_STORE_KEEPS_USERS     0x1     /* users and their attributes */
#define TP_STORE_KEEPS_SESSIONS  0x2
#define TP_STORE_KEEPS_TALLIES   0x4     /* failure tallies */
/* 1 if the store keeps every kind in what, else 0 (also for NULL). A
 * property of its backend: it never changes while the store is open. */
int tp_store_keeps(const struct tp_store *st, unsigned int what);
/* 1 if the store's sessions expire by themselves once idle or too old for
 * the hints they were added with (Redis: the keys' TTL), so a purge now and
 * then is not needed (tp_store_session_purge still works); 0 if they stay
 * until purged (SQLite, PostgreSQL), and for NULL. */
int tp_store_expires_sessions(const struct tp_store *st);
/* The store's name for messages: the file, or a server's location with its
 * password left out. */
const char *tp_store_where(const struct tp_store *st);
const char *tp_store_error(const struct tp_store *st);
/* 1 if the last call failed because the server did not answer within the
 * location's timeout (stopped, overloaded, unreachable without a refusal):
 * trying again at once would most likely wait as long again. */
int tp_store_timed_out(const struct tp_store *st);
/* One round trip to a server (Redis: PING), proving that it answers and
 * took our credentials, which an open alone may not (Redis without a
 * password sends nothing). TP_STORE_OK at once for a store whose open
 * asked the server or read the file already (SQLite, PostgreSQL). For an
 * administrator's check (trex-pam check-config), after a read-only open:
 * with the open's schema and version checks, it tells whether the modules
 * can use the store. Never writes. */
int tp_store_ping(struct tp_store *st);

/* The read scope (above): TP_STORE_OK, or TP_STORE_ERR (nested too deep);
 * every successful begin needs its end. */
int tp_store_read_begin(struct tp_store *st);
void tp_store_read_end(struct tp_store *st);

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

/* A name a user can have: 1 to TP_STORE_NAME_MAX bytes, no control
 * character, ':' or '/' (the admin API's rule, for every backend): 1, else 0. */
#define TP_STORE_NAME_MAX 255
int tp_store_user_name_ok(const char *name);

/* Defaults for a new user: everything 0 except pw_max_days = -1. */
void tp_user_init(struct tp_user *u);
/* Wipes the hash and frees every string; the struct is init'ed again. */
void tp_user_clear(struct tp_user *u);

/* NOTFOUND if there is no such user. out->hash is never NULL ("": none). */
int tp_store_user_get(struct tp_store *st, const char *name, struct tp_user *out);
/* Adds u with its attributes; TP_STORE_EXISTS if the name is taken.
 * u->hash must not be NULL: "" means no password (TP_STORE_ERR, bad
 * argument, otherwise). created is set by the store when 0. */
int tp_store_user_add(struct tp_store *st, const struct tp_user *u);
/* Updates the fields in mask. NOTFOUND if there is no such user. */
int tp_store_user_update(struct tp_store *st, const struct tp_user *u, unsigned int mask);
/*
 * Replace the password hash atomically: only if the stored hash is still
 * expect_old (compare-and-swap; NULL: whatever it is), sets hash = new_hash,
 * pw_changed = changed_at and force_change = 0. TP_STORE_CONFLICT if the
 * stored hash was something else, NOTFOUND if there is no such user. Used
 * for changes and for upgrades of a hash to a stronger method at login.
 */
int tp_store_user_set_hash(struct tp_store *st, const char *name, const char *expect_old,
                           const char *new_hash, int64_t changed_at);
/* Deletes the user with its attributes, sessions and failures; NOTFOUND if none. */
int tp_store_user_delete(struct tp_store *st, const char *name);
/* Sets (or replaces) an attribute; value NULL deletes it, and deleting one
 * the user does not have is TP_STORE_OK. NOTFOUND if there is no such user. */
int tp_store_attr_set(struct tp_store *st, const char *name, const char *attr, const char *value);
/* Calls fn for each user in name order (attrs included); fn returning
 * non-zero stops the walk (the function then returns TP_STORE_OK). */
int tp_store_user_list(struct tp_store *st, int (*fn)(void *data, const struct tp_user *u),
                       void *data);

/* ---- sessions (the session module's) ------------------------------------------ */

#define TP_SESSION_DIGEST_LEN 32

struct tp_session {
    unsigned char digest[TP_SESSION_DIGEST_LEN];   /* the ID is never stored */
    char *user;
    int64_t created;
    int64_t last_used;
    char *rhost;            /* may be NULL */
    /* Expiry hints, for session_add: how long the session may stay unused
     * (seconds) and when it ends whatever its use (Unix time); 0: never.
     * A store that forgets keys by itself (a cache server) may forget the
     * session once either is past, counting unused time from last_used as
     * touch moves it; the embedded store and PostgreSQL keep every session
     * until it is deleted or purged, and leave these 0 in what get fills. */
    int64_t idle;
    int64_t expires;
};

/*
 * Sessions are looked up by digest (the primary key: one B-tree search, two
 * pages deep at 1,000 sessions, four at 1,000,000); purge, a user's list
 * and delete_user are index searches too (schema version 2), never a scan.
 */
void tp_session_clear(struct tp_session *s);
/* NOTFOUND if s->user is not a user (a store that keeps users); EXISTS if
 * the digest is stored already.
 * created 0 means now; last_used 0 means created. */
int tp_store_session_add(struct tp_store *st, const struct tp_session *s);
/* NOTFOUND if no session has this digest (out is then all zero). */
int tp_store_session_get(struct tp_store *st, const unsigned char digest[TP_SESSION_DIGEST_LEN],
                         struct tp_session *out);
/* last_used = now, but only if it is older than now - min_interval (write
 * coalescing: the check is a read, only a stale last_used takes the write
 * lock; last_used never moves back); TP_STORE_OK whether or not a write was
 * needed, NOTFOUND if the session is gone. */
int tp_store_session_touch(struct tp_store *st, const unsigned char digest[TP_SESSION_DIGEST_LEN],
                           int64_t now, int64_t min_interval);
/* NOTFOUND if there was no such session. */
int tp_store_session_delete(struct tp_store *st, const unsigned char digest[TP_SESSION_DIGEST_LEN]);
/* Every session of user except `keep` (NULL: all); *count gets how many
 * (OK and 0 for an unknown user). count may be NULL here and in purge. */
int tp_store_session_delete_user(struct tp_store *st, const char *user,
                                 const unsigned char *keep, int *count);
/* Deletes the sessions idle since before idle_before (last_used <
 * idle_before) or created before created_before; 0 disables a bound. */
int tp_store_session_purge(struct tp_store *st, int64_t idle_before, int64_t created_before,
                           int *count);
/* Calls fn for each session of user (NULL: of every user) in (user,
 * created, digest) order. */
int tp_store_session_list(struct tp_store *st, const char *user,
                          int (*fn)(void *data, const struct tp_session *s), void *data);

/* ---- failure tallies (the faillock module's) ---------------------------------- */

/* Records one failure of user (any name) at now and gives the number of
 * failures at or after since (including this one), atomically under
 * concurrent writers. Only the 1024 newest failures of a name are kept
 * (older ones are deleted here), so counts stop at 1024. count may be
 * NULL. */
int tp_store_fail_add(struct tp_store *st, const char *user, int64_t now, int64_t since,
                      int *count);
/* The failures at or after since, and the time of the latest (0 if none);
 * OK with 0 and 0 for an unknown user. Either output may be NULL. */
int tp_store_fail_count(struct tp_store *st, const char *user, int64_t since, int *count,
                        int64_t *latest);
/* Forgets every failure of user (OK for an unknown user). */
int tp_store_fail_reset(struct tp_store *st, const char *user);
/* Forgets the failures older than before, of every name (the names that
 * guesses made up would otherwise stay forever); *n, when not NULL, how
 * many. OK with 0 on a store whose failures expire by themselves (Redis:
 * the key's TTL). */
int tp_store_fail_purge(struct tp_store *st, int64_t before, int *n);
/* Calls fn once for each user with failures on record - every such user
 * in name order (byte order) when user is NULL, else that user alone if it
 * has any - with the times of its failures, oldest first (n >= 1; times is
 * lent for the call). An unknown user, or one without failures: OK and no
 * call. The rows are all read (one snapshot on every backend but Redis,
 * which reads one user's key at a time) before the first call. */
int tp_store_fail_list(struct tp_store *st, const char *user,
                       int (*fn)(void *data, const char *user, const int64_t *times, size_t n),
                       void *data);

#endif /* TP_STORE_H */
