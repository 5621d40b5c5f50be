/*
 * sqlite_open.c - the embedded store's file: where it may be, who may
 * write it, what it must hold, its schema and migrations; opening and
 * closing a connection; the backend table (sqlite.h for the whole story).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "sqlite.h"
#include "strict.h"

#define TP_SQLITE_APP_ID 0x54525850     /* "TRXP" */
#define APP_MARKER       "TRex::PAM"

/* ---- schema ------------------------------------------------------------------ */

static const char *const migrations[] = {
    /* 0 -> 1: users, attributes, sessions, failure tallies */
    "CREATE TABLE users ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  force_change INTEGER NOT NULL DEFAULT 0,"
    "  expires INTEGER NOT NULL DEFAULT 0,"
    "  pw_changed INTEGER NOT NULL DEFAULT 0,"
    "  pw_min_days INTEGER NOT NULL DEFAULT 0,"
    "  pw_max_days INTEGER NOT NULL DEFAULT -1,"
    "  pw_warn_days INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE user_attrs ("
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (user, name)"
    ") WITHOUT ROWID;"
    "CREATE TABLE sessions ("
    "  digest BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),"
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  created INTEGER NOT NULL,"
    "  last_used INTEGER NOT NULL,"
    "  rhost TEXT"
    ") WITHOUT ROWID;"
    "CREATE INDEX sessions_user ON sessions(user);"
    "CREATE TABLE failures ("
    "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  time INTEGER NOT NULL"
    ");"
    "CREATE INDEX failures_user_time ON failures(user, time);",

    /* 1 -> 2: sessions at scale (a million live ones). The lookup is the
     * digest primary key already; these make everything else an index
     * search: purge (last_used < ? OR created < ?: a MULTI-INDEX OR of two
     * range searches, not a scan of the table), and one user's sessions
     * (list in (created, digest) order straight from the index, delete_user,
     * the foreign-key cascade), which replaces the index on user alone.
     * Only indexes: a version 1 file is read with the same statements. */
    "CREATE INDEX sessions_last_used ON sessions(last_used);"
    "CREATE INDEX sessions_created ON sessions(created);"
    "CREATE INDEX sessions_user_created ON sessions(user, created);"
    "DROP INDEX sessions_user;",

    /* 2 -> 3: failures of any name (faillock counts names nobody has, as
     * it counts a user's: a lock must not tell who exists), so no foreign
     * key; deleting a user deletes theirs (S_USER_DELETE_FAILS). The rowids
     * stay (the trim keeps the newest by them). An index on time for the
     * purge of old ones. */
    "CREATE TABLE failures_3 (user TEXT NOT NULL, time INTEGER NOT NULL);"
    "INSERT INTO failures_3 (rowid, user, time) SELECT rowid, user, time FROM failures;"
    "DROP TABLE failures;"
    "ALTER TABLE failures_3 RENAME TO failures;"
    "CREATE INDEX failures_user_time ON failures(user, time);"
    "CREATE INDEX failures_time ON failures(time);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))
/* The oldest version this code reads as it is: a read-only connection to a
 * file at least this new is used without upgrading it (the later
 * migrations add indexes and drop a foreign key, so every read below works
 * on it, only slower at scale). An older one needs one read-write open
 * first. */
#define READABLE_FROM 1

/* ---- opening: the file ------------------------------------------------------------------ */

#define UNAVAIL(s, ...) tp_store_fail(&(s)->base, TP_STORE_UNAVAIL, __VA_ARGS__)

/* The directories holding path, from its own up to / (strict.h), for a
 * file of owner. */
static int check_place(struct sq *s, const char *path, uid_t owner)
{
    char why[PATH_MAX + 256];

    return tp_strict_place(path, owner, why, sizeof why) == 0 ? TP_STORE_OK
                                                               : UNAVAIL(s, "%s", why);
}

/* -wal and -shm, if present: regular files like the database, open to its
 * group only when the database is (the shape `trex-pam init --group`
 * makes; SQLite gives them the database's mode). */
static int check_companions(struct sq *s, const char *real, const struct stat *db)
{
    static const char *const suffix[] = { "-wal", "-shm" };
    unsigned int rules = TP_STRICT_OWNER | TP_STRICT_OTHERS
                         | ((db->st_mode & S_IRWXG) ? TP_STRICT_SHARED : TP_STRICT_GROUP);
    char name[PATH_MAX], why[PATH_MAX + 256];
    struct stat sb;

    for (size_t i = 0; i < 2; i++) {
        if ((size_t)snprintf(name, sizeof name, "%s%s", real, suffix[i]) >= sizeof name)
            return UNAVAIL(s, "the path is too long");
        if (lstat(name, &sb) == 0 && tp_strict_file(name, &sb, rules, why, sizeof why) != 0)
            return UNAVAIL(s, "%s: %s", name, why);
    }
    return TP_STORE_OK;
}

/*
 * Checks the place and the file, creating it with CREATE. *real gets the
 * name to hand SQLite: the absolute path with every symbolic link resolved
 * (so no name is ever read as a URI or ":memory:" either). The file is
 * refused as sshd's StrictModes would (strict.h): owned by neither root
 * nor this user, open to others, open to its group other than as `trex-pam
 * init --group` makes it (0660), or in a directory others or its group may
 * write.
 */
static int check_file(struct sq *s, const char *path, int flags, char **real, int *created)
{
    mode_t mode = (flags & TP_STORE_GROUP) ? 0660 : 0600;
    char why[PATH_MAX + 256];
    struct stat sb, lsb;
    int code, fd;

    *real = NULL;
    if ((code = check_place(s, path, geteuid())) != TP_STORE_OK)
        return code;
    if (lstat(path, &lsb) != 0) {
        if (errno != ENOENT)
            return UNAVAIL(s, "cannot examine the file: %s", strerror(errno));
        if (!(flags & TP_STORE_CREATE))
            return UNAVAIL(s, "no such file (`trex-pam init` creates the store)");
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd >= 0) {
            /* umask may only have narrowed it: make it exactly mode. A new
             * inode, so closing this descriptor drops no SQLite lock. */
            int bad = fchmod(fd, mode) != 0 ? errno : 0;
            close(fd);
            if (bad) {
                unlink(path);
                return UNAVAIL(s, "cannot set the mode of the new file: %s", strerror(bad));
            }
            *created = 1;
        } else if (errno != EEXIST) {
            return UNAVAIL(s, "cannot create the file: %s", strerror(errno));
        }                             /* EEXIST: another process made it just now */
        if (lstat(path, &lsb) != 0)
            return UNAVAIL(s, "cannot examine the file: %s", strerror(errno));
    }
    /* SQLite gets the resolved name: its -wal and -shm go beside the real
     * file, and SQLITE_OPEN_NOFOLLOW refuses any symbolic link in it */
    if ((*real = realpath(path, NULL)) == NULL)
        return errno == ENOMEM ? tp_sq_nomem(s, "opening")
                               : UNAVAIL(s, "cannot resolve the path: %s", strerror(errno));
    if (stat(*real, &sb) != 0)
        return UNAVAIL(s, "cannot examine the file: %s", strerror(errno));
    if (tp_strict_file(*real, &sb, TP_STRICT_OWNER | TP_STRICT_OTHERS | TP_STRICT_SHARED, why,
                       sizeof why) != 0)
        return UNAVAIL(s, "%s", why);
    if (S_ISLNK(lsb.st_mode) && (code = check_place(s, *real, sb.st_uid)) != TP_STORE_OK)
        return code;                  /* the directories the link points into */
    return check_companions(s, *real, &sb);
}

