/*
 * t_conv.c - what modules see: pam_get_user, pam_get_authtok, prompts,
 * module data and the fail delay, as Linux-PAM's helpers and conversation
 * rules have them, driven through a test module reached by the resolver
 * and the harness's scripted conversation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "harness.h"

#define TP_TEST_PAUSES 9

/* ---- the test module: each hook runs the current body -------------------------- */
typedef int (*body_fn)(trex_pam_handle_t *h, int flags, int argc, const char **argv);
static body_fn body;

static int b_reuse(trex_pam_handle_t *h, int f, int argc, const char **argv);
static int hook(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    if (argc > 0 && strcmp(argv[argc - 1], "reuse") == 0)
        return b_reuse(h, flags, argc, argv);
    return body ? body(h, flags, argc, argv) : TREX_PAM_SUCCESS;
}

static int released;
static void release(void *inst) { released++; }

static const struct trex_pam_module testmod = {
    TREX_PAM_MODULE_ABI, "test", hook, hook, hook, hook, hook, hook, release, NULL, NULL
};

static const struct th_module modules[] = { { "test:mod", &testmod }, { NULL, NULL } };

/* ---- get_user ---------------------------------------------------------------------- */
static const char *got_user;
static int b_get_user(trex_pam_handle_t *h, int f, int argc, const char **argv)
{
    int rc = trex_pam_get_user(h, &got_user, NULL);
    return rc == TREX_PAM_CONV_AGAIN ? TREX_PAM_INCOMPLETE : rc;   /* as event-driven modules do */
}
static int b_get_user_prompt(trex_pam_handle_t *h, int f, int argc, const char **argv)
{
    return trex_pam_get_user(h, &got_user, "Name please: ");
}

static void test_get_user(void)
{
    trex_pam_handle_t *h;
    const void *v;

    body = b_get_user;
    h = th_start("svc", "alice");
    th_answers(0);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "get_user: PAM_USER set, no prompt");
    tap_is_int(th_conv_calls(), 0, "... the conversation was not called");
    tap_is_str(got_user, "alice", "... returns the item");
    trex_pam_end(h, 0);

    h = th_start("svc", "");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "get_user: empty user is a user");
    tap_is_int(th_conv_calls(), 0, "... no prompt");
    trex_pam_end(h, 0);

    h = th_start("svc", NULL);
    th_answers(1, "bob");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "get_user prompts");
    tap_is_str(th_seen(), "ECHO:login:", "default prompt 'login:' with ECHO_ON");
    tap_is_str((trex_pam_get_item(h, TREX_PAM_USER, &v), (const char *)v), "bob", "answer becomes PAM_USER");
    trex_pam_end(h, 0);

    h = th_start("svc", NULL);
    trex_pam_set_item(h, TREX_PAM_USER_PROMPT, "Who: ");
    th_answers(1, "dave");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "PAM_USER_PROMPT");
    tap_is_str(th_seen(), "ECHO:Who: ", "... used as the prompt");
    trex_pam_end(h, 0);

    body = b_get_user_prompt;
    h = th_start("svc", NULL);
    trex_pam_set_item(h, TREX_PAM_USER_PROMPT, "Who: ");
    th_answers(1, "erin");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "explicit prompt");
    tap_is_str(th_seen(), "ECHO:Name please: ", "... wins over PAM_USER_PROMPT");
    trex_pam_end(h, 0);

    body = b_get_user;
    h = th_start("svc", NULL);
    th_answers(1, th_fail(TREX_PAM_CONV_ERR));
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_CONV_ERR, "conversation failure: CONV_ERR");
    th_answers(1, "bob");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_CONV_ERR, "failure is sticky across calls");
    tap_is_int(th_conv_calls(), 0, "... without prompting again");
    trex_pam_set_item(h, TREX_PAM_USER_PROMPT, "login:");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "setting PAM_USER_PROMPT clears it");
    trex_pam_end(h, 0);

    h = th_start("svc", NULL);
    th_answers(1, th_fail(TREX_PAM_BUF_ERR));
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_BUF_ERR, "BUF_ERR kept");
    trex_pam_set_item(h, TREX_PAM_USER, NULL);
    th_answers(1, NULL);
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_CONV_ERR, "setting PAM_USER clears it; NULL answer: CONV_ERR");
    trex_pam_set_item(h, TREX_PAM_CONV, &(struct trex_pam_conv){ th_conv, NULL });
    th_answers(1, th_fail(TREX_PAM_AUTH_ERR));
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_CONV_ERR, "setting PAM_CONV clears it; other codes: CONV_ERR");
    trex_pam_end(h, 0);

    h = th_start("svc", NULL);
    th_answers(2, th_fail(TREX_PAM_CONV_AGAIN), "carol");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_INCOMPLETE, "CONV_AGAIN: the module returns INCOMPLETE ...");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "... resumes with the same prompt");
    tap_is_str((trex_pam_get_item(h, TREX_PAM_USER, &v), (const char *)v), "carol", "... and gets the user");
    trex_pam_end(h, 0);
}

