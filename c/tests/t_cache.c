/*
 * t_cache.c - the configuration cache: handles share a parsed stack while
 * its files are unchanged, see every change at their next start (file
 * rewritten, created, deleted, an included file changed), keep their own
 * frozen-chain results, and outlive the cache entry and the cache itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"
#include "impl.h"

static char msgs[1024];
static int conv_fn(int n, const struct trex_pam_message **m, struct trex_pam_response **r, void *d)
{
    struct trex_pam_response *out = calloc((size_t)n, sizeof *out);
    if (out == NULL)
        return TREX_PAM_BUF_ERR;
    for (int i = 0; i < n; i++)
        snprintf(msgs + strlen(msgs), sizeof msgs - strlen(msgs), "[%s]", m[i]->msg);
    *r = out;
    return TREX_PAM_SUCCESS;
}

static char *dir;
static struct trex_pam_confcache *cache;

static trex_pam_handle_t *start(const char *service)
{
    struct trex_pam_conv c = { conv_fn, NULL };
    struct trex_pam_options o = { .size = sizeof o, .registry = trex_pam_builtin_registry(), .confdir = dir, .log_mode = TREX_PAM_LOG_NONE,
                                  .cache = cache };
    trex_pam_handle_t *h = NULL;
    if (trex_pam_start_opts(service, "alice", &c, &o, &h) != TREX_PAM_SUCCESS)
        tap_diag("start %s failed", service);
    return h;
}

/* Let the files' ctime get older than the racy window (20 ms). */
static void settle(void)
{
    struct timespec ts = { 0, 30 * 1000000L };
    nanosleep(&ts, NULL);
}

static int auth(const char *service)
{
    trex_pam_handle_t *h = start(service);
    int rc = h ? trex_pam_authenticate(h, 0) : -1;
    trex_pam_end(h, 0);
    return rc;
}

int main(void)
{
    trex_pam_handle_t *a, *b;
    char path[4096];

    dir = tap_tmpdir();
    cache = trex_pam_confcache_new();
    tap_is_int(trex_pam_confcache_recheck(cache, 0), 1000, "files are checked again every 1000 us by default");
    if (dir == NULL || cache == NULL ||
        tap_write_file(dir, "svc", "auth required debug auth=success cred=cred_err\n") ||
        tap_write_file(dir, "other", "auth required debug auth=auth_err\n")) {
        printf("Bail out! setup\n");
        return 1;
    }

    a = start("svc");
    tap_ok(a && a->conf->racy, "a file written just now is racy: its stat data is not trusted yet");
    trex_pam_end(a, 0);
    settle();
    a = start("svc");
    b = start("svc");
    tap_ok(a && b && a->conf == b->conf, "two handles share one parsed configuration");
    tap_is_int(a->conf->refs, 3, "... held by both handles and the cache");
    tap_ok(a->results[TP_AUTH] != b->results[TP_AUTH], "... but each has its own results");
    tap_is_int(trex_pam_authenticate(a, 0), TREX_PAM_SUCCESS, "a authenticates");
    tap_is_int(trex_pam_setcred(b, 0), TREX_PAM_CRED_ERR, "b's setcred (no authenticate yet) uses its own result");

    /* rewrite the service file while a and b hold the old stack */
    tap_write_file(dir, "svc", "auth required debug auth=maxtries cred=success\nauth required permit\n");
    tap_is_int(auth("svc"), TREX_PAM_MAXTRIES, "a rewritten file is read again at the next start");
    tap_is_int(trex_pam_setcred(a, 0), TREX_PAM_CRED_ERR, "a handle started before keeps the stack it had");
    trex_pam_end(a, 0);
    trex_pam_end(b, 0);

    settle();
    a = start("svc");
    b = start("svc");
    tap_ok(a && b && a->conf == b->conf && a->conf->stack[TP_AUTH].n == 2, "the new stack is cached in turn");
    trex_pam_end(a, 0);
    trex_pam_end(b, 0);

    tap_is_int(auth("late"), TREX_PAM_AUTH_ERR, "a missing service falls back to other");
    tap_write_file(dir, "late", "auth required permit\n");
    tap_is_int(auth("late"), TREX_PAM_SUCCESS, "a service file created later is seen");
    snprintf(path, sizeof path, "%s/late", dir);
    unlink(path);
    tap_is_int(auth("late"), TREX_PAM_AUTH_ERR, "... and its removal too");

    tap_write_file(dir, "inc", "auth include part\n");
    tap_write_file(dir, "part", "auth required debug auth=success\n");
    tap_is_int(auth("inc"), TREX_PAM_SUCCESS, "include");
    tap_write_file(dir, "part", "auth required debug auth=cred_expired\n");
    tap_is_int(auth("inc"), TREX_PAM_CRED_EXPIRED, "a changed included file is seen");
    snprintf(path, sizeof path, "%s/part", dir);
    unlink(path);
    tap_is_int(auth("inc"), TREX_PAM_PERM_DENIED, "a vanished included file: must-fail");

    snprintf(path, sizeof path, "%s/other", dir);
    unlink(path);
    tap_is_int(auth("nosuch"), -1, "neither service nor other: start fails (ABORT) ...");
    tap_write_file(dir, "other", "auth required permit\n");
    tap_is_int(auth("nosuch"), TREX_PAM_SUCCESS, "... until other appears");

    /* same size, same second: the racy rule catches it */
    tap_write_file(dir, "quick", "auth required permit\n");
    tap_is_int(auth("quick"), TREX_PAM_SUCCESS, "quick: permit");
    tap_write_file(dir, "quick", "auth required deny  \n");
    tap_is_int(auth("quick"), TREX_PAM_AUTH_ERR, "rewritten at once with the same size: still seen");

    /* the recheck interval: within it, no stat at all */
    trex_pam_confcache_recheck(cache, 60L * 1000000L);
    tap_write_file(dir, "slow", "auth required permit\n");
    {
        settle();
        auth("slow");                     /* read again now that it is not racy */
        tap_is_int(auth("slow"), TREX_PAM_SUCCESS, "slow: permit, cached");
        tap_write_file(dir, "slow", "auth required deny\n");
        tap_is_int(auth("slow"), TREX_PAM_SUCCESS, "within the recheck interval the cached stack is used");
        trex_pam_confcache_recheck(cache, 0);
        tap_is_int(auth("slow"), TREX_PAM_AUTH_ERR, "after it, the change is seen");
    }

    /* many services: more than the cache holds */
    for (int i = 0; i < 3 * TP_CACHE_SLOTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "s%d", i);
        tap_write_file(dir, name, i % 2 ? "auth required permit\n" : "auth required deny\n");
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
    trex_pam_confcache_free(NULL);
    tap_ok(1, "freeing a NULL cache is harmless");
    tap_rmtree(dir);
    free(dir);
    return tap_done();
}
