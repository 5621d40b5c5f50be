/*
 * pg_open.c - the PostgreSQL store's location, connection and schema:
 * what a location says (and what of it may be shown), connecting, the
 * schema and its migrations, closing; the backend table (pg.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pg.h"
#include "secret.h"

#define APP_MARKER "TRex::PAM"

/* ---- schema ------------------------------------------------------------------------ */

static const char *const migrations[] = {
    /* 0 -> 1: users, attributes, sessions, failure tallies (the SQLite
     * store's version 2 tables and indexes); keys in the "C" collation */
    "CREATE TABLE trex_pam.users ("
    "  name text COLLATE \"C\" PRIMARY KEY,"
    "  hash text NOT NULL,"
    "  disabled integer NOT NULL DEFAULT 0,"
    "  force_change integer NOT NULL DEFAULT 0,"
    "  expires bigint NOT NULL DEFAULT 0,"
    "  pw_changed bigint NOT NULL DEFAULT 0,"
    "  pw_min_days integer NOT NULL DEFAULT 0,"
    "  pw_max_days integer NOT NULL DEFAULT -1,"
    "  pw_warn_days integer NOT NULL DEFAULT 0,"
    "  created bigint NOT NULL"
    ");"
    "CREATE TABLE trex_pam.user_attrs ("
    "  \"user\" text COLLATE \"C\" NOT NULL REFERENCES trex_pam.users(name)"
    "    ON DELETE CASCADE ON UPDATE CASCADE,"
    "  name text COLLATE \"C\" NOT NULL,"
    "  value text NOT NULL,"
    "  PRIMARY KEY (\"user\", name)"
    ");"
    "CREATE TABLE trex_pam.sessions ("
    "  digest bytea PRIMARY KEY CHECK (length(digest) = 32),"
    "  \"user\" text COLLATE \"C\" NOT NULL REFERENCES trex_pam.users(name)"
    "    ON DELETE CASCADE ON UPDATE CASCADE,"
    "  created bigint NOT NULL,"
    "  last_used bigint NOT NULL,"
    "  rhost text"
    ");"
    "CREATE INDEX sessions_user_created ON trex_pam.sessions (\"user\", created);"
    "CREATE INDEX sessions_last_used ON trex_pam.sessions (last_used);"
    "CREATE INDEX sessions_created ON trex_pam.sessions (created);"
    "CREATE TABLE trex_pam.failures ("
    "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  \"user\" text COLLATE \"C\" NOT NULL REFERENCES trex_pam.users(name)"
    "    ON DELETE CASCADE ON UPDATE CASCADE,"
    "  time bigint NOT NULL"
    ");"
    "CREATE INDEX failures_user_time ON trex_pam.failures (\"user\", time);",

    /* 1 -> 2: failures of any name (faillock counts names nobody has, as it
     * counts a user's: a lock must not tell who exists), so no foreign key;
     * deleting a user deletes theirs (P_USER_DELETE). An index on time for
     * the purge of old ones. */
    "ALTER TABLE trex_pam.failures DROP CONSTRAINT IF EXISTS failures_user_fkey;"
    "CREATE INDEX failures_time ON trex_pam.failures (time);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))
/* The oldest version a read-only connection uses as it is. */
#define READABLE_FROM 1

#define META_QUERY "SELECT key, value FROM trex_pam.meta WHERE key IN ('application', 'schema_version')"

/* ---- the schema ------------------------------------------------------------------------ */

enum kind { K_OURS, K_NONE, K_FOREIGN, K_DAMAGED };

/* What META_QUERY's rows say: K_OURS with the version, or K_DAMAGED. */
static enum kind read_meta(PGresult *r, int *version)
{
    int marked = 0, have = 0;

    *version = -1;
    for (int i = 0; i < tp_pq.PQntuples(r); i++) {
        const char *k = tp_pq.PQgetvalue(r, i, 0), *v = tp_pq.PQgetvalue(r, i, 1);
        if (strcmp(k, "application") == 0) {
            marked = strcmp(v, APP_MARKER) == 0;
        } else {
            char *end;
            long ver;
            errno = 0;
            ver = strtol(v, &end, 10);
            if (errno == 0 && end != v && *end == '\0' && ver >= 0 && ver < INT_MAX) {
                *version = (int)ver;
                have = 1;
            }
        }
    }
    return marked && have ? K_OURS : K_DAMAGED;
}

/* Inside a transaction, never failing on a missing table: what is there. */
static int probe(struct pg *p, enum kind *kind, int *version)
{
    PGresult *r;
    int code, has_meta, has_schema, nrel;

    code = tp_pg_run_sql(p, "SELECT to_regclass('trex_pam.meta') IS NOT NULL,"
                        " n.oid IS NOT NULL,"
                        " (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid)"
                        " FROM (SELECT 1) AS one"
                        " LEFT JOIN pg_namespace AS n ON n.nspname = 'trex_pam'", &r,
                        "reading the schema");
    if (code != TP_STORE_OK)
        return code;
    has_meta = strcmp(tp_pq.PQgetvalue(r, 0, 0), "t") == 0;
    has_schema = strcmp(tp_pq.PQgetvalue(r, 0, 1), "t") == 0;
    nrel = (int)tp_pg_int(r, 0, 2);
    tp_pq.PQclear(r);
    if (!has_meta) {
        *kind = has_schema && nrel > 0 ? K_FOREIGN : K_NONE;
        return TP_STORE_OK;
    }
    if ((code = tp_pg_run_sql(p, META_QUERY, &r, "reading the schema")) != TP_STORE_OK)
        return code;
    *kind = read_meta(r, version);
    tp_pq.PQclear(r);
    return TP_STORE_OK;
}

static int migrate(struct pg *p, int from)
{
    char sql[160];
    int code;

    for (int v = from; v < SCHEMA_VERSION; v++)
        if ((code = tp_pg_run_sql(p, migrations[v], NULL, "upgrading the schema")) != TP_STORE_OK)
            return code;
    snprintf(sql, sizeof sql, "UPDATE trex_pam.meta SET value = '%d' WHERE key = 'schema_version'",
             SCHEMA_VERSION);
    return tp_pg_run_sql(p, sql, NULL, "upgrading the schema");
}

/* In the write transaction, after the lock: look again (another process
 * may have done it meanwhile), then create or upgrade. */
static int body_setup(struct pg *p, void *arg)
{
    int flags = *(int *)arg, code, version = -1;
    char sql[128];
    enum kind kind;

    snprintf(sql, sizeof sql, "SELECT pg_advisory_xact_lock(%lld)", (long long)ADVISORY_KEY);
    if ((code = tp_pg_run_sql(p, sql, NULL, "locking the schema")) != TP_STORE_OK
        || (code = probe(p, &kind, &version)) != TP_STORE_OK)
        return code;
    if (kind == K_OURS && version == SCHEMA_VERSION)
        return TP_STORE_OK;
    if (kind == K_OURS && version < SCHEMA_VERSION)
        return migrate(p, version);
    if (kind != K_NONE || !(flags & TP_STORE_CREATE))
        return tp_store_fail(&p->base, TP_STORE_UNAVAIL,
                             "the schema trex_pam changed while opening it; left untouched");
    code = tp_pg_run_sql(p, "CREATE SCHEMA IF NOT EXISTS trex_pam;"
                        "CREATE TABLE trex_pam.meta (key text COLLATE \"C\" PRIMARY KEY,"
                        " value text NOT NULL);"
                        "INSERT INTO trex_pam.meta (key, value) VALUES"
                        " ('application', '" APP_MARKER "'), ('schema_version', '0')",
                        NULL, "creating the schema");
    return code != TP_STORE_OK ? code : migrate(p, 0);
}

/* The session's settings: names resolved in pg_catalog only, bytea as hex,
 * no statement or lock wait longer than the command timeout, and commits
 * acknowledged durable even where the server's default is
 * synchronous_commit = off (a stronger setting is kept). */
static void session_sql(struct pg *p, char *buf, size_t n, const char *then)
{
    long ms = (long)p->timeout * 1000;

    snprintf(buf, n, "SET search_path = pg_catalog, pg_temp; SET bytea_output = hex;"
             " SET statement_timeout = %ld; SET lock_timeout = %ld;"
             " SELECT set_config('synchronous_commit', 'on', false)"
             " WHERE current_setting('synchronous_commit') = 'off';%s %s",
             ms * 9 / 10, ms * 3 / 4,
             p->rdonly ? " SET default_transaction_read_only = on;" : "", then);
}

/* Decides: use the schema, create or upgrade it, or refuse. */
static int settle(struct pg *p, int flags)
{
    char sql[768];
    PGresult *r;
    enum kind kind;
    int code, version = -1;

    /* the usual case in one round trip: the settings and the meta rows */
    session_sql(p, sql, sizeof sql, META_QUERY);
    code = tp_pg_simple(p, sql, &r, "opening");
    if (code == TP_STORE_OK) {
        kind = read_meta(r, &version);
        tp_pq.PQclear(r);
    } else if (p->conn != NULL
               && (strcmp(p->sqlstate, "42P01") == 0 || strcmp(p->sqlstate, "3F000") == 0)) {
        /* no meta table: the settings went with the failed statement */
        session_sql(p, sql, sizeof sql, "");
        if ((code = tp_pg_simple(p, sql, NULL, "opening")) != TP_STORE_OK
            || (code = probe(p, &kind, &version)) != TP_STORE_OK)
            return code;
    } else {
        return code;
    }
    switch (kind) {
    case K_OURS:
        if (version == SCHEMA_VERSION)
            return TP_STORE_OK;
        if (version > SCHEMA_VERSION)
            return tp_store_fail(&p->base, TP_STORE_UNAVAIL,
                                 "schema version %d was made by a newer TRex::PAM"
                                 " (this one knows up to %d)", version, SCHEMA_VERSION);
        if ((flags & TP_STORE_RDONLY) && version >= READABLE_FROM)
            return TP_STORE_OK;
        if (flags & TP_STORE_RDONLY)
            return tp_store_fail(&p->base, TP_STORE_UNAVAIL,
                                 "schema version %d needs an upgrade to %d; open it read-write once",
                                 version, SCHEMA_VERSION);
        break;
    case K_FOREIGN:
        return tp_store_fail(&p->base, TP_STORE_UNAVAIL,
                             "the schema trex_pam holds no TRex::PAM meta table; left untouched");
    case K_DAMAGED:
        return tp_store_fail(&p->base, TP_STORE_UNAVAIL,
                             "damaged TRex::PAM schema: trex_pam.meta has no TRex::PAM marker"
                             " or version; left untouched");
    case K_NONE:
        if (!(flags & TP_STORE_CREATE))
            return tp_store_fail(&p->base, TP_STORE_UNAVAIL,
                                 "no TRex::PAM schema here (trex-pam init --store ...)");
        break;
    }
    return tp_pg_write(p, body_setup, &flags, "setting up the schema");
}

/* ---- opening and closing ---------------------------------------------------------------- */

static void pg_close(struct tp_store *st)
{
    struct pg *p = pg_of(st);

    if (p->conn != NULL && p->pid != getpid()) {
        /* Another process's connection (inherited through fork): whatever
         * PQfinish writes (Terminate, a TLS close) goes to /dev/null, never
         * to the socket the parent is using. */
        int fd = tp_pq.PQsocket(p->conn), nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0 && nul >= 0 && dup2(nul, fd) < 0) {
            close(nul);
            tp_pg_first_clear(p);
            free(p->where);
            free(p);                  /* leak libpq's state rather than write */
            return;
        }
        if (nul >= 0)
            close(nul);
    }
    if (p->conn != NULL)
        tp_pq.PQfinish(p->conn);
    tp_pg_first_clear(p);
    free(p->where);
    free(p);
}

