/*
 * t_instance.c - module instances that keep store connections open across
 * handles (c/modules/storepool.c, used by userdb, session and faillock):
 *   - the pool itself: leases, reuse, the one second chance, no pool;
 *   - handles that share a configuration cache share one connection per
 *     module and path (the store's file descriptor is marked, O_NONBLOCK,
 *     which does nothing to a regular file, and found again later: the
 *     same open file, not a new one); without a cache nothing outlives the
 *     handle;
 *   - a database file replaced by rename is noticed by the next handle, and
 *     only opened once nothing in the process uses the old one; a removed
 *     one is not used by new handles;
 *   - fork: a child logs in on a connection of its own that holds its
 *     locks in the kernel (it would not while the inherited connection
 *     stayed open in the child: see storepool.c), while the parent goes on
 *     with its own; and writes from the child, the parent and another
 *     process all land when the parent closes its connection meanwhile.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "harness.h"
#include "storepool.h"

static char db[PATH_MAX], realdb[PATH_MAX];
static struct tp_hash_policy policy;

/* ---- handles: the cache each call names -------------------------------------- */

static trex_pam_handle_t *start(const char *service, const char *user, struct trex_pam_confcache *cache)
{
    th_cache(cache);
    return th_start(service, user);
}

/* authenticate, then acct_mgmt if that succeeded: the first failure's code */
static int login(const char *service, const char *user, const char *pw,
                 struct trex_pam_confcache *cache)
{
    th_cache(cache);
    return th_login(service, user, pw);
}

/* login, then a session opened and closed (the session module's store) */
static int web_login(const char *user, const char *pw, struct trex_pam_confcache *cache)
{
    trex_pam_handle_t *h;
    int rc;
    th_cache(cache);
    h = th_start_pass("web", user, pw);
    rc = trex_pam_authenticate(h, 0);
    if (rc == TREX_PAM_SUCCESS)
        rc = trex_pam_acct_mgmt(h, 0);
    if (rc == TREX_PAM_SUCCESS)
        rc = trex_pam_open_session(h, 0);
    if (rc == TREX_PAM_SUCCESS)
        rc = trex_pam_close_session(h, 0);
    trex_pam_end(h, rc);
    return rc;
}

/* ---- the store's file descriptors -------------------------------------------- */

/* The descriptors of this process open on the store file (a replaced one
 * reads "... (deleted)" and is not counted); *marked: how many carry the
 * mark. With mark set, marks them. */
static int db_fds(int *marked, int mark)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    if (marked != NULL)
        *marked = 0;
    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        char link[64], target[PATH_MAX];
        ssize_t len;
        int fd, fl;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        fd = atoi(de->d_name);
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        if ((len = readlink(link, target, sizeof target - 1)) < 0)
            continue;
        target[len] = '\0';
        if (strcmp(target, realdb) != 0)
            continue;
        n++;
        if ((fl = fcntl(fd, F_GETFL)) < 0)
            continue;
        if (mark)
            (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);   /* inert on a regular file */
        else if (marked != NULL && (fl & O_NONBLOCK))
            (*marked)++;
    }
    closedir(d);
    return n;
}

static int count_fds(void)
{
    return db_fds(NULL, 0);
}

static int marked_fds(void)
{
    int m;
    (void)db_fds(&m, 0);
    return m;
}

static void mark_fds(void)
{
    (void)db_fds(NULL, 1);
}

/* POSIX locks this process holds in the kernel on the store file (/proc/locks). */
static int kernel_locks(void)
{
    FILE *f = fopen("/proc/locks", "r");
    char line[256];
    struct stat sb;
    int n = 0;

    if (f == NULL || stat(db, &sb) != 0) {
        if (f != NULL)
            fclose(f);
        return -1;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char kind[16];
        int pid;
        unsigned int maj, min;
        unsigned long ino;
        if (strstr(line, "->") != NULL)
            continue;                                    /* a waiter */
        if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", kind, &pid, &maj, &min, &ino) == 5 &&
            strcmp(kind, "POSIX") == 0 && pid == (int)getpid() && ino == (unsigned long)sb.st_ino)
            n++;
    }
    fclose(f);
    return n;
}

/* ---- stores --------------------------------------------------------------------- */

