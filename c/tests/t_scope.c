/*
 * t_scope.c - what a service call costs the store, counted from outside
 * the library: transactions (this program defines sqlite3_step, which the
 * library's calls reach first, and counts each step that starts one: an
 * autocommit statement or a BEGIN) and syncs to the disk (fsync and
 * fdatasync, defined here too, reached by SQLite's calls through the
 * dynamic linker). Then:
 *   - the reads of one service call share one read transaction (faillock's
 *     user and tally, the session, the user), in the built-in default order
 *     and in the web mail order, with and without a configuration cache;
 *   - a conversation a person answers (slow) ends the snapshot;
 *   - durability by kind of write: a last-use touch does not wait for the
 *     disk; a failure recorded, a password changed, a session added do.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include "harness.h"
#include "store.h"
#include "hash.h"

/* ---- the counters ----------------------------------------------------------------- */

static int transactions, syncs;

int sqlite3_step(sqlite3_stmt *p)
{
    static int (*real)(sqlite3_stmt *);
    const char *sql;

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "sqlite3_step");
    if (p != NULL && sqlite3_get_autocommit(sqlite3_db_handle(p)) && !sqlite3_stmt_busy(p) &&
        (sql = sqlite3_sql(p)) != NULL && strncmp(sql, "PRAGMA", 6) != 0)
        transactions++;
    return real(p);
}

/* seen by libsqlite3 (the build hides symbols by default) */
__attribute__((visibility("default"))) int fsync(int fd)
{
    static int (*real)(int);

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "fsync");
    syncs++;
    return real(fd);
}

__attribute__((visibility("default"))) int fdatasync(int fd)
{
    static int (*real)(int);

    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "fdatasync");
    syncs++;
    return real(fd);
}

static void counted(void)
{
    transactions = 0;
    syncs = 0;
}

/* ---- set-up --------------------------------------------------------------------------- */

#define OPTS "nodelay method=sha512crypt cost=1000"

static char sid[128];

static const char *named(trex_pam_handle_t *h, const char *name)
{
    const char *v = NULL;
    return trex_pam_get_named_item(h, name, &v) == TREX_PAM_SUCCESS ? v : NULL;
}

/* A password login on the web order that opens a session: its ID in sid. */
static int new_session(void)
{
    trex_pam_handle_t *h = th_start_pass("web", "alice", "Alice-pass-1");
    const char *v;
    int ok;

    if (h == NULL)
        return -1;
    ok = trex_pam_authenticate(h, 0) == TREX_PAM_SUCCESS &&
         trex_pam_open_session(h, 0) == TREX_PAM_SUCCESS &&
         (v = named(h, TREX_PAM_ITEM_SESSION_ID)) != NULL &&
         snprintf(sid, sizeof sid, "%s", v) < (int)sizeof sid;
    trex_pam_end(h, 0);
    return ok ? 0 : -1;
}

/* ---- the tests ------------------------------------------------------------------------ */

/* A session check on service: transactions in authenticate and acct_mgmt. */
static void check(const char *service, const char *what, int opens)
{
    trex_pam_handle_t *h = th_start_pass(service, "alice", sid);
    int a, b, rc;

    if (h == NULL) {
        tap_ok(0, "%s: no handle", what);
        return;
    }
    counted();
    rc = trex_pam_authenticate(h, 0);
    a = transactions;
    tap_is_int(rc, TREX_PAM_SUCCESS, "%s: the session ID is accepted", what);
    counted();
    rc = trex_pam_acct_mgmt(h, 0);
    b = transactions;
    tap_is_int(rc, TREX_PAM_SUCCESS, "%s: acct_mgmt", what);
    trex_pam_end(h, 0);
    if (opens)
        tap_is_int(a, 2, "%s: authenticate: the open's read, then one transaction", what);
    else
        tap_is_int(a, 1, "%s: authenticate reads in one transaction", what);
    tap_is_int(b, 1, "%s: acct_mgmt reads in one transaction", what);
}

static void test_one_transaction(void)
{
    struct trex_pam_confcache *cache = trex_pam_confcache_new();

    /* no cache: the store is opened inside authenticate; its open reads
     * (the schema) come before the scope, so count a second check */
    check("default", "default order, no cache", 1);
    check("web", "web mail order, no cache", 1);
    th_cache(cache);
    check("default", "default order, cached, first", 1);
    check("default", "default order, cached", 0);
    check("web", "web mail order, cached", 0);
    check("default-env", "store from $TREX_PAM_DB, cached", 0);
    th_cache(NULL);
    trex_pam_confcache_free(cache);
}

static void slow(const char *prompt)
{
    struct timespec ts = { 0, (TREX_PAM_PAUSE_CONV_MS + 30) * 1000000L };

    (void)prompt;
    nanosleep(&ts, NULL);
}

