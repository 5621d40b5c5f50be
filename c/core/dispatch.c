/*
 * dispatch.c - running a stack the way Linux-PAM does (its _pam_dispatch
 * and _pam_dispatch_aux, step by step), and the six service calls.
 *
 * Where upstream and Debian differ, a jump replayed by setcred or
 * close_session is ignore + jump, as Debian's libpam does.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include "impl.h"

#define IMP_UNDEF      0
#define IMP_POSITIVE   1
#define IMP_NEGATIVE (-1)

#define MUST_FAIL_CODE TREX_PAM_PERM_DENIED   /* broken lines, empty stacks */

static enum tp_type type_of(enum tp_fn fn)
{
    switch (fn) {
    case TP_FN_AUTHENTICATE: case TP_FN_SETCRED: return TP_AUTH;
    case TP_FN_ACCT_MGMT: return TP_ACCOUNT;
    case TP_FN_OPEN_SESSION: case TP_FN_CLOSE_SESSION: return TP_SESSION;
    default: return TP_PASSWORD;
    }
}

static trex_pam_sm_fn hook_of(const struct trex_pam_module *m, enum tp_fn fn)
{
    switch (fn) {
    case TP_FN_AUTHENTICATE: return m->authenticate;
    case TP_FN_SETCRED: return m->setcred;
    case TP_FN_ACCT_MGMT: return m->acct_mgmt;
    case TP_FN_OPEN_SESSION: return m->open_session;
    case TP_FN_CLOSE_SESSION: return m->close_session;
    case TP_FN_CHAUTHTOK: return m->chauthtok;
    default: return NULL;
    }
}

/* setcred and close_session follow the path authenticate and open_session
 * took ("may be frozen": an entry that never ran uses its own result). */
static int replays(enum tp_fn fn)
{
    return fn == TP_FN_SETCRED || fn == TP_FN_CLOSE_SESSION;
}

/* The result of one entry. */
static int call_entry(trex_pam_handle_t *h, const struct tp_entry *e, enum tp_fn fn, int flags)
{
    trex_pam_sm_fn f;
    int r;

    if (e->kind == TP_ENTRY_MUSTFAIL)
        return MUST_FAIL_CODE;
    if (e->ref == NULL || e->ref->mod == NULL || (f = hook_of(e->ref->mod, fn)) == NULL)
        return TREX_PAM_MODULE_UNKNOWN;
    h->in_module = 1;
    h->cur_fn = fn;
    h->cur_flags = flags;
    h->cur_entry = e;
    r = f(h, flags, e->argc, (const char **)e->argv, e->ref->instance);
    h->in_module = 0;
    h->cur_entry = NULL;
    return r;
}

/* _pam_dispatch_aux: walk the stack and combine the results. results[i]
 * is what entry i last returned to authenticate/open_session. */
