/*
 * bench/store_floor.c - the floor under a session check on each store, for
 * bench/backends: the same reads as the web mail stack's check, made with
 * the client libraries alone (raw libpq, raw hiredis, raw sqlite3) and no
 * TRex::PAM code: the digest of the session ID (BLAKE2b-256 of its 32
 * bytes, libsodium, as the session module makes it), the session read by
 * that digest, then the user read by name (the users left-joined with their
 * attributes, as userdb's account check reads them). Nothing is written.
 *
 *   store_floor SESSIONS USERS SECONDS [MAX]
 *       SESSIONS  pg:CONNINFO | redis:HOST:PORT/PREFIX | sqlite:PATH
 *       USERS     pg:CONNINFO | sqlite:PATH
 *       CONNINFO is libpq's (a URI or keywords); a password comes from
 *       $PGPASSFILE, never from the command line. The same CONNINFO for
 *       both is one connection. The session ID is $BENCH_SID, the user
 *       $BENCH_USER (alice).
 *       SECONDS 0: one check in this new process (connect, each read one
 *       round trip with PQexecParams, disconnect), printing nothing: the
 *       floor of a CGI process.
 *       SECONDS > 0: connect, prepare the statements once, then checks
 *       for SECONDS (at most MAX of them): prints the checks per second.
 *   store_floor --exit
 *       exits at once: the same program with the same libraries loaded
 *       (the baseline of SECONDS 0).
 * Exit status 1 when a read fails or finds no such session or user.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>
#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <sodium.h>

#define PG_SESSION "SELECT \"user\", created, last_used, rhost FROM trex_pam.sessions WHERE digest = $1"
#define PG_USER "SELECT u.hash, u.disabled, u.force_change, u.expires, u.pw_changed," \
    " u.pw_min_days, u.pw_max_days, u.pw_warn_days, u.created, a.name, a.value" \
    " FROM trex_pam.users AS u LEFT JOIN trex_pam.user_attrs AS a ON a.\"user\" = u.name" \
    " WHERE u.name = $1 ORDER BY a.name"
#define SQ_SESSION "SELECT user, created, last_used, rhost FROM sessions WHERE digest = ?1"
#define SQ_USER "SELECT u.hash, u.disabled, u.force_change, u.expires, u.pw_changed," \
    " u.pw_min_days, u.pw_max_days, u.pw_warn_days, u.created, a.name, a.value" \
    " FROM users AS u LEFT JOIN user_attrs AS a ON a.user = u.name" \
    " WHERE u.name = ?1 ORDER BY a.name"

enum kind { K_PG, K_REDIS, K_SQLITE };

struct side {
    enum kind kind;
    const char *arg;                /* after the scheme */
    PGconn *pg;
    int pg_shared;                  /* the other side's connection */
    redisContext *rd;
    char prefix[80];
    sqlite3 *sq;
    sqlite3_stmt *stmt;
};

static int persistent;              /* statements prepared once */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what, const char *why)
{
    fprintf(stderr, "store_floor: %s: %s\n", what, why);
    exit(1);
}

static void parse(struct side *s, const char *spec)
{
    if (strncmp(spec, "pg:", 3) == 0)
        s->kind = K_PG;
    else if (strncmp(spec, "redis:", 6) == 0)
        s->kind = K_REDIS;
    else if (strncmp(spec, "sqlite:", 7) == 0)
        s->kind = K_SQLITE;
    else
        die(spec, "pg:, redis: or sqlite: expected");
    s->arg = strchr(spec, ':') + 1;
}

