/*
 * copy.c - copying users, sessions and failure tallies from one store into
 * another for the administrator (trex_pam_admin.h: trex_pam_db_copy). The
 * source is walked with the store's list calls (users, sessions, failure
 * tallies), each record compared with the target's, then added, moved
 * forward or replaced there. One walk plans (writes nothing); the same walk
 * again writes, unless the plan stops it (a dry run, or conflicts without
 * REPLACE).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "admin.h"
#include "secret.h"

/* User names in strcmp order (the stores list users in byte order). */
struct names {
    char **v;
    size_t n, cap;
};

struct copy {
    trex_pam_db_t *from, *to;
    struct tp_store *fs, *ts;           /* the sessions' stores */
    int flags, apply;
    int64_t now, idle, lifetime;
    struct trex_pam_db_copy_result *out;
    void (*note)(void *data, const char *kind, const char *name, const char *text);
    void *data;
    struct names at_target;             /* users the target has or gets */
    struct names conflicted;            /* users that differ there, left as they are */
    char *checked;                      /* the last user user_ok looked up ... */
    int checked_ok;                     /* ... and its answer */
    struct tp_store *checked_st;
    char *noted;                        /* the last user noted as left out ... */
    const char *noted_kind;             /* ... for this kind of record */
    int unsorted;                       /* names_add met a name out of order */
    int rc;                             /* the status that stopped a walk */
};

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_add(struct copy *c, struct names *l, const char *name)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n] = strdup(name)) == NULL)
        return -1;
    if (l->n > 0 && strcmp(l->v[l->n - 1], name) > 0)
        c->unsorted = 1;                /* sorted before the lookups */
    l->n++;
    return 0;
}

static int names_has(const struct names *l, const char *name)
{
    return l->n > 0 && bsearch(&name, l->v, l->n, sizeof l->v[0], cmp_name) != NULL;
}

