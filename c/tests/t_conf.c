/*
 * t_conf.c - the pam.d parser (lines and fields as Linux-PAM's
 * pam_handlers.c reads them; where Linux-PAM 1.5.2 crashes or wraps, the
 * sane thing instead): the control grammar, line assembly, tokens, broken
 * lines, include/substack, the fallback to "other", module loading and the
 * file:line of every logged configuration error.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <syslog.h>
#include "harness.h"
#include "impl.h"

/* A handle for "user" on service; the log starts afresh. */
static trex_pam_handle_t *start(const char *service)
{
    th_log_reset();
    return th_start(service, "user");
}

/* ---- action tables as strings: one character per code ---------------------------------
 * i ignore, o ok, d done, b bad, x die, r reset, 1-9 jumps, J longer jumps */
static const char *acts(const int a[TREX_PAM_RETURN_VALUES])
{
    static char s[TREX_PAM_RETURN_VALUES + 1];
    for (int i = 0; i < TREX_PAM_RETURN_VALUES; i++) {
        switch (a[i]) {
        case TP_ACT_IGNORE: s[i] = 'i'; break;
        case TP_ACT_OK: s[i] = 'o'; break;
        case TP_ACT_DONE: s[i] = 'd'; break;
        case TP_ACT_BAD: s[i] = 'b'; break;
        case TP_ACT_DIE: s[i] = 'x'; break;
        case TP_ACT_RESET: s[i] = 'r'; break;
        default: s[i] = a[i] > 0 && a[i] < 10 ? (char)('0' + a[i]) : a[i] > 0 ? 'J' : '?'; break;
        }
    }
    s[TREX_PAM_RETURN_VALUES] = '\0';
    return s;
}

/* dflt everywhere, then "code:char" overrides, e.g. pat('b', "0:o 12:o 25:i") */
static const char *pat(char dflt, const char *spec)
{
    static char s[TREX_PAM_RETURN_VALUES + 1];
    memset(s, dflt, TREX_PAM_RETURN_VALUES);
    s[TREX_PAM_RETURN_VALUES] = '\0';
    while (spec && *spec) {
        char *end;
        long code = strtol(spec, &end, 10);
        if (*end != ':' || code < 0 || code >= TREX_PAM_RETURN_VALUES)
            break;
        s[code] = end[1];
        spec = end + 2;
        while (*spec == ' ')
            spec++;
    }
    return s;
}

#define REQUIRED   "0:o 12:o 25:i"
#define ALLBAD     pat('b', NULL)

/* ---- the control grammar ----------------------------------------------------------------- */

struct ctl_case {
    const char *text;
    int rc;
    char dflt;
    const char *spec;
};

static const struct ctl_case ctl_cases[] = {
    { "success=ok", 0, 'b', "0:o" },
    { "success=ok default=ignore", 0, 'i', "0:o" },
    { "default=ignore success=ok", 0, 'i', "0:o" },                  /* explicit values win */
    { "default=die default=ok", 0, 'x', NULL },                       /* the first default fills */
    { "success=ok default=die default=reset", 0, 'x', "0:o" },
    { "success=bad success=ok", 0, 'b', "0:o" },                      /* duplicates: last wins */
    { "success=ok success=bad", 0, 'b', NULL },
    { "success = ok", 0, 'b', "0:o" },
    { "  success\t=\tok  ", 0, 'b', "0:o" },
    { "success=ok\r", 0, 'b', "0:o" },
    { "success=okdefault=die", 0, 'x', "0:o" },                       /* no blank needed */
    { "success=1default=die", 0, 'x', "0:1" },
    { "", 0, 'b', NULL },
    { "   ", 0, 'b', NULL },
    { "SUCCESS=ok", -1, 'b', NULL },                                  /* names are case-sensitive */
    { "sucess=ok", -1, 'b', NULL },
    { "success=OK default=ignore", -1, 'b', NULL },                   /* actions too (Linux-PAM) */
    { "successful=ok", -1, 'b', NULL },                               /* prefix, then '=' */
    { "default=ignore success=okay", -1, 'b', NULL },                 /* "ok" then garbage */
    { "success=resets", -1, 'b', NULL },
    { "success=0", -1, 'b', NULL },                                   /* 0 is an error */
    { "success=00", -1, 'b', NULL },
    { "success=01", 0, 'b', "0:1" },                                  /* a jump of 1 */
    { "success=+1", -1, 'b', NULL },
    { "success=-1", -1, 'b', NULL },
    { "success=2147483648", -1, 'b', NULL },                          /* does not fit */
    { "success=4294967297", -1, 'b', NULL },
    { "success=", -1, 'b', NULL },
    { "success", -1, 'b', NULL },
    { "success ok", -1, 'b', NULL },
    { "=ok", -1, 'b', NULL },
    { "ok=success", -1, 'b', NULL },
    { "success=ok,default=bad", -1, 'b', NULL },
    { "authtok_recover_err=ok", 0, 'b', "21:o" },
    { "authtok_recovery_err=ok", -1, 'b', NULL },
    { "authtok_expired=done authtok_err=die", 0, 'b', "27:d 20:x" },
    { "incomplete=reset conv_again=die ignore=ignore", 0, 'b', "31:r 30:x 25:i" },
    { "default=3", 0, '3', NULL },
    { "success=done new_authtok_reqd=done default=ignore", 0, 'i', "0:d 12:d" },
    { "success=9 auth_err=10", 0, 'b', "0:9 7:J" },
};

