/*
 * t_handle.c - the handle from the application's side: start/end, items,
 * TRex's named items, the environment, strerror and the constants table
 * (Linux-PAM's items, pam_putenv/pam_getenv rules and pam_strerror texts).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"

static int null_conv(int n, const struct trex_pam_message **m, struct trex_pam_response **r, void *d)
{
    return TREX_PAM_CONV_ERR;
}
static const struct trex_pam_conv conv = { null_conv, NULL };

/* Through trex_pam_start_confdir, the call these tests are about. */
static trex_pam_handle_t *start(const char *service, const char *user)
{
    trex_pam_handle_t *h = NULL;
    int rc = trex_pam_start_confdir(service, user, &conv, th_dir(), &h);
    if (rc != TREX_PAM_SUCCESS)
        tap_diag("start %s: %d", service, rc);
    return h;
}

static void test_start_end(void)
{
    trex_pam_handle_t *h = (trex_pam_handle_t *)&h;   /* must be overwritten */
    const void *v;

    tap_is_int(trex_pam_start_confdir(NULL, "u", &conv, th_dir(), &h), TREX_PAM_SYSTEM_ERR, "start: NULL service");
    tap_ok(h == NULL, "start: *pamh set to NULL on failure");
    tap_is_int(trex_pam_start_confdir("login", "u", NULL, th_dir(), &h), TREX_PAM_SYSTEM_ERR, "start: NULL conv");
    tap_is_int(trex_pam_start_confdir("login", "u", &conv, th_dir(), NULL), TREX_PAM_SYSTEM_ERR, "start: NULL pamh");
    tap_is_int(trex_pam_start_confdir("nosuch", "u", &conv, "/nonexistent/dir", &h), TREX_PAM_ABORT,
               "start: confdir that does not exist is ABORT");
    tap_is_int(trex_pam_end(NULL, 0), TREX_PAM_SYSTEM_ERR, "end: NULL handle");

    h = start("Some/Path/LOGIN", NULL);
    tap_ok(h != NULL, "start: service with a path and capitals");
    tap_is_int(trex_pam_get_item(h, TREX_PAM_SERVICE, &v), TREX_PAM_SUCCESS, "get PAM_SERVICE");
    tap_is_str(v, "login", "service keeps the part after the last '/', lower-cased");
    tap_is_int(trex_pam_get_item(h, TREX_PAM_USER, &v), TREX_PAM_SUCCESS, "get PAM_USER");
    tap_ok(v == NULL, "user NULL when started without one");
    tap_is_str(trex_pam_confdir(h), th_dir(), "confdir: the directory the application named");
    tap_is_int(trex_pam_end(h, TREX_PAM_SUCCESS), TREX_PAM_SUCCESS, "end");
    tap_ok(trex_pam_confdir(NULL) == NULL, "confdir: NULL for no handle");
    setenv("TREX_PAM_CONFDIR", th_dir(), 1);
    tap_is_int(trex_pam_start("login", "u", &conv, &h), TREX_PAM_SUCCESS, "start under $TREX_PAM_CONFDIR");
    tap_is_str(h != NULL ? trex_pam_confdir(h) : "", th_dir(), "confdir: $TREX_PAM_CONFDIR");
    trex_pam_end(h, TREX_PAM_SUCCESS);
    unsetenv("TREX_PAM_CONFDIR");
    tap_is_int(trex_pam_start("login", "u", &conv, &h), TREX_PAM_SUCCESS, "start with no directory named");
    tap_is_str(h != NULL ? trex_pam_confdir(h) : "", TREX_PAM_DEFAULT_CONFDIR, "confdir: the compiled default");
    trex_pam_end(h, TREX_PAM_SUCCESS);
}

