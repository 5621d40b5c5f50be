/*
 * t_admin.c - the administrator's API (trex_pam_admin.h) over the store:
 * open and its refusals, the status codes, name and value rules, adding
 * with a password, a ready hash or none, updates by mask, passwords,
 * attributes, lookups, the list walk, deletion, a read-only handle, and
 * that no error text holds a password or a hash.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "tap.h"
#include "trex_pam_admin.h"

static char *dir;

static const char *in_dir(const char *name)
{
    static char buf[8][4096];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Whether password verifies against hash (libxcrypt directly). */
static int verifies(const char *password, const char *hash)
{
    struct crypt_data cd;
    const char *out;

    memset(&cd, 0, sizeof cd);
    out = crypt_r(password, hash, &cd);
    return out != NULL && out[0] != '*' && strcmp(out, hash) == 0;
}

static int contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

struct seen {
    int n;
    char names[8][64];
    int stop_after;
};

static int collect(void *data, const struct trex_pam_db_user *u)
{
    struct seen *s = data;
    if (s->n < 8)
        snprintf(s->names[s->n], sizeof s->names[s->n], "%s", u->name);
    s->n++;
    return s->stop_after > 0 && s->n >= s->stop_after;
}

static void test_open(void)
{
    trex_pam_db_t *db = (trex_pam_db_t *)1;
    char err[512];
    struct stat sb;
    FILE *f;

    tap_is_int(trex_pam_db_open(in_dir("none.db"), 0, &db, err, sizeof err), TREX_PAM_AUTHINFO_UNAVAIL,
               "open: a missing file is AUTHINFO_UNAVAIL");
    tap_ok(db == NULL, "... *db is NULL");
    tap_ok(contains(err, in_dir("none.db")), "... the error names the file: %s", err);
    tap_is_int(trex_pam_db_open(in_dir("x.db"), TREX_PAM_DB_CREATE | TREX_PAM_DB_RDONLY, &db, err, sizeof err),
               TREX_PAM_BAD_ITEM, "open: CREATE with RDONLY is BAD_ITEM");
    tap_is_int(trex_pam_db_open(in_dir("x.db"), 0x100, &db, err, sizeof err), TREX_PAM_BAD_ITEM,
               "open: an unknown flag is BAD_ITEM");
    tap_is_int(trex_pam_db_open(in_dir("x.db"), 0, NULL, err, sizeof err), TREX_PAM_SYSTEM_ERR,
               "open: no out pointer is SYSTEM_ERR");

    if ((f = fopen(in_dir("junk.db"), "w")) != NULL) {
        fputs("this is not a database, just text long enough to look like a file\n", f);
        fclose(f);
    }
    tap_is_int(trex_pam_db_open(in_dir("junk.db"), TREX_PAM_DB_CREATE, &db, err, sizeof err),
               TREX_PAM_AUTHINFO_UNAVAIL, "open: a file that is no database is AUTHINFO_UNAVAIL");
    tap_ok(stat(in_dir("junk.db"), &sb) == 0 && sb.st_size == 66, "... and is left as it was");

    tap_is_int(trex_pam_db_open(in_dir("g.db"), TREX_PAM_DB_CREATE | TREX_PAM_DB_GROUP, &db, err, sizeof err),
               TREX_PAM_SUCCESS, "open: create with GROUP");
    tap_ok(stat(in_dir("g.db"), &sb) == 0 && (sb.st_mode & 07777) == 0660, "... mode 0660");
    tap_is_str(trex_pam_db_path(db), in_dir("g.db"), "... path");
    trex_pam_db_close(db);
    trex_pam_db_close(NULL);

    setenv("TREX_PAM_DB", in_dir("g.db"), 1);
    tap_is_str(trex_pam_db_file(NULL), in_dir("g.db"), "file(NULL): $TREX_PAM_DB");
    tap_is_str(trex_pam_db_file("/x/y.db"), "/x/y.db", "file(path): the path");
    tap_is_int(trex_pam_db_open(NULL, 0, &db, err, sizeof err), TREX_PAM_SUCCESS, "open(NULL) uses $TREX_PAM_DB");
    tap_is_str(trex_pam_db_path(db), in_dir("g.db"), "... that file");
    trex_pam_db_close(db);
    unsetenv("TREX_PAM_DB");
}

