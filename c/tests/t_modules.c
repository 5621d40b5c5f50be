/*
 * t_modules.c - the built-in modules (permit, deny, debug under both
 * spellings) and external modules loaded by absolute path through the API
 * table (c/tests/ext_module.c, found through $TREX_PAM_TESTDIR): their
 * instance (module ABI 2: one per configuration, shared through a
 * configuration cache), a module of ABI 1 (no instance_new member), and one
 * of an ABI from the future.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tap.h"
#include "trex_pam_module.h"

static char msgs[2048];
static const char *answer;
static int conv_fn(int n, const struct trex_pam_message **m, struct trex_pam_response **r, void *d)
{
    struct trex_pam_response *out = calloc((size_t)n, sizeof *out);
    if (out == NULL)
        return TREX_PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        snprintf(msgs + strlen(msgs), sizeof msgs - strlen(msgs), "[%d:%s]", m[i]->msg_style, m[i]->msg);
        if (m[i]->msg_style == TREX_PAM_PROMPT_ECHO_ON && answer != NULL)
            out[i].resp = strdup(answer);
    }
    *r = out;
    return TREX_PAM_SUCCESS;
}

static char *dir;

static trex_pam_handle_t *start_cached(const char *service, const char *user,
                                       struct trex_pam_confcache *cache)
{
    struct trex_pam_conv c = { conv_fn, NULL };
    struct trex_pam_options o = { .size = sizeof o, .registry = trex_pam_builtin_registry(), .confdir = dir, .log_mode = TREX_PAM_LOG_NONE,
                                  .cache = cache };
    trex_pam_handle_t *h = NULL;
    msgs[0] = '\0';
    if (trex_pam_start_opts(service, user, &c, &o, &h) != TREX_PAM_SUCCESS)
        tap_diag("start %s failed", service);
    return h;
}

static trex_pam_handle_t *start(const char *service, const char *user)
{
    return start_cached(service, user, NULL);
}

/* EXT_INSTANCE after setcred on a new handle for alice. */
static void instance_of(const char *service, struct trex_pam_confcache *cache, char *out, size_t n)
{
    trex_pam_handle_t *h = start_cached(service, "alice", cache);
    const char *v;
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
    trex_pam_handle_t *h = start(service, "alice");
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

    h = start("debug", "alice");
    trex_pam_authenticate(h, 0);
    tap_is_str(msgs, "[4:auth=auth_err]", "debug: one TEXT_INFO naming the argument");
    msgs[0] = '\0';
    trex_pam_chauthtok(h, 0);
    tap_is_str(msgs, "[4:prechauthtok=success][4:chauthtok=service_err]",
               "debug: prechauthtok in the PRELIM pass, chauthtok in the UPDATE pass");
    trex_pam_end(h, 0);

    h = start("debug_first", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "debug: an unknown name gives success ...");
    tap_is_str(msgs, "", "... and no message; the first auth= argument decides");
    trex_pam_end(h, 0);

    h = start("permit", NULL);
    answer = "bob";
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "permit without a user prompts");
    tap_is_str(msgs, "[2:login:]", "... 'login:' with echo on");
    tap_is_str((trex_pam_get_item(h, TREX_PAM_USER, &v), (const char *)v), "bob", "... and keeps the answer");
    trex_pam_end(h, 0);

    h = start("permit", "");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "permit with an empty user");
    tap_is_str((trex_pam_get_item(h, TREX_PAM_USER, &v), (const char *)v), "nobody", "... names it nobody");
    trex_pam_end(h, 0);
    answer = NULL;
}

static void test_external(void)
{
    trex_pam_handle_t *h;
    const char *v;

    h = start("ext", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "external module: authenticate alice");
    tap_is_int(trex_pam_setcred(h, 0), TREX_PAM_SUCCESS, "external module: setcred");
    tap_is_str(trex_pam_getenv(h, "EXT_MODULE"), "loaded", "... set the environment through the API table");
    tap_is_str((trex_pam_get_named_item(h, "TREX_EXT", &v), v), "yes", "... and a named item");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ACCT_EXPIRED, "ret= argument");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "open_session");
    tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_MODULE_UNKNOWN, "a NULL hook is MODULE_UNKNOWN");
    trex_pam_end(h, 0);

    h = start("ext", "bob");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR, "external module: bob refused");
    trex_pam_end(h, 0);

    /* the instance: one per configuration (the first handle keeps the
     * shared object loaded, so that its counter goes on) */
    {
        struct trex_pam_confcache *cache = trex_pam_confcache_new();
        trex_pam_handle_t *keep = start("ext", "alice");
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
    h = start("ext", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "ABI 1 module: loads and authenticates");
    tap_is_int(trex_pam_setcred(h, 0), TREX_PAM_SUCCESS, "ABI 1 module: setcred");
    tap_is_str(trex_pam_getenv(h, "EXT_INSTANCE"), "none", "... with no instance");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ACCT_EXPIRED, "... and its arguments");
    trex_pam_end(h, 0);
    {
        struct trex_pam_confcache *cache = trex_pam_confcache_new();
        h = start_cached("ext", "alice", cache);
        tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "ABI 1 module through a cache");
        trex_pam_end(h, 0);
        h = start_cached("ext", "alice", cache);
        tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "... again, sharing the configuration");
        trex_pam_end(h, 0);
        trex_pam_confcache_free(cache);
    }
    setenv("TREX_EXT_ABI", "3", 1);
    h = start("ext", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_MODULE_UNKNOWN, "an ABI from the future is refused");
    trex_pam_end(h, 0);
    unsetenv("TREX_EXT_ABI");

    h = start("ext_missing", "alice");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_MODULE_UNKNOWN, "missing shared object: MODULE_UNKNOWN");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "... an optional missing one is skipped");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_MODULE_UNKNOWN,
               "a shared object without the entry symbol (a Linux-PAM module)");
    trex_pam_end(h, 0);
}

