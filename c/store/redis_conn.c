/*
 * redis_conn.c - a Redis location, the connection to it, its requests and
 * their faults; the backend table (redis.h).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "redis.h"
#include "secret.h"

/* ---- locations ------------------------------------------------------------------ */

struct loc {
    char *host;                     /* TCP; NULL for a unix socket */
    int port;
    char *path;                     /* unix socket */
    char *user, *pass;              /* percent-decoded; NULL: none */
    long db;
    int db_given;                   /* by db= */
    char prefix[PREFIX_MAX + 1];
    double connect_timeout, command_timeout;
};

static void loc_clear(struct loc *l)
{
    free(l->host);
    free(l->path);
    free(l->user);
    tp_secret_drop(&l->pass);
    memset(l, 0, sizeof *l);
}

static int has_scheme(const char *s, const char *scheme)
{
    return strncasecmp(s, scheme, strlen(scheme)) == 0;
}

static int rd_claims(const char *location)
{
    return has_scheme(location, "redis:") || has_scheme(location, "rediss:")
           || has_scheme(location, "unix:") || has_scheme(location, "redis+unix:");
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A percent-decoded copy of s[0..n) (malloc'd), or NULL (*bad set for a
 * bad escape or an encoded NUL). */
static char *decode(const char *s, size_t n, int *bad)
{
    char *out = malloc(n + 1), *o = out;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        if (i + 2 >= n) {
            *bad = 1;
            break;
        }
        int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            *bad = 1;
            break;
        }
        *o++ = (char)(hi * 16 + lo);
        i += 2;
    }
    *o = '\0';
    if (*bad)
        tp_secret_drop(&out);
    return out;
}

static int parse_seconds(const char *v, size_t n, double *out)
{
    char buf[32], *end;
    double d;

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    errno = 0;
    d = strtod(buf, &end);
    if (*end != '\0' || errno != 0 || !isfinite(d) || d <= 0 || d > 3600)
        return -1;
    *out = d;
    return 0;
}

static int parse_db(const char *v, size_t n, long *out)
{
    long db = 0;

    if (n == 0 || n > 7)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        db = db * 10 + (v[i] - '0');
    }
    *out = db;
    return 0;
}