/* ---- get_authtok --------------------------------------------------------------------- */
static const char *got_tok;
static int tok_item = TREX_PAM_AUTHTOK;
static const char *tok_prompt;
static int b_get_authtok(trex_pam_handle_t *h, int f, int argc, const char **argv)
{
    if ((f & TREX_PAM_PRELIM_CHECK) && tok_item == TREX_PAM_AUTHTOK)
        return TREX_PAM_SUCCESS;          /* chauthtok: only the update pass asks */
    int rc = trex_pam_get_authtok(h, tok_item, &got_tok, tok_prompt);
    if (rc == TREX_PAM_SUCCESS && strcmp(got_tok, "secret") != 0)
        return TREX_PAM_AUTH_ERR;
    return rc;
}
/* a second line that must see the token the first one set */
static int b_reuse(trex_pam_handle_t *h, int f, int argc, const char **argv)
{
    const void *v;
    if (trex_pam_get_item(h, TREX_PAM_AUTHTOK, &v) != TREX_PAM_SUCCESS || v == NULL)
        return TREX_PAM_AUTH_ERR;
    return b_get_authtok(h, f, argc, argv);
}

/* The answers of one case: "secret" once or twice, "secret" then
 * "secreT", or a failing conversation. */
enum { PW, PW2, MISMATCH, FAILS };

static int authtok_case(const char *service, int chauthtok, int answers, const char *want_seen, int want_rc,
                        const char *name)
{
    trex_pam_handle_t *h = th_start(service, "alice");
    int rc;
    switch (answers) {
    case PW: th_answers(1, "secret"); break;
    case PW2: th_answers(2, "secret", "secret"); break;
    case MISMATCH: th_answers(2, "secret", "secreT"); break;
    default: th_answers(1, th_fail(TREX_PAM_CONV_ERR)); break;
    }
    rc = chauthtok ? trex_pam_chauthtok(h, 0) : trex_pam_authenticate(h, 0);
    tap_is_int(rc, want_rc, "%s: status", name);
    tap_is_str(th_seen(), want_seen, "%s: prompts", name);
    trex_pam_end(h, 0);
    return rc;
}

static void test_get_authtok(void)
{
    body = b_get_authtok;
    tok_item = TREX_PAM_AUTHTOK;
    tok_prompt = NULL;
    authtok_case("one", 0, PW, "PROMPT:Password: ", TREX_PAM_SUCCESS, "auth prompt");
    authtok_case("one", 0, FAILS, "PROMPT:Password: ", TREX_PAM_AUTHTOK_ERR, "conv failure: AUTHTOK_ERR");
    authtok_case("reuse", 0, PW, "PROMPT:Password: ", TREX_PAM_SUCCESS, "second module reuses the token");
    authtok_case("firstpass", 0, PW, "", TREX_PAM_AUTH_ERR, "use_first_pass without a token: AUTH_ERR");
    authtok_case("one", 1, PW2, "PROMPT:New password: |PROMPT:Retype new password: ", TREX_PAM_SUCCESS,
                 "chauthtok: new password asked twice");
    authtok_case("one", 1, MISMATCH,
                 "PROMPT:New password: |PROMPT:Retype new password: |ERR:Sorry, passwords do not match.",
                 TREX_PAM_TRY_AGAIN, "mismatch: TRY_AGAIN and a message");
    authtok_case("one", 1, FAILS, "PROMPT:New password: |ERR:Password change has been aborted.",
                 TREX_PAM_AUTHTOK_ERR, "chauthtok conv failure");
    authtok_case("typed", 1, PW2, "PROMPT:New UNIX password: |PROMPT:Retype new UNIX password: ",
                 TREX_PAM_SUCCESS, "authtok_type= in prompts");
    authtok_case("useauthtok", 1, PW2, "", TREX_PAM_AUTHTOK_ERR, "use_authtok without a token: AUTHTOK_ERR");
    tok_item = TREX_PAM_OLDAUTHTOK;
    authtok_case("one", 1, PW, "PROMPT:Current password: ", TREX_PAM_SUCCESS,
                 "old password in chauthtok: asked once, kept between the two passes");
    authtok_case("one", 0, PW, "PROMPT:Current password: ", TREX_PAM_SUCCESS, "old password outside chauthtok");
    tok_item = TREX_PAM_AUTHTOK;
    tok_prompt = "PIN: ";
    authtok_case("one", 1, PW2, "PROMPT:PIN: |PROMPT:Retype PIN: ", TREX_PAM_SUCCESS, "explicit prompt and its retype");
    tok_prompt = NULL;
}

