/*
 * harness_store.c - the stores of the C tests (harness.h): opening them,
 * adding users, the store under test of the module tests, and plain
 * SQLite on a file for the checks of the embedded store's own files.
 */
#include "harness.h"
#include <crypt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>

struct tp_store *th_store(const char *path, int flags)
{
    struct tp_store *st = NULL;
    char err[1024] = "";
    int rc = tp_store_open(path, flags, &st, err, sizeof err);
    if (rc != TP_STORE_OK) {
        /* err names the store (a server's location without its password) */
        tap_diag("open: code %d: %s", rc, err);
        return NULL;
    }
    return st;
}

int th_user(struct tp_store *st, const char *name, const char *password,
            const struct tp_hash_policy *policy)
{
    struct tp_hash_policy def;
    struct tp_user u;
    char hash[CRYPT_OUTPUT_SIZE] = "";

    if (policy == NULL) {
        tp_hash_policy_default(&def);
        policy = &def;
    }
    if (password != NULL && tp_hash_make(password, policy, hash, sizeof hash) != 0) {
        tap_diag("cannot hash the password of %s", name);
        return -1;
    }
    tp_user_init(&u);
    u.name = (char *)name;
    u.hash = hash;
    if (st == NULL || tp_store_user_add(st, &u) != TP_STORE_OK) {
        tap_diag("user_add %s: %s", name, st != NULL ? tp_store_error(st) : "no store");
        return -1;
    }
    return 0;
}

int th_fail_count(const char *path, const char *user)
{
    struct tp_store *st = th_store(path, 0);
    int64_t latest = 0;
    int n = -1;

    if (st != NULL && tp_store_fail_count(st, user, 0, &n, &latest) != TP_STORE_OK)
        n = -1;
    tp_store_close(st);
    return n;
}

/* ---- the store under test -------------------------------------------------------------- */

static char test_loc[TP_STORE_LOCATION_MAX], users_loc[TP_STORE_LOCATION_MAX];

/* The module argument that names location: db=PATH for a file of the
 * embedded store, else store=LOCATION (bracketed when it holds a space,
 * as a keyword string does). */
static void define_arg(const char *key, const char *location)
{
    char arg[TP_STORE_LOCATION_MAX + 16];
    const char *file = tp_store_file(location);

    if (file != NULL && file == location)
        snprintf(arg, sizeof arg, "db=%s", location);
    else if (strchr(location, ' ') != NULL)
        snprintf(arg, sizeof arg, "[store=%s]", location);
    else
        snprintf(arg, sizeof arg, "store=%s", location);
    th_define(key, arg);
}

static int count_user(void *data, const struct tp_user *u)
{
    (void)u;
    (*(int *)data)++;
    return 0;
}

static int count_session(void *data, const struct tp_session *s)
{
    (void)s;
    (*(int *)data)++;
    return 0;
}

/* The store at location, made if need be and checked empty; bails out
 * otherwise (a store left from another run would make the counts lie). */
static struct tp_store *fresh_store(const char *location)
{
    struct tp_store *st = th_store(location, TP_STORE_CREATE);
    int users = 0, sessions = 0;

    if (st == NULL)
        th_bail("cannot open a store of the test (the line above says which)");
    if (tp_store_keeps(st, TP_STORE_KEEPS_USERS)
        && tp_store_user_list(st, count_user, &users) != TP_STORE_OK)
        th_bail("cannot list the users of %s: %s", tp_store_where(st), tp_store_error(st));
    if (tp_store_keeps(st, TP_STORE_KEEPS_SESSIONS)
        && tp_store_session_list(st, NULL, count_session, &sessions) != TP_STORE_OK)
        th_bail("cannot list the sessions of %s: %s", tp_store_where(st), tp_store_error(st));
    if (users > 0 || sessions > 0)
        th_bail("the store %s is not empty (%d users, %d sessions): give each run a fresh one",
                tp_store_where(st), users, sessions);
    return st;
}

static const char *env_location(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0')
        return NULL;
    if (strlen(v) >= TP_STORE_LOCATION_MAX)
        th_bail("$%s is too long", name);
    return v;
}

const char *th_user_store(const char *name, const char *const *users)
{
    const char *env = env_location(TH_TEST_STORE_ENV);
    struct tp_store *st, *ust;
    char uname[PATH_MAX];

    snprintf(test_loc, sizeof test_loc, "%s", env != NULL ? env : th_path(name));
    st = fresh_store(test_loc);
    if (tp_store_keeps(st, TP_STORE_KEEPS_USERS)) {
        snprintf(users_loc, sizeof users_loc, "%s", test_loc);
        ust = st;
    } else {
        env = env_location(TH_TEST_USERS_ENV);
        snprintf(uname, sizeof uname, "users-%s", name);
        snprintf(users_loc, sizeof users_loc, "%s", env != NULL ? env : th_path(uname));
        ust = fresh_store(users_loc);
        if (setenv(TP_STORE_LOCATION_ENV, users_loc, 1) != 0)
            th_bail("cannot set $%s", TP_STORE_LOCATION_ENV);
    }
    for (size_t i = 0; users[i] != NULL; i++)
        if (th_user(ust, users[i], NULL, NULL) != 0)
            th_bail("cannot add the user %s", users[i]);
    if (ust != st)
        tp_store_close(ust);
    tp_store_close(st);
    define_arg("@DB@", test_loc);
    define_arg("@USERS@", users_loc);
    return test_loc;
}

