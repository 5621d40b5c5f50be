/*
 * t_modules.c - the built-in modules (permit, deny, debug under both
 * spellings) and external modules loaded by absolute path through the API
 * table (c/tests/ext_module.c, found through $TREX_PAM_TESTDIR): their
 * instance (module ABI 2: one per configuration, shared through a
 * configuration cache), a module of ABI 1 (no instance_new member), and one
 * of an ABI from the future.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

/* EXT_INSTANCE after setcred on a new handle for alice. */
static void instance_of(const char *service, struct trex_pam_confcache *cache, char *out, size_t n)
{
    trex_pam_handle_t *h;
    const char *v;
    th_cache(cache);
    h = th_start(service, "alice");
    th_cache(NULL);
    snprintf(out, n, "(no setcred)");
    if (trex_pam_setcred(h, 0) == TREX_PAM_SUCCESS && (v = trex_pam_getenv(h, "EXT_INSTANCE")) != NULL)
        snprintf(out, n, "%s", v);
    trex_pam_end(h, 0);
}

typedef int (*call_fn)(trex_pam_handle_t *, int);
static const call_fn calls[6] = { trex_pam_authenticate, trex_pam_setcred, trex_pam_acct_mgmt,
                                  trex_pam_open_session, trex_pam_close_session, trex_pam_chauthtok };
static const char *const call_names[6] = { "authenticate", "setcred", "acct_mgmt", "open_session",
                                           "close_session", "chauthtok" };

static void six(const char *service, const int want[6], const char *what)
{
    trex_pam_handle_t *h = th_start(service, "alice");
    for (int i = 0; i < 6; i++)
        tap_is_int(calls[i](h, 0), want[i], "%s: %s", what, call_names[i]);
    trex_pam_end(h, 0);
}

static void test_builtins(void)
{
    static const int all_ok[6] = { 0, 0, 0, 0, 0, 0 };
    static const int deny[6] = { TREX_PAM_AUTH_ERR, TREX_PAM_CRED_ERR, TREX_PAM_AUTH_ERR,
                                 TREX_PAM_SESSION_ERR, TREX_PAM_SESSION_ERR, TREX_PAM_AUTHTOK_ERR };
    static const int debug[6] = { TREX_PAM_AUTH_ERR, TREX_PAM_CRED_UNAVAIL, TREX_PAM_ACCT_EXPIRED,
                                  TREX_PAM_BUF_ERR, TREX_PAM_SYSTEM_ERR, TREX_PAM_SERVICE_ERR };
    static const int missing[6] = { TREX_PAM_MODULE_UNKNOWN, TREX_PAM_MODULE_UNKNOWN, TREX_PAM_MODULE_UNKNOWN,
                                    TREX_PAM_MODULE_UNKNOWN, TREX_PAM_MODULE_UNKNOWN, TREX_PAM_MODULE_UNKNOWN };
    trex_pam_handle_t *h;
    const void *v;

    six("permit", all_ok, "permit");
    six("pam_permit", all_ok, "pam_permit.so");
    six("deny", deny, "deny");
    six("pam_deny", deny, "pam_deny.so");
    six("debug", debug, "debug with arguments");
    six("pam_permit_noso", missing, "'pam_permit' without .so is not a built-in");

    h = th_start("debug", "alice");
    trex_pam_authenticate(h, 0);
    tap_is_str(th_seen(), "INFO:auth=auth_err", "debug: one TEXT_INFO naming the argument");
    th_seen_reset();
    trex_pam_chauthtok(h, 0);
    tap_is_str(th_seen(), "INFO:prechauthtok=success|INFO:chauthtok=service_err",
               "debug: prechauthtok in the PRELIM pass, chauthtok in the UPDATE pass");
    trex_pam_end(h, 0);

    h = th_start("debug_first", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "debug: an unknown name gives success ...");
    tap_is_str(th_seen(), "", "... and no message; the first auth= argument decides");
    trex_pam_end(h, 0);

    h = th_start("permit", NULL);
    th_answers(1, "bob");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "permit without a user prompts");
    tap_is_str(th_seen(), "ECHO:login:", "... 'login:' with echo on");
    tap_is_str((trex_pam_get_item(h, TREX_PAM_USER, &v), (const char *)v), "bob", "... and keeps the answer");
    trex_pam_end(h, 0);

    h = th_start("permit", "");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "permit with an empty user");
    tap_is_str((trex_pam_get_item(h, TREX_PAM_USER, &v), (const char *)v), "nobody", "... names it nobody");
    trex_pam_end(h, 0);
}

