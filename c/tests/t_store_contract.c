/*
 * t_store_contract.c - store.h's contract, written once for every backend:
 * run against the empty store named by $TREX_PAM_TEST_STORE (opened with
 * TP_STORE_CREATE; t/41-store-backends.t passes a fresh SQLite file and a
 * fresh PostgreSQL database, t/46-store-redis.t a fresh key prefix on a
 * Redis server). Users and attributes, set_hash's compare-and-swap,
 * sessions with touch coalescing, delete_user with keep and purge, list
 * order and callbacks, failure tallies with `since` and the cap of 1024,
 * the NOTFOUND/OK rules for unknown users, and read scopes (a second
 * connection's write is not seen inside a scope, is seen after it; a write
 * in the scope ends its snapshot).
 * A store that keeps no users (tp_store_keeps): every user call is
 * UNAVAIL saying so, sessions and failures of any name are taken, and the
 * checks of users, of rows going with their user and of read scopes (made
 * with users; such a store may have none: every read one request) are
 * skipped, one skip line per group.
 * Without the variable: "1..0 # SKIP".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"

static const char *loc;
static int keeps_users;              /* the store under test keeps users */

static struct tp_store *open_store(void)
{
    struct tp_store *st = NULL;
    char err[1024];
    int rc = tp_store_open(loc, TP_STORE_CREATE, &st, err, sizeof err);

    if (rc != TP_STORE_OK)
        th_bail("cannot open the store under test: %s", err);
    return st;
}

static void digest_of(unsigned char d[TP_SESSION_DIGEST_LEN], int k)
{
    for (int i = 0; i < TP_SESSION_DIGEST_LEN; i++)
        d[i] = (unsigned char)(k * 7 + i * 13);
    d[0] = (unsigned char)k;          /* distinct, ordered by k */
    d[5] = 0;                         /* a NUL inside: binary-safe */
}

static int add_user(struct tp_store *st, const char *name, const char *hash)
{
    struct tp_user u;

    tp_user_init(&u);
    u.name = (char *)name;
    u.hash = (char *)hash;
    return tp_store_user_add(st, &u);
}

/* ---- users ---------------------------------------------------------------------- */

struct names {
    char buf[1024];
    int calls, stop_after;
    struct tp_store *st;
};

static int collect_user(void *data, const struct tp_user *u)
{
    struct names *n = data;
    struct tp_user again;

    n->calls++;
    strncat(n->buf, u->name, sizeof n->buf - strlen(n->buf) - 2);
    strcat(n->buf, "|");
    if (n->st != NULL) {              /* the store is usable from a callback */
        tp_store_user_get(n->st, u->name, &again);
        tp_user_clear(&again);
    }
    return n->stop_after > 0 && n->calls >= n->stop_after;
}

