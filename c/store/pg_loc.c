/*
 * pg_loc.c - the PostgreSQL store's locations (pg.h): what a location says
 * and what of it may be shown. command_timeout is taken out for us, the
 * rest goes to libpq as written; st->where is the location without its
 * password, and libpq's messages are checked for it before they are used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg.h"
#include "secret.h"

static int is_uri(const char *s)
{
    return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

int tp_pg_claims(const char *location)
{
    return location != NULL && (is_uri(location) || strncmp(location, "postgresql:", 11) == 0);
}

/* "5" -> 5; anything but 1..MAX_TIMEOUT digits: -1. */
int tp_pg_parse_timeout(const char *v, size_t n)
{
    long t = 0;

    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        t = t * 10 + (v[i] - '0');
    }
    return t > 0 && t <= MAX_TIMEOUT ? (int)t : -1;
}

static void put(char **o, const char *s, size_t n)
{
    memcpy(*o, s, n);
    *o += n;
}

static void add_secret(struct pg_loc *l, const char *s, size_t n)
{
    if (n > 0 && l->nsecret < 8) {
        l->secret[l->nsecret] = s;
        l->secret_len[l->nsecret++] = n;
    }
}

/* A URI: user:password@ and password= dropped from where, command_timeout= from both. */
static const char *split_uri(struct pg_loc *l, const char *s)
{
    const char *q = strchr(s, '?'), *auth = strstr(s, "://") + 3, *end, *at = NULL, *colon;
    size_t base = q != NULL ? (size_t)(q - s) : strlen(s);
    char *c = l->conninfo, *w = l->where;

    end = auth;
    while (end < s + base && *end != '/')
        end++;
    for (const char *x = auth; x < end; x++)
        if (*x == '@')
            at = x;
    colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    put(&c, s, base);
    if (colon != NULL) {
        put(&w, s, (size_t)(colon - s));
        put(&w, at, (size_t)(s + base - at));
        add_secret(l, l->conninfo + (colon + 1 - s), (size_t)(at - colon - 1));
    } else {
        put(&w, s, base);
    }
    if (q != NULL) {
        int cfirst = 1, wfirst = 1;
        for (const char *p = q + 1; *p != '\0';) {
            const char *amp = strchr(p, '&');
            size_t n = amp != NULL ? (size_t)(amp - p) : strlen(p);
            if (n > 16 && strncmp(p, "command_timeout=", 16) == 0) {
                if ((l->timeout = tp_pg_parse_timeout(p + 16, n - 16)) < 0)
                    return "bad command_timeout (1 to 3600 seconds)";
            } else if (n == 15 && strncmp(p, "command_timeout", 15) == 0) {
                return "bad command_timeout (1 to 3600 seconds)";
            } else if (n > 0) {
                put(&c, cfirst ? "?" : "&", 1);
                if (n >= 9 && strncmp(p, "password=", 9) == 0)
                    add_secret(l, c + 9, n - 9);
                put(&c, p, n);
                cfirst = 0;
                if (!(n >= 9 && strncmp(p, "password=", 9) == 0)) {
                    put(&w, wfirst ? "?" : "&", 1);
                    put(&w, p, n);
                    wfirst = 0;
                }
            }
            p += n + (amp != NULL);
        }
    }
    *c = '\0';
    *w = '\0';
    return NULL;
}

/* A keyword/value string (libpq's syntax: key = value, value '...' with
 * backslash escapes): command_timeout taken out, password= left out of where. */
static const char *split_keywords(struct pg_loc *l, const char *s)
{
    char *c = l->conninfo, *w = l->where;
    const char *p = s;

    put(&w, "postgresql:", 11);
    for (;;) {
        const char *start, *key, *key_end, *val, *val_end;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p == '\0')
            break;
        start = key = p;
        while (*p != '\0' && *p != '=' && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        key_end = p;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=' || key_end == key)
            return "bad location: keyword=value expected";
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        val = p;
        if (*p == '\'') {
            for (p++; *p != '\0' && *p != '\''; p++)
                if (*p == '\\' && p[1] != '\0')
                    p++;
            if (*p != '\'')
                return "bad location: unterminated quoted value";
            p++;
        } else {
            for (; *p != '\0' && *p != ' ' && *p != '\t' && *p != '\n'; p++)
                if (*p == '\\' && p[1] != '\0')
                    p++;
        }
        val_end = p;
        if ((size_t)(key_end - key) == 15 && strncmp(key, "command_timeout", 15) == 0) {
            if ((l->timeout = tp_pg_parse_timeout(val, (size_t)(val_end - val))) < 0)
                return "bad command_timeout (1 to 3600 seconds)";
            continue;
        }
        if (c != l->conninfo)
            put(&c, " ", 1);
        if ((size_t)(key_end - key) == 8 && strncmp(key, "password", 8) == 0) {
            add_secret(l, c + (val - start), (size_t)(val_end - val));
        } else {
            if (w[-1] != ':')
                put(&w, " ", 1);
            put(&w, start, (size_t)(val_end - start));
        }
        put(&c, start, (size_t)(val_end - start));
    }
    *c = '\0';
    *w = '\0';
    return NULL;
}

void tp_pg_loc_free(struct pg_loc *l)
{
    if (l->conninfo != NULL) {
        tp_secret_wipe(l->conninfo, l->size);   /* all of it: a parse may stop half way */
        free(l->conninfo);
    }
    free(l->where);
    memset(l, 0, sizeof *l);
}

/* Fills l from location: NULL, or what is wrong with it (no secret in it). */
const char *tp_pg_loc_parse(struct pg_loc *l, const char *location)
{
    size_t n = strlen(location);

    memset(l, 0, sizeof *l);
    l->timeout = DEFAULT_TIMEOUT;
    if ((l->conninfo = malloc(n + 1)) == NULL || (l->where = malloc(n + 12)) == NULL)
        return "out of memory";
    l->size = n + 1;
    l->conninfo[0] = l->where[0] = '\0';
    if (is_uri(location))
        return split_uri(l, location);
    return split_keywords(l, location + 11);
}

/* 1 if a message holds one of the location's passwords. */
static int holds_secret(const struct pg_loc *l, const char *msg)
{
    for (int i = 0; i < l->nsecret; i++)
        if (memmem(msg, strlen(msg), l->secret[i], l->secret_len[i]) != NULL)
            return 1;
    return 0;
}

/* libpq's message without its trailing newline, or a stand-in if it would
 * show a password. */
void tp_pg_clean_message(const struct pg_loc *l, const char *m, char *buf, size_t n)
{
    if (m == NULL || *m == '\0')
        m = "unknown error";
    if (holds_secret(l, m))
        m = "libpq's message withheld: it quotes the password";
    snprintf(buf, n, "%s", m);
    tp_pg_one_line(buf);
}