static void test_external(void)
{
    trex_pam_handle_t *h;
    const char *v;

    h = th_start("ext", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "external module: authenticate alice");
    tap_is_int(trex_pam_setcred(h, 0), TREX_PAM_SUCCESS, "external module: setcred");
    tap_is_str(trex_pam_getenv(h, "EXT_MODULE"), "loaded", "... set the environment through the API table");
    tap_is_str((trex_pam_get_named_item(h, "TREX_EXT", &v), v), "yes", "... and a named item");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ACCT_EXPIRED, "ret= argument");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "open_session");
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_MODULE_UNKNOWN, "a NULL hook is MODULE_UNKNOWN");
    trex_pam_end(h, 0);

    h = th_start("ext", "bob");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR, "external module: bob refused");
    trex_pam_end(h, 0);

    /* the instance: one per configuration (the first handle keeps the
     * shared object loaded, so that its counter goes on) */
    {
        struct trex_pam_confcache *cache = trex_pam_confcache_new();
        trex_pam_handle_t *keep = th_start("ext", "alice");
        char a[64], b[64], c[64], d[64];
        instance_of("ext", NULL, a, sizeof a);
        instance_of("ext", NULL, b, sizeof b);
        tap_ok(strcmp(a, "none") != 0 && strcmp(a, "(no setcred)") != 0,
               "ABI 2: instance_new made an instance (%s)", a);
        tap_ok(strcmp(a, b) != 0, "... without a cache, one per handle (%s, %s)", a, b);
        instance_of("ext", cache, c, sizeof c);
        instance_of("ext", cache, d, sizeof d);
        tap_is_str(d, c, "... with a cache, the handles of one configuration share one");
        tap_ok(strcmp(c, b) != 0, "... made when the configuration was loaded");
        trex_pam_confcache_free(cache);         /* releases it (ASan: no leak) */
        trex_pam_end(keep, 0);
    }

    /* a module built against ABI 1: its table has no instance_new */
    setenv("TREX_EXT_ABI", "1", 1);
    h = th_start("ext", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "ABI 1 module: loads and authenticates");
    tap_is_int(trex_pam_setcred(h, 0), TREX_PAM_SUCCESS, "ABI 1 module: setcred");
    tap_is_str(trex_pam_getenv(h, "EXT_INSTANCE"), "none", "... with no instance");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ACCT_EXPIRED, "... and its arguments");
    trex_pam_end(h, 0);
    {
        struct trex_pam_confcache *cache = trex_pam_confcache_new();
        th_cache(cache);
        h = th_start("ext", "alice");
        tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "ABI 1 module through a cache");
        trex_pam_end(h, 0);
        h = th_start("ext", "alice");
        tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "... again, sharing the configuration");
        trex_pam_end(h, 0);
        th_cache(NULL);
        trex_pam_confcache_free(cache);
    }
    setenv("TREX_EXT_ABI", "4", 1);
    h = th_start("ext", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_MODULE_UNKNOWN, "an ABI from the future is refused");
    trex_pam_end(h, 0);
    unsetenv("TREX_EXT_ABI");
}

/* trex_pam_check: each line's module answers, the core says where */
static void test_check(void)
{
    trex_pam_handle_t *h;

    h = th_start("ext", "alice");
    th_log_reset();
    tap_is_int(trex_pam_check(h), TREX_PAM_SUCCESS, "check: lines with nothing to say: SUCCESS");
    tap_is_int(th_log_lines(), 0, "... and no log line");
    trex_pam_end(h, 0);

    h = th_start("ext_check", "alice");
    th_log_reset();
    tap_is_int(trex_pam_check(h), TREX_PAM_AUTHINFO_UNAVAIL, "check: the first failing line's code");
    tap_is_int(th_log_count("told to answer"), 2,
               "... one line per failing line, a file included twice once");
    tap_ok(th_logged("ext_check:2: ext_module: told to answer authinfo_unavail"), "%s", th_log_all());
    tap_ok(th_logged("ext_check_inc:1: ext_module: told to answer service_err"),
           "... the included file's line, by its own name");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "... the handle works on");
    trex_pam_end(h, 0);

    setenv("TREX_EXT_ABI", "2", 1);       /* a table without check: never read past its end */
    h = th_start("ext_check", "alice");
    th_log_reset();
    tap_is_int(trex_pam_check(h), TREX_PAM_SUCCESS, "check: an ABI 2 module has nothing to say");
    trex_pam_end(h, 0);
    unsetenv("TREX_EXT_ABI");
    tap_is_int(trex_pam_check(NULL), TREX_PAM_SYSTEM_ERR, "check: no handle: SYSTEM_ERR");

    h = th_start("ext_missing", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_MODULE_UNKNOWN, "missing shared object: MODULE_UNKNOWN");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "... an optional missing one is skipped");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_MODULE_UNKNOWN,
               "a shared object without the entry symbol (a Linux-PAM module)");
    trex_pam_end(h, 0);
}