static void test_users(struct tp_store *st)
{
    struct tp_attr attrs[] = { { "mail_home", "/var/mail/alice" }, { "display_name", "Alice A." } };
    struct tp_user u, got;
    struct names n;

    tp_user_init(&u);
    tap_is_int(tp_store_user_get(st, "alice", &got), TP_STORE_NOTFOUND, "user_get: unknown user");
    u.name = "alice";
    u.hash = "$6$salt$alicehash";
    u.disabled = 0;
    u.expires = 2000000000;
    u.pw_changed = 1700000000;
    u.pw_min_days = 1;
    u.pw_max_days = 90;
    u.pw_warn_days = 7;
    u.created = 1600000000;
    u.attrs = attrs;
    u.nattrs = 2;
    tap_is_int(tp_store_user_add(st, &u), TP_STORE_OK, "user_add");
    tap_is_int(tp_store_user_add(st, &u), TP_STORE_EXISTS, "user_add again: EXISTS");
    tap_is_int(tp_store_user_get(st, "alice", &got), TP_STORE_OK, "user_get");
    tap_is_str(got.name, "alice", "name");
    tap_is_str(got.hash, "$6$salt$alicehash", "hash");
    tap_ok(got.expires == 2000000000 && got.pw_changed == 1700000000 && got.pw_min_days == 1
           && got.pw_max_days == 90 && got.pw_warn_days == 7 && got.created == 1600000000
           && !got.disabled && !got.force_change, "every field as added");
    tap_is_int((long)got.nattrs, 2, "two attributes");
    if (got.nattrs == 2) {
        tap_is_str(got.attrs[0].name, "display_name", "attributes in name order");
        tap_is_str(got.attrs[1].value, "/var/mail/alice", "attribute value");
    }
    tp_user_clear(&got);

    tap_is_int(add_user(st, "bob", ""), TP_STORE_OK, "user_add with no password");
    tap_is_int(tp_store_user_get(st, "bob", &got), TP_STORE_OK, "user_get bob");
    tap_ok(got.hash != NULL && got.hash[0] == '\0' && got.pw_max_days == -1 && got.created > 0
           && got.nattrs == 0, "no password: hash \"\", defaults, created set by the store");
    tp_user_clear(&got);
    u.name = "carol";
    u.hash = NULL;
    tap_is_int(tp_store_user_add(st, &u), TP_STORE_ERR, "user_add without a hash: ERR");

    /* update */
    tp_user_init(&u);
    u.name = "alice";
    u.disabled = 1;
    u.force_change = 1;
    u.pw_max_days = 30;
    u.expires = 123;
    tap_is_int(tp_store_user_update(st, &u, TP_USER_DISABLED | TP_USER_FORCE_CHANGE | TP_USER_PW_MAX),
               TP_STORE_OK, "user_update");
    tp_store_user_get(st, "alice", &got);
    tap_ok(got.disabled && got.force_change && got.pw_max_days == 30 && got.expires == 2000000000
           && got.pw_min_days == 1 && strcmp(got.hash, "$6$salt$alicehash") == 0,
           "user_update changes the fields in the mask only");
    tp_user_clear(&got);
    u.hash = "$6$new$hash";
    u.pw_changed = 1750000000;
    tap_is_int(tp_store_user_update(st, &u, TP_USER_HASH), TP_STORE_OK, "user_update HASH");
    tp_store_user_get(st, "alice", &got);
    tap_ok(strcmp(got.hash, "$6$new$hash") == 0 && got.pw_changed == 1750000000,
           "TP_USER_HASH sets the hash and pw_changed");
    tp_user_clear(&got);
    u.name = "nobody";
    tap_is_int(tp_store_user_update(st, &u, TP_USER_DISABLED), TP_STORE_NOTFOUND,
               "user_update: unknown user");

    /* set_hash: compare-and-swap */
    tap_is_int(tp_store_user_set_hash(st, "alice", "$6$wrong$old", "$6$x$y", 1), TP_STORE_CONFLICT,
               "set_hash with a stale expectation: CONFLICT");
    tap_ok(strstr(tp_store_error(st), "$6$") == NULL, "the conflict's message holds no hash");
    tap_is_int(tp_store_user_set_hash(st, "alice", "$6$new$hash", "$6$cas$won", 1760000000),
               TP_STORE_OK, "set_hash with the right expectation");
    tp_store_user_get(st, "alice", &got);
    tap_ok(strcmp(got.hash, "$6$cas$won") == 0 && got.pw_changed == 1760000000 && !got.force_change,
           "set_hash: hash, pw_changed, force_change cleared");
    tp_user_clear(&got);
    tap_is_int(tp_store_user_set_hash(st, "alice", NULL, "$6$any$one", 5), TP_STORE_OK,
               "set_hash with no expectation");
    tap_is_int(tp_store_user_set_hash(st, "nobody", NULL, "$6$a$b", 5), TP_STORE_NOTFOUND,
               "set_hash: unknown user");
    tap_is_int(tp_store_user_set_hash(st, "nobody", "$6$a$b", "$6$a$b", 5), TP_STORE_NOTFOUND,
               "set_hash with an expectation: unknown user is NOTFOUND, not CONFLICT");

    /* attributes */
    tap_is_int(tp_store_attr_set(st, "bob", "shell", "/bin/sh"), TP_STORE_OK, "attr_set new");
    tap_is_int(tp_store_attr_set(st, "bob", "shell", "/bin/zsh"), TP_STORE_OK, "attr_set replace");
    tap_is_int(tp_store_attr_set(st, "bob", "gone", NULL), TP_STORE_OK,
               "attr_set NULL of an attribute the user lacks: OK");
    tp_store_user_get(st, "bob", &got);
    tap_ok(got.nattrs == 1 && strcmp(got.attrs[0].value, "/bin/zsh") == 0, "one attribute, replaced");
    tp_user_clear(&got);
    tap_is_int(tp_store_attr_set(st, "bob", "shell", NULL), TP_STORE_OK, "attr_set NULL deletes");
    tp_store_user_get(st, "bob", &got);
    tap_is_int((long)got.nattrs, 0, "deleted");
    tp_user_clear(&got);
    tap_is_int(tp_store_attr_set(st, "nobody", "a", "b"), TP_STORE_NOTFOUND, "attr_set: unknown user");
    tap_is_int(tp_store_attr_set(st, "nobody", "a", NULL), TP_STORE_NOTFOUND,
               "attr_set NULL: unknown user");

    /* list: byte order (as memcmp), callbacks after the rows are read */
    add_user(st, "b", "");
    add_user(st, "B", "");
    add_user(st, "a b", "");
    add_user(st, "\xc3\xa4", "");       /* a-umlaut in UTF-8: after every ASCII name */
    add_user(st, "Z", "");
    memset(&n, 0, sizeof n);
    n.st = st;
    tap_is_int(tp_store_user_list(st, collect_user, &n), TP_STORE_OK, "user_list");
    tap_is_str(n.buf, "B|Z|a b|alice|b|bob|\xc3\xa4|", "user_list in byte order");
    memset(&n, 0, sizeof n);
    n.stop_after = 2;
    tap_is_int(tp_store_user_list(st, collect_user, &n), TP_STORE_OK,
               "user_list stopped by the callback: OK");
    tap_is_int(n.calls, 2, "the walk stopped");

    tap_is_int(tp_store_user_delete(st, "Z"), TP_STORE_OK, "user_delete");
    tap_is_int(tp_store_user_delete(st, "Z"), TP_STORE_NOTFOUND, "user_delete again: NOTFOUND");
}