/* Connects s (the session side when is_ses) and prepares its read. */
static void connect_side(struct side *s, struct side *other, int is_ses)
{
    if (s->kind == K_PG) {
        if (other != NULL && other->kind == K_PG && strcmp(other->arg, s->arg) == 0) {
            s->pg = other->pg;
            s->pg_shared = 1;
        } else {
            s->pg = PQconnectdb(s->arg);
            if (PQstatus(s->pg) != CONNECTION_OK)
                die("connecting to PostgreSQL", PQerrorMessage(s->pg));
        }
        if (persistent) {
            PGresult *r = PQprepare(s->pg, is_ses ? "s" : "u", is_ses ? PG_SESSION : PG_USER, 1, NULL);
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                die("preparing", PQresultErrorMessage(r));
            PQclear(r);
        }
    } else if (s->kind == K_REDIS) {
        char host[256];
        const char *colon = strchr(s->arg, ':'), *slash = colon ? strchr(colon, '/') : NULL;
        if (colon == NULL || slash == NULL || (size_t)(colon - s->arg) >= sizeof host
            || strlen(slash + 1) >= sizeof s->prefix)
            die(s->arg, "HOST:PORT/PREFIX expected");
        memcpy(host, s->arg, (size_t)(colon - s->arg));
        host[colon - s->arg] = '\0';
        snprintf(s->prefix, sizeof s->prefix, "%s", slash + 1);
        s->rd = redisConnect(host, atoi(colon + 1));
        if (s->rd == NULL || s->rd->err)
            die("connecting to Redis", s->rd ? s->rd->errstr : "out of memory");
    } else {
        if (sqlite3_open_v2(s->arg, &s->sq, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
            die(s->arg, sqlite3_errmsg(s->sq));
        if (sqlite3_prepare_v2(s->sq, is_ses ? SQ_SESSION : SQ_USER, -1, &s->stmt, NULL) != SQLITE_OK)
            die("preparing", sqlite3_errmsg(s->sq));
    }
}

static void close_side(struct side *s)
{
    if (s->pg != NULL && !s->pg_shared)
        PQfinish(s->pg);
    if (s->rd != NULL)
        redisFree(s->rd);
    if (s->stmt != NULL)
        sqlite3_finalize(s->stmt);
    if (s->sq != NULL)
        sqlite3_close(s->sq);
}

/* One read on PostgreSQL: 1 if it found a row whose first column is want
 * (NULL: any row). */
static int pg_read(PGconn *c, const char *name, const char *sql, const char *v, int len, int binary,
                   const char *want)
{
    const char *vals[1] = { v };
    int lens[1] = { len }, fmts[1] = { binary }, ok;
    PGresult *r = persistent ? PQexecPrepared(c, name, 1, vals, lens, fmts, 0)
                             : PQexecParams(c, sql, 1, NULL, vals, lens, fmts, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die("reading", PQresultErrorMessage(r));
    ok = PQntuples(r) > 0 && (want == NULL || strcmp(PQgetvalue(r, 0, 0), want) == 0);
    PQclear(r);
    return ok;
}

static int sq_read(sqlite3_stmt *p, const void *v, int len, int blob, const char *want)
{
    int rc, rows = 0, match = want == NULL;

    if (blob)
        sqlite3_bind_blob(p, 1, v, len, SQLITE_STATIC);
    else
        sqlite3_bind_text(p, 1, v, len, SQLITE_STATIC);
    while ((rc = sqlite3_step(p)) == SQLITE_ROW)
        if (rows++ == 0 && want != NULL)
            match = strcmp((const char *)sqlite3_column_text(p, 0), want) == 0;
    if (rc != SQLITE_DONE)
        die("reading", sqlite3_errstr(rc));
    sqlite3_reset(p);
    return rows > 0 && match;
}

static int check(struct side *ses, struct side *usr, const char *sid, const char *user)
{
    unsigned char raw[32], dg[32];
    size_t n = 0;
    int ok;

    if (strncmp(sid, "trex1.", 6) != 0
        || sodium_base642bin(raw, sizeof raw, sid + 6, strlen(sid + 6), NULL, &n, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || n != sizeof raw)
        die("$BENCH_SID", "not a session ID");
    crypto_generichash(dg, sizeof dg, raw, sizeof raw, NULL, 0);
    if (ses->kind == K_PG) {
        ok = pg_read(ses->pg, "s", PG_SESSION, (const char *)dg, sizeof dg, 1, user);
    } else if (ses->kind == K_REDIS) {
        char hex[65];
        redisReply *y;
        sodium_bin2hex(hex, sizeof hex, dg, sizeof dg);
        y = redisCommand(ses->rd, "HGETALL %ss:%s", ses->prefix, hex);
        if (y == NULL || y->type != REDIS_REPLY_ARRAY)
            die("reading", y == NULL ? ses->rd->errstr : "not an array");
        ok = 0;
        for (size_t i = 0; i + 1 < y->elements; i += 2)
            if (strcmp(y->element[i]->str, "user") == 0)
                ok = strcmp(y->element[i + 1]->str, user) == 0;
        freeReplyObject(y);
    } else {
        ok = sq_read(ses->stmt, dg, sizeof dg, 1, user);
    }
    if (!ok)
        return 0;
    if (usr->kind == K_PG)
        return pg_read(usr->pg, "u", PG_USER, user, 0, 0, NULL);
    return sq_read(usr->stmt, user, -1, 0, NULL);
}

int main(int argc, char **argv)
{
    struct side ses = { 0 }, usr = { 0 };
    const char *sid = getenv("BENCH_SID"), *user = getenv("BENCH_USER");
    double secs, t0, t;
    long long max, n = 0;

    if (argc == 2 && strcmp(argv[1], "--exit") == 0)
        return 0;
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: store_floor SESSIONS USERS SECONDS [MAX] | --exit\n");
        return 2;
    }
    if (sid == NULL)
        die("$BENCH_SID", "not set");
    if (user == NULL)
        user = "alice";
    if (sodium_init() < 0)
        die("libsodium", "cannot start");
    parse(&ses, argv[1]);
    parse(&usr, argv[2]);
    if (usr.kind == K_REDIS)
        die(argv[2], "a Redis store keeps no users");
    secs = strtod(argv[3], NULL);
    max = argc == 5 ? atoll(argv[4]) : 0;
    persistent = secs > 0;
    connect_side(&ses, NULL, 1);
    connect_side(&usr, &ses, 0);
    t0 = t = now_s();
    do {
        if (!check(&ses, &usr, sid, user))
            die("check", "no such session or user");
        n++;
        if ((n & 15) == 0 || max > 0)
            t = now_s();
    } while (persistent && t - t0 < secs && (max == 0 || n < max));
    t = now_s();
    if (persistent)
        printf("%.3f\n", n / (t - t0));
    close_side(&usr);
    close_side(&ses);
    return 0;
}
