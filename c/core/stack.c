/*
 * stack.c - a handle's configuration: the parsed stacks it runs (shared,
 * read-only, perhaps through the application's cache) and the results its
 * own calls recorded for each entry (for setcred and close_session, which
 * follow the path authenticate and open_session took). The one place that
 * attaches, detaches and (re)loads them: at pam_start, and before a call
 * once PAM_SERVICE has changed.
 */
#include <stdlib.h>
#include <string.h>
#include "impl.h"

void tp_stack_detach(trex_pam_handle_t *h)
{
    free(h->results[0]);                  /* one block for all types */
    memset(h->results, 0, sizeof h->results);
    tp_conf_free(h->conf);                /* recorded results go with it */
    h->conf = NULL;
}

/* Make c (a reference the handle takes over) the handle's configuration,
 * with fresh result slots. */
static int attach(trex_pam_handle_t *h, struct tp_conf *c)
{
    size_t total = 0;
    int *slots;

    for (int t = 0; t < TP_NTYPES; t++)
        total += c->stack[t].n;
    if ((slots = malloc((total ? total : 1) * sizeof *slots)) == NULL) {
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

    tp_stack_detach(h);
    h->conf_stale = 1;                    /* until a configuration is attached */
    if ((rc = tp_conf_load(h, h->item[TREX_PAM_SERVICE], &c)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = attach(h, c)) != TREX_PAM_SUCCESS)
        return rc;
    h->conf_stale = 0;
    return TREX_PAM_SUCCESS;
}
