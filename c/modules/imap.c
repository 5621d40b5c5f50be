/*
 * imap.c - the built-in module "imap": a password is right when the
 * site's IMAP server accepts it for the user, through libcurl (loaded at
 * the first login, imap_curl.c). For a web application in front of a mail
 * server whose users and passwords live there (Dovecot, Cyrus, ...).
 *
 * auth only: authenticate logs in and closes the connection; setcred
 * PAM_SUCCESS.
 * The other hooks are not there (PAM_MODULE_UNKNOWN): the account,
 * password and session lines name other modules (examples/pam.d/webmail-imap).
 *
 * Arguments (every one logged and the module refusing with
 * PAM_SERVICE_ERR when it is not usable, unlike the store modules, which
 * keep a default: a typo in tls= or cafile= must not weaken the check)
 *   url=imaps://HOST[:PORT]   TLS from the first byte (port 993), or
 *   url=imap://HOST[:PORT]    port 143, with
 *   tls=starttls|none         imap:// only: STARTTLS required (the default;
 *                             a server that does not offer it is
 *                             unavailable), or plain text: the password
 *                             in the clear, for a server on the same host
 *                             or a network no one else reaches
 *   cafile=FILE               the CAs (PEM) the server's certificate must
 *                             chain to; default the system's. The
 *                             certificate and its host name are always
 *                             verified.
 *   timeout=S                 connect, TLS and login together, 1..300
 *                             (default 10)
 *   login_options=TEXT        libcurl's CURLOPT_LOGIN_OPTIONS ("AUTH=PLAIN",
 *                             "AUTH=*"); default: the server's best
 *   nodelay                   no 2-second failure delay request
 *   debug                     a log line for each accepted login
 *   use_first_pass try_first_pass use_authtok authtok_type=X
 *                             token reuse, by trex_pam_get_authtok()'s rules
 *
 * Return codes of authenticate
 *   the server accepted the login                       SUCCESS
 *   it refused it (libcurl's CURLE_LOGIN_DENIED)        AUTH_ERR
 *   a name or password that cannot be sent as it is: empty, over 255 bytes
 *   (name) or 1024 (password), or a CR or LF in it (a C string has no NUL)
 *                                                       AUTH_ERR, the server
 *                                                       not contacted
 *   no connection, no answer within timeout, TLS failed (certificate,
 *   host name, handshake, no STARTTLS), a broken reply  AUTHINFO_UNAVAIL
 *   libcurl cannot be loaded, or speaks no IMAP         AUTHINFO_UNAVAIL
 *   an argument not usable, no url=                     SERVICE_ERR
 * Each failure is one log line naming the server (host:port) and, for an
 * unavailable one, libcurl's text for the error (curl_easy_strerror): never
 * the password, never the server's reply. The user name is logged, as
 * userdb does.
 *
 * No state is kept between logins: each one is a new connection.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "registry.h"
#include "modargs.h"
#include "imap.h"

#define WHO             "imap"
#define USER_MAX        255
#define PASS_MAX        1024
#define TIMEOUT_DEFAULT 10
#define TIMEOUT_MAX     300
#define FAIL_DELAY      2000000        /* pam_unix's 2 s, as userdb asks */

struct opts {
    const char *url, *cafile, *login_options;
    int tls;                           /* enum tp_imap_tls */
    int64_t timeout;
    int nodelay, debug;
    int use_first_pass, use_authtok;   /* read by trex_pam_get_authtok */
};

#define OPT(field) offsetof(struct opts, field)
static const struct tp_arg args[] = {
    { "url", TP_ARG_TEXT, OPT(url), 0, 0, 0 },
    { "tls=starttls", TP_ARG_WORD, OPT(tls), TP_IMAP_STARTTLS, 0, 0 },
    { "tls=none", TP_ARG_WORD, OPT(tls), TP_IMAP_PLAIN, 0, 0 },
    { "cafile", TP_ARG_TEXT, OPT(cafile), 0, 0, 0 },
    { "timeout", TP_ARG_NUMBER, OPT(timeout), 1, TIMEOUT_MAX, 0 },
    { "login_options", TP_ARG_TEXT, OPT(login_options), 0, 0, 0 },
    { "nodelay", TP_ARG_FLAG, OPT(nodelay), 0, 0, 0 },
    { "debug", TP_ARG_FLAG, OPT(debug), 0, 0, 0 },
    { "use_first_pass", TP_ARG_FLAG, OPT(use_first_pass), 0, 0, 0 },
    { "use_authtok", TP_ARG_FLAG, OPT(use_authtok), 0, 0, 0 },
    { "try_first_pass", TP_ARG_SKIP, 0, 0, 0, 0 },          /* reuse is the default */
    { "authtok_type", TP_ARG_SKIP_VALUE, 0, 0, 0, 0 },      /* read by trex_pam_get_authtok */
};
static const struct tp_args table = {
    args, TP_ARGS_COUNT(args), "imap: bad value in option [%.*s]", TP_ARGS_WHOLE,
    "imap: unrecognized option [%.*s]",
};

