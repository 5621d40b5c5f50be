/*
 * t_store.c - the store (store.h) on its SQLite backend: location, creation
 * and permissions, refusal of unsafe, missing, empty, foreign, corrupt and
 * newer files (left byte for byte as they were), the schema upgrades (0 ->
 * current, and a version 1 file made by hand: upgraded in one transaction
 * read-write, used as it is read-only), the query plans of the session
 * statements at scale (EXPLAIN QUERY PLAN of the very SQL the store runs,
 * caught with a trace), and every function on users, attributes, sessions
 * and failure tallies with its error paths. Error texts must name the file
 * and hold no hash.
 * The file is inspected with plain sqlite3 calls where the API cannot show
 * it (application_id, journal mode, rows left after a cascade).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include "harness.h"

#define SCHEMA "3"            /* the current schema version */
#define NEWER  "4"

static const char *dir;          /* th_dir() */

static int contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

static long mode_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)(sb.st_mode & 07777) : -1;
}

static long size_of(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static int exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    unsigned char *b = NULL;
    struct stat sb;
    FILE *f;
    long n;
    *len = 0;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || (f = fopen(path, "rb")) == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0
        && (b = malloc((size_t)n + 1)) != NULL && fread(b, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    fclose(f);
    return b;
}

static int file_has(const char *path, const char *needle)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    int r = b != NULL && memmem(b, n, needle, strlen(needle)) != NULL;
    free(b);
    return r;
}

/* Opens expecting failure; checks the code, that the message names the file
 * and holds `why`; the file's bytes are unchanged. */
static void refused(const char *path, int flags, int want, const char *why, const char *what)
{
    struct tp_store *st = (struct tp_store *)&st;
    char err[1024];
    size_t n1, n2;
    unsigned char *before = slurp(path, &n1), *after;
    int rc = tp_store_open(path, flags, &st, err, sizeof err);

    tap_is_int(rc, want, "%s: refused", what);
    tap_ok(st == NULL, "%s: no store", what);
    tap_ok(contains(err, path), "%s: the message names the file", what);
    if (!tap_ok(contains(err, why), "%s: the reason says \"%s\"", what, why))
        tap_diag("message: %s", err);
    if (st != NULL)
        tp_store_close(st);
    after = slurp(path, &n2);
    tap_ok((before == NULL && after == NULL)
           || (before != NULL && after != NULL && n1 == n2 && memcmp(before, after, n1) == 0),
           "%s: the file is left as it was", what);
    free(before);
    free(after);
}

static struct tp_store *open_ok(const char *path, int flags, const char *what)
{
    struct tp_store *st = NULL;
    char err[1024] = "";
    int rc = tp_store_open(path, flags, &st, err, sizeof err);
    if (!tap_is_int(rc, TP_STORE_OK, "%s: opens", what))
        tap_diag("error: %s", err);
    return st;
}

static int add_user(struct tp_store *st, const char *name, const char *hash)
{
    struct tp_user u;
    tp_user_init(&u);
    u.name = (char *)name;
    u.hash = (char *)hash;
    return tp_store_user_add(st, &u);
}

/* ---- location, arguments ---------------------------------------------------------- */

static void test_path(void)
{
    char err[256];
    struct tp_store *st = NULL;

    unsetenv("TREX_PAM_DB");
    unsetenv("TREX_PAM_STORE");
    tap_is_str(tp_store_location(NULL, "/x/given.db", NULL, NULL, 0, err, sizeof err), "/x/given.db",
               "location: the db= argument first");
    tap_is_str(tp_store_location("postgresql://h/d", NULL, NULL, NULL, 0, err, sizeof err), "postgresql://h/d",
               "location: the store= argument");
    tap_is_str(tp_store_location(NULL, NULL, NULL, NULL, 0, err, sizeof err), TP_STORE_DEFAULT_PATH,
               "location: the default without env");
    tap_is_str(tp_store_location("", "", NULL, NULL, 0, err, sizeof err), TP_STORE_DEFAULT_PATH,
               "location: empty arguments are none");
    setenv("TREX_PAM_DB", "/env/db", 1);
    tap_is_str(tp_store_location(NULL, NULL, NULL, NULL, 0, err, sizeof err), "/env/db", "location: $TREX_PAM_DB");
    tap_is_str(tp_store_location(NULL, "", NULL, NULL, 0, err, sizeof err), "/env/db",
               "location: $TREX_PAM_DB for an empty argument");
    tap_is_str(tp_store_location(NULL, "/x/given.db", NULL, NULL, 0, err, sizeof err), "/x/given.db",
               "location: the argument beats the env");
    setenv("TREX_PAM_STORE", "sqlite:/env/store", 1);
    tap_is_str(tp_store_location(NULL, NULL, NULL, NULL, 0, err, sizeof err), "sqlite:/env/store",
               "location: $TREX_PAM_STORE before $TREX_PAM_DB");
    tap_is_str(tp_store_location("/x/s.db", NULL, NULL, NULL, 0, err, sizeof err), "/x/s.db",
               "location: store= beats the env");
    setenv("TREX_PAM_STORE", "", 1);
    tap_is_str(tp_store_location(NULL, NULL, NULL, NULL, 0, err, sizeof err), "/env/db",
               "location: an empty $TREX_PAM_STORE is none");
    setenv("TREX_PAM_DB", "", 1);
    tap_is_str(tp_store_location(NULL, NULL, NULL, NULL, 0, err, sizeof err), TP_STORE_DEFAULT_PATH,
               "location: an empty env is none");
    unsetenv("TREX_PAM_DB");
    unsetenv("TREX_PAM_STORE");
    tap_is_str(TP_STORE_DEFAULT_PATH, "/var/lib/trex-pam/trex-pam.db", "location: the documented default");

    tap_ok(tp_store_location("/a.db", "/b.db", NULL, NULL, 0, err, sizeof err) == NULL
           && strstr(err, "both store= and db=") != NULL, "location: store= and db= together refused");
    tap_ok(tp_store_location(NULL, "postgresql://u:SeCrEt@h/d", NULL, NULL, 0, err, sizeof err) == NULL
           && strstr(err, "store=") != NULL && strstr(err, "SeCrEt") == NULL,
           "location: a server in db= refused, without its password");
    tap_is_str(tp_store_location(NULL, "sqlite:/x.db", NULL, NULL, 0, err, sizeof err), "sqlite:/x.db",
               "location: db= may say sqlite:");

    tap_is_str(tp_store_file("/var/x.db"), "/var/x.db", "file: a path");
    tap_is_str(tp_store_file("sqlite:/var/x.db"), "/var/x.db", "file: after sqlite:");
    tap_is_str(tp_store_file("SQLite:/var/x.db"), "/var/x.db", "file: the scheme in any case");
    tap_ok(tp_store_file("postgresql://h/d") == NULL, "file: none for a server");
    tap_ok(tp_store_file("redis://h") == NULL, "file: none for an unknown scheme");
    tap_is_str(tp_store_file("./a:b.db"), "./a:b.db", "file: a colon after a slash is a path");

    tap_is_int(tp_store_open(th_path("sq.db"), TP_STORE_CREATE, &st, err, sizeof err), TP_STORE_OK,
               "open: a path");
    tp_store_close(st);
    {
        char loc[4200];
        snprintf(loc, sizeof loc, "sqlite:%s", th_path("sq.db"));
        tap_is_int(tp_store_open(loc, 0, &st, err, sizeof err), TP_STORE_OK, "open: sqlite:PATH");
        tap_is_str(st != NULL ? tp_store_where(st) : "", th_path("sq.db"), "open: its name is the file");
        tp_store_close(st);
    }
    tap_is_int(tp_store_open("sqlite:", TP_STORE_CREATE, &st, err, sizeof err), TP_STORE_ERR,
               "open: sqlite: without a file");
    tap_is_int(tp_store_open("frob://user:SeCrEt@host/x", TP_STORE_CREATE, &st, err, sizeof err),
               TP_STORE_UNAVAIL, "open: a scheme no backend takes");
    tap_ok(strstr(err, "frob: no store backend") != NULL && strstr(err, "SeCrEt") == NULL,
           "open: the refusal names the scheme, not the password");
    tap_ok(access("frob:", F_OK) != 0 && access("frob:/", F_OK) != 0,
           "open: an unknown scheme is never taken for a file");
}

/* Writes text to path with mode. */
static void write_mode(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
}

