/*
 * handle.c - the PAM handle: start and end, items (standard and TRex's
 * named ones), the PAM environment and module data (PAM-SEMANTICS.md
 * sections 3, 4.3, 4.4).
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <pthread.h>
#include "impl.h"

/* ---- small helpers shared by the core ------------------------------------ */

void trex_pam_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

int trex_pam_secret_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

char *tp_strdup(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

void tp_drop_secret(char **p)
{
    if (*p == NULL)
        return;
    trex_pam_wipe(*p, strlen(*p));
    FREE(*p);
}

/*
 * Fork detection without a system call per use: a child handler registered
 * once with pthread_atfork counts the forks. This counter is the core's one
 * mutable global, on purpose: having been forked is a fact about the whole
 * process, and it is only written in a child just after fork(), while that
 * child has a single thread.
 */
static volatile unsigned int fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void count_fork(void)
{
    fork_generation++;
}

static void register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, count_fork);
}

unsigned int tp_fork_generation(void)
{
    (void)pthread_once(&atfork_once, register_atfork);
    return fork_generation;
}

int tp_handle_ok(const trex_pam_handle_t *h)
{
    return h != NULL && h->fork_gen == fork_generation;
}

void tp_clear_tokens(trex_pam_handle_t *h)
{
    tp_drop_secret(&h->item[TREX_PAM_AUTHTOK]);
    tp_drop_secret(&h->item[TREX_PAM_OLDAUTHTOK]);
}

static int is_token_item(int type)
{
    return type == TREX_PAM_AUTHTOK || type == TREX_PAM_OLDAUTHTOK;
}

/* Items held as plain strings in h->item[]. */
static int is_string_item(int type)
{
    switch (type) {
    case TREX_PAM_SERVICE: case TREX_PAM_USER: case TREX_PAM_TTY: case TREX_PAM_RHOST:
    case TREX_PAM_AUTHTOK: case TREX_PAM_OLDAUTHTOK: case TREX_PAM_RUSER:
    case TREX_PAM_USER_PROMPT: case TREX_PAM_XDISPLAY: case TREX_PAM_AUTHTOK_TYPE:
        return 1;
    default:
        return 0;
    }
}