static char cleanups[256];
static void log_cleanups(void *data, int prio, const char *line)
{
    if (strstr(line, "cleanup") != NULL)
        snprintf(cleanups + strlen(cleanups), sizeof cleanups - strlen(cleanups), "[%s]", line);
}

/* A module's data outlives a change of PAM_SERVICE: the configuration that
 * loaded the module (its shared object, its instance) is kept until
 * trex_pam_end has run the data's cleanup. (Without a cache the handle
 * holds the only reference: freeing it unloaded the object under the
 * cleanup.) */
static void test_service_change(void)
{
    struct trex_pam_conv c = { conv_fn, NULL };
    struct trex_pam_options o = { .size = sizeof o, .registry = trex_pam_builtin_registry(),
                                  .confdir = dir, .log_mode = TREX_PAM_LOG_CALLBACK,
                                  .log_fn = log_cleanups };
    trex_pam_handle_t *h = NULL;

    cleanups[0] = '\0';
    tap_is_int(trex_pam_start_opts("ext_data", "alice", &c, &o, &h), TREX_PAM_SUCCESS,
               "service change: start");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "... the module sets its data");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_SERVICE, "permit"), TREX_PAM_SUCCESS,
               "... PAM_SERVICE changes");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "... the new stack runs");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_SERVICE, "deny"), TREX_PAM_SUCCESS,
               "... and changes again");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR, "... the third stack runs");
    tap_is_str(cleanups, "", "... the data lives on meanwhile");
    tap_is_int(trex_pam_end(h, 0), TREX_PAM_SUCCESS, "... pam_end");
    tap_is_str(cleanups, "[ext_module: cleanup of kept]",
               "... runs the cleanup in the module the first stack loaded");
}

int main(void)
{
    const char *tdir = getenv("TREX_PAM_TESTDIR");
    char line[4096];

    dir = tap_tmpdir();
    if (tdir == NULL)
        tdir = ".";
    snprintf(line, sizeof line,
             "auth required %s/ext_module.so user=alice\nauth required %s/ext_module.so\n"
             "account required %s/ext_module.so ret=acct_expired\n"
             "session required %s/ext_module.so\n", tdir, tdir, tdir, tdir);
    if (dir == NULL || tap_write_file(dir, "ext", line))
        dir = NULL;
    snprintf(line, sizeof line, "auth required %s/ext_module.so data=kept\n", tdir);
    if (dir == NULL || tap_write_file(dir, "ext_data", line) ||
        tap_write_file(dir, "ext_missing",
                       "auth required /nonexistent/module.so\naccount optional /nonexistent/x.so\n"
                       "account required permit\n"
                       "session required /lib/x86_64-linux-gnu/security/pam_permit.so\n") ||
        tap_write_file(dir, "permit", "auth required permit\naccount required permit\npassword required permit\n"
                                      "session required permit\n") ||
        tap_write_file(dir, "pam_permit", "auth required pam_permit.so\naccount required pam_permit.so\n"
                                          "password required pam_permit.so\nsession required pam_permit.so\n") ||
        tap_write_file(dir, "pam_permit_noso", "auth required pam_permit\naccount required pam_permit\n"
                                               "password required pam_permit\nsession required pam_permit\n") ||
        tap_write_file(dir, "deny", "auth required deny\naccount required deny\npassword required deny\n"
                                    "session required deny\n") ||
        tap_write_file(dir, "pam_deny", "auth required pam_deny.so\naccount required pam_deny.so\n"
                                        "password required pam_deny.so\nsession required pam_deny.so\n") ||
        tap_write_file(dir, "debug", "auth required debug auth=auth_err cred=cred_unavail\n"
                                     "account required pam_debug.so acct=acct_expired\n"
                                     "session required debug open_session=buf_err close_session=system_err\n"
                                     "password required debug prechauthtok=success chauthtok=service_err\n") ||
        tap_write_file(dir, "debug_first", "auth required debug auth=nosuch auth=auth_err\n")) {
        printf("Bail out! cannot write the test configuration\n");
        return 1;
    }
    {
        /* configuration files younger than 20 ms are read again at every
         * start (the cache's racy rule): let them age */
        struct timespec ts = { 0, 30 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    test_builtins();
    test_external();
    test_service_change();
    tap_rmtree(dir);
    free(dir);
    return tap_done();
}