/* A new store at path with alice's password pw and bob. */
static int make_store(const char *path, const char *pw)
{
    struct tp_store *st = th_store(path, TP_STORE_CREATE);
    int rc = th_user(st, "alice", pw, &policy) == 0 && th_user(st, "bob", "Bob-pass-123", &policy) == 0 ? 0 : -1;
    tp_store_close(st);
    return rc;
}

/* ---- the pool itself -------------------------------------------------------------- */

static void test_pool(void)
{
    struct tp_pool *pool = tp_pool_new();
    struct tp_lease a = { .conn = NULL }, b = { .conn = NULL }, c = { .conn = NULL };
    struct tp_store *first;
    struct tp_user u;
    char err[512], missing[PATH_MAX + 16];

    tap_ok(pool != NULL, "pool: made");
    tap_is_int(tp_pool_lease(pool, db, &a, err, sizeof err), TP_STORE_OK, "pool: a lease");
    tap_ok(a.fresh, "... on a connection opened for it");
    first = tp_lease_store(&a);
    tp_lease_end(&a);
    tap_ok(tp_lease_store(&a) == NULL, "... ended: empty");
    tap_is_int(count_fds(), 1, "... the connection stays open in the pool");
    tap_is_int(tp_pool_lease(pool, db, &b, err, sizeof err), TP_STORE_OK, "pool: a second lease");
    tap_ok(!b.fresh && tp_lease_store(&b) == first, "... gets the same connection");
    tap_is_int(tp_pool_lease(pool, db, &c, err, sizeof err), TP_STORE_OK, "pool: a third at the same time");
    tap_ok(tp_lease_store(&c) == first, "... shares it too");
    tap_is_int(tp_lease_retry(pool, &b, TP_STORE_NOTFOUND, err, sizeof err), 0,
               "retry: not after NOTFOUND");
    tap_ok(tp_lease_store(&b) == first && !b.fresh, "... the lease unchanged");
    tap_is_int(tp_lease_retry(pool, &b, TP_STORE_ERR, err, sizeof err), 1,
               "retry: after ERR on a kept connection, a fresh one");
    tap_ok(tp_lease_store(&b) != NULL && tp_lease_store(&b) != first && b.fresh, "... in the lease");
    tap_is_int(tp_store_user_get(tp_lease_store(&b), "alice", &u), TP_STORE_OK, "... which works");
    tp_user_clear(&u);
    tap_is_int(tp_store_user_get(tp_lease_store(&c), "alice", &u), TP_STORE_OK,
               "... while the old one still serves the lease that holds it");
    tp_user_clear(&u);
    tap_is_int(tp_lease_retry(pool, &b, TP_STORE_UNAVAIL, err, sizeof err), 0, "retry: only once");
    tp_lease_end(&c);                  /* closes the old one (SQLite may keep its descriptor
                                          while another connection locks the file) */
    tp_lease_end(&b);
    tap_is_int(tp_pool_lease(pool, db, &a, err, sizeof err), TP_STORE_OK, "pool: the fresh one is pooled");
    tap_ok(!a.fresh, "... and handed out");
    tp_pool_free(pool);
    tap_is_int(tp_store_user_get(tp_lease_store(&a), "alice", &u), TP_STORE_OK,
               "pool freed: a lease still works");
    tp_user_clear(&u);
    tp_lease_end(&a);
    tap_is_int(count_fds(), 0, "... and closes with it");

    tap_is_int(tp_pool_lease(NULL, db, &a, err, sizeof err), TP_STORE_OK, "no pool: a lease");
    tap_ok(a.fresh, "... on its own connection");
    tp_lease_end(&a);
    tap_is_int(count_fds(), 0, "... closed when it ends");
    snprintf(missing, sizeof missing, "%s", th_path("nonexistent.db"));
    tap_is_int(tp_pool_lease(NULL, missing, &a, err, sizeof err), TP_STORE_UNAVAIL, "a missing store: UNAVAIL");
    tap_ok(strstr(err, missing) != NULL, "... the reason names it");
    tap_is_int(tp_pool_lease(NULL, NULL, &a, err, sizeof err), TP_STORE_ERR, "no path: ERR");
}

/* ---- handles sharing a configuration ------------------------------------------------ */

