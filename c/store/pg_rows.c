/*
 * pg_rows.c - the columns of a PostgreSQL result into the store's structs:
 * every row the backend reads goes through here, apart from the
 * connection. Results are read through tp_pq only, so the fuzzer
 * (c/fuzz/pg_rows.c) runs these functions over results it makes up. Text
 * format throughout; the shape (the columns) is the statement's (pg_sql.c),
 * the values are whatever the server holds.
 */
#include <stdlib.h>
#include <string.h>
#include "pg.h"
#include "secret.h"

int64_t tp_pg_int(PGresult *r, int row, int col)
{
    if (tp_pq.PQgetisnull(r, row, col))
        return 0;
    return strtoll(tp_pq.PQgetvalue(r, row, col), NULL, 10);
}

char *tp_pg_dup(PGresult *r, int row, int col, int *oom)
{
    char *c;

    if (tp_pq.PQgetisnull(r, row, col))
        return NULL;
    if ((c = strdup(tp_pq.PQgetvalue(r, row, col))) == NULL)
        *oom = 1;
    return c;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* bytea in text results: "\x" and two hex digits a byte (bytea_output = hex). */
int tp_pg_bytes(PGresult *r, int row, int col, unsigned char *out, size_t n)
{
    const char *t;

    if (tp_pq.PQgetisnull(r, row, col))
        return -1;
    t = tp_pq.PQgetvalue(r, row, col);
    if ((size_t)tp_pq.PQgetlength(r, row, col) != 2 + 2 * n || t[0] != '\\' || t[1] != 'x')
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(t[2 + 2 * i]), lo = hexval(t[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

void tp_pg_wipe_col(PGresult *r, int col)
{
    int rows = tp_pq.PQntuples(r);

    for (int i = 0; i < rows; i++)
        if (!tp_pq.PQgetisnull(r, i, col))
            tp_secret_wipe(tp_pq.PQgetvalue(r, i, col), (size_t)tp_pq.PQgetlength(r, i, col));
}

/* ---- users ---------------------------------------------------------------------------- */

#define USER_NCOLS 9             /* the user columns after the name */

/* Reads the user columns starting at column c of row i into u (not the name). */
static int read_user(PGresult *r, int i, int c, struct tp_user *u)
{
    int oom = 0;

    u->hash = tp_pg_dup(r, i, c, &oom);
    if (u->hash == NULL && !oom)
        u->hash = strdup("");         /* NOT NULL in the schema; never NULL for callers */
    u->disabled = tp_pg_int(r, i, c + 1) != 0;
    u->force_change = tp_pg_int(r, i, c + 2) != 0;
    u->expires = tp_pg_int(r, i, c + 3);
    u->pw_changed = tp_pg_int(r, i, c + 4);
    u->pw_min_days = (int)tp_pg_int(r, i, c + 5);
    u->pw_max_days = (int)tp_pg_int(r, i, c + 6);
    u->pw_warn_days = (int)tp_pg_int(r, i, c + 7);
    u->created = tp_pg_int(r, i, c + 8);
    return oom || u->hash == NULL ? -1 : 0;
}

/* Appends the attribute in columns c, c+1 of row i (if not NULL: LEFT JOIN). */
static int read_attr(PGresult *r, int i, int c, struct tp_user *u)
{
    int oom = 0;

    if (tp_pq.PQgetisnull(r, i, c))
        return 0;
    return tp_user_attr_take(u, tp_pg_dup(r, i, c, &oom), tp_pg_dup(r, i, c + 1, &oom));
}

int tp_pg_user_rows(PGresult *r, const char *name, struct tp_user *u)
{
    int rows = tp_pq.PQntuples(r), bad = 0;

    if (rows > 0)
        bad = read_user(r, 0, 0, u) != 0 || (u->name = strdup(name)) == NULL;
    for (int i = 0; !bad && i < rows; i++)
        bad = read_attr(r, i, USER_NCOLS, u) != 0;
    tp_pg_wipe_col(r, 0);
    if (bad) {
        tp_user_clear(u);
        return -1;
    }
    return rows > 0;
}

int tp_pg_user_list_rows(PGresult *r, struct tp_user_vec *uv)
{
    struct tp_user *u = NULL;
    int rows = tp_pq.PQntuples(r), bad = 0, oom = 0;

    for (int i = 0; !bad && i < rows; i++) {
        const char *name = tp_pq.PQgetvalue(r, i, 0);
        if (u == NULL || strcmp(u->name, name) != 0) {
            if ((u = tp_user_vec_add(uv)) == NULL) {
                bad = 1;
                break;
            }
            if ((u->name = tp_pg_dup(r, i, 0, &oom)) == NULL || read_user(r, i, 1, u) != 0) {
                bad = 1;
                break;
            }
        }
        bad = read_attr(r, i, 1 + USER_NCOLS, u) != 0;
    }
    tp_pg_wipe_col(r, 1);
    if (bad) {
        tp_user_vec_clear(uv);
        return -1;
    }
    return 0;
}

/* ---- sessions ------------------------------------------------------------------------- */

/* Reads row i: columns c.. (digest, user, created, last_used, rhost) or,
 * with digest given, c.. (user, created, last_used, rhost). */
static int read_session(PGresult *r, int i, int c, const unsigned char *digest,
                        struct tp_session *x)
{
    int oom = 0;

    if (digest == NULL) {
        if (tp_pg_bytes(r, i, c, x->digest, TP_SESSION_DIGEST_LEN) != 0)
            return -1;
        c++;
    } else {
        memcpy(x->digest, digest, TP_SESSION_DIGEST_LEN);
    }
    x->user = tp_pg_dup(r, i, c, &oom);
    x->created = tp_pg_int(r, i, c + 1);
    x->last_used = tp_pg_int(r, i, c + 2);
    x->rhost = tp_pg_dup(r, i, c + 3, &oom);
    return oom || x->user == NULL ? -1 : 0;
}

int tp_pg_session_rows(PGresult *r, const unsigned char *digest, struct tp_session *x)
{
    if (tp_pq.PQntuples(r) == 0)
        return 0;
    if (read_session(r, 0, 0, digest, x) != 0) {
        tp_session_clear(x);
        return -1;
    }
    return 1;
}

int tp_pg_session_list_rows(PGresult *r, struct tp_session_vec *sv)
{
    int rows = tp_pq.PQntuples(r), bad = 0;

    for (int i = 0; !bad && i < rows; i++) {
        struct tp_session *x = tp_session_vec_add(sv);
        bad = x == NULL || read_session(r, i, 0, NULL, x) != 0;
    }
    if (bad) {
        tp_session_vec_clear(sv);
        return -1;
    }
    return 0;
}

/* ---- failures ------------------------------------------------------------------------- */

int tp_pg_fail_list_rows(PGresult *r, struct tp_fail_rows *rows)
{
    int n = tp_pq.PQntuples(r);

    for (int i = 0; i < n; i++)
        if (tp_fail_rows_add(rows, tp_pq.PQgetvalue(r, i, 0), (size_t)tp_pq.PQgetlength(r, i, 0),
                             tp_pg_int(r, i, 1)) != 0)
            return -1;
    return 0;
}
