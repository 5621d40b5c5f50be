/*
 * t_dispatch.c - stack evaluation as Linux-PAM's _pam_dispatch does it:
 * every row of a truth table of 2-3 line auth stacks (measured on Linux-PAM
 * 1.5.2) with the built-in debug module (pam_debug), replayed
 * setcred/close_session, chauthtok's two passes, INCOMPLETE and resume,
 * re-entrancy, out-of-range codes, missing modules and hooks, and reloading
 * the stack when PAM_SERVICE changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "impl.h"

/* ---- test module "test:rec" --------------------------------------------------------
 * Arguments: id=X (sends the TEXT_INFO "X" when called), <event>=N or TOKEN
 * (pam_debug's events; a number may be out of range), incomplete=K (return
 * INCOMPLETE while incomplete_left > 0; incomplete_update: the same, in
 * chauthtok's update pass only), reenter (calls the service functions and
 * records what they return), settok=V (sets PAM_AUTHTOK), showtok (sends
 * "tok=V" or "tok=NULL"), flags (sends "flags=0xNNNN"), ctx (sends "ctx=ok"
 * if the handle shows this entry and flags as the running ones). */
static char trace[1024];
static int incomplete_left;
static int release_count;

static const char *arg(int argc, const char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    return NULL;
}

static int has(int argc, const char **argv, const char *word)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], word) == 0)
            return 1;
    return 0;
}

static int rec_common(trex_pam_handle_t *h, const char *event, int flags, int argc,
                      const char **argv)
{
    const char *id = arg(argc, argv, "id"), *v;
    char buf[64];

    if (id != NULL)
        trex_pam_info(h, id);
    if (has(argc, argv, "ctx"))
        trex_pam_info(h, h->in_module && h->cur_entry && (const char **)h->cur_entry->argv == argv &&
                         h->cur_flags == flags ? "ctx=ok" : "ctx=bad");
    if (has(argc, argv, "flags")) {
        snprintf(buf, sizeof buf, "flags=0x%04x", (unsigned)flags);
        trex_pam_info(h, buf);
    }
    if (has(argc, argv, "showtok")) {
        const void *t = NULL;
        trex_pam_get_item(h, TREX_PAM_AUTHTOK, &t);
        snprintf(buf, sizeof buf, "tok=%s", t ? (const char *)t : "NULL");
        trex_pam_info(h, buf);
    }
    if ((v = arg(argc, argv, "settok")) != NULL)
        trex_pam_set_item(h, TREX_PAM_AUTHTOK, v);
    if (has(argc, argv, "reenter")) {
        snprintf(trace + strlen(trace), sizeof trace - strlen(trace), "%d,%d,%d,%d,%d,%d,%d",
                 trex_pam_authenticate(h, 0), trex_pam_setcred(h, 0), trex_pam_acct_mgmt(h, 0),
                 trex_pam_open_session(h, 0), trex_pam_close_session(h, 0),
                 trex_pam_chauthtok(h, 0), trex_pam_end(h, 0));
    }
    if ((arg(argc, argv, "incomplete") != NULL ||
         (has(argc, argv, "incomplete_update") && (flags & TREX_PAM_UPDATE_AUTHTOK))) &&
        incomplete_left > 0) {
        incomplete_left--;
        return TREX_PAM_INCOMPLETE;
    }
    if ((v = arg(argc, argv, event)) != NULL) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*v != '\0' && *end == '\0')
            return (int)n;
        for (int c = 0; c < TREX_PAM_RETURN_VALUES; c++)
            if (strcmp(v, trex_pam_status_token(c)) == 0)
                return c;
    }
    return TREX_PAM_SUCCESS;
}

static int rec_auth(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return rec_common(h, "auth", f, argc, argv);
}
static int rec_cred(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return rec_common(h, "cred", f, argc, argv);
}
static int rec_acct(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return rec_common(h, "acct", f, argc, argv);
}
static int rec_open(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return rec_common(h, "open_session", f, argc, argv);
}
static int rec_close(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return rec_common(h, "close_session", f, argc, argv);
}
static int rec_chauthtok(trex_pam_handle_t *h, int f, int argc, const char **argv, void *i)
{
    return rec_common(h, (f & TREX_PAM_PRELIM_CHECK) ? "prechauthtok" : "chauthtok", f, argc, argv);
}
static void rec_release(void *instance)
{
    release_count++;
}

