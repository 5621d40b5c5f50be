/*
 * t_admin.c - the administrator's API (trex_pam_admin.h) over the store:
 * open and its refusals, the status codes, name and value rules, adding
 * with a password, a ready hash or none, updates by mask, passwords,
 * attributes, lookups, the list walk, deletion, a read-only handle, and
 * that no error text holds a password or a hash; sessions (list with
 * handles, revoke one or all, purge) and failure tallies (count, lock under
 * faillock's rule, the list of failure times, reset), with records made
 * through the store interface.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sodium.h>
#include "harness.h"
#include "trex_pam_admin.h"

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

    tap_is_int(trex_pam_db_open(th_path("none.db"), 0, &db, err, sizeof err), TREX_PAM_AUTHINFO_UNAVAIL,
               "open: a missing file is AUTHINFO_UNAVAIL");
    tap_ok(db == NULL, "... *db is NULL");
    tap_ok(contains(err, th_path("none.db")), "... the error names the file: %s", err);
    tap_is_int(trex_pam_db_open(th_path("x.db"), TREX_PAM_DB_CREATE | TREX_PAM_DB_RDONLY, &db, err, sizeof err),
               TREX_PAM_BAD_ITEM, "open: CREATE with RDONLY is BAD_ITEM");
    tap_is_int(trex_pam_db_open(th_path("x.db"), 0x100, &db, err, sizeof err), TREX_PAM_BAD_ITEM,
               "open: an unknown flag is BAD_ITEM");
    tap_is_int(trex_pam_db_open(th_path("x.db"), 0, NULL, err, sizeof err), TREX_PAM_SYSTEM_ERR,
               "open: no out pointer is SYSTEM_ERR");

    if ((f = fopen(th_path("junk.db"), "w")) != NULL) {
        fputs("this is not a database, just text long enough to look like a file\n", f);
        fclose(f);
    }
    tap_is_int(trex_pam_db_open(th_path("junk.db"), TREX_PAM_DB_CREATE, &db, err, sizeof err),
               TREX_PAM_AUTHINFO_UNAVAIL, "open: a file that is no database is AUTHINFO_UNAVAIL");
    tap_ok(stat(th_path("junk.db"), &sb) == 0 && sb.st_size == 66, "... and is left as it was");

    tap_is_int(trex_pam_db_open(th_path("g.db"), TREX_PAM_DB_CREATE | TREX_PAM_DB_GROUP, &db, err, sizeof err),
               TREX_PAM_SUCCESS, "open: create with GROUP");
    tap_ok(stat(th_path("g.db"), &sb) == 0 && (sb.st_mode & 07777) == 0660, "... mode 0660");
    tap_is_str(trex_pam_db_path(db), th_path("g.db"), "... path");
    trex_pam_db_close(db);
    trex_pam_db_close(NULL);

    setenv("TREX_PAM_DB", th_path("g.db"), 1);
    tap_is_str(trex_pam_db_file(NULL), th_path("g.db"), "file(NULL): $TREX_PAM_DB");
    tap_is_str(trex_pam_db_file("/x/y.db"), "/x/y.db", "file(path): the path");
    tap_is_int(trex_pam_db_open(NULL, 0, &db, err, sizeof err), TREX_PAM_SUCCESS, "open(NULL) uses $TREX_PAM_DB");
    tap_is_str(trex_pam_db_path(db), th_path("g.db"), "... that file");
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
    if (trex_pam_db_open(th_path("users.db"), TREX_PAM_DB_CREATE, &db, err, sizeof err) != TREX_PAM_SUCCESS) {
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

    if (trex_pam_db_open(th_path("users.db"), TREX_PAM_DB_RDONLY, &ro, err, sizeof err) == TREX_PAM_SUCCESS) {
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

/* ---- sessions ------------------------------------------------------------------ */

struct ses_seen {
    int n;
    char user[8][32];
    char handle[8][TREX_PAM_DB_HANDLE_LEN + 1];
    int64_t created[8], last_used[8];
    char rhost[8][64];
};

static int ses_collect(void *data, const struct trex_pam_db_session *x)
{
    struct ses_seen *s = data;
    if (s->n < 8) {
        snprintf(s->user[s->n], sizeof s->user[0], "%s", x->user);
        snprintf(s->handle[s->n], sizeof s->handle[0], "%s", x->handle);
        s->created[s->n] = x->created;
        s->last_used[s->n] = x->last_used;
        snprintf(s->rhost[s->n], sizeof s->rhost[0], "%s", x->rhost ? x->rhost : "(none)");
    }
    s->n++;
    return 0;
}