/* A store that keeps no users: every user call says so. */
static void test_no_users(struct tp_store *st)
{
    struct tp_user u, got;
    struct names n;

    tp_user_init(&u);
    u.name = "alice";
    u.hash = "";
    memset(&n, 0, sizeof n);
    tap_is_int(tp_store_user_get(st, "alice", &got), TP_STORE_UNAVAIL, "no users: user_get UNAVAIL");
    tap_ok(strstr(tp_store_error(st), "keeps no users") != NULL, "  saying so (%s)",
           tp_store_error(st));
    tp_user_clear(&got);
    tap_is_int(tp_store_user_add(st, &u), TP_STORE_UNAVAIL, "no users: user_add UNAVAIL");
    tap_is_int(tp_store_user_update(st, &u, TP_USER_DISABLED), TP_STORE_UNAVAIL,
               "no users: user_update UNAVAIL");
    tap_is_int(tp_store_user_set_hash(st, "alice", NULL, "", 1), TP_STORE_UNAVAIL,
               "no users: user_set_hash UNAVAIL");
    tap_is_int(tp_store_user_delete(st, "alice"), TP_STORE_UNAVAIL, "no users: user_delete UNAVAIL");
    tap_is_int(tp_store_attr_set(st, "alice", "a", "b"), TP_STORE_UNAVAIL,
               "no users: attr_set UNAVAIL");
    tap_is_int(tp_store_user_list(st, collect_user, &n), TP_STORE_UNAVAIL,
               "no users: user_list UNAVAIL");
    tap_is_int(n.calls, 0, "  nothing listed");
    tap_skip("users and attributes (40 checks): %s keeps no users", tp_store_where(st));
}

/* ---- sessions -------------------------------------------------------------------- */

struct seen {
    char buf[2048];
    int calls, stop_after;
    struct tp_store *del;             /* deletes each session it sees */
};

static int collect_session(void *data, const struct tp_session *s)
{
    struct seen *x = data;
    char one[128];

    x->calls++;
    snprintf(one, sizeof one, "%s:%d:%lld|", s->user, s->digest[0], (long long)s->created);
    strncat(x->buf, one, sizeof x->buf - strlen(x->buf) - 1);
    if (x->del != NULL)
        tp_store_session_delete(x->del, s->digest);
    return x->stop_after > 0 && x->calls >= x->stop_after;
}

