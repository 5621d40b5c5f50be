/*
 * t_store_redis.c - the Redis backend (c/store/redis.h) against a real,
 * private redis-server that t/46-store-redis.t starts. Without one (no
 * TREX_PAM_TEST_REDIS, as under make check) only what needs no server
 * runs: locations, refusals, a refused connection, no secret in messages,
 * libhiredis not loaded before the first Redis open.
 *
 *   t_store_redis               the Redis specifics: TTLs, prefixes, scripts
 *                               (NOSCRIPT), RDONLY, the session module's
 *                               pooled connection reopened after the server
 *                               dropped it, processes and fork, unix sockets,
 *                               a stopped server (command_timeout)
 *   t_store_redis restart-before   writes, then kills the server (-9)
 *   t_store_redis restart-after    after the .t restarted it: still there
 *   t_store_redis auth             a server with a password and an ACL user
 *   t_store_redis nolib            no server; LD_LIBRARY_PATH finds a broken libhiredis
 *
 * Environment (from the .t): TREX_PAM_TEST_REDIS (a location, no query),
 * TREX_PAM_TEST_REDIS_PORT, _PID, _SOCK; for auth _PASS, _ACL_USER, _ACL_PASS.
 *
 * What every backend does (store.h: sessions, tallies, users UNAVAIL on a
 * store that keeps none) is t_store_contract's, which t/46-store-redis.t
 * runs on this server too; the session and faillock modules on Redis are
 * t_session's and t_faillock's (t/47-modules-backends.t).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "harness.h"
#include "redis.h"

static const char *base;            /* the server's location, no query */

/* The prefix of the store the tests use by default. */
#define PREFIX "trex-pam:"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* base + query, in one of 8 buffers used in turn. */
static const char *loc(const char *query)
{
    static char buf[8][512];
    static int i;
    char *b = buf[i++ % 8];
    snprintf(b, sizeof buf[0], "%s%s%s", base, query != NULL ? "?" : "", query != NULL ? query : "");
    return b;
}

static struct tp_store *open_or_diag(const char *location)
{
    struct tp_store *st = NULL;
    char err[1024];
    int rc = tp_store_open(location, 0, &st, err, sizeof err);

    if (rc != TP_STORE_OK)
        tap_diag("open: %d: %s", rc, err);
    return st;
}

static int open_code(const char *location, char *err, size_t errlen)
{
    struct tp_store *st = NULL;
    int rc = tp_store_open(location, 0, &st, err, errlen);
    tp_store_close(st);
    return rc;
}

static void digest_of(unsigned char d[TP_SESSION_DIGEST_LEN], int tag, int i)
{
    memset(d, 0, TP_SESSION_DIGEST_LEN);
    d[0] = (unsigned char)tag;
    d[1] = (unsigned char)(i >> 8);
    d[2] = (unsigned char)i;
    d[31] = 0x5a;
}

static int add(struct tp_store *st, int tag, int i, const char *user, int64_t created,
               int64_t idle, int64_t expires)
{
    struct tp_session s;
    memset(&s, 0, sizeof s);
    digest_of(s.digest, tag, i);
    s.user = (char *)user;
    s.created = created;
    s.last_used = created;
    s.rhost = i % 2 ? "10.0.0.1" : NULL;
    s.idle = idle;
    s.expires = expires;
    return tp_store_session_add(st, &s);
}

static int get(struct tp_store *st, int tag, int i, struct tp_session *out)
{
    unsigned char d[TP_SESSION_DIGEST_LEN];
    digest_of(d, tag, i);
    return tp_store_session_get(st, d, out);
}

static int exists(struct tp_store *st, int tag, int i)
{
    struct tp_session s;
    int rc = get(st, tag, i, &s);
    tp_session_clear(&s);
    return rc == TP_STORE_OK;
}

struct listing {
    char text[2048];
    int n, stop_at;
};

static int note(void *data, const struct tp_session *s)
{
    struct listing *l = data;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof l->text - len, "%s%s/%lld/%d", len ? "," : "", s->user,
             (long long)s->created, s->digest[2]);
    return ++l->n == l->stop_at;
}

static const char *list(struct tp_store *st, const char *user, int stop_at)
{
    static struct listing l;
    memset(&l, 0, sizeof l);
    l.stop_at = stop_at;
    if (tp_store_session_list(st, user, note, &l) != TP_STORE_OK)
        return tp_store_error(st);
    return l.text;
}

/* ---- a second connection of our own, to look at keys ---------------------------- */

static int raw_fd = -1;