static void test_control_grammar(void)
{
    int a[TREX_PAM_RETURN_VALUES];

    for (size_t i = 0; i < sizeof ctl_cases / sizeof ctl_cases[0]; i++) {
        const struct ctl_case *c = &ctl_cases[i];
        int rc = tp_conf_parse_control(c->text, a);
        tap_is_int(rc, c->rc, "control [%s]: %s", c->text, c->rc ? "syntax error" : "parses");
        tap_is_str(acts(a), pat(c->dflt, c->spec), "control [%s]: actions", c->text);
    }
    tap_is_int(tp_conf_parse_control("success=2147483647", a), 0, "largest jump fits");
    tap_is_int(a[0], INT_MAX, "... as a jump of INT_MAX");
    tap_is_int(tp_conf_parse_control(NULL, a), -1, "NULL control");
    tap_is_str(acts(a), ALLBAD, "... all bad");

    /* every value name, in table order */
    for (int code = 0; code < TREX_PAM_RETURN_VALUES; code++) {
        char text[64], spec[16];
        snprintf(text, sizeof text, "%s=reset", trex_pam_status_token(code));
        snprintf(spec, sizeof spec, "%d:r", code);
        tap_ok(tp_conf_parse_control(text, a) == 0 && strcmp(acts(a), pat('b', spec)) == 0,
               "value name %s", trex_pam_status_token(code));
    }
    /* every action name */
    {
        const char *names[] = { "ignore", "ok", "done", "bad", "die", "reset" };
        const char chars[] = "iodbxr";
        for (int k = 0; k < 6; k++) {
            char text[64], spec[16];
            snprintf(text, sizeof text, "auth_err=%s", names[k]);
            snprintf(spec, sizeof spec, "7:%c", chars[k]);
            tap_ok(tp_conf_parse_control(text, a) == 0 && strcmp(acts(a), pat('b', spec)) == 0,
                   "action name %s", names[k]);
        }
    }
}

/* ---- parsing text into a fresh conf ------------------------------------------------------- */

static trex_pam_handle_t *ph;       /* a handle for the parser's log and resolver */
static struct tp_conf *pc;
static int parse_rc;

static struct tp_conf *parse(const char *text)
{
    tp_conf_free(pc);
    pc = calloc(1, sizeof *pc);
    th_log_reset();
    parse_rc = tp_conf_parse_text(ph, pc, text, "t");
    return pc;
}

static const char *args(const struct tp_entry *e)
{
    static char s[512];
    s[0] = '\0';
    for (int i = 0; i < e->argc; i++)
        snprintf(s + strlen(s), sizeof s - strlen(s), "%s<%s>", i ? " " : "", e->argv[i]);
    return s;
}

static const char *modname(const struct tp_entry *e)
{
    return e->ref ? e->ref->name : NULL;
}

