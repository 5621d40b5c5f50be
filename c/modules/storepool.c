/*
 * storepool.c - the process's store connections: one per store path (and
 * thread), shared by every module instance and handle that uses that
 * store (storepool.h). The handle side (leases in module data, read
 * scopes) is storelease.c.
 *
 * Forks. SQLite's rule is that a connection opened before fork() is never
 * used in the child. Not using it is not enough, though: SQLite keeps the
 * POSIX lock state of each open file in a per-process table (os_unix.c,
 * unixInodeInfo, found by device and inode), and the child inherits that
 * table. While an inherited connection stays open in the child, a new
 * connection the child opens to the same file joins the inherited entry,
 * believes it holds the SHARED lock (and the -shm "DMS" lock) the parent
 * holds, and never takes them in the kernel. It works while the parent
 * keeps its connection open; once the parent closes it (its configuration
 * was reloaded, or it exited), the parent's close checkpoints and truncates
 * the WAL in exclusive mode, or the next process to open the file resets
 * the -shm, while the child is inside a transaction: with Debian's SQLite
 * 3.40 and the store's settings (persistent WAL, journal_size_limit 0), a
 * child that held a write transaction across the parent's close and a
 * newcomer's open got SQLITE_OK from its COMMIT and the row was gone (the
 * newcomer: SQLITE_PROTOCOL). So, at the first lease after a fork, every
 * connection the process inherited, in any pool, is closed before anything
 * is opened, and only then does the child open its own: the child's
 * connections then hold their locks in the kernel like any process's (the
 * same sequence then keeps the row).
 *
 * Closing an inherited connection in the child touches nothing of the
 * parent's: POSIX locks belong to a process, so the child's unlocks and
 * close(2)s release only its own (none); munmap and free are the child's.
 * The one thing sqlite3_close could do to shared files is the checkpoint
 * (and WAL truncation) of a last connection, which needs the EXCLUSIVE lock
 * on the database: it cannot get it while the parent, or any process, has
 * the file open (every open WAL connection holds SHARED), and when no
 * process has it open that checkpoint is the ordinary one of a last
 * closer. (The store closing a connection from another process with
 * SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE would rule out even that: requested of
 * c/store/sqlite.c.) The -wal and -shm files persist (SQLITE_FCNTL_PERSIST_WAL),
 * so no close unlinks anything.
 *
 * Threads: a pool is used by one thread at a time, but the pools of several
 * interpreters may live in one process, so the registry of every open
 * connection (what a child must close) has a mutex, taken around fork()
 * by pthread_atfork so that a child never inherits it locked. In a child,
 * only the connections opened by the thread that forked are closed: another
 * thread's may have been inside a transaction at the fork, and closing that
 * (a rollback) could write the -shm the parent is using; those are left
 * alone and their memory kept. (A process that forks while other threads
 * use SQLite is beyond what SQLite supports anyway.)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "secret.h"
#include "storepool.h"

struct tp_hold;

struct tp_pconn {
    struct tp_store *st;           /* NULL once dropped in a forked child */
    char *path;
    pid_t pid;                     /* the process that opened it */
    pthread_t owner;               /* the thread that opened it */
    int server;                    /* a server's location: no file to check */
    int known;                     /* path's file just before the open: */
    dev_t dev;
    ino_t ino;
    long long checked;             /* CLOCK_MONOTONIC ns of the last stat that gave dev, ino */
    int refs;                      /* one per hold and per lease */
    int leases;                    /* the leases among them */
    int shared;                    /* handed out to new leases */
    int discarded;                 /* the store called it unusable (tp_lease_discard) */
    struct tp_hold *holds;         /* the pools that keep it */
    struct tp_pconn *reg_prev, *reg_next;   /* in the registry while st is open */
    int registered;
};

/* A pool's hold on a connection: in the pool's list and in the connection's. */
struct tp_hold {
    struct tp_pconn *c;
    struct tp_pool *pool;
    struct tp_hold *pool_next, **pool_pprev;
    struct tp_hold *conn_next, **conn_pprev;
};

struct tp_pool {
    struct tp_hold *holds;
};

/* ---- the registry: every open connection of the process ------------------ */

static pthread_mutex_t reg_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static struct tp_pconn *reg_head;
static pid_t reg_pid;              /* the process the registered connections belong to */
/* Forks seen by the atfork child handler (written in the child before it
 * returns from fork(), read under reg_mutex): forget_forked asks getpid()
 * only when this moved, not at every lease (getpid is a system call). */