static void test_conf_file(void)
{
    char conf[4200], confdir[4200], buf[TP_STORE_LOCATION_MAX], err[4700];
    const char *loc;
    struct timespec pause = { 0, 2000000 };     /* past the 1 ms re-check */

    unsetenv("TREX_PAM_DB");
    unsetenv("TREX_PAM_STORE");
    snprintf(confdir, sizeof confdir, "%s/site/pam.d", th_dir());
    snprintf(conf, sizeof conf, "%s/site", th_dir());
    mkdir(conf, 0700);
    mkdir(confdir, 0700);
    snprintf(conf, sizeof conf, "%s/site/trex-pam.conf", th_dir());

    tap_is_str(tp_store_location(NULL, NULL, confdir, buf, sizeof buf, err, sizeof err),
               TP_STORE_DEFAULT_PATH, "conf: no file, the default");
    write_mode(conf, "# the store\n\n  store = sqlite:/srv/a.db  \n", 0600);
    nanosleep(&pause, NULL);
    loc = tp_store_location(NULL, NULL, confdir, buf, sizeof buf, err, sizeof err);
    tap_is_str(loc, "sqlite:/srv/a.db", "conf: the file beside the directory names the store");
    tap_ok(loc == buf, "conf: ... in the caller's buffer");
    strcat(confdir, "/");
    tap_is_str(tp_store_location(NULL, NULL, confdir, buf, sizeof buf, err, sizeof err),
               "sqlite:/srv/a.db", "conf: a directory named with a trailing slash");
    tap_is_str(tp_store_location("/line.db", NULL, confdir, buf, sizeof buf, err, sizeof err),
               "/line.db", "conf: a line's store= first");
    setenv("TREX_PAM_DB", "/env.db", 1);
    tap_is_str(tp_store_location(NULL, NULL, confdir, buf, sizeof buf, err, sizeof err), "/env.db",
               "conf: the environment before the file");
    unsetenv("TREX_PAM_DB");
    tap_is_str(tp_store_location(NULL, NULL, NULL, buf, sizeof buf, err, sizeof err),
               TP_STORE_DEFAULT_PATH, "conf: no directory, no file");

    nanosleep(&pause, NULL);
    write_mode(conf, "store=postgresql://trex@db1/trex\n", 0644);
    tap_is_str(tp_store_location(NULL, NULL, confdir, buf, sizeof buf, err, sizeof err),
               "postgresql://trex@db1/trex", "conf: a changed file is read again");

    struct { const char *text; mode_t mode; const char *why; const char *what; } bad[] = {
        { "store = /a.db\n", 0620, "writable by its group (mode 0620): run chmod g-w", "group-writable" },
        { "store = /a.db\n", 0606, "writable by others (mode 0606): run chmod o-w", "world-writable" },
        { "store = postgresql://trex:SeCrEt@db1/trex\n", 0644, "holds a password", "a password readable by all" },
        { "store = postgresql:host=db1 password=SeCrEt\n", 0604, "holds a password", "a password keyword readable by all" },
        { "# x\nstore /a.db\n", 0600, "trex-pam.conf:2: not a setting", "no '='" },
        { "stroe = /a.db\n", 0600, "trex-pam.conf:1: unknown setting \"stroe\"", "an unknown setting" },
        { "store = /a.db\nstore = /b.db\n", 0600, "trex-pam.conf:2: store is set twice", "twice" },
        { "store =\n", 0600, "trex-pam.conf:1: store names no location", "empty" },
        { "# nothing\n", 0600, "names no store", "no setting" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nanosleep(&pause, NULL);
        unlink(conf);
        write_mode(conf, bad[i].text, bad[i].mode);
        loc = tp_store_location(NULL, NULL, confdir, buf, sizeof buf, err, sizeof err);
        tap_ok(loc == NULL, "conf refused: %s", bad[i].what);
        if (!tap_ok(strstr(err, bad[i].why) != NULL && strstr(err, "SeCrEt") == NULL,
                    "conf refused: %s: the reason, no password", bad[i].what))
            tap_diag("message: %s", err);
    }
    nanosleep(&pause, NULL);
    write_mode(conf, "store = postgresql://trex:SeCrEt@db1/trex\n", 0600);
    tap_is_str(tp_store_location(NULL, NULL, confdir, buf, sizeof buf, err, sizeof err),
               "postgresql://trex:SeCrEt@db1/trex", "conf: a password in a file only its owner reads");
    tap_ok(tp_store_location_has_secret("redis://:pw@h:6379") && tp_store_location_has_secret("postgresql://h/d?password=x")
           && !tp_store_location_has_secret("postgresql://trex@h/d") && !tp_store_location_has_secret("/a/b.db"),
           "has_secret: user:password@, password=, none");
    nanosleep(&pause, NULL);
    unlink(conf);
    tap_is_str(tp_store_location(NULL, NULL, confdir, buf, sizeof buf, err, sizeof err),
               TP_STORE_DEFAULT_PATH, "conf: a removed file names nothing");
}

static void close_null(void *arg)
{
    tp_store_close(NULL);
}

static void test_bad_args(void)
{
    struct tp_store *st = (struct tp_store *)&st;
    char err[256];
    struct tp_user u;
    int count = 7;
    int64_t latest = 7;

    tap_is_int(tp_store_open(NULL, 0, &st, err, sizeof err), TP_STORE_ERR, "open: NULL path");
    tap_ok(st == NULL, "open: *out is NULL on failure");
    tap_is_int(tp_store_open("", 0, &st, err, sizeof err), TP_STORE_ERR, "open: empty path");
    tap_is_int(tp_store_open(th_path("x.db"), TP_STORE_CREATE | TP_STORE_RDONLY, &st, err,
                             sizeof err), TP_STORE_ERR, "open: CREATE with RDONLY");
    tap_ok(contains(err, th_path("x.db")), "open: bad arguments name the file");
    tap_is_int(tp_store_open(th_path("x.db"), 0x100, &st, err, sizeof err), TP_STORE_ERR,
               "open: unknown flag");
    tap_is_int(tp_store_open(th_path("x.db"), 0, NULL, err, sizeof err), TP_STORE_ERR,
               "open: NULL out");
    tap_ok(!exists(th_path("x.db")), "open: nothing created on bad arguments");
    tap_is_int(tp_store_open(th_path("x.db"), 0, &st, NULL, 0), TP_STORE_UNAVAIL,
               "open: NULL err buffer is allowed");
    tap_ok(tp_store_error(NULL) != NULL, "error(NULL) is a string");
    th_returns(close_null, NULL, "close(NULL) does nothing");

    tp_user_init(&u);
    tap_is_int(u.pw_max_days, -1, "user_init: pw_max_days -1");
    tap_ok(u.name == NULL && u.hash == NULL && u.nattrs == 0 && u.expires == 0, "user_init: zeros");
    tap_is_int(tp_store_user_get(NULL, "a", &u), TP_STORE_ERR, "user_get: NULL store");
    tap_is_int(tp_store_fail_count(NULL, "a", 0, &count, &latest), TP_STORE_ERR,
               "fail_count: NULL store");
    tap_ok(count == 0 && latest == 0, "fail_count: outputs zeroed on error");
    tp_user_clear(NULL);
    tp_session_clear(NULL);
}

/* ---- creation and permissions ---------------------------------------------------------- */

static void test_create(void)
{
    const char *p = th_path("new.db"), *g = th_path("group.db");
    char wal[4200], shm[4200];
    struct tp_store *st;
    char *v;
    mode_t old = umask(0);

    st = open_ok(p, TP_STORE_CREATE, "create (umask 0)");
    tap_is_int(mode_of(p), 0600, "create: mode 0600 even with umask 0");
    tap_is_int(add_user(st, "u1", "$6$x$y"), TP_STORE_OK, "create: usable");
    snprintf(wal, sizeof wal, "%s-wal", p);
    snprintf(shm, sizeof shm, "%s-shm", p);
    tap_is_int(mode_of(wal), 0600, "create: -wal mode 0600");
    tap_is_int(mode_of(shm), 0600, "create: -shm mode 0600");
    tp_store_close(st);
    tap_is_int(th_sql_int(p, "PRAGMA application_id"), TH_STORE_APP_ID, "create: application_id is TRex's");
    v = th_sql_text(p, "PRAGMA journal_mode");
    tap_is_str(v, "wal", "create: WAL journal");
    free(v);
    v = th_sql_text(p, "SELECT value FROM trex_pam_meta WHERE key = 'schema_version'");
    tap_is_str(v, SCHEMA, "create: schema version " SCHEMA);
    free(v);
    v = th_sql_text(p, "SELECT value FROM trex_pam_meta WHERE key = 'application'");
    tap_is_str(v, "TRex::PAM", "create: application marker");
    free(v);

    st = open_ok(p, TP_STORE_CREATE, "create on an existing store");
    tap_is_int(add_user(st, "u1", "h"), TP_STORE_EXISTS, "create again: the data is kept");
    tp_store_close(st);

    umask(077);
    st = open_ok(g, TP_STORE_CREATE | TP_STORE_GROUP, "create GROUP (umask 077)");
    tap_is_int(mode_of(g), 0660, "create GROUP: mode 0660 even with umask 077");
    tap_is_int(add_user(st, "u1", "h"), TP_STORE_OK, "create GROUP: usable");
    snprintf(wal, sizeof wal, "%s-wal", g);
    snprintf(shm, sizeof shm, "%s-shm", g);
    tap_is_int(mode_of(wal), 0660, "create GROUP: -wal mode 0660");
    tap_is_int(mode_of(shm), 0660, "create GROUP: -shm mode 0660");
    tp_store_close(st);
    umask(old);

    refused(th_path("missing.db"), 0, TP_STORE_UNAVAIL, "no such file", "missing file");
    tap_ok(!exists(th_path("missing.db")), "missing file: not created without CREATE");
    refused(th_path("nodir/x.db"), TP_STORE_CREATE, TP_STORE_UNAVAIL, "No such file or directory",
            "missing directory");
    refused(th_path("missing.db"), TP_STORE_RDONLY, TP_STORE_UNAVAIL, "no such file",
            "missing file, read-only");
}

static void test_permissions(void)
{
    const char *ww = th_path("ww"), *sticky = th_path("sticky"), *safe = th_path("safe");
    char p[4200], lnk[4200], wal[4300];
    struct tp_store *st;

    mkdir(ww, 0700);
    chmod(ww, 0777);
    snprintf(p, sizeof p, "%s/x.db", ww);
    refused(p, TP_STORE_CREATE, TP_STORE_UNAVAIL, "writable by others", "world-writable dir");
    tap_ok(!exists(p), "world-writable dir: nothing created");

    mkdir(sticky, 0700);
    chmod(sticky, 01777);
    snprintf(p, sizeof p, "%s/x.db", sticky);
    refused(p, TP_STORE_CREATE, TP_STORE_UNAVAIL, "writable by others", "sticky /tmp-like dir");

    /* an existing store moved into an unsafe place */
    mkdir(safe, 0755);
    snprintf(p, sizeof p, "%s/s.db", safe);
    st = open_ok(p, TP_STORE_CREATE, "store in a safe dir");
    tp_store_close(st);
    chmod(safe, 0777);
    refused(p, 0, TP_STORE_UNAVAIL, "writable by others", "dir made world-writable later");
    chmod(safe, 0755);

    chmod(p, 0666);
    refused(p, 0, TP_STORE_UNAVAIL, "readable and writable by others", "world-writable file");
    chmod(p, 0644);
    refused(p, 0, TP_STORE_UNAVAIL, "readable by others (mode 0644): run chmod o-rwx",
            "world-readable file");
    chmod(p, 0600);

    snprintf(wal, sizeof wal, "%s-wal", p);
    if (tap_write_file(safe, "s.db-wal", "") == 0) {
        chmod(wal, 0666);
        refused(p, 0, TP_STORE_UNAVAIL, "-wal: readable and writable by others", "world-writable -wal");
        unlink(wal);
    }

    if (geteuid() == 0) {
        tap_ok(chown(p, 65534, 65534) == 0, "chown to another user");
        refused(p, 0, TP_STORE_UNAVAIL, "owned by uid 65534", "file of another user");
        tap_ok(chown(p, 0, 0) == 0, "chown back");
    } else {
        tap_skip("ownership needs root");
    }

    refused(safe, 0, TP_STORE_UNAVAIL, "not a regular file", "a directory");

    /* symbolic links: the target is checked, its directory too */
    snprintf(lnk, sizeof lnk, "%s/link.db", safe);
    tap_ok(symlink(p, lnk) == 0, "symlink made");
    st = open_ok(lnk, 0, "symlink to a store");
    tap_is_int(add_user(st, "vialink", "h"), TP_STORE_OK, "symlink: writes reach the store");
    tp_store_close(st);
    snprintf(p, sizeof p, "%s/w.db", ww);
    chmod(ww, 0700);
    st = open_ok(p, TP_STORE_CREATE, "store in a dir about to become unsafe");
    tp_store_close(st);
    chmod(ww, 0777);
    unlink(lnk);
    tap_ok(symlink(p, lnk) == 0, "symlink into a world-writable dir");
    refused(lnk, 0, TP_STORE_UNAVAIL, "writable by others", "symlink into a world-writable dir");
    unlink(lnk);
    snprintf(p, sizeof p, "%s/nowhere.db", safe);
    tap_ok(symlink(p, lnk) == 0, "dangling symlink");
    refused(lnk, TP_STORE_CREATE, TP_STORE_UNAVAIL, "cannot resolve", "CREATE through a dangling symlink");
    tap_ok(!exists(p), "dangling symlink: nothing created through it");
    unlink(lnk);

    /* a symbolic link among the directories (/var/lib -> /data/var/lib) */
    snprintf(lnk, sizeof lnk, "%s/safelink", dir);
    tap_ok(symlink(safe, lnk) == 0, "symlink to a directory");
    snprintf(p, sizeof p, "%s/safelink/d.db", dir);
    st = open_ok(p, TP_STORE_CREATE, "create through a symlinked directory");
    tap_is_int(add_user(st, "d", "h"), TP_STORE_OK, "symlinked directory: usable");
    tp_store_close(st);
    snprintf(p, sizeof p, "%s/d.db", safe);
    tap_is_int(mode_of(p), 0600, "symlinked directory: the file is in the real directory");
    snprintf(p, sizeof p, "%s/safelink/d.db", dir);
    st = open_ok(p, 0, "open through a symlinked directory");
    tp_store_close(st);

    /* a relative name ("file:..." or ":memory:" would be read by SQLite as
     * special); "file:" is a scheme no backend takes, so it needs sqlite: */
    if (chdir(safe) == 0) {
        {
            char err[1024];
            tap_is_int(tp_store_open("file:rel.db", TP_STORE_CREATE, &st, err, sizeof err),
                       TP_STORE_UNAVAIL, "a relative name that looks like a URI, bare: refused");
            tap_ok(contains(err, "file: no store backend") && contains(err, "sqlite:PATH"),
                   "bare URI-like name: the message names the scheme and sqlite:");
            tap_ok(access("file:rel.db", F_OK) != 0, "bare URI-like name: nothing created");
        }
        st = open_ok("sqlite:file:rel.db", TP_STORE_CREATE, "a relative name that looks like a URI");
        tap_is_int(add_user(st, "r", "h"), TP_STORE_OK, "relative name: usable");
        tp_store_close(st);
        snprintf(p, sizeof p, "%s/file:rel.db", safe);
        tap_is_int(mode_of(p), 0600, "relative name: the file is where it was named");
        st = open_ok(":memory:", TP_STORE_CREATE, "a file named :memory:");
        tp_store_close(st);
        snprintf(p, sizeof p, "%s/:memory:", safe);
        tap_is_int(mode_of(p), 0600, ":memory: is a file here");
        refused("nothing.db", 0, TP_STORE_UNAVAIL, "no such file", "a missing relative name");
        tap_ok(chdir("/") == 0, "back to /");
    }
}

/* The file is unreadable for the opening user (root checks it as nobody). */
static void test_unreadable(void)
{
    const char *d = th_path("ro");
    char p[4200], err[1024] = "";
    int fds[2], status = 0;
    struct tp_store *st;
    ssize_t n;
    pid_t pid;

    if (geteuid() != 0) {
        mkdir(d, 0700);
        snprintf(p, sizeof p, "%s/r.db", d);
        st = open_ok(p, TP_STORE_CREATE, "unreadable: create");
        tp_store_close(st);
        chmod(p, 0);
        refused(p, 0, TP_STORE_UNAVAIL, "cannot open", "unreadable file");
        chmod(p, 0600);
        return;
    }
    chmod(dir, 0755);
    mkdir(d, 0755);
    snprintf(p, sizeof p, "%s/r.db", d);
    st = open_ok(p, TP_STORE_CREATE, "unreadable: create as root");
    tp_store_close(st);
    if (pipe(fds) != 0 || (pid = fork()) < 0) {
        tap_ok(0, "unreadable: fork");
        return;
    }
    if (pid == 0) {
        int rc = 99;
        close(fds[0]);
        if (setgid(65534) == 0 && setuid(65534) == 0) {
            rc = tp_store_open(p, 0, &st, err, sizeof err);
            if (rc == TP_STORE_OK)
                tp_store_close(st);
        }
        n = write(fds[1], err, strlen(err) + 1);
        (void)n;
        close(fds[1]);
        _exit(rc);
    }
    close(fds[1]);
    n = read(fds[0], err, sizeof err - 1);
    err[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    waitpid(pid, &status, 0);
    tap_is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, TP_STORE_UNAVAIL,
               "unreadable file (as nobody): UNAVAIL");
    tap_ok(contains(err, p) && contains(err, "cannot open"), "unreadable: the message says so");
    tap_diag("unreadable: %s", err);
    chmod(dir, 0700);
}

/* ---- files that are not (current) TRex::PAM stores ------------------------------------- */

static void test_not_ours(void)
{
    const char *empty = th_path("empty.db"), *text = th_path("text.db"), *foreign = th_path("foreign.db");
    const char *appid = th_path("appid.db"), *fakemeta = th_path("fakemeta.db");
    const char *newer = th_path("newer.db"), *garbled = th_path("garbled.db");
    const char *nometa = th_path("nometa.db");
    struct tp_store *st;
    char sql[512];

    th_file("empty.db", "");
    chmod(empty, 0600);
    refused(empty, 0, TP_STORE_UNAVAIL, "empty file", "zero-length file without CREATE");
    refused(empty, TP_STORE_RDONLY, TP_STORE_UNAVAIL, "empty file", "zero-length file read-only");
    chmod(empty, 0644);
    refused(empty, TP_STORE_CREATE, TP_STORE_UNAVAIL, "readable by others",
            "zero-length file others can read, with CREATE");
    chmod(empty, 0600);
    st = open_ok(empty, TP_STORE_CREATE, "zero-length private file with CREATE is initialised");
    tap_is_int(add_user(st, "a", "h"), TP_STORE_OK, "initialised empty file works");
    tp_store_close(st);

    th_file("text.db", "root:x:0:0:root:/root:/bin/bash\nthis is no database at all, "
                   "but long enough to look like one might be here................................\n");
    chmod(text, 0600);
    refused(text, 0, TP_STORE_UNAVAIL, "not a TRex::PAM database", "text file");
    refused(text, TP_STORE_CREATE, TP_STORE_UNAVAIL, "not a TRex::PAM database",
            "text file with CREATE");

    th_sql(foreign, "CREATE TABLE mailbox (id INTEGER PRIMARY KEY, owner TEXT);"
             "INSERT INTO mailbox (owner) VALUES ('alice');");
    chmod(foreign, 0600);
    refused(foreign, 0, TP_STORE_UNAVAIL, "no TRex::PAM tables", "foreign SQLite database");
    refused(foreign, TP_STORE_CREATE, TP_STORE_UNAVAIL, "no TRex::PAM tables",
            "foreign SQLite database with CREATE");
    tap_is_int(th_sql_int(foreign, "SELECT count(*) FROM sqlite_master WHERE name = 'users'"), 0,
               "foreign: no table added");

    th_sql(appid, "PRAGMA application_id = 1234; CREATE TABLE t (x);");
    chmod(appid, 0600);
    refused(appid, TP_STORE_CREATE, TP_STORE_UNAVAIL, "application_id is 0x000004d2",
            "another application_id");

    th_sql(fakemeta, "CREATE TABLE trex_pam_meta (key TEXT, value TEXT);"
             "INSERT INTO trex_pam_meta VALUES ('schema_version', '1');");
    chmod(fakemeta, 0600);
    refused(fakemeta, 0, TP_STORE_UNAVAIL, "no TRex::PAM marker", "meta table without the marker");

    st = open_ok(newer, TP_STORE_CREATE, "newer: create");
    tp_store_close(st);
    th_sql(newer, "UPDATE trex_pam_meta SET value = '" NEWER "' WHERE key = 'schema_version'");
    refused(newer, 0, TP_STORE_UNAVAIL, "made by a newer TRex::PAM", "newer schema version");
    refused(newer, TP_STORE_RDONLY, TP_STORE_UNAVAIL, "made by a newer TRex::PAM",
            "newer schema version, read-only");

    st = open_ok(garbled, TP_STORE_CREATE, "garbled: create");
    tp_store_close(st);
    th_sql(garbled, "UPDATE trex_pam_meta SET value = 'one' WHERE key = 'schema_version'");
    refused(garbled, 0, TP_STORE_UNAVAIL, "schema version is missing or unreadable",
            "garbled schema version");

    /* `sqlite3 .dump` and back loses the application_id: the meta rows still say TRex */
    st = open_ok(th_path("restored.db"), TP_STORE_CREATE, "restored: create");
    tap_is_int(add_user(st, "kept", "h"), TP_STORE_OK, "restored: a user");
    tp_store_close(st);
    th_sql(th_path("restored.db"), "PRAGMA application_id = 0");
    st = open_ok(th_path("restored.db"), 0, "a store without its application_id (restored from a dump)");
    tap_is_int(add_user(st, "kept", "h"), TP_STORE_EXISTS, "restored: its users are there");
    tp_store_close(st);

    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; CREATE TABLE users (name TEXT);", TH_STORE_APP_ID);
    th_sql(nometa, sql);
    chmod(nometa, 0600);
    refused(nometa, TP_STORE_CREATE, TP_STORE_UNAVAIL, "trex_pam_meta table is missing",
            "TRex application_id without the meta table");
}

/* A version 0 store (the marker and nothing else) is upgraded on open. */
static void test_upgrade(void)
{
    const char *p = th_path("v0.db");
    struct tp_store *st;
    char sql[512], *v;

    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode = WAL; PRAGMA application_id = %d;"
             "CREATE TABLE trex_pam_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)"
             " WITHOUT ROWID;"
             "INSERT INTO trex_pam_meta VALUES ('application', 'TRex::PAM'), ('schema_version', '0');",
             TH_STORE_APP_ID);
    th_sql(p, sql);
    chmod(p, 0600);
    refused(p, TP_STORE_RDONLY, TP_STORE_UNAVAIL, "needs an upgrade", "version 0 read-only");
    st = open_ok(p, 0, "version 0 is upgraded");
    tap_is_int(add_user(st, "up", "h"), TP_STORE_OK, "upgraded store works");
    tp_store_close(st);
    v = th_sql_text(p, "SELECT value FROM trex_pam_meta WHERE key = 'schema_version'");
    tap_is_str(v, SCHEMA, "upgrade: version " SCHEMA " recorded");
    free(v);
    st = open_ok(p, TP_STORE_RDONLY, "upgraded store opens read-only");
    tp_store_close(st);
}

