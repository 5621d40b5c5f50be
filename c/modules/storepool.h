/*
 * storepool.h - the process's store connections, shared by the built-in
 * modules that use the store (userdb, session, faillock) and by their
 * handles.
 *
 * One connection per store path per process (and per thread): every
 * module and every handle of the thread that names the same path uses it,
 * opened at the first use. It stays open while a pool keeps it or a lease
 * holds it. A module instance (a pool) lives as long as the configuration
 * that loaded it (trex_pam_module.h): with a trex_pam_confcache, across
 * every handle of a persistent process; without one, one handle. So in a
 * CGI process the session, userdb and faillock lines of a stack open the
 * store once, and the connection is closed (the last connection to close
 * checkpoints the WAL) when the handle ends.
 *
 * A handle takes a lease on a connection at its first use of a path and
 * keeps that connection for its whole life (every call on one handle sees
 * one connection). Taking a lease checks, in this order:
 *   - fork: a connection opened by another process (the parent) is never
 *     used. At the first lease after a fork, every connection the process
 *     inherited (any pool, any module) is dropped before anything is
 *     opened: see storepool.c for why all of them and why closed;
 *   - the file: stat(path) must still give the device and inode it gave
 *     just before the connection was opened (asked again at most every
 *     TP_POOL_RECHECK_NSEC, 1 ms, per connection); a file replaced (a new
 *     database renamed into place) or removed makes the lease open the path
 *     afresh, and the old connection is no longer handed out (handles that
 *     hold it keep it until they end). The new file is opened only once no
 *     connection of this process is left on the old one (until then such a
 *     lease fails with TP_STORE_UNAVAIL): the two would share the -wal and
 *     -shm files. Another process that still has the old file open shares
 *     them just the same, so replacing the database by rename is only safe
 *     while no process has it open; persistent processes keep it open.
 * A store error (TP_STORE_ERR or TP_STORE_UNAVAIL) on a connection the
 * handle did not open itself gets one second chance: tp_lease_retry opens
 * the path afresh and the caller repeats the (read) operation once.
 *
 * Single-threaded like the handles and the configuration cache: a pool
 * and its connections are used by one thread at a time.
 */
#ifndef TP_STOREPOOL_H
#define TP_STOREPOOL_H

#include <stddef.h>
#include "trex_pam_module.h"
#include "store.h"

struct tp_pool;
struct tp_pconn;

/* How long a pooled connection's file identity (the stat above) is
 * trusted: a file replaced or removed is noticed by every lease taken more
 * than this after the replacement (1 ms, like the configuration cache's
 * re-check of its files); leases within it keep the
 * connection they would have had a moment earlier. */
#define TP_POOL_RECHECK_NSEC 1000000LL

/* One handle's use of one connection (lives in the handle's module data). */
#define TP_LEASE_WHYLEN 1024

struct tp_lease {
    struct tp_pconn *conn;         /* NULL: none */
    int fresh;                     /* opened for this lease: no second chance */
    int scoped;                    /* holds a read scope on the connection */
    char why[TP_LEASE_WHYLEN];     /* why the second chance failed (tp_lease_again) */
};

/* A module's instance_new and release. tp_pool_new returns NULL when out of
 * memory; every function below accepts a NULL pool (then nothing is kept:
 * each lease opens its own connection, closed when the lease ends). */
struct tp_pool *tp_pool_new(void);
void tp_pool_free(struct tp_pool *pool);

/* A lease on the store at path (a location: tp_store_location), opened without
 * flags if need be: TP_STORE_OK, or the code of tp_store_open with its
 * reason in err (l->conn NULL). l must be empty ({ NULL, 0 } or ended). */
int tp_pool_lease(struct tp_pool *pool, const char *path, struct tp_lease *l,
                  char *err, size_t errlen);
/* The connection of a lease; NULL for an empty one. */
struct tp_store *tp_lease_store(const struct tp_lease *l);
/* The path it was opened on; NULL for an empty one. */
const char *tp_lease_path(const struct tp_lease *l);
/* A read scope (store.h) on the lease's connection, held by the lease
 * until tp_lease_read_end or the lease's end: 1 if the lease holds one now
 * (already, or begun here), 0 if not (no connection, or the store said
 * no: then every read stands alone, which is correct, only dearer). */
int tp_lease_read_begin(struct tp_lease *l);
void tp_lease_read_end(struct tp_lease *l);
/* After an operation on l's connection returned src: for TP_STORE_ERR or
 * TP_STORE_UNAVAIL on a connection this lease did not open, stop handing
 * that connection out, give it back, open the path afresh into l and
 * return 1 (the caller repeats the operation). 0 otherwise: l is unchanged
 * when there was nothing to try, and empty (tp_lease_store NULL) when the
 * fresh open failed, err then saying why; either way no second chance is
 * left. */
int tp_lease_retry(struct tp_pool *pool, struct tp_lease *l, int src, char *err, size_t errlen);
/* The store said l's connection cannot be used (TP_STORE_UNAVAIL: the
 * server went away, stopped answering, refused us): it is handed out no
 * more and no pool keeps it, so the next lease of its path, by any module
 * or handle, opens the path afresh. l keeps it until it ends. */