static unsigned long reg_forks;
static unsigned long reg_forks_seen = (unsigned long)-1;

static void reg_lock(void)
{
    (void)pthread_mutex_lock(&reg_mutex);
}

static void reg_unlock(void)
{
    (void)pthread_mutex_unlock(&reg_mutex);
}

static void reg_child(void)
{
    reg_forks++;
    reg_unlock();
}

static void reg_init(void)
{
    (void)pthread_atfork(reg_lock, reg_unlock, reg_child);
}

static void reg_link(struct tp_pconn *c)
{
    c->reg_prev = NULL;
    c->reg_next = reg_head;
    if (reg_head != NULL)
        reg_head->reg_prev = c;
    reg_head = c;
    c->registered = 1;
}

static void reg_unlink(struct tp_pconn *c)
{
    if (!c->registered)
        return;
    if (c->reg_prev != NULL)
        c->reg_prev->reg_next = c->reg_next;
    else
        reg_head = c->reg_next;
    if (c->reg_next != NULL)
        c->reg_next->reg_prev = c->reg_prev;
    c->reg_prev = c->reg_next = NULL;
    c->registered = 0;
}

/* A connection of another process, in a forked child (registry locked):
 * closed if the thread that forked opened it, else left as it is (see the
 * top of the file); never used again either way. */
static void drop_inherited(struct tp_pconn *c)
{
    reg_unlink(c);
    if (pthread_equal(c->owner, pthread_self()))
        tp_store_close(c->st);
    c->st = NULL;
    c->shared = 0;
}

/* In a process that has forked since the last call: drop every inherited
 * connection, before the caller opens one of its own. The process is asked
 * its pid only at the first call and after a fork(): the atfork handlers
 * are in place before any connection is registered (reg_init at the first
 * lease), and a fork that runs no atfork handler (a raw clone system call)
 * would leave reg_mutex as the parent had it anyway. */
static void forget_forked(void)
{
    (void)pthread_once(&reg_once, reg_init);
    reg_lock();
    if (reg_forks_seen != reg_forks) {
        pid_t me = getpid();
        reg_forks_seen = reg_forks;
        if (reg_pid != me) {
            struct tp_pconn *c, *next;
            for (c = reg_head; c != NULL; c = next) {
                next = c->reg_next;
                if (c->pid != me)
                    drop_inherited(c);
            }
            reg_pid = me;
        }
    }
    reg_unlock();
}

/* CLOCK_MONOTONIC in ns (a vDSO call, no system call). */
static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- connections ------------------------------------------------------------- */

static void conn_unref(struct tp_pconn *c)
{
    struct tp_store *st = NULL;

    if (c == NULL || --c->refs > 0)
        return;
    if (c->st != NULL) {
        reg_lock();
        if (c->pid == getpid()) {
            reg_unlink(c);
            st = c->st;            /* closed outside the lock: a checkpoint takes time */
            c->st = NULL;
        } else {
            drop_inherited(c);
        }
        reg_unlock();
    }
    tp_store_close(st);
    tp_secret_drop(&c->path);      /* a server's location may hold its password */
    free(c);
}

static int hold_add(struct tp_pool *pool, struct tp_pconn *c)
{
    struct tp_hold *h = calloc(1, sizeof *h);

    if (h == NULL)
        return -1;                 /* not kept: the lease works all the same */
    h->c = c;
    h->pool = pool;
    if ((h->pool_next = pool->holds) != NULL)
        h->pool_next->pool_pprev = &h->pool_next;
    h->pool_pprev = &pool->holds;
    pool->holds = h;
    if ((h->conn_next = c->holds) != NULL)
        h->conn_next->conn_pprev = &h->conn_next;
    h->conn_pprev = &c->holds;
    c->holds = h;
    c->refs++;
    return 0;
}

static void hold_drop(struct tp_hold *h)
{
    struct tp_pconn *c = h->c;

    if ((*h->pool_pprev = h->pool_next) != NULL)
        h->pool_next->pool_pprev = h->pool_pprev;
    if ((*h->conn_pprev = h->conn_next) != NULL)
        h->conn_next->conn_pprev = h->conn_pprev;
    free(h);
    conn_unref(c);
}

/* No longer handed out, and no pool keeps it: closed once the leases that
 * hold it have ended. */
static void retire(struct tp_pconn *c)
{
    c->shared = 0;
    c->refs++;                     /* c outlives the loop */
    while (c->holds != NULL)
        hold_drop(c->holds);
    conn_unref(c);
}