static void test_items(void)
{
    trex_pam_handle_t *h = start("login", "alice");
    const void *v = (const void *)1;
    const char *strings[] = { NULL, NULL, "bob", "tty1", "host.example", NULL, NULL, NULL,
                              "root", "Who? ", NULL, ":0", NULL, "UNIX" };
    struct trex_pam_conv c2 = { null_conv, (void *)42 };
    const struct trex_pam_conv *cp;
    struct trex_pam_xauth_data x = { 3, "abc", 4, "\x01\x02\x00\x03" }, bad = { 1, NULL, 0, NULL };
    const struct trex_pam_xauth_data *xp;

    tap_is_str((trex_pam_get_item(h, TREX_PAM_USER, &v), (const char *)v), "alice", "user from start");
    for (int t = 1; t <= TREX_PAM_ITEM_MAX; t++) {
        if (strings[t] == NULL)
            continue;
        tap_is_int(trex_pam_set_item(h, t, strings[t]), TREX_PAM_SUCCESS, "set item %d", t);
        tap_is_int(trex_pam_get_item(h, t, &v), TREX_PAM_SUCCESS, "get item %d", t);
        tap_is_str(v, strings[t], "item %d round-trips (a copy)", t);
        tap_ok(v != strings[t], "item %d is the core's own copy", t);
        tap_is_int(trex_pam_set_item(h, t, v), TREX_PAM_SUCCESS, "setting item %d to its own pointer", t);
        tap_is_str((trex_pam_get_item(h, t, &v), (const char *)v), strings[t], "... is a no-op");
    }
    tap_is_int(trex_pam_set_item(h, TREX_PAM_USER, NULL), TREX_PAM_SUCCESS, "PAM_USER may be set to NULL");
    tap_ok((trex_pam_get_item(h, TREX_PAM_USER, &v), v == NULL), "... and reads back NULL");

    /* tokens are for modules only */
    tap_is_int(trex_pam_set_item(h, TREX_PAM_AUTHTOK, "pw"), TREX_PAM_BAD_ITEM, "app may not set PAM_AUTHTOK");
    tap_is_int(trex_pam_get_item(h, TREX_PAM_AUTHTOK, &v), TREX_PAM_BAD_ITEM, "app may not read PAM_AUTHTOK");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_OLDAUTHTOK, "pw"), TREX_PAM_BAD_ITEM, "app may not set PAM_OLDAUTHTOK");
    tap_is_int(trex_pam_get_item(h, TREX_PAM_OLDAUTHTOK, &v), TREX_PAM_BAD_ITEM, "app may not read PAM_OLDAUTHTOK");

    /* unknown types and bad arguments */
    int bad_types[] = { -1, 0, 14, 100, 0x7fffffff };
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        tap_is_int(trex_pam_set_item(h, bad_types[i], "x"), TREX_PAM_BAD_ITEM, "set item %d: BAD_ITEM", bad_types[i]);
        v = (const void *)1;
        tap_is_int(trex_pam_get_item(h, bad_types[i], &v), TREX_PAM_BAD_ITEM, "get item %d: BAD_ITEM", bad_types[i]);
        tap_ok(v == NULL, "get item %d: out value cleared first", bad_types[i]);
    }
    tap_is_int(trex_pam_get_item(h, TREX_PAM_USER, NULL), TREX_PAM_PERM_DENIED, "get_item NULL out: PERM_DENIED");
    tap_is_int(trex_pam_get_item(NULL, TREX_PAM_USER, &v), TREX_PAM_SYSTEM_ERR, "get_item NULL handle");
    tap_is_int(trex_pam_set_item(NULL, TREX_PAM_USER, "x"), TREX_PAM_SYSTEM_ERR, "set_item NULL handle");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_SERVICE, NULL), TREX_PAM_BAD_ITEM, "PAM_SERVICE NULL: BAD_ITEM");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_SERVICE, "OTHER"), TREX_PAM_SUCCESS, "PAM_SERVICE set");
    tap_is_str((trex_pam_get_item(h, TREX_PAM_SERVICE, &v), (const char *)v), "other", "PAM_SERVICE lower-cased");

    /* conversation */
    tap_is_int(trex_pam_set_item(h, TREX_PAM_CONV, NULL), TREX_PAM_PERM_DENIED, "PAM_CONV NULL: PERM_DENIED");
    tap_is_int(trex_pam_get_item(h, TREX_PAM_CONV, &v), TREX_PAM_SUCCESS, "get PAM_CONV");
    cp = v;
    tap_ok(cp->conv == null_conv && cp->appdata_ptr == NULL, "... old conversation kept");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_CONV, &c2), TREX_PAM_SUCCESS, "set PAM_CONV");
    cp = (trex_pam_get_item(h, TREX_PAM_CONV, &v), v);
    tap_ok(cp->appdata_ptr == (void *)42 && cp != &c2, "PAM_CONV copied");

    /* fail delay function pointer */
    tap_ok((trex_pam_get_item(h, TREX_PAM_FAIL_DELAY, &v), v == NULL), "PAM_FAIL_DELAY starts NULL");

    /* xauth data */
    tap_is_int(trex_pam_get_item(h, TREX_PAM_XAUTHDATA, &v), TREX_PAM_SUCCESS, "get PAM_XAUTHDATA");
    xp = v;
    tap_ok(xp != NULL && xp->name == NULL && xp->datalen == 0, "PAM_XAUTHDATA starts zeroed, never NULL");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_XAUTHDATA, &x), TREX_PAM_SUCCESS, "set PAM_XAUTHDATA");
    xp = (trex_pam_get_item(h, TREX_PAM_XAUTHDATA, &v), v);
    tap_ok(xp->name != x.name && strcmp(xp->name, "abc") == 0 && xp->namelen == 3, "xauth name deep-copied");
    tap_ok(xp->data != x.data && xp->datalen == 4 && memcmp(xp->data, "\x01\x02\x00\x03", 4) == 0,
           "xauth data deep-copied with its NUL byte");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_XAUTHDATA, &bad), TREX_PAM_BUF_ERR, "xauth with NULL name: BUF_ERR");
    xp = (trex_pam_get_item(h, TREX_PAM_XAUTHDATA, &v), v);
    tap_ok(xp->name == NULL && xp->data == NULL, "... and the item is zeroed");
    bad.name = "n"; bad.data = "d"; bad.datalen = -1;
    tap_is_int(trex_pam_set_item(h, TREX_PAM_XAUTHDATA, &bad), TREX_PAM_BAD_ITEM, "xauth with negative length");
    tap_is_int(trex_pam_end(h, 0), TREX_PAM_SUCCESS, "end");
}