static void test_checks(void)
{
    char longname[300];
    const char *name = NULL;
    int usable = 0;
    char h[CRYPT_OUTPUT_SIZE];
    struct crypt_data cd;

    tap_ok(trex_pam_db_valid_user("alice"), "valid_user: alice");
    tap_ok(trex_pam_db_valid_user("a b@c.d-e_f"), "valid_user: spaces, @ . - _");
    tap_ok(!trex_pam_db_valid_user(""), "valid_user: not empty");
    tap_ok(!trex_pam_db_valid_user(NULL), "valid_user: not NULL");
    tap_ok(!trex_pam_db_valid_user("a:b"), "valid_user: no ':'");
    tap_ok(!trex_pam_db_valid_user("a/b"), "valid_user: no '/'");
    tap_ok(!trex_pam_db_valid_user("a\tb"), "valid_user: no control character");
    tap_ok(!trex_pam_db_valid_user("a\x7f"), "valid_user: no DEL");
    memset(longname, 'x', sizeof longname);
    longname[255] = '\0';
    tap_ok(trex_pam_db_valid_user(longname), "valid_user: 255 bytes");
    longname[255] = 'x';
    longname[256] = '\0';
    tap_ok(!trex_pam_db_valid_user(longname), "valid_user: not 256 bytes");
    tap_ok(trex_pam_db_valid_attr("display_name"), "valid_attr: display_name");
    tap_ok(trex_pam_db_valid_attr("A.b-9_"), "valid_attr: A.b-9_");
    tap_ok(!trex_pam_db_valid_attr("a b"), "valid_attr: no space");
    tap_ok(!trex_pam_db_valid_attr("a=b"), "valid_attr: no '='");
    tap_ok(!trex_pam_db_valid_attr(""), "valid_attr: not empty");

    memset(&cd, 0, sizeof cd);
    snprintf(h, sizeof h, "%s", crypt_r("pw", "$6$saltsalt$", &cd));
    tap_ok(trex_pam_db_hash_usable(h), "hash_usable: sha512crypt");
    tap_is_str(trex_pam_db_hash_method(h), "sha512crypt", "hash_method: sha512crypt");
    tap_ok(!trex_pam_db_hash_usable(""), "hash_usable: not empty");
    tap_ok(!trex_pam_db_hash_usable("!"), "hash_usable: not !");
    tap_ok(!trex_pam_db_hash_usable("*"), "hash_usable: not *");
    tap_ok(!trex_pam_db_hash_usable("$apr1$abcdefgh$0123456789abcdefghijkl"), "hash_usable: not $apr1$");
    tap_ok(!trex_pam_db_hash_usable("{SSHA}abcd"), "hash_usable: not {SSHA}");
    tap_ok(!trex_pam_db_hash_usable(NULL), "hash_usable: not NULL");
    tap_is_str(trex_pam_db_hash_method(""), "none", "hash_method: none");
    tap_is_str(trex_pam_db_hash_method("!"), "unusable", "hash_method: unusable");

    tap_ok(trex_pam_db_method(0, &name, &usable) && strcmp(name, "yescrypt") == 0 && usable,
           "method 0: yescrypt, usable");
    tap_ok(!trex_pam_db_method(100, &name, &usable), "method: an end");
    tap_is_int(trex_pam_db_check_policy(NULL, NULL), TREX_PAM_SUCCESS, "check_policy: defaults");
    tap_is_int(trex_pam_db_check_policy("bcrypt", "5"), TREX_PAM_SUCCESS, "check_policy: bcrypt 5");
    tap_is_int(trex_pam_db_check_policy(NULL, "5"), TREX_PAM_SUCCESS, "check_policy: a cost alone");
    tap_is_int(trex_pam_db_check_policy("rot13", NULL), TREX_PAM_BAD_ITEM, "check_policy: rot13");
    tap_is_int(trex_pam_db_check_policy("bcrypt", "x"), TREX_PAM_BAD_ITEM, "check_policy: a bad cost");
    tap_is_str(trex_pam_db_strerror(TREX_PAM_DB_EXISTS), "user already exists", "strerror: EXISTS");
    tap_is_str(trex_pam_db_strerror(TREX_PAM_USER_UNKNOWN), "no such user", "strerror: USER_UNKNOWN");
}