/* Write bytes at an offset of a file. */
static int scribble(const char *path, long off, size_t len, unsigned char byte)
{
    int fd = open(path, O_WRONLY);
    unsigned char *b = malloc(len);
    int ok = fd >= 0 && b != NULL;
    if (ok) {
        memset(b, byte, len);
        ok = pwrite(fd, b, len, off) == (ssize_t)len;
    }
    free(b);
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

static int count_users(void *data, const struct tp_user *u)
{
    (void)u;
    (*(int *)data)++;
    return 0;
}

/* Open and read every user: UNAVAIL at one of the two steps, message with the file. */
static void corrupt_check(const char *p, const char *what)
{
    struct tp_store *st = NULL;
    char err[1024] = "";
    int n = 0, rc = tp_store_open(p, 0, &st, err, sizeof err);

    if (rc == TP_STORE_OK) {
        rc = tp_store_user_list(st, count_users, &n);
        snprintf(err, sizeof err, "%s", tp_store_error(st));
        tp_store_close(st);
    }
    tap_is_int(rc, TP_STORE_UNAVAIL, "%s: UNAVAIL", what);
    tap_ok(contains(err, p), "%s: the message names the file", what);
    tap_ok(contains(err, "malformed") || contains(err, "corrupt") || contains(err, "not a"),
           "%s: the message says corrupt", what);
    tap_diag("%s: %s", what, err);
}

static void make_big(const char *p)
{
    struct tp_store *st = open_ok(p, TP_STORE_CREATE, "big store");
    struct tp_attr attrs[2] = { { "display_name", "Some Body With A Long Name" },
                                { "mail_home", "/var/mail/somewhere/deep/in/the/tree" } };
    char name[64];
    struct tp_user u;
    int bad = 0;

    for (int i = 0; i < 600 && st != NULL; i++) {
        tp_user_init(&u);
        snprintf(name, sizeof name, "user%05d", i);
        u.name = name;
        u.hash = "$y$j9T$abcdefghijklmnopqrstuv$ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg";
        u.attrs = attrs;
        u.nattrs = 2;
        bad += tp_store_user_add(st, &u) != TP_STORE_OK;
    }
    tap_is_int(bad, 0, "big store: 600 users added");
    tp_store_close(st);
}

static void test_corrupt(void)
{
    const char *p1 = th_path("c1.db"), *p2 = th_path("c2.db"), *p3 = th_path("c3.db");
    struct stat sb;
    size_t n1, n2;
    unsigned char *before, *after;

    make_big(p1);
    scribble(p1, 100, 4096 - 100, 0xff);   /* page 1 after the header: the schema */
    before = slurp(p1, &n1);
    corrupt_check(p1, "garbage in the schema page");
    after = slurp(p1, &n2);
    tap_ok(before && after && n1 == n2 && memcmp(before, after, n1) == 0,
           "garbage in the schema page: the file is left as it was");
    free(before);
    free(after);

    make_big(p2);
    stat(p2, &sb);
    tap_ok(sb.st_size > 16 * 4096, "big store spans many pages");
    scribble(p2, (sb.st_size / 2 / 4096) * 4096, 3 * 4096, 0xa5);
    before = slurp(p2, &n1);
    corrupt_check(p2, "garbage in the middle");
    after = slurp(p2, &n2);
    tap_ok(before && after && n1 == n2 && memcmp(before, after, n1) == 0,
           "garbage in the middle: the file is left as it was");
    free(before);
    free(after);

    make_big(p3);
    stat(p3, &sb);
    tap_ok(truncate(p3, sb.st_size / 2) == 0, "truncate the store to half");
    corrupt_check(p3, "truncated store");
}

/* ---- users --------------------------------------------------------------------------- */

struct seen {
    char names[512];
    int stop_after;
    int calls;
    struct tp_store *st;
};

static int collect_users(void *data, const struct tp_user *u)
{
    struct seen *s = data;
    size_t len = strlen(s->names);
    snprintf(s->names + len, sizeof s->names - len, "%s(", u->name);
    for (size_t i = 0; i < u->nattrs; i++) {
        len = strlen(s->names);
        snprintf(s->names + len, sizeof s->names - len, "%s%s=%s", i ? "," : "", u->attrs[i].name,
                 u->attrs[i].value);
    }
    len = strlen(s->names);
    snprintf(s->names + len, sizeof s->names - len, ")");
    if (s->st != NULL)                      /* change the store from the callback */
        tp_store_user_delete(s->st, u->name);
    return ++s->calls == s->stop_after;
}

static void test_users(struct tp_store *st, const char *p)
{
    struct tp_attr attrs[2] = { { "mail_home", "/var/mail/alice" }, { "display_name", "Alice A." } };
    struct tp_user u, g;
    struct seen seen;
    const char *h1 = "$y$j9T$saltsaltsalt$hashONEhashONEhashONEhashONEhashONEhash1";
    const char *h2 = "$y$j9T$saltsaltsalt$hashTWOhashTWOhashTWOhashTWOhashTWOhash2";
    const char *h3 = "$6$rounds=5000$salt$hashTHREEhashTHREEhashTHREE3";
    int64_t before = (int64_t)time(NULL);

    tp_user_init(&u);
    u.name = "alice";
    u.hash = (char *)h1;
    u.disabled = 1;
    u.force_change = 1;
    u.expires = 2000000000;
    u.pw_changed = 1700000000;
    u.pw_min_days = 1;
    u.pw_max_days = 90;
    u.pw_warn_days = 7;
    u.attrs = attrs;
    u.nattrs = 2;
    tap_is_int(tp_store_user_add(st, &u), TP_STORE_OK, "user_add alice");
    tap_is_int(tp_store_user_add(st, &u), TP_STORE_EXISTS, "user_add alice again: EXISTS");
    tap_ok(contains(tp_store_error(st), p), "EXISTS: message names the file");
    u.hash = NULL;
    tap_is_int(tp_store_user_add(st, &u), TP_STORE_ERR, "user_add without a hash: ERR");
    u.hash = (char *)h1;
    u.name = "";
    tap_is_int(tp_store_user_add(st, &u), TP_STORE_ERR, "user_add with an empty name: ERR");

    g.name = (char *)"junk";               /* the getter overwrites, never frees */
    tap_is_int(tp_store_user_get(st, "alice", &g), TP_STORE_OK, "user_get alice");
    tap_is_str(g.name, "alice", "get: name");
    tap_is_str(g.hash, h1, "get: hash");
    tap_ok(g.disabled == 1 && g.force_change == 1, "get: flags");
    tap_ok(g.expires == 2000000000 && g.pw_changed == 1700000000, "get: dates");
    tap_ok(g.pw_min_days == 1 && g.pw_max_days == 90 && g.pw_warn_days == 7, "get: limits");
    tap_ok(g.created >= before && g.created <= (int64_t)time(NULL), "get: created set by the store");
    tap_is_int((long)g.nattrs, 2, "get: two attributes");
    if (g.nattrs == 2) {
        tap_is_str(g.attrs[0].name, "display_name", "get: attributes in name order");
        tap_is_str(g.attrs[0].value, "Alice A.", "get: attribute value");
        tap_is_str(g.attrs[1].name, "mail_home", "get: second attribute");
    }
    tp_user_clear(&g);
    tap_ok(g.name == NULL && g.hash == NULL && g.attrs == NULL && g.pw_max_days == -1,
           "user_clear: freed and init'ed");

    tap_is_int(tp_store_user_get(st, "nobody", &g), TP_STORE_NOTFOUND, "user_get unknown: NOTFOUND");
    tap_ok(g.name == NULL && g.hash == NULL, "user_get unknown: struct empty");
    tap_ok(contains(tp_store_error(st), p), "NOTFOUND: message names the file");
    tap_is_int(tp_store_user_get(st, "", &g), TP_STORE_ERR, "user_get empty name: ERR");
    tap_is_int(tp_store_user_get(st, "Alice", &g), TP_STORE_NOTFOUND, "names are case-sensitive");

    /* update: only the fields in the mask */
    tp_user_init(&u);
    u.name = "alice";
    u.disabled = 0;
    u.pw_max_days = 30;
    u.hash = (char *)"ignored";
    tap_is_int(tp_store_user_update(st, &u, TP_USER_DISABLED | TP_USER_PW_MAX), TP_STORE_OK,
               "user_update disabled + max");
    tap_is_int(tp_store_user_get(st, "alice", &g), TP_STORE_OK, "get after update");
    tap_ok(g.disabled == 0 && g.pw_max_days == 30, "update: masked fields changed");
    tap_ok(g.force_change == 1 && g.pw_min_days == 1 && g.expires == 2000000000, "update: others kept");
    tap_is_str(g.hash, h1, "update: hash kept without TP_USER_HASH");
    tp_user_clear(&g);
    u.hash = (char *)h2;
    u.pw_changed = 1750000000;
    u.force_change = 0;
    u.expires = 0;
    u.pw_min_days = 0;
    u.pw_warn_days = 3;
    tap_is_int(tp_store_user_update(st, &u, TP_USER_HASH | TP_USER_FORCE_CHANGE | TP_USER_EXPIRES
                                    | TP_USER_PW_MIN | TP_USER_PW_WARN), TP_STORE_OK,
               "user_update hash and the rest");
    tp_store_user_get(st, "alice", &g);
    tap_is_str(g.hash, h2, "update: hash");
    tap_ok(g.pw_changed == 1750000000, "update: TP_USER_HASH sets pw_changed too");
    tap_ok(g.force_change == 0 && g.expires == 0 && g.pw_min_days == 0 && g.pw_warn_days == 3,
           "update: all masked fields");
    tp_user_clear(&g);
    u.pw_changed = 1;
    tap_is_int(tp_store_user_update(st, &u, TP_USER_PW_CHANGED), TP_STORE_OK, "update pw_changed");
    tp_store_user_get(st, "alice", &g);
    tap_ok(g.pw_changed == 1, "update: pw_changed alone");
    tap_is_str(g.hash, h2, "update: pw_changed alone keeps the hash");
    tp_user_clear(&g);
    tap_is_int(tp_store_user_update(st, &u, 0x1000), TP_STORE_ERR, "update: unknown mask bit: ERR");
    u.hash = NULL;
    tap_is_int(tp_store_user_update(st, &u, TP_USER_HASH), TP_STORE_ERR, "update: NULL hash: ERR");
    u.name = "ghost";
    tap_is_int(tp_store_user_update(st, &u, TP_USER_DISABLED), TP_STORE_NOTFOUND,
               "update unknown user: NOTFOUND");

    /* set_hash: compare and swap */
    tap_is_int(tp_store_user_set_hash(st, "alice", h2, h3, 1760000000), TP_STORE_OK,
               "set_hash with the right old hash");
    tp_store_user_get(st, "alice", &g);
    tap_is_str(g.hash, h3, "set_hash: new hash");
    tap_ok(g.pw_changed == 1760000000, "set_hash: pw_changed");
    tp_user_clear(&g);
    u.name = "alice";
    u.force_change = 1;
    tp_store_user_update(st, &u, TP_USER_FORCE_CHANGE);
    tap_is_int(tp_store_user_set_hash(st, "alice", h2, h1, 1770000000), TP_STORE_CONFLICT,
               "set_hash with a stale old hash: CONFLICT");
    tap_ok(contains(tp_store_error(st), p), "CONFLICT: message names the file");
    tap_ok(!contains(tp_store_error(st), "hashONE") && !contains(tp_store_error(st), "hashTWO")
           && !contains(tp_store_error(st), "hashTHREE") && !contains(tp_store_error(st), "$"),
           "CONFLICT: message holds no hash");
    tap_diag("conflict: %s", tp_store_error(st));
    tp_store_user_get(st, "alice", &g);
    tap_is_str(g.hash, h3, "CONFLICT: hash unchanged");
    tap_ok(g.force_change == 1 && g.pw_changed == 1760000000, "CONFLICT: nothing else changed");
    tp_user_clear(&g);
    tap_is_int(tp_store_user_set_hash(st, "alice", NULL, h1, 1780000000), TP_STORE_OK,
               "set_hash without an expected hash");
    tp_store_user_get(st, "alice", &g);
    tap_is_str(g.hash, h1, "set_hash NULL expect: new hash");
    tap_is_int(g.force_change, 0, "set_hash: clears force_change");
    tp_user_clear(&g);
    tap_is_int(tp_store_user_set_hash(st, "ghost", NULL, h1, 1), TP_STORE_NOTFOUND,
               "set_hash unknown user: NOTFOUND");
    tap_is_int(tp_store_user_set_hash(st, "ghost", h2, h1, 1), TP_STORE_NOTFOUND,
               "set_hash unknown user with expect: NOTFOUND");
    tap_is_int(tp_store_user_set_hash(st, "alice", NULL, NULL, 1), TP_STORE_ERR,
               "set_hash NULL new hash: ERR");
    tap_is_int(tp_store_user_set_hash(st, "alice", h1, "", 1), TP_STORE_OK,
               "set_hash to \"\" (no password)");
    tap_is_int(tp_store_user_set_hash(st, "alice", "", h1, 1), TP_STORE_OK,
               "set_hash from \"\" with expect \"\"");

    /* attributes */
    tap_is_int(tp_store_attr_set(st, "alice", "display_name", "Alice B."), TP_STORE_OK,
               "attr_set replaces");
    tap_is_int(tp_store_attr_set(st, "alice", "lang", "fr"), TP_STORE_OK, "attr_set adds");
    tap_is_int(tp_store_attr_set(st, "alice", "mail_home", NULL), TP_STORE_OK, "attr_set NULL deletes");
    tap_is_int(tp_store_attr_set(st, "alice", "never_was", NULL), TP_STORE_OK,
               "attr_set NULL on an absent attribute: OK");
    tap_is_int(tp_store_attr_set(st, "ghost", "lang", "fr"), TP_STORE_NOTFOUND,
               "attr_set unknown user: NOTFOUND");
    tap_is_int(tp_store_attr_set(st, "ghost", "lang", NULL), TP_STORE_NOTFOUND,
               "attr delete unknown user: NOTFOUND");
    tap_is_int(tp_store_attr_set(st, "alice", "", "x"), TP_STORE_ERR, "attr_set empty name: ERR");
    tp_store_user_get(st, "alice", &g);
    tap_is_int((long)g.nattrs, 2, "attrs after changes");
    if (g.nattrs == 2) {
        tap_is_str(g.attrs[0].value, "Alice B.", "attr replaced");
        tap_is_str(g.attrs[1].name, "lang", "attr added, mail_home gone");
    }
    tp_user_clear(&g);

    /* list: name order, attributes, early stop, a callback that changes the store */
    add_user(st, "carol", "hc");
    add_user(st, "bob", "hb");
    tp_store_attr_set(st, "bob", "z", "1");
    tp_store_attr_set(st, "bob", "a", "2");
    memset(&seen, 0, sizeof seen);
    tap_is_int(tp_store_user_list(st, collect_users, &seen), TP_STORE_OK, "user_list");
    tap_is_str(seen.names, "alice(display_name=Alice B.,lang=fr)bob(a=2,z=1)carol()",
               "user_list: name order with attributes");
    memset(&seen, 0, sizeof seen);
    seen.stop_after = 2;
    tap_is_int(tp_store_user_list(st, collect_users, &seen), TP_STORE_OK, "user_list stopped");
    tap_is_str(seen.names, "alice(display_name=Alice B.,lang=fr)bob(a=2,z=1)",
               "user_list: a non-zero return stops the walk");
    tap_is_int(tp_store_user_list(st, NULL, NULL), TP_STORE_ERR, "user_list NULL fn: ERR");

    /* delete */
    tap_is_int(tp_store_user_delete(st, "carol"), TP_STORE_OK, "user_delete");
    tap_is_int(tp_store_user_get(st, "carol", &g), TP_STORE_NOTFOUND, "deleted user is gone");
    tap_is_int(tp_store_user_delete(st, "carol"), TP_STORE_NOTFOUND, "user_delete again: NOTFOUND");
    memset(&seen, 0, sizeof seen);
    seen.st = st;
    tap_is_int(tp_store_user_list(st, collect_users, &seen), TP_STORE_OK,
               "user_list whose callback deletes each user");
    tap_is_str(seen.names, "alice(display_name=Alice B.,lang=fr)bob(a=2,z=1)",
               "user_list: the walk saw a consistent list");
    memset(&seen, 0, sizeof seen);
    tp_store_user_list(st, collect_users, &seen);
    tap_is_str(seen.names, "", "user_list: the callback's deletes happened");
    tap_is_int(th_sql_int(p, "SELECT count(*) FROM user_attrs"), 0, "delete: attributes cascaded");
}

/* ---- sessions ------------------------------------------------------------------------- */

static void digest_of(unsigned char d[TP_SESSION_DIGEST_LEN], int seed)
{
    for (int i = 0; i < TP_SESSION_DIGEST_LEN; i++)
        d[i] = (unsigned char)(seed * 31 + i * 7);
}

struct sess_seen {
    char text[512];
    int stop_after, calls;
};

static int collect_sessions(void *data, const struct tp_session *s)
{
    struct sess_seen *x = data;
    size_t len = strlen(x->text);
    snprintf(x->text + len, sizeof x->text - len, "%s:%d:%lld:%s ", s->user, s->digest[0],
             (long long)s->created, s->rhost ? s->rhost : "-");
    return ++x->calls == x->stop_after;
}

static void test_sessions(struct tp_store *st, const char *p)
{
    unsigned char d1[32], d2[32], d3[32], d4[32], dx[32];
    struct tp_session s, g;
    struct sess_seen seen;
    int count = -1;

    add_user(st, "sam", "hs");
    add_user(st, "tom", "ht");
    digest_of(d1, 1);
    digest_of(d2, 2);
    digest_of(d3, 3);
    digest_of(d4, 4);
    digest_of(dx, 9);
    memset(&s, 0, sizeof s);
    memcpy(s.digest, d1, 32);
    s.user = "sam";
    s.created = 1000;
    s.last_used = 1000;
    s.rhost = "192.0.2.1";
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_OK, "session_add");
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_EXISTS, "session_add same digest: EXISTS");
    memcpy(s.digest, d2, 32);
    s.created = 2000;
    s.last_used = 0;                        /* defaults to created */
    s.rhost = NULL;
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_OK, "session_add without rhost");
    memcpy(s.digest, d3, 32);
    s.user = "tom";
    s.created = 3000;
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_OK, "session_add for tom");
    memcpy(s.digest, dx, 32);
    s.user = "ghost";
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_NOTFOUND, "session_add unknown user: NOTFOUND");
    s.user = NULL;
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_ERR, "session_add without user: ERR");

    tap_is_int(tp_store_session_get(st, d1, &g), TP_STORE_OK, "session_get");
    tap_is_str(g.user, "sam", "session_get: user");
    tap_ok(g.created == 1000 && g.last_used == 1000, "session_get: times");
    tap_is_str(g.rhost, "192.0.2.1", "session_get: rhost");
    tap_ok(memcmp(g.digest, d1, 32) == 0, "session_get: digest");
    tp_session_clear(&g);
    tap_ok(g.user == NULL && g.rhost == NULL && g.digest[0] == 0, "session_clear");
    tap_is_int(tp_store_session_get(st, d2, &g), TP_STORE_OK, "session_get d2");
    tap_ok(g.rhost == NULL && g.last_used == 2000, "session_get: NULL rhost, last_used = created");
    tp_session_clear(&g);
    tap_is_int(tp_store_session_get(st, dx, &g), TP_STORE_NOTFOUND, "session_get unknown: NOTFOUND");
    tap_ok(g.user == NULL, "session_get unknown: struct empty");
    tap_ok(contains(tp_store_error(st), p), "session NOTFOUND: message names the file");

    /* touch: coalesced */
    tap_is_int(tp_store_session_touch(st, d1, 1030, 60), TP_STORE_OK, "touch within the interval");
    tp_store_session_get(st, d1, &g);
    tap_is_int((long)g.last_used, 1000, "touch within the interval: not written");
    tp_session_clear(&g);
    tap_is_int(tp_store_session_touch(st, d1, 1060, 60), TP_STORE_OK, "touch at exactly the interval");
    tp_store_session_get(st, d1, &g);
    tap_is_int((long)g.last_used, 1000, "touch at exactly the interval: not written");
    tp_session_clear(&g);
    tap_is_int(tp_store_session_touch(st, d1, 1061, 60), TP_STORE_OK, "touch past the interval");
    tp_store_session_get(st, d1, &g);
    tap_is_int((long)g.last_used, 1061, "touch past the interval: written");
    tp_session_clear(&g);
    tap_is_int(tp_store_session_touch(st, d1, 1062, 0), TP_STORE_OK, "touch with no interval");
    tp_store_session_get(st, d1, &g);
    tap_is_int((long)g.last_used, 1062, "touch with no interval: written");
    tp_session_clear(&g);
    tap_is_int(tp_store_session_touch(st, d1, 500, 0), TP_STORE_OK, "touch back in time");
    tp_store_session_get(st, d1, &g);
    tap_is_int((long)g.last_used, 1062, "touch back in time: never moves last_used back");
    tp_session_clear(&g);
    tap_is_int(tp_store_session_touch(st, dx, 5000, 60), TP_STORE_NOTFOUND, "touch unknown: NOTFOUND");
    tap_is_int(tp_store_session_touch(st, d1, INT64_MIN + 5, INT64_MAX), TP_STORE_OK,
               "touch: no overflow with extreme values");

    /* list */
    memset(&seen, 0, sizeof seen);
    tap_is_int(tp_store_session_list(st, NULL, collect_sessions, &seen), TP_STORE_OK, "session_list all");
    {
        char want[256];
        snprintf(want, sizeof want, "sam:%d:1000:192.0.2.1 sam:%d:2000:- tom:%d:3000:- ", d1[0], d2[0],
                 d3[0]);
        tap_is_str(seen.text, want, "session_list: by user, then created");
        memset(&seen, 0, sizeof seen);
        tp_store_session_list(st, "tom", collect_sessions, &seen);
        snprintf(want, sizeof want, "tom:%d:3000:- ", d3[0]);
        tap_is_str(seen.text, want, "session_list for one user");
    }
    memset(&seen, 0, sizeof seen);
    seen.stop_after = 1;
    tp_store_session_list(st, NULL, collect_sessions, &seen);
    tap_is_int(seen.calls, 1, "session_list: a non-zero return stops");
    memset(&seen, 0, sizeof seen);
    tap_is_int(tp_store_session_list(st, "ghost", collect_sessions, &seen), TP_STORE_OK,
               "session_list unknown user: OK");
    tap_is_int(seen.calls, 0, "session_list unknown user: nothing");

    /* delete, delete_user, purge */
    tap_is_int(tp_store_session_delete(st, d3), TP_STORE_OK, "session_delete");
    tap_is_int(tp_store_session_delete(st, d3), TP_STORE_NOTFOUND, "session_delete again: NOTFOUND");
    tap_is_int(tp_store_session_get(st, d3, &g), TP_STORE_NOTFOUND, "deleted session is gone");
    memcpy(s.digest, d4, 32);
    s.user = "sam";
    s.created = 4000;
    s.last_used = 4000;
    tp_store_session_add(st, &s);
    tap_is_int(tp_store_session_delete_user(st, "sam", d1, &count), TP_STORE_OK,
               "session_delete_user keeping one");
    tap_is_int(count, 2, "delete_user: two deleted");
    tap_is_int(tp_store_session_get(st, d1, &g), TP_STORE_OK, "delete_user: the kept one stays");
    tp_session_clear(&g);
    tap_is_int(tp_store_session_delete_user(st, "ghost", NULL, &count), TP_STORE_OK,
               "delete_user unknown user: OK");
    tap_is_int(count, 0, "delete_user unknown user: 0");
    tap_is_int(tp_store_session_delete_user(st, "sam", NULL, NULL), TP_STORE_OK,
               "delete_user all, count NULL");
    tap_is_int(tp_store_session_get(st, d1, &g), TP_STORE_NOTFOUND, "delete_user NULL keep: all gone");

    for (int i = 0; i < 4; i++) {
        unsigned char d[32];
        digest_of(d, 20 + i);
        memcpy(s.digest, d, 32);
        s.created = 100 * (i + 1);          /* 100 200 300 400 */
        s.last_used = 1000 * (i + 1);       /* 1000 2000 3000 4000 */
        tp_store_session_add(st, &s);
    }
    tap_is_int(tp_store_session_purge(st, 2500, 0, &count), TP_STORE_OK, "purge idle");
    tap_is_int(count, 2, "purge idle: last_used 1000, 2000");
    tap_is_int(tp_store_session_purge(st, 0, 350, &count), TP_STORE_OK, "purge old");
    tap_is_int(count, 1, "purge old: created 300");
    tap_is_int(tp_store_session_purge(st, 0, 0, &count), TP_STORE_OK, "purge nothing");
    tap_is_int(count, 0, "purge nothing: 0");
    tap_is_int(tp_store_session_purge(st, 5000, 0, NULL), TP_STORE_OK, "purge the rest, count NULL");
    memset(&seen, 0, sizeof seen);
    tp_store_session_list(st, NULL, collect_sessions, &seen);
    tap_is_int(seen.calls, 0, "purge: none left");
}