static void test_slow_conversation(void)
{
    struct trex_pam_confcache *cache = trex_pam_confcache_new();
    trex_pam_handle_t *h;

    th_cache(cache);
    check("default", "warm-up", 1);
    h = th_start_pass("default", "alice", sid);
    th_on_prompt(slow);
    counted();
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "slow answer: accepted");
    tap_is_int(transactions, 2, "slow answer: faillock's read before it, the session's after it");
    th_on_prompt(NULL);
    counted();
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "slow answer: acct_mgmt");
    tap_is_int(transactions, 1, "... in one transaction");
    trex_pam_end(h, 0);
    th_cache(NULL);
    trex_pam_confcache_free(cache);
}

static void test_durability(void)
{
    struct trex_pam_confcache *cache = trex_pam_confcache_new();
    trex_pam_handle_t *h;

    th_cache(cache);
    tap_is_int(th_auth("touch", "alice", sid, 0), TREX_PAM_SUCCESS, "touch: warm-up");
    h = th_start_pass("touch", "alice", sid);
    counted();
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "touch: the session is used");
    tap_is_int(syncs, 0, "touch: its last-use time does not wait for the disk");
    trex_pam_end(h, 0);

    counted();
    tap_is_int(th_auth("web", "alice", "wrong password", 0), TREX_PAM_AUTH_ERR, "a wrong password");
    tap_ok(syncs > 0, "the failure recorded is synced to the disk");

    counted();
    tap_is_int(th_auth("web", "alice", "Alice-pass-1", 0), TREX_PAM_SUCCESS, "the right one");
    tap_ok(syncs > 0, "the count reset is synced to the disk");

    h = th_start("web", "alice");
    th_answers(3, "Alice-pass-1", "Quite-different-9x", "Quite-different-9x");
    counted();
    if (!tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "a password change"))
        tap_diag("%s", th_log());
    tap_ok(syncs > 0, "... synced to the disk");
    trex_pam_end(h, 0);

    counted();
    h = th_start_pass("web", "alice", "Quite-different-9x");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "the new password");
    counted();
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "a new session");
    tap_ok(syncs > 0, "... synced to the disk");
    trex_pam_end(h, 0);
    th_cache(NULL);
    trex_pam_confcache_free(cache);
}

int main(void)
{
    static const struct th_text files[] = {
        { "default", "auth requisite faillock preauth @DB@ nodelay\n"
                     "auth [success=done ignore=ignore default=die] session @DB@\n"
                     "auth [success=1 default=bad] userdb @DB@ " OPTS "\n"
                     "auth [default=die] faillock authfail @DB@ nodelay\n"
                     "auth sufficient faillock authsucc @DB@ nodelay\n"
                     "auth required deny\n"
                     "account required userdb @DB@\n" },
        { "default-env", "auth requisite faillock preauth nodelay\n"
                         "auth [success=done ignore=ignore default=die] session\n"
                         "auth [success=1 default=bad] userdb " OPTS "\n"
                         "auth [default=die] faillock authfail nodelay\n"
                         "auth sufficient faillock authsucc nodelay\n"
                         "auth required deny\n"
                         "account required userdb\n" },
        { "web", "auth [success=done ignore=ignore default=die] session @DB@\n"
                 "auth requisite faillock preauth @DB@ nodelay\n"
                 "auth [success=1 default=bad] userdb @DB@ " OPTS "\n"
                 "auth [default=die] faillock authfail @DB@ nodelay\n"
                 "auth sufficient faillock authsucc @DB@ nodelay\n"
                 "auth required deny\n"
                 "account required userdb @DB@\n"
                 "password requisite userdb @DB@ minlen=8 " OPTS "\n"
                 "session required session @DB@ purge_every=0\n" },
        { "touch", "auth [success=done ignore=ignore default=die] session @DB@ touch_interval=0\n"
                   "auth required deny\n"
                   "account required permit\n" },
        { NULL, NULL }
    };
    static const char *const users[] = { NULL };
    const char *db = th_user_store("scope.db", users);
    struct tp_store *st = th_store(db, 0);
    struct tp_hash_policy policy;

    if (st == NULL || tp_hash_policy_set(&policy, "sha512crypt", "1000") != 0 ||
        th_user(st, "alice", "Alice-pass-1", &policy) != 0)
        th_bail("cannot make the store");
    tp_store_close(st);
    if (setenv("TREX_PAM_DB", db, 1) != 0)
        th_bail("setenv");
    th_files(files);
    th_settle();
    if (new_session() != 0)
        th_bail("cannot open a session: %s", th_log());
    test_one_transaction();
    test_slow_conversation();
    test_durability();
    return th_done();
}