/* ---- opening: the schema ---------------------------------------------------------------- */

enum kind { K_OURS, K_EMPTY, K_FOREIGN, K_DAMAGED };

struct probe {
    enum kind kind;
    int version;
    char why[128];
};

static int one_int(struct sq *s, const char *sql, int64_t *v)
{
    sqlite3_stmt *p;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &p, NULL);

    if (rc != SQLITE_OK)
        return rc;
    if ((rc = sqlite3_step(p)) == SQLITE_ROW)
        *v = sqlite3_column_int64(p, 0);
    sqlite3_finalize(p);
    return rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* What the file holds. SQLITE_OK with pr filled in, or SQLite's error. */
static int probe(struct sq *s, struct probe *pr)
{
    int64_t app = 0, n = 0, uv = 0;
    int rc, marked = 0, have_version = 0;
    sqlite3_stmt *p;

    pr->kind = K_DAMAGED;
    pr->version = -1;
    pr->why[0] = '\0';
    if ((rc = one_int(s, "PRAGMA application_id", &app)) != SQLITE_OK)
        return rc;
    if (app != 0 && app != TP_SQLITE_APP_ID) {
        pr->kind = K_FOREIGN;
        snprintf(pr->why, sizeof pr->why, "its application_id is 0x%08" PRIx32,
                 (uint32_t)app);
        return SQLITE_OK;
    }
    rc = sqlite3_prepare_v2(s->db, "SELECT key, value FROM trex_pam_meta"
                            " WHERE key IN ('application', 'schema_version')", -1, &p, NULL);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
            const char *k = (const char *)sqlite3_column_text(p, 0);
            const char *v = (const char *)sqlite3_column_text(p, 1);
            char *end;
            long ver;
            if (k == NULL || v == NULL)
                continue;
            if (strcmp(k, "application") == 0) {
                marked = strcmp(v, APP_MARKER) == 0;
            } else {
                errno = 0;
                ver = strtol(v, &end, 10);
                if (errno == 0 && end != v && *end == '\0' && ver >= 0 && ver < INT_MAX) {
                    pr->version = (int)ver;
                    have_version = 1;
                }
            }
        }
        sqlite3_finalize(p);
        if (rc != SQLITE_DONE)
            return rc;
        if (!marked) {
            pr->kind = app == TP_SQLITE_APP_ID ? K_DAMAGED : K_FOREIGN;
            snprintf(pr->why, sizeof pr->why, "its trex_pam_meta table has no TRex::PAM marker");
        } else if (!have_version) {
            snprintf(pr->why, sizeof pr->why, "its schema version is missing or unreadable");
        } else {
            pr->kind = K_OURS;
        }
        return SQLITE_OK;
    }
    if ((rc & 0xff) != SQLITE_ERROR)  /* corrupt, not a database, busy ... */
        return rc;
    if (app == TP_SQLITE_APP_ID) {
        snprintf(pr->why, sizeof pr->why, "its trex_pam_meta table is missing");
        return SQLITE_OK;
    }
    if ((rc = one_int(s, "SELECT count(*) FROM sqlite_master", &n)) != SQLITE_OK
        || (rc = one_int(s, "PRAGMA user_version", &uv)) != SQLITE_OK)
        return rc;
    if (n == 0 && uv == 0) {
        pr->kind = K_EMPTY;
    } else {
        pr->kind = K_FOREIGN;
        snprintf(pr->why, sizeof pr->why, "it has no TRex::PAM tables");
    }
    return SQLITE_OK;
}

