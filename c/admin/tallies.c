/*
 * tallies.c - the faillock module's failure tallies for the administrator
 * (trex_pam_admin.h): read, list (by second, or every user's), clear.
 * A tally is judged by the faillock module's rule: at least deny failures
 * less than fail_interval before the latest, and the latest less than
 * unlock_time ago. Any valid name has one, a user's or not: the module
 * counts every name.
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

struct second_walk {
    int (*fn)(void *data, int64_t time, int count);
    void *data;
};

/* One user's times (oldest first) as seconds with their counts. */
static int by_second(void *data, const char *user, const int64_t *times, size_t n)
{
    struct second_walk *w = data;

    (void)user;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && times[j] == times[i]; j++)
            ;
        if (w->fn(w->data, times[i], (int)(j - i)) != 0)
            return 1;
    }
    return 1;
}

int trex_pam_db_faillock_list(trex_pam_db_t *db, const char *name,
                              int (*fn)(void *data, int64_t time, int count), void *data)
{
    struct second_walk w = { fn, data };
    int rc;

    rc = tp_admin_begin(db, TP_ADMIN_READ | TP_ADMIN_USER, fn != NULL, name);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    return tp_admin_from_store(db, tp_store_fail_list(db->st, name, by_second, &w), name);
}

int trex_pam_db_tally_list(trex_pam_db_t *db, const char *name,
                           int (*fn)(void *data, const char *user, const int64_t *times, size_t n),
                           void *data)
{
    int rc;

    if ((rc = tp_admin_begin(db, TP_ADMIN_READ, fn != NULL, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    if (name != NULL) {
        if (!trex_pam_db_valid_user(name))
            return tp_admin_bad_user(db, name);
    }
    return tp_admin_from_store(db, tp_store_fail_list(db->st, name, fn, data), name);
}

int trex_pam_db_faillock_reset(trex_pam_db_t *db, const char *name, int *count)
{
    int rc, n = 0;

    if (count != NULL)
        *count = 0;
    if ((rc = tp_admin_begin(db, TP_ADMIN_WRITE | TP_ADMIN_USER, 1, name)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = fail_since(db, name, 0, &n, NULL)) != TREX_PAM_SUCCESS)
        return rc;
    if ((rc = tp_admin_from_store(db, tp_store_fail_reset(db->st, name), name)) == TREX_PAM_SUCCESS
        && count != NULL)
        *count = n;
    return rc;
}
