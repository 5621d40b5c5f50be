/*
 * env.c - the PAM environment (pam_putenv, pam_getenv, pam_getenvlist) and
 * module data (pam_set_data, pam_get_data), as Linux-PAM has them. Values
 * may be secret: every copy is wiped when it goes.
 */
#include <stdlib.h>
#include <string.h>
#include "impl.h"

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
        tp_secret_drop(&h->env[i]);
        memmove(&h->env[i], &h->env[i + 1], (h->env_n - (size_t)i - 1) * sizeof *h->env);
        h->env_n--;
        return TREX_PAM_SUCCESS;
    }
    if ((copy = strdup(name_value)) == NULL)
        return TREX_PAM_BUF_ERR;
    if (i >= 0) {                         /* replace in place */
        tp_secret_drop(&h->env[i]);
        h->env[i] = copy;
        return TREX_PAM_SUCCESS;
    }
    if (h->env_n == h->env_cap) {
        size_t cap = h->env_cap ? h->env_cap * 2 : 8;
        char **n = realloc(h->env, cap * sizeof *n);
        if (n == NULL) {
            tp_secret_drop(&copy);
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
        tp_secret_drop(p);
    free(list);
}

/* ---- module data --------------------------------------------------------------------------- */

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

void tp_env_free(trex_pam_handle_t *h)
{
    for (size_t i = 0; i < h->env_n; i++)
        tp_secret_drop(&h->env[i]);
    free(h->env);
    h->env = NULL;
    h->env_n = h->env_cap = 0;
}

void tp_data_free(trex_pam_handle_t *h, int status)
{
    struct tp_data *d, *next;

    for (d = h->data; d != NULL; d = next) {
        next = d->next;
        if (d->cleanup != NULL)
            d->cleanup(h, d->data, status);
        free(d->name);
        free(d);
    }
    h->data = NULL;
}
