/*
 * conf.c - the pam.d parser and module loading (PAM-SEMANTICS.md section 2).
 *
 * The line assembly, the tokenizer and the control grammar follow upstream
 * Linux-PAM >= 1.6.1 (pam_line.c, _pam_tokenize, _pam_parse_control and
 * _pam_parse_conf_file) step by step, so that odd files behave as they do
 * there; the sections of PAM-SEMANTICS.md 9 say where we deliberately do the
 * sane thing instead (jump overflow, include depth, missing include target).
 *
 * Every configuration problem is logged once as "file:line: reason".
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "impl.h"

#define ACT_UNDEF   (-6)         /* a slot nothing has set yet */
#define TYPE_ANY    (-1)         /* a service file: every type is wanted */
#define DELIMITERS  " \n\t"      /* CR is not a separator (PAM-SEMANTICS 2.2) */
#define DEFAULT_IDX TREX_PAM_RETURN_VALUES

/*
 * The stack used when no configuration directory exists at all (DESIGN.md
 * section 3): faillock, then a session ID or a password (userdb) on the
 * embedded store ($TREX_PAM_DB or its default path), userdb's account and
 * password rules, session IDs. The same text ships as examples/pam.d/default;
 * t/36-default-stack.t keeps the two equal.
 */
static const char default_stack[] =
    "auth     requisite                                faillock preauth\n"
    "auth     [success=done ignore=ignore default=die] session\n"
    "auth     [success=1 default=bad]                  userdb\n"
    "auth     [default=die]                            faillock authfail\n"
    "auth     sufficient                               faillock authsucc\n"
    "auth     required                                 deny\n"
    "account  required                                 userdb\n"
    "password requisite                                userdb\n"
    "password optional                                 session revoke_on_change\n"
    "session  required                                 session\n";

static const char *const action_names[] = { "ignore", "ok", "done", "bad", "die", "reset" };

struct parser {
    trex_pam_handle_t *h;
    struct tp_conf *conf;            /* owns the modules every line refers to */
};

/* ---- small helpers ----------------------------------------------------------- */

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static void fill_undef(int actions[TREX_PAM_RETURN_VALUES], int act)
{
    for (int i = 0; i < TREX_PAM_RETURN_VALUES; i++)
        if (actions[i] == ACT_UNDEF)
            actions[i] = act;
}

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

/* Whole file into memory. 0 or an errno value. */
/* Remember that path was read (st non-NULL) or not found (err), so that a
 * cached configuration can be checked against the disk. 0 or ENOMEM. */
static int add_dep(struct tp_conf *c, const char *path, const struct stat *st, int err)
{
    struct tp_dep *d;
    if (c == NULL)
        return 0;
    if ((d = calloc(1, sizeof *d)) == NULL || (d->path = strdup(path)) == NULL) {
        free(d);
        return ENOMEM;
    }
    d->err = err;
    if (st != NULL) {
        d->dev = st->st_dev;
        d->ino = st->st_ino;
        d->size = st->st_size;
        d->mtim = st->st_mtim;
        d->ctim = st->st_ctim;
    }
    d->next = c->deps;
    c->deps = d;
    return 0;
}

#define TP_DEFAULT_RECHECK_USEC 1000L
#define TP_RACY_NSEC (20L * 1000000L)   /* file times tick in jiffies, not ns */