static const struct trex_pam_module recmod = {
    TREX_PAM_MODULE_ABI, "rec", rec_auth, rec_cred, rec_acct, rec_open, rec_close,
    rec_chauthtok, rec_release, NULL, NULL
};
/* only an authenticate hook: every other call is a missing hook */
static const struct trex_pam_module authonly = {
    TREX_PAM_MODULE_ABI, "authonly", rec_auth, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

static const struct th_module modules[] = {
    { "test:rec", &recmod }, { "test:authonly", &authonly }, { NULL, NULL }
};

/* ---- helpers -------------------------------------------------------------------------- */

/* A handle for "user" on service; the log starts afresh. The modules'
 * TEXT_INFO messages are th_infos(). */
static trex_pam_handle_t *start(const char *service)
{
    th_log_reset();
    return th_start(service, "user");
}

static int call(trex_pam_handle_t *h, char op)
{
    switch (op) {
    case 'a': return trex_pam_authenticate(h, 0);
    case 'c': return trex_pam_setcred(h, 0);
    case 'm': return trex_pam_acct_mgmt(h, 0);
    case 'o': return trex_pam_open_session(h, 0);
    case 'x': return trex_pam_close_session(h, 0);
    case 'p': return trex_pam_chauthtok(h, 0);
    default: return -100;
    }
}

/* ---- the truth table -------------------------------------------------------------------- */

#define R  "auth required debug "
#define Q  "auth requisite debug "
#define S  "auth sufficient debug "
#define O  "auth optional debug "

struct row {
    const char *name;
    const char *svc;             /* the service file */
    const char *inc;             /* the file "inc" for include/substack rows */
    const char *ops;             /* a=authenticate c=setcred m=acct o=open x=close p=chauthtok */
    int want[3];
    const char *msgs;            /* TEXT_INFOs of every call, calls separated by '|' */
};

static const struct row rows[] = {
    { "1 R:success R:auth_err", R "auth=success\n" R "auth=auth_err\n", NULL, "a",
      { TREX_PAM_AUTH_ERR }, "auth=success,auth=auth_err" },
    { "2 R:auth_err R:user_unknown", R "auth=auth_err\n" R "auth=user_unknown\n", NULL, "a",
      { TREX_PAM_AUTH_ERR }, "auth=auth_err,auth=user_unknown" },
    { "3 Q:auth_err R:user_unknown", Q "auth=auth_err\n" R "auth=user_unknown\n", NULL, "a",
      { TREX_PAM_AUTH_ERR }, "auth=auth_err" },
    { "4 S:success R:user_unknown", S "auth=success\n" R "auth=user_unknown\n", NULL, "a",
      { TREX_PAM_SUCCESS }, "auth=success" },
    { "5 R:auth_err S:success R:success", R "auth=auth_err\n" S "auth=success\n" R "auth=success\n",
      NULL, "a", { TREX_PAM_AUTH_ERR }, "auth=auth_err,auth=success,auth=success" },
    { "6 R:success S:success R:auth_err", R "auth=success\n" S "auth=success\n" R "auth=auth_err\n",
      NULL, "a", { TREX_PAM_SUCCESS }, "auth=success,auth=success" },
    { "7 S:auth_err R:success", S "auth=auth_err\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_SUCCESS }, "auth=auth_err,auth=success" },
    { "8 O:auth_err alone", O "auth=auth_err\n", NULL, "a", { TREX_PAM_PERM_DENIED }, "auth=auth_err" },
    { "8b S:auth_err alone", S "auth=auth_err\n", NULL, "a", { TREX_PAM_PERM_DENIED }, "auth=auth_err" },
    { "9 O:auth_err O:success", O "auth=auth_err\n" O "auth=success\n", NULL, "a",
      { TREX_PAM_SUCCESS }, "auth=auth_err,auth=success" },
    { "10 R:ignore R:ignore", R "auth=ignore\n" R "auth=ignore\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=ignore,auth=ignore" },
    { "11 O:success R:ignore O:auth_err", O "auth=success\n" R "auth=ignore\n" O "auth=auth_err\n",
      NULL, "a", { TREX_PAM_SUCCESS }, "auth=success,auth=ignore,auth=auth_err" },
    { "12 R:new_authtok_reqd R:success", R "auth=new_authtok_reqd\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_NEW_AUTHTOK_REQD }, "auth=new_authtok_reqd,auth=success" },
    { "13 R:success R:new_authtok_reqd", R "auth=success\n" R "auth=new_authtok_reqd\n", NULL, "a",
      { TREX_PAM_NEW_AUTHTOK_REQD }, "auth=success,auth=new_authtok_reqd" },
    { "14 S:new_authtok_reqd R:auth_err", S "auth=new_authtok_reqd\n" R "auth=auth_err\n", NULL, "a",
      { TREX_PAM_NEW_AUTHTOK_REQD }, "auth=new_authtok_reqd" },
    { "15 O:auth_err S:success R:perm_denied",
      O "auth=auth_err\n" S "auth=success\n" R "auth=perm_denied\n", NULL, "a",
      { TREX_PAM_SUCCESS }, "auth=auth_err,auth=success" },
    { "16 [default=ok]:ignore R:success",
      "auth [default=ok] debug auth=ignore\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_IGNORE }, "auth=ignore,auth=success" },
    { "16b [ignore=ok]:ignore", "auth [ignore=ok] debug auth=ignore\n", NULL, "a",
      { TREX_PAM_IGNORE }, "auth=ignore" },
    { "17 [default=bad]:ignore", "auth [default=bad] debug auth=ignore\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=ignore" },
    { "17b [default=die]:ignore", "auth [default=die] debug auth=ignore\n" R "auth=success\n", NULL,
      "a", { TREX_PAM_PERM_DENIED }, "auth=ignore" },
    { "18 [success=die]:success R:success",
      "auth [success=die] debug auth=success\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=success" },
    { "18b [success=bad]:success", "auth [success=bad] debug auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=success" },
    { "19 [default=ok]:authinfo_unavail R:auth_err",
      "auth [default=ok] debug auth=authinfo_unavail\n" R "auth=auth_err\n", NULL, "a",
      { TREX_PAM_AUTH_ERR }, "auth=authinfo_unavail,auth=auth_err" },
    { "20 R:user_unknown [default=ok]:success",
      R "auth=user_unknown\n" "auth [default=ok] debug auth=success\n", NULL, "a",
      { TREX_PAM_USER_UNKNOWN }, "auth=user_unknown,auth=success" },
    { "21 R:auth_err [success=reset]:success R:success",
      R "auth=auth_err\n" "auth [success=reset] debug auth=success\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_SUCCESS }, "auth=auth_err,auth=success,auth=success" },
    { "22 R:auth_err [success=reset]:success",
      R "auth=auth_err\n" "auth [success=reset] debug auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=auth_err,auth=success" },
    { "23 R:auth_err [success=done]:success R:success",
      R "auth=auth_err\n" "auth [success=done] debug auth=success\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_AUTH_ERR }, "auth=auth_err,auth=success,auth=success" },
    { "24 R:success [success=1 default=ignore]:success R:auth_err",
      R "auth=success\n" "auth [success=1 default=ignore] debug auth=success\n" R "auth=auth_err\n",
      NULL, "a", { TREX_PAM_SUCCESS }, "auth=success,auth=success" },
    { "25 [success=1 default=ignore]:success R:auth_err",
      "auth [success=1 default=ignore] debug auth=success\n" R "auth=auth_err\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=success" },
    { "26 [success=2 default=bad]:success R:auth_err (bad jump)",
      "auth [success=2 default=bad] debug auth=success\n" R "auth=auth_err\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=success" },
    { "26b jump exactly to the end",
      R "auth=success\n" "auth [success=1 default=bad] debug auth=success\n" R "auth=auth_err\n",
      NULL, "a", { TREX_PAM_SUCCESS }, "auth=success,auth=success" },
    { "26c bad jump overrides an earlier failure",
      R "auth=auth_err\n" "auth [success=5] debug auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=auth_err,auth=success" },
    { "27a O:99 R:success", "auth optional test:rec id=T auth=99\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "T,auth=success" },
    { "27b O:-1 R:success", "auth optional test:rec id=T auth=-1\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "T,auth=success" },
    { "27c S:99 R:success", "auth sufficient test:rec id=T auth=99\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "T,auth=success" },
    { "27d S:-1 R:success", "auth sufficient test:rec id=T auth=-1\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "T,auth=success" },
    { "27e [default=ok]:32", "auth [default=ok] test:rec id=T auth=32\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "T" },
    { "28 R:missing R:success", "auth required missing.so\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_MODULE_UNKNOWN }, "auth=success" },
    { "29 O:missing R:success", "auth optional missing.so\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_SUCCESS }, "auth=success" },
    { "29b -auth R:missing", "-auth required missing.so\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_MODULE_UNKNOWN }, "auth=success" },
    { "29c R:module without the hook", "auth required test:authonly id=A\n" R "auth=success\n",
      NULL, "ac", { TREX_PAM_SUCCESS, TREX_PAM_MODULE_UNKNOWN }, "A,auth=success|" },
    { "30a [success=0 default=ok]", "auth [success=0 default=ok] debug auth=success\n" R "auth=success\n",
      NULL, "a", { TREX_PAM_PERM_DENIED }, "auth=success,auth=success" },
    { "30b [SUCCESS=ok]", "auth [SUCCESS=ok] debug auth=success\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=success,auth=success" },
    { "30c [sucess=ok]", "auth [sucess=ok] debug auth=success\n" R "auth=success\n", NULL, "a",
      { TREX_PAM_PERM_DENIED }, "auth=success,auth=success" },
    { "31 substack{S:success} R:auth_err", "auth substack inc\n" R "auth=auth_err\n",
      S "auth=success\n", "a", { TREX_PAM_AUTH_ERR }, "auth=success,auth=auth_err" },
    { "32 include{S:success R:success} R:auth_err", "auth include inc\n" R "auth=auth_err\n",
      S "auth=success\n" R "auth=user_unknown\n", "a", { TREX_PAM_SUCCESS }, "auth=success" },
    { "33 substack{Q:auth_err R} R:success", "auth substack inc\n" R "auth=success\n",
      Q "auth=auth_err\n" R "auth=user_unknown\n", "a", { TREX_PAM_AUTH_ERR },
      "auth=auth_err,auth=success" },
    { "34 include{Q:auth_err R} R:success", "auth include inc\n" R "auth=success\n",
      Q "auth=auth_err\n" R "auth=user_unknown\n", "a", { TREX_PAM_AUTH_ERR }, "auth=auth_err" },
    { "35 R:success substack{R:auth_err [success=reset]:success}",
      R "auth=success\n" "auth substack inc\n",
      R "auth=auth_err\n" "auth [success=reset] debug auth=success\n", "a", { TREX_PAM_SUCCESS },
      "auth=success,auth=auth_err,auth=success" },
    { "35b substack{Q:auth_err} [success=reset]:success R:success",
      "auth substack inc\n" "auth [success=reset] debug auth=success\n" R "auth=success\n",
      Q "auth=auth_err\n", "a", { TREX_PAM_SUCCESS }, "auth=auth_err,auth=success,auth=success" },
    { "36 [success=1]:success substack{3xR:auth_err} R:success",
      "auth [success=1] debug auth=success\n" "auth substack inc\n" R "auth=success\n",
      R "auth=auth_err\n" R "auth=auth_err\n" R "auth=auth_err\n", "a",
      { TREX_PAM_SUCCESS }, "auth=success,auth=success" },
    { "36b jump inside a substack cannot leave it", "auth substack inc\n" R "auth=success\n",
      "auth [success=1] debug auth=success\n", "a", { TREX_PAM_PERM_DENIED },
      "auth=success,auth=success" },
    { "36c include: jumps count included lines", "auth [success=1] debug auth=success\n"
      "auth include inc\n" R "auth=new_authtok_reqd\n",
      R "auth=auth_err\n" R "auth=user_unknown\n", "a", { TREX_PAM_USER_UNKNOWN },
      "auth=success,auth=user_unknown,auth=new_authtok_reqd" },
    { "36d done in a substack ends only the substack", "auth substack inc\n" R "auth=auth_err\n",
      S "auth=success\n" R "auth=user_unknown\n", "a", { TREX_PAM_AUTH_ERR },
      "auth=success,auth=auth_err" },
    { "37 S(A):success R(B); setcred A:cred_err",
      S "auth=success cred=cred_err\n" R "auth=user_unknown cred=cred_unavail\n", NULL, "ac",
      { TREX_PAM_SUCCESS, TREX_PAM_CRED_ERR }, "auth=success|cred=cred_err" },
    { "38 R(A):auth_err R(B):success; setcred cred_unavail, cred_err",
      R "auth=auth_err cred=cred_unavail\n" R "auth=success cred=cred_err\n", NULL, "ac",
      { TREX_PAM_AUTH_ERR, TREX_PAM_CRED_UNAVAIL },
      "auth=auth_err,auth=success|cred=cred_unavail,cred=cred_err" },
    { "39 R(A):ignore R(B):success; setcred cred_err, success",
      R "auth=ignore cred=cred_err\n" R "auth=success cred=success\n", NULL, "ac",
      { TREX_PAM_SUCCESS, TREX_PAM_SUCCESS }, "auth=ignore,auth=success|cred=cred_err,cred=success" },
    { "40 [success=1 default=ignore](A) R(B) R(C); setcred A:cred_err (Debian)",
      "auth [success=1 default=ignore] debug auth=success cred=cred_err\n"
      R "auth=auth_err cred=cred_unavail\n" R "auth=success cred=success\n", NULL, "ac",
      { TREX_PAM_SUCCESS, TREX_PAM_SUCCESS }, "auth=success,auth=success|cred=cred_err,cred=success" },
    { "40b setcred without authenticate uses its own results",
      S "auth=success cred=cred_err\n" R "cred=cred_unavail\n", NULL, "c",
      { TREX_PAM_CRED_UNAVAIL }, "cred=cred_err,cred=cred_unavail" },
    { "40c replayed IGNORE not taken as status", S "auth=success cred=ignore\n", NULL, "ac",
      { TREX_PAM_SUCCESS, TREX_PAM_PERM_DENIED }, "auth=success|cred=ignore" },
    { "40d close_session follows open_session",
      "session sufficient debug open_session=success close_session=session_err\n"
      "session required debug open_session=session_err close_session=success\n", NULL, "ox",
      { TREX_PAM_SUCCESS, TREX_PAM_SESSION_ERR }, "open_session=success|close_session=session_err" },
    { "40e authenticate's -1 is no recorded result",
      "auth required test:rec id=A auth=-1 cred=cred_err\n", NULL, "ac",
      { TREX_PAM_PERM_DENIED, TREX_PAM_CRED_ERR }, "A|A" },
    { "40f replay: setcred's own 99 goes through an ok slot",
      "auth required test:rec id=A auth=success cred=99\n", NULL, "ac",
      { TREX_PAM_SUCCESS, 99 }, "A|A" },
    { "41 password S(A) prelim authtok_err/update success, R(B)",
      "password sufficient debug prechauthtok=authtok_err chauthtok=success\n"
      "password required debug prechauthtok=success chauthtok=ignore\n", NULL, "p",
      { TREX_PAM_SUCCESS }, "prechauthtok=authtok_err,prechauthtok=success,chauthtok=success" },
    { "42 password R prelim try_again", "password required debug prechauthtok=try_again chauthtok=success\n",
      NULL, "p", { TREX_PAM_TRY_AGAIN }, "prechauthtok=try_again" },
    { "43 account stack", "account required debug acct=acct_expired\n", NULL, "m",
      { TREX_PAM_ACCT_EXPIRED }, "acct=acct_expired" },
};

static void test_truth_table(void)
{
    char msgs[1024];

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        trex_pam_handle_t *h;

        th_dir_clear();
        th_file("svc", r->svc);
        if (r->inc)
            th_file("inc", r->inc);
        h = start("svc");
        msgs[0] = '\0';
        for (size_t k = 0; r->ops[k]; k++) {
            th_seen_reset();
            tap_is_int(call(h, r->ops[k]), r->want[k], "row %s: call %c", r->name, r->ops[k]);
            snprintf(msgs + strlen(msgs), sizeof msgs - strlen(msgs), "%s%s", k > 0 ? "|" : "", th_infos());
        }
        tap_is_str(msgs, r->msgs, "row %s: modules run", r->name);
        trex_pam_end(h, 0);
    }
}

/* ---- INCOMPLETE ------------------------------------------------------------------------- */

static void test_incomplete(void)
{
    trex_pam_handle_t *h;

    th_dir_clear();
    th_file("svc",
                   "auth required test:rec id=A settok=secret auth=auth_err\n"
                   "auth substack inc\n"
                   "auth required test:rec id=C\n"
                   "account required test:rec id=M showtok\n"
                   "password required test:rec id=P incomplete=1 flags\n");
    th_file("inc", "auth required test:rec id=B incomplete=1 showtok\n"
                               "auth [success=reset] test:rec id=D\n");
    h = start("svc");
    th_seen_reset();
    incomplete_left = 1;
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_INCOMPLETE, "INCOMPLETE returned at once");
    tap_is_str(th_infos(), "A,B,tok=secret", "... after A and B");
    th_seen_reset();
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ABORT, "another function meanwhile: ABORT");
    tap_is_int(trex_pam_setcred(h, 0), TREX_PAM_ABORT, "... setcred too");
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_ABORT, "... chauthtok too");
    tap_is_str(th_infos(), "", "... nothing ran");
    tap_ok(th_logged("failed to re-exec stack"), "... and it is logged");
    th_seen_reset();
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_AUTH_ERR,
               "the same function resumes; reset restores the state saved before the INCOMPLETE");
    tap_is_str(th_infos(), "B,tok=NULL,D,C", "... at B (the ABORTed calls cleared the token)");
    th_seen_reset();
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "afterwards other functions run");
    tap_is_str(th_infos(), "M,tok=NULL", "... and the token was cleared after authenticate");
    trex_pam_end(h, 0);

    /* tokens survive an INCOMPLETE: B sees A's token when resumed in the same call chain */
    th_dir_clear();
    th_file("svc", "auth required test:rec id=A settok=secret\n"
                               "auth required test:rec id=B incomplete=1 showtok\n");
    h = start("svc");
    th_seen_reset();
    incomplete_left = 1;
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_INCOMPLETE, "INCOMPLETE after a token was set");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "... resumed");
    tap_is_str(th_infos(), "A,B,tok=secret,B,tok=secret", "... the token was not cleared in between");
    trex_pam_end(h, 0);

    /* chauthtok remembers the pass */
    th_dir_clear();
    th_file("svc", "password required test:rec id=P incomplete=1 flags\n"
                               "password required test:rec id=Q flags\n");
    h = start("svc");
    th_seen_reset();
    incomplete_left = 1;
    tap_is_int(trex_pam_chauthtok(h, TREX_PAM_SILENT), TREX_PAM_INCOMPLETE, "chauthtok: INCOMPLETE in pass 1");
    tap_is_int(trex_pam_chauthtok(h, TREX_PAM_SILENT), TREX_PAM_SUCCESS, "... resumed");
    tap_is_str(th_infos(), "P,flags=0xc000,P,flags=0xc000,Q,flags=0xc000,P,flags=0xa000,Q,flags=0xa000",
               "... pass 1 resumed at P, then pass 2");
    th_seen_reset();
    th_file("svc", "password required test:rec id=P flags\n"
                               "password required test:rec id=Q incomplete_update flags\n");
    trex_pam_set_item(h, TREX_PAM_SERVICE, "svc");
    incomplete_left = 1;
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_INCOMPLETE, "chauthtok: INCOMPLETE in pass 2");
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "... resumed");
    tap_is_str(th_infos(), "P,flags=0x4000,Q,flags=0x4000,P,flags=0x2000,Q,flags=0x2000,Q,flags=0x2000",
               "... pass 2 resumed at Q, pass 1 not run again");
    trex_pam_end(h, 0);

    /* any function may be interrupted */
    th_dir_clear();
    th_file("svc", "session required test:rec id=S incomplete=1\n");
    h = start("svc");
    th_seen_reset();
    incomplete_left = 1;
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_INCOMPLETE, "open_session: INCOMPLETE");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_ABORT, "... authenticate meanwhile: ABORT");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "... open_session resumes");
    tap_is_str(th_infos(), "S,S", "... at the same module");
    trex_pam_end(h, 0);
}

/* ---- chauthtok -------------------------------------------------------------------------- */

static void test_chauthtok(void)
{
    trex_pam_handle_t *h;

    th_dir_clear();
    th_file("svc", "password required test:rec id=P flags showtok settok=new\n"
                               "account required test:rec id=M showtok\n");
    h = start("svc");
    th_seen_reset();
    tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_SUCCESS, "chauthtok");
    tap_is_str(th_infos(), "P,flags=0x4000,tok=NULL,P,flags=0x2000,tok=new",
               "flags PRELIM then UPDATE; the token survives between the passes");
    th_seen_reset();
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_SUCCESS, "acct_mgmt");
    tap_is_str(th_infos(), "M,tok=NULL", "... the token was cleared after chauthtok");
    th_seen_reset();
    tap_is_int(trex_pam_chauthtok(h, TREX_PAM_PRELIM_CHECK), TREX_PAM_SYSTEM_ERR, "app's PRELIM_CHECK: SYSTEM_ERR");
    tap_is_int(trex_pam_chauthtok(h, TREX_PAM_UPDATE_AUTHTOK | TREX_PAM_SILENT), TREX_PAM_SYSTEM_ERR,
               "app's UPDATE_AUTHTOK: SYSTEM_ERR");
    tap_is_str(th_infos(), "", "... nothing ran");
    tap_is_int(trex_pam_chauthtok(h, TREX_PAM_CHANGE_EXPIRED_AUTHTOK), TREX_PAM_SUCCESS, "other flags pass");
    tap_is_str(th_infos(), "P,flags=0x4020,tok=NULL,P,flags=0x2020,tok=new", "... to the modules");
    trex_pam_end(h, 0);
}