static int run_stack(trex_pam_handle_t *h, const struct tp_stack *st, int *results, enum tp_fn fn,
                     int flags, int resumed)
{
    int sub_impression[TP_MAX_DEPTH + 1], sub_status[TP_MAX_DEPTH + 1];
    int impression, status, level = 0, prev_level = 0;
    int replay = replays(fn);
    size_t i, skip = 0;

    if (st->n == 0) {
        const char *svc = h->item[TREX_PAM_SERVICE];
        tp_log(h, LOG_ERR, "no modules loaded for `%s' service", svc != NULL ? svc : "<unknown>");
        return MUST_FAIL_CODE;
    }
    if (resumed) {                       /* carry on where INCOMPLETE left off */
        skip = h->resume.pos;
        impression = h->resume.impression;
        status = h->resume.status;
        memcpy(sub_impression, h->resume.saved_impression, sizeof sub_impression);
        memcpy(sub_status, h->resume.saved_status, sizeof sub_status);
    } else {
        for (int l = 0; l <= TP_MAX_DEPTH; l++) {
            sub_impression[l] = IMP_UNDEF;
            sub_status[l] = MUST_FAIL_CODE;
        }
        impression = IMP_UNDEF;
        status = MUST_FAIL_CODE;
    }

    for (i = 0; i < st->n; prev_level = level, i++) {
        const struct tp_entry *e = &st->e[i];
        int r, cached, action;

        level = e->depth;
        if (level < 0 || level > TP_MAX_DEPTH)
            level = TP_MAX_DEPTH;         /* cannot happen: the parser stops at 15 */
        if (i < skip)
            continue;
        if (prev_level < level) {         /* entering a substack */
            sub_impression[level] = impression;
            sub_status[level] = status;
        }
        if (e->kind == TP_ENTRY_SUBSTACK)
            continue;                     /* the header itself does nothing */

        r = call_entry(h, e, fn, flags);

        if (r == TREX_PAM_INCOMPLETE) {   /* the module waits for the application */
            h->resume.pos = i;
            h->resume.depth = level;
            h->resume.impression = impression;
            h->resume.status = status;
            memcpy(h->resume.saved_impression, sub_impression, sizeof sub_impression);
            memcpy(h->resume.saved_status, sub_status, sizeof sub_status);
            return TREX_PAM_INCOMPLETE;
        }

        if (replay)
            cached = results[i] != TP_RESULT_NONE ? results[i] : r;
        else                              /* this run defines the chain */
            cached = results[i] = r;

        if (cached < TREX_PAM_SUCCESS || cached >= TREX_PAM_RETURN_VALUES) {
            r = MUST_FAIL_CODE;           /* whatever the control says */
            action = TP_ACT_BAD;
        } else {
            action = e->actions[cached];
        }

        switch (action) {
        case TP_ACT_RESET:
            impression = sub_impression[level];
            status = sub_status[level];
            break;

        case TP_ACT_OK:
        case TP_ACT_DONE:
            if (impression == IMP_UNDEF ||
                (impression == IMP_POSITIVE && status == TREX_PAM_SUCCESS)) {
                /* a replayed IGNORE that was not ignored first is not returned */
                if (r != TREX_PAM_IGNORE || cached == r) {
                    impression = IMP_POSITIVE;
                    status = r;
                }
            }
            if (impression == IMP_POSITIVE && action == TP_ACT_DONE)
                goto decision_made;
            break;

        case TP_ACT_BAD:
        case TP_ACT_DIE:
            if (impression != IMP_NEGATIVE) {
                impression = IMP_NEGATIVE;
                status = r == TREX_PAM_IGNORE ? MUST_FAIL_CODE : r;
            }
            if (action == TP_ACT_DIE)
                goto decision_made;
            break;

        case TP_ACT_IGNORE:
            break;

        default:
            if (action > 0) {             /* skip that many entries of this level */
                while (i + 1 < st->n && st->e[i + 1].depth >= level && action > 0) {
                    do {
                        i++;
                    } while (i + 1 < st->n && st->e[i + 1].depth > level);
                    action--;
                }
            }
            if (action != 0) {            /* too far, or an unknown action */
                tp_log(h, LOG_ERR, "bad jump in stack");
                impression = IMP_NEGATIVE;
                status = MUST_FAIL_CODE;
            }
            break;
        }
        continue;

decision_made:                            /* end this level (and anything deeper) */
        while (i + 1 < st->n && st->e[i + 1].depth >= level)
            i++;
    }

    if (status == TREX_PAM_SUCCESS && impression != IMP_POSITIVE)
        status = MUST_FAIL_CODE;          /* nothing said yes */
    return status;
}

/* A pending call that will run from the top of its stack. */
static void reset_resume(struct tp_resume *r)
{
    r->pos = 0;
    r->depth = 0;
    r->impression = IMP_UNDEF;
    r->status = MUST_FAIL_CODE;
    for (int l = 0; l <= TP_MAX_DEPTH; l++) {
        r->saved_impression[l] = IMP_UNDEF;
        r->saved_status[l] = MUST_FAIL_CODE;
    }
    r->chauthtok_pass = 1;
}

/* Read the stack again after PAM_SERVICE changed. */
static int ensure_conf(trex_pam_handle_t *h)
{
    if (!tp_stack_stale(h))
        return TREX_PAM_SUCCESS;
    if (h->resume.active) {
        /* Linux-PAM resumes at the saved position and state in the new stack,
         * which can skip its failing entries and return the old stack's
         * SUCCESS. The call stays pending (others still get ABORT), but it
         * starts over at the top of the new stack. */
        tp_log(h, LOG_WARNING, "PAM_SERVICE changed during an interrupted call: it starts over");
        reset_resume(&h->resume);
    }
    return tp_stack_load(h);
}

