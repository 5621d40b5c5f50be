/*
 * trex_pam.h - the public C interface of the TRex::PAM core.
 *
 * The API is Linux-PAM's application interface with a trex_pam_ prefix and
 * Linux-PAM's numeric values, so that a process may hold TRex::PAM and
 * Linux-PAM at once without a single symbol or constant clash.
 *
 * Ownership, as in OpenPAM and libsodium: setters copy what they are given;
 * getters lend const pointers that stay valid until the next set of the same
 * item or trex_pam_end(); trex_pam_getenvlist() returns a copy that the caller
 * frees with trex_pam_free_envlist().
 *
 * Only int, char *, size_t, fixed-width integers and opaque pointers cross
 * this header, so that it does not depend on the compiler flags of whoever
 * includes it (perl's ccflags, for example).
 */
#ifndef TREX_PAM_H
#define TREX_PAM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- return codes (Linux-PAM's _pam_types.h values) ------------------- */
#define TREX_PAM_SUCCESS                 0
#define TREX_PAM_OPEN_ERR                1
#define TREX_PAM_SYMBOL_ERR              2
#define TREX_PAM_SERVICE_ERR             3
#define TREX_PAM_SYSTEM_ERR              4
#define TREX_PAM_BUF_ERR                 5
#define TREX_PAM_PERM_DENIED             6
#define TREX_PAM_AUTH_ERR                7
#define TREX_PAM_CRED_INSUFFICIENT       8
#define TREX_PAM_AUTHINFO_UNAVAIL        9
#define TREX_PAM_USER_UNKNOWN           10
#define TREX_PAM_MAXTRIES               11
#define TREX_PAM_NEW_AUTHTOK_REQD       12
#define TREX_PAM_ACCT_EXPIRED           13
#define TREX_PAM_SESSION_ERR            14
#define TREX_PAM_CRED_UNAVAIL           15
#define TREX_PAM_CRED_EXPIRED           16
#define TREX_PAM_CRED_ERR               17
#define TREX_PAM_NO_MODULE_DATA         18
#define TREX_PAM_CONV_ERR               19
#define TREX_PAM_AUTHTOK_ERR            20
#define TREX_PAM_AUTHTOK_RECOVERY_ERR   21
#define TREX_PAM_AUTHTOK_LOCK_BUSY      22
#define TREX_PAM_AUTHTOK_DISABLE_AGING  23
#define TREX_PAM_TRY_AGAIN              24
#define TREX_PAM_IGNORE                 25
#define TREX_PAM_ABORT                  26
#define TREX_PAM_AUTHTOK_EXPIRED        27
#define TREX_PAM_MODULE_UNKNOWN         28
#define TREX_PAM_BAD_ITEM               29
#define TREX_PAM_CONV_AGAIN             30
#define TREX_PAM_INCOMPLETE             31
#define TREX_PAM_RETURN_VALUES          32   /* number of codes; "default" */

/* ---- items ------------------------------------------------------------ */
#define TREX_PAM_SERVICE         1
#define TREX_PAM_USER            2
#define TREX_PAM_TTY             3
#define TREX_PAM_RHOST           4
#define TREX_PAM_CONV            5
#define TREX_PAM_AUTHTOK         6   /* modules only */
#define TREX_PAM_OLDAUTHTOK      7   /* modules only */
#define TREX_PAM_RUSER           8
#define TREX_PAM_USER_PROMPT     9
#define TREX_PAM_FAIL_DELAY     10
#define TREX_PAM_XDISPLAY       11
#define TREX_PAM_XAUTHDATA      12
#define TREX_PAM_AUTHTOK_TYPE   13
#define TREX_PAM_ITEM_MAX       13

/* ---- flags ------------------------------------------------------------ */
#define TREX_PAM_SILENT                   0x8000
#define TREX_PAM_DISALLOW_NULL_AUTHTOK    0x0001
#define TREX_PAM_ESTABLISH_CRED           0x0002
#define TREX_PAM_DELETE_CRED              0x0004
#define TREX_PAM_REINITIALIZE_CRED        0x0008
#define TREX_PAM_REFRESH_CRED             0x0010
#define TREX_PAM_CHANGE_EXPIRED_AUTHTOK   0x0020
#define TREX_PAM_PRELIM_CHECK             0x4000  /* core -> module only */
#define TREX_PAM_UPDATE_AUTHTOK           0x2000  /* core -> module only */
#define TREX_PAM_DATA_REPLACE             0x20000000
#define TREX_PAM_DATA_SILENT              0x40000000