static void test_keywords(void)
{
    struct tp_conf *c;

    c = parse("auth required debug\n"
              "auth requisite debug\n"
              "auth optional debug\n"
              "auth sufficient debug\n"
              "AUTH Required debug\n"
              "Auth [requisite] debug\n"
              "account sufficient debug\n"
              "session OPTIONAL debug\n"
              "PassWord required debug\n");
    tap_is_int(parse_rc, TREX_PAM_SUCCESS, "keywords: parsed");
    tap_is_int((long)c->stack[TP_AUTH].n, 6, "six auth entries");
    tap_is_str(acts(c->stack[TP_AUTH].e[0].actions), pat('b', REQUIRED), "required");
    tap_is_str(acts(c->stack[TP_AUTH].e[1].actions), pat('x', REQUIRED), "requisite");
    tap_is_str(acts(c->stack[TP_AUTH].e[2].actions), pat('i', "0:o 12:o"), "optional");
    tap_is_str(acts(c->stack[TP_AUTH].e[3].actions), pat('i', "0:d 12:d"), "sufficient");
    tap_is_str(acts(c->stack[TP_AUTH].e[4].actions), pat('b', REQUIRED), "type and keyword case-insensitive");
    tap_is_str(acts(c->stack[TP_AUTH].e[5].actions), pat('x', REQUIRED), "a bracketed keyword is the keyword");
    tap_is_int((long)c->stack[TP_ACCOUNT].n, 1, "account entry");
    tap_is_int((long)c->stack[TP_SESSION].n, 1, "session entry");
    tap_is_int((long)c->stack[TP_PASSWORD].n, 1, "password entry");
    tap_ok(c->stack[TP_AUTH].e[0].ref == c->stack[TP_PASSWORD].e[0].ref, "one module loaded once per name");
    tap_ok(c->stack[TP_AUTH].e[0].ref->mod == trex_pam_builtin_registry()->lookup("debug"), "built-in module found");
    tap_is_int(c->stack[TP_AUTH].e[0].kind, TP_ENTRY_MODULE, "module entry");
    tap_is_int(c->stack[TP_AUTH].e[0].line, 1, "line 1");
    tap_is_int(c->stack[TP_PASSWORD].e[0].line, 9, "line 9");
    tap_is_int(th_log_lines(), 0, "nothing logged");

    c = parse("auth [success=done new_authtok_reqd=ok default=2] debug\n");
    tap_is_str(acts(c->stack[TP_AUTH].e[0].actions), pat('2', "0:d 12:o"), "bracketed control");
    c = parse("auth success=ok debug\n");
    tap_is_str(acts(c->stack[TP_AUTH].e[0].actions), pat('b', "0:o"),
               "an unbracketed value=action control works as in libpam");
    c = parse("auth sufficent debug\n");
    tap_is_str(acts(c->stack[TP_AUTH].e[0].actions), ALLBAD, "misspelt keyword: every slot bad");
    tap_is_int(c->stack[TP_AUTH].e[0].kind, TP_ENTRY_MODULE, "... but still a module line");
    tap_ok(th_logged("t:1: unknown control \"sufficent\""), "... logged as file:line: unknown control");
    c = parse("\n\nauth [success=ok default=ignroe] debug\n");
    tap_ok(th_logged("t:3: bad control \"[success=ok default=ignroe]\""), "bad bracketed control logged with line");
    c = parse("auth [success=4294967297] debug\n");
    tap_is_str(acts(c->stack[TP_AUTH].e[0].actions), ALLBAD, "jump overflow in a file: all bad");
    tap_ok(th_logged("t:1: bad control") && th_logged("too large"), "... logged");
}

static void test_broken_lines(void)
{
    struct tp_conf *c;
    const struct tp_entry *e;

    c = parse("bogus required debug\n");
    e = &c->stack[TP_AUTH].e[0];
    tap_is_int((long)c->stack[TP_AUTH].n, 1, "illegal type: an auth entry");
    tap_is_int(e->kind, TP_ENTRY_MUSTFAIL, "... that must fail");
    tap_is_str(acts(e->actions), pat('b', REQUIRED), "... with the parsed control");
    tap_ok(e->ref == NULL, "... and no module loaded");
    tap_ok(th_logged("t:1: illegal module type \"bogus\""), "... logged");

    c = parse("bogus sufficient debug\n");
    tap_is_str(acts(c->stack[TP_AUTH].e[0].actions), pat('i', "0:d 12:d"), "bogus sufficient: harmless");

    c = parse("@include common-auth\n");
    e = &c->stack[TP_AUTH].e[0];
    tap_ok(c->stack[TP_AUTH].n == 1 && e->kind == TP_ENTRY_MUSTFAIL, "@include: illegal type (upstream)");
    tap_is_str(acts(e->actions), ALLBAD, "... 'common-auth' as a control: all bad");

    c = parse("-\n");
    tap_ok(c->stack[TP_AUTH].n == 1 && c->stack[TP_AUTH].e[0].kind == TP_ENTRY_MUSTFAIL, "'-' alone: illegal type");
    c = parse("--auth required debug\n");
    tap_ok(c->stack[TP_AUTH].n == 1 && c->stack[TP_AUTH].e[0].kind == TP_ENTRY_MUSTFAIL, "'--auth': illegal type");

    c = parse("account\n");
    e = &c->stack[TP_ACCOUNT].e[0];
    tap_ok(c->stack[TP_ACCOUNT].n == 1 && e->kind == TP_ENTRY_MUSTFAIL, "no control: must-fail in its type");
    tap_is_str(acts(e->actions), ALLBAD, "... all bad");
    tap_ok(th_logged("t:1: no control flag"), "... logged");
    tap_is_int(th_log_lines(), 1, "... once");

    c = parse("session sufficient\n");
    e = &c->stack[TP_SESSION].e[0];
    tap_ok(c->stack[TP_SESSION].n == 1 && e->kind == TP_ENTRY_MUSTFAIL, "no module: must-fail");
    tap_is_str(acts(e->actions), pat('i', "0:d 12:d"), "... with the parsed control");
    tap_ok(th_logged("t:1: no module name"), "... logged");

    c = parse("-auth required nosuch\nauth required nosuch2 a\n");
    tap_is_int((long)c->stack[TP_AUTH].n, 2, "missing modules: entries");
    tap_ok(c->stack[TP_AUTH].e[0].kind == TP_ENTRY_MODULE && c->stack[TP_AUTH].e[0].ref->mod == NULL,
           "... with no module");
    tap_ok(c->stack[TP_AUTH].e[0].silent_missing && !c->stack[TP_AUTH].e[1].silent_missing, "-type is silent");
    tap_ok(!th_logged("nosuch\"") && th_logged("t:2: unable to load module \"nosuch2\""),
           "... only the plain line is logged");

    c = parse("auth required .so\n");
    tap_is_int(parse_rc, TREX_PAM_ABORT, "module name '.so' aborts the file (libpam)");
    tap_ok(th_logged("t:1: invalid module name"), "... logged");
    c = parse("auth required []\n");
    tap_is_int(parse_rc, TREX_PAM_ABORT, "empty module name aborts");
    c = parse("auth required dir/?.so\n");
    tap_is_int(parse_rc, TREX_PAM_ABORT, "module name '?' aborts");
    c = parse("auth required perl:Foo::Bar\n");
    tap_is_int(parse_rc, TREX_PAM_SUCCESS, "perl:Foo::Bar is a valid name");
}

