/*
 * sqlite.h - the embedded store: one SQLite file (store.h for the
 * contract). Private to c/store/: what its parts share.
 *
 *   sqlite_open.c      the file, its permissions, the schema and its
 *                      migrations, opening and closing; the backend table
 *   sqlite_exec.c      statements, binds, errors, transactions and retries
 *   sqlite_users.c     users and their attributes
 *   sqlite_sessions.c  sessions
 *   sqlite_tallies.c   failure tallies
 *
 *
 * Files and permissions
 * - TP_STORE_CREATE makes the file here, open(O_CREAT|O_EXCL|O_NOFOLLOW)
 *   with mode 0600 (0660 with TP_STORE_GROUP) and then fchmod to exactly
 *   that mode, so it is never wider, whatever the umask; SQLite itself is
 *   never allowed to create it. SQLite gives the -wal and -shm files the
 *   mode of the database.
 * - Refused with TP_STORE_UNAVAIL, as sshd's StrictModes refuses (strict.h):
 *   a directory from the file's up to / that its group or others may write
 *   (a sticky one of root's, /tmp, only above the file's own; the
 *   directories a symbolic link points into too) or owned by another user
 *   than root or this one; a file or -wal/-shm that others may read or
 *   write, or its group other than as `trex-pam init --group` makes it
 *   (0660); a file owned by neither this user nor root, something not a
 *   regular file; each refusal says what to change (chmod o-rwx FILE). Also
 *   a file that is not a database, is
 *   corrupt, empty (unless CREATE), another application's, or of a newer
 *   schema. Such a file is never written: no journal mode change, no
 *   schema, and no checkpoint when the connection closes.
 *
 * Schema: PRAGMA application_id TP_SQLITE_APP_ID and the table
 * trex_pam_meta ('application' = 'TRex::PAM', 'schema_version' = N) mark a
 * TRex::PAM store (a file restored from `.dump` loses the application_id and
 * is still recognised by its meta rows). migrations[i] takes version i to
 * i + 1; a new file is version 0 taken through all of them, in the same one
 * transaction that creates it. An older file is upgraded in one transaction
 * by the first read-write open (another process doing it at the same moment
 * is seen inside that transaction, and nothing is done twice); a read-only
 * open uses a file of version READABLE_FROM or later as it is, and refuses
 * an older one. Version 2 adds the session indexes for a million sessions.
 *
 * Read scopes: between tp_store_read_begin and the matching end, the first
 * read opens a deferred read transaction (BEGIN; in WAL mode one snapshot:
 * one read-mark lock on the -shm and one check of the file) and the reads
 * after it use it; a write commits it first, and the next read opens
 * another. Outside a scope a read is one statement in autocommit, which is
 * a read transaction of its own.
 *
 * Concurrency: WAL; every change is one BEGIN IMMEDIATE transaction; the
 * busy timeout waits for the lock, and a transaction that still meets
 * SQLITE_BUSY or SQLITE_LOCKED is rolled back and run again after a random
 * pause, for up to RETRY_MS in all. A connection belongs to one thread and
 * one process (open it after fork); one closed in another process (a child
 * dropping what it inherited) is closed without the checkpoint of a last
 * connection, so it writes nothing to files its parent may be using.
 *
 * Cost: opening a current store is sqlite3_open_v2 plus two reads
 * (application_id, the meta rows) and no DDL; statements are prepared on
 * first use and kept. A user lookup is one statement: a point query on the
 * users primary key joined to the attribute rows under the same key. The
 * -wal and -shm files stay when the last connection closes (the -wal
 * emptied), so a lone process does not create and unlink them each time.
 * A session lookup is one search of the digest primary key (the table is
 * WITHOUT ROWID: the row is in the key's leaf, no second lookup): two
 * pages deep at a thousand sessions, four at a million (4 KiB pages); purge
 * and a user's sessions are index searches (migration 1 -> 2).
 *
 * Rows: users, sessions and failures belong to a user (foreign keys, ON
 * DELETE CASCADE): a session or failure for an unknown user is
 * TP_STORE_NOTFOUND, and deleting a user deletes them. Failures keep the
 * FAIL_KEEP newest rows per user.
 *
 * Secrets: strings are bound SQLITE_STATIC, so SQLite makes no copy of a
 * hash or digest in its own memory for the bind; every statement is reset
 * and unbound before the call returns. secure_delete overwrites deleted and
 * replaced rows on disk. Error texts name the file and the operation, never
 * a value.
 */
#ifndef TP_STORE_SQLITE_H
#define TP_STORE_SQLITE_H

#include <stdint.h>
#include <sys/types.h>
#include <sqlite3.h>
#include "backend.h"

#define BUSY_TIMEOUT_MS  5000           /* one wait for the lock */
#define RETRY_MS         20000          /* all the waits and retries of one call */
#define FAIL_KEEP        1024           /* failure rows kept per user (the newest) */

#define RETRY (-1)                      /* internal: SQLITE_BUSY/LOCKED, run it again */