/* ---- failures -------------------------------------------------------------------------- */

static void test_failures(struct tp_store *st)
{
    int count = -1;
    int64_t latest = -1;
    int bad = 0;

    add_user(st, "fay", "hf");
    tap_is_int(tp_store_fail_count(st, "fay", 0, &count, &latest), TP_STORE_OK, "fail_count none");
    tap_ok(count == 0 && latest == 0, "fail_count none: 0, 0");
    tap_is_int(tp_store_fail_add(st, "fay", 100, 0, &count), TP_STORE_OK, "fail_add");
    tap_is_int(count, 1, "fail_add: 1");
    tp_store_fail_add(st, "fay", 200, 0, &count);
    tap_is_int(count, 2, "fail_add: 2");
    tap_is_int(tp_store_fail_add(st, "fay", 300, 150, &count), TP_STORE_OK, "fail_add with a window");
    tap_is_int(count, 2, "fail_add: counts only since (200, 300)");
    tp_store_fail_add(st, "fay", 300, 300, &count);
    tap_is_int(count, 2, "fail_add: 'at or after since', same second counted");
    tap_is_int(tp_store_fail_add(st, "fay", 310, 0, NULL), TP_STORE_OK, "fail_add count NULL");
    tap_is_int(tp_store_fail_count(st, "fay", 0, &count, &latest), TP_STORE_OK, "fail_count all");
    tap_ok(count == 5 && latest == 310, "fail_count all: 5, latest 310");
    tp_store_fail_count(st, "fay", 250, &count, &latest);
    tap_ok(count == 3 && latest == 310, "fail_count since 250: 3");
    tp_store_fail_count(st, "fay", 1000, &count, &latest);
    tap_ok(count == 0 && latest == 0, "fail_count after the last: 0, 0");
    tap_is_int(tp_store_fail_count(st, "fay", 0, NULL, NULL), TP_STORE_OK, "fail_count NULL outputs");
    tap_is_int(tp_store_fail_count(st, "ghost", 0, &count, &latest), TP_STORE_OK,
               "fail_count unknown user: OK");
    tap_is_int(count, 0, "fail_count unknown user: 0");
    tap_is_int(tp_store_fail_add(st, "ghost", 100, 0, &count), TP_STORE_OK,
               "fail_add unknown user: recorded too");
    tap_is_int(count, 1, "fail_add unknown user: counted");
    tp_store_fail_reset(st, "ghost");
    tap_is_int(tp_store_fail_reset(st, "fay"), TP_STORE_OK, "fail_reset");
    tp_store_fail_count(st, "fay", 0, &count, &latest);
    tap_ok(count == 0 && latest == 0, "fail_reset: none left");
    tap_is_int(tp_store_fail_reset(st, "ghost"), TP_STORE_OK, "fail_reset unknown user: OK");
    tap_is_int(tp_store_fail_add(st, "", 1, 0, &count), TP_STORE_ERR, "fail_add empty user: ERR");

    /* the newest 1024 are kept */
    for (int i = 0; i < 1030; i++)
        bad += tp_store_fail_add(st, "fay", 10000 + i, 0, &count) != TP_STORE_OK;
    tap_is_int(bad, 0, "1030 failures recorded");
    tap_is_int(count, 1024, "fail_add: at most 1024 kept");
    tp_store_fail_count(st, "fay", 0, &count, &latest);
    tap_ok(count == 1024 && latest == 11029, "fail_count: the newest 1024");
    tp_store_fail_count(st, "fay", 11020, &count, &latest);
    tap_is_int(count, 10, "fail_count: window within the kept ones");
}

