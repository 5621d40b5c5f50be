/*
 * impl.h - the core's private structures and the functions its files share.
 * Only c/core/ includes it: modules, the admin API, the store and the Perl
 * binding see the core through c/include/ alone.
 *
 * Who calls whom inside the core (never in a circle):
 *   handle.c   start and end  -> items.c, env.c, stack.c, util.c
 *   dispatch.c the six calls  -> stack.c, delay.c, items.c, util.c
 *   check.c    trex_pam_check: each line's module checks itself; trex_pam_lines
 *              -> stack.c
 *   stack.c    a handle's configuration: attach, detach, load -> conf (cache.c)
 *   cache.c    parsed configurations, shared and checked against the files
 *              -> parse.c (pam.d files) -> syntax.c (lines, tokens, controls),
 *                 load.c (modules, through the registry the application gave)
 *   conv.c, items.c, env.c, delay.c, log.c, constants.c -> util.c
 */
#ifndef TP_IMPL_H
#define TP_IMPL_H

#include <sys/types.h>
#include <stdarg.h>
#include "trex_pam.h"
#include "trex_pam_module.h"
#include "secret.h"

#if defined(__GNUC__)
#define TP_WUR __attribute__((warn_unused_result))
#define TP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TP_WUR
#define TP_PRINTF(a, b)
#endif

/* Free and forget. */
#define FREE(p) do { free(p); (p) = NULL; } while (0)

/* ---- the four stacks and six functions --------------------------------- */
enum tp_type { TP_AUTH, TP_ACCOUNT, TP_SESSION, TP_PASSWORD, TP_NTYPES };

enum tp_fn {
    TP_FN_AUTHENTICATE, TP_FN_SETCRED, TP_FN_ACCT_MGMT,
    TP_FN_OPEN_SESSION, TP_FN_CLOSE_SESSION, TP_FN_CHAUTHTOK, TP_NFNS
};

/* Actions of a control slot: >0 is a jump over that many entries. */
#define TP_ACT_IGNORE   0
#define TP_ACT_OK      (-1)
#define TP_ACT_DONE    (-2)
#define TP_ACT_BAD     (-3)
#define TP_ACT_DIE     (-4)
#define TP_ACT_RESET   (-5)

#define TP_MAX_DEPTH 16   /* include/substack nesting */

/* A result slot of an entry that has not run (libpam's _PAM_INVALID_RETVAL). */
#define TP_RESULT_NONE (-1)

enum tp_entry_kind {
    TP_ENTRY_MODULE,     /* call the module's hook (mod may be NULL: missing) */
    TP_ENTRY_MUSTFAIL,   /* broken line: returns PERM_DENIED into its actions */
    TP_ENTRY_SUBSTACK    /* inert header of a substack */
};

struct tp_modref {                 /* one loaded module, shared by its lines */
    char *name;                    /* as written in the pam.d line */
    const struct trex_pam_module *mod;   /* NULL: missing */
    void *instance;                /* mod->instance_new()'s or the resolver's; mod->release()d
                                      in tp_conf_free */
    void *dl;                      /* dlopen handle of an external module */
    struct tp_modref *next;
};

struct tp_entry {
    enum tp_entry_kind kind;
    int depth;                     /* 0 = top level, +1 per substack */
    int actions[TREX_PAM_RETURN_VALUES];
    struct tp_modref *ref;         /* TP_ENTRY_MODULE */
    int argc;
    char **argv;                   /* owned, NULL-terminated */
    char *file;                    /* for log lines: file the line came from */
    int line;
    int silent_missing;            /* "-type": no log when the module is missing */
};

struct tp_stack {
    struct tp_entry *e;
    size_t n, cap;
};

/* A file the configuration was read from (or found missing), to tell
 * whether a cached configuration still matches the disk. */
struct tp_dep {
    char *path;
    int err;                       /* 0, or the errno of open() (ENOENT ...) */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim, ctim;
    struct tp_dep *next;
};

/*
 * A parsed configuration. Read-only once loaded, so handles may share it
 * through a trex_pam_confcache: the results a handle records for its frozen
 * chains live in the handle (h->results), not here.
 */
