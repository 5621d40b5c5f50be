/*
 * t_strict.c - StrictModes (crypto/strict.h): the one check of files that
 * hold secrets, as each of its users applies it. The rules and messages
 * of a file (a key file, trex-pam.conf, a store); the directories above a
 * store (a group- or world-writable one refused, a sticky root-owned one
 * like /tmp allowed only above the file's own); the embedded store's file
 * and its -wal/-shm refused when others or (outside the `trex-pam init
 * --group` shape, 0660) its group may read them; and a module refused
 * such a store: AUTHINFO_UNAVAIL and one log line saying what to change.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "strict.h"

static int contains(const char *s, const char *part)
{
    return s != NULL && strstr(s, part) != NULL;
}

/* tp_strict_file on th_path(name) with mode: its message, "" when kept. */
static const char *file_verdict(const char *name, mode_t mode, unsigned int rules)
{
    static char err[PATH_MAX + 512];
    struct stat sb;

    chmod(th_path(name), mode);
    if (stat(th_path(name), &sb) != 0)
        return "(cannot stat)";
    if (tp_strict_file(th_path(name), &sb, rules, err, sizeof err) == 0)
        return "";
    return err;
}

static void test_file_rules(void)
{
    const unsigned int key = TP_STRICT_OTHERS, conf = TP_STRICT_OWNER | TP_STRICT_GROUP_W;
    const unsigned int store = TP_STRICT_OWNER | TP_STRICT_OTHERS | TP_STRICT_SHARED;
    char want[PATH_MAX + 512];
    struct stat sb;
    char err[256];

    th_file("f", "x");
    tap_is_str(file_verdict("f", 0600, store), "", "0600: a store's file");
    tap_is_str(file_verdict("f", 0660, store), "", "0660: the group shape of init --group");
    snprintf(want, sizeof want, "readable by others (mode 0604): run chmod o-rwx %s", th_path("f"));
    tap_is_str(file_verdict("f", 0604, store), want, "o+r store: the reason and the fix");
    snprintf(want, sizeof want, "readable by its group (mode 0640): run chmod g-rwx %s, or chmod"
             " g=rw %s for the group of services sharing it (the mode `trex-pam init --group`"
             " gives)", th_path("f"), th_path("f"));
    tap_is_str(file_verdict("f", 0640, store), want, "g+r store without the group shape");
    tap_ok(contains(file_verdict("f", 0620, store), "writable by its group (mode 0620)"),
           "g+w store without the group shape");
    tap_ok(contains(file_verdict("f", 0602, store), "writable by others (mode 0602)"), "o+w store");
    tap_ok(contains(file_verdict("f", 0670, store), "readable and writable by its group"),
           "0670: not the group shape either");
    tap_ok(contains(file_verdict("f", 0660, TP_STRICT_GROUP), "run chmod g-rwx"),
           "GROUP: no group access at all");

    tap_is_str(file_verdict("f", 0640, key), "", "a key file its group may read");
    tap_ok(contains(file_verdict("f", 0604, key), "readable by others (mode 0604): run chmod o-rwx"),
           "a key file others may read");
    tap_is_str(file_verdict("f", 0644, conf), "", "trex-pam.conf others may read");
    tap_ok(contains(file_verdict("f", 0664, conf), "writable by its group (mode 0664): run chmod g-w"),
           "trex-pam.conf its group may write");
    tap_ok(contains(file_verdict("f", 0646, conf), "writable by others (mode 0646): run chmod o-w"),
           "trex-pam.conf others may write");

    stat(th_dir(), &sb);
    tap_is_int(tp_strict_file(th_dir(), &sb, 0, err, sizeof err), -1, "a directory");
    tap_is_str(err, "not a regular file", "... is not a regular file");
    if (geteuid() == 0) {
        chmod(th_path("f"), 0600);
        tap_ok(chown(th_path("f"), 65534, 65534) == 0, "chown to another user");
        tap_ok(contains(file_verdict("f", 0600, store), "owned by uid 65534, neither root nor"),
               "a file of another user");
        tap_is_str(file_verdict("f", 0600, key), "", "... which a key file may be");
        tap_ok(chown(th_path("f"), 0, 0) == 0, "chown back");
    } else {
        tap_skip("ownership needs root");
        tap_skip("ownership needs root");
        tap_skip("ownership needs root");
        tap_skip("ownership needs root");
    }
}

/* tp_strict_place for th_path(rel)'s file: its message, "" when kept. */
static const char *place_verdict(const char *rel)
{
    static char err[PATH_MAX + 512];
    return tp_strict_place(th_path(rel), geteuid(), err, sizeof err) == 0 ? "" : err;
}