/* The open-time failure of a probe, in words. */
static int probe_fail(struct sq *s, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL, "not a TRex::PAM database: %s",
                             sqlite3_errmsg(s->db));
    case SQLITE_CORRUPT:
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL, "corrupt database: %s",
                             sqlite3_errmsg(s->db));
    default:
        if (tp_sq_busy(rc))
            rc = SQLITE_IOERR;        /* gave up: do not return RETRY */
        return tp_sq_fail(s, rc, "reading the database");
    }
}

/*
 * probe's statements are separate reads, so a store being created or
 * upgraded by another process right now can look half made (no meta table,
 * then tables). The usual answer (ours) needs no more; any other is checked
 * again inside one read transaction, which sees one consistent state.
 */
static int probe_whole(struct sq *s, struct probe *pr)
{
    int rc = probe(s, pr);

    if (rc != SQLITE_OK || pr->kind == K_OURS)
        return rc;
    if ((rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
        return rc;
    rc = probe(s, pr);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);    /* it only read */
    return rc;
}

static int probe_wait(struct sq *s, struct probe *pr)
{
    int64_t start = tp_sq_now_ms();
    int rc;

    for (int attempt = 0;; attempt++) {
        if (!tp_sq_busy(rc = probe_whole(s, pr)) || tp_sq_now_ms() - start > RETRY_MS)
            return rc;
        tp_backend_pause(&s->rng, attempt);
    }
}

static int migrate(struct sq *s, int from)
{
    char sql[128];
    int code;

    for (int v = from; v < SCHEMA_VERSION; v++)
        if ((code = tp_sq_exec(s, migrations[v], "upgrading the schema")) != TP_STORE_OK)
            return code;
    snprintf(sql, sizeof sql, "UPDATE trex_pam_meta SET value = '%d' WHERE key = 'schema_version'",
             SCHEMA_VERSION);
    return tp_sq_exec(s, sql, "upgrading the schema");
}

/* Inside the write transaction: look again (another process may have done
 * it meanwhile), then create or upgrade. */
static int body_setup(struct sq *s, void *arg)
{
    int flags = *(int *)arg, rc, code;
    struct probe pr;
    char sql[256];

    if ((rc = probe(s, &pr)) != SQLITE_OK)
        return tp_sq_busy(rc) ? RETRY : probe_fail(s, rc);
    if (pr.kind == K_OURS && pr.version == SCHEMA_VERSION)
        return TP_STORE_OK;
    if (pr.kind == K_OURS && pr.version < SCHEMA_VERSION)
        return migrate(s, pr.version);
    if (pr.kind != K_EMPTY || !(flags & TP_STORE_CREATE))
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL, "changed while opening it: %s", pr.why);
    snprintf(sql, sizeof sql,
             "PRAGMA application_id = %d;"
             "CREATE TABLE trex_pam_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)"
             " WITHOUT ROWID;"
             "INSERT INTO trex_pam_meta (key, value) VALUES ('application', '" APP_MARKER "'),"
             " ('schema_version', '0');", TP_SQLITE_APP_ID);
    if ((code = tp_sq_exec(s, sql, "creating the schema")) != TP_STORE_OK)
        return code;
    return migrate(s, 0);
}

