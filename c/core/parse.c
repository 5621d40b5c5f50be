/*
 * parse.c - service files into stacks, following upstream Linux-PAM >=
 * 1.6.1's _pam_parse_conf_file step by step: a line's type, control and
 * module, includes and substacks, the per-type fallback to "other", and
 * broken lines as must-fail entries. Where Linux-PAM does something unsafe
 * we deliberately do the sane thing instead: a jump that overflows, an
 * include nested too deep (a loop), a missing include target. When the
 * compiled-in configuration directory does not exist, the registry's
 * default stack applies.
 *
 * Every configuration problem is logged once as "file:line: reason".
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/stat.h>
#include "conf.h"

/* Includes and substacks one configuration may read in all. The depth
 * limit alone stops a loop, but not a file that includes itself twice: that
 * reads 2^15 files, and three times never ends. */
#define MAX_INCLUDES 256

struct parser {
    trex_pam_handle_t *h;
    struct tp_conf *conf;            /* owns the modules every line refers to */
    int includes;                    /* read so far */
};

static void stack_free(struct tp_stack *st)
{
    for (size_t i = 0; i < st->n; i++) {
        struct tp_entry *e = &st->e[i];
        if (e->argv != NULL)
            for (int a = 0; a < e->argc; a++)
                free(e->argv[a]);
        free(e->argv);
        free(e->file);
    }
    free(st->e);
    memset(st, 0, sizeof *st);
}

/* Whether Linux-PAM accepts the name of a module or substack (its
 * extract_modulename): without directories and extension, not empty, not "?". */
static int module_name_ok(const char *path)
{
    const char *base = strrchr(path, '/'), *dot;
    size_t n;
    base = base != NULL ? base + 1 : path;
    dot = strrchr(base, '.');
    n = dot != NULL ? (size_t)(dot - base) : strlen(base);
    return !(n == 0 || (n == 1 && base[0] == '?'));
}

/* ---- entries -------------------------------------------------------------------- */

static int add_entry(struct parser *ps, struct tp_stack *stacks, const char *file, int line,
                     enum tp_entry_kind kind, int silent, int depth, int type,
                     const int actions[TREX_PAM_RETURN_VALUES], const char *mod_path,
                     char *args)
{
    struct tp_stack *st = &stacks[type];
    struct tp_entry *e;
    struct tp_modref *ref = NULL;
    char **tok = NULL, **argv = NULL, *t;
    size_t ntok = 0, captok = 0;
    int br, rc = TREX_PAM_BUF_ERR;

    if (kind == TP_ENTRY_MODULE && mod_path != NULL &&
        (ref = tp_load_module(ps->h, ps->conf, mod_path, silent, file, line)) == NULL)
        return TREX_PAM_BUF_ERR;

    /* the arguments: the rest of the line, bracketed tokens as for the control */
    while ((t = tp_syntax_token(&args, &br)) != NULL) {
        if (ntok == captok) {
            size_t cap = captok ? captok * 2 : 8;
            char **p;
            if (ntok >= INT_MAX - 1 || (p = realloc(tok, cap * sizeof *p)) == NULL)
                goto out;
            tok = p;
            captok = cap;
        }
        tok[ntok++] = t;
    }
    if ((argv = calloc(ntok + 1, sizeof *argv)) == NULL)
        goto out;
    for (size_t i = 0; i < ntok; i++)
        if ((argv[i] = strdup(tok[i])) == NULL)
            goto out;

    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        struct tp_entry *p = realloc(st->e, cap * sizeof *p);
        if (p == NULL)
            goto out;
        st->e = p;
        st->cap = cap;
    }
    e = &st->e[st->n];
    memset(e, 0, sizeof *e);
    if ((e->file = strdup(file)) == NULL)
        goto out;
    e->kind = kind;
    e->depth = depth;
    memcpy(e->actions, actions, sizeof e->actions);
    tp_syntax_fill(e->actions, TP_ACT_BAD);
    e->ref = ref;
    e->argc = (int)ntok;
    e->argv = argv;
    e->line = line;
    e->silent_missing = silent;
    st->n++;
    argv = NULL;
    rc = TREX_PAM_SUCCESS;
    /* Linux-PAM installs the entry, then gives up on the whole file when the
     * module's name (no directories, no extension) is empty or "?". */
    if (mod_path != NULL && !module_name_ok(mod_path)) {
        tp_log(ps->h, LOG_ERR, "%s:%d: invalid module name \"%.200s\"", file, line, mod_path);
        rc = TREX_PAM_ABORT;
    }