/* ---- module data ----------------------------------------------------------------------- */
static char cleanup_log[512];
static void cleanup(trex_pam_handle_t *h, void *data, int status)
{
    snprintf(cleanup_log + strlen(cleanup_log), sizeof cleanup_log - strlen(cleanup_log), "(%s:%#x)",
             (const char *)data, (unsigned)status);
}
static int b_data(trex_pam_handle_t *h, int f, int argc, const char **argv)
{
    const void *d;
    int bad = 0;
    if (trex_pam_set_data(h, "a", "A1", cleanup) != TREX_PAM_SUCCESS) bad |= 1;
    if (trex_pam_set_data(h, "b", "B1", cleanup) != TREX_PAM_SUCCESS) bad |= 2;
    if (trex_pam_set_data(h, "a", "A2", cleanup) != TREX_PAM_SUCCESS) bad |= 4;   /* replace */
    if (trex_pam_get_data(h, "a", &d) != TREX_PAM_SUCCESS || strcmp(d, "A2")) bad |= 8;
    if (trex_pam_get_data(h, "zz", &d) != TREX_PAM_NO_MODULE_DATA) bad |= 16;
    if (trex_pam_set_data(h, "n", NULL, NULL) != TREX_PAM_SUCCESS) bad |= 32;
    if (trex_pam_get_data(h, "n", &d) != TREX_PAM_SUCCESS || d != NULL) bad |= 64;
    if (trex_pam_set_data(h, NULL, "x", NULL) != TREX_PAM_SYSTEM_ERR) bad |= 128;
    if (trex_pam_end(h, 0) != TREX_PAM_SYSTEM_ERR) bad |= 256;                   /* from a module */
    return bad ? TREX_PAM_SERVICE_ERR : TREX_PAM_SUCCESS;
}

static void test_data(void)
{
    trex_pam_handle_t *h = th_start("svc", "alice");
    const void *d;
    body = b_data;
    cleanup_log[0] = '\0';
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "module data rules inside a module");
    tap_is_str(cleanup_log, "(A1:0x20000000)", "replacing calls the old cleanup with PAM_DATA_REPLACE");
    tap_is_int(trex_pam_set_data(h, "x", "x", NULL), TREX_PAM_SYSTEM_ERR, "set_data from the application");
    tap_is_int(trex_pam_get_data(h, "a", &d), TREX_PAM_SYSTEM_ERR, "get_data from the application");
    cleanup_log[0] = '\0';
    released = 0;
    tap_is_int(trex_pam_end(h, 987 | TREX_PAM_DATA_SILENT), TREX_PAM_SUCCESS, "end");
    tap_is_str(cleanup_log, "(B1:0x400003db)(A2:0x400003db)",
               "cleanups newest first (a keeps its place), status verbatim");
    tap_is_int(released, 1, "the module instance was released once");
}

/* ---- fail delay: the harness's th_delay records the calls --------------------------- */
static unsigned int want_delay;
static int want_rc;
static int b_delay(trex_pam_handle_t *h, int f, int argc, const char **argv)
{
    trex_pam_fail_delay(h, want_delay);
    trex_pam_fail_delay(h, want_delay / 2);   /* the largest request wins */
    return want_rc;
}

static void test_delay(void)
{
    trex_pam_handle_t *h = th_start("svc", "alice");
    body = b_delay;
    tap_is_int(trex_pam_set_item(h, TREX_PAM_FAIL_DELAY, (const void *)th_delay), TREX_PAM_SUCCESS, "set PAM_FAIL_DELAY");
    want_delay = 2000000;
    want_rc = TREX_PAM_AUTH_ERR;
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR, "failing authenticate");
    tap_is_int(th_delay_calls(), 1, "the delay function was called");
    tap_is_int(th_delay_status(), TREX_PAM_AUTH_ERR, "... with the status");
    tap_ok(th_delay_usec() >= 1000000 && th_delay_usec() < 3000000, "... and a delay in [0.5, 1.5) x 2 s (%u)",
           th_delay_usec());
    want_rc = TREX_PAM_SUCCESS;
    want_delay = 0;
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "succeeding authenticate");
    tap_is_int(th_delay_calls(), 2, "the function is called on success too");
    tap_ok(th_delay_usec() >= 1000000, "a request of 0 never lowers the stored base (stale %u)", th_delay_usec());
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "acct_mgmt");
    tap_is_int(th_delay_calls(), 2, "no delay outside authenticate/chauthtok");
    tap_is_int(trex_pam_fail_delay(NULL, 1), TREX_PAM_SYSTEM_ERR, "fail_delay NULL handle");
    trex_pam_end(h, 0);
}