/* The handle a digest should have: the first 4 bytes of its BLAKE2b-256
 * keyed with the fixed text, in hex. */
static void expect_handle(const unsigned char *digest, char out[TREX_PAM_DB_HANDLE_LEN + 1])
{
    static const char key[] = "TRex::PAM session handle";
    unsigned char h[32];
    crypto_generichash(h, sizeof h, digest, TP_SESSION_DIGEST_LEN, (const unsigned char *)key,
                       sizeof key - 1);
    snprintf(out, TREX_PAM_DB_HANDLE_LEN + 1, "%02x%02x%02x%02x", h[0], h[1], h[2], h[3]);
}

static int add_session(struct tp_store *st, unsigned char fill, const char *user, int64_t created,
                       int64_t last_used, const char *rhost)
{
    struct tp_session x;
    memset(&x, 0, sizeof x);
    memset(x.digest, fill, sizeof x.digest);
    x.user = (char *)user;
    x.created = created;
    x.last_used = last_used;
    x.rhost = (char *)rhost;
    return tp_store_session_add(st, &x);
}

static int session_exists(struct tp_store *st, unsigned char fill)
{
    struct tp_session x;
    unsigned char d[TP_SESSION_DIGEST_LEN];
    int rc;
    memset(d, fill, sizeof d);
    rc = tp_store_session_get(st, d, &x);
    tp_session_clear(&x);
    return rc == TP_STORE_OK;
}