static void names_clear(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static void note(struct copy *c, const char *kind, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void note(struct copy *c, const char *kind, const char *name, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    if (c->note == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    c->note(c->data, kind, name, text);
}

/* Stops a walk: the status of store code rc of st, on from's error line. */
static int stop(struct copy *c, struct tp_store *st, int rc, const char *name)
{
    c->rc = tp_admin_from_store_at(c->from, st, rc, name);
    if (c->rc == TREX_PAM_SUCCESS)
        c->rc = TREX_PAM_SYSTEM_ERR;
    return 1;
}

static int nomem(struct copy *c)
{
    tp_admin_err(c->from, "out of memory");
    c->rc = TREX_PAM_BUF_ERR;
    return 1;
}

/* ---- users ---------------------------------------------------------------------- */

/* What differs between a and b, as a list of field names ("" if nothing);
 * never a value. The creation time is not compared. */
static void user_diff(const struct tp_user *a, const struct tp_user *b, char *buf, size_t size)
{
    size_t len = 0;
    int same_attrs = a->nattrs == b->nattrs;
    const char *hash_a = a->hash ? a->hash : "", *hash_b = b->hash ? b->hash : "";
    struct { int differs; const char *what; } f[] = {
        { strlen(hash_a) != strlen(hash_b) || !tp_secret_equal(hash_a, hash_b, strlen(hash_a)),
          "password hash" },
        { a->disabled != b->disabled, "disabled" },
        { a->force_change != b->force_change, "must change" },
        { a->expires != b->expires, "expires" },
        { a->pw_changed != b->pw_changed, "password changed" },
        { a->pw_min_days != b->pw_min_days, "min days" },
        { a->pw_max_days != b->pw_max_days, "max days" },
        { a->pw_warn_days != b->pw_warn_days, "warn days" },
        { 0, "attributes" },
    };

    for (size_t i = 0; same_attrs && i < a->nattrs; i++)
        same_attrs = strcmp(a->attrs[i].name, b->attrs[i].name) == 0
                     && strcmp(a->attrs[i].value, b->attrs[i].value) == 0;
    f[8].differs = !same_attrs;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].differs && len < size)
            len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", f[i].what);
}

/* Makes the target's user t what the source's u is: its fields in one
 * transaction, then each attribute. */
static int user_replace(struct copy *c, const struct tp_user *u, const struct tp_user *t)
{
    const unsigned int all = TP_USER_HASH | TP_USER_DISABLED | TP_USER_FORCE_CHANGE
                             | TP_USER_EXPIRES | TP_USER_PW_CHANGED | TP_USER_PW_MIN
                             | TP_USER_PW_MAX | TP_USER_PW_WARN;
    int rc = tp_store_user_update(c->to->st, u, all);

    for (size_t i = 0; rc == TP_STORE_OK && i < t->nattrs; i++) {
        int kept = 0;
        for (size_t j = 0; !kept && j < u->nattrs; j++)
            kept = strcmp(t->attrs[i].name, u->attrs[j].name) == 0;
        if (!kept)
            rc = tp_store_attr_set(c->to->st, u->name, t->attrs[i].name, NULL);
    }
    for (size_t j = 0; rc == TP_STORE_OK && j < u->nattrs; j++)
        rc = tp_store_attr_set(c->to->st, u->name, u->attrs[j].name, u->attrs[j].value);
    return rc;
}

static int user_one(void *data, const struct tp_user *u)
{
    struct copy *c = data;
    struct trex_pam_db_copy_count *k = &c->out->users;
    struct tp_user t;
    char diff[256];
    int rc;

    if (!trex_pam_db_valid_user(u->name)) {
        k->skipped++;
        note(c, "user", "?", "a name the rules refuse (empty, too long, ':', '/' or a control"
             " character): not copied");
        return 0;
    }
    tp_user_init(&t);
    rc = tp_store_user_get(c->to->st, u->name, &t);
    if (rc == TP_STORE_NOTFOUND) {
        if (c->apply && (rc = tp_store_user_add(c->to->st, u)) == TP_STORE_EXISTS) {
            k->conflicts++;
            note(c, "user", u->name, "added at the target meanwhile: left as it is");
            rc = names_add(c, &c->conflicted, u->name) == 0 ? TP_STORE_OK : -1;
        } else if (rc == TP_STORE_NOTFOUND || rc == TP_STORE_OK) {
            k->added++;
            rc = names_add(c, &c->at_target, u->name) == 0 ? TP_STORE_OK : -1;
        }
    } else if (rc == TP_STORE_OK) {
        user_diff(u, &t, diff, sizeof diff);
        if (diff[0] == '\0') {
            k->unchanged++;
            rc = names_add(c, &c->at_target, u->name) == 0 ? TP_STORE_OK : -1;
        } else if (c->flags & TREX_PAM_DB_COPY_REPLACE) {
            k->replaced++;
            if (c->apply)
                rc = user_replace(c, u, &t);
            if (rc == TP_STORE_OK)
                rc = names_add(c, &c->at_target, u->name) == 0 ? TP_STORE_OK : -1;
        } else {
            k->conflicts++;
            note(c, "user", u->name, "differs at the target: %s", diff);
            rc = names_add(c, &c->conflicted, u->name) == 0 ? TP_STORE_OK : -1;
        }
    }
    tp_user_clear(&t);
    if (rc == -1)
        return nomem(c);
    return rc == TP_STORE_OK ? 0 : stop(c, c->to->st, rc, u->name);
}

/* ---- whose records may go ---------------------------------------------------------- */

/* 1 if the records of user may go to st (a store that keeps no users
 * takes any; one that does, a user it has or this copy gives it, not one
 * in conflict), 0 if not (noted once per user and kind), -1 on an error
 * (c->rc set). */
static int user_ok(struct copy *c, struct tp_store *st, const char *kind, const char *user)
{
    const char *why = "no such user at the target";
    struct tp_user t;
    int rc, ok;

    if (names_has(&c->conflicted, user)) {
        ok = 0;
        why = "the user differs at the target";
    } else if (!tp_store_keeps(st, TP_STORE_KEEPS_USERS)
               || (st == c->to->st && names_has(&c->at_target, user))) {
        return 1;
    } else if (c->checked != NULL && c->checked_st == st && strcmp(c->checked, user) == 0) {
        ok = c->checked_ok;
    } else {
        tp_user_init(&t);
        rc = tp_store_user_get(st, user, &t);
        tp_user_clear(&t);
        if (rc != TP_STORE_OK && rc != TP_STORE_NOTFOUND) {
            stop(c, st, rc, user);
            return -1;
        }
        free(c->checked);
        if ((c->checked = strdup(user)) == NULL) {
            nomem(c);
            return -1;
        }
        c->checked_st = st;
        c->checked_ok = ok = rc == TP_STORE_OK;
    }
    if (ok)
        return 1;
    if (c->noted_kind != kind || c->noted == NULL || strcmp(c->noted, user) != 0) {
        note(c, kind, user, "not copied: %s", why);
        free(c->noted);
        c->noted_kind = kind;
        if ((c->noted = strdup(user)) == NULL) {
            nomem(c);
            return -1;
        }
    }
    return 0;
}

/* ---- sessions ------------------------------------------------------------------------ */

static int same_session(const struct tp_session *a, const struct tp_session *b)
{
    return strcmp(a->user, b->user) == 0 && a->created == b->created
           && ((a->rhost == NULL && b->rhost == NULL)
               || (a->rhost != NULL && b->rhost != NULL && strcmp(a->rhost, b->rhost) == 0));
}

static int session_one(void *data, const struct tp_session *s)
{
    struct copy *c = data;
    struct trex_pam_db_copy_count *k = &c->out->sessions;
    struct tp_session x = *s, t;
    char handle[TREX_PAM_DB_HANDLE_LEN + 1] = "?";
    int rc, ok;

    if ((c->idle > 0 && c->now - s->last_used > c->idle)
        || (c->lifetime > 0 && c->now - s->created > c->lifetime)) {
        k->expired++;
        return 0;
    }
    if ((ok = user_ok(c, c->ts, "session", s->user)) <= 0) {
        k->skipped += ok == 0;
        return ok < 0;
    }
    x.idle = c->idle;
    x.expires = c->lifetime > 0 ? s->created + c->lifetime : 0;
    rc = tp_store_session_get(c->ts, s->digest, &t);
    if (rc == TP_STORE_NOTFOUND) {
        rc = c->apply ? tp_store_session_add(c->ts, &x) : TP_STORE_OK;
        if (rc == TP_STORE_OK) {
            k->added++;
        } else if (rc == TP_STORE_NOTFOUND) {          /* the user went meanwhile */
            k->skipped++;
            note(c, "session", s->user, "not copied: no such user at the target");
            rc = TP_STORE_OK;
        } else if (rc == TP_STORE_EXISTS) {
            k->conflicts++;
            tp_admin_handle(s->digest, handle);
            note(c, "session", s->user, "session %s: added at the target meanwhile", handle);
            rc = TP_STORE_OK;
        }
    } else if (rc == TP_STORE_OK && same_session(s, &t)) {
        if (t.last_used < s->last_used) {
            k->updated++;
            if (c->apply && (rc = tp_store_session_touch(c->ts, s->digest, s->last_used, 0))
                            == TP_STORE_NOTFOUND)
                rc = TP_STORE_OK;               /* it ended meanwhile */
        } else {
            k->unchanged++;
        }
    } else if (rc == TP_STORE_OK) {
        tp_admin_handle(s->digest, handle);
        if (c->flags & TREX_PAM_DB_COPY_REPLACE) {
            k->replaced++;
            if (c->apply && (rc = tp_store_session_delete(c->ts, s->digest)) == TP_STORE_OK)
                rc = tp_store_session_add(c->ts, &x);
        } else {
            k->conflicts++;
            note(c, "session", s->user, "session %s differs at the target", handle);
        }
    }
    tp_session_clear(&t);
    tp_secret_wipe(&x, sizeof x);
    return rc == TP_STORE_OK ? 0 : stop(c, c->ts, rc, s->user);
}

/* ---- failure tallies --------------------------------------------------------------- */

struct times {
    int64_t *v;
    size_t n;
    int oom;
};

static int times_of(void *data, const char *user, const int64_t *times, size_t n)
{
    struct times *t = data;

    (void)user;
    if ((t->v = malloc(n * sizeof *t->v)) == NULL) {
        t->oom = 1;
        return 1;
    }
    memcpy(t->v, times, n * sizeof *t->v);
    t->n = n;
    return 1;
}

static int tally_add(struct copy *c, const char *user, const int64_t *times, size_t n)
{
    int rc = TP_STORE_OK;

    for (size_t i = 0; rc == TP_STORE_OK && i < n; i++)
        rc = tp_store_fail_add(c->to->st, user, times[i], 0, NULL);
    return rc;
}

static int tally_one(void *data, const char *user, const int64_t *times, size_t n)
{
    struct copy *c = data;
    struct trex_pam_db_copy_count *k = &c->out->tallies;
    struct times t = { NULL, 0, 0 };
    int rc, ok;

    if ((ok = user_ok(c, c->to->st, "tally", user)) <= 0) {
        k->skipped += ok == 0;
        return ok < 0;
    }
    rc = tp_store_fail_list(c->to->st, user, times_of, &t);
    if (rc == TP_STORE_OK && t.oom)
        return nomem(c);
    if (rc == TP_STORE_OK && t.n == 0) {
        k->added++;
        if (c->apply)
            rc = tally_add(c, user, times, n);
    } else if (rc == TP_STORE_OK && t.n == n && memcmp(t.v, times, n * sizeof *times) == 0) {
        k->unchanged++;
    } else if (rc == TP_STORE_OK && (c->flags & TREX_PAM_DB_COPY_REPLACE)) {
        k->replaced++;
        if (c->apply && (rc = tp_store_fail_reset(c->to->st, user)) == TP_STORE_OK)
            rc = tally_add(c, user, times, n);
    } else if (rc == TP_STORE_OK) {
        k->conflicts++;
        note(c, "tally", user, "failures differ at the target (%zu here, %zu there)", n, t.n);
    }
    free(t.v);
    return rc == TP_STORE_OK ? 0 : stop(c, c->to->st, rc, user);
}

/* ---- the copy ---------------------------------------------------------------------------- */

/* One walk over what flags name: the plan (apply 0) or the writes. */
static int walk(struct copy *c, int apply, int with_notes)
{
    int rc = TP_STORE_OK;
    struct tp_store *st = NULL;

    memset(c->out, 0, sizeof *c->out);
    names_clear(&c->at_target);
    names_clear(&c->conflicted);
    free(c->checked);
    free(c->noted);
    c->checked = c->noted = NULL;
    c->noted_kind = NULL;
    c->checked_st = NULL;
    c->unsorted = 0;
    c->apply = apply;
    c->rc = TREX_PAM_SUCCESS;
    c->now = tp_admin_now();
    if (!with_notes)
        c->note = NULL;
    if (c->flags & TREX_PAM_DB_COPY_USERS) {
        rc = tp_store_user_list(st = c->from->st, user_one, c);
        if (c->unsorted) {
            qsort(c->at_target.v, c->at_target.n, sizeof (char *), cmp_name);
            qsort(c->conflicted.v, c->conflicted.n, sizeof (char *), cmp_name);
        }
    }
    if (rc == TP_STORE_OK && c->rc == TREX_PAM_SUCCESS && (c->flags & TREX_PAM_DB_COPY_SESSIONS))
        rc = tp_store_session_list(st = c->fs, NULL, session_one, c);
    if (rc == TP_STORE_OK && c->rc == TREX_PAM_SUCCESS && (c->flags & TREX_PAM_DB_COPY_TALLIES))
        rc = tp_store_fail_list(st = c->from->st, NULL, tally_one, c);
    if (rc != TP_STORE_OK)
        stop(c, st, rc, NULL);
    return c->rc;
}

/* BAD_ITEM unless both sides keep the kind (what: "users") in question. */
static int both_keep(trex_pam_db_t *from, struct tp_store *a, struct tp_store *b, unsigned int bit,
                     const char *what)
{
    if (!tp_store_keeps(a, bit))
        tp_admin_err(from, "%s keeps no %s: none to copy from there", tp_store_where(a), what);
    else if (!tp_store_keeps(b, bit))
        tp_admin_err(from, "%s keeps no %s: it cannot take them", tp_store_where(b), what);
    else if (strcmp(tp_store_where(a), tp_store_where(b)) == 0)
        tp_admin_err(from, "%s is on both sides of the copy", tp_store_where(a));
    else
        return TREX_PAM_SUCCESS;
    return TREX_PAM_BAD_ITEM;
}

int trex_pam_db_copy(trex_pam_db_t *from, trex_pam_db_t *to, int flags, int64_t idle,
                     int64_t lifetime, struct trex_pam_db_copy_result *out,
                     void (*note_fn)(void *data, const char *kind, const char *name,
                                     const char *text),
                     void *data)
{
    const int kinds = TREX_PAM_DB_COPY_USERS | TREX_PAM_DB_COPY_SESSIONS | TREX_PAM_DB_COPY_TALLIES;
    struct copy c;
    int rc, conflicts;

    if (out != NULL)
        memset(out, 0, sizeof *out);
    if ((rc = tp_admin_begin(from, TP_ADMIN_READ, out != NULL && to != NULL, NULL))
        != TREX_PAM_SUCCESS)
        return rc;
    to->err[0] = '\0';
    if ((flags & ~(kinds | TREX_PAM_DB_COPY_REPLACE | TREX_PAM_DB_COPY_DRY_RUN)) != 0) {
        tp_admin_err(from, "invalid copy flags 0x%x", (unsigned int)flags);
        return TREX_PAM_BAD_ITEM;
    }
    if ((flags & kinds) == 0) {
        tp_admin_err(from, "nothing to copy: name users, sessions or failure tallies");
        return TREX_PAM_BAD_ITEM;
    }
    if (idle < 0 || idle > TP_ADMIN_MAX_SECONDS || lifetime < 0 || lifetime > TP_ADMIN_MAX_SECONDS) {
        tp_admin_err(from, "idle and lifetime must be from 0 to %lld seconds",
                     (long long)TP_ADMIN_MAX_SECONDS);
        return TREX_PAM_BAD_ITEM;
    }
    if (!(flags & TREX_PAM_DB_COPY_DRY_RUN) && (to->flags & TREX_PAM_DB_RDONLY)) {
        tp_admin_err(from, "%s: opened read-only", tp_store_where(to->st));
        return TREX_PAM_PERM_DENIED;
    }
    if (((flags & TREX_PAM_DB_COPY_USERS)
         && (rc = both_keep(from, from->st, to->st, TP_STORE_KEEPS_USERS, "users")) != TREX_PAM_SUCCESS)
        || ((flags & TREX_PAM_DB_COPY_SESSIONS)
            && (rc = both_keep(from, tp_admin_sessions(from), tp_admin_sessions(to),
                               TP_STORE_KEEPS_SESSIONS, "sessions")) != TREX_PAM_SUCCESS)
        || ((flags & TREX_PAM_DB_COPY_TALLIES)
            && (rc = both_keep(from, from->st, to->st, TP_STORE_KEEPS_TALLIES, "failure tallies"))
               != TREX_PAM_SUCCESS))
        return rc;

    memset(&c, 0, sizeof c);
    c.from = from;
    c.to = to;
    c.fs = tp_admin_sessions(from);
    c.ts = tp_admin_sessions(to);
    c.flags = flags;
    c.idle = idle;
    c.lifetime = lifetime;
    c.out = out;
    c.note = note_fn;
    c.data = data;
    if ((rc = walk(&c, 0, 0)) == TREX_PAM_SUCCESS) {
        conflicts = out->users.conflicts + out->sessions.conflicts + out->tallies.conflicts;
        c.note = note_fn;
        if ((flags & TREX_PAM_DB_COPY_DRY_RUN)
            || (conflicts > 0 && !(flags & TREX_PAM_DB_COPY_REPLACE))) {
            rc = walk(&c, 0, 1);
        } else {
            rc = walk(&c, 1, 1);
            out->written = 1;               /* even if it stopped: some may be */
        }
    }
    names_clear(&c.at_target);
    names_clear(&c.conflicted);
    free(c.checked);
    free(c.noted);
    return rc;
}
