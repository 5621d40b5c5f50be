/*
 * check.c - trex_pam_check: every line of a handle's configuration asks
 * its module whether it can work here (the module table's check, abi 3),
 * for trex-pam check-config. The core knows no module by name: it walks
 * the lines, the modules answer, the core puts file:line before each
 * answer.
 */
#include <string.h>
#include <syslog.h>
#include "impl.h"

/* 1 if an entry before stack[t].e[i] (in this or an earlier type) is the
 * same file and line: a file included twice is checked once. */
static int seen_before(const struct tp_conf *c, int t, size_t i)
{
    const struct tp_entry *e = &c->stack[t].e[i];

    for (int u = 0; u <= t; u++)
        for (size_t j = 0; j < (u == t ? i : c->stack[u].n); j++) {
            const struct tp_entry *x = &c->stack[u].e[j];
            if (x->line == e->line && x->file != NULL && e->file != NULL
                && strcmp(x->file, e->file) == 0)
                return 1;
        }
    return 0;
}

static int check_entry(trex_pam_handle_t *h, const struct tp_entry *e)
{
    const struct trex_pam_module *mod;
    char why[1024];
    int r;

    if (e->kind != TP_ENTRY_MODULE || e->ref == NULL || (mod = e->ref->mod) == NULL
        || mod->abi < 3 || mod->check == NULL)
        return TREX_PAM_SUCCESS;          /* abi 1 and 2 tables end before check */
    why[0] = '\0';
    h->in_module = 1;                     /* no service call from inside */
    h->cur_entry = e;
    r = mod->check(h, e->argc, (const char **)e->argv, e->ref->instance, why, sizeof why);
    h->in_module = 0;
    h->cur_entry = NULL;
    if (r == TREX_PAM_SUCCESS)
        return r;
    if (r < 0 || r >= TREX_PAM_RETURN_VALUES)
        r = TREX_PAM_SYSTEM_ERR;
    why[sizeof why - 1] = '\0';
    tp_log(h, LOG_ERR, "%s:%d: %s", e->file != NULL ? e->file : "?", e->line,
           why[0] != '\0' ? why : trex_pam_strerror(h, r));
    return r;
}

int trex_pam_check(trex_pam_handle_t *h)
{
    int rc, first = TREX_PAM_SUCCESS;

    if (!tp_handle_ok(h) || h->in_module)
        return TREX_PAM_SYSTEM_ERR;
    if (tp_stack_stale(h) && (rc = tp_stack_load(h)) != TREX_PAM_SUCCESS)
        return rc;
    for (int t = 0; t < TP_NTYPES; t++)
        for (size_t i = 0; i < h->conf->stack[t].n; i++) {
            if (seen_before(h->conf, t, i))
                continue;
            rc = check_entry(h, &h->conf->stack[t].e[i]);
            if (first == TREX_PAM_SUCCESS)
                first = rc;
        }
    tp_pause(h);                          /* what a module held for its checks */
    return first;
}