out:
    if (argv != NULL) {
        for (size_t i = 0; i < ntok; i++)
            free(argv[i]);
        free(argv);
    }
    free(tok);
    return rc;
}

/* ---- files ---------------------------------------------------------------------- */

static int parse_buffer(struct parser *ps, struct tp_stack *stacks, const char *name,
                        const char *buf, size_t len, int req, int ilevel, int slevel);

static int type_by_name(const char *tok)
{
    if (strcasecmp(tok, "auth") == 0)
        return TP_AUTH;
    if (strcasecmp(tok, "account") == 0)
        return TP_ACCOUNT;
    if (strcasecmp(tok, "session") == 0)
        return TP_SESSION;
    if (strcasecmp(tok, "password") == 0)
        return TP_PASSWORD;
    return -1;
}

/* Why tp_files_read failed, for the log. */
static const char *read_error(int err)
{
    return err == ENODEV ? "not a regular file" : strerror(err);
}

static char *conf_path(const trex_pam_handle_t *h, const char *name)
{
    char *p;
    if (name[0] == '/')
        return strdup(name);
    if (asprintf(&p, "%s/%s", h->confdir, name) < 0)
        return NULL;
    return p;
}

/* An include or substack target. SUCCESS, ABORT (the caller installs a
 * must-fail entry) or BUF_ERR. */
static int load_include(struct parser *ps, struct tp_stack *stacks, const char *file, int line,
                        const char *target, int type, int ilevel, int slevel)
{
    char *path, *buf;
    size_t len;
    int err, rc;

    if (ilevel >= TP_MAX_DEPTH) {
        tp_log(ps->h, LOG_ERR, "%s:%d: more than %d levels of include/substack (a loop?)",
               file, line, TP_MAX_DEPTH - 1);
        return TREX_PAM_ABORT;
    }
    if (target == NULL) {
        tp_log(ps->h, LOG_ERR, "%s:%d: include/substack without a file name", file, line);
        return TREX_PAM_ABORT;
    }
    if (ps->includes >= MAX_INCLUDES) {
        tp_log(ps->h, LOG_ERR, "%s:%d: more than %d includes and substacks in all (a loop?)",
               file, line, MAX_INCLUDES);
        return TREX_PAM_ABORT;
    }
    ps->includes++;
    if ((path = conf_path(ps->h, target)) == NULL)
        return TREX_PAM_BUF_ERR;
    err = tp_files_read(ps->conf, path, &buf, &len);
    free(path);
    if (err == ENOMEM)
        return TREX_PAM_BUF_ERR;
    if (err != 0) {
        tp_log(ps->h, LOG_ERR, "%s:%d: cannot include \"%.200s\": %s", file, line, target,
               read_error(err));
        return TREX_PAM_ABORT;
    }
    rc = parse_buffer(ps, stacks, target, buf, len, type, ilevel, slevel);
    free(buf);
    return rc;
}