static int open_fail(struct pg *p, int code, char *err, size_t errlen)
{
    if (code == RETRY)
        code = TP_STORE_ERR;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", p->base.err);
    pg_close(&p->base);
    return code;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The connect_timeout of the parsed conninfo (seconds), DEFAULT_TIMEOUT
 * when it names none; -1 for a value out of 1..MAX_TIMEOUT. */
static int connect_timeout_of(PQconninfoOption *opts)
{
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, "connect_timeout") == 0 && o->val != NULL && *o->val != '\0')
            return tp_pg_parse_timeout(o->val, strlen(o->val));
    return DEFAULT_TIMEOUT;
}

static void drop_conn(struct pg *p)
{
    tp_pq.PQfinish(p->conn);
    p->conn = NULL;
}

/*
 * Connects with the location's parameters, without blocking: libpq's
 * connect_timeout counts per host and address tried and not below 2 s, so
 * the whole of it (every host, TLS, authentication) is bounded here by one
 * deadline of connect_timeout seconds (default DEFAULT_TIMEOUT), which
 * libpq is also given. Only a host name's lookup (the system's resolver)
 * happens before the clock can stop it.
 */
static int connect_db(struct pg *p, struct pg_loc *l)
{
    const char *keys[4] = { "fallback_application_name", "dbname", "connect_timeout", NULL };
    const char *vals[4] = { "trex-pam", l->conninfo, NULL, NULL };
    PQconninfoOption *opts;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    char *perr = NULL, m[512], secs[16];
    int64_t deadline;
    int timeout, rc;

    if ((opts = tp_pq.PQconninfoParse(l->conninfo, &perr)) == NULL) {
        tp_pg_clean_message(l, perr != NULL ? perr : "out of memory", m, sizeof m);
        if (perr != NULL) {
            tp_secret_wipe(perr, strlen(perr));
            free(perr);               /* PQfreemem is free() */
        }
        return tp_store_fail(&p->base, TP_STORE_ERR, "bad location: %s", m);
    }
    timeout = connect_timeout_of(opts);
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (o->val != NULL)
            tp_secret_wipe(o->val, strlen(o->val));
    tp_pq.PQconninfoFree(opts);
    if (timeout < 0)
        return tp_store_fail(&p->base, TP_STORE_ERR, "bad connect_timeout (1 to %d seconds)",
                             MAX_TIMEOUT);
    snprintf(secs, sizeof secs, "%d", timeout);
    vals[2] = secs;                   /* after dbname: it wins over the location's */
    deadline = tp_pg_now_ms() + (int64_t)timeout * 1000;
    if ((p->conn = tp_pq.PQconnectStartParams(keys, vals, 1)) == NULL)
        return tp_store_fail(&p->base, TP_STORE_ERR, "cannot connect: out of memory");
    while (tp_pq.PQstatus(p->conn) != CONNECTION_BAD && st != PGRES_POLLING_OK
           && st != PGRES_POLLING_FAILED) {
        rc = tp_pg_wait(p, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
        if (rc == 0) {
            drop_conn(p);
            tp_store_fail(&p->base, TP_STORE_UNAVAIL, "cannot connect: no answer from the"
                          " server in %d s (connect_timeout)", timeout);
            p->base.timed_out = 1;
            return TP_STORE_UNAVAIL;
        }
        if (rc < 0)
            break;                    /* no socket, or poll failed: said below */
        st = tp_pq.PQconnectPoll(p->conn);
    }
    if (tp_pq.PQstatus(p->conn) != CONNECTION_OK || st != PGRES_POLLING_OK) {
        const char *e = tp_pq.PQerrorMessage(p->conn);
        tp_pg_clean_message(l, e != NULL && *e != '\0' ? e : strerror(errno), m, sizeof m);
        drop_conn(p);
        return tp_store_fail(&p->base, TP_STORE_UNAVAIL, "cannot connect: %s", m);
    }
    /* the server's notices and warnings are not ours to print on the
     * application's stderr */
    tp_pq.PQsetNoticeProcessor(p->conn, ignore_notice, NULL);
    if (tp_pq.PQsetnonblocking(p->conn, 1) != 0) {
        drop_conn(p);
        return tp_store_fail(&p->base, TP_STORE_UNAVAIL, "cannot use the connection");
    }
    return TP_STORE_OK;
}

static int pg_open(const char *location, int flags, struct tp_store **out, char *err,
                   size_t errlen)
{
    struct pg *p = calloc(1, sizeof *p);
    struct pg_loc l;
    const char *bad;
    char why[600];
    int code;

    if (p == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "postgresql: out of memory");
        return TP_STORE_ERR;
    }
    p->base.backend = &tp_store_postgresql;
    p->base.where = "postgresql";
    p->pid = getpid();
    p->rdonly = (flags & TP_STORE_RDONLY) != 0;
    p->rng = ((uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uintptr_t)p) | 1;
    bad = tp_pg_loc_parse(&l, location);
    if (l.where != NULL) {            /* the location as far as parsed, never a password */
        p->where = l.where;
        l.where = NULL;
        p->base.where = p->where;
    }
    if (bad != NULL) {
        if (p->where != NULL)
            p->where[0] = '\0';
        p->base.where = "postgresql";  /* a half-parsed location could end in a secret */
        tp_pg_loc_free(&l);
        return open_fail(p, tp_store_fail(&p->base, TP_STORE_ERR, "%s", bad), err, errlen);
    }
    p->timeout = l.timeout;
    if (tp_pg_load(why, sizeof why) != 0) {
        tp_pg_loc_free(&l);
        return open_fail(p, tp_store_fail(&p->base, TP_STORE_UNAVAIL, "%s", why), err, errlen);
    }
    code = connect_db(p, &l);
    tp_pg_loc_free(&l);                     /* the raw location: wiped */
    if (code != TP_STORE_OK || (code = settle(p, flags)) != TP_STORE_OK)
        return open_fail(p, code, err, errlen);
    p->base.err[0] = '\0';
    *out = &p->base;
    return TP_STORE_OK;
}

const struct tp_store_backend tp_store_postgresql = {
    .name = "postgresql",
    .claims = tp_pg_claims,
    .open = pg_open,
    .close = pg_close,
    .read_begin = tp_pg_read_begin,
    .read_end = tp_pg_read_end,
    .users = &tp_pg_users,
    .sessions = &tp_pg_sessions,
    .tallies = &tp_pg_tallies,
};