struct tp_conf {
    struct tp_stack stack[TP_NTYPES];
    struct tp_modref *mods;        /* every module its lines refer to */
    struct tp_dep *deps;           /* every file read, or looked for */
    int refs;                      /* handles + the cache holding it */
    struct timespec checked;       /* CLOCK_MONOTONIC of the last check of deps */
    int racy;                      /* a file changed too recently to trust its stat */
    int builtin;                   /* the registry's default stack (no directory) */
};

#define TP_CACHE_SLOTS 32

/* Parsed configurations by (confdir, service), checked against the files'
 * stat data before each reuse. Owned by the application (the XS layer keeps
 * one per interpreter); single-threaded like a handle. */
struct trex_pam_confcache {
    struct tp_cache_slot {         /* free while conf is NULL */
        const char *confdir;       /* tp_confdir_hold's */
        int confdir_explicit;      /* as the handle's */
        char *service;
        const struct trex_pam_registry *registry;   /* the bare names were looked up in */
        struct tp_conf *conf;
    } slot[TP_CACHE_SLOTS];
    unsigned int next;             /* round-robin victim when full */
    long recheck_usec;             /* deps checked again at most this often */
    const char *dir;               /* the directory named last (tp_confdir_hold) */
};

/* A handle holds the results of a stack this small itself (stack.c). */
#define TP_RESULTS_SMALL 16

/* Saved state of an interrupted (PAM_INCOMPLETE) dispatch. */
struct tp_resume {
    int active;
    enum tp_fn fn;
    size_t pos;                    /* the entry to call again */
    int impression, status;
    int saved_impression[TP_MAX_DEPTH + 1], saved_status[TP_MAX_DEPTH + 1];
    int depth;                     /* depth of the entry at pos */
    int chauthtok_pass;            /* 1 = PRELIM pending, 2 = UPDATE pending */
};

struct tp_named_item {
    char *name, *value;
    struct tp_named_item *next;
};

struct tp_data {
    char *name;
    void *data;
    trex_pam_cleanup_fn cleanup;
    struct tp_data *next;          /* newest first */
};

#define TP_PAUSE_MAX 8              /* hooks waiting for one pause */

struct trex_pam_handle {
    /* string items, indexed by item number; NULL where not a string item */
    char *item[TREX_PAM_ITEM_MAX + 1];
    struct trex_pam_conv conv;
    trex_pam_delay_fn fail_delay_fn;
    struct trex_pam_xauth_data xauth;
    struct tp_named_item *named;

    char **env;                    /* "N=V" strings, insertion order */
    size_t env_n, env_cap;
    struct tp_data *data;

    /* fail delay (delay.c) */
    unsigned int delay_base;       /* largest request since the last reset */
    int delay_set;                 /* a request was made since the last reset */

    /* pam_get_user state (conv.c) */
    int user_sticky;               /* sticky conversation failure or 0 */
    char *user_again_prompt;       /* prompt of a CONV_AGAIN'd get_user */

    /* configuration */
    struct tp_conf *conf;          /* shared, read-only */
    struct tp_conf **retired;      /* configurations replaced while module data was held */
    size_t nretired;
    int *results[TP_NTYPES];       /* last authenticate/open_session result per entry */
    int results_small[TP_RESULTS_SMALL];   /* where they are for a small stack (stack.c) */
    const char *confdir;           /* the directory to read (tp_confdir_hold) */
    int confdir_explicit;          /* named by the caller or $TREX_PAM_CONFDIR: must exist */
    struct trex_pam_confcache *cache;   /* NULL: read the files at every start */
    int conf_stale;                /* PAM_SERVICE changed: reload before dispatch */
    int log_mode;
    void (*log_fn)(void *, int, const char *);
    void *log_data;
    const struct trex_pam_registry *registry;   /* bare module names, the default stack */
    trex_pam_resolve_fn resolve;
    void *resolve_data;
    void *binding;                 /* the application's own pointer (trex_pam_binding) */

    /* what runs when control goes back to the application (conv.c) */
    struct tp_pause {
        trex_pam_pause_fn fn;
        void *arg;
    } pause[TP_PAUSE_MAX];
    int npause;

    /* dispatch state */
    int in_module;                 /* a module hook is running */
    enum tp_fn cur_fn;             /* the function being dispatched */
    int cur_flags;
    const struct tp_entry *cur_entry;   /* argv for use_first_pass etc. */
    struct tp_resume resume;