/* The column list read into a struct tp_user (read_user). */
#define USER_COLS "u.hash, u.disabled, u.force_change, u.expires, u.pw_changed, " \
                  "u.pw_min_days, u.pw_max_days, u.pw_warn_days, u.created, a.name, a.value"
#define USER_NCOLS 9

/* user_update binds the mask and tests these bits in SQL. */
_Static_assert(TP_USER_HASH == 0x001 && TP_USER_DISABLED == 0x002 && TP_USER_FORCE_CHANGE == 0x004
               && TP_USER_EXPIRES == 0x008 && TP_USER_PW_CHANGED == 0x010 && TP_USER_PW_MIN == 0x020
               && TP_USER_PW_MAX == 0x040 && TP_USER_PW_WARN == 0x080,
               "user_update's SQL spells out the TP_USER_* bits");

enum stmt_id {
    S_BEGIN, S_COMMIT, S_ROLLBACK, S_BEGIN_READ, S_SYNC_NORMAL, S_SYNC_FULL,
    S_USER_GET, S_USER_EXISTS, S_USER_ADD, S_USER_UPDATE, S_USER_SET_HASH, S_USER_DELETE,
    S_USER_LIST, S_ATTR_PUT, S_ATTR_DELETE,
    S_SES_ADD, S_SES_GET, S_SES_LAST, S_SES_TOUCH, S_SES_DELETE, S_SES_DELETE_USER,
    S_SES_PURGE, S_SES_LIST_ALL, S_SES_LIST_USER,
    S_FAIL_ADD, S_FAIL_STATS, S_FAIL_TRIM, S_FAIL_COUNT, S_FAIL_RESET, S_FAIL_LIST_ALL,
    S_FAIL_LIST_USER, S_FAIL_PURGE, S_USER_DELETE_FAILS,
    S_COUNT
};

/* One connection. */
struct sq {
    struct tp_store base;           /* first: store.c sees only this */
    sqlite3 *db;
    char *where;                    /* the path as given, for messages */
    pid_t pid;                      /* the process that opened it */
    uint64_t rng;                   /* for the pauses between retries */
    int scope;                      /* depth of tp_store_read_begin */
    int reading;                    /* a read transaction of the scope is open */
    sqlite3_stmt *stmt[S_COUNT];    /* prepared on first use */
};

static inline struct sq *sq_of(struct tp_store *st)
{
    return (struct sq *)st;         /* base is the first member */
}

/* ---- sqlite_exec.c ------------------------------------------------------------- */
int64_t tp_sq_now_ms(void);
int tp_sq_busy(int rc);
/* An SQLite failure as a store code, with a message naming the file and
 * the operation ("reading a user") and SQLite's reason; BUSY gives RETRY. */
int tp_sq_fail(struct sq *s, int rc, const char *what);
int tp_sq_nomem(struct sq *s, const char *what);
/* Statement id, prepared on first use and kept. */
int tp_sq_prep(struct sq *s, enum stmt_id id, sqlite3_stmt **out);
/* Every bind is STATIC: the caller's memory stays valid until tp_sq_done(). */
void tp_sq_bind_text(sqlite3_stmt *p, int i, const char *v);
void tp_sq_bind_digest(sqlite3_stmt *p, int i, const unsigned char *d);
/* Reset and unbind. */
void tp_sq_done(sqlite3_stmt *p);
/* Steps a statement that returns no row; SQLITE_OK or the error. */
int tp_sq_step_done(sqlite3_stmt *p);
/* A copy of a text column (NULL for SQL NULL; *oom set when malloc fails). */
char *tp_sq_dup_col(sqlite3_stmt *p, int i, int *oom);
int tp_sq_exec(struct sq *s, const char *sql, const char *what);

typedef int (*tp_sq_body)(struct sq *s, void *arg);
/* body inside BEGIN IMMEDIATE ... COMMIT; the whole transaction again on
 * BUSY/LOCKED. A body returning anything but TP_STORE_OK is rolled back.
 * The read transaction of a scope, if one is open, ends first. The commit
 * is durable (synchronous = FULL: the WAL is synced) when it returns. */
int tp_sq_write(struct sq *s, tp_sq_body body, void *arg, const char *what);
/* The same, committed without waiting for the disk (synchronous = NORMAL
 * for this transaction only): for a session's last-use time (store.h). */
int tp_sq_write_lazy(struct sq *s, tp_sq_body body, void *arg, const char *what);
/* A read: one statement, in autocommit outside a read scope; inside one,
 * in the scope's read transaction (begun here when none is open). Again on
 * BUSY/LOCKED. */
int tp_sq_read(struct sq *s, tp_sq_body body, void *arg, const char *what);
/* The read scope (store.h): begin counts; the end of the outermost one
 * ends the read transaction. */
int tp_sq_read_begin(struct tp_store *st);
void tp_sq_read_end(struct tp_store *st);

/* ---- the groups of calls (sqlite_users.c, sqlite_sessions.c, sqlite_tallies.c) -- */
extern const struct tp_store_users tp_sq_users;
extern const struct tp_store_sessions tp_sq_sessions;
extern const struct tp_store_tallies tp_sq_tallies;

#endif /* TP_STORE_SQLITE_H */