/* Deleting a user takes its attributes, sessions and failures. */
static void test_cascade(struct tp_store *st, const char *p)
{
    unsigned char d[32];
    struct tp_session s;
    int count;

    add_user(st, "dan", "hd");
    add_user(st, "eve", "he");
    tp_store_attr_set(st, "dan", "lang", "de");
    tp_store_attr_set(st, "eve", "lang", "en");
    memset(&s, 0, sizeof s);
    digest_of(d, 40);
    memcpy(s.digest, d, 32);
    s.user = "dan";
    tp_store_session_add(st, &s);
    digest_of(s.digest, 41);
    s.user = "eve";
    tp_store_session_add(st, &s);
    tp_store_fail_add(st, "dan", 1, 0, &count);
    tp_store_fail_add(st, "eve", 1, 0, &count);
    tap_is_int(tp_store_user_delete(st, "dan"), TP_STORE_OK, "cascade: delete dan");
    tap_is_int(th_sql_int(p, "SELECT count(*) FROM user_attrs WHERE user = 'dan'"), 0,
               "cascade: dan's attributes gone");
    tap_is_int(th_sql_int(p, "SELECT count(*) FROM sessions WHERE user = 'dan'"), 0,
               "cascade: dan's sessions gone");
    tap_is_int(th_sql_int(p, "SELECT count(*) FROM failures WHERE user = 'dan'"), 0,
               "cascade: dan's failures gone");
    tap_is_int(th_sql_int(p, "SELECT count(*) FROM user_attrs WHERE user = 'eve'")
               + th_sql_int(p, "SELECT count(*) FROM sessions WHERE user = 'eve'")
               + th_sql_int(p, "SELECT count(*) FROM failures WHERE user = 'eve'"), 3,
               "cascade: eve's rows kept");
    tap_is_int(tp_store_session_get(st, d, &s), TP_STORE_NOTFOUND, "cascade: session lookup fails");
}