static void test_named(void)
{
    trex_pam_handle_t *h = start("login", "alice");
    const char *v = "x";
    const char *badnames[] = { NULL, "", "TREX_", "trex_session_id", "TREX_lower", "PAM_USER",
                               "TREX_A-B", "TREX_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };

    tap_is_int(trex_pam_get_named_item(h, "TREX_SESSION_ID", &v), TREX_PAM_SUCCESS, "unset named item");
    tap_ok(v == NULL, "... reads NULL");
    tap_is_int(trex_pam_set_named_item(h, "TREX_SESSION_ID", "abc"), TREX_PAM_SUCCESS, "set named item");
    tap_is_str((trex_pam_get_named_item(h, "TREX_SESSION_ID", &v), v), "abc", "... round-trips");
    tap_is_int(trex_pam_set_named_item(h, "TREX_SESSION_ID", "def"), TREX_PAM_SUCCESS, "replace named item");
    tap_is_str((trex_pam_get_named_item(h, "TREX_SESSION_ID", &v), v), "def", "... new value");
    tap_is_int(trex_pam_set_named_item(h, "TREX_SESSION_ID", v), TREX_PAM_SUCCESS, "set to own pointer");
    tap_is_str((trex_pam_get_named_item(h, "TREX_SESSION_ID", &v), v), "def", "... no-op");
    tap_is_int(trex_pam_set_named_item(h, "TREX_OTHER_1", ""), TREX_PAM_SUCCESS, "empty value");
    tap_is_str((trex_pam_get_named_item(h, "TREX_OTHER_1", &v), v), "", "... reads empty");
    tap_is_int(trex_pam_set_named_item(h, "TREX_SESSION_ID", NULL), TREX_PAM_SUCCESS, "NULL deletes");
    tap_ok((trex_pam_get_named_item(h, "TREX_SESSION_ID", &v), v == NULL), "... gone");
    tap_is_int(trex_pam_set_named_item(h, "TREX_NEVER", NULL), TREX_PAM_SUCCESS, "deleting an unset one");
    for (size_t i = 0; i < sizeof badnames / sizeof badnames[0]; i++) {
        tap_is_int(trex_pam_set_named_item(h, badnames[i], "v"), TREX_PAM_BAD_ITEM, "set bad name %zu", i);
        tap_is_int(trex_pam_get_named_item(h, badnames[i], &v), TREX_PAM_BAD_ITEM, "get bad name %zu", i);
    }
    tap_is_int(trex_pam_get_named_item(h, "TREX_X", NULL), TREX_PAM_PERM_DENIED, "NULL out: PERM_DENIED");
    tap_is_int(trex_pam_set_named_item(NULL, "TREX_X", "v"), TREX_PAM_SYSTEM_ERR, "NULL handle");
    trex_pam_end(h, 0);
}

static void test_env(void)
{
    trex_pam_handle_t *h = start("login", "alice");
    char **l;
    int n;

    l = trex_pam_getenvlist(h);
    tap_ok(l != NULL && l[0] == NULL, "empty env: a list holding only NULL");
    trex_pam_free_envlist(l);
    tap_is_int(trex_pam_putenv(h, "A=1"), TREX_PAM_SUCCESS, "putenv A=1");
    tap_is_int(trex_pam_putenv(h, "B="), TREX_PAM_SUCCESS, "putenv B= (empty value)");
    tap_is_int(trex_pam_putenv(h, "C=x=y"), TREX_PAM_SUCCESS, "putenv C=x=y");
    tap_is_str(trex_pam_getenv(h, "A"), "1", "getenv A");
    tap_is_str(trex_pam_getenv(h, "B"), "", "getenv B empty");
    tap_is_str(trex_pam_getenv(h, "C"), "x=y", "value may contain =");
    tap_ok(trex_pam_getenv(h, "D") == NULL, "getenv unset: NULL");
    tap_ok(trex_pam_getenv(h, "A=1") == NULL, "getenv with '=' in the name: NULL");
    tap_ok(trex_pam_getenv(h, NULL) == NULL, "getenv NULL name");
    tap_is_int(trex_pam_putenv(h, "A=2"), TREX_PAM_SUCCESS, "replace A");
    l = trex_pam_getenvlist(h);
    for (n = 0; l && l[n]; n++)
        ;
    tap_is_int(n, 3, "three variables");
    tap_ok(l && n == 3 && !strcmp(l[0], "A=2") && !strcmp(l[1], "B=") && !strcmp(l[2], "C=x=y"),
           "insertion order, replacement keeps its place");
    trex_pam_free_envlist(l);
    tap_is_int(trex_pam_putenv(h, "A"), TREX_PAM_SUCCESS, "delete A");
    tap_ok(trex_pam_getenv(h, "A") == NULL, "A gone");
    tap_is_int(trex_pam_putenv(h, "A"), TREX_PAM_BAD_ITEM, "delete unset: BAD_ITEM");
    tap_is_int(trex_pam_putenv(h, "=x"), TREX_PAM_BAD_ITEM, "leading '=': BAD_ITEM");
    tap_is_int(trex_pam_putenv(h, ""), TREX_PAM_BAD_ITEM, "empty name: BAD_ITEM");
    tap_is_int(trex_pam_putenv(h, NULL), TREX_PAM_PERM_DENIED, "NULL: PERM_DENIED");
    tap_is_int(trex_pam_putenv(NULL, "A=1"), TREX_PAM_SYSTEM_ERR, "NULL handle");
    tap_ok(trex_pam_getenvlist(NULL) == NULL, "getenvlist NULL handle");
    trex_pam_end(h, 0);
}

static void test_strerror_constants(void)
{
    const char *name;
    long value;
    int codes = 0, items = 0;

    tap_is_str(trex_pam_strerror(NULL, 0), "Success", "strerror 0, NULL handle");
    tap_is_str(trex_pam_strerror(NULL, 7), "Authentication failure", "strerror 7");
    tap_is_str(trex_pam_strerror(NULL, 21), "Authentication information cannot be recovered", "strerror 21");
    tap_is_str(trex_pam_strerror(NULL, 31), "Application needs to call libpam again", "strerror 31");
    tap_is_str(trex_pam_strerror(NULL, -1), "Unknown PAM error", "strerror -1");
    tap_is_str(trex_pam_strerror(NULL, 32), "Unknown PAM error", "strerror 32");
    for (size_t i = 0; trex_pam_constant(i, &name, &value); i++) {
        if (strncmp(name, "PAM_", 4) != 0)
            tap_ok(0, "constant %s has the PAM_ prefix", name);
        if (i < 32 && value == (long)i)
            codes++;
        if (!strcmp(name, "PAM_USER") && value == 2) items++;
        if (!strcmp(name, "PAM_AUTHTOK_TYPE") && value == 13) items++;
        if (!strcmp(name, "PAM_SILENT") && value == 0x8000) items++;
        if (!strcmp(name, "PAM_BINARY_PROMPT") && value == 7) items++;
        if (!strcmp(name, "PAM_AUTHTOK_RECOVERY_ERR") && value == 21) items++;
    }
    tap_is_int(codes, 32, "the first 32 constants are the codes in order");
    tap_is_int(items, 5, "spot checks of Linux-PAM's numbers");
    tap_is_str(trex_pam_status_token(7), "auth_err", "status token");
}

static void test_fork(void)
{
    trex_pam_handle_t *h = start("login", "alice");
    pid_t pid;
    int st;
    const void *v;

    pid = fork();
    if (pid == 0) {
        int bad = 0;
        if (trex_pam_get_item(h, TREX_PAM_USER, &v) != TREX_PAM_SYSTEM_ERR) bad |= 1;
        if (trex_pam_set_item(h, TREX_PAM_USER, "x") != TREX_PAM_SYSTEM_ERR) bad |= 2;
        if (trex_pam_putenv(h, "A=1") != TREX_PAM_SYSTEM_ERR) bad |= 4;
        if (trex_pam_end(h, 0) != TREX_PAM_SUCCESS) bad |= 8;   /* frees the child's copy */
        _exit(bad);
    }
    waitpid(pid, &st, 0);
    tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child's copy answers SYSTEM_ERR (%d)", WEXITSTATUS(st));
    tap_is_str((trex_pam_get_item(h, TREX_PAM_USER, &v), (const char *)v), "alice", "the parent's handle still works");
    trex_pam_end(h, 0);
}

int main(void)
{
    if (th_file("other", "auth required pam_permit.so\n") != 0)
        th_bail("cannot write the test configuration");
    test_start_end();
    test_items();
    test_named();
    test_env();
    test_strerror_constants();
    test_fork();
    return th_done();
}
