/*
 * redis_conn.c - the connection to a Redis server, its requests and their
 * faults; opening and closing; the backend table (redis.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "redis.h"
#include "secret.h"

/* ---- requests ------------------------------------------------------------------------ */

static struct timeval tv_of(double s)
{
    struct timeval tv;
    tv.tv_sec = (time_t)s;
    tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
    return tv;
}

/* hiredis writes with write(2): a server gone would raise SIGPIPE in the
 * caller's process. It is blocked around each request, and one raised by
 * it is taken back before the mask is restored. */
struct pipe_guard {
    sigset_t old;
    int pending;
};

static void pipe_block(struct pipe_guard *g)
{
    sigset_t set, pend;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
    g->pending = sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE);
}

static void pipe_restore(struct pipe_guard *g)
{
    if (!g->pending) {
        sigset_t set;
        struct timespec zero = { 0, 0 };
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        while (sigtimedwait(&set, NULL, &zero) > 0)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

int tp_rd_usable(struct rd *r, int write, const char *what)
{
    if (r->pid != getpid())
        return tp_store_fail(&r->base, TP_STORE_ERR, "%s: used after fork (open the store again"
                             " in this process)", what);
    if (write && r->rdonly)
        return tp_store_fail(&r->base, TP_STORE_ERR, "%s: the store is open read-only", what);
    return TP_STORE_OK;
}

static int io_failed(struct rd *r, int e, const char *what);

/* The request; *out any reply, error replies too. */
static int raw_command(struct rd *r, int argc, const char **argv, const size_t *lens,
                       redisReply **out, const char *what)
{
    struct pipe_guard g;
    int e;

    *out = NULL;
    if (r->pid != getpid())
        return tp_rd_usable(r, 0, what);
    if (r->broken)
        return tp_store_fail(&r->base, TP_STORE_UNAVAIL, "%s: the connection broke earlier"
                             " (open the store again)", what);
    pipe_block(&g);
    errno = 0;
    *out = r->lib->command_argv(r->c, argc, argv, lens);
    e = errno;
    pipe_restore(&g);
    if (*out != NULL)
        return TP_STORE_OK;
    return io_failed(r, e, what);
}

/* A request that got no reply: the connection is broken from now on. */
static int io_failed(struct rd *r, int e, const char *what)
{
    r->broken = 1;
    if (r->c->err == REDIS_ERR_OOM)
        return tp_store_fail(&r->base, TP_STORE_ERR, "%s: out of memory", what);
    if (r->c->err == REDIS_ERR_IO && (e == EAGAIN || e == EWOULDBLOCK)) {
        tp_store_fail(&r->base, TP_STORE_UNAVAIL, "%s: no answer within %g s"
                      " (command_timeout): the server is stopped or overloaded",
                      what, r->command_timeout);
        r->base.timed_out = 1;
        return TP_STORE_UNAVAIL;
    }
    if (r->c->err == REDIS_ERR_EOF)
        return tp_store_fail(&r->base, TP_STORE_UNAVAIL, "%s: the server closed the connection",
                             what);
    return tp_store_fail(&r->base, TP_STORE_UNAVAIL, "%s: lost the connection: %.200s", what,
                         r->c->errstr);
}

static int starts(const redisReply *x, const char *word)
{
    size_t n = strlen(word);
    return x->len >= n && memcmp(x->str, word, n) == 0;
}

/* An error reply as a code. */
static int reply_error(struct rd *r, const redisReply *x, const char *what)
{
    if (starts(x, "LOADING"))
        return tp_store_fail(&r->base, TP_STORE_UNAVAIL, "%s: the server is loading its data",
                             what);
    if (starts(x, "NOAUTH"))
        return tp_store_fail(&r->base, TP_STORE_UNAVAIL, "%s: the server needs a password"
                             " (NOAUTH)", what);
    if (starts(x, "WRONGPASS"))
        return tp_store_fail(&r->base, TP_STORE_UNAVAIL, "%s: the server refused our"
                             " credentials", what);
    if (starts(x, "READONLY") || starts(x, "MASTERDOWN") || starts(x, "MISCONF")
        || starts(x, "BUSY") || starts(x, "TRYAGAIN") || starts(x, "CLUSTERDOWN"))
        return tp_store_fail(&r->base, TP_STORE_UNAVAIL, "%s: the server cannot take it now:"
                             " %.200s", what, x->str);
    return tp_store_fail(&r->base, TP_STORE_ERR, "%s: the server says: %.200s", what, x->str);
}

int tp_rd_command(struct rd *r, int argc, const char **argv, const size_t *lens,
                  redisReply **out, const char *what)
{
    int code = raw_command(r, argc, argv, lens, out, what);

    if (code == TP_STORE_OK && (*out)->type == REDIS_REPLY_ERROR) {
        code = reply_error(r, *out, what);
        tp_rd_free(r, *out);
        *out = NULL;
    }
    return code;
}

int tp_rd_script(struct rd *r, enum rd_script id, int nkeys, int argc, const char **argv,
                 const size_t *lens, redisReply **out, const char *what)
{
    const char *av[64];
    size_t al[64];
    char nk[16];
    int code;

    *out = NULL;
    if (argc + 3 > 64)
        return tp_store_fail(&r->base, TP_STORE_ERR, "%s: too many arguments", what);
    snprintf(nk, sizeof nk, "%d", nkeys);
    av[0] = "EVALSHA";
    av[1] = tp_rd_script_sha(id);
    av[2] = nk;
    for (int i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        al[i + 3] = lens != NULL ? lens[i] : strlen(argv[i]);
    }
    for (int i = 0; i < 3; i++)
        al[i] = strlen(av[i]);
    if ((code = raw_command(r, argc + 3, av, al, out, what)) != TP_STORE_OK)
        return code;
    if ((*out)->type == REDIS_REPLY_ERROR && starts(*out, "NOSCRIPT")) {
        tp_rd_free(r, *out);
        av[0] = "EVAL";
        av[1] = tp_rd_script_text[id];
        al[0] = 4;
        al[1] = strlen(av[1]);
        if ((code = raw_command(r, argc + 3, av, al, out, what)) != TP_STORE_OK)
            return code;
    }
    if ((*out)->type == REDIS_REPLY_ERROR) {
        code = reply_error(r, *out, what);
        tp_rd_free(r, *out);
        *out = NULL;
    }
    return code;
}

void tp_rd_free(struct rd *r, redisReply *reply)
{
    if (reply != NULL)
        r->lib->free_reply(reply);
}

int tp_rd_bad_reply(struct rd *r, const char *what)
{
    return tp_store_fail(&r->base, TP_STORE_ERR, "%s: an answer of the wrong shape (not a"
                         " TRex::PAM key?)", what);
}

char *tp_rd_key(const struct rd *r, const char *a, const char *b, size_t blen, size_t *len)
{
    size_t alen = strlen(a);
    char *k = malloc(r->plen + alen + blen + 1);

    if (k == NULL)
        return NULL;
    memcpy(k, r->prefix, r->plen);
    memcpy(k + r->plen, a, alen);
    memcpy(k + r->plen + alen, b, blen);
    k[r->plen + alen + blen] = '\0';
    *len = r->plen + alen + blen;
    return k;
}

int tp_rd_int(const redisReply *x, int64_t *v)
{
    char buf[24], *end;
    long long n;

    if (x->type == REDIS_REPLY_INTEGER) {
        *v = x->integer;
        return 0;
    }
    if (x->type != REDIS_REPLY_STRING || x->len == 0 || x->len >= sizeof buf)
        return -1;
    memcpy(buf, x->str, x->len);
    buf[x->len] = '\0';
    errno = 0;
    n = strtoll(buf, &end, 10);
    if (*end != '\0' || errno != 0)
        return -1;
    *v = n;
    return 0;
}

/* ---- open and close ----------------------------------------------------------------- */

static void rd_close(struct tp_store *st)
{
    struct rd *r = rd_of(st);

    /* In any process: hiredis sends nothing when it frees a connection (no
     * QUIT), it only closes this process's descriptor, so a child dropping
     * what it inherited leaves the parent's connection as it was. */
    if (r->c != NULL)
        r->lib->free_context(r->c);
    free(r->where);
    free(r);
}

/*
 * AUTH [user] password, formatted and written here rather than by hiredis,
 * whose output buffer would be freed with the password still in it: ours
 * is wiped. The socket's send timeout (command_timeout) bounds the write.
 */
static int send_auth(struct rd *r, const char *user, const char *pass)
{
    size_t ul = user != NULL ? strlen(user) : 0, pl = strlen(pass), cap = ul + pl + 64;
    size_t n = 0, off = 0;
    char *buf = malloc(cap);
    int code = TP_STORE_OK;

    if (buf == NULL)
        return tp_store_fail(&r->base, TP_STORE_ERR, "authenticating: out of memory");
    n = (size_t)snprintf(buf, cap, "*%d\r\n$4\r\nAUTH\r\n", user != NULL ? 3 : 2);
    if (user != NULL) {
        n += (size_t)snprintf(buf + n, cap - n, "$%zu\r\n", ul);
        memcpy(buf + n, user, ul);
        memcpy(buf + n + ul, "\r\n", 2);
        n += ul + 2;
    }
    n += (size_t)snprintf(buf + n, cap - n, "$%zu\r\n", pl);
    memcpy(buf + n, pass, pl);
    memcpy(buf + n + pl, "\r\n", 2);
    n += pl + 2;
    while (off < n) {
        ssize_t k = send(r->c->fd, buf + off, n - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = errno;
            r->broken = 1;
            r->base.timed_out = e == EAGAIN || e == EWOULDBLOCK;
            code = r->base.timed_out
                   ? tp_store_fail(&r->base, TP_STORE_UNAVAIL, "authenticating: no answer within"
                                   " %g s (command_timeout)", r->command_timeout)
                   : tp_store_fail(&r->base, TP_STORE_UNAVAIL, "authenticating: lost the"
                                   " connection: %s", strerror(e));
            break;
        }
        off += (size_t)k;
    }
    tp_secret_wipe(buf, cap);
    free(buf);
    return code;
}

/* The reply to what send_auth wrote. */
static int read_reply(struct rd *r, redisReply **out, const char *what)
{
    struct pipe_guard g;
    void *reply = NULL;
    int rc, e;

    pipe_block(&g);
    errno = 0;
    rc = r->lib->get_reply(r->c, &reply);
    e = errno;
    pipe_restore(&g);
    *out = reply;
    if (rc == REDIS_OK && reply != NULL)
        return TP_STORE_OK;
    return io_failed(r, e, what);
}

/* AUTH and SELECT right after the connect. */
static int handshake(struct rd *r, struct rd_loc *l)
{
    redisReply *x = NULL;
    int code;

    if (l->pass != NULL) {
        code = send_auth(r, l->user, l->pass);
        tp_secret_drop(&l->pass);
        if (code != TP_STORE_OK)
            return code;
        if ((code = read_reply(r, &x, "authenticating")) != TP_STORE_OK)
            return code;
        if (x->type == REDIS_REPLY_ERROR) {
            code = starts(x, "LOADING") ? reply_error(r, x, "authenticating")
                   : tp_store_fail(&r->base, TP_STORE_UNAVAIL, "the server refused our"
                                   " credentials");
            tp_rd_free(r, x);
            return code;
        }
        tp_rd_free(r, x);
    }
    if (l->db != 0) {
        char db[24];
        const char *av[2] = { "SELECT", db };
        snprintf(db, sizeof db, "%ld", l->db);
        if ((code = tp_rd_command(r, 2, av, NULL, &x, "selecting the database")) != TP_STORE_OK)
            return code;
        tp_rd_free(r, x);
    }
    return TP_STORE_OK;
}

static int rd_open(const char *location, int flags, struct tp_store **out, char *err, size_t errlen)
{
    const struct tp_rd_lib *lib;
    struct rd_loc l;
    struct rd *r = NULL;
    char why[512];
    int code;

    if ((lib = tp_rd_lib(why, sizeof why)) == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", why);
        return TP_STORE_UNAVAIL;
    }
    if ((code = tp_rd_parse_location(location, &l, why, sizeof why)) != TP_STORE_OK) {
        tp_rd_loc_clear(&l);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", why);
        return code;
    }
    if ((r = calloc(1, sizeof *r)) == NULL || (r->where = tp_rd_where(&l)) == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "redis: out of memory opening the store");
        code = TP_STORE_ERR;
        goto fail;
    }
    r->base.backend = &tp_store_redis;
    r->base.where = r->where;
    r->lib = lib;
    r->pid = getpid();
    r->rdonly = (flags & TP_STORE_RDONLY) != 0;
    r->command_timeout = l.command_timeout;
    r->plen = strlen(l.prefix);
    memcpy(r->prefix, l.prefix, r->plen + 1);
    {
        struct pipe_guard g;
        pipe_block(&g);
        r->c = l.path != NULL ? lib->connect_unix(l.path, tv_of(l.connect_timeout))
                              : lib->connect_tcp(l.host, l.port, tv_of(l.connect_timeout));
        pipe_restore(&g);
    }
    if (r->c == NULL) {
        code = tp_store_fail(&r->base, TP_STORE_ERR, "out of memory connecting");
    } else if (r->c->err != 0) {
        code = tp_store_fail(&r->base, TP_STORE_UNAVAIL, "cannot connect: %.200s", r->c->errstr);
    } else if (lib->set_timeout(r->c, tv_of(l.command_timeout)) != REDIS_OK) {
        code = tp_store_fail(&r->base, TP_STORE_UNAVAIL, "cannot set the command timeout: %.200s",
                             r->c->errstr);
    } else {
        code = handshake(r, &l);
    }
    if (code != TP_STORE_OK) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", r->base.err);
        goto fail;
    }
    tp_rd_loc_clear(&l);
    *out = &r->base;
    return TP_STORE_OK;
fail:
    tp_rd_loc_clear(&l);
    if (r != NULL)
        rd_close(&r->base);
    return code;
}