static void test_place(void)
{
    char want[PATH_MAX + 512], real[PATH_MAX];
    static char cwd[PATH_MAX];

    mkdir(th_path("ok"), 0700);
    tap_is_str(place_verdict("ok/x.db"), "", "a private directory (under /tmp or $TMPDIR)");
    mkdir(th_path("g"), 0750);
    tap_is_str(place_verdict("g/x.db"), "", "0750: the directory of init --group");
    chmod(th_path("g"), 0770);
    snprintf(want, sizeof want, "directory %s: writable by its group (mode 0770): run chmod g-w %s",
             th_path("g"), th_path("g"));
    if (realpath(th_dir(), real) != NULL && strcmp(real, th_dir()) == 0)
        tap_is_str(place_verdict("g/x.db"), want, "a group-writable directory: the reason and the fix");
    else
        tap_ok(contains(place_verdict("g/x.db"), "writable by its group (mode 0770)"),
               "a group-writable directory");
    mkdir(th_path("up"), 0700);
    mkdir(th_path("up/sub"), 0700);
    tap_is_str(place_verdict("up/sub/x.db"), "", "a private chain");
    chmod(th_path("up"), 0777);
    tap_ok(contains(place_verdict("up/sub/x.db"), "up: writable by others (mode 0777): run chmod go-w"),
           "a world-writable directory above the file's own");
    chmod(th_path("up"), 0775);
    tap_ok(contains(place_verdict("up/sub/x.db"), "up: writable by its group (mode 0775)"),
           "a group-writable directory above the file's own");
    chmod(th_path("up"), 01777);
    if (geteuid() == 0)
        tap_is_str(place_verdict("up/sub/x.db"), "", "sticky, root's, world-writable above: like /tmp");
    else
        tap_ok(contains(place_verdict("up/sub/x.db"), "up: writable by others (mode 1777)"),
               "sticky and world-writable above, but not root's: refused");
    tap_ok(contains(place_verdict("up/x.db"), "writable by others (mode 1777): run chmod o-w"),
           "sticky as the file's own directory: refused");
    tap_ok(contains(place_verdict("up/x.db"), "a directory of its own"), "... keep it in one of its own");
    chmod(th_path("up"), 0700);
    tap_ok(contains(place_verdict("none/x.db"), "No such file or directory"), "a missing directory");
    if (geteuid() == 0) {
        char err[PATH_MAX + 512];
        mkdir(th_path("theirs"), 0700);
        tap_ok(chown(th_path("theirs"), 65534, 65534) == 0, "a directory of another user");
        tap_ok(contains(place_verdict("theirs/x.db"), "owned by uid 65534"), "... refused");
        tap_is_int(tp_strict_place(th_path("theirs/x.db"), 65534, err, sizeof err), 0,
                   "... unless it is the file's owner's");
    } else {
        tap_skip("ownership needs root");
        tap_skip("ownership needs root");
        tap_skip("ownership needs root");
    }
    if (getcwd(cwd, sizeof cwd) != NULL && chdir(th_path("ok")) == 0) {
        char err[PATH_MAX + 512];
        tap_is_int(tp_strict_place("x.db", geteuid(), err, sizeof err), 0, "a relative name");
        tap_ok(chdir(cwd) == 0, "back");
    }
}

/* tp_store_open(path, flags): its error, "" when it opened. */
static const char *open_verdict(const char *path, int flags)
{
    static char err[PATH_MAX + 512];
    struct tp_store *st = NULL;

    err[0] = '\0';
    if (tp_store_open(path, flags, &st, err, sizeof err) == TP_STORE_OK) {
        tp_store_close(st);
        return "";
    }
    return err[0] ? err : "(no message)";
}

