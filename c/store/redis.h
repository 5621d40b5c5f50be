/*
 * redis.h - sessions and failure tallies on a Redis server (store.h for
 * the contract). Private to c/store/: what its parts share.
 *
 *   redis_lib.c       libhiredis, loaded at the first open; SHA-1 of the scripts
 *   redis_loc.c       locations: reading them, naming them without the password
 *   redis_conn.c      connecting, AUTH/SELECT, requests, faults, SCAN
 *                     walks; the backend table
 *   redis_reply.c     replies into sessions and failures (the fuzzer's too)
 *   redis_sessions.c  sessions
 *   redis_tallies.c   failure tallies
 *
 * What it keeps: sessions and failure tallies, not users (the users group
 * is NULL, so every user call is TP_STORE_UNAVAIL, "a redis store keeps no
 * users"). Redis cannot know whether a user exists: session_add and
 * fail_add take any name. The session module adds sessions only for a user
 * its stack has authenticated, and faillock looks the user up in a store
 * that keeps users (its users=, or the location of lines that name none)
 * before it counts.
 *
 * Server: Redis 4.0 or later (HSET of several fields; Redis 6 for ACL
 * users), one server or a primary, not a cluster; tested with 7.0.
 *
 * Locations
 *   redis://[[user]:password@]host[:port][/db][?query]   (port 6379, db 0)
 *   unix:/path/to/redis.sock[?query]
 *   unix://[[user]:password@]/path[?query], redis+unix://... the same
 *   query: prefix=     key prefix, [A-Za-z0-9:_.-]{1,64}, default "trex-pam:"
 *          connect_timeout=, command_timeout=   seconds (fractions too),
 *                      0 < v <= 3600, default 5 and 5
 *          db=         the database, instead of the path
 * Any other parameter is TP_STORE_ERR naming it. User and password are
 * percent-decoded; a userinfo without ':' is the password (as redis-cli
 * reads it). With a password, AUTH [user] password follows the connect
 * (Redis 6 ACL users with a user), then SELECT db when db is not 0.
 * No TLS: Debian's libhiredis 0.14 has none, so rediss:// is refused
 * (TP_STORE_UNAVAIL, saying so). Reach a remote server through a local TLS
 * tunnel (stunnel, spiped) or over a private network or a unix socket.
 *
 * Secrets: st->where is the location without its password
 * (redis://user@host:6379/0, unix:/path?db=1), built by us; the location
 * as given is never copied into a message. The AUTH request is formatted
 * and written by us, not hiredis (whose buffers are freed unwiped), and
 * both our copies of the password, decoded and in the request, are wiped
 * once it is sent. Session IDs are never sent: only digests.
 *
 * Keys (P = the prefix)
 *   P s:<hex digest>  hash: user, created, last_used, idle, expires, rhost
 *                     (no rhost field when it is NULL)
 *   P u:<user>        set of the hex digests of user's sessions
 *   P f:<user>        sorted set of failures: score = time, member =
 *                     "time:random" (unique), the FAIL_KEEP newest kept
 * Expiry: a session with hints (struct tp_session) gets a key TTL of
 * min(idle, expires - now) at add (at least 1 s), and touch, when it writes
 * last_used, sets it again from the idle and expires kept in the hash; no
 * hint, no TTL. A user's set gets the longest TTL of its sessions (none if
 * one has none). The set may still name sessions that expired: list,
 * delete_user and purge skip them and take them out of the set. A tally
 * key lives FAIL_TTL (7 days) after its latest failure: longer than any
 * sensible fail_interval and unlock_time; a lock meant to last for ever
 * (unlock_time=never) ends after it, as the tally expires.
 * get fills idle and expires from the hash.
 *
 * Atomicity: every change is one request, a Lua script (EVALSHA, EVAL once
 * the server answers NOSCRIPT), or one command: session add (EXISTS when
 * the digest is taken), touch (the check and the write), delete, a user's
 * revoke-all with keep, one batch of purge, a failure's add (ZADD, trim,
 * TTL, count) and reset. The scripts build the keys of P s: and P u: from
 * the prefix they are given, so the backend is for one server, not a
 * cluster.
 * Two stores on one server need prefixes of which neither begins the
 * other ("a:" and "a:s:" would overlap in SCAN MATCH "a:s:*").
 * Purge scans (SCAN MATCH P s:* and P u:*, batches of SCAN_COUNT, each
 * batch one script): an admin operation, O(keys of the database). Listing
 * every user's sessions scans P s:* the same way, and every user's
 * failures P f:*; one user's list reads its set or its sorted set (one
 * script). Such a walk is no snapshot: a key changed meanwhile may be
 * read before or after the change.
 *
 * Read scopes: none (read_begin/read_end NULL): every read is one request,
 * which keeps the contract.
 *
 * Durability: an acknowledged write is in the server's memory; it survives
 * a server restart only with the server's persistence set for it:
 * `appendonly yes` with `appendfsync always` keeps every acknowledged
 * revoke, lockout and reset; `appendfsync everysec` may lose the last
 * second of them on a crash of the machine or the server; RDB snapshots
 * alone lose everything since the last one. WAIT and replicas are not
 * used: a failover to a replica may lose acknowledged writes. A touch may
 * be lost like SQLite's.
 *
 * Faults: connect_timeout bounds the connect, command_timeout every
 * request after it (SO_RCVTIMEO/SO_SNDTIMEO; a request that ran out is
 * tp_store_timed_out); a host name is resolved by
 * the system's resolver first, outside connect_timeout (name the server by
 * its address where that matters). hiredis writes with write(2): SIGPIPE is
 * blocked around each request, and one it raised is taken back, so a server
 * gone never kills the caller. A server that refuses,
 * cannot be reached, does not answer in time (stopped, overloaded), drops
 * the connection, refuses our credentials, is LOADING its data or needs a
 * password we do not have is TP_STORE_UNAVAIL with one line naming the
 * server and the reason. After an I/O error the connection is broken:
 * every later call is TP_STORE_UNAVAIL (the pool opens the location
 * again). RDONLY: no call writes (an attempt is TP_STORE_ERR); list does
 * not clean the sets then.
 *
 * Fork: a connection belongs to the process that opened it. Closed in
 * another process it only closes that process's descriptor (hiredis sends
 * nothing when it frees a connection: no QUIT); any other call there is
 * TP_STORE_ERR "used after fork".
 */