/*
 * Walks the keys matching prefix + pattern with SCAN, SCAN_COUNT at a
 * time, and runs script on each batch: the keys, then argv. fn gets each
 * script's reply (and frees it); it returns a code.
 */
int tp_rd_scan(struct rd *r, const char *pattern, enum rd_script script, int argc,
               const char **argv, tp_rd_batch_fn fn, void *arg, const char *what)
{
    char cursor[32] = "0", count[16];
    size_t klen;
    char *match = tp_rd_key(r, pattern, "", 0, &klen);
    int code = TP_STORE_OK;

    if (match == NULL)
        return tp_store_fail(&r->base, TP_STORE_ERR, "%s: out of memory", what);
    snprintf(count, sizeof count, "%d", SCAN_COUNT);
    do {
        const char *av[6] = { "SCAN", cursor, "MATCH", match, "COUNT", count };
        const char *sv[64];
        redisReply *y = NULL, *z = NULL;
        const redisReply *keys;

        if ((code = tp_rd_command(r, 6, av, NULL, &y, what)) != TP_STORE_OK)
            break;
        if (tp_rd_scan_reply(y, cursor, sizeof cursor, &keys) != 0) {
            tp_rd_free(r, y);
            code = tp_rd_bad_reply(r, what);
            break;
        }
        /* batches of at most 56 keys: the script's argv stays small */
        for (size_t i = 0; code == TP_STORE_OK && i < keys->elements; i += 56) {
            size_t n = keys->elements - i < 56 ? keys->elements - i : 56;
            for (size_t j = 0; j < n; j++) {
                if (keys->element[i + j]->type != REDIS_REPLY_STRING) {
                    code = tp_rd_bad_reply(r, what);
                    break;
                }
                sv[j] = keys->element[i + j]->str;
            }
            for (int j = 0; code == TP_STORE_OK && j < argc; j++)
                sv[n + (size_t)j] = argv[j];
            if (code == TP_STORE_OK)
                code = tp_rd_script(r, script, (int)n, (int)n + argc, sv, NULL, &z, what);
            if (code == TP_STORE_OK)
                code = fn(r, z, arg, what);
        }
        tp_rd_free(r, y);
    } while (code == TP_STORE_OK && strcmp(cursor, "0") != 0);
    free(match);
    return code;
}

/* tp_store_ping: an open without a password or a database sends nothing. */
static int rd_ping(struct tp_store *st)
{
    struct rd *r = rd_of(st);
    const char *av[1] = { "PING" };
    redisReply *x = NULL;
    int code = tp_rd_command(r, 1, av, NULL, &x, "asking the server (PING)");

    tp_rd_free(r, x);
    return code;
}

const struct tp_store_backend tp_store_redis = {
    .name = "redis",
    .claims = tp_rd_claims,
    .open = rd_open,
    .close = rd_close,
    .read_begin = NULL,             /* every read is one request */
    .read_end = NULL,
    .ping = rd_ping,
    .sessions_expire = 1,
    .users = NULL,                  /* users are kept elsewhere */
    .sessions = &tp_rd_sessions,
    .tallies = &tp_rd_tallies,
};