static int parse_query(const char *q, struct loc *l, char *err, size_t errlen)
{
    while (*q != '\0') {
        size_t n = strcspn(q, "&"), k = strcspn(q, "=");
        const char *v = q + k + 1;
        size_t vn = k < n ? n - k - 1 : 0;
        int bad = 0;

        if (k >= n) {
            snprintf(err, errlen, "redis: a parameter without a value in the location (%.*s)",
                     (int)(n > 32 ? 32 : n), q);
            return TP_STORE_ERR;
        }
        if (k == 6 && strncmp(q, "prefix", 6) == 0) {
            bad = vn == 0 || vn > PREFIX_MAX;
            for (size_t i = 0; !bad && i < vn; i++)
                bad = !((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z')
                        || (v[i] >= '0' && v[i] <= '9') || strchr(":_.-", v[i]) != NULL);
            if (!bad) {
                memcpy(l->prefix, v, vn);
                l->prefix[vn] = '\0';
            }
        } else if (k == 15 && strncmp(q, "connect_timeout", 15) == 0) {
            bad = parse_seconds(v, vn, &l->connect_timeout) != 0;
        } else if (k == 15 && strncmp(q, "command_timeout", 15) == 0) {
            bad = parse_seconds(v, vn, &l->command_timeout) != 0;
        } else if (k == 2 && strncmp(q, "db", 2) == 0) {
            bad = parse_db(v, vn, &l->db) != 0;
            l->db_given = 1;
        } else {
            snprintf(err, errlen, "redis: unknown parameter \"%.*s\" in the location (it takes"
                     " prefix, connect_timeout, command_timeout, db)", (int)(k > 32 ? 32 : k), q);
            return TP_STORE_ERR;
        }
        if (bad) {
            snprintf(err, errlen, "redis: bad value of parameter %.*s in the location (%s)", (int)k,
                     q, k == 6 ? "[A-Za-z0-9:_.-], 1 to 64 characters"
                     : k == 2 ? "a database number" : "seconds, more than 0, at most 3600");
            return TP_STORE_ERR;
        }
        q += n;
        if (*q == '&')
            q++;
    }
    return TP_STORE_OK;
}

/* The user and password of an authority's userinfo u[0..n). */
static int parse_userinfo(const char *u, size_t n, struct loc *l, char *err, size_t errlen)
{
    const char *colon = memchr(u, ':', n);
    int bad = 0;

    if (colon != NULL) {
        if (colon > u && (l->user = decode(u, (size_t)(colon - u), &bad)) == NULL && !bad)
            goto nomem;
        n -= (size_t)(colon + 1 - u);
        u = colon + 1;
    }
    if (!bad && n > 0 && (l->pass = decode(u, n, &bad)) == NULL && !bad)
        goto nomem;
    if (bad) {
        snprintf(err, errlen, "redis: a bad %%-escape in the location's user or password");
        return TP_STORE_ERR;
    }
    return TP_STORE_OK;
nomem:
    snprintf(err, errlen, "redis: out of memory reading the location");
    return TP_STORE_ERR;
}

static int parse_location(const char *s, struct loc *l, char *err, size_t errlen)
{
    const char *rest, *q, *at, *auth_end;
    int unix_sock, code;

    memset(l, 0, sizeof *l);
    strcpy(l->prefix, PREFIX_DEFAULT);
    l->port = 6379;
    l->connect_timeout = l->command_timeout = 5;
    if (has_scheme(s, "rediss:")) {
        snprintf(err, errlen, "rediss: TLS is not available: this build's libhiredis 0.14 has no"
                 " TLS; reach the server through a local TLS tunnel (stunnel, spiped) or over a"
                 " private network or unix socket, and name it redis:// or unix:");
        return TP_STORE_UNAVAIL;
    }
    unix_sock = !has_scheme(s, "redis:");
    rest = s + strcspn(s, ":") + 1;
    q = rest + strcspn(rest, "?");
    if (*q == '?' && (code = parse_query(q + 1, l, err, errlen)) != TP_STORE_OK)
        return code;
    if (unix_sock && strncmp(rest, "//", 2) != 0) {
        auth_end = rest;                        /* unix:/path */
    } else if (strncmp(rest, "//", 2) != 0) {
        snprintf(err, errlen, "redis: a location redis://[[user]:password@]host[:port][/db]");
        return TP_STORE_ERR;
    } else {
        rest += 2;
        auth_end = rest + strcspn(rest, "/?");
        if (auth_end > q)
            auth_end = q;
        at = NULL;
        for (const char *p = rest; p < auth_end; p++)
            if (*p == '@')
                at = p;
        if (at != NULL) {
            if ((code = parse_userinfo(rest, (size_t)(at - rest), l, err, errlen)) != TP_STORE_OK)
                return code;
            rest = at + 1;
        }
    }
    if (unix_sock) {
        if (rest != auth_end || *auth_end != '/' || q == auth_end + 1) {
            snprintf(err, errlen, "redis: a unix location names the socket by its full path"
                     " (unix:/run/redis/redis.sock)");
            return TP_STORE_ERR;
        }
        if ((l->path = strndup(auth_end, (size_t)(q - auth_end))) == NULL)
            goto nomem;
        return TP_STORE_OK;
    }
    /* host[:port], then /db */
    {
        const char *h = rest, *hend, *port = NULL;
        if (*h == '[') {
            hend = memchr(h, ']', (size_t)(auth_end - h));
            if (hend == NULL)
                goto bad_host;
            h++;
            port = hend + 1 < auth_end && hend[1] == ':' ? hend + 2 : NULL;
            if (hend + 1 < auth_end && hend[1] != ':')
                goto bad_host;
        } else {
            hend = memchr(h, ':', (size_t)(auth_end - h));
            if (hend != NULL)
                port = hend + 1;
            else
                hend = auth_end;
        }
        if (hend == h)
            goto bad_host;
        if (port != NULL) {
            long p = 0;
            if (port == auth_end || auth_end - port > 5)
                goto bad_host;
            for (const char *c = port; c < auth_end; c++) {
                if (*c < '0' || *c > '9')
                    goto bad_host;
                p = p * 10 + (*c - '0');
            }
            if (p < 1 || p > 65535)
                goto bad_host;
            l->port = (int)p;
        }
        if ((l->host = strndup(h, (size_t)(hend - h))) == NULL)
            goto nomem;
    }
    if (*auth_end == '/' && auth_end + 1 < q) {
        if (l->db_given) {
            snprintf(err, errlen, "redis: the location names the database twice (path and db=)");
            return TP_STORE_ERR;
        }
        if (parse_db(auth_end + 1, (size_t)(q - auth_end - 1), &l->db) != 0) {
            snprintf(err, errlen, "redis: the location's path is a database number (redis://host/0)");
            return TP_STORE_ERR;
        }
    }
    return TP_STORE_OK;
bad_host:
    snprintf(err, errlen, "redis: a location redis://[[user]:password@]host[:port][/db] with"
             " a host and a port from 1 to 65535");
    return TP_STORE_ERR;
nomem:
    snprintf(err, errlen, "redis: out of memory reading the location");
    return TP_STORE_ERR;
}

/* The location without its password, for messages. */
static char *make_where(const struct loc *l)
{
    char buf[4200];
    const char *u = l->user != NULL ? l->user : "";
    const char *at = l->user != NULL ? "@" : "";

    if (l->path != NULL) {
        if (l->user != NULL)
            snprintf(buf, sizeof buf, "unix://%s@%s", u, l->path);
        else
            snprintf(buf, sizeof buf, "unix:%s", l->path);
        if (l->db != 0)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "?db=%ld", l->db);
    } else {
        int v6 = strchr(l->host, ':') != NULL;
        snprintf(buf, sizeof buf, "redis://%s%s%s%s%s:%d/%ld", u, at, v6 ? "[" : "", l->host,
                 v6 ? "]" : "", l->port, l->db);
    }
    return strdup(buf);
}

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
    r->broken = 1;
    if (r->c->err == REDIS_ERR_OOM)
        return tp_store_fail(&r->base, TP_STORE_ERR, "%s: out of memory", what);
    if (r->c->err == REDIS_ERR_IO && (e == EAGAIN || e == EWOULDBLOCK))
        return tp_store_fail(&r->base, TP_STORE_UNAVAIL, "%s: no answer within %g s"
                             " (command_timeout): the server is stopped or overloaded",
                             what, r->command_timeout);
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