/* ---- conversation ----------------------------------------------------- */
#define TREX_PAM_PROMPT_ECHO_OFF   1
#define TREX_PAM_PROMPT_ECHO_ON    2
#define TREX_PAM_ERROR_MSG         3
#define TREX_PAM_TEXT_INFO         4
#define TREX_PAM_RADIO_TYPE        5
#define TREX_PAM_BINARY_PROMPT     7

#define TREX_PAM_MAX_NUM_MSG      32
#define TREX_PAM_MAX_MSG_SIZE    512
#define TREX_PAM_MAX_RESP_SIZE   512

struct trex_pam_message {
    int msg_style;
    const char *msg;
};

struct trex_pam_response {
    char *resp;          /* malloc'd by the application, wiped and freed by the core */
    int resp_retcode;    /* unused, 0 */
};

/*
 * The application's conversation function. msg is an array of num_msg
 * pointers. On TREX_PAM_SUCCESS *resp holds a calloc'd array of num_msg
 * responses (malloc'd strings or NULL) that the core wipes and frees; on any
 * other return the application frees its own allocations.
 */
struct trex_pam_conv {
    int (*conv)(int num_msg, const struct trex_pam_message **msg,
                struct trex_pam_response **resp, void *appdata_ptr);
    void *appdata_ptr;
};

/* Wipes and frees a response array of num entries and each answer in it
 * (NULL: nothing): for a conversation function that fails after it made
 * its answers, and for the core itself. */
void trex_pam_free_responses(struct trex_pam_response *resp, int num);
/* An answer of len bytes (not NUL-terminated: a language binding's string)
 * as the core takes one: a malloc'd NUL-terminated copy in *out. SUCCESS;
 * CONV_ERR when the bytes hold a NUL (the core would read the answer cut
 * short there) or p is NULL; BUF_ERR. *out is NULL unless SUCCESS. */
int trex_pam_answer_copy(const char *p, size_t len, char **out);
/* Wipes the string *p, frees it and sets *p to NULL (NULL: nothing): for
 * an answer the application made and did not hand over. */
void trex_pam_drop_secret(char **p);

/* PAM_FAIL_DELAY item: called at the end of authenticate/chauthtok. */
typedef void (*trex_pam_delay_fn)(int status, unsigned int usec, void *appdata_ptr);

struct trex_pam_xauth_data {
    int namelen;
    char *name;
    int datalen;
    char *data;
};

typedef struct trex_pam_handle trex_pam_handle_t;

/* ---- start-up options ------------------------------------------------- */
#define TREX_PAM_LOG_AUTO     0   /* $TREX_PAM_LOG: "stderr", "syslog" or "none"; default syslog */
#define TREX_PAM_LOG_SYSLOG   1   /* facility authpriv, ident = service */
#define TREX_PAM_LOG_STDERR   2
#define TREX_PAM_LOG_NONE     3
#define TREX_PAM_LOG_CALLBACK 4   /* log_fn receives every line */

struct trex_pam_module;   /* trex_pam_module.h */
struct trex_pam_registry; /* trex_pam_module.h */

/*
 * Resolver for module names the core does not know itself (the XS layer
 * uses it for "perl:Package"). Returns TREX_PAM_SUCCESS and sets *mod and
 * *instance, or an error (the line then behaves as a missing module). pamh
 * is the handle being configured, for trex_pam_log() of why loading failed
 * (its items are not set up yet: do not use them). The instance may be
 * shared by every handle that uses a cached configuration.
 */
typedef int (*trex_pam_resolve_fn)(trex_pam_handle_t *pamh, void *data, const char *name,
                                   const struct trex_pam_module **mod,
                                   void **instance);

/*
 * A cache of parsed configurations for a long-running process: a handle
 * started with it reuses the stacks read for an earlier one as long as
 * every file involved (service, other, included files, and the ones found
 * missing) is unchanged: same device, inode, size, mtime and ctime. Files
 * are checked again at most once per recheck interval (default 1000 us), so
 * a change is seen by every start that begins that long after it was
 * written; a file changed less than 20 ms before it was read is never
 * trusted from its stat data (file times are coarser than that), so
 * same-size rewrites in quick succession are not missed either. The
 * directory is chosen afresh at every start ($TREX_PAM_CONFDIR is read
 * each time, so a change between two handles is seen by the second); the
 * cache keeps the last name it saw, so that the same one again costs no
 * copy, and a handle keeps the directory it started with.
 * Not thread-safe: one per thread or interpreter. Free it after every
 * handle that used it ended (a configuration in use stays alive until its
 * last handle ends).
 */