static struct tp_session ses(int k, const char *user, int64_t created, int64_t last_used,
                             const char *rhost)
{
    struct tp_session s;

    memset(&s, 0, sizeof s);
    digest_of(s.digest, k);
    s.user = (char *)user;
    s.created = created;
    s.last_used = last_used;
    s.rhost = (char *)rhost;
    return s;
}

static void test_sessions(struct tp_store *st)
{
    struct tp_session s = ses(1, "alice", 1000, 0, "192.0.2.7"), got;
    unsigned char d[TP_SESSION_DIGEST_LEN];
    struct seen x;
    int count = -1;
    time_t before = time(NULL);

    s.user = "nobody";
    if (keeps_users) {
        tap_is_int(tp_store_session_add(st, &s), TP_STORE_NOTFOUND, "session_add: unknown user");
    } else {
        tap_is_int(tp_store_session_add(st, &s), TP_STORE_OK,
                   "session_add: a store that keeps no users takes any name");
        tap_is_int(tp_store_session_delete(st, s.digest), TP_STORE_OK, "  (deleted again)");
    }
    s.user = "alice";
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_OK, "session_add");
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_EXISTS, "session_add again: EXISTS");
    s.user = "bob";
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_EXISTS,
               "session_add of the digest for another user: EXISTS");
    s.user = "alice";
    tap_is_int(tp_store_session_get(st, s.digest, &got), TP_STORE_OK, "session_get");
    tap_ok(memcmp(got.digest, s.digest, sizeof got.digest) == 0 && got.user != NULL
           && strcmp(got.user, "alice") == 0 && got.created == 1000 && got.last_used == 1000
           && got.rhost != NULL && strcmp(got.rhost, "192.0.2.7") == 0,
           "session_get: every field; last_used 0 means created");
    tp_session_clear(&got);
    digest_of(d, 99);
    tap_is_int(tp_store_session_get(st, d, &got), TP_STORE_NOTFOUND, "session_get: unknown");
    tap_ok(got.user == NULL && got.created == 0, "not found: out all zero");
    s = ses(2, "bob", 0, 0, NULL);
    tap_is_int(tp_store_session_add(st, &s), TP_STORE_OK, "session_add created 0, no rhost");
    tp_store_session_get(st, s.digest, &got);
    tap_ok(got.created >= before && got.created <= time(NULL) + 1 && got.last_used == got.created
           && got.rhost == NULL, "created 0 means now; rhost stays NULL");
    tp_session_clear(&got);

    /* touch: coalesced, never back */
    digest_of(d, 1);
    tap_is_int(tp_store_session_touch(st, d, 1030, 60), TP_STORE_OK, "touch within min_interval");
    tp_store_session_get(st, d, &got);
    tap_is_int((long)got.last_used, 1000, "not written: last_used as it was");
    tp_session_clear(&got);
    tap_is_int(tp_store_session_touch(st, d, 1100, 60), TP_STORE_OK, "touch after min_interval");
    tp_store_session_get(st, d, &got);
    tap_is_int((long)got.last_used, 1100, "written");
    tp_session_clear(&got);
    tap_is_int(tp_store_session_touch(st, d, 1050, 0), TP_STORE_OK, "touch with an older now");
    tp_store_session_get(st, d, &got);
    tap_is_int((long)got.last_used, 1100, "last_used never moves back");
    tp_session_clear(&got);
    tap_is_int(tp_store_session_touch(st, d, 1101, 0), TP_STORE_OK, "touch, min_interval 0");
    tp_store_session_get(st, d, &got);
    tap_is_int((long)got.last_used, 1101, "written");
    tp_session_clear(&got);
    digest_of(d, 99);
    tap_is_int(tp_store_session_touch(st, d, 2000, 60), TP_STORE_NOTFOUND, "touch: unknown session");

    /* list order: (user, created, digest) */
    s = ses(10, "alice", 300, 0, NULL);
    tp_store_session_add(st, &s);
    s = ses(12, "alice", 100, 0, NULL);
    tp_store_session_add(st, &s);
    s = ses(11, "alice", 100, 0, NULL);
    tp_store_session_add(st, &s);
    s = ses(13, "B", 5000, 0, NULL);
    tp_store_session_add(st, &s);
    memset(&x, 0, sizeof x);
    tap_is_int(tp_store_session_list(st, "alice", collect_session, &x), TP_STORE_OK, "session_list user");
    tap_is_str(x.buf, "alice:11:100|alice:12:100|alice:10:300|alice:1:1000|",
               "a user's sessions in (created, digest) order");
    memset(&x, 0, sizeof x);
    tap_is_int(tp_store_session_list(st, NULL, collect_session, &x), TP_STORE_OK, "session_list all");
    tap_ok(strncmp(x.buf, "B:13:5000|alice:11:100|", 23) == 0 && strstr(x.buf, "|bob:2:") != NULL
           && x.calls == 6, "every session in (user, created, digest) order");
    memset(&x, 0, sizeof x);
    x.stop_after = 2;
    tap_is_int(tp_store_session_list(st, "alice", collect_session, &x), TP_STORE_OK,
               "session_list stopped by the callback: OK");
    tap_is_str(x.buf, "alice:11:100|alice:12:100|", "  the walk stopped after two");
    memset(&x, 0, sizeof x);
    tap_is_int(tp_store_session_list(st, "nobody", collect_session, &x), TP_STORE_OK,
               "session_list: unknown user OK");
    tap_is_int(x.calls, 0, "nothing listed");

    /* delete_user with keep */
    digest_of(d, 11);
    tap_is_int(tp_store_session_delete_user(st, "alice", d, &count), TP_STORE_OK, "delete_user keep");
    tap_is_int(count, 3, "three deleted, the kept one stays");
    tap_is_int(tp_store_session_get(st, d, &got), TP_STORE_OK, "the kept session is there");
    tp_session_clear(&got);
    tap_is_int(tp_store_session_delete_user(st, "nobody", NULL, &count), TP_STORE_OK,
               "delete_user: unknown user OK");
    tap_is_int(count, 0, "none");
    tap_is_int(tp_store_session_delete_user(st, "B", NULL, NULL), TP_STORE_OK, "delete_user, count NULL");
    tap_is_int(tp_store_session_delete(st, d), TP_STORE_OK, "session_delete");
    tap_is_int(tp_store_session_delete(st, d), TP_STORE_NOTFOUND, "session_delete again: NOTFOUND");

    /* purge */
    s = ses(20, "alice", 100, 500, NULL);        /* idle since 500 */
    tp_store_session_add(st, &s);
    s = ses(21, "alice", 50, 5000, NULL);        /* created long ago */
    tp_store_session_add(st, &s);
    s = ses(22, "alice", 4000, 5000, NULL);
    tp_store_session_add(st, &s);
    tap_is_int(tp_store_session_purge(st, 0, 0, &count), TP_STORE_OK, "purge, both bounds off");
    tap_is_int(count, 0, "nothing purged");
    tap_is_int(tp_store_session_purge(st, 1000, 0, &count), TP_STORE_OK, "purge idle");
    tap_is_int(count, 1, "one idle session purged");
    tap_is_int(tp_store_session_purge(st, 0, 60, &count), TP_STORE_OK, "purge created");
    tap_is_int(count, 1, "one old session purged");
    memset(&x, 0, sizeof x);
    tp_store_session_list(st, "alice", collect_session, &x);
    tap_is_str(x.buf, "alice:22:4000|", "the purged ones are gone from the user's list too");
    /* callbacks run after the rows are read: they may change the store */
    memset(&x, 0, sizeof x);
    x.del = st;
    tap_is_int(tp_store_session_list(st, NULL, collect_session, &x), TP_STORE_OK,
               "session_list whose callback deletes");
    memset(&x, 0, sizeof x);
    tp_store_session_list(st, NULL, collect_session, &x);
    tap_is_int(x.calls, 0, "every session deleted by the callback");
}