/* One command; an integer reply, the length of a bulk one, or -1000 for an error. */
static long long raw(int argc, const char **argv)
{
    char out[2048], line[512];
    size_t len = 0, got = 0;

    len += (size_t)snprintf(out, sizeof out, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        len += (size_t)snprintf(out + len, sizeof out - len, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    if (raw_fd < 0 || write(raw_fd, out, len) != (ssize_t)len)
        return -2000;
    while (got < sizeof line - 1 && read(raw_fd, line + got, 1) == 1) {
        if (line[got++] == '\n')
            break;
    }
    line[got] = '\0';
    if (line[0] == ':')
        return atoll(line + 1);
    if (line[0] == '$') {
        long long n = atoll(line + 1);
        for (long long i = 0; i < n + 2; i++)
            if (read(raw_fd, out, 1) != 1)
                break;
        return n;
    }
    return line[0] == '+' ? 0 : -1000;
}

static long long raw2(const char *a, const char *b)
{
    const char *av[2] = { a, b };
    return raw(2, av);
}

static void raw_open(int port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    raw_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (raw_fd >= 0 && connect(raw_fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(raw_fd);
        raw_fd = -1;
    }
}

static const char *skey(const char *prefix, int tag, int i)
{
    static char k[160];
    unsigned char d[TP_SESSION_DIGEST_LEN];
    size_t n = (size_t)snprintf(k, sizeof k, "%ss:", prefix);
    digest_of(d, tag, i);
    for (int j = 0; j < TP_SESSION_DIGEST_LEN; j++)
        n += (size_t)snprintf(k + n, sizeof k - n, "%02x", d[j]);
    return k;
}

/* ---- without a server ------------------------------------------------------------------ */

static int hiredis_loaded(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        found |= strstr(line, "libhiredis") != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

static void offline(void)
{
    char err[1024];
    struct tp_store *st = NULL;
    double t;

    tap_ok(!hiredis_loaded(), "libhiredis is not loaded before a Redis location is opened");
    tap_is_int(tp_store_open(th_path("x.db"), TP_STORE_CREATE, &st, err, sizeof err), TP_STORE_OK,
               "an SQLite store opens");
    tp_store_close(st);
    tap_ok(!hiredis_loaded(), "  and does not load libhiredis");

    tap_is_int(open_code("redis://127.0.0.1:1/0?colour=blue", err, sizeof err), TP_STORE_ERR,
               "an unknown parameter: ERR");
    tap_ok(strstr(err, "\"colour\"") != NULL, "  naming it (%s)", err);
    tap_ok(hiredis_loaded(), "a Redis open loads libhiredis");
    tap_is_int(open_code("redis://127.0.0.1:1/0?prefix=a*b", err, sizeof err), TP_STORE_ERR,
               "a prefix with '*': ERR");
    tap_ok(strstr(err, "prefix") != NULL, "  naming it (%s)", err);
    tap_is_int(open_code("redis://127.0.0.1:1/0?command_timeout=0", err, sizeof err), TP_STORE_ERR,
               "command_timeout=0: ERR");
    tap_is_int(open_code("redis://127.0.0.1:1/0?connect_timeout=3601", err, sizeof err),
               TP_STORE_ERR, "connect_timeout=3601: ERR");
    tap_is_int(open_code("redis://127.0.0.1:99999/", err, sizeof err), TP_STORE_ERR, "port 99999: ERR");
    tap_is_int(open_code("redis://127.0.0.1/x", err, sizeof err), TP_STORE_ERR, "a path not a db: ERR");
    tap_is_int(open_code("unix:relative.sock", err, sizeof err), TP_STORE_ERR, "a relative socket: ERR");
    tap_is_int(open_code("redis://127.0.0.1:1/2?db=3", err, sizeof err), TP_STORE_ERR,
               "the database named twice: ERR");
    tap_is_int(open_code("rediss://u:hunter22@127.0.0.1/", err, sizeof err), TP_STORE_UNAVAIL,
               "rediss: UNAVAIL");
    tap_ok(strstr(err, "TLS") != NULL && strstr(err, "hunter22") == NULL, "  saying why (%s)", err);

    t = now_s();
    tap_is_int(open_code("redis://bob:hunter22@127.0.0.1:1/2?connect_timeout=2", err, sizeof err),
               TP_STORE_UNAVAIL, "a refused connection: UNAVAIL");
    tap_ok(now_s() - t < 1.5, "  at once");
    tap_ok(strncmp(err, "redis://bob@127.0.0.1:1/2: cannot connect", 41) == 0,
           "  named without the password (%s)", err);
    tap_ok(strstr(err, "hunter22") == NULL, "  no password in it");
    t = now_s();
    tap_is_int(open_code("redis://192.0.2.1:6379/?connect_timeout=0.3", err, sizeof err),
               TP_STORE_UNAVAIL, "an unreachable host (TEST-NET-1): UNAVAIL");
    tap_ok(now_s() - t < 1.5, "  within connect_timeout=0.3 (%.2f s: %s)", now_s() - t, err);
    tap_is_int(open_code("unix:/nonexistent/redis.sock?db=3", err, sizeof err), TP_STORE_UNAVAIL,
               "no socket: UNAVAIL");
    tap_ok(strncmp(err, "unix:/nonexistent/redis.sock?db=3: ", 35) == 0, "  named (%s)", err);
    tap_is_int(open_code("redis+unix://:p%41ss@/nonexistent/r.sock", err, sizeof err),
               TP_STORE_UNAVAIL, "redis+unix:// with a password: read, then UNAVAIL");
    tap_ok(strstr(err, "pAss") == NULL && strstr(err, "p%41ss") == NULL, "  no password (%s)", err);
    {
        /* passwords with the URI's own delimiters, not percent-encoded */
        static const char *const raw_pw[][2] = {
            { "redis://:ab?cd=ef@127.0.0.1:1/", "cd=ef" },
            { "redis://:p@ss@127.0.0.1:1/", "p@ss" },
            { "redis://u:q?colour=x@127.0.0.1:1/", "colour" },
            { "unix://:x?y=1@/nonexistent/s.sock", "y=1" },
            { "redis://:sl/ash@127.0.0.1:1/", "ash" },
        };
        for (size_t i = 0; i < sizeof raw_pw / sizeof raw_pw[0]; i++) {
            int rc = open_code(raw_pw[i][0], err, sizeof err);
            tap_ok((rc == TP_STORE_UNAVAIL || rc == TP_STORE_ERR) && strstr(err, raw_pw[i][1]) == NULL,
                   "a password with a delimiter (%zu): refused, no part of it quoted (%s)", i, err);
        }
    }
    tap_is_int(open_code("redis://:bad%4@127.0.0.1:1/", err, sizeof err), TP_STORE_ERR,
               "a bad %%-escape: ERR");
    tap_ok(strstr(err, "bad%4") == NULL, "  not quoted (%s)", err);
}

/* ---- with a server -------------------------------------------------------------------- */

static int count_cb(void *data, const struct tp_session *s)
{
    (void)s;
    (*(int *)data)++;
    return 0;
}

/* tp_store_fail_list walks P f:* with SCAN: more keys than one batch, each
 * user once, in name order. */
static void check_fail_list_scan(struct tp_store *st)
{
    char name[32];
    int bad = 0, calls = 0;
    const char *all;

    for (int i = 0; i < 1200; i++) {
        snprintf(name, sizeof name, "u%04d", i);
        bad += tp_store_fail_add(st, name, 100 + i, 0, NULL) != TP_STORE_OK;
    }
    tp_store_fail_add(st, "u0001", 1764495182, 0, NULL);
    all = th_fail_list(st, NULL, 0);
    for (const char *p = all; (p = strchr(p, ':')) != NULL; p++)
        calls++;
    tap_ok(bad == 0 && calls == 1200, "fail_list: 1200 users with failures, each once (%d)", calls);
    tap_ok(strncmp(all, "u0000:100;u0001:101,1764495182;u0002:102;", 41) == 0,
           "  in name order, times oldest first");
    for (int i = 0; i < 1200; i++) {
        snprintf(name, sizeof name, "u%04d", i);
        tp_store_fail_reset(st, name);
    }
    tap_is_str(th_fail_list(st, NULL, 0), "", "  reset: none left");
}

static void check_ttl(struct tp_store *st, int port)
{
    int64_t now = (int64_t)time(NULL);
    unsigned char d[TP_SESSION_DIGEST_LEN];
    struct tp_session s;
    long long t;
    int n = 0;

    raw_open(port);
    tap_ok(raw_fd >= 0, "a second connection to look at keys");
    add(st, 7, 1, "tina", now, 100, 0);
    t = raw2("TTL", skey(PREFIX, 7, 1));
    tap_ok(t > 95 && t <= 100, "idle=100: TTL 100 (%lld)", t);
    add(st, 7, 2, "tina", now, 100, now + 50);
    t = raw2("TTL", skey(PREFIX, 7, 2));
    tap_ok(t > 45 && t <= 50, "idle=100, ends in 50: TTL 50 (%lld)", t);
    add(st, 7, 3, "tina", now, 0, 0);
    tap_is_int(raw2("TTL", skey(PREFIX, 7, 3)), -1, "no hint: no TTL");
    get(st, 7, 2, &s);
    tap_ok(s.idle == 100 && s.expires == now + 50, "get gives the hints back");
    tp_session_clear(&s);

    add(st, 7, 4, "tina", now - 100, 200, now + 1000);
    raw2("TTL", skey(PREFIX, 7, 4));
    digest_of(d, 7, 4);
    tp_store_session_touch(st, d, now, 10);
    t = raw2("TTL", skey(PREFIX, 7, 4));
    tap_ok(t > 195 && t <= 200, "touch sets the TTL to idle again (%lld)", t);
    add(st, 7, 5, "tina", now, 300, now + 120);
    digest_of(d, 7, 5);
    tp_store_session_touch(st, d, now + 100, 10);
    t = raw2("TTL", skey(PREFIX, 7, 5));
    tap_ok(t > 15 && t <= 20, "  or to what is left before the end (%lld)", t);

    /* expiry by the server */
    add(st, 7, 6, "tina", now, 1, 0);
    usleep(1200 * 1000);
    tap_is_int(get(st, 7, 6, &s), TP_STORE_NOTFOUND, "idle=1, 1.2 s later: NOTFOUND");
    {
        char key[160], set[80];
        const char *av[3] = { "SISMEMBER", set, NULL };
        snprintf(key, sizeof key, "%s", skey(PREFIX, 7, 2));
        snprintf(set, sizeof set, "%su:tina", PREFIX);
        raw2("DEL", key);              /* as if it expired too */
        av[2] = key + strlen(PREFIX) + 2;
        tap_is_int(raw(3, av), 1, "the user's set still names an expired session");
        tap_is_int(tp_store_session_list(st, "tina", count_cb, &n), TP_STORE_OK, "list");
        tap_is_int(n, 4, "  skips the expired ones");
        tap_is_int(raw(3, av), 0, "  and takes them out of the set");
        tap_is_int(tp_store_session_delete_user(st, "tina", NULL, &n), TP_STORE_OK, "delete_user");
        tap_is_int(n, 4, "  counts the live ones");
    }
}

/* Two prefixes on one server are two stores. */
static void check_prefix(void)
{
    struct tp_store *a = open_or_diag(loc("prefix=one:")), *b = open_or_diag(loc("prefix=two:"));
    int count = 0;

    if (a == NULL || b == NULL) {
        tap_ok(0, "two prefixes open");
        tp_store_close(a);
        tp_store_close(b);
        return;
    }
    add(a, 9, 1, "pat", 10, 0, 0);
    tap_ok(exists(a, 9, 1) && !exists(b, 9, 1), "a session under one prefix only");
    tap_is_int(add(b, 9, 1, "pat", 10, 0, 0), TP_STORE_OK, "the same digest under the other");
    tap_is_str(list(a, NULL, 0), "pat/10/1", "each lists its own");
    tp_store_fail_add(a, "pat", 5, 0, NULL);
    tp_store_fail_count(b, "pat", 0, &count, NULL);
    tap_is_int(count, 0, "tallies apart");
    tp_store_session_delete_user(a, "pat", NULL, NULL);
    tap_ok(exists(b, 9, 1), "deleting under one leaves the other");
    tp_store_session_delete_user(b, "pat", NULL, NULL);
    tp_store_fail_reset(a, "pat");
    tp_store_close(a);
    tp_store_close(b);
}


/* EVALSHA names our scripts as the server does; EVAL after NOSCRIPT. */
static void check_scripts(struct tp_store *st)
{
    const char *flush[2] = { "SCRIPT", "FLUSH" };
    const char *ex[3] = { "SCRIPT", "EXISTS", tp_rd_script_sha(RS_FAIL_ADD) };
    char out[256];
    int count = 0;

    tap_is_int(raw(2, flush), 0, "SCRIPT FLUSH");
    tap_is_int(tp_store_fail_add(st, "script", 1, 0, &count), TP_STORE_OK,
               "a script after the server forgot them (NOSCRIPT, then EVAL)");
    tap_is_int(count, 1, "  counts");
    /* SCRIPT EXISTS answers an array of one integer: read it by hand */
    snprintf(out, sizeof out, "*3\r\n$6\r\nSCRIPT\r\n$6\r\nEXISTS\r\n$40\r\n%s\r\n", ex[2]);
    {
        char line[64] = "";
        size_t got = 0;
        int lines = 0;
        if (write(raw_fd, out, strlen(out)) == (ssize_t)strlen(out))
            while (lines < 2 && got < sizeof line - 1 && read(raw_fd, line + got, 1) == 1)
                if (line[got++] == '\n')
                    lines++;
        line[got] = '\0';
        tap_is_str(line, "*1\r\n:1\r\n", "our SHA-1 of the script is the server's");
    }
    tp_store_fail_reset(st, "script");
}

static void check_rdonly(struct tp_store *rw)
{
    struct tp_store *st = NULL;
    char err[1024];
    unsigned char d[TP_SESSION_DIGEST_LEN];
    int n = 0;

    add(rw, 14, 1, "rita", 100, 0, 0);
    tap_is_int(tp_store_open(base, TP_STORE_RDONLY, &st, err, sizeof err), TP_STORE_OK,
               "a read-only open");
    if (st == NULL)
        return;
    tap_ok(exists(st, 14, 1), "  reads");
    tap_is_int(add(st, 14, 2, "rita", 100, 0, 0), TP_STORE_ERR, "  writes nothing: ERR");
    tap_ok(strstr(tp_store_error(st), "read-only") != NULL, "  (%s)", tp_store_error(st));
    digest_of(d, 14, 1);
    tap_is_int(tp_store_session_touch(st, d, 150, 100), TP_STORE_OK, "  a touch that needs no write: OK");
    tap_is_int(tp_store_session_touch(st, d, 500, 100), TP_STORE_ERR, "  one that needs one: ERR");
    tap_is_int(tp_store_session_list(st, "rita", count_cb, &n), TP_STORE_OK, "  lists");
    tap_is_int(tp_store_fail_reset(st, "rita"), TP_STORE_ERR, "  no reset");
    tp_store_close(st);
    tp_store_session_delete_user(rw, "rita", NULL, NULL);
}

static int first_digest(void *data, const struct tp_session *x)
{
    memcpy(data, x->digest, TP_SESSION_DIGEST_LEN);
    return 1;
}

static const char *named(trex_pam_handle_t *h, const char *name)
{
    const char *v = NULL;
    if (trex_pam_get_named_item(h, name, &v) != TREX_PAM_SUCCESS)
        return "(error)";
    return v;
}

/* The session module on a Redis store, with a configuration cache so the
 * pool keeps the connection across handles; the server then drops every
 * connection (as a restart does) and the next check reopens and goes on.
 * (What the module does on Redis otherwise is t_session's.) */
static void check_module(void)
{
    struct trex_pam_confcache *cache = trex_pam_confcache_new();
    const char *kill_av[4] = { "CLIENT", "KILL", "TYPE", "normal" };
    char store[600], id[128] = "";
    trex_pam_handle_t *h;
    const char *v;

    snprintf(store, sizeof store, "store=%s?prefix=mod:", base);
    th_define("@STORE@", store);
    th_file("web", "auth [success=done ignore=ignore default=die] session @STORE@\n"
                   "auth required test:pw\n"
                   "account required permit\n"
                   "session required session idle=600 @STORE@\n");
    th_settle();
    th_cache(cache);
    h = th_start_pass("web", "mona", "secret");
    if (h != NULL && trex_pam_authenticate(h, 0) == TREX_PAM_SUCCESS
        && trex_pam_open_session(h, 0) == TREX_PAM_SUCCESS
        && (v = named(h, TREX_PAM_ITEM_SESSION_ID)) != NULL)
        snprintf(id, sizeof id, "%s", v);
    trex_pam_end(h, 0);
    tap_ok(id[0] != '\0', "the session module opens a session on Redis");
    {
        struct tp_store *st = open_or_diag(loc("prefix=mod:"));
        unsigned char d[TP_SESSION_DIGEST_LEN] = { 0 };
        char key[160];
        long long t;
        size_t n = (size_t)snprintf(key, sizeof key, "mod:s:");
        if (st != NULL)
            tp_store_session_list(st, "mona", first_digest, d);
        for (int j = 0; j < TP_SESSION_DIGEST_LEN; j++)
            n += (size_t)snprintf(key + n, sizeof key - n, "%02x", d[j]);
        t = raw2("TTL", key);
        tap_ok(t > 590 && t <= 600, "  its key lives idle=600 s (%lld)", t);
        tp_store_close(st);
    }
    h = th_start_pass("web", "mona", id);
    tap_is_int(h != NULL ? trex_pam_authenticate(h, 0) : -1, TREX_PAM_SUCCESS, "  the ID authenticates");
    tap_is_int(th_pw_calls(), 0, "  without the password module");
    trex_pam_end(h, 0);
    { long long k = raw(4, kill_av); tap_ok(k >= 2, "the server drops every connection but ours (%lld)", k); }
    th_log_reset();
    h = th_start_pass("web", "mona", id);
    tap_is_int(h != NULL ? trex_pam_authenticate(h, 0) : -1, TREX_PAM_SUCCESS,
               "  the pooled connection is reopened: the ID still authenticates");
    trex_pam_end(h, 0);
    tap_ok(th_logged("failed on a kept connection") && th_logged("closed the connection; opened it again"),
           "  the log says so");
    tap_ok(!th_logged("secret") && strstr(th_log_all(), id) == NULL, "  and holds no secret nor the ID");
    {
        struct tp_store *st = open_or_diag(loc("prefix=mod:"));
        int n = -1;
        tap_is_int(st != NULL ? tp_store_session_delete_user(st, "mona", NULL, &n) : -1, TP_STORE_OK,
                   "revoke every session of mona");
        tap_is_int(n, 1, "  one");
        tp_store_close(st);
    }
    h = th_start_pass("web", "mona", id);
    tap_ok(h != NULL && trex_pam_authenticate(h, 0) != TREX_PAM_SUCCESS, "  the ID no longer works");
    trex_pam_end(h, 0);
    th_cache(NULL);
    trex_pam_confcache_free(cache);
}

/* ---- processes -------------------------------------------------------------------------- */

static int adder(int k)
{
    struct tp_store *st = open_or_diag(base);
    int bad = 0;
    (void)k;
    for (int i = 0; st != NULL && i < 100; i++)
        bad += tp_store_fail_add(st, "conc", 1000 + i, 0, NULL) != TP_STORE_OK;
    tp_store_close(st);
    return st == NULL ? 1 : bad > 0;
}

#define RACE_N 300
static volatile int64_t *acked;     /* shared: [RACE_N] ack times, then t0 */

static int racer(int k)
{
    struct tp_store *st = open_or_diag(base);
    int bad = 0;

    if (st == NULL)
        return 1;
    if (k == 0) {
        for (int i = 0; i < RACE_N; i++) {
            bad += add(st, 11, i, "race", 1, 0, 0) != TP_STORE_OK;
            acked[i] = wall_ns();
        }
    } else {
        while (acked[RACE_N / 3] == 0)
            usleep(200);
        acked[RACE_N] = wall_ns();
        bad += tp_store_session_delete_user(st, "race", NULL, NULL) != TP_STORE_OK;
    }
    tp_store_close(st);
    return bad > 0;
}

static void check_processes(struct tp_store *st)
{
    int count = 0, left = 0, wrong = 0;
    pid_t pid;
    int status = 0;

    tp_store_fail_reset(st, "conc");
    tap_is_int(th_parallel(4, adder), 0, "4 processes x 100 fail_add");
    tp_store_fail_count(st, "conc", 0, &count, NULL);
    tap_is_int(count, 400, "  every one counted");
    tp_store_fail_reset(st, "conc");

    acked = mmap(NULL, (RACE_N + 1) * sizeof *acked, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (acked == MAP_FAILED) {
        tap_ok(0, "shared memory for the race");
        return;
    }
    tap_is_int(th_parallel(2, racer), 0, "adds racing a delete_user");
    for (int i = 0; i < RACE_N; i++) {
        if (!exists(st, 11, i))
            continue;
        left++;
        wrong += acked[i] < acked[RACE_N];   /* added before the delete began */
    }
    tap_is_int(wrong, 0, "no session added before the delete is left (%d left, added after)", left);
    tap_ok(left < RACE_N, "  the delete deleted some");
    tp_store_session_delete_user(st, "race", NULL, NULL);
    munmap((void *)acked, (RACE_N + 1) * sizeof *acked);

    /* a child closing the connection it inherited */
    add(st, 12, 1, "fork", 1, 0, 0);
    fflush(stdout);
    if ((pid = fork()) == 0) {
        struct tp_session s;
        int rc = get(st, 12, 1, &s);
        int ok = rc == TP_STORE_ERR && strstr(tp_store_error(st), "used after fork") != NULL;
        tp_store_close(st);
        _exit(ok ? 0 : 1);
    }
    tap_ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
           && WEXITSTATUS(status) == 0, "in a child: ERR, used after fork; then closed there");
    tap_ok(exists(st, 12, 1), "the parent's connection still works");
    {
        unsigned char d[TP_SESSION_DIGEST_LEN];
        digest_of(d, 12, 1);
        tap_is_int(tp_store_session_delete(st, d), TP_STORE_OK, "  for writes too");
    }
}

static void check_unix(const char *sock)
{
    char where[600];
    struct tp_store *st;

    snprintf(where, sizeof where, "unix:%s?prefix=sock:", sock);
    st = open_or_diag(where);
    tap_ok(st != NULL, "a unix socket opens");
    if (st == NULL)
        return;
    tap_is_int(add(st, 13, 1, "sam", 5, 0, 0), TP_STORE_OK, "  and keeps sessions");
    tap_ok(exists(st, 13, 1), "  found again");
    tap_is_int(tp_store_session_delete_user(st, "sam", NULL, NULL), TP_STORE_OK, "  deleted");
    {
        char w3[600];
        struct tp_store *st3;
        snprintf(w3, sizeof w3, "unix://%s?db=1", sock);
        st3 = open_or_diag(w3);
        tap_ok(st3 != NULL && !exists(st3, 13, 1), "unix:///PATH?db=1 opens");
        tp_store_close(st3);
    }
    snprintf(where, sizeof where, "unix:%s", sock);
    tap_is_str(tp_store_where(st), where, "  named unix:PATH");
    tp_store_close(st);
}

static void check_stopped(pid_t server)
{
    struct tp_store *st = open_or_diag(loc("command_timeout=1"));
    struct tp_session s;
    double t;
    int rc;

    if (st == NULL) {
        tap_ok(0, "open with command_timeout=1");
        return;
    }
    kill(server, SIGSTOP);
    t = now_s();
    rc = get(st, 1, 1, &s);
    t = now_s() - t;
    kill(server, SIGCONT);
    tap_is_int(rc, TP_STORE_UNAVAIL, "a stopped server: UNAVAIL");
    tap_ok(t >= 0.9 && t < 3, "  after command_timeout=1 (%.2f s)", t);
    tap_ok(strstr(tp_store_error(st), "no answer within 1 s") != NULL, "  saying so (%s)",
           tp_store_error(st));
    tap_ok(tp_store_timed_out(st), "  a timeout (tp_store_timed_out)");
    tap_is_int(get(st, 1, 1, &s), TP_STORE_UNAVAIL, "the connection stays broken");
    tap_ok(strstr(tp_store_error(st), "broke earlier") != NULL, "  (%s)", tp_store_error(st));
    tap_ok(!tp_store_timed_out(st), "  which is no timeout");
    tp_store_close(st);
    st = open_or_diag(base);
    tap_ok(st != NULL && get(st, 1, 1, &s) == TP_STORE_NOTFOUND, "a new connection works");
    tap_is_int(tp_store_ping(st), TP_STORE_OK, "  and answers tp_store_ping");
    tp_store_close(st);
    /* an open sends nothing without a password: only the ping finds a
     * stopped server */
    if ((st = open_or_diag(loc("command_timeout=1"))) != NULL) {
        kill(server, SIGSTOP);
        rc = tp_store_ping(st);
        kill(server, SIGCONT);
        tap_is_int(rc, TP_STORE_UNAVAIL, "tp_store_ping on a stopped server: UNAVAIL (%s)",
                   tp_store_error(st));
        tap_ok(tp_store_timed_out(st), "  a timeout");
        tp_store_close(st);
    }
}

/* ---- restart -------------------------------------------------------------------------------- */

static void restart_before(pid_t server)
{
    struct tp_store *st = open_or_diag(base), *st2;
    unsigned char d[TP_SESSION_DIGEST_LEN];
    struct tp_session s;
    char err[1024];
    double t;
    int count = 0;

    if (st == NULL)
        th_bail("no store");
    tp_store_session_delete_user(st, "ruth", NULL, NULL);
    tp_store_fail_reset(st, "ruth");
    add(st, 20, 1, "ruth", 1, 0, 0);
    add(st, 20, 2, "ruth", 2, 0, 0);
    digest_of(d, 20, 1);
    tap_is_int(tp_store_session_delete(st, d), TP_STORE_OK, "a session revoked");
    for (int i = 0; i < 5; i++)
        tp_store_fail_add(st, "ruth", 5000 + i, 0, &count);
    tap_is_int(count, 5, "a lockout tally of 5");
    tap_ok(kill(server, SIGKILL) == 0, "the server killed");
    usleep(100 * 1000);
    t = now_s();
    tap_is_int(get(st, 20, 2, &s), TP_STORE_UNAVAIL, "the open connection: UNAVAIL");
    tap_ok(now_s() - t < 1, "  at once (%s)", tp_store_error(st));
    tap_is_int(get(st, 20, 2, &s), TP_STORE_UNAVAIL, "  and stays so");
    tp_store_close(st);
    t = now_s();
    tap_is_int(tp_store_open(base, 0, &st2, err, sizeof err), TP_STORE_UNAVAIL,
               "a new open: UNAVAIL");
    tap_ok(now_s() - t < 1, "  at once (%s)", err);
}

static void restart_after(void)
{
    struct tp_store *st = open_or_diag(base);
    int count = 0;
    int64_t latest = 0;

    tap_ok(st != NULL, "after the restart, a new open works");
    if (st == NULL)
        return;
    tap_ok(!exists(st, 20, 1), "the revoked session stays revoked");
    tap_ok(exists(st, 20, 2), "the other is still there");
    tap_is_int(tp_store_fail_count(st, "ruth", 0, &count, &latest), TP_STORE_OK, "the tally");
    tap_ok(count == 5 && latest == 5004, "  is still there (%d, %lld)", count, (long long)latest);
    tp_store_session_delete_user(st, "ruth", NULL, NULL);
    tp_store_fail_reset(st, "ruth");
    tp_store_close(st);
}

/* ---- credentials ------------------------------------------------------------------------------ */

static void check_auth(int port)
{
    const char *pass = getenv("TREX_PAM_TEST_REDIS_PASS");
    const char *user = getenv("TREX_PAM_TEST_REDIS_ACL_USER");
    const char *upass = getenv("TREX_PAM_TEST_REDIS_ACL_PASS");
    char where[512], err[1024], enc[256];
    struct tp_store *st = NULL;
    size_t n = 0;

    if (pass == NULL || user == NULL || upass == NULL)
        th_bail("auth needs TREX_PAM_TEST_REDIS_PASS, _ACL_USER and _ACL_PASS");
    for (const char *p = pass; *p && n + 4 < sizeof enc; p++)   /* percent-encode it all */
        n += (size_t)snprintf(enc + n, sizeof enc - n, "%%%02X", (unsigned char)*p);

    snprintf(where, sizeof where, "redis://127.0.0.1:%d/", port);
    tap_is_int(tp_store_open(where, 0, &st, err, sizeof err), TP_STORE_OK, "no password: opens");
    if (st != NULL) {
        tap_is_int(tp_store_ping(st), TP_STORE_UNAVAIL, "  tp_store_ping finds it needs one");
        tap_ok(strstr(tp_store_error(st), "NOAUTH") != NULL && strstr(tp_store_error(st), "PING"),
               "  (%s)", tp_store_error(st));
        tp_store_close(st);
        st = NULL;
        tap_is_int(tp_store_open(where, 0, &st, err, sizeof err), TP_STORE_OK, "  again");
    }
    if (st != NULL) {
        tap_is_int(tp_store_fail_reset(st, "x"), TP_STORE_UNAVAIL, "  but a call is UNAVAIL");
        tap_ok(strstr(tp_store_error(st), "NOAUTH") != NULL, "  (%s)", tp_store_error(st));
        tp_store_close(st);
    }
    snprintf(where, sizeof where, "redis://:%s@127.0.0.1:%d/3", enc, port);
    tap_is_int(tp_store_open(where, 0, &st, err, sizeof err), TP_STORE_OK,
               "the password (percent-encoded): opens");
    if (st != NULL) {
        tap_is_int(add(st, 30, 1, "amy", 1, 0, 0), TP_STORE_OK, "  works (db 3)");
        snprintf(where, sizeof where, "redis://127.0.0.1:%d/3", port);
        tap_is_str(tp_store_where(st), where, "  named without the password");
        tp_store_session_delete_user(st, "amy", NULL, NULL);
        tp_store_close(st);
    }
    snprintf(where, sizeof where, "redis://:wr0ng%s@127.0.0.1:%d/", enc, port);
    tap_is_int(tp_store_open(where, 0, &st, err, sizeof err), TP_STORE_UNAVAIL, "a wrong password: UNAVAIL");
    tap_ok(strstr(err, "refused our credentials") != NULL, "  saying so (%s)", err);
    tap_ok(strstr(err, pass) == NULL && strstr(err, "wr0ng") == NULL, "  without the password");

    snprintf(where, sizeof where, "redis://%s:%s@127.0.0.1:%d/?prefix=acl:", user, upass, port);
    tap_is_int(tp_store_open(where, 0, &st, err, sizeof err), TP_STORE_OK, "an ACL user: opens");
    if (st != NULL) {
        char want[128];
        snprintf(want, sizeof want, "redis://%s@127.0.0.1:%d/0", user, port);
        tap_is_str(tp_store_where(st), want, "  named with its user, not its password");
        tap_is_int(tp_store_fail_add(st, "amy", 1, 0, NULL), TP_STORE_OK, "  works");
        tp_store_fail_reset(st, "amy");
        tp_store_close(st);
    }
    {
        pid_t server = (pid_t)atoi(getenv("TREX_PAM_TEST_REDIS_PID"));
        double t;
        int rc;
        snprintf(where, sizeof where, "redis://:%s@127.0.0.1:%d/?command_timeout=1", enc, port);
        kill(server, SIGSTOP);
        t = now_s();
        rc = tp_store_open(where, 0, &st, err, sizeof err);
        t = now_s() - t;
        kill(server, SIGCONT);
        tap_is_int(rc, TP_STORE_UNAVAIL, "AUTH to a stopped server: UNAVAIL");
        tap_ok(t >= 0.9 && t < 3 && strstr(err, "no answer within 1 s") != NULL,
               "  after command_timeout=1 (%.2f s: %s)", t, err);
    }
    snprintf(where, sizeof where, "redis://%s:x%s@127.0.0.1:%d/", user, upass, port);
    tap_is_int(tp_store_open(where, 0, &st, err, sizeof err), TP_STORE_UNAVAIL,
               "an ACL user, wrong password: UNAVAIL");
    tap_ok(strstr(err, upass) == NULL && strstr(err, "refused our credentials") != NULL,
           "  without the password (%s)", err);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *port_s = getenv("TREX_PAM_TEST_REDIS_PORT");
    const char *pid_s = getenv("TREX_PAM_TEST_REDIS_PID");
    const char *sock = getenv("TREX_PAM_TEST_REDIS_SOCK");
    int port = port_s != NULL ? atoi(port_s) : 0;
    pid_t server = pid_s != NULL ? (pid_t)atoi(pid_s) : 0;
    struct tp_store *st;

    base = getenv("TREX_PAM_TEST_REDIS");
    if (*mode == '\0') {
        offline();
        if (base == NULL || port == 0 || server <= 0) {
            tap_skip("no redis-server (t/46-store-redis.t starts one)");
            return th_done();
        }
    } else if (strcmp(mode, "nolib") != 0 && (base == NULL || port == 0 || server <= 0)) {
        th_bail("%s needs TREX_PAM_TEST_REDIS, _PORT and _PID", mode);
    }
    if (strcmp(mode, "nolib") == 0) {      /* LD_LIBRARY_PATH holds a broken libhiredis */
        char err[1024];
        tap_is_int(open_code("redis://u:hunter22@127.0.0.1:1/", err, sizeof err), TP_STORE_UNAVAIL,
                   "no usable libhiredis: UNAVAIL");
        tap_ok(strncmp(err, "redis: cannot load libhiredis.so.0.14 (install libhiredis0.14): ", 64) == 0,
               "  saying what to install (%s)", err);
        tap_ok(strstr(err, "hunter22") == NULL, "  no password in it");
        return th_done();
    }
    if (strcmp(mode, "restart-before") == 0) {
        restart_before(server);
        return th_done();
    }
    if (strcmp(mode, "restart-after") == 0) {
        restart_after();
        return th_done();
    }
    if (strcmp(mode, "auth") == 0) {
        check_auth(port);
        return th_done();
    }
    if ((st = open_or_diag(base)) == NULL)
        th_bail("cannot open %s", base);
    check_fail_list_scan(st);
    check_ttl(st, port);
    check_prefix();
    check_scripts(st);
    check_rdonly(st);
    check_processes(st);
    check_module();
    {
        struct tp_session x;
        tap_is_int(get(st, 1, 1, &x), TP_STORE_UNAVAIL, "a connection the server dropped: UNAVAIL");
        tap_ok(strstr(tp_store_error(st), "closed the connection") != NULL, "  (%s)", tp_store_error(st));
    }
    tp_store_close(st);
    if (sock != NULL)
        check_unix(sock);
    check_stopped(server);
    return th_done();
}