struct trex_pam_confcache;
struct trex_pam_confcache *trex_pam_confcache_new(void);
/* 0 checks at every start; returns the previous interval. */
long trex_pam_confcache_recheck(struct trex_pam_confcache *cache, long usec);
void trex_pam_confcache_free(struct trex_pam_confcache *cache);

/*
 * Everything a handle is started with. The core itself knows no module by
 * name: bare names ("userdb", "pam_permit.so") are looked up in registry,
 * and registry's default stack applies when the configuration directory is
 * the compiled default and does not exist. trex_pam_builtin_registry() is
 * the library's own (the built-in modules and the built-in default
 * stack); NULL means none (only absolute paths and the resolver's names
 * load, and a missing directory is an error). binding is the application's
 * own pointer, handed back by trex_pam_binding(): a language binding finds
 * its per-handle state with it (in a module it implements, say).
 */
struct trex_pam_options {
    size_t size;                /* sizeof(struct trex_pam_options) */
    const char *confdir;        /* NULL: $TREX_PAM_CONFDIR, else TREX_PAM_DEFAULT_CONFDIR */
    int log_mode;               /* TREX_PAM_LOG_* */
    void (*log_fn)(void *log_data, int priority, const char *line);
    void *log_data;
    trex_pam_resolve_fn resolve;
    void *resolve_data;
    struct trex_pam_confcache *cache;   /* NULL: no cache */
    const struct trex_pam_registry *registry;   /* NULL: no bare module names */
    void *binding;              /* the application's; the core never reads it */
};

/* The built-in modules (permit, deny, debug, userdb, session, faillock,
 * also as pam_permit.so, pam_deny.so, pam_debug.so, pam_faillock.so) and
 * the built-in default stack: the registry trex_pam_start and
 * trex_pam_start_confdir use. Static; lives as long as the library. */
const struct trex_pam_registry *trex_pam_builtin_registry(void);

/* The environment variable naming the store when a module line (db=) or
 * the admin API names none. */
#define TREX_PAM_STORE_ENV "TREX_PAM_DB"

#ifndef TREX_PAM_DEFAULT_CONFDIR
#define TREX_PAM_DEFAULT_CONFDIR "/etc/trex-pam.d"
#endif

/* ---- the application interface ---------------------------------------- */

/* Linux-PAM's pam_start: service, user (may be NULL), conv (required);
 * the built-in registry, no cache, the log of $TREX_PAM_LOG. */
int trex_pam_start(const char *service, const char *user,
                   const struct trex_pam_conv *conv, trex_pam_handle_t **pamh);
/* pam_start_confdir: only confdir/<service> and confdir/other are read. */
int trex_pam_start_confdir(const char *service, const char *user,
                           const struct trex_pam_conv *conv, const char *confdir,
                           trex_pam_handle_t **pamh);
/* Everything else: options may be NULL (then no registry, no cache). */
int trex_pam_start_opts(const char *service, const char *user,
                        const struct trex_pam_conv *conv,
                        const struct trex_pam_options *opts,
                        trex_pam_handle_t **pamh);
int trex_pam_end(trex_pam_handle_t *pamh, int status);
/*
 * Asks every line of the handle's configuration whose module can check
 * itself (the module table's check: the built-in userdb, session and
 * faillock open their store read-only and check its schema) whether it
 * can work here. Each problem is logged (LOG_ERR) as "file:line: module:
 * reason", once per line. TREX_PAM_SUCCESS when there is none, else the
 * first line's code. For trex-pam check-config: it waits for servers as
 * long as their timeouts say, so not for a login path.
 */
int trex_pam_check(trex_pam_handle_t *pamh);
/* One module line of a handle's configuration, lent to trex_pam_lines's
 * callback for the call only. */
struct trex_pam_line {
    const char *file;           /* as log lines name it: a service's file name (relative
                                   to the configuration directory), an included path, or
                                   the registry's name of its default stack */
    int line;
    int builtin;                /* 1: the registry's default stack (no directory) */
    const char *module;         /* the module's name as written */
    const struct trex_pam_module *mod;  /* NULL: it could not be loaded */
    int argc;
    const char *const *argv;
};
/*
 * Calls fn for each module line of the handle's stack of type ("auth",
 * "account", "session" or "password"), in the order they run (includes and
 * substacks in place, "other" where the service has no line of the type);
 * fn returning non-zero stops. SUCCESS, SYSTEM_ERR (an unusable handle, an
 * unknown type, a call from inside a module), or the error of reading the
 * configuration again.
 */
