/*
 * glue.h - what the Perl binding's C files share (xs/): the per-handle
 * state, conversions between Perl values and C, the two callbacks from the
 * core into Perl, items and environment for both TRex::PAM and
 * TRex::PAM::ModuleHandle, the perl:Package module bridge, and the helpers
 * of TRex::PAM::DB.
 *
 *   PAM.xs              TRex::PAM: the application API (INCLUDEs the two below)
 *   ModuleHandle.xsh    TRex::PAM::ModuleHandle: what a perl: module calls
 *   DB.xsh              TRex::PAM::DB: the administrator's class
 *   glue.c              conversions, the conversation and fail-delay callbacks
 *   items.c             items, environment, fail delay
 *   bridge.c            perl:Package modules, the module handle, module data
 *   admin.c             TRex::PAM::DB's objects, arguments and results
 *
 * Only the public headers of c/include are used: the binding knows the
 * core as any application does. Everything declared here is hidden: the
 * shared object exports boot_TRex__PAM alone.
 *
 * Strings are bytes. A value C cannot hold unchanged (a wide character, an
 * embedded NUL, a number outside int) is refused with PAM_BAD_ITEM. Misuse
 * (a non-handle where a handle belongs, a wrong argument count) croaks,
 * naming the function and the argument.
 */
#ifndef TPX_GLUE_H
#define TPX_GLUE_H

#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "trex_pam.h"
#include "trex_pam_module.h"
#include "trex_pam_admin.h"

#ifndef G_LIST
#define G_LIST G_ARRAY
#endif

#ifdef MULTIPLICITY
#define TPX_SAVE_PERL(st) ((st)->perl = aTHX)
#define dTPX_PERL(st) dTHXa((st)->perl)
#else
#define TPX_SAVE_PERL(st) ((void)(st))
#define dTPX_PERL(st) dNOOP
#endif

#pragma GCC visibility push(hidden)

/* ---- state ---------------------------------------------------------------------- */

/* Everything the XS keeps per handle. Lives until the Perl object is freed;
 * h is NULL once the handle has ended. */
typedef struct tpx_state {
    trex_pam_handle_t *h;
    SV *conv;                   /* the Perl conversation: a code ref */
    SV *delay;                  /* the PAM_FAIL_DELAY code ref, or NULL */
    struct trex_pam_conv cconv; /* { tpx_conv_shim, this } as the core holds it */
    AV *args;                   /* the interpreter's conversation arguments (glue.c), or NULL */
#ifdef MULTIPLICITY
    PerlInterpreter *perl;
#endif
} tpx_state;

/* One perl:Package module of a stack (the module instance). It belongs to
 * the parsed configuration, which the interpreter's cache may share between
 * handles: so it knows its interpreter, never a handle. */
typedef struct tpx_pm {
    SV *pkg;                    /* package name */
#ifdef MULTIPLICITY
    PerlInterpreter *perl;
#endif
} tpx_pm;

/* What a TRex::PAM::ModuleHandle points at; h is NULL outside the call. */
typedef struct tpx_mh {
    trex_pam_handle_t *h;
    tpx_state *st;
} tpx_mh;

/* A Perl value stored with set_data, and its optional cleanup code ref. */
typedef struct tpx_data {
    SV *sv;
    SV *cleanup;
#ifdef MULTIPLICITY
    PerlInterpreter *perl;
#endif
} tpx_data;

typedef tpx_state *TRexPAM;
typedef tpx_mh *TRexModuleHandle;

/* A Perl string as C bytes (tpx_bytes). */
typedef struct tpx_str {
    const char *p;              /* NULL for undef */
    STRLEN len;
    SV *copy;                   /* a downgraded copy, wiped by tpx_bytes_done */
} tpx_str;

/* ---- glue.c ------------------------------------------------------------------ */
/* A die left in $@ (a plain string, or any reference). Never calls overloading. */
int tpx_died(pTHX_ SV *err);
/* local $@ around a callback run under G_EVAL, after ENTER: its value
 * is restored by LEAVE, or, when it was the plain empty string (no new SV
 * is made then), emptied again by tpx_errsv_done, which must run before
 * LEAVE with what tpx_errsv_local returned. */
int tpx_errsv_local(pTHX);
void tpx_errsv_done(pTHX_ int localized);
/* Log what a callback died with, without ever stringifying an object. */
void tpx_log_died(pTHX_ const trex_pam_handle_t *h, const char *what, SV *err);
/* A Perl number that fits in unsigned int exactly: 1; undef is 0; 0 when it
 * does not fit (tpx_to_int, below, for int). */
int tpx_to_uint(pTHX_ SV *sv, unsigned int *out);
/* A status returned by Perl code (conversation, module hook): a plain
 * number that fits in int. Never dies: no magic, no overloading. */