static void test_tokens(void)
{
    struct tp_conf *c;
    const struct tp_entry *e;

    c = parse("auth [success=ok]x a\n");
    tap_is_str(modname(&c->stack[TP_AUTH].e[0]), "x", "text glued after ']' is the module (as in Linux-PAM)");
    tap_is_str(args(&c->stack[TP_AUTH].e[0]), "<a>", "... then the arguments");

    c = parse("auth required debug c=[d e] [a b\\]c] [x]y \\] [[z]\n");
    tap_is_str(args(&c->stack[TP_AUTH].e[0]), "<c=[d> <e]> <a b]c> <x> <y> <\\]> <[z>",
               "bracketed arguments");

    c = parse("auth required debug [open\n");
    tap_is_str(args(&c->stack[TP_AUTH].e[0]), "<open\n>", "unterminated bracket runs to the end of the line");

    c = parse("auth required debug user = XENDT\\user1 user=XENDT\\user2\n");
    tap_is_str(args(&c->stack[TP_AUTH].e[0]), "<user> <=> <XENDT\\user1> <user=XENDT\\user2>",
               "Linux-PAM's own argv case");

    c = parse("auth [success=ok#x] debug\n");
    e = &c->stack[TP_AUTH].e[0];
    tap_ok(e->kind == TP_ENTRY_MUSTFAIL, "'#' inside brackets starts a comment: no module left");
    tap_is_str(acts(e->actions), pat('b', "0:o"), "... the control before it still parsed");

    c = parse("auth\trequired\t debug\targ1 \t arg2\n");
    tap_is_str(args(&c->stack[TP_AUTH].e[0]), "<arg1> <arg2>", "tabs separate");

    c = parse("auth required debug auth=success\r\n\r\nauth required permit\r\n");
    tap_is_int((long)c->stack[TP_AUTH].n, 3, "CRLF: three auth entries");
    tap_is_str(args(&c->stack[TP_AUTH].e[0]), "<auth=success\r>", "CR stays in the last token");
    tap_ok(c->stack[TP_AUTH].e[1].kind == TP_ENTRY_MUSTFAIL, "a CRLF blank line is an illegal-type line");
    tap_is_str(modname(&c->stack[TP_AUTH].e[2]), "permit\r", "module path with CR");
    tap_ok(c->stack[TP_AUTH].e[2].ref->mod == NULL, "... is missing");
}