/* ---- pauses (trex_pam_at_pause) -------------------------------------------------- */
static int paused, pauses_at_prompt, pause_rc[TP_TEST_PAUSES];
static void on_pause(trex_pam_handle_t *h, void *arg) { paused += arg == &paused ? 1 : 100; }
static void other_pause(trex_pam_handle_t *h, void *arg) { paused += 1000; }

static int b_pause(trex_pam_handle_t *h, int f, int argc, const char **argv)
{
    char *answer = NULL;
    int rc;

    trex_pam_at_pause(h, on_pause, &paused);
    trex_pam_at_pause(h, on_pause, &paused);          /* the same hook again: once */
    rc = trex_pam_prompt(h, TREX_PAM_PROMPT_ECHO_ON, &answer, "Code: ");
    pauses_at_prompt = paused;
    if (answer != NULL)
        free(answer);
    return rc;
}
static int b_pause_full(trex_pam_handle_t *h, int f, int argc, const char **argv)
{
    for (int i = 0; i < TP_TEST_PAUSES; i++)
        pause_rc[i] = trex_pam_at_pause(h, i == 0 ? on_pause : other_pause, i == 0 ? (void *)&paused : (void *)(pause_rc + i));
    return TREX_PAM_SUCCESS;
}
static void slow_prompt(const char *prompt)
{
    struct timespec ts = { 0, (TREX_PAM_PAUSE_CONV_MS + 20) * 1000000L };
    nanosleep(&ts, NULL);
}

static void test_pause(void)
{
    trex_pam_handle_t *h = th_start("svc", "alice");

    body = b_pause;
    paused = 0;
    th_answers(1, "123");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "at_pause: a module registers a hook and prompts");
    tap_is_int(pauses_at_prompt, 0, "... a quick conversation is no pause");
    tap_is_int(paused, 1, "... the hook ran once, with its argument, when the call returned");
    body = NULL;
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "the next call");
    body = b_pause;
    tap_is_int(paused, 1, "... does not run it again: a hook is forgotten once run");

    th_on_prompt(slow_prompt);
    th_answers(1, "123");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "a conversation that keeps the application");
    tap_is_int(pauses_at_prompt, 2, "... over TREX_PAM_PAUSE_CONV_MS is a pause: the hook ran after it");
    tap_is_int(paused, 2, "... and not again when the call returned");
    th_on_prompt(NULL);

    body = b_pause_full;
    paused = 0;
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "a module registers 9 hooks");
    tap_is_int(pause_rc[7], TREX_PAM_SUCCESS, "... 8 are kept");
    tap_is_int(pause_rc[8], TREX_PAM_BUF_ERR, "... the 9th is refused with BUF_ERR");
    tap_is_int(paused, 1 + 7 * 1000, "... the 8 ran when the call returned");

    paused = 0;
    tap_is_int(trex_pam_at_pause(h, on_pause, &paused), TREX_PAM_SUCCESS, "a hook registered between calls");
    tap_is_int(trex_pam_at_pause(h, NULL, NULL), TREX_PAM_SYSTEM_ERR, "... a NULL function is refused");
    tap_is_int(trex_pam_at_pause(NULL, on_pause, NULL), TREX_PAM_SYSTEM_ERR, "... so is a NULL handle");
    trex_pam_end(h, 0);
    tap_is_int(paused, 1, "... runs at trex_pam_end");
    body = NULL;
}

int main(void)
{
    static const struct th_text files[] = {
        { "svc", "auth required test:mod\naccount required test:mod\n"
                 "password required test:mod\nsession required test:mod\n" },
        { "one", "auth required test:mod\npassword required test:mod\n" },
        { "typed", "password required test:mod authtok_type=UNIX\n" },
        { "useauthtok", "password required test:mod use_authtok\n" },
        { "firstpass", "auth required test:mod use_first_pass\n" },
        { "reuse", "auth required test:mod\nauth required test:mod reuse\n" },
        { NULL, NULL }
    };

    th_modules(modules);
    th_files(files);
    test_get_user();
    test_get_authtok();
    test_data();
    test_delay();
    test_pause();
    return th_done();
}
