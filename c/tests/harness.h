/*
 * harness.h - what the C tests (c/tests/t_*.c) set up, written once: a
 * private temporary directory with pam.d files in it, handles started on
 * it with a scripted conversation, a captured log and a fail delay that
 * is recorded instead of slept, a resolver for the test's own modules,
 * temporary stores and the store under test (harness_store.c), and a
 * check that a call returns normally.
 *
 * A test calls what it needs and ends with `return th_done();` (tap_done
 * plus the clean-up). State is per process: a forked child works on its
 * own copy and must leave with _exit or exit, never th_done, so that the
 * directory stays for the parent.
 */
#ifndef TP_HARNESS_H
#define TP_HARNESS_H

#include <stddef.h>
#include "tap.h"
#include "trex_pam_module.h"
#include "store.h"
#include "hash.h"

#if defined(__GNUC__)
#define TH_NORETURN __attribute__((noreturn))
#else
#define TH_NORETURN
#endif

/* ---- the temporary directory ----------------------------------------------
 * Made at the first call (a test that cannot have one bails out), removed
 * by th_done. */
const char *th_dir(void);
/* th_dir()/name, in one of 16 buffers used in turn. */
const char *th_path(const char *name);
/* From now on th_file writes value wherever key stands ("@DB@"); "@DIR@"
 * is always th_dir(). At most 16 keys; a key defined again is replaced. */
void th_define(const char *key, const char *value);
/* Writes text to th_dir()/name (a pam.d file, or any file), keys replaced:
 * 0, or -1 after a diagnostic. */
int th_file(const char *name, const char *text);
/* Writes every file of a table ({ NULL, NULL } ends it) with th_file;
 * bails out if one cannot be written. */
struct th_text {
    const char *name, *text;
};
void th_files(const struct th_text *files);
/* Removes everything in th_dir(), which stays. */
void th_dir_clear(void);
/* Waits out the configuration cache's racy window: a file changed less
 * than 20 ms ago is read again at every start, so a test that wants the
 * cached stack lets its files age first. */
void th_settle(void);

/* ---- the conversation -------------------------------------------------------
 * th_conv answers every prompt (PAM_PROMPT_ECHO_OFF and _ON) with the next
 * scripted answer and records every message it is shown. */
int th_conv(int n, const struct trex_pam_message **msg, struct trex_pam_response **resp, void *data);
/* The next n prompts get these answers (const char *), in order; a prompt
 * past them makes the conversation fail (PAM_CONV_ERR). NULL answers with
 * no text (resp NULL); th_fail(rc) makes the conversation return rc
 * instead. Also forgets what was seen. */
void th_answers(int n, ...);
const char *th_fail(int rc);
/* Every prompt gets this answer until th_answers or th_answer_always is
 * called again; NULL: every prompt fails (PAM_CONV_ERR). */
void th_answer_always(const char *answer);
/* Called with the prompt's text before each prompt is answered (NULL: none). */
void th_on_prompt(void (*fn)(const char *prompt));
/* What the conversation was shown since th_start, th_answers or
 * th_seen_reset: "KIND:text" per message, joined by '|', where KIND is
 * PROMPT (echo off), ECHO (a prompt whose answer is echoed), ERR, INFO,
 * or MSGn for another style n. */
const char *th_seen(void);
/* The same, only the TEXT_INFO messages' text, joined by ','. */
const char *th_infos(void);
/* How many messages were exactly entry ("ERR:Sorry, passwords do not match."). */
int th_seen_count(const char *entry);
/* How many times the conversation was called since th_start or th_answers. */
int th_conv_calls(void);
void th_seen_reset(void);

/* ---- the log ------------------------------------------------------------------
 * Every handle th_start makes logs here (TREX_PAM_LOG_CALLBACK), one line
 * after another, each ending in '\n'. */
#define TH_LOG_SIZE (1 << 20)
/* Forgets the lines so far for th_log, th_logged, th_log_count, th_log_lines. */
void th_log_reset(void);
const char *th_log(void);
int th_logged(const char *text);
int th_log_count(const char *text);
int th_log_lines(void);
/* Every line since the test began (a line that would overflow TH_LOG_SIZE
 * is dropped), and its length. */
const char *th_log_all(void);
size_t th_log_len(void);

/* ---- the fail delay -------------------------------------------------------------
 * th_start sets PAM_FAIL_DELAY to th_delay, which records the call instead
 * of sleeping; th_start forgets the record. */
void th_delay(int status, unsigned int usec, void *appdata);
int th_delay_calls(void);
unsigned int th_delay_usec(void);     /* of the last call, 0 if none */
int th_delay_status(void);            /* of the last call, -1 if none */

/* ---- handles ------------------------------------------------------------------- */
struct th_module {
    const char *name;                 /* as a pam.d line names it: "test:rec" */
    const struct trex_pam_module *mod;
};
/* The test's own modules ({ NULL, NULL } ends the table). The resolver
 * th_start hands the core finds a name there first, then "test:pw"
 * (th_pw_module), then "test:NAME" as the built-in module NAME. */
void th_modules(const struct th_module *table);
/* What th_start hands the core from now on: a configuration cache (NULL,
 * the default: none), a configuration directory (NULL, the default:
 * th_dir()), and whether there is a resolver at all (the default: 1). */
void th_cache(struct trex_pam_confcache *cache);
void th_confdir(const char *dir);
void th_resolver(int on);
/* A handle for user (may be NULL) on service through trex_pam_start_opts
 * with th_conv, the log, the resolver, the built-in registry and the fail
 * delay above; forgets what the conversation saw. NULL if the start
 * failed (th_start_rc() tells how; a diagnostic says so). */