/* The connection to path that pool keeps, dropping dead ones on the way. */
static struct tp_pconn *pool_find(struct tp_pool *pool, const char *path)
{
    struct tp_hold *h, *next;

    for (h = pool->holds; h != NULL; h = next) {
        next = h->pool_next;
        if (h->c->st == NULL || !h->c->shared)
            hold_drop(h);          /* dropped after a fork, or replaced */
        else if (strcmp(h->c->path, path) == 0)
            return h->c;
    }
    return NULL;
}

/* This thread's shared connection to path, whoever opened it; NULL if none. */
static struct tp_pconn *shared_find(const char *path)
{
    struct tp_pconn *c;
    pthread_t me = pthread_self();

    reg_lock();
    for (c = reg_head; c != NULL; c = c->reg_next)
        if (c->shared && c->st != NULL && pthread_equal(c->owner, me) &&
            strcmp(c->path, path) == 0)
            break;
    reg_unlock();
    return c;
}

#define MAX_STALE 16

/* Whether this process still has path open on another file than sb's (the
 * file was replaced by rename since). Such connections of this thread that
 * no lease holds are closed first; 1 if any other is left. */
static int stale_in_use(const char *path, const struct stat *sb)
{
    struct tp_pconn *c, *idle[MAX_STALE];
    pid_t me = getpid();
    size_t n = 0;
    int busy = 0;

    reg_lock();
    for (c = reg_head; c != NULL; c = c->reg_next) {
        if (c->pid != me || !c->known || strcmp(c->path, path) != 0 ||
            (c->dev == sb->st_dev && c->ino == sb->st_ino))
            continue;
        if (c->leases == 0 && pthread_equal(c->owner, pthread_self()) && n < MAX_STALE)
            idle[n++] = c;         /* only pools keep it */
        else
            busy = 1;
    }
    reg_unlock();
    for (size_t i = 0; i < n; i++)
        retire(idle[i]);          /* closed: only this thread uses it */
    return busy;
}

static void lease_take(struct tp_lease *l, struct tp_pconn *c, int fresh)
{
    c->refs++;
    c->leases++;
    l->conn = c;
    l->fresh = fresh;
}

/* Opens path into a new lease l: shared (and kept by pool, when given)
 * when the file's identity is known. */
static int open_conn(struct tp_pool *pool, const char *path, struct tp_lease *l,
                     char *err, size_t errlen)
{
    struct tp_pconn *c;
    struct stat sb;
    long long c_checked;
    const char *file = tp_store_file(path);
    int known = 0, src;

    /* the identity first: should the file be replaced between the two, the
     * next lease sees a change and opens it again, never the reverse */
    c_checked = mono_ns();
    if (file != NULL)
        known = stat(file, &sb) == 0;
    /* A WAL database must not be open in one process on two files under
     * one name: they would share the -wal and -shm files, the old file's
     * frames would be read as the new one's, and closing either would drop
     * the other's locks on the -shm (POSIX locks belong to the process). */
    if (known && stale_in_use(path, &sb)) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: replaced while the previous file is still in use by"
                     " this process; it is opened once the handles using that one have ended",
                     path);
        return TP_STORE_UNAVAIL;
    }
    if ((c = calloc(1, sizeof *c)) == NULL || (c->path = strdup(path)) == NULL) {
        free(c);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: out of memory", file != NULL ? file : "opening the store");
        return TP_STORE_ERR;
    }
    if ((src = tp_store_open(path, 0, &c->st, err, errlen)) != TP_STORE_OK) {
        free(c->path);
        free(c);
        return src;
    }
    c->pid = getpid();
    c->owner = pthread_self();
    if (file == NULL) {            /* a server: shared and kept, nothing to stat */
        c->server = 1;
        c->shared = 1;
    } else if (known) {
        c->known = 1;
        c->dev = sb.st_dev;
        c->ino = sb.st_ino;
        c->checked = c_checked;
        c->shared = 1;
    }
    reg_lock();
    reg_link(c);
    reg_unlock();
    lease_take(l, c, 1);
    if (pool != NULL && c->shared)
        (void)hold_add(pool, c);
    return TP_STORE_OK;
}

/* ---- the interface ------------------------------------------------------------ */

struct tp_pool *tp_pool_new(void)
{
    return calloc(1, sizeof(struct tp_pool));
}

void tp_pool_free(struct tp_pool *pool)
{
    if (pool == NULL)
        return;
    while (pool->holds != NULL)
        hold_drop(pool->holds);
    free(pool);
}