/* _pam_dispatch */
int tp_dispatch(trex_pam_handle_t *h, enum tp_fn fn, int flags)
{
    int rc, resumed = 0;

    if (!tp_handle_ok(h) || h->in_module)
        return TREX_PAM_SYSTEM_ERR;
    if ((unsigned int)fn >= TP_NFNS) {
        tp_log(h, LOG_ERR, "undefined fn choice; %d", (int)fn);
        return TREX_PAM_ABORT;
    }
    if ((rc = ensure_conf(h)) != TREX_PAM_SUCCESS) {
        tp_log(h, LOG_ERR, "unable to dispatch function");
        return rc;
    }
    if (h->resume.active) {
        if (h->resume.fn != fn) {         /* the pending call must come first */
            tp_log(h, LOG_ERR, "application failed to re-exec stack [%d:%d]",
                   (int)h->resume.fn, (int)fn);
            return TREX_PAM_ABORT;
        }
        resumed = 1;
    }
    rc = run_stack(h, &h->conf->stack[type_of(fn)], h->results[type_of(fn)], fn, flags, resumed);
    tp_pause(h);
    if (rc == TREX_PAM_INCOMPLETE) {
        h->resume.active = 1;
        h->resume.fn = fn;
    } else {
        h->resume.active = 0;
    }
    return rc;
}

/* ---- the six service calls ------------------------------------------------------- */

int trex_pam_authenticate(trex_pam_handle_t *h, int flags)
{
    int rc;

    if (!tp_handle_ok(h) || h->in_module)
        return TREX_PAM_SYSTEM_ERR;
    if (!h->resume.active)
        tp_clear_tokens(h);
    rc = tp_dispatch(h, TP_FN_AUTHENTICATE, flags);
    if (rc != TREX_PAM_INCOMPLETE) {
        tp_clear_tokens(h);
        tp_delay_finish(h, rc);
    }
    return rc;
}

int trex_pam_setcred(trex_pam_handle_t *h, int flags)
{
    if (!tp_handle_ok(h) || h->in_module)
        return TREX_PAM_SYSTEM_ERR;
    if (flags == 0)
        flags = TREX_PAM_ESTABLISH_CRED;
    return tp_dispatch(h, TP_FN_SETCRED, flags);
}

int trex_pam_acct_mgmt(trex_pam_handle_t *h, int flags)
{
    if (!tp_handle_ok(h) || h->in_module)
        return TREX_PAM_SYSTEM_ERR;
    return tp_dispatch(h, TP_FN_ACCT_MGMT, flags);
}

int trex_pam_open_session(trex_pam_handle_t *h, int flags)
{
    if (!tp_handle_ok(h) || h->in_module)
        return TREX_PAM_SYSTEM_ERR;
    return tp_dispatch(h, TP_FN_OPEN_SESSION, flags);
}

int trex_pam_close_session(trex_pam_handle_t *h, int flags)
{
    if (!tp_handle_ok(h) || h->in_module)
        return TREX_PAM_SYSTEM_ERR;
    return tp_dispatch(h, TP_FN_CLOSE_SESSION, flags);
}

/* Two independent passes: PRELIM_CHECK, then (if it succeeded) UPDATE_AUTHTOK. */
int trex_pam_chauthtok(trex_pam_handle_t *h, int flags)
{
    int rc = TREX_PAM_SYSTEM_ERR, pass = 1;

    if (!tp_handle_ok(h) || h->in_module)
        return TREX_PAM_SYSTEM_ERR;
    if (flags & (TREX_PAM_PRELIM_CHECK | TREX_PAM_UPDATE_AUTHTOK)) {
        tp_log(h, LOG_ERR, "PAM_PRELIM_CHECK or PAM_UPDATE_AUTHTOK set by application");
        return TREX_PAM_SYSTEM_ERR;
    }
    if ((rc = ensure_conf(h)) != TREX_PAM_SUCCESS)
        return rc;                        /* before the pass is chosen: a reload restarts it */
    if (!h->resume.active) {
        tp_clear_tokens(h);
    } else if (h->resume.fn == TP_FN_CHAUTHTOK) {
        pass = h->resume.chauthtok_pass;  /* resume the pass that was interrupted */
    }
    if (pass != 2) {
        pass = 1;
        rc = tp_dispatch(h, TP_FN_CHAUTHTOK, flags | TREX_PAM_PRELIM_CHECK);
        if (rc == TREX_PAM_SUCCESS)
            pass = 2;
    }
    if (pass == 2)
        rc = tp_dispatch(h, TP_FN_CHAUTHTOK, flags | TREX_PAM_UPDATE_AUTHTOK);

    if (rc == TREX_PAM_INCOMPLETE) {
        h->resume.chauthtok_pass = pass;
    } else {
        tp_clear_tokens(h);
        tp_delay_finish(h, rc);
    }
    return rc;
}