/* Deleted and replaced hashes are overwritten on disk (secure_delete). */
static void test_secure_delete(void)
{
    const char *p = th_path("wipe.db");
    char wal[4200];
    struct tp_store *st = open_ok(p, TP_STORE_CREATE, "secure_delete store");
    struct tp_user u;

    tp_user_init(&u);
    u.name = "keeper";
    u.hash = "$y$KEPTHASHKEPTHASHKEPTHASH";
    tp_store_user_add(st, &u);
    u.name = "gone";
    u.hash = "$y$DELETEDHASHDELETEDHASH";
    tp_store_user_add(st, &u);
    u.name = "changer";
    u.hash = "$y$OLDHASHOLDHASHOLDHASHOLD";
    tp_store_user_add(st, &u);
    tp_store_user_delete(st, "gone");
    tap_is_int(tp_store_user_set_hash(st, "changer", u.hash, "$y$NEWHASHNEW", 1), TP_STORE_OK,
               "secure_delete: hash replaced");
    tp_store_close(st);
    snprintf(wal, sizeof wal, "%s-wal", p);
    tap_is_int(size_of(wal), 0, "closing the last connection empties the -wal");
    tap_ok(file_has(p, "KEPTHASHKEPTHASH"), "secure_delete: a live hash is in the file (control)");
    tap_ok(!file_has(p, "DELETEDHASHDELETED"), "secure_delete: a deleted user's hash is overwritten");
    tap_ok(!file_has(p, "OLDHASHOLDHASHOLD"), "secure_delete: a replaced hash is overwritten");
}