const char *th_users_location(void)
{
    return users_loc;
}

const char *th_store_kind(void)
{
    static char kind[32];
    size_t n = 0;

    if (test_loc[0] == '\0' || tp_store_file(test_loc) != NULL)
        return "sqlite";
    while (n + 1 < sizeof kind && test_loc[n] != '\0' && test_loc[n] != ':') {
        kind[n] = test_loc[n];
        n++;
    }
    kind[n] = '\0';
    return kind;
}

int th_sqlite_only(int n, const char *what)
{
    if (strcmp(th_store_kind(), "sqlite") == 0)
        return 1;
    for (int i = 0; i < n; i++)
        tap_skip("%s: the embedded store's own (the store under test is %s)", what, th_store_kind());
    return 0;
}

/* ---- plain SQLite --------------------------------------------------------------------- */

int th_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        tap_diag("sql on %s: %s: %s", path, sql, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc;
}

long long th_sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *p = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
        && sqlite3_prepare_v2(db, sql, -1, &p, NULL) == SQLITE_OK && sqlite3_step(p) == SQLITE_ROW)
        v = sqlite3_column_int64(p, 0);
    sqlite3_finalize(p);
    sqlite3_close(db);
    return v;
}

char *th_sql_text(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *p = NULL;
    char *v = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK
        && sqlite3_prepare_v2(db, sql, -1, &p, NULL) == SQLITE_OK && sqlite3_step(p) == SQLITE_ROW
        && sqlite3_column_text(p, 0) != NULL)
        v = strdup((const char *)sqlite3_column_text(p, 0));
    sqlite3_finalize(p);
    sqlite3_close(db);
    return v;
}

/* The version 1 tables as migration 0 -> 1 made them. */
static const char v1_schema[] =
    "CREATE TABLE trex_pam_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)"
    " WITHOUT ROWID;"
    "INSERT INTO trex_pam_meta VALUES ('application', 'TRex::PAM'), ('schema_version', '1');"
    "CREATE TABLE users (name TEXT PRIMARY KEY NOT NULL, hash TEXT NOT NULL,"
    " disabled INTEGER NOT NULL DEFAULT 0, force_change INTEGER NOT NULL DEFAULT 0,"
    " expires INTEGER NOT NULL DEFAULT 0, pw_changed INTEGER NOT NULL DEFAULT 0,"
    " pw_min_days INTEGER NOT NULL DEFAULT 0, pw_max_days INTEGER NOT NULL DEFAULT -1,"
    " pw_warn_days INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE user_attrs ("
    " user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    " name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (user, name)) WITHOUT ROWID;"
    "CREATE TABLE sessions ("
    " digest BLOB PRIMARY KEY NOT NULL CHECK (length(digest) = 32),"
    " user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    " created INTEGER NOT NULL, last_used INTEGER NOT NULL, rhost TEXT) WITHOUT ROWID;"
    "CREATE INDEX sessions_user ON sessions(user);"
    "CREATE TABLE failures ("
    " user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE ON UPDATE CASCADE,"
    " time INTEGER NOT NULL);"
    "CREATE INDEX failures_user_time ON failures(user, time);";

int th_store_v1(const char *path, const char *rows)
{
    size_t n = sizeof v1_schema + strlen(rows) + 100;
    char *sql = malloc(n);
    int rc;

    if (sql == NULL)
        return -1;
    snprintf(sql, n, "PRAGMA journal_mode = WAL; PRAGMA application_id = %d;%s%s", TH_STORE_APP_ID,
             v1_schema, rows);
    rc = th_sql(path, sql);
    free(sql);
    return rc == SQLITE_OK && chmod(path, 0600) == 0 ? 0 : -1;
}

struct fail_text {
    char buf[65536];
    size_t len;
    int calls, stop_after;
};

static int fail_text_one(void *data, const char *user, const int64_t *times, size_t n)
{
    struct fail_text *f = data;

    f->len += (size_t)snprintf(f->buf + f->len, sizeof f->buf - f->len, "%s%s:",
                               f->calls++ ? ";" : "", user);
    for (size_t i = 0; i < n && f->len < sizeof f->buf; i++)
        f->len += (size_t)snprintf(f->buf + f->len, sizeof f->buf - f->len, "%s%lld",
                                   i ? "," : "", (long long)times[i]);
    if (f->len >= sizeof f->buf)
        f->len = sizeof f->buf - 1;
    return f->stop_after > 0 && f->calls >= f->stop_after;
}

const char *th_fail_list(struct tp_store *st, const char *user, int stop_after)
{
    static struct fail_text f;
    int rc;

    memset(&f, 0, sizeof f);
    f.stop_after = stop_after;
    if ((rc = tp_store_fail_list(st, user, fail_text_one, &f)) != TP_STORE_OK)
        snprintf(f.buf, sizeof f.buf, "code %d", rc);
    return f.buf;
}
