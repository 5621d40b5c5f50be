/*
 * t_cache.c - the configuration cache: handles share a parsed stack while
 * its files are unchanged, see every change at their next start (file
 * rewritten, created, deleted, an included file changed), keep their own
 * frozen-chain results, and outlive the cache entry and the cache itself;
 * $TREX_PAM_CONFDIR changed between two starts is seen at the second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
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

/* A start as an application makes it without naming a directory:
 * $TREX_PAM_CONFDIR decides. */
static trex_pam_handle_t *start_env(const char *service)
{
    struct trex_pam_conv c = { th_conv, NULL };
    struct trex_pam_options o = { .size = sizeof o, .registry = trex_pam_builtin_registry(),
                                  .cache = cache, .log_mode = TREX_PAM_LOG_NONE };
    trex_pam_handle_t *h = NULL;
    return trex_pam_start_opts(service, "alice", &c, &o, &h) == TREX_PAM_SUCCESS ? h : NULL;
}

static int auth_env(const char *service)
{
    trex_pam_handle_t *h = start_env(service);
    int rc = h ? trex_pam_authenticate(h, 0) : -1;
    trex_pam_end(h, rc);
    return rc;
}

/* The directory is named by $TREX_PAM_CONFDIR at every start: a change
 * between two handles is seen by the second, whether the variable is set
 * again or its string is changed where it stands (putenv), and a handle
 * keeps the directory it started with. */
static void test_env(void)
{
    static char var[4200];
    char one[4096], two[4096];
    trex_pam_handle_t *a, *b;
    const char *held;

    snprintf(one, sizeof one, "%s", th_path("one"));
    snprintf(two, sizeof two, "%s", th_path("two"));
    if (mkdir(one, 0700) || mkdir(two, 0700) ||
        th_file("one/svc", "auth required permit\n") || th_file("one/other", "auth required deny\n") ||
        th_file("two/svc", "auth required deny\n") || th_file("two/other", "auth required deny\n"))
        th_bail("setup of two directories");
    trex_pam_confcache_recheck(cache, 60L * 1000000L);   /* the cache could hide a change */
    th_settle();
    setenv("TREX_PAM_CONFDIR", one, 1);
    tap_is_int(auth_env("svc"), TREX_PAM_SUCCESS, "env: $TREX_PAM_CONFDIR names the directory");
    a = start_env("svc");
    b = start_env("svc");
    tap_ok(a && b && a->confdir == b->confdir && a->conf == b->conf,
           "env: the same value twice: one name and one stack, shared");
    setenv("TREX_PAM_CONFDIR", two, 1);
    tap_is_int(auth_env("svc"), TREX_PAM_AUTH_ERR, "env: set to another directory: seen at the next start");
    tap_ok(a && strcmp(a->confdir, one) == 0, "env: a handle keeps the directory it started with");
    tap_is_int(trex_pam_authenticate(a, 0), TREX_PAM_SUCCESS, "... and its stack");
    trex_pam_end(a, 0);
    trex_pam_end(b, 0);
    setenv("TREX_PAM_CONFDIR", one, 1);
    tap_is_int(auth_env("svc"), TREX_PAM_SUCCESS, "env: back to the first: seen");

    snprintf(var, sizeof var, "TREX_PAM_CONFDIR=%s", one);
    putenv(var);
    tap_is_int(auth_env("svc"), TREX_PAM_SUCCESS, "env: putenv of the same value");
    memcpy(var + strlen(var) - 3, "two", 3);              /* the string changed in place */
    tap_is_int(auth_env("svc"), TREX_PAM_AUTH_ERR, "env: the string changed where it stands: seen");
    unsetenv("TREX_PAM_CONFDIR");

    /* a missing directory: the registry's default stack when it is the
     * compiled default (not named), an error when it was named */
    a = start("svc");
    held = a ? a->confdir : NULL;
    if (a != NULL) {
        struct tp_conf *c = NULL;
        a->confdir = tp_confdir_hold(cache, "/nonexistent/trex-pam.d");
        a->confdir_explicit = 0;
        tap_is_int(tp_conf_load(a, "svc", &c), TREX_PAM_SUCCESS, "missing default directory: default stack");
        tp_conf_free(c);
        c = NULL;
        a->confdir_explicit = 1;
        tap_is_int(tp_conf_load(a, "svc", &c), TREX_PAM_ABORT,
                   "... the same directory named: ABORT, not the cached default stack");
        tp_conf_free(c);
        tp_confdir_drop(a->confdir);
        a->confdir = held;
    }
    trex_pam_end(a, 0);
    trex_pam_confcache_recheck(cache, 1000);
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
    tap_ok(a->results[TP_AUTH] == a->results_small, "... in the handle itself for a small stack");
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

    test_env();

    /* a stack with more entries than a handle holds results for */
    {
        char big[2048] = "";
        for (int i = 0; i < TP_RESULTS_SMALL; i++)
            strcat(big, "auth optional permit\n");
        strcat(big, "auth required debug auth=success cred=cred_err\n");
        th_file("big", big);
        a = start("big");
        tap_ok(a && a->results[TP_AUTH] != a->results_small, "a big stack: its results in a block of their own");
        tap_is_int(trex_pam_authenticate(a, 0), TREX_PAM_SUCCESS, "... authenticate");
        tap_is_int(trex_pam_setcred(a, 0), TREX_PAM_CRED_ERR, "... setcred follows its results");
        trex_pam_end(a, 0);
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