/* ---- setcred flags, tokens around authenticate ------------------------------------------ */

static void test_flags_tokens(void)
{
    trex_pam_handle_t *h;

    th_dir_clear();
    th_file("svc", "auth required test:rec id=A flags showtok settok=pw\n"
                               "account required test:rec id=M showtok settok=acct\n"
                               "session required test:rec id=S showtok\n");
    h = start("svc");
    th_seen_reset();
    tap_is_int(trex_pam_setcred(h, 0), TREX_PAM_SUCCESS, "setcred");
    tap_is_str(th_infos(), "A,flags=0x0002,tok=NULL", "setcred with flags 0 passes ESTABLISH_CRED");
    th_seen_reset();
    trex_pam_setcred(h, TREX_PAM_DELETE_CRED | TREX_PAM_SILENT);
    tap_is_str(th_infos(), "A,flags=0x8004,tok=pw", "other setcred flags unchanged; setcred keeps tokens");
    th_seen_reset();
    trex_pam_authenticate(h, TREX_PAM_SILENT | TREX_PAM_DISALLOW_NULL_AUTHTOK);
    tap_is_str(th_infos(), "A,flags=0x8001,tok=NULL", "authenticate clears tokens before; flags unvalidated");
    th_seen_reset();
    trex_pam_acct_mgmt(h, 0);
    trex_pam_open_session(h, 0);
    tap_is_str(th_infos(), "M,tok=NULL,S,tok=acct", "cleared after authenticate; acct's token reaches open_session");
    trex_pam_end(h, 0);
}

