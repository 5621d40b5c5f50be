/*
 * oracle.c - run one differential-test script against a PAM implementation
 * and print what the application sees, one event per line.
 *
 * Built twice by the test suite:
 *   cc oracle.c -lpam                          Linux-PAM (the oracle), t/60
 *   cc -DTREX_COMPAT -I t/diff -I c/include oracle.c c/libtrexpam.a
 *                                              TRex::PAM's C core, t/61
 *
 * Usage: oracle CONFDIR < script
 * The script language and the event lines are described in t/diff/README;
 * t/diff/DiffCase.pm implements the same interpreter over the Perl API and
 * must print exactly the same lines.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#ifdef TREX_COMPAT
#include "compat.h"
#else
#include <security/pam_appl.h>
#endif

#define MAX_TOKENS 16
#define MAX_ANSWERS 64

/* ---- names --------------------------------------------------------------- */

static const char *const code_names[] = {
    "SUCCESS", "OPEN_ERR", "SYMBOL_ERR", "SERVICE_ERR", "SYSTEM_ERR",
    "BUF_ERR", "PERM_DENIED", "AUTH_ERR", "CRED_INSUFFICIENT",
    "AUTHINFO_UNAVAIL", "USER_UNKNOWN", "MAXTRIES", "NEW_AUTHTOK_REQD",
    "ACCT_EXPIRED", "SESSION_ERR", "CRED_UNAVAIL", "CRED_EXPIRED", "CRED_ERR",
    "NO_MODULE_DATA", "CONV_ERR", "AUTHTOK_ERR", "AUTHTOK_RECOVERY_ERR",
    "AUTHTOK_LOCK_BUSY", "AUTHTOK_DISABLE_AGING", "TRY_AGAIN", "IGNORE",
    "ABORT", "AUTHTOK_EXPIRED", "MODULE_UNKNOWN", "BAD_ITEM", "CONV_AGAIN",
    "INCOMPLETE",
};
#define NCODES ((int)(sizeof code_names / sizeof code_names[0]))

static const char *const item_names[] = {
    NULL, "SERVICE", "USER", "TTY", "RHOST", "CONV", "AUTHTOK", "OLDAUTHTOK",
    "RUSER", "USER_PROMPT", "FAIL_DELAY", "XDISPLAY", "XAUTHDATA",
    "AUTHTOK_TYPE",
};
#define NITEMS ((int)(sizeof item_names / sizeof item_names[0]))

static const struct { const char *name; int value; } flag_names[] = {
    { "SILENT", PAM_SILENT },
    { "DISALLOW_NULL_AUTHTOK", PAM_DISALLOW_NULL_AUTHTOK },
    { "ESTABLISH_CRED", PAM_ESTABLISH_CRED },
    { "DELETE_CRED", PAM_DELETE_CRED },
    { "REINITIALIZE_CRED", PAM_REINITIALIZE_CRED },
    { "REFRESH_CRED", PAM_REFRESH_CRED },
    { "CHANGE_EXPIRED_AUTHTOK", PAM_CHANGE_EXPIRED_AUTHTOK },
    { "PRELIM_CHECK", 0x4000 },     /* module-side flags, not in pam_appl.h */
    { "UPDATE_AUTHTOK", 0x2000 },
};

static const char *const style_names[] = {
    NULL, "ECHO_OFF", "ECHO_ON", "ERROR_MSG", "TEXT_INFO", "RADIO", NULL,
    "BINARY",
};

static void print_code(int code)
{
    if (code >= 0 && code < NCODES)
        fputs(code_names[code], stdout);
    else
        printf("%d", code);
}

/* A string as a double-quoted C-like literal, or NULL. */
static void print_str(const char *s)
{
    if (s == NULL) {
        fputs("NULL", stdout);
        return;
    }
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':  fputs("\\\"", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        default:
            if (*p < 0x20 || *p >= 0x7f)
                printf("\\x%02x", *p);
            else
                putchar(*p);
        }
    }
    putchar('"');
}