static void test_reuse(void)
{
    struct trex_pam_confcache *cache = trex_pam_confcache_new();
    trex_pam_handle_t *h1, *h2;

    tap_is_int(login("login", "alice", "Alice-pass-1", NULL), TREX_PAM_SUCCESS, "no cache: login");
    tap_is_int(count_fds(), 0, "... nothing stays open after the handle");

    tap_is_int(login("login", "alice", "Alice-pass-1", cache), TREX_PAM_SUCCESS, "cache: a login");
    tap_is_int(count_fds(), 1, "... its connection stays open");
    mark_fds();
    tap_is_int(login("login", "alice", "Alice-pass-1", cache), TREX_PAM_SUCCESS, "cache: a second login");
    tap_is_int(login("login", "bob", "wrong", cache), TREX_PAM_AUTH_ERR, "cache: a wrong password");
    tap_is_int(login("login", "carol", "x", cache), TREX_PAM_AUTH_ERR, "cache: an unknown user");
    tap_is_int(count_fds(), 1, "... still one connection");
    tap_is_int(marked_fds(), 1, "... the very one the first handle opened");

    /* two handles alive at once use the one connection in turn */
    h1 = start("login", "alice", cache);
    h2 = start("login", "bob", cache);
    th_answer_always("Alice-pass-1");
    tap_is_int(trex_pam_authenticate(h1, 0), TREX_PAM_SUCCESS, "two handles: the first authenticates");
    th_answer_always("Bob-pass-123");
    tap_is_int(trex_pam_authenticate(h2, 0), TREX_PAM_SUCCESS, "two handles: the second authenticates");
    tap_is_int(trex_pam_acct_mgmt(h1, 0), TREX_PAM_SUCCESS, "two handles: acct_mgmt on the first");
    tap_is_int(count_fds(), 1, "... one connection for both");
    trex_pam_end(h1, 0);
    tap_is_int(trex_pam_acct_mgmt(h2, 0), TREX_PAM_SUCCESS, "two handles: the second goes on after the first ended");
    trex_pam_end(h2, 0);
    tap_is_int(marked_fds(), 1, "... still the first connection");

    /* userdb, session and faillock: one connection per store, shared by
     * every module and service of the process */
    tap_is_int(web_login("alice", "Alice-pass-1", cache), TREX_PAM_SUCCESS, "web stack: a login and a session");
    tap_is_int(count_fds(), 1, "... userdb, session and faillock share login's connection");
    tap_is_int(marked_fds(), 1, "... the very one login opened");
    mark_fds();
    tap_is_int(web_login("alice", "Alice-pass-1", cache), TREX_PAM_SUCCESS, "web stack: a second one");
    tap_is_int(count_fds(), 1, "... the same number of connections");
    tap_is_int(marked_fds(), 1, "... the very one the first login used");
    /* (from here on the test's own connections may leave a descriptor
     * that SQLite keeps while other connections lock the file) */
    tap_is_int(web_login("bob", "wrong", cache), TREX_PAM_AUTH_ERR, "web stack: a wrong password");
    tap_is_int(th_fail_count(db, "bob"), 1, "... recorded by faillock");
    tap_is_int(web_login("bob", "Bob-pass-123", cache), TREX_PAM_SUCCESS, "web stack: then the right one");
    tap_is_int(th_fail_count(db, "bob"), 0, "... clears it");
    tap_is_int(marked_fds(), 1, "... still the same one");

    trex_pam_confcache_free(cache);
    tap_is_int(count_fds(), 0, "cache freed: every connection closed");

    /* a CGI process: no cache, one handle; its three modules open the store once */
    h1 = start("web", "alice", NULL);
    th_answer_always("Alice-pass-1");
    tap_is_int(trex_pam_authenticate(h1, 0), TREX_PAM_SUCCESS, "no cache: the web stack authenticates");
    tap_is_int(trex_pam_acct_mgmt(h1, 0), TREX_PAM_SUCCESS, "no cache: acct_mgmt");
    tap_is_int(count_fds(), 1, "... faillock, userdb and its account line share one connection");
    trex_pam_end(h1, 0);
    tap_is_int(count_fds(), 0, "... closed when the handle ends");
}

/* ---- a replaced or removed file ---------------------------------------------------- */

