/*
 * imap.h - what the imap module's two files share (private to c/modules/):
 * imap_curl.c loads libcurl at the first login (never linked: a process
 * that never logs in through IMAP does not pay for libcurl, OpenSSL and
 * their initialisation) and runs one login; imap.c is the module.
 */
#ifndef TP_IMAP_H
#define TP_IMAP_H

#include <stddef.h>
#include <stdint.h>

#define TP_IMAP_HOST_MAX 256          /* a host name (253) or [IPv6 literal] */

/* A parsed url= argument: imap://host[:port] or imaps://host[:port], an
 * optional "/" and nothing else (no user, path or query). */
struct tp_imap_url {
    int implicit_tls;                 /* imaps:// */
    char host[TP_IMAP_HOST_MAX];      /* as written, brackets of an IPv6 literal included */
    unsigned int port;                /* 143 or 993 when the URL names none */
};

/* 0 and *u filled, or -1 with why (one line, the URL not included). */
int tp_imap_url_parse(const char *url, struct tp_imap_url *u, char *why, size_t whylen);

enum tp_imap_tls { TP_IMAP_STARTTLS, TP_IMAP_PLAIN };

struct tp_imap_login {
    const char *url;                  /* as given (checked by tp_imap_url_parse) */
    int tls;                          /* enum tp_imap_tls: imap:// only */
    const char *cafile;               /* NULL: the system's CAs */
    const char *login_options;        /* CURLOPT_LOGIN_OPTIONS, or NULL */
    long timeout_ms;                  /* connect, TLS and login together */
    const char *user, *password;
};

enum tp_imap_result {
    TP_IMAP_OK,                       /* the server accepted the login */
    TP_IMAP_DENIED,                   /* it refused it */
    TP_IMAP_UNAVAIL,                  /* no answer, no connection, TLS failed, ... */
    TP_IMAP_NOLIB,                    /* libcurl cannot be loaded or has no IMAP */
    TP_IMAP_NOMEM
};

/* Loads libcurl (once per process): 0, or -1 with why (one line). Also
 * says whether this libcurl speaks imap and imaps. */
int tp_imap_curl_load(char *why, size_t whylen);

/* One login with libcurl (loading it first); why gets libcurl's text for
 * the failure (curl_easy_strerror: never a credential) or the load error. */
enum tp_imap_result tp_imap_curl_login(const struct tp_imap_login *l, char *why, size_t whylen);

#endif /* TP_IMAP_H */