/* A read-only connection reads and refuses writes with a reason. */
static void test_rdonly(void)
{
    const char *p = th_path("rd.db");
    struct tp_store *st = open_ok(p, TP_STORE_CREATE, "rdonly: create");
    struct tp_user g;

    add_user(st, "ro", "hr");
    tp_store_close(st);
    st = open_ok(p, TP_STORE_RDONLY, "rdonly: open");
    tap_is_int(tp_store_user_get(st, "ro", &g), TP_STORE_OK, "rdonly: get");
    tp_user_clear(&g);
    tap_is_int(add_user(st, "rw", "h"), TP_STORE_ERR, "rdonly: a write is refused");
    tap_ok(contains(tp_store_error(st), p) && contains(tp_store_error(st), "readonly"),
           "rdonly: the message says read-only");
    tap_diag("rdonly: %s", tp_store_error(st));
    tp_store_close(st);
}

/* ---- version 1 -> 2 ------------------------------------------------------------------- */

static void hex_of(char out[2 * TP_SESSION_DIGEST_LEN + 1], int seed)
{
    unsigned char d[TP_SESSION_DIGEST_LEN];
    digest_of(d, seed);
    for (int i = 0; i < TP_SESSION_DIGEST_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A version 1 store made by hand, with a row in every table; extra SQL last. */
static void make_v1(const char *p, const char *extra)
{
    char sql[8192], h1[65], h2[65], h3[65];

    hex_of(h1, 41);
    hex_of(h2, 42);
    hex_of(h3, 43);
    snprintf(sql, sizeof sql,
             "INSERT INTO users (name, hash, created) VALUES ('alice', '$y$A', 1), ('bob', '', 2);"
             "INSERT INTO user_attrs VALUES ('alice', 'display_name', 'Alice');"
             "INSERT INTO sessions VALUES (X'%s', 'alice', 100, 1000, '192.0.2.7'),"
             " (X'%s', 'alice', 200, 2000, NULL), (X'%s', 'bob', 300, 3000, NULL);"
             "INSERT INTO failures VALUES ('alice', 50), ('alice', 60);"
             "%s", h1, h2, h3, extra);
    th_store_v1(p, sql);
}

static int has_object(const char *p, const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE name = '%s'", name);
    return th_sql_int(p, sql) == 1;
}

static char *version_of(const char *p)
{
    return th_sql_text(p, "SELECT value FROM trex_pam_meta WHERE key = 'schema_version'");
}

/* The rows of make_v1 through the API (the sessions of alice in order). */
static void v1_rows_readable(struct tp_store *st, const char *what)
{
    unsigned char d41[32], d42[32];
    struct tp_session g;
    struct tp_user u;
    struct sess_seen seen;
    char want[256];
    int count = -1;
    int64_t latest = 0;

    digest_of(d41, 41);
    digest_of(d42, 42);
    tap_is_int(tp_store_session_get(st, d41, &g), TP_STORE_OK, "%s: session_get", what);
    tap_ok(g.user != NULL && strcmp(g.user, "alice") == 0 && g.created == 100 && g.last_used == 1000
           && g.rhost != NULL && strcmp(g.rhost, "192.0.2.7") == 0, "%s: the session's fields", what);
    tp_session_clear(&g);
    memset(&seen, 0, sizeof seen);
    tap_is_int(tp_store_session_list(st, "alice", collect_sessions, &seen), TP_STORE_OK,
               "%s: session_list for a user", what);
    snprintf(want, sizeof want, "alice:%d:100:192.0.2.7 alice:%d:200:- ", d41[0], d42[0]);
    tap_is_str(seen.text, want, "%s: a user's sessions in creation order", what);
    tap_is_int(tp_store_user_get(st, "alice", &u), TP_STORE_OK, "%s: user_get", what);
    tap_ok(u.nattrs == 1 && strcmp(u.hash, "$y$A") == 0, "%s: the user and the attribute", what);
    tp_user_clear(&u);
    tap_is_int(tp_store_fail_count(st, "alice", 0, &count, &latest), TP_STORE_OK, "%s: fail_count",
               what);
    tap_ok(count == 2 && latest == 60, "%s: the failures", what);
}

static void test_upgrade_v1(void)
{
    const char *rw = th_path("v1.db"), *ro = th_path("v1ro.db"), *bad = th_path("v1bad.db");
    const char *idx[] = { "sessions_last_used", "sessions_created", "sessions_user_created" };
    struct tp_store *st;
    unsigned char *before, *after;
    struct sess_seen seen;
    size_t n1, n2;
    int count = -1, all = 1;
    char *v;

    make_v1(rw, "");
    make_v1(ro, "");
    /* a name taken by hand: the migration's second CREATE INDEX fails */
    make_v1(bad, "CREATE INDEX sessions_created ON users(created);");

    /* read-only: used as it is, never written */
    before = slurp(ro, &n1);
    if ((st = open_ok(ro, TP_STORE_RDONLY, "version 1 read-only")) != NULL) {
        v1_rows_readable(st, "version 1 read-only");
        tap_is_int(add_user(st, "carol", "h"), TP_STORE_ERR, "version 1 read-only: a write is refused");
        tp_store_close(st);
    }
    after = slurp(ro, &n2);
    tap_ok(before && after && n1 == n2 && memcmp(before, after, n1) == 0,
           "version 1 read-only: the file is left as it was");
    free(before);
    free(after);
    v = version_of(ro);
    tap_is_str(v, "1", "version 1 read-only: still version 1");
    free(v);
    tap_ok(!has_object(ro, "sessions_last_used"), "version 1 read-only: no index added");

    /* read-write: upgraded, in one transaction with the version */
    if ((st = open_ok(rw, 0, "version 1 read-write")) != NULL) {
        v1_rows_readable(st, "upgraded to version " SCHEMA);
        tap_is_int(tp_store_session_purge(st, 1500, 0, &count), TP_STORE_OK, "upgraded: purge");
        tap_is_int(count, 1, "upgraded: purge removed the idle one");
        memset(&seen, 0, sizeof seen);
        tp_store_session_list(st, NULL, collect_sessions, &seen);
        tap_is_int(seen.calls, 2, "upgraded: session_list of everyone");
        tp_store_close(st);
    }
    v = version_of(rw);
    tap_is_str(v, SCHEMA, "version 1 read-write: version " SCHEMA " recorded");
    free(v);
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++)
        all &= tap_ok(has_object(rw, idx[i]), "upgraded: index %s", idx[i]);
    tap_ok(!has_object(rw, "sessions_user"), "upgraded: sessions_user replaced by sessions_user_created");
    tap_is_int(th_sql_int(rw, "SELECT (SELECT count(*) FROM users) * 100 + (SELECT count(*) FROM"
                       " user_attrs) * 10 + (SELECT count(*) FROM failures)"), 212,
               "upgraded: users, attributes and failures kept");
    v = th_sql_text(rw, "PRAGMA integrity_check");
    tap_is_str(v, "ok", "upgraded: integrity_check");
    free(v);
    tap_ok(has_object(rw, "failures_time") && has_object(rw, "failures_user_time"),
           "upgraded: failures indexed by user and time, and by time");
    tap_is_int(th_sql_int(rw, "SELECT count(*) FROM pragma_foreign_key_list('failures')"), 0,
               "upgraded: failures of any name (no foreign key)");
    if ((st = open_ok(rw, 0, "upgraded, read-write")) != NULL) {
        tap_is_int(tp_store_fail_add(st, "nobody-at-all", 70, 0, &count), TP_STORE_OK,
                   "upgraded: a failure of a name nobody has is recorded");
        tap_is_int(tp_store_fail_add(st, "alice", 70, 0, &count), TP_STORE_OK,
                   "upgraded: and alice's next one");
        tap_is_int(count, 3, "upgraded: alice's count goes on from the kept rows");
        tap_is_int(tp_store_user_delete(st, "alice"), TP_STORE_OK, "upgraded: alice deleted");
        tap_is_int(th_sql_int(rw, "SELECT count(*) FROM failures WHERE user = 'alice'"), 0,
                   "upgraded: her failures went with her");
        tp_store_close(st);
    }
    st = open_ok(rw, TP_STORE_RDONLY, "upgraded store opens read-only");
    tp_store_close(st);

    /* a migration failing half-way leaves nothing of itself */
    refused(bad, 0, TP_STORE_ERR, "upgrading the schema", "version 1 whose upgrade fails");
    v = version_of(bad);
    tap_is_str(v, "1", "failed upgrade: still version 1");
    free(v);
    tap_ok(!has_object(bad, "sessions_last_used"),
           "failed upgrade: the index made before the failure is rolled back too");
    tap_ok(has_object(bad, "sessions_user"), "failed upgrade: the old index is still there");
    if ((st = open_ok(bad, TP_STORE_RDONLY, "failed upgrade: still readable read-only")) != NULL) {
        v1_rows_readable(st, "failed upgrade, read-only");
        tp_store_close(st);
    }
}

/* ---- query plans -------------------------------------------------------------------------- */

/* Every connection gets a trace (sqlite3_auto_extension); while `on`, the
 * SQL text of each statement the store runs is kept. */
#define MAX_TRACED 32
static struct {
    int on, n;
    char *sql[MAX_TRACED];
    int closes, no_ckpt;            /* connections closed; of those, without checkpoint */
} traced;

static int trace_stmt(unsigned int type, void *ctx, void *p, void *x)
{
    const char *sql = x;
    int no_ckpt = 0;

    if (type == SQLITE_TRACE_CLOSE) {
        sqlite3_db_config(p, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, -1, &no_ckpt);
        traced.closes++;
        traced.no_ckpt += no_ckpt != 0;
    } else if (traced.on && type == SQLITE_TRACE_STMT && sql != NULL && strncmp(sql, "--", 2) != 0
               && traced.n < MAX_TRACED) {
        traced.sql[traced.n++] = strdup(sql);
    }
    return 0;
}

static int trace_hook(sqlite3 *db, const char **err, const struct sqlite3_api_routines *api)
{
    sqlite3_trace_v2(db, SQLITE_TRACE_STMT | SQLITE_TRACE_CLOSE, trace_stmt, NULL);
    return SQLITE_OK;
}

static void traced_clear(void)
{
    for (int i = 0; i < traced.n; i++)
        free(traced.sql[i]);
    traced.n = 0;
}

/* EXPLAIN QUERY PLAN of every traced statement (but BEGIN, COMMIT,
 * ROLLBACK), the details joined with "; ". */
static void plans_of_traced(const char *path, char *out, size_t outlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *p;
    char sql[2048];

    out[0] = '\0';
    traced.on = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return;
    }
    for (int i = 0; i < traced.n; i++) {
        if (strncmp(traced.sql[i], "BEGIN", 5) == 0 || strcmp(traced.sql[i], "COMMIT") == 0
            || strcmp(traced.sql[i], "ROLLBACK") == 0)
            continue;
        snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", traced.sql[i]);
        if (sqlite3_prepare_v2(db, sql, -1, &p, NULL) != SQLITE_OK) {
            size_t len = strlen(out);
            snprintf(out + len, outlen - len, "(cannot explain: %s); ", sqlite3_errmsg(db));
            continue;
        }
        while (sqlite3_step(p) == SQLITE_ROW) {
            size_t len = strlen(out);
            snprintf(out + len, outlen - len, "%s; ", (const char *)sqlite3_column_text(p, 3));
        }
        sqlite3_finalize(p);
    }
    sqlite3_close(db);
    traced_clear();
}