int tpx_status(pTHX_ SV *sv, int *out);
/* A new mortal string for a C string, undef for NULL. */
SV *tpx_mortal_str(pTHX_ const char *p);
int tpx_is_code(pTHX_ SV *sv);
/* Croaks "Package::function: arg is not what", naming the running XSUB. */
void tpx_croak_arg(pTHX_ CV *cv, const char *arg, const char *what) __attribute__noreturn__;
/* The ext magic of vtbl on the referent of sv, or NULL. */
MAGIC *tpx_find_magic(pTHX_ SV *sv, const MGVTBL *vtbl);
/* The C conversation the core calls; appdata is the tpx_state. */
int tpx_conv_shim(int n, const struct trex_pam_message **msg, struct trex_pam_response **resp,
                  void *appdata);
/* PAM_FAIL_DELAY: the Perl coderef gets ($status, $usec). */
void tpx_delay_shim(int status, unsigned int usec, void *appdata);

/* ---- items.c ----------------------------------------------------------------- */
/* pam_get_item / pam_set_item of a number or a "TREX_" name; st is the
 * handle's state (its conversation and delay code refs), h NULL when ended. */
int tpx_get_item(pTHX_ tpx_state *st, trex_pam_handle_t *h, SV *type, SV *out);
int tpx_set_item(pTHX_ tpx_state *st, trex_pam_handle_t *h, SV *type, SV *val);
int tpx_putenv(pTHX_ trex_pam_handle_t *h, SV *nv);
SV *tpx_getenv(pTHX_ trex_pam_handle_t *h, SV *name);
/* Pushes NAME, VALUE for each entry, split at the first '='; the new SP. */
SV **tpx_push_envlist(pTHX_ SV **sp, trex_pam_handle_t *h);
int tpx_fail_delay(pTHX_ trex_pam_handle_t *h, SV *usec);

/* ---- bridge.c ---------------------------------------------------------------- */
/* The resolver of "perl:Package" module names (resolve_data: the tpx_state). */
int tpx_resolve(trex_pam_handle_t *pamh, void *data, const char *name,
                const struct trex_pam_module **mod, void **instance);
/* The typemap's check: a TRex::PAM::ModuleHandle or croak. */
tpx_mh *tpx_mh_of(pTHX_ SV *sv, CV *cv, const char *arg);
/* Module data of a perl: module: replaced or at pam_end, the Perl cleanup
 * gets ($value, $status). */
void tpx_data_cleanup(trex_pam_handle_t *h, void *data, int status);
/* "perl:NAME" for a module's data name (mortal), or NULL if not a string. */
SV *tpx_data_name(pTHX_ SV *name);

/* ---- admin.c ----------------------------------------------------------------- */
typedef struct tpx_db {
    trex_pam_db_t *db;          /* NULL once closed */
    pid_t pid;                  /* the process that opened it */
    int status;                 /* of the last call */
} tpx_db;

/* The strings an XSUB converted: released (copies wiped) at the end, or
 * before any croak, so that a croak leaks and leaves nothing behind. */
typedef struct tpx_strs {
    tpx_str *v;
    size_t n, cap;
} tpx_strs;

/* A blessed TRex::PAM::DB object (mortal) holding db, in klass's package. */
SV *tpx_db_wrap(pTHX_ CV *cv, SV *klass, trex_pam_db_t *db);
/* Close once. In a forked child the connection is the parent's: it is
 * dropped, not closed (SQLite must not close a connection across fork). */
void tpx_db_close(tpx_db *d);
/* The object's state, or NULL if sv is none. */
tpx_db *tpx_db_maybe(pTHX_ SV *sv);
/* The object's state, or croak. live: also croak if it is closed or belongs
 * to another process. */
tpx_db *tpx_db_of(pTHX_ SV *sv, CV *cv, int live);
/* Croak as "TRex::PAM::DB::fn: <message>". */
void tpx_db_croak(pTHX_ CV *cv, const char *fmt, ...)
    __attribute__format__(__printf__, pTHX_2, pTHX_3) __attribute__noreturn__;
/* The outcome of a call: returns if it succeeded, else croaks with the reason. */
void tpx_db_check(pTHX_ CV *cv, tpx_db *d, int rc);
void tpx_strs_done(pTHX_ tpx_strs *ss);
/* The bytes of sv (NULL for undef if undef_ok), or croak naming arg. */
const char *tpx_db_str(pTHX_ CV *cv, tpx_strs *ss, SV *sv, const char *arg, int undef_ok);
/* An integer of [min, max] (get-magic once), or croak naming arg. */
int64_t tpx_db_num(pTHX_ CV *cv, tpx_strs *ss, SV *sv, const char *arg, int64_t min,
                   int64_t max);
/* name => value pairs of args[0..n-1] into vals, by the NULL-terminated
 * names (absent: NULL). Croaks on an odd count or an unknown name; call it
 * before converting any string. */