int trex_pam_lines(trex_pam_handle_t *pamh, const char *type,
                   int (*fn)(void *data, const struct trex_pam_line *line), void *data);

/* The settings a service's faillock lines judge a lock by (trex-pam faillock). */
struct trex_pam_faillock_settings {
    int deny;                   /* failures that lock; 0: never */
    long long fail_interval;    /* seconds within which they count */
    long long unlock_time;      /* seconds a lock lasts; 0: until reset ("never") */
    const char *action;         /* "preauth", "authfail" or "authsucc"; NULL: no line */
    const char *store, *db;     /* the line's store= and db=; NULL: not given */
    const char *file;           /* the line's place, as struct trex_pam_line has it */
    int line;
    int builtin;
    const char *confdir;        /* the directory the handle read */
};
/*
 * The settings of the faillock line that decides whether the handle's
 * service locks a user: the first "faillock preauth" of its auth stack
 * (where a locked account is refused), else its first faillock line there.
 * Its arguments are read as the module reads them (an argument it would
 * log as malformed keeps its default, and is logged here too). SUCCESS; or
 * IGNORE when the auth stack has no faillock line (out then holds the
 * module's defaults, action NULL; pamh NULL gives them alone); or
 * trex_pam_lines's error. Strings are lent until trex_pam_end.
 */
int trex_pam_faillock_settings(trex_pam_handle_t *pamh, struct trex_pam_faillock_settings *out);
/* The binding pointer of the handle's options (NULL: none, or an unusable
 * handle). */
void *trex_pam_binding(const trex_pam_handle_t *pamh);

int trex_pam_authenticate(trex_pam_handle_t *pamh, int flags);
int trex_pam_setcred(trex_pam_handle_t *pamh, int flags);
int trex_pam_acct_mgmt(trex_pam_handle_t *pamh, int flags);
int trex_pam_open_session(trex_pam_handle_t *pamh, int flags);
int trex_pam_close_session(trex_pam_handle_t *pamh, int flags);
int trex_pam_chauthtok(trex_pam_handle_t *pamh, int flags);

/* String items take char *; PAM_CONV a struct trex_pam_conv *; PAM_FAIL_DELAY
 * a trex_pam_delay_fn (cast to void *); PAM_XAUTHDATA a struct
 * trex_pam_xauth_data *. */
int trex_pam_set_item(trex_pam_handle_t *pamh, int item_type, const void *item);
int trex_pam_get_item(const trex_pam_handle_t *pamh, int item_type, const void **item);

/* TRex's own items, by name: "TREX_" then A-Z, 0-9 or '_' (64 bytes at most);
 * any other name gives TREX_PAM_BAD_ITEM. Values are strings, wiped when
 * replaced; NULL deletes; an item never set reads as NULL with SUCCESS. */
/* Named items the built-in modules set */
#define TREX_PAM_ITEM_SESSION_ID      "TREX_SESSION_ID"       /* session: the ID, for the cookie */
#define TREX_PAM_ITEM_AUTH_METHOD     "TREX_AUTH_METHOD"      /* "session" after a session check */
#define TREX_PAM_ITEM_SESSION_EXPIRED "TREX_SESSION_EXPIRED"  /* session: "idle" or "lifetime" */
#define TREX_PAM_ITEM_ADMIN           "TREX_ADMIN"            /* "1": the admin command (with uid 0) */

int trex_pam_set_named_item(trex_pam_handle_t *pamh, const char *name, const char *value);
int trex_pam_get_named_item(const trex_pam_handle_t *pamh, const char *name, const char **value);

const char *trex_pam_strerror(const trex_pam_handle_t *pamh, int errnum);

int trex_pam_putenv(trex_pam_handle_t *pamh, const char *name_value);
const char *trex_pam_getenv(const trex_pam_handle_t *pamh, const char *name);
char **trex_pam_getenvlist(const trex_pam_handle_t *pamh);   /* NULL on BUF_ERR */
void trex_pam_free_envlist(char **list);

int trex_pam_fail_delay(trex_pam_handle_t *pamh, unsigned int usec);

/*
 * The constants table (codes, items, flags, message styles, limits) that the
 * pam.d parser, strerror and the XS layer share. Returns 1 and fills name and
 * value for index i, 0 past the end.
 */
int trex_pam_constant(size_t i, const char **name, long *value);

/* The version string of the core, e.g. "0.01". */
const char *trex_pam_version(void);

#ifdef __cplusplus
}
#endif
#endif /* TREX_PAM_H */
