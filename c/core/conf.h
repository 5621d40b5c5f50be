/*
 * conf.h - the parts of the configuration reader (private to c/core/):
 *   syntax.c  pam.d syntax: logical lines, tokens, the control grammar
 *   files.c   reading a file and remembering it, to tell later whether a
 *             cached configuration still matches the disk
 *   load.c    modules: by the registry, by the resolver, or from a shared
 *             object; the function table external modules receive
 *   parse.c   service files into stacks: lines, includes and substacks,
 *             "other", the registry's default stack
 *   cache.c   configurations: read, shared through the application's cache,
 *             checked again, freed
 * (OpenPAM splits openpam_configure.c and openpam_load.c the same way.)
 */
#ifndef TP_CONF_H
#define TP_CONF_H

#include <sys/stat.h>
#include "impl.h"

#define TP_ACT_UNDEF (-6)                 /* a control slot nothing has set yet */
#define TP_TYPE_ANY  (-1)                 /* a service file: every type is wanted */

/* ---- syntax.c ---------------------------------------------------------------- */
struct tp_source {
    const char *p, *end;                  /* the rest of the input */
    int lineno;                           /* physical lines consumed */
};

struct tp_assembly {
    char *s;                              /* the logical line; NULL if nothing yet */
    size_t len, size;
    char *chunk;                          /* the current physical line, NUL-terminated */
    size_t chunk_size;
    int first;                            /* physical line where s began */
};

/* The next logical line into a->s (starting at physical line a->first):
 * 1; 0 at the end of input; -1 when the input ends inside a continued
 * line; -2 when out of memory. */
int tp_syntax_line(struct tp_source *in, struct tp_assembly *a);
void tp_syntax_line_free(struct tp_assembly *a);
/* The next token of *next (which it cuts in place), or NULL; *bracketed
 * says whether it was written "[...]". */
char *tp_syntax_token(char **next, int *bracketed);
/* A bracketed control into actions (slots it does not name keep their
 * value): 0, or -1 with *why and *where (every slot then bad). */
int tp_syntax_control(const char *tok, int actions[TREX_PAM_RETURN_VALUES], const char **why,
                      const char **where);
/* Slots still TP_ACT_UNDEF get act. */
void tp_syntax_fill(int actions[TREX_PAM_RETURN_VALUES], int act);

/* ---- files.c ----------------------------------------------------------------- */
/* Remember that path was read (st non-NULL) or not found (err): 0 or ENOMEM. */
int tp_files_note(struct tp_conf *c, const char *path, const struct stat *st, int err);
/* The whole file at path, noted in c: 0 or an errno value (ENODEV: not a
 * regular file: a FIFO or a device, which would block or never end). */
int tp_files_read(struct tp_conf *c, const char *path, char **buf, size_t *len);
/* After reading: when c was checked, and whether a file is too new to trust. */
void tp_files_checked(struct tp_conf *c);
/* 1 if every file noted in c is as it was when read. */
int tp_files_unchanged(const struct tp_conf *c);
void tp_files_free(struct tp_conf *c);
long long tp_files_ns(const struct timespec *t);

/* ---- load.c ------------------------------------------------------------------ */
/* The module of that exact name, loaded once per configuration c (with its
 * instance); NULL when out of memory. A module that cannot be loaded gets
 * a reference with mod NULL (logged unless silent, as file:line). */
struct tp_modref *tp_load_module(trex_pam_handle_t *h, struct tp_conf *c, const char *name,
                                 int silent, const char *file, int line);
/* Releases every instance, closes every shared object, frees the list. */
void tp_load_free(struct tp_modref *list);

/* ---- parse.c ----------------------------------------------------------------- */
/* Reads the stacks of service into c (files as noted by files.c). */
int tp_parse_service(trex_pam_handle_t *h, const char *service, struct tp_conf *c);
void tp_parse_free(struct tp_conf *c);    /* the stacks */

#endif /* TP_CONF_H */