void tpx_db_opts(pTHX_ CV *cv, SV **args, I32 n, const char *const *names, SV **vals);
/* A faillock duration argument: seconds 0..max, or "never" (0) where
 * never_ok; undef or absent: dflt. */
int64_t tpx_db_secs(pTHX_ CV *cv, tpx_strs *ss, SV *sv, const char *arg, int64_t max,
                    int never_ok, int64_t dflt);
/* The list callbacks: each user, session or failure time onto w->av. */
typedef struct tpx_db_walk {
    AV *av;
    int with_hash;
#ifdef MULTIPLICITY
    PerlInterpreter *perl;
#endif
} tpx_db_walk;
HV *tpx_db_user_hv(pTHX_ const struct trex_pam_db_user *u, int with_hash);
int tpx_db_user_walk(void *data, const struct trex_pam_db_user *u);
int tpx_db_session_walk(void *data, const struct trex_pam_db_session *x);
int tpx_db_fail_walk(void *data, int64_t time, int count);
/* Each user's tally ({ user, times }), each note of a copy ({ kind, name,
 * text }) onto w->av; the counts of a copy as a new HV. */
int tpx_db_tally_walk(void *data, const char *user, const int64_t *times, size_t n);
void tpx_db_copy_note(void *data, const char *kind, const char *name, const char *text);
HV *tpx_db_count_hv(pTHX_ const struct trex_pam_db_copy_count *c);

#pragma GCC visibility pop

/* ---- the conversions every XSUB makes, inline in each file ----------------- */

/* What an argument holds, its get-magic run once: ARG_NONE (undef, or no
 * SV at all: C's NULL or 0), ARG_REF (a plain reference: refused), or
 * ARG_VALUE (a value to convert). */
enum { ARG_NONE, ARG_REF, ARG_VALUE };
static inline int tpx_arg_kind(pTHX_ SV *sv)
{
    if (sv == NULL)
        return ARG_NONE;
    SvGETMAGIC(sv);
    if (!SvOK(sv))
        return ARG_NONE;
    return SvROK(sv) && !SvAMAGIC(sv) ? ARG_REF : ARG_VALUE;
}

/* A Perl number that fits in int exactly. undef (or a NULL SV) is 0. */
static inline int tpx_to_int(pTHX_ SV *sv, int *out)
{
    NV nv;
    int kind = tpx_arg_kind(aTHX_ sv);

    *out = 0;
    if (kind != ARG_VALUE)
        return kind == ARG_NONE;
    if (SvIOK(sv) && !SvNOK(sv) && !SvPOK(sv)) {
        if (SvIsUV(sv)) {
            if (SvUVX(sv) > (UV)INT_MAX)
                return 0;
            *out = (int)SvUVX(sv);
            return 1;
        }
        if (SvIVX(sv) < INT_MIN || SvIVX(sv) > INT_MAX)
            return 0;
        *out = (int)SvIVX(sv);
        return 1;
    }
    nv = SvNV_nomg(sv);
    if (!(nv >= (NV)INT_MIN && nv <= (NV)INT_MAX) || nv != (NV)(int)nv)
        return 0;
    *out = (int)nv;
    return 1;
}

/* Wipes and frees the copy tpx_bytes made, if any. */
static inline void tpx_bytes_done(pTHX_ tpx_str *s)
{
    if (s->copy != NULL) {
        if (SvPVX(s->copy) != NULL && SvLEN(s->copy) > 0)
            trex_pam_wipe(SvPVX(s->copy), SvLEN(s->copy));
        SvREFCNT_dec(s->copy);
        s->copy = NULL;
    }
    s->p = NULL;
}

/*
 * Fill s with the bytes of sv: 1 on success (p NULL for undef), 0 when C
 * cannot hold the value unchanged: a wide character, an embedded NUL (unless
 * binary), or a plain (not overloaded) reference. May run get-magic and
 * string overloading, so only for XSUBs, never inside a callback shim.
 */
static inline int tpx_bytes(pTHX_ SV *sv, tpx_str *s, int binary)
{
    const char *pv;
    STRLEN len;
    int kind = tpx_arg_kind(aTHX_ sv);

    s->p = NULL;
    s->len = 0;
    s->copy = NULL;
    if (kind != ARG_VALUE)
        return kind == ARG_NONE;
    pv = SvPV_nomg(sv, len);
    if (SvUTF8(sv)) {
        s->copy = newSVpvn(pv, len);
        SvUTF8_on(s->copy);
        if (!sv_utf8_downgrade(s->copy, TRUE)) {
            tpx_bytes_done(aTHX_ s);
            return 0;
        }
        pv = SvPV_nomg(s->copy, len);
    }
    if (!binary && memchr(pv, '\0', len) != NULL) {
        tpx_bytes_done(aTHX_ s);
        return 0;
    }
    s->p = pv;
    s->len = len;
    return 1;
}

#endif /* TPX_GLUE_H */