#ifndef TP_STORE_REDIS_H
#define TP_STORE_REDIS_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/time.h>
#include <hiredis/hiredis.h>
#include "backend.h"

#define REDIS_SONAME      "libhiredis.so.0.14"
#define PREFIX_DEFAULT    "trex-pam:"
#define PREFIX_MAX        64
#define FAIL_KEEP         1024              /* failures kept per user (the newest) */
#define FAIL_TTL          (7 * 24 * 3600)   /* a tally's life after its latest failure */
#define SCAN_COUNT        500               /* keys asked of each SCAN */

/* The functions of libhiredis we use (dlsym'd). */
struct tp_rd_lib {
    redisContext *(*connect_tcp)(const char *ip, int port, const struct timeval tv);
    redisContext *(*connect_unix)(const char *path, const struct timeval tv);
    int (*set_timeout)(redisContext *c, const struct timeval tv);
    void *(*command_argv)(redisContext *c, int argc, const char **argv, const size_t *argvlen);
    int (*get_reply)(redisContext *c, void **reply);
    void (*free_reply)(void *reply);
    void (*free_context)(redisContext *c);
};

/* The scripts (redis_sessions.c, redis_tallies.c); their SHA-1 in hex is
 * computed once per process. */
enum rd_script {
    RS_SES_ADD, RS_SES_TOUCH, RS_SES_DELETE, RS_SES_DELETE_USER, RS_SES_LIST_USER,
    RS_SES_READ, RS_SES_PURGE, RS_SES_CLEAN_SETS,
    RS_FAIL_ADD, RS_FAIL_COUNT, RS_FAIL_READ,
    RS_COUNT
};
extern const char *const tp_rd_script_text[RS_COUNT];

/* One connection. */
struct rd {
    struct tp_store base;           /* first: store.c sees only this */
    const struct tp_rd_lib *lib;
    redisContext *c;
    char *where;                    /* the location without its password */
    char prefix[PREFIX_MAX + 1];
    size_t plen;
    pid_t pid;                      /* the process that opened it */
    int rdonly;
    int broken;                     /* an I/O error: UNAVAIL from now on */
    double command_timeout;
};

static inline struct rd *rd_of(struct tp_store *st)
{
    return (struct rd *)st;         /* base is the first member */
}

/* A location, read (redis_loc.c). */
struct rd_loc {
    char *host;                     /* TCP; NULL for a unix socket */
    int port;
    char *path;                     /* unix socket */
    char *user, *pass;              /* percent-decoded; NULL: none */
    long db;
    int db_given;                   /* by db= */
    char prefix[PREFIX_MAX + 1];
    double connect_timeout, command_timeout;
};