static void test_lines(void)
{
    struct tp_conf *c;
    char *big;
    size_t n;

    c = parse("# comment\n   \n\t\n  auth   required debug a # comment\n#auth required debug\n");
    tap_is_int((long)c->stack[TP_AUTH].n, 1, "comments and blank lines skipped");
    tap_is_str(args(&c->stack[TP_AUTH].e[0]), "<a>", "... trailing comment cut");
    tap_is_int(c->stack[TP_AUTH].e[0].line, 4, "... line number");

    c = parse("auth \\\n   required \\  \n\tdebug a=1 \\\n b=2\nauth required debug\n");
    tap_is_int((long)c->stack[TP_AUTH].n, 2, "continuation lines joined");
    tap_is_str(args(&c->stack[TP_AUTH].e[0]), "<a=1> <b=2>", "... arguments across lines");
    tap_is_int(c->stack[TP_AUTH].e[1].line, 5, "... line numbers still count physical lines");

    c = parse("auth required \\\n\ndebug\n");
    tap_is_int((long)c->stack[TP_AUTH].n, 2, "blank line after a continuation ends the line (>=1.6.1)");
    tap_ok(c->stack[TP_AUTH].e[0].kind == TP_ENTRY_MUSTFAIL && c->stack[TP_AUTH].e[1].kind == TP_ENTRY_MUSTFAIL,
           "... so both halves are broken lines");

    c = parse("auth required \\\n# comment\ndebug\n");
    tap_is_int((long)c->stack[TP_AUTH].n, 2, "comment line after a continuation ends the line");

    c = parse("# comment \\\nauth required debug\n");
    tap_is_int((long)c->stack[TP_AUTH].n, 1, "a comment is not continued");
    tap_ok(c->stack[TP_AUTH].e[0].kind == TP_ENTRY_MODULE, "... the next line is its own");

    c = parse("auth required debug a # x \\\nauth required debug b\n");
    tap_is_int((long)c->stack[TP_AUTH].n, 2, "a line with a comment ending in '\\' is not continued");

    c = parse("auth required debug \\\r\n");
    tap_is_int((long)c->stack[TP_AUTH].n, 1, "'\\' before CR does not continue");

    c = parse("auth required debug a \\\n");
    tap_is_int(parse_rc, TREX_PAM_ABORT, "a file ending inside a continued line fails (libpam)");
    tap_ok(th_logged("ends inside a continued line"), "... logged");
    c = parse("auth required debug a\n\\");
    tap_is_int(parse_rc, TREX_PAM_ABORT, "... also a lone backslash at the end");
    c = parse("\\\n\nauth required debug\n");
    tap_is_int(parse_rc, TREX_PAM_SUCCESS, "a lone backslash line then a blank line: nothing");
    tap_is_int((long)c->stack[TP_AUTH].n, 1, "... the next line parses");

    /* no line length limit */
    n = 300000;
    big = malloc(n + 64);
    strcpy(big, "auth required debug ");
    memset(big + 20, 'x', n);
    strcpy(big + 20 + n, " end\n");
    c = parse(big);
    tap_ok(c->stack[TP_AUTH].n == 1 && c->stack[TP_AUTH].e[0].argc == 2 &&
           strlen(c->stack[TP_AUTH].e[0].argv[0]) == n, "a 300000-byte argument");
    free(big);

    big = malloc(2000 * 12 + 64);
    strcpy(big, "auth required debug \\\n");
    for (int i = 0; i < 2000; i++)
        sprintf(big + strlen(big), "a%04d \\\n", i);
    strcat(big, "last\n");
    c = parse(big);
    tap_ok(c->stack[TP_AUTH].n == 1 && c->stack[TP_AUTH].e[0].argc == 2001 &&
           strcmp(c->stack[TP_AUTH].e[0].argv[2000], "last") == 0, "2001 continued physical lines");
    free(big);

    /* 4 x 511 characters, as in Linux-PAM's xtest assemble_line1 */
    big = malloc(4 * 520 + 64);
    strcpy(big, "auth required debug ");
    for (int i = 0; i < 4; i++) {
        size_t l = strlen(big);
        memset(big + l, 'a' + i, 509);
        strcpy(big + l + 509, " \\\n");
    }
    strcat(big, "auth=auth_err\n");
    c = parse(big);
    tap_ok(c->stack[TP_AUTH].n == 1 && c->stack[TP_AUTH].e[0].argc == 5 &&
           strcmp(c->stack[TP_AUTH].e[0].argv[4], "auth=auth_err") == 0, "four 511-byte continued lines");
    free(big);
}

/* ---- files: service, other, include, substack --------------------------------------------- */

static int auth_result(const char *service)
{
    th_log_reset();
    return th_auth(service, "user", NULL, 0);
}

