/*
 * trex_pam_module.h - writing a TRex::PAM module.
 *
 * A module is a table of up to six service functions. Three kinds exist and
 * are dispatched alike:
 *   - built-in C modules (c/modules/), found through the registry the
 *     application hands the core (trex_pam_builtin_registry());
 *   - "perl:Package" modules, handed to the core by the XS layer through the
 *     resolver in struct trex_pam_options;
 *   - external shared objects named by absolute path in a pam.d line. They
 *     export one symbol, TREX_PAM_MODULE_ENTRY, and reach the core only
 *     through the versioned function table they receive, so they never link
 *     against the object that holds the core (perl loads XS objects with
 *     RTLD_LOCAL).
 *
 * A service function returns a PAM code (0..31; anything else fails the
 * stack, as in Linux-PAM). A NULL function is a missing hook: the line then
 * gives TREX_PAM_MODULE_UNKNOWN to its control.
 */
#ifndef TREX_PAM_MODULE_H
#define TREX_PAM_MODULE_H

#include "trex_pam.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*trex_pam_sm_fn)(trex_pam_handle_t *pamh, int flags,
                              int argc, const char **argv, void *instance);

/*
 * The module table. Members are only ever added at the end, and abi says
 * which ones a table has: the core accepts 1 to 3 and never reads past the
 * members of the table's own abi.
 *
 *   abi 1   name, the six service functions, release
 *   abi 2   + instance_new
 *   abi 3   + check
 *
 * The instance is the last argument of every service function. A module is
 * loaded once per parsed configuration, and a configuration is shared by
 * every handle started through the same struct trex_pam_confcache (the Perl
 * binding keeps one per interpreter; a C program may pass none, and then
 * each handle has its own). So instance_new, if set, is called once when
 * the configuration loads the module, and release(instance) once when that
 * configuration is freed: after the last handle that used it has ended,
 * which in a persistent process may be long after a handle's trex_pam_end.
 * An instance thus outlives handles and may keep state between them
 * (open connections, parsed settings), but:
 *   - it belongs to one thread at a time, like the handles that use it;
 *   - it may be inherited by a forked child (the child's handles then use
 *     the copy): check getpid() before using anything a process must not
 *     share (database connections, locks), and never tear such things
 *     down in the child as the parent would;
 *   - instance_new may return NULL (out of memory): the service functions
 *     then receive a NULL instance and must work without it, and release
 *     is still called with NULL.
 * Handle-specific state belongs in trex_pam_set_data, as before.
 * For "perl:" modules the resolver supplies the instance and instance_new
 * is not used. release may be NULL.
 */
#define TREX_PAM_MODULE_ABI 3

/*
 * check (abi 3, may be NULL): for trex_pam_check (trex-pam check-config),
 * once per line of the configuration naming the module, with the line's
 * arguments: whether the line can work here, beyond its syntax (a store
 * that can be reached and has its schema, a file that can be read).
 * TREX_PAM_SUCCESS, or an error code with the reason in why (whylen bytes;
 * one line, no secret, without the file and line, which the core puts
 * before it). It may take as long as the servers it asks, changes nothing,
 * and never converses. Module data it sets lives until the handle ends.
 */
typedef int (*trex_pam_check_fn)(trex_pam_handle_t *pamh, int argc, const char **argv,
                                 void *instance, char *why, size_t whylen);

struct trex_pam_module {
    unsigned int abi;               /* TREX_PAM_MODULE_ABI (or 1: no instance_new) */
    const char *name;
    trex_pam_sm_fn authenticate;
    trex_pam_sm_fn setcred;
    trex_pam_sm_fn acct_mgmt;
    trex_pam_sm_fn open_session;
    trex_pam_sm_fn close_session;
    trex_pam_sm_fn chauthtok;
    void (*release)(void *instance); /* when the configuration is freed; may be NULL */
    /* ---- abi 2 ---- */
    void *(*instance_new)(void);    /* once per configuration loading the module; may be NULL */
    /* ---- abi 3 ---- */
    trex_pam_check_fn check;        /* trex_pam_check's question; may be NULL */
};

/*
 * A registry: how the core finds modules by bare name, and the stack that
 * applies when the compiled-in configuration directory does not exist. An
 * application hands one to trex_pam_start_opts (trex_pam.h); the library's
 * own is trex_pam_builtin_registry().
 */
struct trex_pam_registry {
    /* The module of a bare name as written in a pam.d line, or NULL. */
    const struct trex_pam_module *(*lookup)(const char *name);
    const char *default_stack;      /* pam.d text; NULL: none */
    const char *default_name;       /* its name in log lines ("(built-in default)") */
};

/* ---- functions a module calls (built-in modules link them directly) ---- */

/* pam_get_user: PAM_USER if set, else one PAM_PROMPT_ECHO_ON prompt
 * (prompt, else PAM_USER_PROMPT, else "login:"). */
int trex_pam_get_user(trex_pam_handle_t *pamh, const char **user, const char *prompt);
/* pam_get_authtok: item is TREX_PAM_AUTHTOK or TREX_PAM_OLDAUTHTOK;
 * Linux-PAM's reuse, use_first_pass/use_authtok and prompting rules. */
int trex_pam_get_authtok(trex_pam_handle_t *pamh, int item, const char **authtok,
                         const char *prompt);