/* The plan holds every string of `must` and none of `never` (NULL-ended lists). */
static void plan_is(const char *path, const char *what, const char *const *must,
                    const char *const *never)
{
    char plan[4096];
    int good = 1;

    plans_of_traced(path, plan, sizeof plan);
    for (; must != NULL && *must != NULL; must++)
        good &= contains(plan, *must);
    for (; never != NULL && *never != NULL; never++)
        good &= !contains(plan, *never);
    if (!tap_ok(plan[0] != '\0' && good, "plan: %s", what))
        tap_diag("plan: %s", plan);
}

static void store_plans(const char *p, const char *which)
{
    static const char *const no_scan[] = { "SCAN", "TEMP B-TREE", NULL };
    static const char *const pk[] = { "SEARCH sessions USING PRIMARY KEY (digest=?)", NULL };
    static const char *const purge[] = { "MULTI-INDEX OR",
                                         "SEARCH sessions USING INDEX sessions_last_used (last_used<?)",
                                         "SEARCH sessions USING INDEX sessions_created (created<?)",
                                         NULL };
    static const char *const by_user[] = { "sessions_user_created (user=?)", NULL };
    static const char *const fails[] = { "failures_user_time (user=?", NULL };
    unsigned char d[32];
    struct tp_store *st = open_ok(p, 0, which);
    struct tp_session g;
    struct sess_seen seen;
    char what[256];
    int count, n;
    int64_t latest;

    if (st == NULL)
        return;
    digest_of(d, 41);
    traced_clear();
#define TRACED(call) (traced.on = 1, (call), traced.on = 0)
#define WHAT(s) (snprintf(what, sizeof what, "%s: %s", which, s), what)
    TRACED(tp_store_session_purge(st, 5, 5, &count));
    plan_is(p, WHAT("session_purge is two index range searches (no scan)"), purge, no_scan);
    TRACED(tp_store_session_get(st, d, &g));
    tp_session_clear(&g);
    plan_is(p, WHAT("session_get is one primary key search"), pk, no_scan);
    TRACED(tp_store_session_touch(st, d, 1000000, 0));
    plan_is(p, WHAT("session_touch: primary key searches"), pk, no_scan);
    memset(&seen, 0, sizeof seen);
    TRACED(tp_store_session_list(st, "alice", collect_sessions, &seen));
    plan_is(p, WHAT("session_list of a user: an index search, already in order"), by_user, no_scan);
    TRACED(tp_store_session_delete_user(st, "alice", d, &count));
    plan_is(p, WHAT("session_delete_user: an index search"), by_user, no_scan);
    TRACED(tp_store_session_delete(st, d));
    plan_is(p, WHAT("session_delete: a primary key search"), pk, no_scan);
    TRACED(tp_store_fail_count(st, "alice", 0, &n, &latest));
    plan_is(p, WHAT("fail_count: an index search"), fails, no_scan);
#undef TRACED
#undef WHAT
    tp_store_close(st);
}

/* A connection inherited through fork and closed in the child writes
 * nothing: no checkpoint of a last connection (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
 * seen by the close trace); the parent's own close checkpoints as ever. */
static void test_fork_close(void)
{
    const char *p = th_path("forked.db");
    struct tp_store *st = open_ok(p, TP_STORE_CREATE, "fork: a store");
    int status = -1;
    pid_t pid;

    if (st == NULL)
        return;
    tap_is_int(add_user(st, "before", "h"), TP_STORE_OK, "fork: a user before");
    fflush(stdout);
    if ((pid = fork()) == 0) {
        traced.closes = traced.no_ckpt = 0;
        tp_store_close(st);           /* the inherited one */
        _exit(traced.closes == 1 && traced.no_ckpt == 1 ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    tap_ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
           "fork: the child closes its inherited connection without a checkpoint");
    tap_is_int(add_user(st, "after", "h"), TP_STORE_OK, "fork: the parent's connection goes on");
    traced.closes = traced.no_ckpt = 0;
    tp_store_close(st);
    tap_ok(traced.closes == 1 && traced.no_ckpt == 0, "fork: the parent's own close checkpoints");
    tap_is_int(th_sql_int(p, "SELECT count(*) FROM users WHERE name IN ('before', 'after')"), 2,
               "fork: both users are in the file");
}

static void test_plans(void)
{
    const char *fresh = th_path("plans.db"), *old = th_path("plans-v1.db");
    struct tp_store *st;

    if (!tap_is_int(sqlite3_auto_extension((void (*)(void))trace_hook), SQLITE_OK,
                    "plans: a trace on every connection"))
        return;
    make_v1(old, "");
    /* control: on version 1 (read-only, not upgraded) the same call sorts */
    if ((st = open_ok(old, TP_STORE_RDONLY, "plans: version 1 read-only")) != NULL) {
        static const char *const sorts[] = { "sessions_user (user=?)", "TEMP B-TREE", NULL };
        struct sess_seen seen;
        memset(&seen, 0, sizeof seen);
        traced_clear();
        traced.on = 1;
        tp_store_session_list(st, "alice", collect_sessions, &seen);
        plan_is(old, "control: version 1 sorts a user's sessions (the check can fail)", sorts, NULL);
        tp_store_close(st);
    }
    store_plans(old, "a version 1 store upgraded");
    if ((st = open_ok(fresh, TP_STORE_CREATE, "plans: a new store")) != NULL) {
        add_user(st, "alice", "h");
        tp_store_close(st);
        store_plans(fresh, "a new store");
    }
    test_fork_close();
    sqlite3_reset_auto_extension();
    traced_clear();
}

int main(void)
{
    struct tp_store *st;
    const char *p;

    dir = th_dir();
    test_path();
    test_conf_file();
    test_bad_args();
    test_create();
    test_permissions();
    test_unreadable();
    test_not_ours();
    test_upgrade();
    test_corrupt();

    p = th_path("main.db");
    if ((st = open_ok(p, TP_STORE_CREATE, "main store")) != NULL) {
        test_users(st, p);
        test_sessions(st, p);
        test_failures(st);
        test_cascade(st, p);
        tp_store_close(st);
    }
    test_secure_delete();
    test_rdonly();
    test_upgrade_v1();
    test_plans();
    return th_done();
}