/* pam_start keeps the part after the last '/', lower-cased. */
static char *service_name(const char *service, int strip_path)
{
    const char *base = service, *slash;
    char *s;
    if (strip_path && (slash = strrchr(service, '/')) != NULL)
        base = slash + 1;
    if ((s = strdup(base)) == NULL)
        return NULL;
    for (char *p = s; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return s;
}

/* ---- start and end ---------------------------------------------------------- */

int trex_pam_start(const char *service, const char *user, const struct trex_pam_conv *conv,
                   trex_pam_handle_t **pamh)
{
    return trex_pam_start_opts(service, user, conv, NULL, pamh);
}

int trex_pam_start_confdir(const char *service, const char *user,
                           const struct trex_pam_conv *conv, const char *confdir,
                           trex_pam_handle_t **pamh)
{
    struct trex_pam_options o = { .size = sizeof o, .confdir = confdir };
    if (confdir == NULL) {
        if (pamh != NULL)
            *pamh = NULL;
        return TREX_PAM_SYSTEM_ERR;
    }
    return trex_pam_start_opts(service, user, conv, &o, pamh);
}

/* Which directory to read: the caller's, else $TREX_PAM_CONFDIR, else the
 * compiled default. Only the compiled default may be absent (the built-in
 * default stack then applies, conf.c); a directory named by the caller or
 * the environment must exist, as pam_start_confdir's does in Linux-PAM. */
static int choose_confdir(trex_pam_handle_t *h, const char *given)
{
    const char *dir = given;

    h->confdir_explicit = 1;
    if (dir == NULL || *dir == '\0') {
        dir = getenv("TREX_PAM_CONFDIR");
        if (dir == NULL || *dir == '\0') {
            dir = TREX_PAM_DEFAULT_CONFDIR;
            h->confdir_explicit = 0;
        }
    }
    return (h->confdir = strdup(dir)) == NULL ? TREX_PAM_BUF_ERR : TREX_PAM_SUCCESS;
}

int trex_pam_start_opts(const char *service, const char *user, const struct trex_pam_conv *conv,
                        const struct trex_pam_options *opts, trex_pam_handle_t **pamh)
{
    trex_pam_handle_t *h;
    struct tp_conf *conf = NULL;
    int rc;

    if (pamh != NULL)
        *pamh = NULL;                     /* out-params first */
    if (service == NULL || conv == NULL || pamh == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (opts != NULL && opts->size < sizeof(struct trex_pam_options))
        return TREX_PAM_SYSTEM_ERR;
    if ((h = calloc(1, sizeof *h)) == NULL)
        return TREX_PAM_BUF_ERR;
    h->fork_gen = tp_fork_generation();
    h->conv = *conv;
    if (opts != NULL) {
        h->log_mode = opts->log_mode;
        h->log_fn = opts->log_fn;
        h->log_data = opts->log_data;
        h->resolve = opts->resolve;
        h->resolve_data = opts->resolve_data;
        h->cache = opts->cache;
    }
    if (h->log_mode == TREX_PAM_LOG_CALLBACK && h->log_fn == NULL)
        h->log_mode = TREX_PAM_LOG_NONE;
    rc = TREX_PAM_BUF_ERR;
    if ((h->item[TREX_PAM_SERVICE] = service_name(service, 1)) == NULL)
        goto fail;
    if (user != NULL && (h->item[TREX_PAM_USER] = strdup(user)) == NULL)
        goto fail;
    if ((rc = choose_confdir(h, opts ? opts->confdir : NULL)) != TREX_PAM_SUCCESS)
        goto fail;
    if ((rc = tp_conf_load(h, h->item[TREX_PAM_SERVICE], &conf)) != TREX_PAM_SUCCESS)
        goto fail;
    if ((rc = tp_dispatch_attach(h, conf)) != TREX_PAM_SUCCESS)
        goto fail;
    *pamh = h;
    return TREX_PAM_SUCCESS;
fail:
    trex_pam_end(h, rc);
    return rc;
}

static void free_named(struct tp_named_item **list)
{
    struct tp_named_item *n, *next;
    for (n = *list; n != NULL; n = next) {
        next = n->next;
        free(n->name);
        tp_drop_secret(&n->value);
        free(n);
    }
    *list = NULL;
}

static void free_xauth(struct trex_pam_xauth_data *x)
{
    if (x->name != NULL)
        trex_pam_wipe(x->name, strlen(x->name));
    if (x->data != NULL)
        trex_pam_wipe(x->data, (size_t)x->datalen);
    free(x->name);
    free(x->data);
    memset(x, 0, sizeof *x);
}

int trex_pam_end(trex_pam_handle_t *h, int status)
{
    struct tp_data *d, *next;

    if (h == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (h->in_module)
        return TREX_PAM_SYSTEM_ERR;       /* a module may not end its own handle */
    if (!tp_handle_ok(h))
        status |= TREX_PAM_DATA_SILENT;   /* a forked copy: cleanups must stay quiet */
    /* cleanups run newest first, with the status passed verbatim */
    for (d = h->data; d != NULL; d = next) {
        next = d->next;
        if (d->cleanup != NULL)
            d->cleanup(h, d->data, status);
        free(d->name);
        free(d);
    }
    h->data = NULL;
    tp_dispatch_detach(h);                /* drops the configuration and results */
    for (size_t i = 0; i < h->env_n; i++)
        tp_drop_secret(&h->env[i]);
    free(h->env);
    for (int i = 0; i <= TREX_PAM_ITEM_MAX; i++)
        tp_drop_secret(&h->item[i]);
    free_named(&h->named);
    free_xauth(&h->xauth);
    free(h->user_again_prompt);
    free(h->confdir);
    trex_pam_wipe(h, sizeof *h);
    free(h);
    return TREX_PAM_SUCCESS;
}

/* ---- items ---------------------------------------------------------------------- */

static int set_xauth(trex_pam_handle_t *h, const struct trex_pam_xauth_data *x)
{
    struct trex_pam_xauth_data n = { 0 };

    if (x == NULL) {                      /* libpam crashes here; we clear */
        free_xauth(&h->xauth);
        return TREX_PAM_SUCCESS;
    }
    if (x == &h->xauth)
        return TREX_PAM_SUCCESS;
    if (x->namelen < 0 || x->datalen < 0)
        return TREX_PAM_BAD_ITEM;
    if (x->name == NULL || x->data == NULL) {
        free_xauth(&h->xauth);
        return TREX_PAM_BUF_ERR;
    }
    n.namelen = x->namelen;
    n.datalen = x->datalen;
    if ((n.name = strdup(x->name)) == NULL ||
        (n.data = malloc(x->datalen > 0 ? (size_t)x->datalen : 1)) == NULL) {
        free(n.name);
        free_xauth(&h->xauth);
        return TREX_PAM_BUF_ERR;
    }
    if ((size_t)x->namelen > strlen(n.name))
        n.namelen = (int)strlen(n.name);  /* never claim more than the copy holds */
    memcpy(n.data, x->data, (size_t)x->datalen);
    free_xauth(&h->xauth);
    h->xauth = n;
    return TREX_PAM_SUCCESS;
}

/* Whether the caller may use item type at all: a known type, and the two
 * tokens only from inside a module. */
static int item_usable(const trex_pam_handle_t *h, int type)
{
    if (type < 1 || type > TREX_PAM_ITEM_MAX)
        return 0;
    return !is_token_item(type) || h->in_module;
}

int trex_pam_set_item(trex_pam_handle_t *h, int type, const void *item)
{
    char *copy;

    if (!tp_handle_ok(h))
        return TREX_PAM_SYSTEM_ERR;
    if (!item_usable(h, type))
        return TREX_PAM_BAD_ITEM;

    switch (type) {
    case TREX_PAM_CONV:
        if (item == NULL)
            return TREX_PAM_PERM_DENIED;
        h->conv = *(const struct trex_pam_conv *)item;
        h->user_sticky = 0;
        return TREX_PAM_SUCCESS;
    case TREX_PAM_FAIL_DELAY:
        h->fail_delay_fn = (trex_pam_delay_fn)item;
        return TREX_PAM_SUCCESS;
    case TREX_PAM_XAUTHDATA:
        return set_xauth(h, item);
    default:
        break;
    }
    if (!is_string_item(type))
        return TREX_PAM_BAD_ITEM;
    if (item != NULL && item == h->item[type])
        return TREX_PAM_SUCCESS;          /* its own current value: a no-op */
    if (type == TREX_PAM_SERVICE) {
        if (item == NULL)
            return TREX_PAM_BAD_ITEM;
        if ((copy = service_name(item, 0)) == NULL)
            return TREX_PAM_BUF_ERR;
        h->conf_stale = 1;                /* the stack is read again before dispatch */
    } else if (item == NULL) {
        copy = NULL;
    } else if ((copy = strdup(item)) == NULL) {
        return TREX_PAM_BUF_ERR;
    }
    tp_drop_secret(&h->item[type]);
    h->item[type] = copy;
    if (type == TREX_PAM_USER || type == TREX_PAM_USER_PROMPT)
        h->user_sticky = 0;
    return TREX_PAM_SUCCESS;
}

int trex_pam_get_item(const trex_pam_handle_t *h, int type, const void **item)
{
    if (!tp_handle_ok(h))
        return TREX_PAM_SYSTEM_ERR;
    if (item == NULL)
        return TREX_PAM_PERM_DENIED;
    *item = NULL;
    if (!item_usable(h, type))
        return TREX_PAM_BAD_ITEM;
    switch (type) {
    case TREX_PAM_CONV:
        *item = &h->conv;
        break;
    case TREX_PAM_FAIL_DELAY:
        *item = (const void *)h->fail_delay_fn;
        break;
    case TREX_PAM_XAUTHDATA:
        *item = &h->xauth;
        break;
    default:
        *item = h->item[type];
        break;
    }
    return TREX_PAM_SUCCESS;
}

/* ---- TRex's named items ------------------------------------------------------------- */

#define TP_NAMED_MAX 64

/* "TREX_" then one or more of A-Z 0-9 _ ; at most TP_NAMED_MAX bytes. */
static int named_ok(const char *name)
{
    size_t n;
    if (name == NULL || strncmp(name, "TREX_", 5) != 0)
        return 0;
    n = strlen(name);
    if (n == 5 || n > TP_NAMED_MAX)
        return 0;
    for (size_t i = 5; i < n; i++)
        if (!(isupper((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_'))
            return 0;
    return 1;
}

int trex_pam_set_named_item(trex_pam_handle_t *h, const char *name, const char *value)
{
    struct tp_named_item **pp, *n;
    char *copy = NULL;

    if (!tp_handle_ok(h))
        return TREX_PAM_SYSTEM_ERR;
    if (!named_ok(name))
        return TREX_PAM_BAD_ITEM;
    for (pp = &h->named; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->name, name) == 0)
            break;
    if (value != NULL && *pp != NULL && value == (*pp)->value)
        return TREX_PAM_SUCCESS;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return TREX_PAM_BUF_ERR;
    if (*pp != NULL) {
        n = *pp;
        tp_drop_secret(&n->value);
        if (copy == NULL) {               /* NULL deletes */
            *pp = n->next;
            free(n->name);
            free(n);
        } else {
            n->value = copy;
        }
        return TREX_PAM_SUCCESS;
    }
    if (copy == NULL)
        return TREX_PAM_SUCCESS;          /* deleting what is not there */
    if ((n = calloc(1, sizeof *n)) == NULL || (n->name = strdup(name)) == NULL) {
        free(n);
        tp_drop_secret(&copy);
        return TREX_PAM_BUF_ERR;
    }
    n->value = copy;
    *pp = n;                              /* append: keeps the order of first setting */
    return TREX_PAM_SUCCESS;
}

int trex_pam_get_named_item(const trex_pam_handle_t *h, const char *name, const char **value)
{
    const struct tp_named_item *n;

    if (!tp_handle_ok(h))
        return TREX_PAM_SYSTEM_ERR;
    if (value == NULL)
        return TREX_PAM_PERM_DENIED;
    *value = NULL;
    if (!named_ok(name))
        return TREX_PAM_BAD_ITEM;
    for (n = h->named; n != NULL; n = n->next)
        if (strcmp(n->name, name) == 0) {
            *value = n->value;
            break;
        }
    return TREX_PAM_SUCCESS;
}

/* ---- the PAM environment (4.4) ---------------------------------------------------------- */

/* Index of the entry named name[0..len), or -1. */
static long env_find(const trex_pam_handle_t *h, const char *name, size_t len)
{
    for (size_t i = 0; i < h->env_n; i++)
        if (strncmp(h->env[i], name, len) == 0 && h->env[i][len] == '=')
            return (long)i;
    return -1;
}

int trex_pam_putenv(trex_pam_handle_t *h, const char *name_value)
{
    const char *eq;
    size_t len;
    long i;
    char *copy;

    if (!tp_handle_ok(h))
        return TREX_PAM_SYSTEM_ERR;
    if (name_value == NULL)
        return TREX_PAM_PERM_DENIED;
    eq = strchr(name_value, '=');
    len = eq ? (size_t)(eq - name_value) : strlen(name_value);
    if (len == 0)
        return TREX_PAM_BAD_ITEM;         /* empty name, or a leading '=' */
    i = env_find(h, name_value, len);
    if (eq == NULL) {                     /* "NAME": delete */
        if (i < 0)
            return TREX_PAM_BAD_ITEM;
        tp_drop_secret(&h->env[i]);
        memmove(&h->env[i], &h->env[i + 1], (h->env_n - (size_t)i - 1) * sizeof *h->env);
        h->env_n--;
        return TREX_PAM_SUCCESS;
    }
    if ((copy = strdup(name_value)) == NULL)
        return TREX_PAM_BUF_ERR;
    if (i >= 0) {                         /* replace in place */
        tp_drop_secret(&h->env[i]);
        h->env[i] = copy;
        return TREX_PAM_SUCCESS;
    }
    if (h->env_n == h->env_cap) {
        size_t cap = h->env_cap ? h->env_cap * 2 : 8;
        char **n = realloc(h->env, cap * sizeof *n);
        if (n == NULL) {
            tp_drop_secret(&copy);
            return TREX_PAM_BUF_ERR;
        }
        h->env = n;
        h->env_cap = cap;
    }
    h->env[h->env_n++] = copy;
    return TREX_PAM_SUCCESS;
}

const char *trex_pam_getenv(const trex_pam_handle_t *h, const char *name)
{
    long i;
    if (!tp_handle_ok(h) || name == NULL || *name == '\0' || strchr(name, '=') != NULL)
        return NULL;
    i = env_find(h, name, strlen(name));
    return i < 0 ? NULL : strchr(h->env[i], '=') + 1;
}

char **trex_pam_getenvlist(const trex_pam_handle_t *h)
{
    char **list;
    if (!tp_handle_ok(h))
        return NULL;
    if ((list = calloc(h->env_n + 1, sizeof *list)) == NULL)
        return NULL;
    for (size_t i = 0; i < h->env_n; i++)
        if ((list[i] = strdup(h->env[i])) == NULL) {
            trex_pam_free_envlist(list);
            return NULL;
        }
    return list;
}

void trex_pam_free_envlist(char **list)
{
    if (list == NULL)
        return;
    for (char **p = list; *p != NULL; p++)
        tp_drop_secret(p);
    free(list);
}

/* ---- module data (4.3) --------------------------------------------------------------------- */

int trex_pam_set_data(trex_pam_handle_t *h, const char *name, void *data,
                      trex_pam_cleanup_fn cleanup)
{
    struct tp_data *d;

    if (!tp_handle_ok(h) || !h->in_module || name == NULL)
        return TREX_PAM_SYSTEM_ERR;
    for (d = h->data; d != NULL; d = d->next)
        if (strcmp(d->name, name) == 0) {
            if (d->cleanup != NULL)
                d->cleanup(h, d->data, TREX_PAM_DATA_REPLACE | TREX_PAM_SUCCESS);
            d->data = data;               /* the entry keeps its position */
            d->cleanup = cleanup;
            return TREX_PAM_SUCCESS;
        }
    if ((d = calloc(1, sizeof *d)) == NULL || (d->name = strdup(name)) == NULL) {
        free(d);
        return TREX_PAM_BUF_ERR;
    }
    d->data = data;
    d->cleanup = cleanup;
    d->next = h->data;                    /* newest first */
    h->data = d;
    return TREX_PAM_SUCCESS;
}

int trex_pam_get_data(const trex_pam_handle_t *h, const char *name, const void **data)
{
    const struct tp_data *d;

    if (!tp_handle_ok(h) || !h->in_module || name == NULL || data == NULL)
        return TREX_PAM_SYSTEM_ERR;
    *data = NULL;
    for (d = h->data; d != NULL; d = d->next)
        if (strcmp(d->name, name) == 0) {
            *data = d->data;
            return TREX_PAM_SUCCESS;
        }
    return TREX_PAM_NO_MODULE_DATA;
}
