/*
 * check.c - trex_pam_check: every line of a handle's configuration asks
 * its module whether it can work here (the module table's check, abi 3),
 * for trex-pam check-config. The core knows no module by name: it walks
 * the lines, the modules answer, the core puts file:line before each
 * answer. trex_pam_lines lends the lines themselves to whoever must read
 * a module's arguments as the module does (trex-pam faillock --service).
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "impl.h"

/* An entry and the order it is checked in: its file's (in the order the
 * files first appear in the stacks), then its line. */
struct line_ref {
    const struct tp_entry *e;
    size_t file_rank;
};

static int by_place(const void *a, const void *b)
{
    const struct line_ref *x = a, *y = b;

    if (x->file_rank != y->file_rank)
        return x->file_rank < y->file_rank ? -1 : 1;
    return (x->e->line > y->e->line) - (x->e->line < y->e->line);
}

static int same_file(const struct tp_entry *a, const struct tp_entry *b)
{
    return a->file == b->file || (a->file != NULL && b->file != NULL
                                  && strcmp(a->file, b->file) == 0);
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
    struct line_ref *refs;
    size_t n = 0, total = 0;
    int rc, first = TREX_PAM_SUCCESS;

    if (!tp_handle_ok(h) || h->in_module)
        return TREX_PAM_SYSTEM_ERR;
    if (tp_stack_stale(h) && (rc = tp_stack_load(h)) != TREX_PAM_SUCCESS)
        return rc;
    for (int t = 0; t < TP_NTYPES; t++)
        total += h->conf->stack[t].n;
    if (total == 0)
        return TREX_PAM_SUCCESS;
    if ((refs = calloc(total, sizeof *refs)) == NULL)
        return TREX_PAM_BUF_ERR;
    for (int t = 0; t < TP_NTYPES; t++)
        for (size_t i = 0; i < h->conf->stack[t].n; i++) {
            const struct tp_entry *e = &h->conf->stack[t].e[i];
            size_t rank = n;
            for (size_t j = 0; j < n; j++)
                if (same_file(refs[j].e, e)) {
                    rank = refs[j].file_rank;
                    break;
                }
            refs[n].e = e;
            refs[n++].file_rank = rank;
        }
    qsort(refs, n, sizeof *refs, by_place);
    for (size_t i = 0; i < n; i++) {
        /* a file included twice: each of its lines once */
        if (i > 0 && refs[i].e->line == refs[i - 1].e->line && same_file(refs[i].e, refs[i - 1].e))
            continue;
        rc = check_entry(h, refs[i].e);
        if (first == TREX_PAM_SUCCESS)
            first = rc;
    }
    free(refs);
    tp_pause(h);                          /* what a module held for its checks */
    return first;
}

int trex_pam_lines(trex_pam_handle_t *h, const char *type,
                   int (*fn)(void *data, const struct trex_pam_line *line), void *data)
{
    static const char *const names[TP_NTYPES] = { "auth", "account", "session", "password" };
    int t = 0, rc;

    if (!tp_handle_ok(h) || h->in_module || type == NULL || fn == NULL)
        return TREX_PAM_SYSTEM_ERR;
    while (t < TP_NTYPES && strcmp(names[t], type) != 0)
        t++;
    if (t == TP_NTYPES)
        return TREX_PAM_SYSTEM_ERR;
    if (tp_stack_stale(h) && (rc = tp_stack_load(h)) != TREX_PAM_SUCCESS)
        return rc;
    for (size_t i = 0; i < h->conf->stack[t].n; i++) {
        const struct tp_entry *e = &h->conf->stack[t].e[i];
        struct trex_pam_line l;

        if (e->kind != TP_ENTRY_MODULE || e->ref == NULL)
            continue;
        l.file = e->file != NULL ? e->file : "?";
        l.line = e->line;
        l.builtin = h->conf->builtin;
        l.module = e->ref->name;
        l.mod = e->ref->mod;
        l.argc = e->argc;
        l.argv = (const char *const *)e->argv;
        if (fn(data, &l) != 0)
            break;
    }
    return TREX_PAM_SUCCESS;
}
