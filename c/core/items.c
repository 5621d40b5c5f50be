/*
 * items.c - the items of a handle, as Linux-PAM keeps them: the standard
 * ones (strings, the conversation, the fail-delay function, X
 * authorisation data) and TRex's named ones ("TREX_..."). Setters copy,
 * getters lend; the two tokens are for modules only and are wiped when
 * replaced or cleared.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "impl.h"

void tp_clear_tokens(trex_pam_handle_t *h)
{
    tp_secret_drop(&h->item[TREX_PAM_AUTHTOK]);
    tp_secret_drop(&h->item[TREX_PAM_OLDAUTHTOK]);
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
char *tp_service_name(const char *service, int strip_path)
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

static void free_named(struct tp_named_item **list)
{
    struct tp_named_item *n, *next;
    for (n = *list; n != NULL; n = next) {
        next = n->next;
        free(n->name);
        tp_secret_drop(&n->value);
        free(n);
    }
    *list = NULL;
}

static void free_xauth(struct trex_pam_xauth_data *x)
{
    if (x->name != NULL)
        tp_secret_wipe(x->name, strlen(x->name));
    if (x->data != NULL)
        tp_secret_wipe(x->data, (size_t)x->datalen);
    free(x->name);
    free(x->data);
    memset(x, 0, sizeof *x);
}

void tp_items_free(trex_pam_handle_t *h)
{
    for (int i = 0; i <= TREX_PAM_ITEM_MAX; i++)
        tp_secret_drop(&h->item[i]);
    free_named(&h->named);
    free_xauth(&h->xauth);
}

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
        if ((copy = tp_service_name(item, 0)) == NULL)
            return TREX_PAM_BUF_ERR;
        h->conf_stale = 1;                /* the stack is read again before dispatch */
    } else if (item == NULL) {
        copy = NULL;
    } else if ((copy = strdup(item)) == NULL) {
        return TREX_PAM_BUF_ERR;
    }
    tp_secret_drop(&h->item[type]);
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
        tp_secret_drop(&n->value);
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
        tp_secret_drop(&copy);
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