static void test_store_files(void)
{
    char p[PATH_MAX], wal[PATH_MAX + 8], shm[PATH_MAX + 8], want[3 * PATH_MAX];
    struct stat sb;

    mkdir(th_path("s"), 0700);
    if (realpath(th_path("s"), p) == NULL) {
        tap_ok(0, "realpath");
        return;
    }
    strcat(p, "/users.db");
    snprintf(wal, sizeof wal, "%s-wal", p);
    snprintf(shm, sizeof shm, "%s-shm", p);
    tap_is_str(open_verdict(p, TP_STORE_CREATE), "", "a store created here");
    tap_ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600, "... 0600");

    chmod(p, 0644);
    snprintf(want, sizeof want, "%s: readable by others (mode 0644): run chmod o-rwx %s", p, p);
    tap_is_str(open_verdict(p, 0), want, "o+r store refused: its name, the reason, the fix");
    tap_is_str(open_verdict(p, TP_STORE_RDONLY), want, "... read-only too (check-config's open)");
    chmod(p, 0640);
    tap_ok(contains(open_verdict(p, 0), "readable by its group (mode 0640): run chmod g-rwx"),
           "g+r store without the group shape refused");
    chmod(p, 0660);
    tap_is_str(open_verdict(p, 0), "", "0660 (the group shape) with a private -wal: opens");
    chmod(p, 0600);
    chmod(wal, 0600);                 /* SQLite may have made them anew, 0660 like the file */
    chmod(shm, 0600);
    tap_is_str(open_verdict(p, 0), "", "back to 0600: opens");

    if (stat(wal, &sb) == 0) {
        chmod(wal, 0644);
        tap_ok(contains(open_verdict(p, 0), "users.db-wal: readable by others (mode 0644): run chmod o-rwx"),
               "a -wal others may read");
        chmod(wal, 0660);
        tap_ok(contains(open_verdict(p, 0), "users.db-wal: readable and writable by its group (mode 0660)"),
               "a -wal its group may use beside a private file");
        chmod(wal, 0600);
    } else {
        tap_ok(0, "the -wal stays (persistent WAL)");
        tap_skip("no -wal");
    }
    if (stat(shm, &sb) == 0) {
        chmod(shm, 0604);
        tap_ok(contains(open_verdict(p, 0), "users.db-shm: readable by others"), "a -shm others may read");
        chmod(shm, 0600);
    } else {
        tap_ok(0, "the -shm stays (persistent WAL)");
    }
    tap_is_str(open_verdict(p, 0), "", "all private again: opens");

    /* the shape `trex-pam init --group` makes: directory 0750, file 0660 */
    mkdir(th_path("grp"), 0750);
    chmod(th_path("grp"), 0750);
    snprintf(p, sizeof p, "%s/users.db", th_path("grp"));
    tap_is_str(open_verdict(p, TP_STORE_CREATE | TP_STORE_GROUP), "", "the --group shape: created");
    tap_ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0660, "... 0660");
    tap_is_str(open_verdict(p, 0), "", "... and opened again, -wal and -shm 0660 too");
    chmod(th_path("grp"), 0770);
    tap_ok(contains(open_verdict(p, 0), "grp: writable by its group (mode 0770): run chmod g-w"),
           "... but not in a group-writable directory");
    chmod(th_path("grp"), 0750);

    /* a world-writable directory above the store's */
    mkdir(th_path("ww"), 0700);
    mkdir(th_path("ww/sub"), 0700);
    snprintf(p, sizeof p, "%s/users.db", th_path("ww/sub"));
    tap_is_str(open_verdict(p, TP_STORE_CREATE), "", "a store two levels down");
    chmod(th_path("ww"), 0777);
    tap_ok(contains(open_verdict(p, 0), "ww: writable by others (mode 0777)"),
           "o+w directory in the chain: refused");
    chmod(th_path("ww"), 01777);
    if (geteuid() == 0)
        tap_is_str(open_verdict(p, 0), "", "a sticky root-owned one (like /tmp) above: opens");
    else
        tap_skip("a sticky directory of root's needs root");
    chmod(th_path("ww"), 0700);
}

static void test_module(void)
{
    char p[PATH_MAX], text[PATH_MAX + 256];
    trex_pam_handle_t *h;

    if (!th_sqlite_only(3, "a module on a refused file"))
        return;
    mkdir(th_path("m"), 0700);
    snprintf(p, sizeof p, "%s/users.db", th_path("m"));
    tap_is_str(open_verdict(p, TP_STORE_CREATE), "", "the module's store");
    chmod(p, 0644);
    snprintf(text, sizeof text, "auth required userdb db=%s\n", p);
    th_file("strict", text);
    h = th_start("strict", "alice");
    th_answers(1, "Alice-pass-1");
    th_log_reset();
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTHINFO_UNAVAIL, "a module on it: AUTHINFO_UNAVAIL");
    snprintf(text, sizeof text, ": readable by others (mode 0644): run chmod o-rwx ");
    tap_is_int(th_log_count(text), 1, "... one log line saying what to change");
    tap_diag("%s", th_log());
    trex_pam_end(h, 0);
}

int main(void)
{
    test_file_rules();
    test_place();
    test_store_files();
    test_module();
    return th_done();
}