trex_pam_handle_t *th_start(const char *service, const char *user);
int th_start_rc(void);
/* th_start, with every prompt answered by pass (th_answer_always). */
trex_pam_handle_t *th_start_pass(const char *service, const char *user, const char *pass);
/* On a fresh handle, with every prompt answered by pass
 * (th_answer_always): authenticate(flags); th_login goes on with
 * acct_mgmt if that succeeded. The handle ends with the result, which
 * they return; -1 if the start failed. */
int th_auth(const char *service, const char *user, const char *pass, int flags);
int th_login(const char *service, const char *user, const char *pass);

/* "test:pw", a stand-in for userdb: authenticate asks for the password
 * (pam_get_authtok) and succeeds for "secret" alone (AUTH_ERR otherwise);
 * its other hooks succeed. th_start resets what it recorded. */
extern const struct trex_pam_module th_pw_module;
int th_pw_calls(void);                /* authenticate calls */
const char *th_pw_seen(void);         /* the last password it was given, "" if none */

/* ---- stores --------------------------------------------------------------------- */
/* tp_store_open(path, flags); NULL after a diagnostic if it fails. */
struct tp_store *th_store(const char *path, int flags);
/* tp_store_fail_list of user (NULL: every user) as text, "bob:100,200;
 * carol:5", stopping after stop_after calls (0: never); "code N" when the
 * call fails. Static, until the next call. */
const char *th_fail_list(struct tp_store *st, const char *user, int stop_after);
/* Adds user name with a hash of password under policy (NULL: the default
 * policy), or the empty hash if password is NULL: 0, or -1 after a
 * diagnostic. */
int th_user(struct tp_store *st, const char *name, const char *password,
            const struct tp_hash_policy *policy);
/* The failure tally of user in the store at path (all of it); -1 if it
 * cannot be read. */
int th_fail_count(const char *path, const char *user);

/* ---- the store under test ------------------------------------------------------
 * The module tests (t_userdb, t_session, t_faillock) run on the store that
 * $TREX_PAM_TEST_STORE names (t/47-modules-backends.t gives each program a
 * fresh PostgreSQL database or a fresh key prefix on a Redis server), or,
 * without it, on a new SQLite file. A store that keeps no users (Redis)
 * keeps them in the store $TREX_PAM_TEST_USERS names, or in a new SQLite
 * file. */
#define TH_TEST_STORE_ENV "TREX_PAM_TEST_STORE"
#define TH_TEST_USERS_ENV "TREX_PAM_TEST_USERS"
/* Sets up the store under test, else a new SQLite file th_path(name): it
 * must be empty (else the run bails out, as when a store cannot be made).
 * The users (a NULL-ended list; no passwords: the empty hash) go to it, or
 * to the users' store above when it keeps none; that store's location then
 * becomes $TREX_PAM_STORE, the one of module lines that name none (where
 * userdb finds them). Defines for th_file "@DB@" as
 * the module argument naming the store under test and "@USERS@" as the one
 * naming the users' store (the same when it keeps users): "db=PATH" for a
 * file, else "store=LOCATION". Returns the store's location (valid until
 * the process ends). */
const char *th_user_store(const char *name, const char *const *users);
/* After th_user_store: the users' store's location. */
const char *th_users_location(void);
/* The store under test's kind, for messages: "sqlite", or its location's
 * scheme ("postgresql", "redis", ...). */
const char *th_store_kind(void);
/* For checks of the embedded store's own files (modes, a corrupt file, a
 * file renamed away): 1 on SQLite; else n skip lines naming what and the
 * kind, and 0. */
int th_sqlite_only(int n, const char *what);

/* ---- plain SQLite ------------------------------------------------------------------ */
/* The store's application_id, and a store of schema version 1 made by
 * hand (the tables as migration 0 -> 1 made them, mode 0600), then the SQL
 * rows: 0 or -1. */
#define TH_STORE_APP_ID 0x54525850
int th_store_v1(const char *path, const char *rows);
/* Plain SQLite on the file at path: run sql (0, or an SQLite code after a
 * diagnostic); the first column of its first row as an integer (-1 if
 * none) or as text (malloc'd; NULL if none). */
int th_sql(const char *path, const char *sql);
long long th_sql_int(const char *path, const char *sql);
char *th_sql_text(const char *path, const char *sql);

/* ---- checks --------------------------------------------------------------------- */
/* A check that fn(arg) returns normally: it runs in a forked child, which
 * passes if it exits with 0 and no signal (a crash, an abort or a
 * sanitizer's report fails it). Returns whether it passed. */
int th_returns(void (*fn)(void *), void *arg, const char *fmt, ...) TAP_PRINTF(3, 4);
/* Runs fn(0) .. fn(n - 1) in n forked processes released at the same
 * moment, each exiting with what fn returns (0 to 255): the sum of their
 * exit statuses, where a process that could not be made or did not exit
 * normally counts 1000. */
int th_parallel(int n, int (*fn)(int k));
/* "Bail out! ..." (the run stops), the directory removed, exit status 1. */
void th_bail(const char *fmt, ...) TAP_PRINTF(1, 2) TH_NORETURN;
/* "1..0 # SKIP ..." (nothing of the program runs here; no check may have
 * run before), the directory removed: main's return value (0). */
int th_skip_all(const char *fmt, ...) TAP_PRINTF(1, 2);
/* tap_done, after removing the directory: main's return value. */
int th_done(void);

#endif /* TP_HARNESS_H */