static int set_wal(struct sq *s)
{
    int64_t start = tp_sq_now_ms();
    int rc;

    for (int attempt = 0;; attempt++) {
        rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return TP_STORE_OK;
        if (!tp_sq_busy(rc) || tp_sq_now_ms() - start > RETRY_MS)
            return probe_fail(s, rc);
        tp_backend_pause(&s->rng, attempt);
    }
}

/* Decides what to do with the file: use it, create or upgrade the schema, or refuse. */
static int settle(struct sq *s, int flags)
{
    struct probe pr;
    int rc, code;

    if ((rc = probe_wait(s, &pr)) != SQLITE_OK)
        return probe_fail(s, rc);
    switch (pr.kind) {
    case K_OURS:
        if (pr.version == SCHEMA_VERSION)
            return TP_STORE_OK;       /* the usual case: nothing to write */
        if (pr.version > SCHEMA_VERSION)
            return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                                 "schema version %d was made by a newer TRex::PAM"
                                 " (this one knows up to %d)", pr.version, SCHEMA_VERSION);
        if ((flags & TP_STORE_RDONLY) && pr.version >= READABLE_FROM)
            return TP_STORE_OK;       /* read as it is; a read-write open upgrades it */
        if (flags & TP_STORE_RDONLY)
            return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                                 "schema version %d needs an upgrade to %d; open it read-write once",
                                 pr.version, SCHEMA_VERSION);
        break;
    case K_FOREIGN:
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                             "not a TRex::PAM database: %s; left untouched", pr.why);
    case K_DAMAGED:
        return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                             "damaged TRex::PAM database: %s; left untouched", pr.why);
    case K_EMPTY:
        if (!(flags & TP_STORE_CREATE))
            return tp_store_fail(&s->base, TP_STORE_UNAVAIL,
                                 "empty file, not a TRex::PAM database yet"
                                 " (`trex-pam init` creates the store)");
        if ((code = set_wal(s)) != TP_STORE_OK)
            return code;
        break;
    }
    return tp_sq_write(s, body_setup, &flags, "setting up the schema");
}

static void sq_close(struct tp_store *st)
{
    struct sq *s = sq_of(st);

#ifdef SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE
    /* Closed in another process than the one that opened it (a child
     * dropping what it inherited through fork): write nothing, not even the
     * checkpoint of a last connection, to files the parent may be using. */
    if (s->db != NULL && s->pid != getpid())
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
#endif
    for (size_t i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s->where);
    free(s);
}