/* ---- re-entrancy, NULL handle, empty stack, reload ------------------------------------- */

static void test_misc(void)
{
    trex_pam_handle_t *h;
    char want[64];

    for (int i = 0; i < 6; i++)
        tap_is_int(call(NULL, "acmoxp"[i]), TREX_PAM_SYSTEM_ERR, "NULL handle: call %c", "acmoxp"[i]);

    th_dir_clear();
    th_file("svc", "auth required test:rec id=A reenter\n");
    h = start("svc");
    trace[0] = '\0';
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "a module calling the service functions");
    snprintf(want, sizeof want, "%d,%d,%d,%d,%d,%d,%d", 4, 4, 4, 4, 4, 4, 4);
    tap_is_str(trace, want, "... gets SYSTEM_ERR from all of them and from end");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_PERM_DENIED, "the handle still works afterwards");
    tap_ok(th_logged("no modules loaded for `svc' service"), "empty stack is logged");
    trex_pam_end(h, 0);

    /* PAM_SERVICE change reloads the stack and forgets recorded results */
    th_dir_clear();
    th_file("one", "auth sufficient debug auth=success cred=cred_err\n"
                               "auth required debug auth=auth_err cred=cred_expired\n");
    th_file("two", "auth required debug auth=perm_denied cred=success\n");
    h = start("one");
    th_seen_reset();
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "service one");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_SERVICE, "TWO"), TREX_PAM_SUCCESS, "set PAM_SERVICE");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_PERM_DENIED, "service two's stack runs");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_SERVICE, "one"), TREX_PAM_SUCCESS, "back to one");
    tap_is_int(trex_pam_setcred(h, 0), TREX_PAM_CRED_EXPIRED, "setcred after the reload: nothing recorded");
    tap_is_str(th_infos(), "auth=success,auth=perm_denied,cred=cred_err,cred=cred_expired",
               "... so both setcred modules ran on their own results");
    tap_is_int(trex_pam_set_item(h, TREX_PAM_SERVICE, "nosuch"), TREX_PAM_SUCCESS, "a service without files");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_ABORT, "... and no other: the call gives ABORT");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ABORT, "... every time");
    th_file("other", "account required debug acct=acct_expired\n");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ACCT_EXPIRED, "... until other exists");
    trex_pam_end(h, 0);

    /* the running entry, function and flags are visible to the module (get_authtok) */
    th_dir_clear();
    th_file("svc", "auth required test:rec ctx\npassword required test:rec ctx\n");
    h = start("svc");
    th_seen_reset();
    trex_pam_authenticate(h, TREX_PAM_SILENT);
    trex_pam_chauthtok(h, 0);
    tap_is_str(th_infos(), "ctx=ok,ctx=ok,ctx=ok", "the handle names the running entry and flags");
    tap_ok(!h->in_module && h->cur_entry == NULL, "... and forgets them afterwards");

    /* a forked child may not use the handle */
    {
        pid_t pid = fork();
        int st = 0;
        if (pid == 0)
            _exit(trex_pam_authenticate(h, 0) == TREX_PAM_SYSTEM_ERR &&
                  trex_pam_chauthtok(h, 0) == TREX_PAM_SYSTEM_ERR ? 0 : 1);
        waitpid(pid, &st, 0);
        tap_ok(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child gets SYSTEM_ERR");
    }
    trex_pam_end(h, 0);

    /* bad jump is logged */
    th_dir_clear();
    th_file("svc", "auth [success=3] debug\n");
    h = start("svc");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_PERM_DENIED, "bad jump");
    tap_ok(th_logged("bad jump in stack"), "... logged");
    trex_pam_end(h, 0);

    /* missing module: logged for auth lines, not for -auth lines */
    th_dir_clear();
    th_file("svc", "-auth required nosuch1\n auth required nosuch2\n");
    h = start("svc");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_MODULE_UNKNOWN, "missing modules");
    tap_ok(!th_logged("nosuch1"), "-auth: not logged");
    tap_ok(th_logged("svc:2: unable to load module \"nosuch2\""), "auth: logged with file:line");
    trex_pam_end(h, 0);

    /* a resolver module is released once at the end, however many lines use it */
    th_dir_clear();
    th_file("svc", "auth required test:rec id=A\nauth required test:rec id=B\n"
                               "account required test:rec\n");
    release_count = 0;
    h = start("svc");
    th_seen_reset();
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "one module, several lines");
    tap_is_str(th_infos(), "A,B", "... each line with its own arguments");
    trex_pam_end(h, 0);
    tap_is_int(release_count, 1, "... released once");
}

int main(void)
{
    th_modules(modules);
    test_truth_table();
    test_incomplete();
    test_chauthtok();
    test_flags_tokens();
    test_misc();
    return th_done();
}