static void test_files(void)
{
    trex_pam_handle_t *h;

    th_dir_clear();
    h = start("svc");
    tap_ok(h == NULL && th_start_rc() == TREX_PAM_ABORT, "neither service nor other: start gives ABORT");
    tap_ok(th_logged("no configuration for service \"svc\""), "... logged");

    th_file("other", "auth required debug auth=cred_err\naccount required debug acct=acct_expired\n");
    tap_is_int(auth_result("svc"), TREX_PAM_CRED_ERR, "service missing, other present: other's stack");

    th_file("svc", "account required debug acct=new_authtok_reqd\n");
    h = start("svc");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_CRED_ERR, "per type: auth from other");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_NEW_AUTHTOK_REQD, "... account from the service");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_PERM_DENIED, "... session in neither: PERM_DENIED");
    trex_pam_end(h, 0);

    th_file("svc", "");
    tap_is_int(auth_result("svc"), TREX_PAM_CRED_ERR, "empty service file: everything from other");

    unlink(th_path("other"));
    h = start("svc");
    tap_ok(h != NULL, "service present (empty), other missing: start succeeds");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_PERM_DENIED, "... empty stack: PERM_DENIED");
    trex_pam_end(h, 0);

    /* as in Linux-PAM: include of nothing falls back, substack of nothing does not */
    th_file("other", "auth required debug auth=cred_err\n");
    th_file("acctonly", "account required debug\n");
    th_file("svc", "auth include acctonly\n");
    tap_is_int(auth_result("svc"), TREX_PAM_CRED_ERR, "include adding nothing: fallback to other");
    th_file("svc", "auth substack acctonly\n");
    tap_is_int(auth_result("svc"), TREX_PAM_PERM_DENIED, "substack adding nothing: its header stays, no fallback");

    /* service "other": libpam reads its lines twice */
    h = start("other");
    tap_ok(h != NULL && h->conf->stack[TP_AUTH].n == 2, "service \"other\": each line twice, as in libpam");
    trex_pam_end(h, 0);

    /* a directory in place of the service file */
    mkdir(th_path("adir"), 0700);
    h = start("adir");
    tap_ok(h == NULL && th_start_rc() == TREX_PAM_ABORT, "unreadable service file: ABORT");
    tap_ok(th_logged("cannot read"), "... logged");

    th_file("svc", "auth required debug \\\n");
    h = start("svc");
    tap_ok(h == NULL && th_start_rc() == TREX_PAM_ABORT, "service file ending in a continuation: ABORT");

    th_file("svc", "auth required .so\n");
    h = start("svc");
    tap_ok(h == NULL && th_start_rc() == TREX_PAM_ABORT, "invalid module name in the service file: ABORT");
    th_file("bad", "auth required .so\n");
    th_file("svc", "auth required debug\nauth include bad\n");
    h = start("svc");
    tap_ok(h != NULL && h->conf->stack[TP_AUTH].n == 3 &&
           h->conf->stack[TP_AUTH].e[1].kind == TP_ENTRY_MODULE &&
           h->conf->stack[TP_AUTH].e[2].kind == TP_ENTRY_MUSTFAIL,
           "... in an included file: its entry, then a must-fail entry for the include (libpam)");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_MODULE_UNKNOWN, "... authenticate as libpam");
    trex_pam_end(h, 0);

    /* errors name the file and line */
    th_file("webmail", "# the web mail\n\nauth required debug\n"
                                   "auth sufficent debug\nbogus required debug\n");
    h = start("webmail");
    tap_ok(th_logged("webmail:4: unknown control \"sufficent\""), "webmail:4: unknown control \"sufficent\"");
    tap_ok(th_logged("webmail:5: illegal module type \"bogus\""), "webmail:5: illegal module type");
    trex_pam_end(h, 0);
}