static void remove_created(const char *path)
{
    char name[PATH_MAX];

    unlink(path);
    if ((size_t)snprintf(name, sizeof name, "%s-wal", path) < sizeof name)
        unlink(name);
    if ((size_t)snprintf(name, sizeof name, "%s-shm", path) < sizeof name)
        unlink(name);
}

/* Before the library's first use in this process: no bulk allocation of
 * page-cache lines at a connection's first page. SQLite's default carves
 * 20 lines (about 84 KB) out of one malloc and writes a header into each,
 * so a short-lived process (a CGI request) pays a page fault for every
 * 4 KB of a cache it barely uses: 38 faults, about 0.4 ms here. Lines are
 * then malloc'd one by one as pages are read. When another part of the
 * process has already initialised SQLite, the call is refused
 * (SQLITE_MISUSE) and changes nothing. */
static void configure_library(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_PAGECACHE, (void *)NULL, 0, 0);
}

static int sq_open(const char *path, int flags, struct tp_store **out, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int oflags = (flags & TP_STORE_RDONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    struct sq *s;
    char *real = NULL;
    int rc, code, created = 0, persist = 1;

    pthread_once(&once, configure_library);
    s = calloc(1, sizeof *s);

    if (s == NULL || (s->where = strdup(path)) == NULL) {
        free(s);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s: out of memory", path);
        return TP_STORE_ERR;
    }
    s->base.backend = &tp_store_sqlite;
    s->base.where = s->where;
    s->pid = getpid();
    s->rng = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)tp_sq_now_ms() ^ (uintptr_t)s;
    s->rng |= 1;
    if ((code = check_file(s, path, flags, &real, &created)) != TP_STORE_OK)
        goto fail;

    oflags |= SQLITE_OPEN_NOMUTEX;    /* never SQLITE_OPEN_CREATE: the file exists by now */
#ifdef SQLITE_OPEN_NOFOLLOW
    oflags |= SQLITE_OPEN_NOFOLLOW;   /* real holds no symbolic link */
#endif
    rc = sqlite3_open_v2(real, &s->db, oflags, NULL);
    if (rc != SQLITE_OK) {
        code = s->db != NULL ? tp_sq_fail(s, rc, "cannot open")
                             : tp_store_fail(&s->base, TP_STORE_ERR, "cannot open: out of memory");
        if (code == RETRY)
            code = tp_store_fail(&s->base, TP_STORE_ERR, "cannot open: %s", sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
#ifdef SQLITE_DBCONFIG_DEFENSIVE
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
#endif
#ifdef SQLITE_DBCONFIG_TRUSTED_SCHEMA
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
#endif
    if ((code = tp_sq_exec(s, "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
                     " PRAGMA journal_size_limit = 0", "configuring the connection")) != TP_STORE_OK)
        goto fail;
    if ((code = settle(s, flags)) != TP_STORE_OK)
        goto fail;
    /* every commit durable (the WAL synced) but the lazy ones (sqlite.h) */
    if ((code = tp_sq_exec(s, "PRAGMA synchronous = FULL", "configuring the connection"))
        != TP_STORE_OK)
        goto fail;
    /* The last connection to close keeps the -wal (emptied: journal_size_limit)
     * and -shm, so a lone CGI process does not create and unlink both each time. */
    sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    free(real);
    *out = &s->base;
    return TP_STORE_OK;

fail:
    if (code == RETRY)
        code = TP_STORE_ERR;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", s->base.err);
#ifdef SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE
    if (s->db != NULL)                /* a refused file is not written, not even by a checkpoint */
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)NULL);
#endif
    sq_close(&s->base);
    if (created)                      /* ours and never usable: leave nothing behind */
        remove_created(path);
    free(real);
    return code;
}


/* The embedded store takes any location that no server backend claims:
 * a path. */
static int sq_claims(const char *location)
{
    return location != NULL;
}

const struct tp_store_backend tp_store_sqlite = {
    .name = "sqlite",
    .claims = sq_claims,
    .open = sq_open,
    .close = sq_close,
    .read_begin = tp_sq_read_begin,
    .read_end = tp_sq_read_end,
    .users = &tp_sq_users,
    .sessions = &tp_sq_sessions,
    .tallies = &tp_sq_tallies,
};