static int lookup_code(const char *s, int *out)
{
    char *end;
    for (int i = 0; i < NCODES; i++)
        if (strcmp(s, code_names[i]) == 0) {
            *out = i;
            return 0;
        }
    long v = strtol(s, &end, 0);
    if (*s == '\0' || *end != '\0')
        return -1;
    *out = (int)v;
    return 0;
}

static int lookup_item(const char *s, int *out)
{
    char *end;
    for (int i = 1; i < NITEMS; i++)
        if (strcmp(s, item_names[i]) == 0) {
            *out = i;
            return 0;
        }
    long v = strtol(s, &end, 0);
    if (*s == '\0' || *end != '\0')
        return -1;
    *out = (int)v;
    return 0;
}

/* FLAG|FLAG|0x10 ... */
static int lookup_flags(const char *s, int *out)
{
    int flags = 0;
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    for (char *save = NULL, *tok = strtok_r(buf, "|", &save); tok;
         tok = strtok_r(NULL, "|", &save)) {
        size_t i;
        for (i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
            if (strcmp(tok, flag_names[i].name) == 0)
                break;
        if (i < sizeof flag_names / sizeof flag_names[0]) {
            flags |= flag_names[i].value;
        } else {
            char *end;
            long v = strtol(tok, &end, 0);
            if (*end != '\0')
                return -1;
            flags |= (int)v;
        }
    }
    *out = flags;
    return 0;
}

#ifndef free_envlist
static void free_envlist(char **list)
{
    for (char **e = list; *e; e++)
        free(*e);
    free(list);
}
#endif

/* ---- the scripted conversation ------------------------------------------- */

/* One reply to one prompt: an answer string (NULL: a NULL resp with
 * PAM_SUCCESS) or, when fail != 0, the conversation fails with that code. */
struct answer {
    char *text;
    int fail;
};

struct script_conv {
    struct answer q[MAX_ANSWERS];
    int head, tail;
};

static int conv_fn(int num_msg, const struct pam_message **msg,
                   struct pam_response **resp, void *appdata)
{
    struct script_conv *sc = appdata;
    struct pam_response *r;
    int rc = PAM_SUCCESS;

    if (num_msg != 1)
        printf("conv-batch %d\n", num_msg);
    if (num_msg <= 0)
        return PAM_CONV_ERR;
    r = calloc((size_t)num_msg, sizeof *r);
    if (r == NULL)
        return PAM_BUF_ERR;
    for (int i = 0; i < num_msg; i++) {
        int style = msg[i]->msg_style;
        fputs("conv ", stdout);
        if (style > 0 && style < (int)(sizeof style_names / sizeof style_names[0])
            && style_names[style] != NULL)
            fputs(style_names[style], stdout);
        else
            printf("%d", style);
        putchar(' ');
        print_str(msg[i]->msg);
        putchar('\n');
        if (rc != PAM_SUCCESS)
            continue;
        if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
            if (sc->head == sc->tail) {
                rc = PAM_CONV_ERR;          /* nothing left to answer */
            } else {
                struct answer *a = &sc->q[sc->head++];
                if (a->fail)
                    rc = a->fail;
                else if (a->text != NULL && (r[i].resp = strdup(a->text)) == NULL)
                    rc = PAM_BUF_ERR;
            }
        }
    }
    fflush(stdout);
    if (rc != PAM_SUCCESS) {
        for (int i = 0; i < num_msg; i++)
            free(r[i].resp);
        free(r);
        return rc;
    }
    *resp = r;
    return PAM_SUCCESS;
}

/* ---- script parsing ------------------------------------------------------ */

/* Split a line into tokens: bare words, "quoted strings" with \\ \" \n \r \t
 * \xNN escapes. The bare word NULL is a NULL pointer. Returns the count or -1. */