static void test_include(void)
{
    trex_pam_handle_t *h;
    char text[4200];

    th_dir_clear();
    th_file("other", "");
    th_file("inc", "account required debug acct=acct_expired\n"
                               "auth required debug auth=success\n"
                               "bogus optional debug\n");
    th_file("svc", "auth include inc\naccount include inc\n");
    h = start("svc");
    tap_is_int((long)h->conf->stack[TP_AUTH].n, 2, "include: auth lines of the file");
    tap_ok(h->conf->stack[TP_AUTH].e[1].kind == TP_ENTRY_MUSTFAIL, "... its illegal-type line as must-fail");
    tap_is_int((long)h->conf->stack[TP_ACCOUNT].n, 2, "... and again in account");
    tap_ok(h->conf->stack[TP_ACCOUNT].e[1].kind == TP_ENTRY_MUSTFAIL, "... must-fail in the requested type");
    tap_is_str(h->conf->stack[TP_AUTH].e[0].file, "inc", "entries remember their file");
    tap_is_int(h->conf->stack[TP_AUTH].e[0].line, 2, "... and line");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_SUCCESS, "bogus optional: harmless");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ACCT_EXPIRED, "account from the include");
    trex_pam_end(h, 0);

    snprintf(text, sizeof text, "auth include %s\n", th_path("inc"));
    th_file("svc", text);
    h = start("svc");
    tap_is_int((long)h->conf->stack[TP_AUTH].n, 2, "absolute include path");
    trex_pam_end(h, 0);

    th_file("svc", "bogus include inc\n");
    h = start("svc");
    tap_ok(h->conf->stack[TP_AUTH].n == 2 && h->conf->stack[TP_AUTH].e[0].kind == TP_ENTRY_MODULE,
           "illegal type with include: includes the auth lines, as libpam");
    trex_pam_end(h, 0);

    th_file("svc", "auth include nosuch\nauth required debug\n");
    h = start("svc");
    tap_ok(h->conf->stack[TP_AUTH].n == 2 && h->conf->stack[TP_AUTH].e[0].kind == TP_ENTRY_MUSTFAIL,
           "missing include: a must-fail entry");
    tap_is_str(acts(h->conf->stack[TP_AUTH].e[0].actions), ALLBAD, "... all bad");
    tap_ok(th_logged("svc:1: cannot include \"nosuch\""), "... logged");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_PERM_DENIED, "... the stack cannot succeed");
    trex_pam_end(h, 0);

    th_file("svc", "auth include\nauth required debug\n");
    h = start("svc");
    tap_ok(h->conf->stack[TP_AUTH].n == 2 && h->conf->stack[TP_AUTH].e[0].kind == TP_ENTRY_MUSTFAIL,
           "include without a target: must-fail (libpam crashes)");
    tap_ok(th_logged("svc:1: include/substack without a file name"), "... logged");
    trex_pam_end(h, 0);

    th_file("svc", "auth substack\nauth required debug\n");
    h = start("svc");
    tap_ok(h->conf->stack[TP_AUTH].n == 3 && h->conf->stack[TP_AUTH].e[0].kind == TP_ENTRY_SUBSTACK &&
           h->conf->stack[TP_AUTH].e[1].kind == TP_ENTRY_MUSTFAIL, "substack without a target: header + must-fail");
    trex_pam_end(h, 0);

    th_file("svc", "auth [success=1 default=ignore] debug\nauth substack nosuch\nauth required debug\n");
    h = start("svc");
    tap_ok(h->conf->stack[TP_AUTH].n == 4 && h->conf->stack[TP_AUTH].e[1].kind == TP_ENTRY_SUBSTACK &&
           h->conf->stack[TP_AUTH].e[2].kind == TP_ENTRY_MUSTFAIL && h->conf->stack[TP_AUTH].e[2].depth == 0,
           "missing substack: header and must-fail at the parent level (libpam)");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_PERM_DENIED, "... a jump of 1 cannot skip both");
    trex_pam_end(h, 0);

    /* nesting and loops */
    th_file("loop", "auth include loop\n");
    th_file("svc", "auth include loop\n");
    h = start("svc");
    tap_ok(h != NULL && h->conf->stack[TP_AUTH].n == 1 && h->conf->stack[TP_AUTH].e[0].kind == TP_ENTRY_MUSTFAIL,
           "include loop: stops with a must-fail entry (libpam recurses without end)");
    tap_ok(th_logged("loop:1: more than 15 levels"), "... logged");
    tap_is_int(th_log_lines(), 1, "... once");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_PERM_DENIED, "... PERM_DENIED");
    trex_pam_end(h, 0);

    th_file("ping", "auth required debug\nauth include pong\n");
    th_file("pong", "auth include ping\n");
    th_file("svc", "auth include ping\n");
    h = start("svc");
    tap_ok(h != NULL && h->conf->stack[TP_AUTH].n == 9, "mutual include: 8 module lines, then must-fail");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_PERM_DENIED, "... PERM_DENIED");
    trex_pam_end(h, 0);

    th_file("sloop", "auth substack sloop\n");
    th_file("svc", "auth substack sloop\n");
    h = start("svc");
    tap_ok(h != NULL && h->conf->stack[TP_AUTH].n == 17 &&
           h->conf->stack[TP_AUTH].e[15].kind == TP_ENTRY_SUBSTACK && h->conf->stack[TP_AUTH].e[15].depth == 15 &&
           h->conf->stack[TP_AUTH].e[16].kind == TP_ENTRY_MUSTFAIL, "substack loop: 16 headers, then must-fail");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_PERM_DENIED, "... PERM_DENIED");
    trex_pam_end(h, 0);

    th_file("fan", "auth include fan\nauth include fan\nauth include fan\n");
    th_file("svc", "auth include fan\n");
    th_log_reset();
    h = start("svc");
    tap_ok(h != NULL && h->conf->stack[TP_AUTH].n > 0 && h->conf->stack[TP_AUTH].n < 1024,
           "a file including itself three times: read a bounded number of times (not 3^15)");
    tap_ok(th_logged("fan:3: more than 256 includes and substacks in all"), "... logged");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_PERM_DENIED, "... PERM_DENIED");
    trex_pam_end(h, 0);

    /* 15 levels of include are fine, 16 are not */
    for (int depth = 15; depth <= 16; depth++) {
        th_dir_clear();
        th_file("other", "");
        th_file("svc", "auth include f1\n");
        for (int i = 1; i <= depth; i++) {
            char name[16];
            snprintf(name, sizeof name, "f%d", i);
            if (i < depth)
                snprintf(text, sizeof text, "auth substack f%d\n", i + 1);
            else
                snprintf(text, sizeof text, "auth required debug auth=success\n");
            th_file(name, text);
        }
        tap_is_int(auth_result("svc"), depth == 15 ? TREX_PAM_SUCCESS : TREX_PAM_PERM_DENIED,
                   "%d nested files: %s", depth, depth == 15 ? "fine" : "too deep");
    }
}

/* ---- modules: built-in, resolver, external --------------------------------------------- */