/* A pooled connection's file is asked again at most every 1 ms
 * (TP_POOL_RECHECK_NSEC, storepool.h): after a rename, wait past that. */
static void past_recheck(void)
{
    struct timespec ts = { 0, 3 * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void test_replaced(void)
{
    struct trex_pam_confcache *cache = trex_pam_confcache_new();
    char fresh[PATH_MAX + 16], moved[PATH_MAX + 16];
    trex_pam_handle_t *h;

    snprintf(fresh, sizeof fresh, "%s", th_path("fresh.db"));
    snprintf(moved, sizeof moved, "%s", th_path("moved.db"));

    tap_is_int(login("login", "alice", "Alice-pass-1", cache), TREX_PAM_SUCCESS, "replaced: a login");
    tap_ok(make_store(fresh, "Alice-pass-2") == 0 && rename(fresh, db) == 0,
           "replaced: a new store renamed into place");
    past_recheck();
    tap_is_int(login("login", "alice", "Alice-pass-2", cache), TREX_PAM_SUCCESS,
               "... the next handle uses the new file");
    tap_is_int(login("login", "alice", "Alice-pass-1", cache), TREX_PAM_AUTH_ERR,
               "... the old password is gone");
    tap_is_int(count_fds(), 1, "... one connection, to the new file");

    /* a handle still uses the old file: the new one waits for it */
    h = start("login", "alice", cache);
    th_answer_always("Alice-pass-2");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "in use: a handle authenticates");
    tap_ok(make_store(fresh, "Alice-pass-3") == 0 && rename(fresh, db) == 0, "in use: replaced again");
    past_recheck();
    th_log_reset();
    tap_is_int(login("login", "alice", "Alice-pass-3", cache), TREX_PAM_AUTHINFO_UNAVAIL,
               "... a new handle does not open it while the old file is open here");
    tap_ok(th_logged("replaced while the previous file is still in use"), "... and says why");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "... the handle goes on with the old file");
    trex_pam_end(h, 0);
    tap_is_int(login("login", "alice", "Alice-pass-3", cache), TREX_PAM_SUCCESS,
               "... once it ended, the new file is used");

    /* removed: renamed away */
    tap_is_int(rename(db, moved), 0, "removed: the store renamed away");
    past_recheck();
    tap_is_int(login("login", "alice", "Alice-pass-3", cache), TREX_PAM_AUTHINFO_UNAVAIL,
               "... a new handle cannot open it");
    tap_is_int(rename(moved, db), 0, "... and back");
    past_recheck();
    tap_is_int(login("login", "alice", "Alice-pass-3", cache), TREX_PAM_SUCCESS, "... usable again");

    trex_pam_confcache_free(cache);
    tap_is_int(count_fds(), 0, "cache freed: closed");
    tap_ok(make_store(fresh, "Alice-pass-1") == 0 && rename(fresh, db) == 0, "the first store back");
}

/* ---- fork ------------------------------------------------------------------------------ */

/* Child results, one bit each, as the exit status. */
enum { C_LOGIN = 1, C_FDS = 2, C_LOCKS = 4, C_AGAIN = 8 };

