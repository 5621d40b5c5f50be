/*
 * pg_sql.c - the statements of the PostgreSQL store, by name and text
 * (pg.h: prepared on a connection at their first use by pg_exec.c).
 */
#include "pg.h"

#define USER_COLS "u.hash, u.disabled, u.force_change, u.expires, u.pw_changed, " \
                  "u.pw_min_days, u.pw_max_days, u.pw_warn_days, u.created, a.name, a.value"

/* Names prepared on a connection, and their text. */
static const struct {
    const char *name, *sql;
} stmts[P_COUNT] = {
    [P_USER_GET] = { "tp_user_get",
        "SELECT " USER_COLS " FROM trex_pam.users AS u"
        " LEFT JOIN trex_pam.user_attrs AS a ON a.\"user\" = u.name"
        " WHERE u.name = $1 ORDER BY a.name" },
    [P_USER_EXISTS] = { "tp_user_exists", "SELECT 1 FROM trex_pam.users WHERE name = $1" },
    [P_USER_ADD] = { "tp_user_add",
        "INSERT INTO trex_pam.users (name, hash, disabled, force_change, expires, pw_changed,"
        " pw_min_days, pw_max_days, pw_warn_days, created)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)" },
    [P_USER_UPDATE] = { "tp_user_update",
        "UPDATE trex_pam.users SET"
        " hash = CASE WHEN $2::integer & 1 <> 0 THEN $3::text ELSE hash END,"
        " disabled = CASE WHEN $2 & 2 <> 0 THEN $4::integer ELSE disabled END,"
        " force_change = CASE WHEN $2 & 4 <> 0 THEN $5::integer ELSE force_change END,"
        " expires = CASE WHEN $2 & 8 <> 0 THEN $6::bigint ELSE expires END,"
        " pw_changed = CASE WHEN $2 & 17 <> 0 THEN $7::bigint ELSE pw_changed END,"
        " pw_min_days = CASE WHEN $2 & 32 <> 0 THEN $8::integer ELSE pw_min_days END,"
        " pw_max_days = CASE WHEN $2 & 64 <> 0 THEN $9::integer ELSE pw_max_days END,"
        " pw_warn_days = CASE WHEN $2 & 128 <> 0 THEN $10::integer ELSE pw_warn_days END"
        " WHERE name = $1" },
    /* compare-and-swap: the row is rechecked if a concurrent change
     * commits first; n = 0 and e: the hash was something else */
    [P_USER_SET_HASH] = { "tp_user_set_hash",
        "WITH c AS (UPDATE trex_pam.users SET hash = $3, pw_changed = $4, force_change = 0"
        " WHERE name = $1 AND ($2::text IS NULL OR hash = $2::text) RETURNING 1)"
        " SELECT (SELECT count(*) FROM c),"
        " EXISTS (SELECT 1 FROM trex_pam.users WHERE name = $1)" },
    /* attributes and sessions by ON DELETE CASCADE; failures are any
     * name's, with no foreign key */
    [P_USER_DELETE] = { "tp_user_delete",
        "WITH f AS (DELETE FROM trex_pam.failures WHERE \"user\" = $1)"
        " DELETE FROM trex_pam.users WHERE name = $1" },
    [P_USER_LIST] = { "tp_user_list",
        "SELECT u.name, " USER_COLS " FROM trex_pam.users AS u"
        " LEFT JOIN trex_pam.user_attrs AS a ON a.\"user\" = u.name ORDER BY u.name, a.name" },
    [P_ATTR_PUT] = { "tp_attr_put",
        "INSERT INTO trex_pam.user_attrs (\"user\", name, value) VALUES ($1, $2, $3)"
        " ON CONFLICT (\"user\", name) DO UPDATE SET value = EXCLUDED.value" },
    [P_ATTR_DELETE] = { "tp_attr_delete",
        "DELETE FROM trex_pam.user_attrs WHERE \"user\" = $1 AND name = $2" },
    [P_SES_ADD] = { "tp_session_add",
        "INSERT INTO trex_pam.sessions (digest, \"user\", created, last_used, rhost)"
        " VALUES ($1, $2, $3, $4, $5)" },
    [P_SES_GET] = { "tp_session_get",
        "SELECT \"user\", created, last_used, rhost FROM trex_pam.sessions WHERE digest = $1" },
    [P_SES_LAST] = { "tp_session_last",
        "SELECT last_used FROM trex_pam.sessions WHERE digest = $1" },
    [P_SES_TOUCH] = { "tp_session_touch",
        "WITH t AS (UPDATE trex_pam.sessions SET last_used = $2"
        " WHERE digest = $1 AND last_used < $3 RETURNING 1)"
        " SELECT (SELECT count(*) FROM t),"
        " EXISTS (SELECT 1 FROM trex_pam.sessions WHERE digest = $1)" },
    [P_SES_DELETE] = { "tp_session_delete", "DELETE FROM trex_pam.sessions WHERE digest = $1" },
    [P_SES_DELETE_USER] = { "tp_session_delete_user",
        "DELETE FROM trex_pam.sessions WHERE \"user\" = $1"
        " AND ($2::bytea IS NULL OR digest <> $2::bytea)" },
    [P_SES_PURGE] = { "tp_session_purge",
        "DELETE FROM trex_pam.sessions WHERE last_used < $1 OR created < $2" },
    [P_SES_LIST_ALL] = { "tp_session_list_all",
        "SELECT digest, \"user\", created, last_used, rhost FROM trex_pam.sessions"
        " ORDER BY \"user\", created, digest" },
    [P_SES_LIST_USER] = { "tp_session_list_user",
        "SELECT digest, \"user\", created, last_used, rhost FROM trex_pam.sessions"
        " WHERE \"user\" = $1 ORDER BY created, digest" },
    /* the name's advisory lock (FAIL_LOCK_SPACE, hashtext) held to the end
     * of the transaction: concurrent adds for one name take turns, and the
     * next statement (read committed) counts theirs; any name, known or not */
    [P_FAIL_LOCK_ADD] = { "tp_fail_lock_add",
        "INSERT INTO trex_pam.failures (\"user\", time)"
        " SELECT $1, $2 FROM (SELECT pg_advisory_xact_lock(" FAIL_LOCK_SPACE ", hashtext($1)))"
        " AS l" },
    /* the count is of the rows before the trim (one snapshot): capped by the caller */
    [P_FAIL_TRIM_COUNT] = { "tp_fail_trim_count",
        "WITH d AS (DELETE FROM trex_pam.failures WHERE id IN (SELECT id FROM trex_pam.failures"
        " WHERE \"user\" = $1 ORDER BY time DESC, id DESC OFFSET $3) RETURNING 1)"
        " SELECT (SELECT count(*) FROM trex_pam.failures WHERE \"user\" = $1 AND time >= $2),"
        " (SELECT count(*) FROM d)" },
    [P_FAIL_COUNT] = { "tp_fail_count",
        "SELECT count(*), coalesce(max(time), 0) FROM trex_pam.failures"
        " WHERE \"user\" = $1 AND time >= $2" },
    [P_FAIL_RESET] = { "tp_fail_reset", "DELETE FROM trex_pam.failures WHERE \"user\" = $1" },
    [P_FAIL_PURGE] = { "tp_fail_purge", "DELETE FROM trex_pam.failures WHERE time < $1" },
    [P_FAIL_LIST_ALL] = { "tp_fail_list_all", "SELECT \"user\", time FROM trex_pam.failures" },
    [P_FAIL_LIST_USER] = { "tp_fail_list_user",
        "SELECT \"user\", time FROM trex_pam.failures WHERE \"user\" = $1" },
};

const char *tp_pg_sql(enum pg_stmt id)
{
    return stmts[id].sql;
}

const char *tp_pg_stmt_name(enum pg_stmt id)
{
    return stmts[id].name;
}