static void test_sessions(void)
{
    trex_pam_db_t *db = NULL, *ro = NULL;
    struct tp_store *st = NULL;
    struct trex_pam_db_user u;
    struct ses_seen seen;
    char err[512], h1[16], h2[16], upper[16], hexdigest[2 * TP_SESSION_DIGEST_LEN + 1];
    unsigned char d1[TP_SESSION_DIGEST_LEN];
    int64_t t = (int64_t)time(NULL);
    int n = -1;

    if (trex_pam_db_open(th_path("ses.db"), TREX_PAM_DB_CREATE, &db, err, sizeof err) != TREX_PAM_SUCCESS
        || tp_store_open(th_path("ses.db"), 0, &st, err, sizeof err) != TP_STORE_OK) {
        tap_ok(0, "open ses.db: %s", err);
        trex_pam_db_close(db);
        return;
    }
    trex_pam_db_user_init(&u);
    u.name = "alice";
    trex_pam_db_user_add(db, &u, NULL, NULL, NULL);
    u.name = "bob";
    trex_pam_db_user_add(db, &u, NULL, NULL, NULL);
    tap_is_int(add_session(st, 0x11, "alice", t - 100, t - 10, "192.0.2.7"), TP_STORE_OK, "a session of alice");
    tap_is_int(add_session(st, 0x22, "alice", t - 50000, t - 50000, NULL), TP_STORE_OK, "an old one of alice");
    tap_is_int(add_session(st, 0x33, "bob", t - 5000, t - 4000, "198.51.100.1"), TP_STORE_OK, "an idle one of bob");
    memset(d1, 0x11, sizeof d1);
    expect_handle(d1, h1);
    memset(d1, 0x22, sizeof d1);
    expect_handle(d1, h2);
    for (size_t i = 0; i < sizeof d1; i++)
        snprintf(hexdigest + 2 * i, 3, "%02x", 0x11);

    memset(&seen, 0, sizeof seen);
    tap_is_int(trex_pam_db_session_list(db, "alice", ses_collect, &seen), TREX_PAM_SUCCESS, "session_list alice");
    tap_is_int(seen.n, 2, "... two sessions");
    tap_is_str(seen.user[0], "alice", "... the user");
    tap_is_str(seen.handle[0], h2, "... oldest first, its handle: keyed BLAKE2b of the digest");
    tap_is_str(seen.handle[1], h1, "... then the newer one");
    tap_ok(strstr(hexdigest, seen.handle[1]) == NULL, "... the handle is no part of the digest");
    tap_is_int((long)seen.created[1], (long)(t - 100), "... created");
    tap_is_int((long)seen.last_used[1], (long)(t - 10), "... last used");
    tap_is_str(seen.rhost[1], "192.0.2.7", "... remote host");
    tap_is_str(seen.rhost[0], "(none)", "... none: NULL");
    memset(&seen, 0, sizeof seen);
    tap_is_int(trex_pam_db_session_list(db, NULL, ses_collect, &seen), TREX_PAM_SUCCESS, "session_list NULL: all");
    tap_is_int(seen.n, 3, "... three sessions");
    tap_is_str(seen.user[2], "bob", "... by user");
    tap_is_int(trex_pam_db_session_list(db, "nobody", ses_collect, &seen), TREX_PAM_USER_UNKNOWN,
               "session_list: an unknown user");
    tap_is_int(trex_pam_db_session_list(db, "a:b", ses_collect, &seen), TREX_PAM_BAD_ITEM,
               "session_list: an invalid name");
    tap_is_int(trex_pam_db_session_list(db, "alice", NULL, NULL), TREX_PAM_SYSTEM_ERR, "session_list: no function");

    tap_ok(trex_pam_db_valid_handle("0123abcD"), "valid_handle: 8 hex digits, either case");
    tap_ok(!trex_pam_db_valid_handle("0123abc"), "valid_handle: not 7");
    tap_ok(!trex_pam_db_valid_handle("0123abcde"), "valid_handle: not 9");
    tap_ok(!trex_pam_db_valid_handle("0123abcg"), "valid_handle: not g");
    tap_ok(!trex_pam_db_valid_handle(NULL), "valid_handle: not NULL");

    tap_is_int(trex_pam_db_session_revoke(db, "alice", "xyz", &n), TREX_PAM_BAD_ITEM, "revoke: a malformed handle");
    tap_ok(strstr(trex_pam_db_error(db), "handle") != NULL, "... said: %s", trex_pam_db_error(db));
    tap_is_int(trex_pam_db_session_revoke(db, "bob", h1, &n), TREX_PAM_DB_NO_SESSION,
               "revoke: alice's handle as bob's: NO_SESSION");
    tap_is_int(n, 0, "... none ended");
    tap_ok(session_exists(st, 0x11), "... alice's session is still there");
    tap_is_str(trex_pam_db_strerror(TREX_PAM_DB_NO_SESSION), "no such session", "strerror NO_SESSION");
    tap_is_int(trex_pam_db_session_revoke(db, "nobody", h1, &n), TREX_PAM_USER_UNKNOWN, "revoke: an unknown user");
    if (trex_pam_db_open(th_path("ses.db"), TREX_PAM_DB_RDONLY, &ro, err, sizeof err) == TREX_PAM_SUCCESS) {
        tap_is_int(trex_pam_db_session_revoke(ro, "alice", h1, &n), TREX_PAM_PERM_DENIED, "revoke read-only: PERM_DENIED");
        tap_is_int(trex_pam_db_session_purge(ro, 1, 1, &n), TREX_PAM_PERM_DENIED, "purge read-only: PERM_DENIED");
        tap_is_int(trex_pam_db_faillock_reset(ro, "alice", &n), TREX_PAM_PERM_DENIED, "faillock_reset read-only");
        memset(&seen, 0, sizeof seen);
        tap_is_int(trex_pam_db_session_list(ro, "alice", ses_collect, &seen), TREX_PAM_SUCCESS, "list read-only: fine");
        trex_pam_db_close(ro);
    }
    for (int i = 0; i < 8; i++)
        upper[i] = (char)(h1[i] >= 'a' ? h1[i] - 'a' + 'A' : h1[i]);
    upper[8] = '\0';
    tap_is_int(trex_pam_db_session_revoke(db, "alice", upper, &n), TREX_PAM_SUCCESS, "revoke alice's session (upper case)");
    tap_is_int(n, 1, "... one ended");
    tap_ok(!session_exists(st, 0x11), "... gone from the store");
    tap_ok(session_exists(st, 0x22), "... the other stays");
    tap_is_int(trex_pam_db_session_revoke(db, "alice", h1, &n), TREX_PAM_DB_NO_SESSION, "revoke it again: NO_SESSION");

    /* purge: alice's is 50000 s old (lifetime), bob's idle 4000 s */
    tap_is_int(trex_pam_db_session_purge(db, 0, 0, &n), TREX_PAM_BAD_ITEM, "purge without limits: BAD_ITEM");
    tap_is_int(trex_pam_db_session_purge(db, -1, 10, &n), TREX_PAM_BAD_ITEM, "purge: a negative time");
    tap_is_int(trex_pam_db_session_purge(db, 0, (int64_t)INT32_MAX + 1, &n), TREX_PAM_BAD_ITEM, "purge: too long");
    tap_is_int(trex_pam_db_session_purge(db, 0, 60000, &n), TREX_PAM_SUCCESS, "purge lifetime 60000");
    tap_is_int(n, 0, "... none that old");
    tap_is_int(trex_pam_db_session_purge(db, 10000, 43200, &n), TREX_PAM_SUCCESS, "purge idle 10000 lifetime 43200");
    tap_is_int(n, 1, "... alice's old one");
    tap_ok(!session_exists(st, 0x22) && session_exists(st, 0x33), "... only it");
    tap_is_int(trex_pam_db_session_purge(db, 1800, 0, &n), TREX_PAM_SUCCESS, "purge idle 1800");
    tap_is_int(n, 1, "... bob's idle one");

    tap_is_int(add_session(st, 0x44, "bob", t, t, NULL), TP_STORE_OK, "two more of bob");
    tap_is_int(add_session(st, 0x55, "bob", t, t, NULL), TP_STORE_OK, "...");
    tap_is_int(add_session(st, 0x66, "alice", t, t, NULL), TP_STORE_OK, "and one of alice");
    tap_is_int(trex_pam_db_session_revoke(db, "bob", NULL, &n), TREX_PAM_SUCCESS, "revoke all of bob's");
    tap_is_int(n, 2, "... two");
    tap_ok(session_exists(st, 0x66), "... alice's stays");
    tap_is_int(trex_pam_db_session_revoke(db, "bob", NULL, &n), TREX_PAM_SUCCESS, "again: SUCCESS");
    tap_is_int(n, 0, "... none");
    tp_store_close(st);
    trex_pam_db_close(db);
}

