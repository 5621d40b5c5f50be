/*
 * handle.c - starting and ending a PAM handle: pam_start and pam_end, as
 * Linux-PAM has them. The handle owns copies of everything it is given and
 * wipes what may be secret when it ends.
 */
#include <stdlib.h>
#include <string.h>
#include "impl.h"

/* Which directory to read: the caller's, else $TREX_PAM_CONFDIR, else the
 * compiled default. Only the compiled default may be absent (the registry's
 * default stack then applies, parse.c); a directory named by the caller or
 * the environment must exist, as pam_start_confdir's does in Linux-PAM.
 * The variable is read at every start (one getenv: a persistent process
 * may change it between two handles); its value is copied only when it is
 * not the name the cache holds already (tp_confdir_hold). */
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
    h->confdir = tp_confdir_hold(h->cache, dir);
    return h->confdir == NULL ? TREX_PAM_BUF_ERR : TREX_PAM_SUCCESS;
}

static const trex_pam_handle_t blank_handle;   /* every field zero or NULL */

int trex_pam_start_opts(const char *service, const char *user, const struct trex_pam_conv *conv,
                        const struct trex_pam_options *opts, trex_pam_handle_t **pamh)
{
    trex_pam_handle_t *h;
    int rc;

    if (pamh != NULL)
        *pamh = NULL;                     /* out-params first */
    if (service == NULL || conv == NULL || pamh == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (opts != NULL && opts->size < sizeof(struct trex_pam_options))
        return TREX_PAM_SYSTEM_ERR;
    /* malloc, not calloc: glibc's calloc bypasses the per-thread cache that
     * free fills, and each handle freed by pam_end then went back into the
     * heap's top chunk (malloc_consolidate: a third of a short cycle). Not
     * memset either: GCC turns malloc + memset into calloc. */
    if ((h = malloc(sizeof *h)) == NULL)
        return TREX_PAM_BUF_ERR;
    *h = blank_handle;
    h->fork_gen = tp_fork_generation();
    h->conv = *conv;
    if (opts != NULL) {
        h->log_mode = opts->log_mode;
        h->log_fn = opts->log_fn;
        h->log_data = opts->log_data;
        h->registry = opts->registry;
        h->resolve = opts->resolve;
        h->resolve_data = opts->resolve_data;
        h->cache = opts->cache;
        h->binding = opts->binding;
    }
    if (h->log_mode == TREX_PAM_LOG_CALLBACK && h->log_fn == NULL)
        h->log_mode = TREX_PAM_LOG_NONE;
    rc = TREX_PAM_BUF_ERR;
    if ((h->item[TREX_PAM_SERVICE] = tp_service_name(service, 1)) == NULL)
        goto fail;
    if (user != NULL && (h->item[TREX_PAM_USER] = strdup(user)) == NULL)
        goto fail;
    if ((rc = choose_confdir(h, opts ? opts->confdir : NULL)) != TREX_PAM_SUCCESS)
        goto fail;
    if ((rc = tp_stack_load(h)) != TREX_PAM_SUCCESS)
        goto fail;
    *pamh = h;
    return TREX_PAM_SUCCESS;
fail:
    trex_pam_end(h, rc);
    return rc;
}

int trex_pam_end(trex_pam_handle_t *h, int status)
{
    if (h == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (h->in_module)
        return TREX_PAM_SYSTEM_ERR;       /* a module may not end its own handle */
    if (!tp_handle_ok(h))
        status |= TREX_PAM_DATA_SILENT;   /* a forked copy: cleanups must stay quiet */
    tp_pause(h);
    tp_data_free(h, status);              /* cleanups run newest first, status verbatim */
    tp_stack_detach(h);                   /* drops the configuration and results */
    tp_env_free(h);
    tp_items_free(h);
    free(h->user_again_prompt);
    tp_confdir_drop(h->confdir);
    tp_secret_wipe(h, sizeof *h);
    free(h);
    return TREX_PAM_SUCCESS;
}

void *trex_pam_binding(const trex_pam_handle_t *h)
{
    return tp_handle_ok(h) ? h->binding : NULL;
}

const char *trex_pam_confdir(const trex_pam_handle_t *h)
{
    return tp_handle_ok(h) ? h->confdir : NULL;
}