    unsigned int fork_gen;         /* tp_fork_generation() when the handle was made */
};

/* ---- util.c --------------------------------------------------------------- */
/* A handle may be used: non-NULL, and in the process that created it. */
int tp_handle_ok(const trex_pam_handle_t *h);
/* Counts the forks this process descends from (pthread_atfork): a handle
 * made under another generation is a copy in a forked child. */
unsigned int tp_fork_generation(void);

/* ---- items.c --------------------------------------------------------------- */
/* Runs (and forgets) the hooks of trex_pam_at_pause: control goes back
 * to the application. */
void tp_pause(trex_pam_handle_t *h);
void tp_clear_tokens(trex_pam_handle_t *h);      /* AUTHTOK, OLDAUTHTOK wiped */
/* pam_start's service name: the part after the last '/' (strip_path),
 * lower-cased; NULL when out of memory. */
char *tp_service_name(const char *service, int strip_path);
void tp_items_free(trex_pam_handle_t *h);        /* every item, wiped */

/* ---- env.c ----------------------------------------------------------------- */
void tp_env_free(trex_pam_handle_t *h);          /* the environment, wiped */
/* Module data: every cleanup, newest first, with status; then freed. */
void tp_data_free(trex_pam_handle_t *h, int status);

/* ---- log.c: trex_pam_log, by its core name ---------------------------------- */
#define tp_log trex_pam_log

/* ---- delay.c --------------------------------------------------------------- */
/* At the end of authenticate and chauthtok: the delay function, or a sleep
 * on failure. */
void tp_delay_finish(trex_pam_handle_t *h, int status);

/* ---- stack.c: the handle's configuration ----------------------------------- */
/* Reads the stacks of PAM_SERVICE (through the cache, if any) and makes
 * them the handle's, with fresh result slots, dropping what it had.
 * SUCCESS, ABORT or BUF_ERR; on failure the handle has no configuration
 * and is marked to try again at its next call. */
TP_WUR int tp_stack_load(trex_pam_handle_t *h);
/* Whether the configuration must be read again before a call. */
int tp_stack_stale(const trex_pam_handle_t *h);
/* No configuration at all: drops the current one and every retired one
 * (pam_end, after the module data's cleanups). */
void tp_stack_detach(trex_pam_handle_t *h);

/* ---- configuration: cache.c, parse.c, syntax.c, load.c (conf.h) ------------- */
/* The stacks for service from h->confdir (the registry's default stack when
 * that directory is the compiled default and does not exist), through
 * h->cache when there is one. Returns SUCCESS with a reference in *out,
 * ABORT (neither service nor other, or an unusable directory) or BUF_ERR.
 * Bad lines become must-fail entries and are logged when first read. */
TP_WUR int tp_conf_load(trex_pam_handle_t *h, const char *service, struct tp_conf **out);
/* Parse pam.d text (service-file syntax) as if read from name. */
TP_WUR int tp_conf_parse_text(trex_pam_handle_t *h, struct tp_conf *c, const char *text,
                              const char *name);
void tp_conf_free(struct tp_conf *c);   /* drops one reference */
/* The directory name path as a handle keeps it: shared with cache (may be
 * NULL), which remembers the last name it was given, so that naming the
 * same directory again allocates nothing. The name is compared, never a
 * pointer: $TREX_PAM_CONFDIR is read at every start and a change between
 * two starts is seen at the second. NULL when out of memory; given back
 * with tp_confdir_drop (NULL: nothing). */
const char *tp_confdir_hold(struct trex_pam_confcache *cache, const char *path);
void tp_confdir_drop(const char *path);
/* Parse a bracketed control "[...]" (without brackets) into actions; returns
 * 0 or -1 on a syntax error (then every slot is bad). Exposed for tests. */
int tp_conf_parse_control(const char *text, int actions[TREX_PAM_RETURN_VALUES]);

/* ---- dispatch.c ------------------------------------------------------------ */
int tp_dispatch(trex_pam_handle_t *h, enum tp_fn fn, int flags);

/* ---- constants.c ----------------------------------------------------------- */
#define tp_code_token trex_pam_status_token     /* the pam.d token of a code */

#endif /* TP_IMPL_H */
