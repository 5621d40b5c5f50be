/*
 * pg_lib.c - libpq, loaded at the first open of a PostgreSQL location and
 * never before (pg.h): a process on the SQLite store does not pay for
 * libpq, libssl, gssapi or ldap.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "pg.h"

#define LIBPQ "libpq.so.5"

struct tp_pq tp_pq;

static char load_error[512];

static void load(void)
{
    void *h = dlopen(LIBPQ, RTLD_NOW | RTLD_LOCAL);
    const char *e;

    if (h == NULL) {
        e = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load " LIBPQ " (install libpq5): %s",
                 e != NULL ? e : "unknown error");
        return;
    }
#define TP_PQ_SYM(f)                                                              \
    if (load_error[0] == '\0' && (tp_pq.f = (__typeof__(f) *)dlsym(h, #f)) == NULL) \
        snprintf(load_error, sizeof load_error,                                  \
                 "cannot load " LIBPQ " (install libpq5): no symbol %s", #f);
    TP_PQ_FUNCS(TP_PQ_SYM)
#undef TP_PQ_SYM
    if (load_error[0] != '\0') {
        memset(&tp_pq, 0, sizeof tp_pq);    /* never half a table */
        return;
    }
#define TP_PQ_OPT(f) tp_pq.f = (__typeof__(f) *)dlsym(h, #f);
    TP_PQ_PIPELINE_FUNCS(TP_PQ_OPT)
#undef TP_PQ_OPT
    /* all of them or none */
    if (tp_pq.PQenterPipelineMode == NULL || tp_pq.PQexitPipelineMode == NULL
        || tp_pq.PQpipelineSync == NULL)
        tp_pq.PQenterPipelineMode = NULL;
    /* never dlclose'd: libpq registers its own handlers (OpenSSL) */
}

int tp_pg_load(char *why, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, load);
    if (load_error[0] == '\0')
        return 0;
    snprintf(why, n, "%s", load_error);
    return -1;
}

void tp_pg_one_line(char *m)
{
    char *o = m;

    for (const char *i = m; *i != '\0'; i++) {
        if (*i == '\n' || *i == '\r') {
            while (i[1] == '\n' || i[1] == '\r' || i[1] == '\t' || i[1] == ' ')
                i++;
            *o++ = ' ';
        } else {
            *o++ = *i == '\t' ? ' ' : *i;
        }
    }
    while (o > m && o[-1] == ' ')
        o--;
    *o = '\0';
}