/* ---- redis_loc.c ---------------------------------------------------------------- */
int tp_rd_claims(const char *location);
/* TP_STORE_OK, or a code with the reason in err (never the password);
 * l is filled in either case, and the caller clears it (tp_rd_loc_clear). */
int tp_rd_parse_location(const char *location, struct rd_loc *l, char *err, size_t errlen);
void tp_rd_loc_clear(struct rd_loc *l);
/* The location without its password (malloc'd), for messages. */
char *tp_rd_where(const struct rd_loc *l);

/* ---- redis_lib.c ---------------------------------------------------------------- */
/* libhiredis, loaded once per process; NULL with the reason in err. */
const struct tp_rd_lib *tp_rd_lib(char *err, size_t errlen);
/* The hex SHA-1 of script id (41 bytes with the NUL). */
const char *tp_rd_script_sha(enum rd_script id);

/* ---- redis_conn.c --------------------------------------------------------------- */
/* One command (argv with lengths; lens NULL: strlen of each): TP_STORE_OK
 * with *out the reply (not an error reply; free with tp_rd_free), or a
 * code after tp_store_fail naming what ("reading a session"). */
int tp_rd_command(struct rd *r, int argc, const char **argv, const size_t *lens,
                  redisReply **out, const char *what);
/* EVALSHA of script id with nkeys keys then the args (EVAL on NOSCRIPT). */
int tp_rd_script(struct rd *r, enum rd_script id, int nkeys, int argc, const char **argv,
                 const size_t *lens, redisReply **out, const char *what);
void tp_rd_free(struct rd *r, redisReply *reply);
/* TP_STORE_OK, or ERR (after fork, or RDONLY for a write). */
int tp_rd_usable(struct rd *r, int write, const char *what);
/* A reply of the wrong shape: TP_STORE_ERR naming what. */
int tp_rd_bad_reply(struct rd *r, const char *what);
/* prefix + a + b into a malloc'd key (*len set); NULL when out of memory. */
char *tp_rd_key(const struct rd *r, const char *a, const char *b, size_t blen, size_t *len);
/* Parses a decimal integer reply or string ("123"); 0 on success. */
int tp_rd_int(const redisReply *x, int64_t *v);
/* Walks the keys matching prefix + pattern with SCAN (a key may come
 * twice), running script on each batch of them (the keys, then argv); fn
 * gets each script's reply, frees it, and returns a code. */
typedef int (*tp_rd_batch_fn)(struct rd *r, redisReply *y, void *arg, const char *what);
int tp_rd_scan(struct rd *r, const char *pattern, enum rd_script script, int argc,
               const char **argv, tp_rd_batch_fn fn, void *arg, const char *what);

/* ---- redis_reply.c -------------------------------------------------------------- */
/* Replies into the store's structs: 0 (or what is said), -1 a reply of the
 * wrong shape, -2 out of memory. A deletion script's count into *n. */
int tp_rd_count_reply(const redisReply *y, int *n);
/* SCAN's reply: the next cursor into cursor (size bytes), its keys in *keys. */
int tp_rd_scan_reply(const redisReply *y, char *cursor, size_t size, const redisReply **keys);
/* HGETALL of a session's hash into x (its digest set by the caller): 1, 0
 * for an empty hash (no such session), -1, -2 (x then cleared). */
int tp_rd_session_hash(const redisReply *y, struct tp_session *x);
/* A script's { { hex digest, user, created, last_used, idle, expires,
 * rhost } ... } appended to sv (on failure it has what came before). */
int tp_rd_session_list_reply(const redisReply *y, struct tp_session_vec *sv);
/* RS_FAIL_COUNT's { count, latest }. */
int tp_rd_fail_count_reply(const redisReply *y, int64_t *count, int64_t *latest);
/* RS_FAIL_READ's { { user, time... } ... } appended to rows. */
int tp_rd_fail_list_reply(const redisReply *y, struct tp_fail_rows *rows);
/* SCAN may give a key twice: each key's rows are together, so the rows of
 * a user that come twice are dropped the second time. 0, or -1 out of
 * memory. */
int tp_rd_fail_rows_once(struct tp_fail_rows *rows);

/* ---- the groups of calls (redis_sessions.c, redis_tallies.c) ------------------ */
extern const struct tp_store_sessions tp_rd_sessions;
extern const struct tp_store_tallies tp_rd_tallies;

#endif /* TP_STORE_REDIS_H */