static void test_fork(void)
{
    struct trex_pam_confcache *cache = trex_pam_confcache_new();
    int ready[2], go[2], status = 0;
    pid_t a, b;
    char x;

    tap_is_int(login("login", "alice", "Alice-pass-1", cache), TREX_PAM_SUCCESS, "fork: the parent logs in");
    tap_ok(kernel_locks() > 0, "... its connection holds its locks in the kernel");
    mark_fds();
    fflush(stdout);
    if ((a = fork()) == 0) {
        int r = 0;
        if (login("login", "alice", "Alice-pass-1", cache) == TREX_PAM_SUCCESS)
            r |= C_LOGIN;
        if (count_fds() == 1 && marked_fds() == 0)
            r |= C_FDS;                                  /* its own; the parent's closed */
        if (kernel_locks() > 0)
            r |= C_LOCKS;
        if (login("login", "alice", "Alice-pass-1", cache) == TREX_PAM_SUCCESS)
            r |= C_AGAIN;
        _exit(r);
    }
    waitpid(a, &status, 0);
    tap_ok(WIFEXITED(status) && (WEXITSTATUS(status) & C_LOGIN), "fork: the child logs in");
    tap_ok(WIFEXITED(status) && (WEXITSTATUS(status) & C_FDS),
           "... on a connection of its own (the inherited one closed in the child)");
    tap_ok(WIFEXITED(status) && (WEXITSTATUS(status) & C_LOCKS), "... which holds its own locks in the kernel");
    tap_ok(WIFEXITED(status) && (WEXITSTATUS(status) & C_AGAIN), "... and keeps it for its next login");
    tap_is_int(login("login", "alice", "Alice-pass-1", cache), TREX_PAM_SUCCESS, "fork: the parent goes on");
    tap_is_int(marked_fds(), 1, "... on its own connection, untouched by the child");

    /* The parent closes its connection while the child works; another
     * process writes meanwhile: no write is lost. */
    {
        struct tp_store *st = NULL;
        if (tp_store_open(db, 0, &st, NULL, 0) == TP_STORE_OK)
            (void)tp_store_fail_reset(st, "alice");
        tp_store_close(st);
    }
    tap_is_int(login("count", "alice", "x", cache), TREX_PAM_PERM_DENIED, "fork: a failure recorded (1)");
    if (pipe(ready) != 0 || pipe(go) != 0) {
        tap_ok(0, "pipes");
        return;
    }
    fflush(stdout);
    if ((a = fork()) == 0) {
        (void)login("count", "alice", "x", cache);      /* 2 */
        if (write(ready[1], "r", 1) != 1 || read(go[0], &x, 1) != 1)
            _exit(1);
        (void)login("count", "alice", "x", cache);      /* 4 */
        (void)login("count", "alice", "x", cache);      /* 5 */
        _exit(0);
    }
    if (read(ready[0], &x, 1) != 1)
        tap_diag("no word from the child");
    trex_pam_confcache_free(cache);                      /* the parent closes its connection */
    cache = trex_pam_confcache_new();
    tap_is_int(count_fds(), 0, "... the parent has closed its connection");
    fflush(stdout);
    if ((b = fork()) == 0) {
        int rc = login("count", "alice", "x", cache);  /* 3 */
        trex_pam_confcache_free(cache);                  /* and closes it as a process does */
        _exit(rc == TREX_PAM_PERM_DENIED ? 0 : 1);
    }
    waitpid(b, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "... another process records one");
    if (write(go[1], "g", 1) != 1)
        tap_diag("cannot wake the child");
    waitpid(a, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "... the child records two more");
    tap_is_int(th_fail_count(db, "alice"), 5, "... and none of the five is lost");
    close(ready[0]);
    close(ready[1]);
    close(go[0]);
    close(go[1]);
    trex_pam_confcache_free(cache);
}

/* ---- set-up --------------------------------------------------------------------------- */

static int setup(void)
{
    static const struct th_text files[] = {
        { "login", "auth required userdb @DB@ nodelay method=sha512crypt cost=1000\n"
                   "account required userdb @DB@ method=sha512crypt cost=1000\n" },
        { "web", "auth requisite faillock preauth @DB@ nodelay\n"
                 "auth [success=done ignore=ignore default=die] session @DB@\n"
                 "auth [success=1 default=bad] userdb @DB@ nodelay method=sha512crypt cost=1000\n"
                 "auth [default=die] faillock authfail @DB@ nodelay\n"
                 "auth sufficient faillock authsucc @DB@ nodelay\n"
                 "auth required deny\n"
                 "account required userdb @DB@ method=sha512crypt cost=1000\n"
                 "session required session @DB@\n" },
        { "count", "auth required faillock authfail @DB@ deny=0 nodelay\n" },
        { NULL, NULL }
    };
    char arg[PATH_MAX + 8];

    snprintf(db, sizeof db, "%s", th_path("users.db"));
    snprintf(arg, sizeof arg, "db=%s", db);
    th_define("@DB@", arg);
    if (tp_hash_policy_set(&policy, "sha512crypt", "1000") != 0 || make_store(db, "Alice-pass-1") != 0 ||
        realpath(db, realdb) == NULL)
        return -1;
    th_files(files);
    th_settle();
    return 0;
}

int main(void)
{
    if (setup() != 0)
        th_bail("cannot set up the test store and configuration");
    test_pool();
    test_reuse();
    test_replaced();
    test_fork();
    return th_done();
}
