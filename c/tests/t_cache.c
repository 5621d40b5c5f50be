/*
 * t_cache.c - the configuration cache: handles share a parsed stack while
 * its files are unchanged, see every change at their next start (file
 * rewritten, created, deleted, an included file changed), keep their own
 * frozen-chain results, and outlive the cache entry and the cache itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "impl.h"

static struct trex_pam_confcache *cache;

static trex_pam_handle_t *start(const char *service)
{
    return th_start(service, "alice");
}

static int auth(const char *service)
{
    return th_auth(service, "alice", NULL, 0);
}

static void free_null(void *arg)
{
    trex_pam_confcache_free(NULL);
}

int main(void)
{
    trex_pam_handle_t *a, *b;

    cache = trex_pam_confcache_new();
    tap_is_int(trex_pam_confcache_recheck(cache, 0), 1000, "files are checked again every 1000 us by default");
    if (cache == NULL ||
        th_file("svc", "auth required debug auth=success cred=cred_err\n") ||
        th_file("other", "auth required debug auth=auth_err\n"))
        th_bail("setup");
    th_cache(cache);

    a = start("svc");
    tap_ok(a && a->conf->racy, "a file written just now is racy: its stat data is not trusted yet");
    trex_pam_end(a, 0);
    th_settle();
    a = start("svc");
    b = start("svc");
    tap_ok(a && b && a->conf == b->conf, "two handles share one parsed configuration");
    tap_is_int(a->conf->refs, 3, "... held by both handles and the cache");
    tap_ok(a->results[TP_AUTH] != b->results[TP_AUTH], "... but each has its own results");
    tap_is_int(trex_pam_authenticate(a, 0), TREX_PAM_SUCCESS, "a authenticates");
    tap_is_int(trex_pam_setcred(b, 0), TREX_PAM_CRED_ERR, "b's setcred (no authenticate yet) uses its own result");

    /* rewrite the service file while a and b hold the old stack */
    th_file("svc", "auth required debug auth=maxtries cred=success\nauth required permit\n");
    tap_is_int(auth("svc"), TREX_PAM_MAXTRIES, "a rewritten file is read again at the next start");
    tap_is_int(trex_pam_setcred(a, 0), TREX_PAM_CRED_ERR, "a handle started before keeps the stack it had");
    trex_pam_end(a, 0);
    trex_pam_end(b, 0);

    th_settle();
    a = start("svc");
    b = start("svc");
    tap_ok(a && b && a->conf == b->conf && a->conf->stack[TP_AUTH].n == 2, "the new stack is cached in turn");
    trex_pam_end(a, 0);
    trex_pam_end(b, 0);

    tap_is_int(auth("late"), TREX_PAM_AUTH_ERR, "a missing service falls back to other");
    th_file("late", "auth required permit\n");
    tap_is_int(auth("late"), TREX_PAM_SUCCESS, "a service file created later is seen");
    unlink(th_path("late"));
    tap_is_int(auth("late"), TREX_PAM_AUTH_ERR, "... and its removal too");

    th_file("inc", "auth include part\n");
    th_file("part", "auth required debug auth=success\n");
    tap_is_int(auth("inc"), TREX_PAM_SUCCESS, "include");
    th_file("part", "auth required debug auth=cred_expired\n");
    tap_is_int(auth("inc"), TREX_PAM_CRED_EXPIRED, "a changed included file is seen");
    unlink(th_path("part"));
    tap_is_int(auth("inc"), TREX_PAM_PERM_DENIED, "a vanished included file: must-fail");

    unlink(th_path("other"));
    tap_is_int(auth("nosuch"), -1, "neither service nor other: start fails (ABORT) ...");
    th_file("other", "auth required permit\n");
    tap_is_int(auth("nosuch"), TREX_PAM_SUCCESS, "... until other appears");

    /* same size, same second: the racy rule catches it */
    th_file("quick", "auth required permit\n");
    tap_is_int(auth("quick"), TREX_PAM_SUCCESS, "quick: permit");
    th_file("quick", "auth required deny  \n");
    tap_is_int(auth("quick"), TREX_PAM_AUTH_ERR, "rewritten at once with the same size: still seen");

    /* the recheck interval: within it, no stat at all */
    trex_pam_confcache_recheck(cache, 60L * 1000000L);
    th_file("slow", "auth required permit\n");
    {
        th_settle();
        auth("slow");                     /* read again now that it is not racy */
        tap_is_int(auth("slow"), TREX_PAM_SUCCESS, "slow: permit, cached");
        th_file("slow", "auth required deny\n");
        tap_is_int(auth("slow"), TREX_PAM_SUCCESS, "within the recheck interval the cached stack is used");
        trex_pam_confcache_recheck(cache, 0);
        tap_is_int(auth("slow"), TREX_PAM_AUTH_ERR, "after it, the change is seen");
    }

    /* many services: more than the cache holds */
    for (int i = 0; i < 3 * TP_CACHE_SLOTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "s%d", i);
        th_file(name, i % 2 ? "auth required permit\n" : "auth required deny\n");
    }
    int wrong = 0;
    a = start("s0");                      /* held across evictions */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 3 * TP_CACHE_SLOTS; i++) {
            char name[32];
            snprintf(name, sizeof name, "s%d", i);
            wrong += auth(name) != (i % 2 ? TREX_PAM_SUCCESS : TREX_PAM_AUTH_ERR);
        }
    tap_is_int(wrong, 0, "more services than slots: every one still right");
    tap_is_int(trex_pam_authenticate(a, 0), TREX_PAM_AUTH_ERR, "a handle whose entry was evicted still works");

    trex_pam_confcache_free(cache);
    tap_is_int(trex_pam_acct_mgmt(a, 0), TREX_PAM_PERM_DENIED, "... and outlives the cache itself");
    tap_is_int(trex_pam_end(a, 0), TREX_PAM_SUCCESS, "end after the cache is gone");
    th_cache(NULL);
    th_returns(free_null, NULL, "freeing a NULL cache is harmless");
    return th_done();
}