/* The log's lines (since th_log_reset) that speak of a cleanup, each as "[line]". */
static const char *cleanups(void)
{
    static char out[256];
    out[0] = '\0';
    for (const char *p = th_log(); *p != '\0';) {
        const char *end = strchr(p, '\n');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        if (memmem(p, n, "cleanup", 7) != NULL)
            snprintf(out + strlen(out), sizeof out - strlen(out), "[%.*s]", (int)n, p);
        p += n + (end != NULL);
    }
    return out;
}

/* A module's data outlives a change of PAM_SERVICE: the configuration that
 * loaded the module (its shared object, its instance) is kept until
 * trex_pam_end has run the data's cleanup. (Without a cache the handle
 * holds the only reference: freeing it unloaded the object under the
 * cleanup.) */
static void test_service_change(void)
{
    trex_pam_handle_t *h;

    th_log_reset();
    h = th_start("ext_data", "alice");
    tap_is_int(th_start_rc(), TREX_PAM_SUCCESS, "service change: start");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "... the module sets its data");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_SERVICE, "permit"), TREX_PAM_SUCCESS,
               "... PAM_SERVICE changes");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "... the new stack runs");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_SERVICE, "deny"), TREX_PAM_SUCCESS,
               "... and changes again");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR, "... the third stack runs");
    tap_is_str(cleanups(), "", "... the data lives on meanwhile");
    tap_is_int(trex_pam_end(h, 0), TREX_PAM_SUCCESS, "... pam_end");
    tap_is_str(cleanups(), "[ext_module: cleanup of kept]",
               "... runs the cleanup in the module the first stack loaded");

    /* through a cache the stacks come back: each is kept once */
    {
        struct trex_pam_confcache *cache = trex_pam_confcache_new();
        int ok = 1;

        th_cache(cache);
        th_log_reset();
        h = th_start("ext_data", "alice");
        ok &= trex_pam_authenticate(h, 0) == TREX_PAM_SUCCESS;
        for (int i = 0; i < 20; i++) {
            ok &= trex_pam_set_item(h, TREX_PAM_SERVICE, i % 2 ? "ext_data" : "permit") ==
                  TREX_PAM_SUCCESS;
            ok &= trex_pam_acct_mgmt(h, 0) == (i % 2 ? TREX_PAM_ACCT_EXPIRED : TREX_PAM_SUCCESS);
        }
        tap_ok(ok, "service change through a cache, 20 times: each stack runs");
        tap_is_int(trex_pam_end(h, 0), TREX_PAM_SUCCESS, "... pam_end");
        tap_is_str(cleanups(), "[ext_module: cleanup of kept]", "... runs the cleanup once");
        th_cache(NULL);
        trex_pam_confcache_free(cache);     /* ASan: every reference given back */
    }
}

int main(void)
{
    static const struct th_text files[] = {
        { "ext", "auth required @EXT@ user=alice\nauth required @EXT@\n"
                 "account required @EXT@ ret=acct_expired\n"
                 "session required @EXT@\n" },
        { "ext_check", "auth required @EXT@\nauth optional @EXT@ check=authinfo_unavail\n"
                       "account include ext_check_inc\naccount include ext_check_inc\n" },
        { "ext_check_inc", "account required @EXT@ check=service_err\n" },
        { "ext_data", "auth required @EXT@ data=kept\naccount required @EXT@ ret=acct_expired\n" },
        { "ext_missing", "auth required /nonexistent/module.so\naccount optional /nonexistent/x.so\n"
                         "account required permit\n"
                         "session required /lib/x86_64-linux-gnu/security/pam_permit.so\n" },
        { "permit", "auth required permit\naccount required permit\npassword required permit\n"
                    "session required permit\n" },
        { "pam_permit", "auth required pam_permit.so\naccount required pam_permit.so\n"
                        "password required pam_permit.so\nsession required pam_permit.so\n" },
        { "pam_permit_noso", "auth required pam_permit\naccount required pam_permit\n"
                             "password required pam_permit\nsession required pam_permit\n" },
        { "deny", "auth required deny\naccount required deny\npassword required deny\n"
                  "session required deny\n" },
        { "pam_deny", "auth required pam_deny.so\naccount required pam_deny.so\n"
                      "password required pam_deny.so\nsession required pam_deny.so\n" },
        { "debug", "auth required debug auth=auth_err cred=cred_unavail\n"
                   "account required pam_debug.so acct=acct_expired\n"
                   "session required debug open_session=buf_err close_session=system_err\n"
                   "password required debug prechauthtok=success chauthtok=service_err\n" },
        { "debug_first", "auth required debug auth=nosuch auth=auth_err\n" },
        { NULL, NULL }
    };
    const char *tdir = getenv("TREX_PAM_TESTDIR");
    char so[PATH_MAX];

    snprintf(so, sizeof so, "%s/ext_module.so", tdir != NULL ? tdir : ".");
    th_define("@EXT@", so);
    th_files(files);
    th_settle();
    test_builtins();
    test_external();
    test_check();
    test_service_change();
    return th_done();
}