/* ---- the url ------------------------------------------------------------------ */

static int host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_';
}

int tp_imap_url_parse(const char *url, struct tp_imap_url *u, char *why, size_t whylen)
{
    const char *p, *end;
    size_t n;

    memset(u, 0, sizeof *u);
    if (strncmp(url, "imaps://", 8) == 0) {
        u->implicit_tls = 1;
        u->port = 993;
        p = url + 8;
    } else if (strncmp(url, "imap://", 7) == 0) {
        u->port = 143;
        p = url + 7;
    } else {
        snprintf(why, whylen, "url= must start with imaps:// or imap://");
        return -1;
    }
    n = strcspn(p, "@/?#");                         /* only a final "/" may follow the host */
    if (p[n] != '\0' && !(p[n] == '/' && p[n + 1] == '\0')) {
        snprintf(why, whylen, "url=: only imap[s]://HOST[:PORT] (no user, path or query)");
        return -1;
    }
    if (*p == '[') {                                /* an IPv6 literal */
        for (end = p + 1; *end != ']' && *end != '\0'; end++)
            if (!((*end >= '0' && *end <= '9') || (*end >= 'a' && *end <= 'f') ||
                  (*end >= 'A' && *end <= 'F') || *end == ':' || *end == '.'))
                break;
        if (*end != ']' || end == p + 1) {
            snprintf(why, whylen, "url=: a bad IPv6 address");
            return -1;
        }
        end++;
    } else {
        for (end = p; host_char(*end); end++)
            ;
        if (end == p) {
            snprintf(why, whylen, "url=: no host name (and no user, path or query)");
            return -1;
        }
    }
    if ((n = (size_t)(end - p)) >= sizeof u->host) {
        snprintf(why, whylen, "url=: the host name is too long");
        return -1;
    }
    memcpy(u->host, p, n);
    u->host[n] = '\0';
    if (*end == ':') {
        unsigned int port = 0;
        for (end++, n = 0; *end >= '0' && *end <= '9' && port <= 65535; end++, n++)
            port = port * 10 + (unsigned int)(*end - '0');
        if (n == 0 || port == 0 || port > 65535) {
            snprintf(why, whylen, "url=: a bad port");
            return -1;
        }
        u->port = port;
    }
    if (*end == '/')
        end++;
    if (*end != '\0') {
        snprintf(why, whylen, "url=: only imap[s]://HOST[:PORT] (no user, path or query)");
        return -1;
    }
    return 0;
}

/* ---- arguments ---------------------------------------------------------------- */

/* The line's options and its server: 0, or -1 with why (not logged). */
static int read_opts(trex_pam_handle_t *h, int argc, const char **argv, struct opts *o,
                     struct tp_imap_url *u, char *why, size_t whylen)
{
    memset(o, 0, sizeof *o);
    o->tls = TP_IMAP_STARTTLS;
    o->timeout = TIMEOUT_DEFAULT;
    if (tp_args_parse(h, &table, argc, argv, o) != 0) {
        snprintf(why, whylen, "an argument is not usable (logged)");
        return -1;
    }
    if (o->url == NULL) {
        snprintf(why, whylen, "no url= argument");
        return -1;
    }
    if (tp_imap_url_parse(o->url, u, why, whylen) != 0)
        return -1;
    if (u->implicit_tls && o->tls == TP_IMAP_PLAIN) {
        snprintf(why, whylen, "tls=none with an imaps:// url");
        return -1;
    }
    if (o->cafile != NULL && *o->cafile == '\0') {
        snprintf(why, whylen, "cafile= names no file");
        return -1;
    }
    if (o->login_options != NULL && (*o->login_options == '\0' ||
                                     strpbrk(o->login_options, "\r\n") != NULL)) {
        snprintf(why, whylen, "login_options= is empty or has a line end");
        return -1;
    }
    return 0;
}