/* ---- failure tallies ---------------------------------------------------------------- */

static void test_tallies(struct tp_store *st)
{
    int count = -1, fails = 0;
    int64_t latest = -1;

    tap_is_int(tp_store_fail_add(st, "anybody", 100, 0, &count), TP_STORE_OK,
               "fail_add: any name, known or not");
    tap_is_int(count, 1, "  its count: 1");
    tap_is_int(tp_store_fail_reset(st, "anybody"), TP_STORE_OK, "  (reset again)");
    tap_is_int(tp_store_fail_count(st, "nobody", 0, &count, &latest), TP_STORE_OK,
               "fail_count: unknown user OK");
    tap_ok(count == 0 && latest == 0, "0 and 0");
    tap_is_int(tp_store_fail_reset(st, "nobody"), TP_STORE_OK, "fail_reset: unknown user OK");
    tap_is_int(tp_store_fail_add(st, "bob", 100, 0, &count), TP_STORE_OK, "fail_add");
    tap_is_int(count, 1, "count 1");
    tp_store_fail_add(st, "bob", 200, 0, &count);
    tap_is_int(count, 2, "count 2");
    tp_store_fail_add(st, "bob", 300, 250, &count);
    tap_is_int(count, 1, "count since 250: 1 (this one)");
    tap_is_int(tp_store_fail_add(st, "bob", 50, 100, NULL), TP_STORE_OK, "fail_add, count NULL");
    tp_store_fail_count(st, "bob", 0, &count, &latest);
    tap_ok(count == 4 && latest == 300, "fail_count: 4, latest 300");
    tp_store_fail_count(st, "bob", 200, &count, &latest);
    tap_ok(count == 2 && latest == 300, "fail_count since 200: 2");
    tp_store_fail_add(st, "bob", 300, 250, &count);
    tap_is_int(count, 2, "two failures in the same second: both counted");
    tp_store_fail_count(st, "bob", 0, &count, &latest);
    tap_ok(count == 5 && latest == 300, "  and kept (5, latest 300)");
    tp_store_fail_count(st, "bob", 301, &count, &latest);
    tap_ok(count == 0 && latest == 0, "fail_count since after the last: 0 and 0");
    tap_is_int(tp_store_fail_count(st, "bob", 0, NULL, NULL), TP_STORE_OK, "fail_count, outputs NULL");
    tap_is_int(tp_store_fail_reset(st, "bob"), TP_STORE_OK, "fail_reset");
    tp_store_fail_count(st, "bob", 0, &count, &latest);
    tap_ok(count == 0 && latest == 0, "reset: nothing left");

    /* only the 1024 newest are kept */
    for (int t = 1; t <= 1030; t++)
        if (tp_store_fail_add(st, "bob", t, 0, &count) != TP_STORE_OK)
            fails++;
    tap_is_int(fails, 0, "1030 failures recorded");
    tap_is_int(count, 1024, "the count stops at 1024");
    tp_store_fail_count(st, "bob", 0, &count, &latest);
    tap_ok(count == 1024 && latest == 1030, "1024 kept, latest 1030");
    tp_store_fail_count(st, "bob", 7, &count, NULL);
    tap_is_int(count, 1024, "the oldest kept is at 7");
    tp_store_fail_count(st, "bob", 8, &count, NULL);
    tap_is_int(count, 1023, "the six oldest went");
    tp_store_fail_add(st, "bob", 2000, 1500, &count);
    tap_is_int(count, 1, "since bounds the count of an add");

    /* the list: users in name order, times oldest first, repeats kept */
    tp_store_fail_reset(st, "bob");
    tap_is_str(th_fail_list(st, NULL, 0), "", "fail_list: nothing on record, no call");
    add_user(st, "carl", "");
    tp_store_fail_add(st, "carl", 30, 0, NULL);
    tp_store_fail_add(st, "bob", 20, 0, NULL);
    tp_store_fail_add(st, "carl", 10, 0, NULL);
    tp_store_fail_add(st, "bob", 20, 0, NULL);
    tp_store_fail_add(st, "bob", 5, 0, NULL);
    tap_is_str(th_fail_list(st, NULL, 0), "bob:5,20,20;carl:10,30", "fail_list: every user");
    tap_is_str(th_fail_list(st, "carl", 0), "carl:10,30", "fail_list: one user");
    tap_is_str(th_fail_list(st, "alice", 0), "", "fail_list: a user without failures, no call");
    tap_is_str(th_fail_list(st, "nobody", 0), "", "fail_list: an unknown user, no call");
    tap_is_str(th_fail_list(st, NULL, 1), "bob:5,20,20", "fail_list: fn's non-zero stops it");
    tp_store_fail_reset(st, "carl");
    if (keeps_users)
        tp_store_user_delete(st, "carl");
    tap_is_str(th_fail_list(st, NULL, 0), "bob:5,20,20", "fail_list: a user reset is gone");

    /* a user's rows go with the user */
    if (!keeps_users) {
        tap_skip("a user's rows go with the user (5 checks): %s keeps no users", tp_store_where(st));
    } else {
        struct tp_session s = ses(30, "bob", 100, 0, NULL);
        struct seen x;
        tp_store_session_add(st, &s);
        tap_is_int(tp_store_user_delete(st, "bob"), TP_STORE_OK, "user_delete bob");
        tp_store_fail_count(st, "bob", 0, &count, &latest);
        tap_ok(count == 0 && latest == 0, "his failures went with him");
        memset(&x, 0, sizeof x);
        tp_store_session_list(st, "bob", collect_session, &x);
        tap_is_int(x.calls, 0, "his sessions went with him");
        tap_is_int(add_user(st, "bob", ""), TP_STORE_OK, "bob again");
        tp_store_fail_count(st, "bob", 0, &count, NULL);
        tap_is_int(count, 0, "a new bob has no failures");
    }

    /* the purge: old failures of every name; Redis's keys expire instead */
    tp_store_fail_reset(st, "bob");
    tp_store_fail_add(st, "ghost-1", 1000000, 0, NULL);
    tp_store_fail_add(st, "ghost-2", 1000001, 0, NULL);
    tp_store_fail_add(st, "ghost-2", 1000100, 0, NULL);
    count = -1;
    tap_is_int(tp_store_fail_purge(st, 1000050, &count), TP_STORE_OK, "fail_purge");
    if (tp_store_expires_sessions(st)) {      /* Redis: its keys expire, failures' too */
        tap_is_int(count, 0, "fail_purge on Redis: nothing (failures expire by the key's TTL)");
        tap_is_str(th_fail_list(st, NULL, 0), "ghost-1:1000000;ghost-2:1000001,1000100",
                   "  and every failure still there");
    } else {
        tap_is_int(count, 2, "fail_purge: the two older than the time, of two names");
        tap_is_str(th_fail_list(st, NULL, 0), "ghost-2:1000100", "  the newer one stays");
    }
    tap_is_int(tp_store_fail_purge(st, 1000050, NULL), TP_STORE_OK, "fail_purge, n NULL");
    tp_store_fail_reset(st, "ghost-1");
    tp_store_fail_reset(st, "ghost-2");
}