void tp_lease_discard(struct tp_lease *l);
/* 1 if l holds a connection that was discarded. */
int tp_lease_discarded(const struct tp_lease *l);
/* Gives the connection back (closed when nothing else holds it). */
void tp_lease_end(struct tp_lease *l);

/* The module-table hooks of a module whose instance is just a pool
 * (userdb, session, faillock): .instance_new and .release. */
void *tp_pool_instance_new(void);
void tp_pool_instance_release(void *instance);

/* ---- what the store modules call on a handle ------------------------------
 * A module keeps its leases in its module data (one struct per handle, or
 * per handle and store path), and uses these for the rest. who names the
 * module in log lines ("session"). */

/* The handle's module data called name: made zeroed (size bytes, freed
 * with cleanup by trex_pam_end) on first use. TREX_PAM_SUCCESS or a PAM
 * error. */
int tp_pool_state(trex_pam_handle_t *h, const char *name, size_t size,
                  trex_pam_cleanup_fn cleanup, void **out);
/* tp_lease_use on the location a module line names with store= or db=, or
 * the environment or the store configuration file beside the handle's
 * configuration directory (store.h: tp_store_location). A line that names
 * it twice or puts a server's location in db=, or a configuration file that
 * is unsafe or malformed, gives TP_STORE_UNAVAIL after a log line
 * "who: reason". */
int tp_lease_use_at(trex_pam_handle_t *h, struct tp_pool *pool, struct tp_lease *l,
                    const char *store, const char *db, const char *who);
/* Point l at the store at path: l is kept when it holds a connection to
 * that path already (and not discarded), else it is ended and leased anew
 * from pool. Then the read scope: the reads on the connection share one
 * snapshot with those of every module on that store until the handle's
 * next pause (trex_pam_at_pause: the end of the service call, or a
 * conversation a person answered), which ends it; a write ends it at once
 * (store.h). TP_STORE_OK, or the open's code after a log line "who:
 * reason" (the store's message: its backend, the location without its
 * password, why).
 *
 * Faults, one service call at a time: a store that could not be used (an
 * open or an operation gave TP_STORE_UNAVAIL) is remembered by the handle
 * until its next pause. Every later use of that location in the same call,
 * by any store module, is TP_STORE_UNAVAIL at once: no second log line, no
 * second wait for a server that is stopped or gone. The next service call
 * tries it afresh (recovery as soon as the server is back). */
int tp_lease_use(trex_pam_handle_t *h, struct tp_pool *pool, struct tp_lease *l,
                 const char *path, const char *who);
/* After an operation on l's connection returned src: 1 if l now holds a
 * fresh connection and the caller should repeat the (read) operation once
 * (a store error on a connection kept from an earlier handle, which the
 * server may have dropped meanwhile), else 0. No second chance after a
 * wait that ran out (tp_store_timed_out) or for a store that failed
 * earlier in this call. A fresh connection that opened is told of by one
 * NOTICE at the handle's next pause, unless that store fails in this call
 * after all (its one line says why then); when it could not be opened, l
 * is empty and its why says why, for tp_lease_failed. */
int tp_lease_again(trex_pam_handle_t *h, struct tp_pool *pool, struct tp_lease *l, int src,
                   const char *who);
/* After an operation on l's store failed with src (not TP_STORE_OK, and
 * not an answer such as NOTFOUND the caller takes for one): one log line
 * "who: what: reason", unless this service call logged that store's
 * failure already; for TP_STORE_UNAVAIL the connection is discarded
 * (tp_lease_discard) and the store remembered as failed until the pause.
 * Returns tp_lease_pam_code(src). */
int tp_lease_failed(trex_pam_handle_t *h, struct tp_lease *l, int src, const char *who,
                    const char *what);
/* For a store module's check (trex_pam_module.h: trex_pam_check, trex-pam
 * check-config; storecheck.c): the store a line names with store= (given
 * under the argument name arg: "store", or faillock's "users") or db=
 * (else the environment, the store configuration file, the default:
 * tp_store_locate) opened read-only (its schema there, of a version this
 * code uses), asked once (tp_store_ping) and closed; it must keep needs
 * (TP_STORE_KEEPS_*, 0: anything). TREX_PAM_SUCCESS with *keeps (may be
 * NULL) saying what it keeps, or a PAM code (AUTHINFO_UNAVAIL for a store
 * that cannot be used) with why "who: store (FROM): reason", FROM saying
 * which setting named it; never a password. A handle asks each location
 * once: lines on one dead server wait for it once. */
int tp_store_check_line(trex_pam_handle_t *h, const char *arg, const char *store,
                        const char *db, unsigned int needs, const char *who, unsigned int *keeps,
                        char *why, size_t whylen);
/* The PAM code of a store failure: AUTHINFO_UNAVAIL when the store cannot
 * be used, SYSTEM_ERR for anything else. */
int tp_lease_pam_code(int src);

#endif /* TP_STOREPOOL_H */
