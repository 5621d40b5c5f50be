/*
 * modargs.h - the arguments of a pam.d line, read by a table: every
 * built-in module describes its arguments once, and tp_args_parse fills
 * the module's option struct from argv and logs what it cannot use.
 *
 *   static const struct tp_arg args[] = {
 *       { "deny", TP_ARG_NUMBER, offsetof(struct opts, deny), 0, 65535, 0 },
 *       { "silent", TP_ARG_FLAG, offsetof(struct opts, silent), 0, 0, 0 },
 *   };
 *   static const struct tp_args table = { args, TP_ARGS_COUNT(args),
 *       "faillock: bad number supplied for %.*s argument", TP_ARGS_NAME,
 *       "faillock: unknown option: %.*s" };
 *   tp_args_parse(h, &table, argc, argv, &opts);   (opts holds the defaults)
 */
#ifndef TP_MODARGS_H
#define TP_MODARGS_H
#include <stddef.h>
#include <stdint.h>
#include "trex_pam_module.h"

enum tp_arg_kind {
    TP_ARG_FLAG,        /* "name": the int field becomes 1 */
    TP_ARG_WORD,        /* "name": the int field becomes value (one of several words) */
    TP_ARG_TEXT,        /* "name=text": the const char * field points at text (in argv) */
    TP_ARG_NUMBER,      /* "name=N": decimal digits, min..max, into the int64_t field */
    TP_ARG_SKIP,        /* "name": accepted, no effect */
    TP_ARG_SKIP_VALUE   /* "name=anything": accepted, no effect */
};

#define TP_ARG_NEVER 0x1   /* TP_ARG_NUMBER: "name=never" reads as 0 */

struct tp_arg {
    const char *name;          /* without the '=' */
    enum tp_arg_kind kind;
    size_t offset;             /* of the field in the option struct */
    int64_t min;               /* TP_ARG_NUMBER; TP_ARG_WORD: the value */
    int64_t max;               /* TP_ARG_NUMBER */
    int flags;                 /* TP_ARG_NEVER */
};

#define TP_ARGS_COUNT(a) (sizeof (a) / sizeof (a)[0])
#define TP_ARGS_NAME  1        /* the bad-value line shows the argument's name only */
#define TP_ARGS_WHOLE 0        /* ... the whole argument */

struct tp_args {
    const struct tp_arg *args;
    size_t n;
    /* log formats (LOG_ERR), each with one "%.*s": a value that does not
     * parse (the field keeps its default), and an argument not in the table */
    const char *bad;
    int bad_shows;             /* TP_ARGS_NAME or TP_ARGS_WHOLE */
    const char *unknown;
};

/* Fills opts (which holds the defaults) from argv by the table; logs one
 * line per argument it cannot use. Returns how many it could not use. */
int tp_args_parse(trex_pam_handle_t *h, const struct tp_args *t, int argc, const char **argv,
                  void *opts);

/* The value of the last "name=value" in argv, or NULL; nothing logged
 * (for a module's check, which reads only what it needs). */
const char *tp_args_value(int argc, const char **argv, const char *name);

#endif