static int tokenize(char *line, char **tok, int *isnull, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p == '\0' || *p == '#')
            return n;
        if (n == max)
            return -1;
        if (*p == '"') {
            char *out = ++p;
            tok[n] = out;
            isnull[n] = 0;
            while (*p != '"') {
                if (*p == '\0')
                    return -1;
                if (*p == '\\') {
                    p++;
                    switch (*p) {
                    case 'n': *out++ = '\n'; p++; break;
                    case 'r': *out++ = '\r'; p++; break;
                    case 't': *out++ = '\t'; p++; break;
                    case 'x': {
                        char hex[3] = { 0, 0, 0 };
                        if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
                            return -1;
                        hex[0] = p[1];
                        hex[1] = p[2];
                        *out++ = (char)strtol(hex, NULL, 16);
                        p += 3;
                        break;
                    }
                    case '\0': return -1;
                    default: *out++ = *p++;
                    }
                } else {
                    *out++ = *p++;
                }
            }
            p++;
            *out = '\0';
            if (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                return -1;
            if (*p != '\0')
                p++;
            n++;
        } else {
            tok[n] = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                p++;
            if (*p != '\0')
                *p++ = '\0';
            isnull[n] = strcmp(tok[n], "NULL") == 0;
            n++;
        }
    }
}

static const char *arg(char **tok, int *isnull, int i)
{
    return isnull[i] ? NULL : tok[i];
}

static int bad_script(int lineno, const char *why)
{
    printf("script-error %d %s\n", lineno, why);
    return 2;
}