static long long ns_of(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* After reading: when was it checked, and can its stat data be trusted? A
 * file whose ctime is within TP_RACY_NSEC of now may change again with the
 * same stat data (the "racily clean" problem git's index has). */
static void mark_checked(struct tp_conf *c)
{
    struct timespec real;
    long long now;

    clock_gettime(CLOCK_MONOTONIC, &c->checked);
    clock_gettime(CLOCK_REALTIME, &real);
    now = ns_of(&real);
    c->racy = 0;
    for (const struct tp_dep *d = c->deps; d != NULL; d = d->next)
        if (d->err == 0 && (now - ns_of(&d->ctim) < TP_RACY_NSEC ||
                            now - ns_of(&d->mtim) < TP_RACY_NSEC))
            c->racy = 1;
}

/* Whether every file is as it was when c was read. */
static int deps_unchanged(const struct tp_conf *c)
{
    for (const struct tp_dep *d = c->deps; d != NULL; d = d->next) {
        struct stat st;
        if (stat(d->path, &st) != 0) {
            if (d->err == 0 || errno != d->err)
                return 0;
        } else if (d->err != 0 || st.st_dev != d->dev || st.st_ino != d->ino ||
                   st.st_size != d->size ||
                   st.st_mtim.tv_sec != d->mtim.tv_sec || st.st_mtim.tv_nsec != d->mtim.tv_nsec ||
                   st.st_ctim.tv_sec != d->ctim.tv_sec || st.st_ctim.tv_nsec != d->ctim.tv_nsec) {
            return 0;
        }
    }
    return 1;
}

/* The whole file at path, recorded in c's dependencies. 0 or an errno. */
static int read_file(struct tp_conf *c, const char *path, char **buf, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *b, *nb;
    int fd, err = 0;
    struct stat st;

    *buf = NULL;
    *len = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        err = errno;
        if ((err == ENOENT || err == ENOTDIR) && add_dep(c, path, NULL, err) != 0)
            return ENOMEM;
        return err;
    }
    /* stat before reading: a change during the read shows at the next check */
    if (fstat(fd, &st) != 0 || add_dep(c, path, &st, 0) != 0) {
        err = errno == ENOMEM ? ENOMEM : errno;
        close(fd);
        return err ? err : EIO;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return EISDIR;
    }
    if ((b = malloc(cap)) == NULL) {
        close(fd);
        return ENOMEM;
    }
    for (;;) {
        ssize_t r;
        if (n == cap) {
            if (cap > SIZE_MAX / 2 || (nb = realloc(b, cap * 2)) == NULL) {
                err = ENOMEM;
                break;
            }
            b = nb;
            cap *= 2;
        }
        r = read(fd, b + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (err != 0) {
        free(b);
        return err;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* ---- line assembly (pam_line.c) ------------------------------------------------
 * A physical line ending in '\' (trailing blanks ignored) continues; the
 * backslash becomes a space. A line holding '#' ends the logical line, and a
 * blank line right after a continued one ends it too. Leading blanks are
 * skipped and a comment runs to the end of its physical line. */

struct source {
    const char *p, *end;             /* the rest of the input */
    int lineno;                      /* physical lines consumed */
};

struct assembly {
    char *s;                         /* the logical line; NULL if nothing yet */
    size_t len, size;
    char *chunk;                     /* the current physical line, NUL-terminated */
    size_t chunk_size;
    int first;                       /* physical line where s began */
};

static int assembly_add(struct assembly *a, const char *start, const char *end, int lineno)
{
    size_t n = (size_t)(end - start);
    if (n == 0)
        return 0;
    if (a->s == NULL)
        a->first = lineno;
    if (a->len + n + 1 > a->size) {
        size_t size = a->len + n + 1;
        char *p;
        if (size < a->size * 2)
            size = a->size * 2;
        if ((p = realloc(a->s, size)) == NULL)
            return -1;
        a->s = p;
        a->size = size;
    }
    memcpy(a->s + a->len, start, n);     /* may hold a NUL: the line then ends there */
    a->len += n;
    a->s[a->len] = '\0';
    return 0;
}

static void assembly_reset(struct assembly *a)
{
    a->len = 0;
    if (a->s != NULL) {
        a->s[0] = '\0';
        FREE(a->s);
    }
    a->size = 0;
}

static void assembly_free(struct assembly *a)
{
    assembly_reset(a);
    FREE(a->chunk);
    a->chunk_size = 0;
}

/* Replace an escaped newline by a space; 0 if the line continues. */
static int unescape_newline(char *start, char **end)
{
    char *p = *end;
    while (p > start && (*--p == ' ' || *p == '\t' || *p == '\n'))
        ;
    if (*p == '\\') {
        *p = ' ';
        *++p = '\0';
        *end = p;
        return 0;
    }
    return 1;
}

/* 1: a logical line in a->s; 0: end of input; -1: the input ends inside a
 * continued line; -2: out of memory. */
static int assemble(struct source *in, struct assembly *a)
{
    int ret = 0;

    assembly_reset(a);
    for (;;) {
        const char *nl;
        size_t n;
        char *start, *end;
        int eol;

        if (in->p >= in->end)
            break;
        nl = memchr(in->p, '\n', (size_t)(in->end - in->p));
        n = nl != NULL ? (size_t)(nl + 1 - in->p) : (size_t)(in->end - in->p);
        if (n + 1 > a->chunk_size) {
            char *c = realloc(a->chunk, n + 1);
            if (c == NULL)
                return -2;
            a->chunk = c;
            a->chunk_size = n + 1;
        }
        memcpy(a->chunk, in->p, n);
        a->chunk[n] = '\0';
        in->p += n;
        in->lineno++;

        start = a->chunk;
        end = a->chunk + n;
        eol = unescape_newline(start, &end) || strchr(start, '#') != NULL;
        start += strspn(start, " \t");
        start[strcspn(start, "#")] = '\0';
        if (end < start)
            end = start;

        if (eol) {
            if ((a->s != NULL || (*start != '\0' && *start != '\n')) &&
                assembly_add(a, start, end, in->lineno) != 0)
                return -2;
            if (a->s != NULL && a->s[0] != '\0')
                return 1;
            assembly_reset(a);
            ret = 0;
        } else {
            if (assembly_add(a, start, end, in->lineno) != 0)
                return -2;
            ret = 1;
        }
    }
    assembly_reset(a);
    return ret ? -1 : 0;
}

/* ---- tokens (_pam_tokenize) ------------------------------------------------------
 * Space, tab and newline separate. A token starting with '[' runs to the
 * first ']' ("\]" gives ']'); the brackets go, and whatever follows the ']'
 * starts the next token. */

static char *next_token(char **next, int *bracketed)
{
    char *from = *next, *end;

    *bracketed = 0;
    if (from == NULL)
        return NULL;
    from += strspn(from, DELIMITERS);
    if (*from == '[') {
        char *to;
        *bracketed = 1;
        for (to = end = ++from; *end && *end != ']'; ++to, ++end) {
            if (*end == '\\' && end[1] == ']')
                ++end;
            if (to != end)
                *to = *end;
        }
        if (to != end)
            *to = '\0';
    } else if (*from) {
        end = from + strcspn(from, DELIMITERS);
    } else {
        *next = NULL;
        return NULL;
    }
    if (*end)
        *end++ = '\0';
    *next = *end ? end : NULL;
    return from;
}

/* ---- the control grammar (_pam_parse_control) ------------------------------------ */

static int parse_control(const char *tok, int actions[TREX_PAM_RETURN_VALUES],
                         const char **why, const char **where)
{
    while (*tok) {
        size_t len = 0;
        int ret, act;

        while (is_space((unsigned char)*tok) && *++tok)
            ;
        if (!*tok)
            break;

        /* the value: the first name in table order that prefixes the text */
        for (ret = 0; ret <= DEFAULT_IDX; ++ret) {
            const char *name = ret < DEFAULT_IDX ? tp_code_token(ret) : "default";
            if (name == NULL || *name == '\0')
                continue;
            len = strlen(name);
            if (strncmp(name, tok, len) == 0)
                break;
        }
        if (ret > DEFAULT_IDX || !*(tok += len)) {
            *why = "expecting return value";
            goto parse_error;
        }

        while (is_space((unsigned char)*tok) && *++tok)
            ;
        if (!*tok || *tok++ != '=') {
            *why = "expecting '='";
            goto parse_error;
        }
        while (is_space((unsigned char)*tok) && *++tok)
            ;
        if (!*tok) {
            *why = "expecting action";
            goto parse_error;
        }

        /* the action: a name (matched as a prefix, like the values) or N */
        for (act = 0; act < (int)(sizeof action_names / sizeof action_names[0]); ++act) {
            len = strlen(action_names[act]);
            if (strncmp(action_names[act], tok, len) == 0) {
                act = -act;
                tok += len;
                break;
            }
        }
        if (act > 0) {
            if (!is_digit((unsigned char)*tok)) {
                *why = "expecting jump number";
                goto parse_error;
            }
            act = 0;
            do {
                int digit = *tok - '0';
                if (act > INT_MAX / 10 || act * 10 > INT_MAX - digit) {
                    *why = "jump number too large";     /* libpam wraps (PAM-SEMANTICS 9.3) */
                    goto parse_error;
                }
                act = act * 10 + digit;
            } while (*++tok && is_digit((unsigned char)*tok));
            if (act == 0) {
                *why = "expecting non-zero jump";
                goto parse_error;
            }
        }

        if (ret != DEFAULT_IDX)
            actions[ret] = act;              /* the last one wins (9.4) */
        else
            fill_undef(actions, act);        /* only what is still unset */
    }
    return 0;

parse_error:
    *where = tok;
    for (int i = 0; i < TREX_PAM_RETURN_VALUES; i++)
        actions[i] = TP_ACT_BAD;
    return -1;
}

int tp_conf_parse_control(const char *text, int actions[TREX_PAM_RETURN_VALUES])
{
    const char *why = NULL, *where = NULL;
    int rc;

    for (int i = 0; i < TREX_PAM_RETURN_VALUES; i++)
        actions[i] = ACT_UNDEF;
    if (text == NULL) {
        fill_undef(actions, TP_ACT_BAD);
        return -1;
    }
    rc = parse_control(text, actions, &why, &where);
    fill_undef(actions, TP_ACT_BAD);
    return rc;
}

/* ---- modules -------------------------------------------------------------------- */

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

_Static_assert(sizeof(trex_pam_module_entry_fn) == sizeof(void *),
               "dlsym needs function pointers as wide as void *");

/* The module ABI versions this core accepts (trex_pam_module.h). */
static int abi_known(const struct trex_pam_module *mod)
{
    return mod->abi >= 1 && mod->abi <= TREX_PAM_MODULE_ABI;
}

/* A built-in or external module's instance, made once per configuration
 * (released in tp_conf_free). An abi-1 table ends before instance_new: the
 * member is never read. NULL (none, or out of memory) is a valid instance. */
static void *new_instance(const struct trex_pam_module *mod)
{
    if (mod->abi < 2 || mod->instance_new == NULL)
        return NULL;
    return mod->instance_new();
}

static const char *load_external(struct tp_modref *r)
{
    trex_pam_module_entry_fn entry;
    const struct trex_pam_module *mod;
    void *dl = dlopen(r->name, RTLD_NOW | RTLD_LOCAL), *sym;
    const char *why = NULL;

    if (dl == NULL) {
        const char *e = dlerror();
        return e != NULL ? e : "cannot load";
    }
    sym = dlsym(dl, TREX_PAM_MODULE_ENTRY);
    memcpy(&entry, &sym, sizeof entry);       /* object to function pointer, as POSIX allows */
    if (sym == NULL)
        why = "no " TREX_PAM_MODULE_ENTRY " symbol";
    else if ((mod = entry(tp_module_api())) == NULL)
        why = "the module refused this core's API version";
    else if (!abi_known(mod))
        why = "wrong module ABI version";
    else {
        r->mod = mod;
        r->dl = dl;
        r->instance = new_instance(mod);
        return NULL;
    }
    dlclose(dl);
    return why;
}

static const char *load_resolved(trex_pam_handle_t *h, struct tp_modref *r)
{
    const struct trex_pam_module *mod = NULL;
    void *instance = NULL;

    if (h->resolve == NULL)
        return "no resolver for this kind of module";
    if (h->resolve(h, h->resolve_data, r->name, &mod, &instance) != TREX_PAM_SUCCESS || mod == NULL)
        return "the resolver could not load it";
    if (!abi_known(mod))
        return "wrong module ABI version";   /* its release() cannot be trusted either */
    r->mod = mod;                            /* the resolver's instance: no instance_new */
    r->instance = instance;
    return NULL;
}

/* The module of that exact name, loaded once per configuration (with its
 * instance); NULL: out of memory. A module that cannot be loaded gets a
 * reference with mod == NULL. */
static struct tp_modref *get_module(struct parser *ps, const char *name, int silent,
                                    const char *file, int line)
{
    struct tp_modref *r;
    const char *why;

    for (r = ps->conf->mods; r != NULL; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    if ((r = calloc(1, sizeof *r)) == NULL)
        return NULL;
    if ((r->name = strdup(name)) == NULL) {
        free(r);
        return NULL;
    }
    if (name[0] == '/')
        why = load_external(r);
    else if (strchr(name, ':') != NULL)
        why = load_resolved(ps->h, r);
    else if ((r->mod = tp_module_builtin(name)) == NULL)
        why = "no such module";
    else {
        why = NULL;
        r->instance = new_instance(r->mod);
    }
    if (why != NULL && !silent)
        tp_log(ps->h, LOG_ERR, "%s:%d: unable to load module \"%.200s\": %.300s", file, line,
               name, why);
    r->next = ps->conf->mods;
    ps->conf->mods = r;
    return r;
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
        (ref = get_module(ps, mod_path, silent, file, line)) == NULL)
        return TREX_PAM_BUF_ERR;

    /* the arguments: the rest of the line, bracketed tokens as for the control */
    while ((t = next_token(&args, &br)) != NULL) {
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
    fill_undef(e->actions, TP_ACT_BAD);
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
    if ((path = conf_path(ps->h, target)) == NULL)
        return TREX_PAM_BUF_ERR;
    err = read_file(ps->conf, path, &buf, &len);
    free(path);
    if (err == ENOMEM)
        return TREX_PAM_BUF_ERR;
    if (err != 0) {
        tp_log(ps->h, LOG_ERR, "%s:%d: cannot include \"%.200s\": %s", file, line, target,
               strerror(err));
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

    tok = next_token(&next, &br);
    if (tok == NULL) {
        tp_log(ps->h, LOG_ERR, "%s:%d: empty module type", file, line);
        type = req != TYPE_ANY ? req : TP_AUTH;          /* the most sensitive */
        kind = TP_ENTRY_MUSTFAIL;
    } else {
        if (tok[0] == '-') {                             /* no log if the module is missing */
            silent = 1;
            tok++;
        }
        if ((type = type_by_name(tok)) < 0) {
            tp_log(ps->h, LOG_ERR, "%s:%d: illegal module type \"%.100s\"", file, line, tok);
            type = req != TYPE_ANY ? req : TP_AUTH;
            kind = TP_ENTRY_MUSTFAIL;
        }
    }
    if (req != TYPE_ANY && type != req)
        return TREX_PAM_SUCCESS;                         /* included file: other types */

    for (int i = 0; i < TREX_PAM_RETURN_VALUES; i++)
        actions[i] = ACT_UNDEF;
    tok = next_token(&next, &br);
    if (tok == NULL) {
        tp_log(ps->h, LOG_ERR, "%s:%d: no control flag", file, line);
        no_control = 1;
        fill_undef(actions, TP_ACT_BAD);
        kind = TP_ENTRY_MUSTFAIL;
    } else if (strcasecmp(tok, "required") == 0) {
        actions[TREX_PAM_SUCCESS] = TP_ACT_OK;
        actions[TREX_PAM_NEW_AUTHTOK_REQD] = TP_ACT_OK;
        actions[TREX_PAM_IGNORE] = TP_ACT_IGNORE;
        fill_undef(actions, TP_ACT_BAD);
    } else if (strcasecmp(tok, "requisite") == 0) {
        actions[TREX_PAM_SUCCESS] = TP_ACT_OK;
        actions[TREX_PAM_NEW_AUTHTOK_REQD] = TP_ACT_OK;
        actions[TREX_PAM_IGNORE] = TP_ACT_IGNORE;
        fill_undef(actions, TP_ACT_DIE);
    } else if (strcasecmp(tok, "optional") == 0) {
        actions[TREX_PAM_SUCCESS] = TP_ACT_OK;
        actions[TREX_PAM_NEW_AUTHTOK_REQD] = TP_ACT_OK;
        fill_undef(actions, TP_ACT_IGNORE);
    } else if (strcasecmp(tok, "sufficient") == 0) {
        actions[TREX_PAM_SUCCESS] = TP_ACT_DONE;
        actions[TREX_PAM_NEW_AUTHTOK_REQD] = TP_ACT_DONE;
        fill_undef(actions, TP_ACT_IGNORE);
    } else if (strcasecmp(tok, "include") == 0) {
        include = 1;
    } else if (strcasecmp(tok, "substack") == 0) {
        include = substack = 1;
    } else {
        const char *why = NULL, *where = NULL;
        if (parse_control(tok, actions, &why, &where) != 0) {
            if (br)
                tp_log(ps->h, LOG_ERR, "%s:%d: bad control \"[%.200s]\": %s at \"%.40s\"",
                       file, line, tok, why, where);
            else
                tp_log(ps->h, LOG_ERR, "%s:%d: unknown control \"%.200s\"", file, line, tok);
        }
        fill_undef(actions, TP_ACT_BAD);
    }

    tok = next_token(&next, &br);
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
        fill_undef(actions, TP_ACT_BAD);
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
    struct source in = { buf, buf + len, 0 };
    struct assembly a = { 0 };
    int x, rc = TREX_PAM_SUCCESS;

    while ((x = assemble(&in, &a)) == 1) {
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
    assembly_free(&a);
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
    err = read_file(ps->conf, path, &buf, &len);
    if (err == ENOENT || err == ENOTDIR) {
        free(path);
        *missing = 1;
        return TREX_PAM_SUCCESS;
    }
    if (err != 0) {
        if (err != ENOMEM)
            tp_log(ps->h, LOG_ERR, "%s: cannot read: %s", path, strerror(err));
        free(path);
        return err == ENOMEM ? TREX_PAM_BUF_ERR : TREX_PAM_ABORT;
    }
    free(path);
    rc = parse_buffer(ps, stacks, name, buf, len, TYPE_ANY, 0, 0);
    free(buf);
    return rc;
}

int tp_conf_parse_text(trex_pam_handle_t *h, struct tp_conf *c, const char *text,
                       const char *name)
{
    struct parser ps = { h, c };
    if (h == NULL || c == NULL || text == NULL)
        return TREX_PAM_SYSTEM_ERR;
    return parse_buffer(&ps, c->stack, name != NULL ? name : "(text)", text, strlen(text),
                        TYPE_ANY, 0, 0);
}

/* Whether the configuration directory is the compiled default and absent:
 * then the built-in default stack applies. The directory's absence is
 * recorded, so a cached default is dropped once the directory appears.
 * SUCCESS (*builtin set), ABORT (an unusable directory) or BUF_ERR. */
static int check_confdir(trex_pam_handle_t *h, struct tp_conf *c, int *builtin)
{
    struct stat st;

    *builtin = 0;
    if (stat(h->confdir, &st) == 0 && S_ISDIR(st.st_mode))
        return TREX_PAM_SUCCESS;
    if (!h->confdir_explicit && errno == ENOENT) {
        *builtin = 1;
        return add_dep(c, h->confdir, NULL, ENOENT) == 0 ? TREX_PAM_SUCCESS : TREX_PAM_BUF_ERR;
    }
    tp_log(h, LOG_ERR, "%s: cannot use as configuration directory: %s", h->confdir,
           errno != 0 ? strerror(errno) : "not a directory");
    return TREX_PAM_ABORT;
}

/* Read and parse; the caller handles the cache. */
static int conf_read(trex_pam_handle_t *h, const char *service, struct tp_conf *c)
{
    struct tp_stack svc[TP_NTYPES], oth[TP_NTYPES];
    struct parser ps = { h, c };
    int rc, builtin, svc_missing = 0, oth_missing = 0;

    if ((rc = check_confdir(h, c, &builtin)) != TREX_PAM_SUCCESS)
        return rc;
    if (builtin)
        return parse_buffer(&ps, c->stack, "(built-in default)", default_stack,
                            sizeof default_stack - 1, TYPE_ANY, 0, 0);

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

static char *cache_key(const trex_pam_handle_t *h, const char *service)
{
    char *k;
    return asprintf(&k, "%s\n%s", h->confdir, service) < 0 ? NULL : k;
}

int tp_conf_load(trex_pam_handle_t *h, const char *service, struct tp_conf **out)
{
    struct trex_pam_confcache *cache;
    struct tp_cache_slot *slot = NULL;
    struct tp_conf *c;
    char *key = NULL;
    int rc;

    if (out == NULL)
        return TREX_PAM_SYSTEM_ERR;
    *out = NULL;
    if (h == NULL || h->confdir == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (service == NULL)
        return TREX_PAM_BAD_ITEM;
    cache = h->cache;
    if (cache != NULL) {
        if ((key = cache_key(h, service)) == NULL)
            return TREX_PAM_BUF_ERR;
        for (int i = 0; i < TP_CACHE_SLOTS && slot == NULL; i++)
            if (cache->slot[i].key != NULL && strcmp(cache->slot[i].key, key) == 0)
                slot = &cache->slot[i];
        if (slot != NULL && !slot->conf->racy) {
            struct timespec now;
            long long age;
            clock_gettime(CLOCK_MONOTONIC, &now);
            age = (ns_of(&now) - ns_of(&slot->conf->checked)) / 1000;
            if (age < cache->recheck_usec || deps_unchanged(slot->conf)) {
                if (age >= cache->recheck_usec)
                    slot->conf->checked = now;
                free(key);
                slot->conf->refs++;
                *out = slot->conf;
                return TREX_PAM_SUCCESS;
            }
        }
    }
    if ((c = calloc(1, sizeof *c)) == NULL) {
        free(key);
        return TREX_PAM_BUF_ERR;
    }
    c->refs = 1;
    if ((rc = conf_read(h, service, c)) != TREX_PAM_SUCCESS) {
        tp_conf_free(c);
        free(key);
        return rc;
    }
    if (cache != NULL) {
        mark_checked(c);
        if (slot == NULL) {                              /* a free slot, else round-robin */
            for (int i = 0; i < TP_CACHE_SLOTS && slot == NULL; i++)
                if (cache->slot[i].key == NULL)
                    slot = &cache->slot[i];
            if (slot == NULL)
                slot = &cache->slot[cache->next++ % TP_CACHE_SLOTS];
        }
        free(slot->key);
        tp_conf_free(slot->conf);                        /* in-use copies live on */
        slot->key = key;
        slot->conf = c;
        c->refs++;
    }
    *out = c;
    return TREX_PAM_SUCCESS;
}

struct trex_pam_confcache *trex_pam_confcache_new(void)
{
    struct trex_pam_confcache *cache = calloc(1, sizeof *cache);
    if (cache != NULL)
        cache->recheck_usec = TP_DEFAULT_RECHECK_USEC;
    return cache;
}

long trex_pam_confcache_recheck(struct trex_pam_confcache *cache, long usec)
{
    long old;
    if (cache == NULL)
        return -1;
    old = cache->recheck_usec;
    cache->recheck_usec = usec < 0 ? 0 : usec;
    return old;
}

void trex_pam_confcache_free(struct trex_pam_confcache *cache)
{
    if (cache == NULL)
        return;
    for (int i = 0; i < TP_CACHE_SLOTS; i++) {
        free(cache->slot[i].key);
        tp_conf_free(cache->slot[i].conf);
    }
    free(cache);
}

void tp_conf_free(struct tp_conf *c)
{
    struct tp_modref *r, *next;
    struct tp_dep *d, *dnext;

    if (c == NULL || --c->refs > 0)
        return;
    for (d = c->deps; d != NULL; d = dnext) {
        dnext = d->next;
        free(d->path);
        free(d);
    }
    for (int t = 0; t < TP_NTYPES; t++)
        stack_free(&c->stack[t]);
    for (r = c->mods; r != NULL; r = next) {
        next = r->next;
        if (r->mod != NULL && r->mod->release != NULL)
            r->mod->release(r->instance);
        if (r->dl != NULL)
            dlclose(r->dl);
        free(r->name);
        free(r);
    }
    free(c);
}