/* ---- read scopes ----------------------------------------------------------------------- */

static int64_t expires_of(struct tp_store *st, const char *name)
{
    struct tp_user u;
    int64_t e = -1;

    if (tp_store_user_get(st, name, &u) == TP_STORE_OK)
        e = u.expires;
    tp_user_clear(&u);
    return e;
}

static void set_expires(struct tp_store *st, const char *name, int64_t e)
{
    struct tp_user u;

    tp_user_init(&u);
    u.name = (char *)name;
    u.expires = e;
    if (tp_store_user_update(st, &u, TP_USER_EXPIRES) != TP_STORE_OK)
        tap_diag("update: %s", tp_store_error(st));
}

/* A read in a scope after another connection changed what the scope's
 * first read returned: the scope's snapshot (SQLite holds one), or, on a
 * store that checks the snapshot at the scope's second statement instead
 * of holding one from the first (PostgreSQL), TP_STORE_CONFLICT saying so;
 * never the new value. */
static void read_after_change(struct tp_store *st, int checked, int64_t old, const char *what)
{
    struct tp_user u;
    int rc = tp_store_user_get(st, "alice", &u);

    if (checked) {
        tap_is_int(rc, TP_STORE_CONFLICT, "%s: the read fails rather than mix two states", what);
        tap_ok(strstr(tp_store_error(st), "changed between two reads") != NULL,
               "and says why: %s", tp_store_error(st));
    } else {
        tap_is_int(rc, TP_STORE_OK, "%s: read", what);
        tap_is_int(rc == TP_STORE_OK ? (long)u.expires : -1, (long)old, "%s", what);
    }
    tp_user_clear(&u);
}