/* One logical line (_pam_parse_conf_file's loop body). */
static int parse_line(struct parser *ps, struct tp_stack *stacks, const char *file, int line,
                      char *buf, int req, int ilevel, int slevel)
{
    enum tp_entry_kind kind = TP_ENTRY_MODULE;
    int actions[TREX_PAM_RETURN_VALUES];
    int type, silent = 0, include = 0, substack = 0, no_control = 0, br, rc;
    char *next = buf, *tok;
    const char *mod_path;

    tok = tp_syntax_token(&next, &br);
    if (tok == NULL) {
        tp_log(ps->h, LOG_ERR, "%s:%d: empty module type", file, line);
        type = req != TP_TYPE_ANY ? req : TP_AUTH;          /* the most sensitive */
        kind = TP_ENTRY_MUSTFAIL;
    } else {
        if (tok[0] == '-') {                             /* no log if the module is missing */
            silent = 1;
            tok++;
        }
        if ((type = type_by_name(tok)) < 0) {
            tp_log(ps->h, LOG_ERR, "%s:%d: illegal module type \"%.100s\"", file, line, tok);
            type = req != TP_TYPE_ANY ? req : TP_AUTH;
            kind = TP_ENTRY_MUSTFAIL;
        }
    }
    if (req != TP_TYPE_ANY && type != req)
        return TREX_PAM_SUCCESS;                         /* included file: other types */

    for (int i = 0; i < TREX_PAM_RETURN_VALUES; i++)
        actions[i] = TP_ACT_UNDEF;
    tok = tp_syntax_token(&next, &br);
    if (tok == NULL) {
        tp_log(ps->h, LOG_ERR, "%s:%d: no control flag", file, line);
        no_control = 1;
        tp_syntax_fill(actions, TP_ACT_BAD);
        kind = TP_ENTRY_MUSTFAIL;
    } else if (strcasecmp(tok, "required") == 0) {
        actions[TREX_PAM_SUCCESS] = TP_ACT_OK;
        actions[TREX_PAM_NEW_AUTHTOK_REQD] = TP_ACT_OK;
        actions[TREX_PAM_IGNORE] = TP_ACT_IGNORE;
        tp_syntax_fill(actions, TP_ACT_BAD);
    } else if (strcasecmp(tok, "requisite") == 0) {
        actions[TREX_PAM_SUCCESS] = TP_ACT_OK;
        actions[TREX_PAM_NEW_AUTHTOK_REQD] = TP_ACT_OK;
        actions[TREX_PAM_IGNORE] = TP_ACT_IGNORE;
        tp_syntax_fill(actions, TP_ACT_DIE);
    } else if (strcasecmp(tok, "optional") == 0) {
        actions[TREX_PAM_SUCCESS] = TP_ACT_OK;
        actions[TREX_PAM_NEW_AUTHTOK_REQD] = TP_ACT_OK;
        tp_syntax_fill(actions, TP_ACT_IGNORE);
    } else if (strcasecmp(tok, "sufficient") == 0) {
        actions[TREX_PAM_SUCCESS] = TP_ACT_DONE;
        actions[TREX_PAM_NEW_AUTHTOK_REQD] = TP_ACT_DONE;
        tp_syntax_fill(actions, TP_ACT_IGNORE);
    } else if (strcasecmp(tok, "include") == 0) {
        include = 1;
    } else if (strcasecmp(tok, "substack") == 0) {
        include = substack = 1;
    } else {
        const char *why = NULL, *where = NULL;
        if (tp_syntax_control(tok, actions, &why, &where) != 0) {
            if (br)
                tp_log(ps->h, LOG_ERR, "%s:%d: bad control \"[%.200s]\": %s at \"%.40s\"",
                       file, line, tok, why, where);
            else
                tp_log(ps->h, LOG_ERR, "%s:%d: unknown control \"%.200s\"", file, line, tok);
        }
        tp_syntax_fill(actions, TP_ACT_BAD);
    }

    tok = tp_syntax_token(&next, &br);
    if (include) {
        if (substack) {
            rc = add_entry(ps, stacks, file, line, TP_ENTRY_SUBSTACK, 0, slevel, type, actions,
                           tok, NULL);
            if (rc != TREX_PAM_SUCCESS)
                return rc;
        }
        rc = load_include(ps, stacks, file, line, tok, type, ilevel + 1, slevel + substack);
        if (rc != TREX_PAM_ABORT)
            return rc;                                   /* SUCCESS or BUF_ERR */
        tp_syntax_fill(actions, TP_ACT_BAD);
        mod_path = NULL;
        kind = TP_ENTRY_MUSTFAIL;
        next = NULL;
    } else if (tok != NULL) {
        mod_path = tok;
    } else {
        if (!no_control)                                 /* one problem, one log line */
            tp_log(ps->h, LOG_ERR, "%s:%d: no module name", file, line);
        mod_path = NULL;
        kind = TP_ENTRY_MUSTFAIL;
    }
    return add_entry(ps, stacks, file, line, kind, silent, slevel, type, actions, mod_path, next);
}

static int parse_buffer(struct parser *ps, struct tp_stack *stacks, const char *name,
                        const char *buf, size_t len, int req, int ilevel, int slevel)
{
    struct tp_source in = { buf, buf + len, 0 };
    struct tp_assembly a = { 0 };
    int x, rc = TREX_PAM_SUCCESS;

    while ((x = tp_syntax_line(&in, &a)) == 1) {
        rc = parse_line(ps, stacks, name, a.first, a.s, req, ilevel, slevel);
        if (rc != TREX_PAM_SUCCESS)
            break;
    }
    if (rc == TREX_PAM_SUCCESS && x == -1) {
        tp_log(ps->h, LOG_ERR, "%s:%d: the file ends inside a continued line", name, in.lineno);
        rc = TREX_PAM_ABORT;
    } else if (rc == TREX_PAM_SUCCESS && x == -2) {
        rc = TREX_PAM_BUF_ERR;
    }
    tp_syntax_line_free(&a);
    return rc;
}