/* What IMAP can carry: 1..max bytes, no CR or LF (a LOGIN command is one line). */
static int sendable(const char *s, size_t max)
{
    size_t n = strlen(s);
    return n > 0 && n <= max && strpbrk(s, "\r\n") == NULL;
}

/* ---- hooks -------------------------------------------------------------------- */

static int imap_authenticate(trex_pam_handle_t *h, int flags, int argc, const char **argv,
                             void *inst)
{
    struct opts o;
    struct tp_imap_url u;
    struct tp_imap_login l;
    const char *user = NULL, *password = NULL;
    char why[256];
    int rc;

    if (read_opts(h, argc, argv, &o, &u, why, sizeof why) != 0) {
        trex_pam_log(h, LOG_ERR, "imap: %s", why);
        return TREX_PAM_SERVICE_ERR;
    }
    if ((rc = trex_pam_get_user(h, &user, NULL)) != TREX_PAM_SUCCESS)
        return rc == TREX_PAM_CONV_AGAIN ? TREX_PAM_INCOMPLETE : rc;
    if ((rc = trex_pam_get_authtok(h, TREX_PAM_AUTHTOK, &password, NULL)) != TREX_PAM_SUCCESS) {
        if (rc == TREX_PAM_CONV_AGAIN)
            return TREX_PAM_INCOMPLETE;
        trex_pam_log(h, LOG_CRIT, "imap: auth could not identify password for [%s]", user);
        return rc;
    }
    if (!o.nodelay)
        (void)trex_pam_fail_delay(h, FAIL_DELAY);
    if (!sendable(user, USER_MAX) || !sendable(password, PASS_MAX)) {
        trex_pam_log(h, LOG_NOTICE, "imap: a user name or password IMAP cannot carry (empty,"
                     " too long, or a line end); %s:%u not asked", u.host, u.port);
        return TREX_PAM_AUTH_ERR;
    }

    l = (struct tp_imap_login){ .url = o.url, .tls = o.tls, .cafile = o.cafile,
                                .login_options = o.login_options,
                                .timeout_ms = (long)o.timeout * 1000, .user = user,
                                .password = password };
    switch (tp_imap_curl_login(&l, why, sizeof why)) {
    case TP_IMAP_OK:
        if (o.debug)
            trex_pam_log(h, LOG_DEBUG, "imap: %s:%u accepted the login of %s", u.host, u.port, user);
        return TREX_PAM_SUCCESS;
    case TP_IMAP_DENIED:
        trex_pam_log(h, LOG_NOTICE, "imap: %s:%u refused the login of %s", u.host, u.port, user);
        return TREX_PAM_AUTH_ERR;
    case TP_IMAP_NOLIB:
        trex_pam_log(h, LOG_ERR, "imap: %s", why);
        return TREX_PAM_AUTHINFO_UNAVAIL;
    case TP_IMAP_NOMEM:
        trex_pam_log(h, LOG_CRIT, "imap: %s:%u: %s", u.host, u.port, why);
        return TREX_PAM_BUF_ERR;
    case TP_IMAP_UNAVAIL:
        break;
    }
    trex_pam_log(h, LOG_ERR, "imap: %s:%u: %s", u.host, u.port, why);
    return TREX_PAM_AUTHINFO_UNAVAIL;
}

static int imap_setcred(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    return TREX_PAM_SUCCESS;
}

/* trex-pam check-config: the arguments, cafile= readable, libcurl loadable
 * with IMAP. The server is not asked (a login needs a password). */
static int imap_check(trex_pam_handle_t *h, int argc, const char **argv, void *inst, char *why,
                      size_t whylen)
{
    struct opts o;
    struct tp_imap_url u;
    char buf[512];

    if (read_opts(h, argc, argv, &o, &u, buf, sizeof buf) != 0) {
        snprintf(why, whylen, "imap: %s", buf);
        return TREX_PAM_SERVICE_ERR;
    }
    if (o.cafile != NULL && access(o.cafile, R_OK) != 0) {
        snprintf(why, whylen, "imap: cafile=%.200s cannot be read", o.cafile);
        return TREX_PAM_SERVICE_ERR;
    }
    if (tp_imap_curl_load(buf, sizeof buf) != 0) {
        snprintf(why, whylen, "imap: %s", buf);
        return TREX_PAM_AUTHINFO_UNAVAIL;
    }
    return TREX_PAM_SUCCESS;
}

const struct trex_pam_module tp_mod_imap = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "imap",
    .authenticate = imap_authenticate,
    .setcred = imap_setcred,
    .check = imap_check,
};