/* AUTH and SELECT right after the connect. */
static int handshake(struct rd *r, struct loc *l)
{
    redisReply *x = NULL;
    int code;

    if (l->pass != NULL) {
        const char *av[3] = { "AUTH", l->user, l->pass };
        int ac = 3;
        if (l->user == NULL) {
            av[1] = l->pass;
            ac = 2;
        }
        code = raw_command(r, ac, av, NULL, &x, "authenticating");
        tp_secret_drop(&l->pass);
        if (code != TP_STORE_OK)
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
    struct loc l;
    struct rd *r = NULL;
    char why[512];
    int code;

    if ((lib = tp_rd_lib(why, sizeof why)) == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", why);
        return TP_STORE_UNAVAIL;
    }
    if ((code = parse_location(location, &l, why, sizeof why)) != TP_STORE_OK) {
        loc_clear(&l);
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "%s", why);
        return code;
    }
    if ((r = calloc(1, sizeof *r)) == NULL || (r->where = make_where(&l)) == NULL) {
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
    loc_clear(&l);
    *out = &r->base;
    return TP_STORE_OK;
fail:
    loc_clear(&l);
    if (r != NULL)
        rd_close(&r->base);
    return code;
}

const struct tp_store_backend tp_store_redis = {
    .name = "redis",
    .claims = rd_claims,
    .open = rd_open,
    .close = rd_close,
    .read_begin = NULL,             /* every read is one request */
    .read_end = NULL,
    .users = NULL,                  /* users are kept elsewhere */
    .sessions = &tp_rd_sessions,
    .tallies = &tp_rd_tallies,
};