static void test_modules(void)
{
    trex_pam_handle_t *h;
    char text[8400], so[4200];
    const char *tdir = getenv("TREX_PAM_TESTDIR");
    char *abs;

    th_dir_clear();
    th_file("other", "");
    th_file("svc", "auth required pam_debug.so auth=new_authtok_reqd\n"
                               "account required test:debug acct=acct_expired\n"
                               "session required perl:No::Resolver\n");
    h = start("svc");
    tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_NEW_AUTHTOK_REQD, "pam_debug.so names the built-in");
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ACCT_EXPIRED, "a resolver module");
    tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_MODULE_UNKNOWN, "a module the resolver refuses");
    tap_ok(th_logged("svc:3: unable to load module \"perl:No::Resolver\""), "... logged");
    trex_pam_end(h, 0);

    th_resolver(0);
    h = start("svc");
    th_resolver(1);
    tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_MODULE_UNKNOWN, "no resolver: missing");
    trex_pam_end(h, 0);

    snprintf(so, sizeof so, "%s/ext_module.so", tdir ? tdir : ".");
    abs = realpath(so, NULL);
    tap_ok(abs != NULL, "ext_module.so exists");
    if (abs != NULL) {
        snprintf(text, sizeof text, "account required %s ret=acct_expired\nsession required %s\n"
                 "password required /nonexistent/x.so\nauth required /lib/x86_64-linux-gnu/libc.so.6\n",
                 abs, abs);
        th_file("svc", text);
        h = start("svc");
        tap_is_int(trex_pam_acct_mgmt(h, 0), TREX_PAM_ACCT_EXPIRED, "external module by absolute path");
        tap_is_int(trex_pam_open_session(h, 0), TREX_PAM_SUCCESS, "... open_session");
        tap_is_int(trex_pam_close_session(h, 0), TREX_PAM_MODULE_UNKNOWN, "... its missing hook: MODULE_UNKNOWN");
        tap_is_int(trex_pam_chauthtok(h, 0), TREX_PAM_MODULE_UNKNOWN, "a path that does not exist");
        tap_ok(th_logged("svc:3: unable to load module \"/nonexistent/x.so\""), "... logged");
        tap_is_int(trex_pam_authenticate(h, 0), TREX_PAM_MODULE_UNKNOWN, "a library without the entry symbol");
        tap_ok(th_logged("svc:4: unable to load module") && th_logged("no trex_pam_module_entry symbol"), "... logged");
        trex_pam_end(h, 0);
        free(abs);
    }
}

/* ---- tp_conf_load directly: default stack, absolute service path ---------------------------- */

static void free_null(void *arg)
{
    tp_conf_free(NULL);
}

static void test_load(void)
{
    struct tp_conf *c = NULL;
    const char *saved;
    char abs[4200];

    th_dir_clear();
    th_file("other", "auth required debug\n");
    th_file("MixedCase", "account required debug\naccount required permit\n");
    ph = start("svc");
    snprintf(abs, sizeof abs, "%s", th_path("MixedCase"));
    tap_is_int(tp_conf_load(ph, abs, &c), TREX_PAM_SUCCESS, "absolute service name: opened as a path");
    tap_ok(c && c->stack[TP_ACCOUNT].n == 2 && c->stack[TP_AUTH].n == 1, "... and other still read");
    tp_conf_free(c);
    tap_is_int(tp_conf_load(ph, NULL, &c), TREX_PAM_BAD_ITEM, "no service: BAD_ITEM");
    tap_ok(c == NULL, "... *out NULL");

    saved = ph->confdir;
    ph->confdir = "/nonexistent/trex-pam.d";
    ph->confdir_explicit = 1;
    tap_is_int(tp_conf_load(ph, "anything", &c), TREX_PAM_ABORT, "a named confdir that does not exist: ABORT");
    ph->confdir_explicit = 0;
    tap_is_int(tp_conf_load(ph, "anything", &c), TREX_PAM_SUCCESS, "the compiled default absent: the built-in default");
    {
        static const size_t want_n[TP_NTYPES] = { 6, 1, 1, 5 };   /* auth, account, session, password */
        static const char *const first[TP_NTYPES] = { "faillock", "userdb", "session", "faillock" };
        int missing = 0;
        for (int t = 0; t < TP_NTYPES; t++) {
            tap_ok(c->stack[t].n == want_n[t] && c->stack[t].e[0].ref &&
                   c->stack[t].e[0].ref->mod == trex_pam_builtin_registry()->lookup(first[t]),
                   "default stack type %d: %zu entries, first %s", t, want_n[t], first[t]);
            for (size_t i = 0; i < c->stack[t].n; i++)
                missing += c->stack[t].e[i].kind != TP_ENTRY_MODULE || c->stack[t].e[i].ref->mod == NULL;
        }
        tap_is_int(missing, 0, "every default line names a built-in module");
        tap_ok(c->stack[TP_AUTH].e[5].ref->mod == trex_pam_builtin_registry()->lookup("deny") &&
               strcmp(acts(c->stack[TP_AUTH].e[5].actions), pat('b', REQUIRED)) == 0,
               "the default auth stack ends in required deny (fails closed)");
    }
    tp_conf_free(c);
    ph->confdir = saved;
    ph->confdir_explicit = 1;
    th_returns(free_null, NULL, "tp_conf_free(NULL) is harmless");
}

int main(void)
{
    test_control_grammar();
    th_file("other", "");
    ph = start("svc");
    test_keywords();
    test_broken_lines();
    test_tokens();
    test_lines();
    tp_conf_free(pc);
    pc = NULL;
    trex_pam_end(ph, 0);
    test_files();
    test_include();
    test_modules();
    test_load();
    trex_pam_end(ph, 0);
    return th_done();
}