typedef void (*trex_pam_cleanup_fn)(trex_pam_handle_t *pamh, void *data, int error_status);
int trex_pam_set_data(trex_pam_handle_t *pamh, const char *name, void *data,
                      trex_pam_cleanup_fn cleanup);
int trex_pam_get_data(const trex_pam_handle_t *pamh, const char *name, const void **data);

/* One message through the conversation. For the two prompt styles *response
 * receives a malloc'd string the caller wipes and frees; for the others
 * response may be NULL. The text is a plain string (no format). */
int trex_pam_prompt(trex_pam_handle_t *pamh, int style, char **response, const char *text);
int trex_pam_info(trex_pam_handle_t *pamh, const char *text);
int trex_pam_error(trex_pam_handle_t *pamh, const char *text);
/* n messages through the application's conversation, as calling the
 * PAM_CONV item does, with the pause rule of trex_pam_at_pause below (the
 * helpers above follow it too). *resp as the conversation gives it (the
 * caller wipes and frees); TREX_PAM_SYSTEM_ERR without a conversation. */
int trex_pam_converse(trex_pam_handle_t *pamh, int n, const struct trex_pam_message **msg,
                      struct trex_pam_response **resp);

/* Runs fn(pamh, arg) once, at the handle's next pause: when the service
 * function returns, at trex_pam_end, or right after a conversation that
 * kept the application longer than TREX_PAM_PAUSE_CONV_MS (a person
 * answered, not the program; a conversation through the helpers above, not
 * one a module makes by calling the PAM_CONV item itself), whichever comes
 * first; then it is forgotten.
 * For what a module may hold across its own and the next modules' work in
 * one service call but not longer: a store's read snapshot, a lock. The
 * same fn and arg waiting already is not added twice. TREX_PAM_SUCCESS, or
 * TREX_PAM_BUF_ERR when 8 hooks are waiting already (then release it now
 * yourself). */
#define TREX_PAM_PAUSE_CONV_MS 50
typedef void (*trex_pam_pause_fn)(trex_pam_handle_t *pamh, void *arg);
int trex_pam_at_pause(trex_pam_handle_t *pamh, trex_pam_pause_fn fn, void *arg);

/* The configuration directory the handle reads its stack from: as the
 * application named it, else $TREX_PAM_CONFDIR, else the compiled default,
 * whether or not it exists (the built-in default stack applies when it does
 * not). Lent for the handle's life. For files that configure a module
 * beside the pam.d files. */
const char *trex_pam_confdir(const trex_pam_handle_t *pamh);

/* The pam.d token of a status ("auth_err" for TREX_PAM_AUTH_ERR), as used in
 * "[value=action]" controls; NULL outside 0..31. */
const char *trex_pam_status_token(int status);

/* Logging: syslog priorities (LOG_ERR, ...). Never pass a secret. */
void trex_pam_log(const trex_pam_handle_t *pamh, int priority, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Wipe a secret so the compiler cannot drop it; compare two in constant
 * time (1 equal, 0 not). */
void trex_pam_wipe(void *p, size_t n);
int trex_pam_secret_equal(const void *a, const void *b, size_t n);

/* ---- external modules ---------------------------------------------------- */

#define TREX_PAM_API_VERSION 1

/* The table an external module receives. New functions are only ever added
 * at the end; check size before using a member past the ones you know. */
struct trex_pam_api {
    unsigned int version;          /* TREX_PAM_API_VERSION */
    size_t size;                   /* sizeof(struct trex_pam_api) of the core */
    int (*get_user)(trex_pam_handle_t *, const char **, const char *);
    int (*get_authtok)(trex_pam_handle_t *, int, const char **, const char *);
    int (*get_item)(const trex_pam_handle_t *, int, const void **);
    int (*set_item)(trex_pam_handle_t *, int, const void *);
    int (*get_named_item)(const trex_pam_handle_t *, const char *, const char **);
    int (*set_named_item)(trex_pam_handle_t *, const char *, const char *);
    int (*set_data)(trex_pam_handle_t *, const char *, void *, trex_pam_cleanup_fn);
    int (*get_data)(const trex_pam_handle_t *, const char *, const void **);
    int (*prompt)(trex_pam_handle_t *, int, char **, const char *);
    int (*putenv)(trex_pam_handle_t *, const char *);
    const char *(*getenv)(const trex_pam_handle_t *, const char *);
    int (*fail_delay)(trex_pam_handle_t *, unsigned int);
    const char *(*strerror)(const trex_pam_handle_t *, int);
    void (*log)(const trex_pam_handle_t *, int, const char *, ...);
    void (*wipe)(void *, size_t);
    int (*secret_equal)(const void *, const void *, size_t);
    const char *(*status_token)(int);
    int (*at_pause)(trex_pam_handle_t *, trex_pam_pause_fn, void *);
    const char *(*confdir)(const trex_pam_handle_t *);
};

/* The one symbol an external module exports. It returns its module table
 * (abi = TREX_PAM_MODULE_ABI, or 1 for a module built against the first
 * version of this header) or NULL to refuse (wrong api version). */
#define TREX_PAM_MODULE_ENTRY "trex_pam_module_entry"
typedef const struct trex_pam_module *(*trex_pam_module_entry_fn)(const struct trex_pam_api *api);

#ifdef __cplusplus
}
#endif
#endif /* TREX_PAM_MODULE_H */
