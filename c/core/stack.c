/*
 * stack.c - a handle's configuration: the parsed stacks it runs (shared,
 * read-only, perhaps through the application's cache) and the results its
 * own calls recorded for each entry (for setcred and close_session, which
 * follow the path authenticate and open_session took). The one place that
 * attaches, detaches and (re)loads them: at pam_start, and before a call
 * once PAM_SERVICE has changed.
 *
 * A configuration holds its modules (their instances, the shared objects
 * of external ones). Module data set during a call points into a module
 * (its cleanup function) and may point into its instance, so a
 * configuration replaced while the handle holds module data is kept, not
 * freed, until trex_pam_end has run the cleanups.
 */
#include <stdlib.h>
#include <string.h>
#include "impl.h"

/* Drops the current configuration, or keeps it among the retired ones
 * while module data may still need its modules. 0, or -1 when out of
 * memory (then nothing changed). */
static int drop_current(trex_pam_handle_t *h, int keep)
{
    for (size_t i = 0; keep && h->conf != NULL && i < h->nretired; i++)
        if (h->retired[i] == h->conf)
            keep = 0;                     /* kept already: one reference is enough */
    if (keep && h->conf != NULL && h->data != NULL) {
        struct tp_conf **r = realloc(h->retired, (h->nretired + 1) * sizeof *r);
        if (r == NULL)
            return -1;
        h->retired = r;
        h->retired[h->nretired++] = h->conf;
    } else {
        tp_conf_free(h->conf);
    }
    h->conf = NULL;
    if (h->results[0] != h->results_small)
        free(h->results[0]);              /* one block for all types: the results go too */
    memset(h->results, 0, sizeof h->results);
    return 0;
}

void tp_stack_detach(trex_pam_handle_t *h)
{
    (void)drop_current(h, 0);
    for (size_t i = 0; i < h->nretired; i++)
        tp_conf_free(h->retired[i]);
    free(h->retired);
    h->retired = NULL;
    h->nretired = 0;
}

/* Make c (a reference the handle takes over) the handle's configuration,
 * with fresh result slots: in the handle itself for a stack of up to
 * TP_RESULTS_SMALL entries (no allocation), else in a block of their own. */
static int attach(trex_pam_handle_t *h, struct tp_conf *c)
{
    size_t total = 0;
    int *slots;

    for (int t = 0; t < TP_NTYPES; t++)
        total += c->stack[t].n;
    if (total <= TP_RESULTS_SMALL)
        slots = h->results_small;
    else if ((slots = malloc(total * sizeof *slots)) == NULL) {
        tp_conf_free(c);
        return TREX_PAM_BUF_ERR;
    }
    for (size_t i = 0; i < total; i++)
        slots[i] = TP_RESULT_NONE;        /* no entry has run yet */
    h->conf = c;
    for (int t = 0; t < TP_NTYPES; t++) {
        h->results[t] = slots;
        slots += c->stack[t].n;
    }
    return TREX_PAM_SUCCESS;
}

int tp_stack_stale(const trex_pam_handle_t *h)
{
    return h->conf_stale || h->conf == NULL;
}

int tp_stack_load(trex_pam_handle_t *h)
{
    struct tp_conf *c = NULL;
    int rc;

    if (drop_current(h, 1) != 0)
        return TREX_PAM_BUF_ERR;
    h->conf_stale = 1;                    /* until a configuration is attached */
    if ((rc = tp_conf_load(h, h->item[TREX_PAM_SERVICE], &c)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = attach(h, c)) != TREX_PAM_SUCCESS)
        return rc;
    h->conf_stale = 0;
    return TREX_PAM_SUCCESS;
}
