/*
 * tallies.c - the faillock module's failure tallies for the administrator
 * (trex_pam_admin.h): read, list by second, clear. Tallies are read with
 * the store's counting call only (the times of the failures are found by
 * bisection over the counts) and judged by the faillock module's rule: at
 * least deny failures less than fail_interval before the latest, and the
 * latest less than unlock_time ago.
 */
#include <stdlib.h>
#include <string.h>
#include "admin.h"

/* Failures of name at or after since (and the latest time, if asked). */
static int fail_since(trex_pam_db_t *db, const char *name, int64_t since, int *n, int64_t *latest)
{
    return tp_admin_from_store(db, tp_store_fail_count(db->st, name, since, n, latest), name);
}

int trex_pam_db_faillock_get(trex_pam_db_t *db, const char *name, int deny,
                             int64_t fail_interval, int64_t unlock_time,
                             struct trex_pam_db_faillock *out)
{
    int rc;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    rc = tp_admin_begin(db, TP_ADMIN_READ | TP_ADMIN_USER, out != NULL, name);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    if (deny < 0 || deny > TP_ADMIN_MAX_DENY) {
        tp_admin_err(db, "deny must be from 0 to %d", TP_ADMIN_MAX_DENY);
        return TREX_PAM_BAD_ITEM;
    }
    if (fail_interval < 0 || fail_interval > TP_ADMIN_MAX_FAIL_SECONDS || unlock_time < 0
        || unlock_time > TP_ADMIN_MAX_FAIL_SECONDS) {
        tp_admin_err(db, "fail_interval and unlock_time must be from 0 to %lld seconds",
                (long long)TP_ADMIN_MAX_FAIL_SECONDS);
        return TREX_PAM_BAD_ITEM;
    }
    if ((rc = tp_admin_known_user(db, name)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = fail_since(db, name, 0, &out->total, &out->latest)) != TREX_PAM_SUCCESS)
        return rc;
    if (out->total == 0)
        return TREX_PAM_SUCCESS;
    /* less than fail_interval before the latest: time >= latest - fail_interval + 1 */
    if ((rc = fail_since(db, name, out->latest - fail_interval + 1, &out->failures, NULL))
        != TREX_PAM_SUCCESS)
        return rc;
    if (deny > 0 && out->failures >= deny
        && (unlock_time == 0 || out->latest + unlock_time >= tp_admin_now())) {
        out->locked = 1;
        out->unlock_at = unlock_time > 0 ? out->latest + unlock_time : 0;
    }
    return TREX_PAM_SUCCESS;
}

/* The failures of name from since up to and including the second until. */
static int fail_window(trex_pam_db_t *db, const char *name, int64_t since, int64_t until, int *n)
{
    int all = 0, after = 0, rc;

    *n = 0;
    if ((rc = fail_since(db, name, since, &all, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    if (until < INT64_MAX && (rc = fail_since(db, name, until + 1, &after, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    *n = all - after;
    return TREX_PAM_SUCCESS;
}

struct fail_second {
    int64_t time;
    int count;
};

int trex_pam_db_faillock_list(trex_pam_db_t *db, const char *name,
                              int (*fn)(void *data, int64_t time, int count), void *data)
{
    struct fail_second *v = NULL;
    size_t n = 0, cap = 0;
    int64_t latest = 0, t;
    int total = 0, cum = 0, c = 0, rc;

    rc = tp_admin_begin(db, TP_ADMIN_READ | TP_ADMIN_USER, fn != NULL, name);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = tp_admin_known_user(db, name)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = fail_since(db, name, 0, &total, &latest)) != TREX_PAM_SUCCESS || total == 0)
        return rc;
    /*
     * The store gives counts, not rows. window(t), the failures from t up
     * to latest, falls as t grows, one step per second with failures; from
     * the latest second down, the next earlier one is the largest t below
     * it where window(t) is more than so far (bisection), and the
     * difference is its count. Failures recorded meanwhile (after latest)
     * stay out of every window; a reset meanwhile ends the walk.
     */
    t = latest;
    if ((rc = fail_window(db, name, t, latest, &cum)) != TREX_PAM_SUCCESS)
        goto done;
    for (int here = cum; here > 0;) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct fail_second *nv = realloc(v, ncap * sizeof *nv);
            if (nv == NULL) {
                tp_admin_err(db, "out of memory");
                rc = TREX_PAM_BUF_ERR;
                goto done;
            }
            v = nv;
            cap = ncap;
        }
        v[n].time = t;
        v[n].count = here;
        n++;
        if (t <= 0 || cum >= total)
            break;
        if ((rc = fail_window(db, name, 0, latest, &c)) != TREX_PAM_SUCCESS)
            goto done;
        if (c <= cum)
            break;                          /* none earlier (a reset meanwhile) */
        {
            int64_t lo = 0, hi = t - 1;     /* window(lo) > cum holds at lo = 0 */
            while (lo < hi) {
                int64_t mid = lo + (hi - lo + 1) / 2;
                if ((rc = fail_window(db, name, mid, latest, &c)) != TREX_PAM_SUCCESS)
                    goto done;
                if (c > cum)
                    lo = mid;
                else
                    hi = mid - 1;
            }
            if ((rc = fail_window(db, name, lo, latest, &c)) != TREX_PAM_SUCCESS)
                goto done;
            t = lo;
        }
        here = c - cum;
        cum = c;
    }
    for (size_t i = n; i-- > 0;)
        if (fn(data, v[i].time, v[i].count) != 0)
            break;
done:
    free(v);
    return rc;
}

int trex_pam_db_faillock_reset(trex_pam_db_t *db, const char *name, int *count)
{
    int rc, n = 0;

    if (count != NULL)
        *count = 0;
    if ((rc = tp_admin_begin(db, TP_ADMIN_WRITE | TP_ADMIN_USER, 1, name)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = tp_admin_known_user(db, name)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = fail_since(db, name, 0, &n, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = tp_admin_from_store(db, tp_store_fail_reset(db->st, name), name)) == TREX_PAM_SUCCESS
        && count != NULL)
        *count = n;
    return rc;
}