/* ---- failure tallies ------------------------------------------------------------ */

struct fail_seen {
    int n;
    int64_t time[16];
    int count[16];
};

static int fail_collect(void *data, int64_t time, int count)
{
    struct fail_seen *s = data;
    if (s->n < 16) {
        s->time[s->n] = time;
        s->count[s->n] = count;
    }
    s->n++;
    return 0;
}

static void test_faillock(void)
{
    trex_pam_db_t *db = NULL;
    struct tp_store *st = NULL;
    struct trex_pam_db_user u;
    struct trex_pam_db_faillock f;
    struct fail_seen seen;
    char err[512];
    int64_t t = (int64_t)time(NULL);
    int n = -1, cnt;

    if (trex_pam_db_open(th_path("fail.db"), TREX_PAM_DB_CREATE, &db, err, sizeof err) != TREX_PAM_SUCCESS
        || tp_store_open(th_path("fail.db"), 0, &st, err, sizeof err) != TP_STORE_OK) {
        tap_ok(0, "open fail.db: %s", err);
        trex_pam_db_close(db);
        return;
    }
    trex_pam_db_user_init(&u);
    u.name = "alice";
    trex_pam_db_user_add(db, &u, NULL, NULL, NULL);
    u.name = "bob";
    trex_pam_db_user_add(db, &u, NULL, NULL, NULL);

    tap_is_int(trex_pam_db_faillock_get(db, "alice", 3, 900, 600, &f), TREX_PAM_SUCCESS, "faillock_get: none");
    tap_ok(f.total == 0 && f.failures == 0 && f.latest == 0 && !f.locked, "... nothing, not locked");
    memset(&seen, 0, sizeof seen);
    tap_is_int(trex_pam_db_faillock_list(db, "alice", fail_collect, &seen), TREX_PAM_SUCCESS, "faillock_list: none");
    tap_is_int(seen.n, 0, "... no call");

    /* one long ago, two in one second, one more recently */
    tp_store_fail_add(st, "alice", t - 5000, 0, &cnt);
    tp_store_fail_add(st, "alice", t - 200, 0, &cnt);
    tp_store_fail_add(st, "alice", t - 200, 0, &cnt);
    tp_store_fail_add(st, "alice", t - 100, 0, &cnt);
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 3, 900, 600, &f), TREX_PAM_SUCCESS, "faillock_get: four");
    tap_is_int(f.total, 4, "... total 4");
    tap_is_int(f.failures, 3, "... 3 within fail_interval of the latest");
    tap_is_int((long)f.latest, (long)(t - 100), "... latest");
    tap_is_int(f.locked, 1, "... locked with deny=3");
    tap_is_int((long)f.unlock_at, (long)(t - 100 + 600), "... until latest + unlock_time");
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 4, 900, 600, &f), TREX_PAM_SUCCESS, "deny=4");
    tap_is_int(f.locked, 0, "... not locked");
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 4, 6000, 600, &f), TREX_PAM_SUCCESS, "deny=4 fail_interval=6000");
    tap_ok(f.locked && f.failures == 4, "... locked, 4 count");
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 3, 900, 50, &f), TREX_PAM_SUCCESS, "unlock_time=50");
    tap_ok(!f.locked && f.failures == 3, "... the lock ran out");
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 3, 900, 0, &f), TREX_PAM_SUCCESS, "unlock_time=0 (never)");
    tap_ok(f.locked && f.unlock_at == 0, "... locked until a reset");
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 0, 900, 0, &f), TREX_PAM_SUCCESS, "deny=0");
    tap_is_int(f.locked, 0, "... never locks");
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 65536, 900, 0, &f), TREX_PAM_BAD_ITEM, "deny too big");
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 3, 604801, 0, &f), TREX_PAM_BAD_ITEM, "fail_interval too big");
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 3, 900, -1, &f), TREX_PAM_BAD_ITEM, "unlock_time negative");
    tap_is_int(trex_pam_db_faillock_get(db, "nobody", 3, 900, 600, &f), TREX_PAM_SUCCESS,
               "a name nobody has: its tally too (the module counts every name)");
    tap_ok(f.total == 0 && !f.locked, "... empty");
    tap_is_int(trex_pam_db_faillock_get(db, "alice", 3, 900, 600, NULL), TREX_PAM_SYSTEM_ERR, "no out");

    memset(&seen, 0, sizeof seen);
    tap_is_int(trex_pam_db_faillock_list(db, "alice", fail_collect, &seen), TREX_PAM_SUCCESS, "faillock_list");
    tap_is_int(seen.n, 3, "... three seconds");
    tap_ok(seen.time[0] == t - 5000 && seen.count[0] == 1, "... oldest first: one at t-5000");
    tap_ok(seen.time[1] == t - 200 && seen.count[1] == 2, "... two at t-200");
    tap_ok(seen.time[2] == t - 100 && seen.count[2] == 1, "... one at t-100");
    tap_is_int(trex_pam_db_faillock_list(db, "nobody", fail_collect, &seen), TREX_PAM_SUCCESS,
               "faillock_list: a name nobody has");

    tp_store_fail_add(st, "bob", 1, 0, &cnt);       /* the edges of time */
    tp_store_fail_add(st, "bob", 0, 0, &cnt);
    memset(&seen, 0, sizeof seen);
    tap_is_int(trex_pam_db_faillock_list(db, "bob", fail_collect, &seen), TREX_PAM_SUCCESS, "faillock_list at times 0 and 1");
    tap_ok(seen.n == 2 && seen.time[0] == 0 && seen.time[1] == 1, "... both");

    tap_is_int(trex_pam_db_faillock_reset(db, "alice", &n), TREX_PAM_SUCCESS, "faillock_reset");
    tap_is_int(n, 4, "... four cleared");
    trex_pam_db_faillock_get(db, "alice", 3, 900, 600, &f);
    tap_ok(f.total == 0 && !f.locked, "... none left, unlocked");
    tap_is_int(trex_pam_db_faillock_get(db, "bob", 3, 900, 600, &f), TREX_PAM_SUCCESS, "bob's");
    tap_is_int(f.total, 2, "... untouched");
    tap_is_int(trex_pam_db_faillock_reset(db, "nobody", &n), TREX_PAM_SUCCESS, "reset: a name nobody has");
    tap_is_int(n, 0, "... none cleared");
    tp_store_close(st);
    trex_pam_db_close(db);
}

int main(void)
{
    unsetenv("TREX_PAM_DB");
    test_open();
    test_checks();
    test_users();
    test_sessions();
    test_faillock();
    return th_done();
}
