/*
 * pg_rows.c - fuzzes the PostgreSQL store's reading of results
 * (store/pg_rows.c): a user with its attributes, the list of users,
 * sessions (one, the list), failures. The results are made up here and
 * read through the same function table as libpq's, filled with this
 * file's accessors, which keep libpq's promises: a value is NUL-terminated
 * text of PQgetlength bytes, SQL NULL reads as "" with PQgetisnull set.
 * The columns are the statement's (the server runs our SQL); rows and
 * values are the input's.
 *
 * Input: the statement, the number of rows, then per value a kind (NULL,
 * text, a bytea's hex) and its bytes.
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "pg.h"

struct pg_result {
    int rows, cols;
    char **v;                             /* rows * cols values */
    unsigned char *null;
};

static int ntuples(const PGresult *r)
{
    return r->rows;
}

static int in_range(const PGresult *r, int row, int col)
{
    return row >= 0 && row < r->rows && col >= 0 && col < r->cols;
}

static char *getvalue(const PGresult *r, int row, int col)
{
    return in_range(r, row, col) ? r->v[row * r->cols + col] : NULL;
}

static int getisnull(const PGresult *r, int row, int col)
{
    return in_range(r, row, col) ? r->null[row * r->cols + col] : 1;
}

static int getlength(const PGresult *r, int row, int col)
{
    return in_range(r, row, col) ? (int)strlen(r->v[row * r->cols + col]) : 0;
}

static char *value(struct fuzz_in *in, unsigned char *null)
{
    unsigned int kind = fuzz_byte(in);
    char *s;

    *null = 0;
    switch (kind % 4) {
    case 0:
        *null = 1;
        return strdup("");
    case 1: {                             /* a bytea of a digest, hex digits from the input */
        static const char hex[] = "0123456789abcdefABCDEFxg";
        size_t n = kind & 4 ? 64 : fuzz_byte(in) % 70;
        if ((s = malloc(2 + n + 1)) == NULL)
            return NULL;
        s[0] = '\\';
        s[1] = 'x';
        for (size_t i = 0; i < n; i++)
            s[2 + i] = hex[fuzz_byte(in) % (kind & 8 ? 16 : sizeof hex - 1)];
        s[2 + n] = '\0';
        return s;
    }
    default:
        return fuzz_str(in, 40);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int ncols[5] = { 11, 12, 4, 5, 2 };
    struct fuzz_in in = { data, size };
    unsigned int which = fuzz_byte(&in) % 5;
    struct pg_result r = { (int)(fuzz_byte(&in) % 8), ncols[which], NULL, NULL };
    size_t n = (size_t)r.rows * (size_t)r.cols;
    static const unsigned char given[TP_SESSION_DIGEST_LEN] = "a digest the caller knows......";

    tp_pq.PQntuples = ntuples;
    tp_pq.PQgetvalue = getvalue;
    tp_pq.PQgetisnull = getisnull;
    tp_pq.PQgetlength = getlength;
    if ((r.v = calloc(n ? n : 1, sizeof *r.v)) == NULL || (r.null = calloc(n ? n : 1, 1)) == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((r.v[i] = value(&in, &r.null[i])) == NULL)
            abort();

    switch (which) {
    case 0: {
        struct tp_user u;
        memset(&u, 0, sizeof u);
        int got = tp_pg_user_rows(&r, "alice", &u);
        if (got != (r.rows > 0) && got != -1)
            abort();
        if (got == 1 && (u.hash == NULL || strcmp(u.name, "alice") != 0))
            abort();                      /* the hash is never NULL for callers */
        tp_user_clear(&u);
        break;
    }
    case 1: {
        struct tp_user_vec uv;
        memset(&uv, 0, sizeof uv);
        if (tp_pg_user_list_rows(&r, &uv) == 0)
            for (size_t i = 0; i < uv.n; i++)
                if (uv.v[i].name == NULL || uv.v[i].hash == NULL)
                    abort();
        tp_user_vec_clear(&uv);
        break;
    }
    case 2: {
        struct tp_session x;
        memset(&x, 0, sizeof x);
        if (tp_pg_session_rows(&r, given, &x) == 1
            && (x.user == NULL || memcmp(x.digest, given, sizeof given) != 0))
            abort();
        tp_session_clear(&x);
        break;
    }
    case 3: {
        struct tp_session_vec sv;
        memset(&sv, 0, sizeof sv);
        (void)tp_pg_session_list_rows(&r, &sv);
        tp_session_vec_clear(&sv);
        break;
    }
    default: {
        struct tp_fail_rows rows;
        memset(&rows, 0, sizeof rows);
        (void)tp_pg_fail_list_rows(&r, &rows);
        for (size_t i = 0; i < rows.n; i++)
            free(rows.v[i].user);
        free(rows.v);
        break;
    }
    }
    for (size_t i = 0; i < n; i++)
        free(r.v[i]);
    free(r.v);
    free(r.null);
    return 0;
}