int tp_pool_lease(struct tp_pool *pool, const char *path, struct tp_lease *l,
                  char *err, size_t errlen)
{
    struct tp_pconn *c = NULL;
    struct stat sb;
    long long now;

    if (err != NULL && errlen > 0)
        *err = '\0';
    l->conn = NULL;
    l->fresh = 0;
    l->scoped = 0;
    if (path == NULL || *path == '\0') {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "no store path");
        return TP_STORE_ERR;
    }
    forget_forked();
    if (pool != NULL)
        c = pool_find(pool, path);
    if (c == NULL && (c = shared_find(path)) != NULL && pool != NULL)
        (void)hold_add(pool, c);   /* another module's: this one keeps it too */
    if (c != NULL) {
        /* the file's identity is asked again at most every
         * TP_POOL_RECHECK_NSEC (a stat(2) per lease was most of its cost);
         * the clock is read before the stat, so a replacement is seen by
         * every lease taken more than that interval after it */
        if (c->server) {
            lease_take(l, c, 0);
            return TP_STORE_OK;
        }
        now = mono_ns();
        if (now - c->checked < TP_POOL_RECHECK_NSEC && now >= c->checked) {
            lease_take(l, c, 0);
            return TP_STORE_OK;
        }
        if (stat(tp_store_file(path), &sb) == 0 && sb.st_dev == c->dev && sb.st_ino == c->ino) {
            c->checked = now;
            lease_take(l, c, 0);
            return TP_STORE_OK;
        }
        retire(c);                /* replaced or removed: open the path afresh */
    }
    return open_conn(pool, path, l, err, errlen);
}

struct tp_store *tp_lease_store(const struct tp_lease *l)
{
    return l != NULL && l->conn != NULL ? l->conn->st : NULL;
}

const char *tp_lease_path(const struct tp_lease *l)
{
    return l != NULL && l->conn != NULL && l->conn->st != NULL ? l->conn->path : NULL;
}

/* The end of the lease's read scope, if it has one (storepool.h). */
static void scope_end(struct tp_lease *l)
{
    if (!l->scoped)
        return;
    l->scoped = 0;
    forget_forked();       /* an inherited connection is never used */
    if (l->conn != NULL && l->conn->st != NULL)
        tp_store_read_end(l->conn->st);
}

int tp_lease_read_begin(struct tp_lease *l)
{
    struct tp_store *st = tp_lease_store(l);

    if (st == NULL || l->scoped)
        return l->scoped;
    if (tp_store_read_begin(st) == TP_STORE_OK)
        l->scoped = 1;
    return l->scoped;
}

void tp_lease_read_end(struct tp_lease *l)
{
    if (l != NULL)
        scope_end(l);
}

int tp_lease_retry(struct tp_pool *pool, struct tp_lease *l, int src, char *err, size_t errlen)
{
    struct tp_pconn *c = l->conn;
    char *path;
    int rc;

    if (err != NULL && errlen > 0)
        *err = '\0';
    if (c == NULL || l->fresh || (src != TP_STORE_ERR && src != TP_STORE_UNAVAIL))
        return 0;
    if ((path = strdup(c->path)) == NULL) {
        l->fresh = 1;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "reopening the store: out of memory");
        return 0;
    }
    /* closed (when no other lease holds it) before the path is opened again */
    retire(c);
    tp_lease_end(l);
    rc = open_conn(pool, path, l, err, errlen);
    tp_secret_drop(&path);
    l->fresh = 1;                  /* one second chance per lease, even when it failed */
    return rc == TP_STORE_OK;
}

void tp_lease_discard(struct tp_lease *l)
{
    struct tp_pconn *c = l != NULL ? l->conn : NULL;

    if (c == NULL || c->discarded)
        return;
    c->discarded = 1;
    if (c->shared || c->holds != NULL)
        retire(c);                 /* the lease's reference keeps c */
}

int tp_lease_discarded(const struct tp_lease *l)
{
    return l != NULL && l->conn != NULL && l->conn->discarded;
}

void tp_lease_end(struct tp_lease *l)
{
    if (l == NULL)
        return;
    scope_end(l);
    if (l->conn != NULL) {
        l->conn->leases--;
        conn_unref(l->conn);
    }
    l->conn = NULL;
    l->fresh = 0;
}

void *tp_pool_instance_new(void)
{
    return tp_pool_new();
}

void tp_pool_instance_release(void *instance)
{
    tp_pool_free(instance);
}
