/* modargs.c - see modargs.h. */
#include <string.h>
#include <syslog.h>
#include "modargs.h"

#define SHOWN_MAX 200              /* bytes of an argument a log line shows */

/* A decimal number min..max, digits only (no sign, no blanks): 0 and *out
 * set, or -1 leaving *out alone. */
static int number(const char *v, int64_t min, int64_t max, int64_t *out)
{
    int64_t n = 0;

    if (*v == '\0')
        return -1;
    for (; *v != '\0'; v++) {
        int d = *v - '0';
        if (d < 0 || d > 9 || n > max / 10 || n * 10 > max - d)
            return -1;
        n = n * 10 + d;
    }
    if (n < min)
        return -1;
    *out = n;
    return 0;
}

/* The value of a for an argument named name taking a value ("name=..."),
 * or NULL. */
static const char *value_of(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && a[n] == '=' ? a + n + 1 : NULL;
}

static int shown(const char *s)
{
    size_t n = strlen(s);
    return (int)(n < SHOWN_MAX ? n : SHOWN_MAX);
}

/* One argument by its table entry: 1 used, 0 not this entry, -1 a bad value. */
static int take(const struct tp_arg *d, const char *a, char *opts)
{
    const char *v;
    int64_t n;

    switch (d->kind) {
    case TP_ARG_FLAG:
    case TP_ARG_WORD:
    case TP_ARG_SKIP:
        if (strcmp(a, d->name) != 0)
            return 0;
        if (d->kind != TP_ARG_SKIP) {
            int x = d->kind == TP_ARG_FLAG ? 1 : (int)d->min;
            memcpy(opts + d->offset, &x, sizeof x);
        }
        return 1;
    case TP_ARG_TEXT:
        if ((v = value_of(a, d->name)) == NULL)
            return 0;
        memcpy(opts + d->offset, &v, sizeof v);
        return 1;
    case TP_ARG_NUMBER:
        if ((v = value_of(a, d->name)) == NULL)
            return 0;
        if ((d->flags & TP_ARG_NEVER) && strcmp(v, "never") == 0)
            n = 0;
        else if (number(v, d->min, d->max, &n) != 0)
            return -1;
        memcpy(opts + d->offset, &n, sizeof n);
        return 1;
    case TP_ARG_SKIP_VALUE:
        return value_of(a, d->name) != NULL;
    }
    return 0;
}

int tp_args_parse(trex_pam_handle_t *h, const struct tp_args *t, int argc, const char **argv,
                  void *opts)
{
    int problems = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int r = 0;

        if (a == NULL)
            continue;
        for (size_t k = 0; k < t->n && r == 0; k++) {
            r = take(&t->args[k], a, opts);
            if (r < 0) {
                int len = t->bad_shows == TP_ARGS_NAME ? (int)strlen(t->args[k].name) : shown(a);
                trex_pam_log(h, LOG_ERR, t->bad, len, a);
            }
        }
        if (r == 0)
            trex_pam_log(h, LOG_ERR, t->unknown, shown(a), a);
        problems += r != 1;
    }
    return problems;
}

const char *tp_args_value(int argc, const char **argv, const char *name)
{
    const char *v = NULL, *x;

    for (int i = 0; i < argc; i++)
        if (argv[i] != NULL && (x = value_of(argv[i], name)) != NULL)
            v = x;
    return v;
}