/* confdir/<name> (or name itself when absolute) as a service file. */
static int load_top(struct parser *ps, struct tp_stack *stacks, const char *name, int *missing)
{
    char *path, *buf;
    size_t len;
    int err, rc;

    *missing = 0;
    if ((path = conf_path(ps->h, name)) == NULL)
        return TREX_PAM_BUF_ERR;
    err = tp_files_read(ps->conf, path, &buf, &len);
    if (err == ENOENT || err == ENOTDIR) {
        free(path);
        *missing = 1;
        return TREX_PAM_SUCCESS;
    }
    if (err != 0) {
        if (err != ENOMEM)
            tp_log(ps->h, LOG_ERR, "%.300s: cannot read: %s", path, read_error(err));
        free(path);
        return err == ENOMEM ? TREX_PAM_BUF_ERR : TREX_PAM_ABORT;
    }
    free(path);
    rc = parse_buffer(ps, stacks, name, buf, len, TP_TYPE_ANY, 0, 0);
    free(buf);
    return rc;
}

int tp_conf_parse_text(trex_pam_handle_t *h, struct tp_conf *c, const char *text,
                       const char *name)
{
    struct parser ps = { h, c, 0 };
    if (h == NULL || c == NULL || text == NULL)
        return TREX_PAM_SYSTEM_ERR;
    return parse_buffer(&ps, c->stack, name != NULL ? name : "(text)", text, strlen(text),
                        TP_TYPE_ANY, 0, 0);
}

/* Whether the configuration directory is the compiled default and absent:
 * then the registry's default stack applies (if it has one). The directory's absence is
 * recorded, so a cached default is dropped once the directory appears.
 * SUCCESS (*builtin set), ABORT (an unusable directory) or BUF_ERR. */
static int check_confdir(trex_pam_handle_t *h, struct tp_conf *c, int *builtin)
{
    struct stat st;

    *builtin = 0;
    if (stat(h->confdir, &st) == 0 && S_ISDIR(st.st_mode))
        return TREX_PAM_SUCCESS;
    if (!h->confdir_explicit && errno == ENOENT && h->registry != NULL &&
        h->registry->default_stack != NULL) {
        *builtin = 1;
        return tp_files_note(c, h->confdir, NULL, ENOENT) == 0 ? TREX_PAM_SUCCESS : TREX_PAM_BUF_ERR;
    }
    tp_log(h, LOG_ERR, "%s: cannot use as configuration directory: %s", h->confdir,
           errno != 0 ? strerror(errno) : "not a directory");
    return TREX_PAM_ABORT;
}

int tp_parse_service(trex_pam_handle_t *h, const char *service, struct tp_conf *c)
{
    struct tp_stack svc[TP_NTYPES], oth[TP_NTYPES];
    struct parser ps = { h, c, 0 };
    int rc, builtin, svc_missing = 0, oth_missing = 0;

    if ((rc = check_confdir(h, c, &builtin)) != TREX_PAM_SUCCESS)
        return rc;
    if (builtin) {
        const struct trex_pam_registry *r = h->registry;
        c->builtin = 1;
        return parse_buffer(&ps, c->stack, r->default_name ? r->default_name : "(default stack)",
                            r->default_stack, strlen(r->default_stack), TP_TYPE_ANY, 0, 0);
    }

    memset(svc, 0, sizeof svc);
    memset(oth, 0, sizeof oth);
    /* Linux-PAM files the lines of a service called "other" as "other" lines
     * and then reads "other" again: every line of it is there twice. */
    rc = load_top(&ps, strcasecmp(service, "other") == 0 ? oth : svc, service, &svc_missing);
    if (rc == TREX_PAM_SUCCESS)
        rc = load_top(&ps, oth, "other", &oth_missing);
    if (rc == TREX_PAM_SUCCESS && svc_missing && oth_missing) {
        tp_log(h, LOG_ERR, "%s: no configuration for service \"%.200s\" and no \"other\"",
               h->confdir, service);
        rc = TREX_PAM_ABORT;
    }
    for (int t = 0; t < TP_NTYPES; t++) {
        if (rc != TREX_PAM_SUCCESS) {
            stack_free(&svc[t]);
            stack_free(&oth[t]);
        } else if (svc[t].n > 0) {                       /* per type: service, else other */
            c->stack[t] = svc[t];
            stack_free(&oth[t]);
        } else {
            c->stack[t] = oth[t];
            stack_free(&svc[t]);
        }
    }
    return rc;
}

void tp_parse_free(struct tp_conf *c)
{
    for (int t = 0; t < TP_NTYPES; t++)
        stack_free(&c->stack[t]);
}