static void test_scopes(struct tp_store *st)
{
    struct tp_store *other = open_store();
    int checked = strncmp(tp_store_where(st), "postgres", 8) == 0;

    set_expires(st, "alice", 1);
    set_expires(st, "bob", 1);
    tap_is_int(tp_store_read_begin(st), TP_STORE_OK, "read_begin");
    tap_is_int((long)expires_of(st, "alice"), 1, "read in the scope");
    set_expires(other, "bob", 7);
    tap_is_int((long)expires_of(st, "alice"), 1,
               "another connection's change to another row: the scope reads on");
    /* SQLite's snapshot is the first read's; PostgreSQL's is the second's,
     * in which the first read's rows were found unchanged */
    tap_is_int((long)expires_of(st, "bob"), checked ? 7 : 1,
               "the next read is of the scope's snapshot (%s)",
               checked ? "taken at its second read" : "taken at its first read");
    tp_store_read_end(st);
    tap_is_int((long)expires_of(st, "bob"), 7, "seen after the scope");

    tap_is_int(tp_store_read_begin(st), TP_STORE_OK, "read_begin");
    tap_is_int((long)expires_of(st, "alice"), 1, "read in the scope");
    set_expires(other, "alice", 2);
    read_after_change(st, checked, 1, "another connection's write is not seen inside the scope");
    tap_is_int(tp_store_read_begin(st), TP_STORE_OK, "nested read_begin");
    tp_store_read_end(st);
    if (!checked)
        tap_is_int((long)expires_of(st, "alice"), 1, "the inner end keeps the snapshot");
    else
        tap_is_int((long)expires_of(st, "alice"), 2, "after the failed read the scope starts over");
    tp_store_read_end(st);
    tap_is_int((long)expires_of(st, "alice"), 2, "seen after the scope");

    tp_store_read_begin(st);
    tap_is_int((long)expires_of(st, "alice"), 2, "a new scope");
    set_expires(other, "alice", 3);
    read_after_change(st, checked, 2, "its snapshot");
    tap_is_int(tp_store_attr_set(st, "bob", "k", "v"), TP_STORE_OK, "a write inside the scope");
    tap_is_int((long)expires_of(st, "alice"), 3, "the write ended the snapshot: the next read sees now");
    set_expires(other, "alice", 4);
    read_after_change(st, checked, 3, "and is a snapshot again");
    tp_store_read_end(st);
    tap_is_int((long)expires_of(st, "alice"), 4, "after the scope");

    tp_store_read_begin(st);              /* a scope with no read */
    set_expires(other, "alice", 5);
    tp_store_read_end(st);
    tap_is_int((long)expires_of(st, "alice"), 5, "an empty scope holds nothing");
    tp_store_close(other);
}

int main(void)
{
    struct tp_store *st;

    loc = getenv(TH_TEST_STORE_ENV);
    if (loc == NULL || *loc == '\0')
        return th_skip_all("%s names no store to test", TH_TEST_STORE_ENV);
    st = open_store();
    keeps_users = tp_store_keeps(st, TP_STORE_KEEPS_USERS);
    tap_ok(tp_store_keeps(st, TP_STORE_KEEPS_SESSIONS | TP_STORE_KEEPS_TALLIES),
           "%s keeps sessions and failure tallies", tp_store_where(st));
    tap_ok(!tp_store_keeps(st, 0) && !tp_store_keeps(st, 0x8) && !tp_store_keeps(NULL, 1),
           "tp_store_keeps: nothing, an unknown kind, no store: 0");
    if (keeps_users)
        test_users(st);
    else
        test_no_users(st);
    test_sessions(st);
    test_tallies(st);
    if (keeps_users)
        test_scopes(st);
    else
        tap_skip("read scopes (13 checks): made with users, which %s keeps none of",
                 tp_store_where(st));
    tp_store_close(st);
    return th_done();
}