int main(int argc, char **argv)
{
    struct script_conv sc;
    struct pam_conv conv = { conv_fn, &sc };
    pam_handle_t *h = NULL;
    int started = 0, last = PAM_SUCCESS, lineno = 0;
    char line[4096];
    const char *confdir;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CONFDIR < script\n", argv[0]);
        return 2;
    }
    confdir = argv[1];
    memset(&sc, 0, sizeof sc);
    setvbuf(stdout, NULL, _IOLBF, 0);

    while (fgets(line, sizeof line, stdin) != NULL) {
        char *tok[MAX_TOKENS];
        int isnull[MAX_TOKENS];
        int n, rc, v;
        const char *cmd;

        lineno++;
        n = tokenize(line, tok, isnull, MAX_TOKENS);
        if (n < 0)
            return bad_script(lineno, "bad tokens");
        if (n == 0)
            continue;
        cmd = tok[0];

        if (strcmp(cmd, "answer") == 0) {
            if (n != 2 || sc.tail == MAX_ANSWERS)
                return bad_script(lineno, "answer TEXT|NULL");
            sc.q[sc.tail].text = isnull[1] ? NULL : strdup(tok[1]);
            sc.q[sc.tail++].fail = 0;
            continue;
        }
        if (strcmp(cmd, "conv_fail") == 0) {
            if (n != 2 || sc.tail == MAX_ANSWERS || lookup_code(tok[1], &v) != 0 || v == 0)
                return bad_script(lineno, "conv_fail CODE");
            sc.q[sc.tail].text = NULL;
            sc.q[sc.tail++].fail = v;
            continue;
        }
        if (strcmp(cmd, "start") == 0) {
            if (n != 3 || started)
                return bad_script(lineno, "start SERVICE USER (once)");
            started = 1;
            rc = pam_start_confdir(arg(tok, isnull, 1), arg(tok, isnull, 2), &conv,
                                   confdir, &h);
            printf("start ");
            print_code(rc);
            putchar('\n');
            if (rc != PAM_SUCCESS) {
                h = NULL;
                break;                      /* nothing more to do */
            }
            continue;
        }
        if (strcmp(cmd, "strerror") == 0) {
            if (n != 2 || lookup_code(tok[1], &v) != 0)
                return bad_script(lineno, "strerror CODE");
            printf("strerror %d ", v);
            print_str(pam_strerror(h, v));
            putchar('\n');
            continue;
        }
        if (!started || h == NULL)
            return bad_script(lineno, "no handle: start first");

        if (strcmp(cmd, "authenticate") == 0 || strcmp(cmd, "setcred") == 0
            || strcmp(cmd, "acct_mgmt") == 0 || strcmp(cmd, "open_session") == 0
            || strcmp(cmd, "close_session") == 0 || strcmp(cmd, "chauthtok") == 0) {
            int flags = 0;
            if (n > 2 || (n == 2 && lookup_flags(tok[1], &flags) != 0))
                return bad_script(lineno, "CALL [FLAGS]");
            fflush(stdout);
            if (strcmp(cmd, "authenticate") == 0)
                rc = pam_authenticate(h, flags);
            else if (strcmp(cmd, "setcred") == 0)
                rc = pam_setcred(h, flags);
            else if (strcmp(cmd, "acct_mgmt") == 0)
                rc = pam_acct_mgmt(h, flags);
            else if (strcmp(cmd, "open_session") == 0)
                rc = pam_open_session(h, flags);
            else if (strcmp(cmd, "close_session") == 0)
                rc = pam_close_session(h, flags);
            else
                rc = pam_chauthtok(h, flags);
            last = rc;
            printf("%s ", cmd);
            print_code(rc);
            putchar('\n');
        } else if (strcmp(cmd, "set_item") == 0) {
            if (n != 3 || lookup_item(tok[1], &v) != 0)
                return bad_script(lineno, "set_item ITEM VALUE");
            rc = pam_set_item(h, v, arg(tok, isnull, 2));
            printf("set_item %s ", tok[1]);
            print_code(rc);
            putchar('\n');
        } else if (strcmp(cmd, "get_item") == 0) {
            const void *val = NULL;
            if (n != 2 || lookup_item(tok[1], &v) != 0)
                return bad_script(lineno, "get_item ITEM");
            rc = pam_get_item(h, v, &val);
            printf("get_item %s ", tok[1]);
            print_code(rc);
            if (rc == PAM_SUCCESS) {
                putchar(' ');
                if (v == PAM_CONV || v == PAM_FAIL_DELAY || v == PAM_XAUTHDATA)
                    fputs(val ? "set" : "NULL", stdout);
                else
                    print_str(val);
            }
            putchar('\n');
        } else if (strcmp(cmd, "putenv") == 0) {
            if (n != 2)
                return bad_script(lineno, "putenv NAME=VALUE");
            rc = pam_putenv(h, arg(tok, isnull, 1));
            printf("putenv ");
            print_str(arg(tok, isnull, 1));
            putchar(' ');
            print_code(rc);
            putchar('\n');
        } else if (strcmp(cmd, "getenv") == 0) {
            if (n != 2 || isnull[1])
                return bad_script(lineno, "getenv NAME");
            printf("getenv %s ", tok[1]);
            print_str(pam_getenv(h, tok[1]));
            putchar('\n');
        } else if (strcmp(cmd, "getenvlist") == 0) {
            char **list = pam_getenvlist(h);
            fputs("getenvlist", stdout);
            if (list == NULL) {
                fputs(" NULL", stdout);
            } else {
                for (char **e = list; *e; e++) {
                    putchar(' ');
                    print_str(*e);
                }
                free_envlist(list);
            }
            putchar('\n');
        } else if (strcmp(cmd, "end") == 0) {
            int status = last;
            if (n > 2 || (n == 2 && lookup_code(tok[1], &status) != 0))
                return bad_script(lineno, "end [STATUS]");
            rc = pam_end(h, status);
            h = NULL;
            printf("end ");
            print_code(rc);
            putchar('\n');
            break;
        } else {
            return bad_script(lineno, "unknown command");
        }
    }

    if (h != NULL) {
        int rc = pam_end(h, last);
        printf("end ");
        print_code(rc);
        putchar('\n');
    }
    for (int i = 0; i < sc.tail; i++)
        free(sc.q[i].text);
    return 0;
}
