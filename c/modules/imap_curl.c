/*
 * imap_curl.c - the imap module's use of libcurl (imap.h): the library
 * is dlopen'ed at the first login and kept for the life of the process,
 * as store/pg_lib.c does with libpq, so that a CGI process that never
 * logs in through IMAP loads neither libcurl nor its TLS library.
 *
 * One login is one easy handle with CURLOPT_CONNECT_ONLY: libcurl's IMAP
 * connect phase reads the greeting, asks CAPABILITY, runs STARTTLS when
 * asked to, and logs in (LOGIN, or SASL AUTHENTICATE when the server or
 * login_options calls for it), and the perform stops there: no SELECT, no
 * mailbox is read. curl_easy_cleanup closes the connection without a
 * LOGOUT (Dovecot logs "Connection closed (No commands sent)").
 *
 * Never set here, so that no credential can reach a log: CURLOPT_VERBOSE,
 * a debug callback, CURLOPT_ERRORBUFFER (its text may quote the server's
 * reply to our LOGIN); a failure is named by curl_easy_strerror only.
 * libcurl keeps its own copy of the password while the handle lives and
 * frees it without wiping it: that copy is out of our reach.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <curl/curl.h>
#include "imap.h"

#define LIBCURL "libcurl.so.4"

/* Members not named as libcurl's functions: curl.h makes curl_easy_setopt
 * a type-checking macro under GCC, which would expand "lib.curl_easy_setopt(". */
static struct {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_version_info) *version_info;
    __typeof__(curl_easy_init) *init;
    __typeof__(curl_easy_setopt) *setopt;
    __typeof__(curl_easy_perform) *perform;
    __typeof__(curl_easy_cleanup) *cleanup;
    __typeof__(curl_easy_strerror) *strerror;
} lib;

static char load_error[512];

static int speaks(const curl_version_info_data *v, const char *proto)
{
    for (const char *const *p = v->protocols; p != NULL && *p != NULL; p++)
        if (strcmp(*p, proto) == 0)
            return 1;
    return 0;
}

static void load(void)
{
    void *dl = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
    const curl_version_info_data *v;
    const char *e;

    if (dl == NULL) {
        e = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load " LIBCURL " (install libcurl4): %s",
                 e != NULL ? e : "unknown error");
        return;
    }
    /* data pointers to function pointers: POSIX allows it, ISO C does not say */
#define SYM(field, name)                                                             \
    if (load_error[0] == '\0' && (*(void **)&lib.field = dlsym(dl, name)) == NULL)    \
        snprintf(load_error, sizeof load_error,                                      \
                 "cannot load " LIBCURL " (install libcurl4): no symbol %s", name);
    SYM(global_init, "curl_global_init")
    SYM(version_info, "curl_version_info")
    SYM(init, "curl_easy_init")
    SYM(setopt, "curl_easy_setopt")
    SYM(perform, "curl_easy_perform")
    SYM(cleanup, "curl_easy_cleanup")
    SYM(strerror, "curl_easy_strerror")
#undef SYM
    if (load_error[0] == '\0' && lib.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        snprintf(load_error, sizeof load_error, LIBCURL ": curl_global_init failed");
    if (load_error[0] == '\0') {
        v = lib.version_info(CURLVERSION_NOW);
        if (v == NULL || !speaks(v, "imap") || !speaks(v, "imaps") || !(v->features & CURL_VERSION_SSL))
            snprintf(load_error, sizeof load_error,
                     LIBCURL " %s has no imap and imaps (install libcurl4)",
                     v != NULL && v->version != NULL ? v->version : "(unknown version)");
        else if (v->version_num < 0x075500)    /* CURLOPT_PROTOCOLS_STR */
            snprintf(load_error, sizeof load_error, LIBCURL " %s is older than 7.85.0",
                     v->version != NULL ? v->version : "(unknown version)");
    }
    if (load_error[0] != '\0')
        memset(&lib, 0, sizeof lib);          /* never half a table */
    /* never dlclose'd: libcurl and its TLS library keep global state */
}

int tp_imap_curl_load(char *why, size_t whylen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, load);
    if (load_error[0] == '\0')
        return 0;
    snprintf(why, whylen, "%s", load_error);
    return -1;
}

/* The result for a libcurl code: only a refused login is the user's. */
static enum tp_imap_result result_of(CURLcode c)
{
    switch (c) {
    case CURLE_OK:
        return TP_IMAP_OK;
    case CURLE_LOGIN_DENIED:
        return TP_IMAP_DENIED;
    case CURLE_OUT_OF_MEMORY:
        return TP_IMAP_NOMEM;
    default:               /* connect, resolve, TLS, time-out, a broken reply, ... */
        return TP_IMAP_UNAVAIL;
    }
}

enum tp_imap_result tp_imap_curl_login(const struct tp_imap_login *l, char *why, size_t whylen)
{
    CURL *c;
    CURLcode rc = CURLE_OK;
    long secs = (l->timeout_ms + 999) / 1000;

    if (tp_imap_curl_load(why, whylen) != 0)
        return TP_IMAP_NOLIB;
    if ((c = lib.init()) == NULL) {
        snprintf(why, whylen, "curl_easy_init failed");
        return TP_IMAP_NOMEM;
    }
#define SET(opt, val) \
    if (rc == CURLE_OK) \
        rc = lib.setopt(c, opt, val)
    SET(CURLOPT_URL, l->url);
    SET(CURLOPT_PROTOCOLS_STR, "imap,imaps");
    SET(CURLOPT_CONNECT_ONLY, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);                 /* no SIGALRM: threads, and the caller's handlers */
    SET(CURLOPT_NOPROGRESS, 1L);
    SET(CURLOPT_VERBOSE, 0L);
    SET(CURLOPT_FORBID_REUSE, 1L);
    SET(CURLOPT_TIMEOUT_MS, l->timeout_ms);    /* connect, TLS, greeting, STARTTLS, login */
    SET(CURLOPT_CONNECTTIMEOUT_MS, l->timeout_ms);
    /* each reply: the default is 120 s, longer than the whole */
    SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, secs > 0 ? secs : 1L);
    SET(CURLOPT_USE_SSL, l->tls == TP_IMAP_PLAIN ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (l->cafile != NULL)
        SET(CURLOPT_CAINFO, l->cafile);
    if (l->login_options != NULL)
        SET(CURLOPT_LOGIN_OPTIONS, l->login_options);
    SET(CURLOPT_USERNAME, l->user);
    SET(CURLOPT_PASSWORD, l->password);
#undef SET
    if (rc == CURLE_OK)
        rc = lib.perform(c);
    lib.cleanup(c);
    if (rc != CURLE_OK)
        snprintf(why, whylen, "%s", lib.strerror(rc));
    return result_of(rc);
}
