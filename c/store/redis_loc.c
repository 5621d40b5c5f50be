/*
 * redis_loc.c - a Redis location (redis.h): redis://, unix:, redis+unix://,
 * its query, its user and password; and its name for messages, without
 * the password.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "redis.h"
#include "secret.h"

void tp_rd_loc_clear(struct rd_loc *l)
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

int tp_rd_claims(const char *location)
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

static int parse_query(const char *q, struct rd_loc *l, char *err, size_t errlen)
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
static int parse_userinfo(const char *u, size_t n, struct rd_loc *l, char *err, size_t errlen)
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

int tp_rd_parse_location(const char *s, struct rd_loc *l, char *err, size_t errlen)
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
    if (strncmp(rest, "//", 2) == 0) {
        /* the userinfo first, so that a '?' or '@' of a password is never
         * read as the query (whose text a message may quote): it ends at
         * the last '@' (none is valid after it in redis://), or for a
         * unix socket at the last '@' before the path */
        rest += 2;
        at = NULL;
        for (const char *p = rest; *p != '\0' && !(unix_sock && *p == '/'); p++)
            if (*p == '@')
                at = p;
        if (at != NULL) {
            if ((code = parse_userinfo(rest, (size_t)(at - rest), l, err, errlen)) != TP_STORE_OK)
                return code;
            rest = at + 1;
        }
        auth_end = rest + strcspn(rest, "/?");
    } else if (unix_sock) {
        auth_end = rest;                        /* unix:/path */
    } else {
        snprintf(err, errlen, "redis: a location redis://[[user]:password@]host[:port][/db]");
        return TP_STORE_ERR;
    }
    q = auth_end + strcspn(auth_end, "?");
    if (*q == '?' && (code = parse_query(q + 1, l, err, errlen)) != TP_STORE_OK)
        return code;
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
char *tp_rd_where(const struct rd_loc *l)
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