static void test_users(void)
{
    trex_pam_db_t *db = NULL, *ro = NULL;
    struct trex_pam_db_user u, *got = NULL;
    struct trex_pam_db_attr attrs[2] = { { (char *)"display_name", (char *)"Alice" },
                                         { (char *)"mail_home", (char *)"/srv/mail/alice" } };
    struct seen seen;
    char err[512], sha[CRYPT_OUTPUT_SIZE];
    struct crypt_data cd;
    time_t now = time(NULL);

    memset(&cd, 0, sizeof cd);
    snprintf(sha, sizeof sha, "%s", crypt_r("imported", "$6$saltsalt$", &cd));
    if (trex_pam_db_open(in_dir("users.db"), TREX_PAM_DB_CREATE, &db, err, sizeof err) != TREX_PAM_SUCCESS) {
        tap_ok(0, "open users.db: %s", err);
        return;
    }
    tap_is_str(trex_pam_db_error(db), "", "a fresh handle has no error");

    /* add with a password */
    trex_pam_db_user_init(&u);
    tap_is_int(u.max_days, -1, "user_init: max_days -1");
    u.name = (char *)"alice";
    u.attrs = attrs;
    u.nattrs = 2;
    u.max_days = 90;
    tap_is_int(trex_pam_db_user_add(db, &u, "s3cret pw", "sha512crypt", "1000"), TREX_PAM_SUCCESS,
               "user_add alice with a password");
    tap_is_int(trex_pam_db_user_get(db, "alice", &got), TREX_PAM_SUCCESS, "user_get alice");
    if (got != NULL) {
        tap_ok(strncmp(got->hash, "$6$rounds=1000$", 15) == 0, "... sha512crypt, 1000 rounds");
        tap_ok(verifies("s3cret pw", got->hash), "... the hash verifies the password");
        tap_is_int(got->max_days, 90, "... max_days");
        tap_is_int(got->min_days, 0, "... min_days");
        tap_ok(got->pw_changed >= now - 5 && got->pw_changed <= now + 60, "... pw_changed now");
        tap_ok(got->created >= now - 5 && got->created <= now + 60, "... created now");
        tap_is_int((long)got->nattrs, 2, "... two attributes");
        if (got->nattrs == 2) {
            tap_is_str(got->attrs[0].name, "display_name", "... display_name");
            tap_is_str(got->attrs[0].value, "Alice", "... its value");
        }
        trex_pam_db_user_free(got);
        got = NULL;
    }
    tap_is_int(trex_pam_db_user_add(db, &u, "x", NULL, NULL), TREX_PAM_DB_EXISTS, "user_add again: DB_EXISTS");
    tap_is_str(trex_pam_db_error(db), "alice: user already exists", "... error names the user");

    /* a ready hash, none, bad ones */
    trex_pam_db_user_init(&u);
    u.name = (char *)"bob";
    u.hash = sha;
    u.disabled = 1;
    u.expires = 2000000000;
    u.pw_changed = 1700000000;
    tap_is_int(trex_pam_db_user_add(db, &u, NULL, NULL, NULL), TREX_PAM_SUCCESS, "user_add bob with a hash");
    if (trex_pam_db_user_get(db, "bob", &got) == TREX_PAM_SUCCESS) {
        tap_is_str(got->hash, sha, "... kept byte for byte");
        tap_is_int(got->disabled, 1, "... disabled");
        tap_is_int((long)got->expires, 2000000000L, "... expires");
        tap_is_int((long)got->pw_changed, 1700000000L, "... pw_changed kept");
        trex_pam_db_user_free(got);
        got = NULL;
    }
    u.name = (char *)"carol";
    u.hash = (char *)"$apr1$abcdefgh$0123456789abcdefghijkl";
    tap_is_int(trex_pam_db_user_add(db, &u, NULL, NULL, NULL), TREX_PAM_BAD_ITEM, "user_add: $apr1$ is BAD_ITEM");
    tap_ok(!contains(trex_pam_db_error(db), "$apr1$") && contains(trex_pam_db_error(db), "carol"),
           "... the error names the user, not the hash: %s", trex_pam_db_error(db));
    u.hash = sha;
    tap_is_int(trex_pam_db_user_add(db, &u, "pw", NULL, NULL), TREX_PAM_BAD_ITEM, "user_add: password and hash");
    u.hash = NULL;
    tap_is_int(trex_pam_db_user_add(db, &u, "pw", "rot13", NULL), TREX_PAM_BAD_ITEM, "user_add: unknown method");
    u.max_days = -2;
    tap_is_int(trex_pam_db_user_add(db, &u, NULL, NULL, NULL), TREX_PAM_BAD_ITEM, "user_add: max_days -2");
    u.max_days = -1;
    u.disabled = 2;
    tap_is_int(trex_pam_db_user_add(db, &u, NULL, NULL, NULL), TREX_PAM_BAD_ITEM, "user_add: disabled 2");
    u.disabled = 0;
    u.expires = 0;
    u.pw_changed = 0;
    tap_is_int(trex_pam_db_user_add(db, &u, NULL, NULL, NULL), TREX_PAM_SUCCESS, "user_add carol without password");
    if (trex_pam_db_user_get(db, "carol", &got) == TREX_PAM_SUCCESS) {
        tap_is_str(got->hash, "", "... hash \"\"");
        tap_is_int((long)got->pw_changed, 0, "... pw_changed 0");
        trex_pam_db_user_free(got);
        got = NULL;
    }
    u.name = (char *)"d:e";
    tap_is_int(trex_pam_db_user_add(db, &u, NULL, NULL, NULL), TREX_PAM_BAD_ITEM, "user_add: a ':' in the name");
    tap_is_str(trex_pam_db_error(db), "invalid user name: contains ':'", "... the rule");
    u.name = (char *)"dave";
    attrs[1].name = (char *)"bad name";
    u.attrs = attrs;
    u.nattrs = 2;
    tap_is_int(trex_pam_db_user_add(db, &u, NULL, NULL, NULL), TREX_PAM_BAD_ITEM, "user_add: a bad attribute name");
    attrs[1].name = (char *)"mail_home";
    tap_is_int(trex_pam_db_user_get(db, "dave", &got), TREX_PAM_USER_UNKNOWN, "... dave was not added");
    tap_ok(got == NULL, "... *out NULL");

    /* update, password, attributes */
    trex_pam_db_user_init(&u);
    u.name = (char *)"carol";
    u.force_change = 1;
    u.min_days = 3;
    u.warn_days = 5;
    u.disabled = 1;                         /* not in the mask: not written */
    tap_is_int(trex_pam_db_user_update(db, &u, TREX_PAM_DB_FORCE_CHANGE | TREX_PAM_DB_MIN_DAYS | TREX_PAM_DB_WARN_DAYS),
               TREX_PAM_SUCCESS, "user_update: three fields");
    if (trex_pam_db_user_get(db, "carol", &got) == TREX_PAM_SUCCESS) {
        tap_ok(got->force_change == 1 && got->min_days == 3 && got->warn_days == 5 && got->disabled == 0,
               "... those three, and not the others");
        trex_pam_db_user_free(got);
        got = NULL;
    }
    tap_is_int(trex_pam_db_user_update(db, &u, 0x100), TREX_PAM_BAD_ITEM, "user_update: an unknown mask bit");
    u.hash = (char *)"*";
    tap_is_int(trex_pam_db_user_update(db, &u, TREX_PAM_DB_HASH), TREX_PAM_BAD_ITEM, "user_update: an unusable hash");
    u.name = (char *)"nobody";
    tap_is_int(trex_pam_db_user_update(db, &u, TREX_PAM_DB_DISABLED), TREX_PAM_USER_UNKNOWN,
               "user_update: unknown user");
    tap_is_int(trex_pam_db_user_update(db, &u, 0), TREX_PAM_USER_UNKNOWN, "user_update, no field: unknown user");
    tap_is_int(trex_pam_db_set_password(db, "carol", "n3w pw", "md5crypt", NULL), TREX_PAM_SUCCESS, "set_password");
    if (trex_pam_db_user_get(db, "carol", &got) == TREX_PAM_SUCCESS) {
        tap_ok(strncmp(got->hash, "$1$", 3) == 0 && verifies("n3w pw", got->hash), "... an md5crypt hash of it");
        tap_is_int(got->force_change, 0, "... force_change cleared");
        tap_ok(got->pw_changed >= now - 5, "... pw_changed now");
        trex_pam_db_user_free(got);
        got = NULL;
    }
    tap_is_int(trex_pam_db_set_password(db, "carol", "", NULL, NULL), TREX_PAM_BAD_ITEM, "set_password: empty");
    tap_is_int(trex_pam_db_set_password(db, "nobody", "x", NULL, NULL), TREX_PAM_USER_UNKNOWN,
               "set_password: unknown user");
    tap_ok(!contains(trex_pam_db_error(db), "x\""), "... no password in the error");
    tap_is_int(trex_pam_db_attr_set(db, "carol", "a.b", "1"), TREX_PAM_SUCCESS, "attr_set");
    tap_is_int(trex_pam_db_attr_set(db, "carol", "a.b", NULL), TREX_PAM_SUCCESS, "attr_set NULL: delete");
    tap_is_int(trex_pam_db_attr_set(db, "carol", "a b", "1"), TREX_PAM_BAD_ITEM, "attr_set: bad name");
    tap_is_int(trex_pam_db_attr_set(db, "nobody", "a", "1"), TREX_PAM_USER_UNKNOWN, "attr_set: unknown user");

    /* list, read-only, delete */
    memset(&seen, 0, sizeof seen);
    tap_is_int(trex_pam_db_user_list(db, collect, &seen), TREX_PAM_SUCCESS, "user_list");
    tap_is_int(seen.n, 3, "... three users");
    tap_ok(strcmp(seen.names[0], "alice") == 0 && strcmp(seen.names[1], "bob") == 0
           && strcmp(seen.names[2], "carol") == 0, "... in name order");
    memset(&seen, 0, sizeof seen);
    seen.stop_after = 1;
    tap_is_int(trex_pam_db_user_list(db, collect, &seen), TREX_PAM_SUCCESS, "user_list stopped by the callback");
    tap_is_int(seen.n, 1, "... after one");

    if (trex_pam_db_open(in_dir("users.db"), TREX_PAM_DB_RDONLY, &ro, err, sizeof err) == TREX_PAM_SUCCESS) {
        tap_is_int(trex_pam_db_user_get(ro, "alice", &got), TREX_PAM_SUCCESS, "read-only: user_get");
        trex_pam_db_user_free(got);
        got = NULL;
        tap_is_int(trex_pam_db_user_delete(ro, "alice"), TREX_PAM_PERM_DENIED, "read-only: delete is PERM_DENIED");
        tap_is_int(trex_pam_db_set_password(ro, "alice", "x", NULL, NULL), TREX_PAM_PERM_DENIED,
                   "read-only: set_password is PERM_DENIED");
        trex_pam_db_close(ro);
    } else {
        tap_ok(0, "open read-only: %s", err);
    }
    tap_is_int(trex_pam_db_user_delete(db, "bob"), TREX_PAM_SUCCESS, "user_delete bob");
    tap_is_int(trex_pam_db_user_delete(db, "bob"), TREX_PAM_USER_UNKNOWN, "... again: USER_UNKNOWN");
    tap_is_int(trex_pam_db_user_get(db, "a/b", &got), TREX_PAM_BAD_ITEM, "user_get: an invalid name");
    tap_is_int(trex_pam_db_user_get(NULL, "alice", &got), TREX_PAM_SYSTEM_ERR, "user_get: NULL handle");
    trex_pam_db_close(db);
}

int main(void)
{
    dir = tap_tmpdir();
    if (dir == NULL) {
        tap_ok(0, "tmpdir");
        return tap_done();
    }
    unsetenv("TREX_PAM_DB");
    test_open();
    test_checks();
    test_users();
    tap_rmtree(dir);
    free(dir);
    return tap_done();
}
