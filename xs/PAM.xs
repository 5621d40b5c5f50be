/*
 * PAM.xs - the Perl face of the TRex::PAM core (DESIGN.md section 2,
 * STYLE.md section 4).
 *
 * Thin glue: Perl values <-> calls of c/include/trex_pam.h. Three things are
 * more than a conversion:
 *   - the handle object: a blessed reference whose referent carries ext
 *     magic pointing at a tpx_state, so `bless \1234, 'TRex::PAM'` forges
 *     nothing; pam_end, DESTROY and the magic's svt_free end it once;
 *   - two callbacks from C into Perl: the conversation shim and the
 *     PAM_FAIL_DELAY shim. Both run the Perl code under G_EVAL with $@
 *     localized and never croak themselves;
 *   - "perl:Package" modules: a resolver hands the core a static module
 *     table whose hooks call Package::authenticate($mh, $flags, @args) etc.
 *     with a TRex::PAM::ModuleHandle that is valid during the call only.
 *
 * Strings are bytes. A value C cannot hold unchanged (a wide character, an
 * embedded NUL, a number outside int) is refused with PAM_BAD_ITEM. Misuse
 * (a non-handle where a handle belongs, a wrong argument count) croaks,
 * naming the function and the argument.
 */
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

/* ---- state ---------------------------------------------------------------------- */

/* Everything the XS keeps per handle. Lives until the Perl object is freed;
 * h is NULL once the handle has ended. */
typedef struct tpx_state {
    trex_pam_handle_t *h;
    SV *conv;                   /* the Perl conversation: a code ref */
    SV *delay;                  /* the PAM_FAIL_DELAY code ref, or NULL */
    struct trex_pam_conv cconv; /* { S_conv_shim, this } as the core holds it */
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

static int S_conv_shim(int n, const struct trex_pam_message **msg,
                       struct trex_pam_response **resp, void *appdata);
static void S_delay_shim(int status, unsigned int usec, void *appdata);

/* ---- small helpers ---------------------------------------------------------------- */

/* A die left in $@ (a plain string, or any reference). Never calls overloading. */
static int S_died(pTHX_ SV *err)
{
    if (err == NULL)
        return 0;
    if (SvROK(err))
        return 1;
    return SvTRUE_nomg(err) ? 1 : 0;
}

/* Log what a callback died with, without ever stringifying an object. */
static void S_log_died(pTHX_ const trex_pam_handle_t *h, const char *what, SV *err)
{
    const char *pv = "(exception object)";
    STRLEN len = strlen(pv);

    if (!SvROK(err) && SvPOK(err)) {
        pv = SvPVX_const(err);
        len = SvCUR(err);
        while (len > 0 && (pv[len - 1] == '\n' || pv[len - 1] == '\r'))
            len--;
        if (len > 900)
            len = 900;
    }
    trex_pam_log(h, LOG_ERR, "%s died: %.*s", what, (int)len, pv);
}

/* A Perl number that fits in int exactly. undef (or a NULL SV) is 0. */
static int S_to_int(pTHX_ SV *sv, int *out)
{
    NV nv;

    *out = 0;
    if (sv == NULL)
        return 1;
    SvGETMAGIC(sv);
    if (!SvOK(sv))
        return 1;
    if (SvROK(sv) && !SvAMAGIC(sv))
        return 0;
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

/* The same for an unsigned int (the fail delay). */
static int S_to_uint(pTHX_ SV *sv, unsigned int *out)
{
    NV nv;

    *out = 0;
    SvGETMAGIC(sv);
    if (!SvOK(sv))
        return 1;
    if (SvROK(sv) && !SvAMAGIC(sv))
        return 0;
    nv = SvNV_nomg(sv);
    if (!(nv >= 0 && nv <= (NV)UINT_MAX) || nv != (NV)(unsigned int)nv)
        return 0;
    *out = (unsigned int)nv;
    return 1;
}

/* A status returned by Perl code (conversation, module hook): a plain
 * number that fits in int. Never dies: no magic, no overloading. */
static int S_status(pTHX_ SV *sv, int *out)
{
    NV nv;

    if (sv == NULL || SvROK(sv) || SvGMAGICAL(sv) || !SvOK(sv) || !looks_like_number(sv))
        return 0;
    nv = SvNV_nomg(sv);
    if (!(nv >= (NV)INT_MIN && nv <= (NV)INT_MAX) || nv != (NV)(int)nv)
        return 0;
    *out = (int)nv;
    return 1;
}

/* A Perl string as C bytes. */
typedef struct tpx_str {
    const char *p;              /* NULL for undef */
    STRLEN len;
    SV *copy;                   /* a downgraded copy, wiped by S_str_done */
} tpx_str;

static void S_str_done(pTHX_ tpx_str *s)
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
static int S_str(pTHX_ SV *sv, tpx_str *s, int binary)
{
    const char *pv;
    STRLEN len;

    s->p = NULL;
    s->len = 0;
    s->copy = NULL;
    if (sv == NULL)
        return 1;
    SvGETMAGIC(sv);
    if (!SvOK(sv))
        return 1;
    if (SvROK(sv) && !SvAMAGIC(sv))
        return 0;
    pv = SvPV_nomg(sv, len);
    if (SvUTF8(sv)) {
        s->copy = newSVpvn(pv, len);
        SvUTF8_on(s->copy);
        if (!sv_utf8_downgrade(s->copy, TRUE)) {
            S_str_done(aTHX_ s);
            return 0;
        }
        pv = SvPV_nomg(s->copy, len);
    }
    if (!binary && memchr(pv, '\0', len) != NULL) {
        S_str_done(aTHX_ s);
        return 0;
    }
    s->p = pv;
    s->len = len;
    return 1;
}

/* A new mortal string for a C string, undef for NULL. */
static SV *S_mortal_str(pTHX_ const char *p)
{
    return p ? sv_2mortal(newSVpv(p, 0)) : &PL_sv_undef;
}

/* A malloc'd copy of a secret C string, wiped and freed by the caller. */
static void S_drop(char **p)
{
    if (*p != NULL) {
        trex_pam_wipe(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

static int S_is_code(pTHX_ SV *sv)
{
    return SvROK(sv) && SvTYPE(SvRV(sv)) == SVt_PVCV;
}

/* "Package::function" of the running XSUB, for croak messages. */
static void S_croak_arg(pTHX_ CV *cv, const char *arg, const char *what)
{
    GV *gv = cv ? CvGV(cv) : NULL;
    const char *pkg = gv && GvSTASH(gv) ? HvNAME(GvSTASH(gv)) : "TRex::PAM";
    const char *fn = gv ? GvNAME(gv) : "?";
    croak("%s::%s: %s is not %s", pkg ? pkg : "TRex::PAM", fn, arg, what);
}

/* ---- the handle object ------------------------------------------------------------ */

static int S_handle_free(pTHX_ SV *sv, MAGIC *mg);
static const MGVTBL handle_vtbl = { NULL, NULL, NULL, NULL, S_handle_free, NULL, NULL, NULL };

static int S_mh_free(pTHX_ SV *sv, MAGIC *mg);
static const MGVTBL mh_vtbl = { NULL, NULL, NULL, NULL, S_mh_free, NULL, NULL, NULL };

/* The ext magic of vtbl on the referent of sv, or NULL. (mg_findext reads
 * the magic chain without checking that the SV type has one.) */
static MAGIC *S_find_magic(pTHX_ SV *sv, const MGVTBL *vtbl)
{
    SV *r;
    if (sv == NULL || !SvROK(sv))
        return NULL;
    r = SvRV(sv);
    if (SvTYPE(r) < SVt_PVMG || !SvMAGICAL(r))
        return NULL;
    return mg_findext(r, PERL_MAGIC_ext, vtbl);
}

static tpx_state *S_state_maybe(pTHX_ SV *sv)
{
    MAGIC *mg = S_find_magic(aTHX_ sv, &handle_vtbl);
    return mg ? (tpx_state *)mg->mg_ptr : NULL;
}

/* The typemap's check: a TRex::PAM handle or croak. The referent is kept
 * alive until the XSUB's temporaries are freed, so that a callback that
 * drops the last reference (undef $pamh inside the conversation) cannot
 * free the state under the running call. */
static tpx_state *S_state(pTHX_ SV *sv, CV *cv, const char *arg)
{
    tpx_state *st = S_state_maybe(aTHX_ sv);
    if (st == NULL)
        S_croak_arg(aTHX_ cv, arg, "a TRex::PAM handle");
    sv_2mortal(SvREFCNT_inc_simple_NN(SvRV(sv)));
    return st;
}

static void S_state_free(pTHX_ tpx_state *st)
{
    SvREFCNT_dec(st->conv);
    SvREFCNT_dec(st->delay);
    st->conv = st->delay = NULL;
    free(st);
}

/*
 * End the handle once (pam_end, DESTROY and svt_free share it). An ended
 * handle answers PAM_SYSTEM_ERR. A refusal by the core (pam_end from inside
 * a module) leaves the handle alive. In a forked child the cleanups get
 * PAM_DATA_SILENT.
 */
static int S_end_once(pTHX_ tpx_state *st, int status)
{
    int rc;

    if (st->h == NULL)
        return TREX_PAM_SYSTEM_ERR;
    rc = trex_pam_end(st->h, status);     /* in a forked child it adds PAM_DATA_SILENT */
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    st->h = NULL;
    SvREFCNT_dec(st->delay);
    st->delay = NULL;
    return rc;
}

static int S_handle_free(pTHX_ SV *sv, MAGIC *mg)
{
    tpx_state *st = (tpx_state *)mg->mg_ptr;

    PERL_UNUSED_ARG(sv);
    if (st == NULL)
        return 0;
    mg->mg_ptr = NULL;
    (void)S_end_once(aTHX_ st, TREX_PAM_SUCCESS);
    if (st->h == NULL)
        S_state_free(aTHX_ st);
    /* else: the core refused to end it (from inside a module); the state
     * must outlive the core's pointers to it, so it is left behind. */
    return 0;
}

static SV *S_wrap_handle(pTHX_ tpx_state *st)
{
    SV *obj = newSV_type(SVt_PVMG);
    SV *rv;

    sv_magicext(obj, NULL, PERL_MAGIC_ext, &handle_vtbl, (const char *)st, 0);
    rv = newRV_noinc(obj);
    sv_bless(rv, gv_stashpvs("TRex::PAM", GV_ADD));
    return rv;
}

/* ---- the module handle --------------------------------------------------------- */

static tpx_mh *S_mh(pTHX_ SV *sv, CV *cv, const char *arg)
{
    MAGIC *mg = S_find_magic(aTHX_ sv, &mh_vtbl);
    if (mg == NULL || mg->mg_ptr == NULL)
        S_croak_arg(aTHX_ cv, arg, "a TRex::PAM::ModuleHandle");
    return (tpx_mh *)mg->mg_ptr;
}

static int S_mh_free(pTHX_ SV *sv, MAGIC *mg)
{
    PERL_UNUSED_ARG(sv);
    free(mg->mg_ptr);
    mg->mg_ptr = NULL;
    return 0;
}

/* ---- the conversation shim ------------------------------------------------------- */

/* One answer as a malloc'd C string: 1, or 0 if it cannot be one. */
static int S_answer(pTHX_ SV *sv, char **out)
{
    const char *pv;
    STRLEN len;
    SV *copy = NULL;
    int ok = 1;

    *out = NULL;
    if (!SvOK(sv))
        return 1;                           /* undef: a NULL response */
    if (SvROK(sv) || SvGMAGICAL(sv))
        return 0;
    pv = SvPV_nomg(sv, len);
    if (SvUTF8(sv)) {
        copy = newSVpvn(pv, len);
        SvUTF8_on(copy);
        if (!sv_utf8_downgrade(copy, TRUE))
            ok = 0;
        else
            pv = SvPV_nomg(copy, len);
    }
    if (ok && memchr(pv, '\0', len) != NULL)
        ok = 0;
    if (ok) {
        if ((*out = malloc(len + 1)) == NULL) {
            ok = 0;
        } else {
            memcpy(*out, pv, len);
            (*out)[len] = '\0';
        }
    }
    if (copy != NULL) {
        if (SvPVX(copy) != NULL && SvLEN(copy) > 0)
            trex_pam_wipe(SvPVX(copy), SvLEN(copy));
        SvREFCNT_dec(copy);
    }
    return ok;
}

static void S_drop_responses(struct trex_pam_response *r, int n)
{
    if (r == NULL)
        return;
    for (int i = 0; i < n; i++)
        S_drop(&r[i].resp);
    free(r);
}

/* res holds 2n answer values (retcode, resp). */
static int S_take_answers(pTHX_ SV **res, int n, struct trex_pam_response **out)
{
    struct trex_pam_response *r;
    int i, code;

    if ((r = calloc((size_t)n, sizeof *r)) == NULL)
        return TREX_PAM_BUF_ERR;
    for (i = 0; i < n; i++) {
        r[i].resp_retcode = S_status(aTHX_ res[2 * i], &code) ? code : 0;
        if (!S_answer(aTHX_ res[2 * i + 1], &r[i].resp)) {
            S_drop_responses(r, n);
            return TREX_PAM_CONV_ERR;
        }
    }
    *out = r;
    return TREX_PAM_SUCCESS;
}

/*
 * The C conversation the core calls. The Perl coderef gets n (style, msg)
 * pairs and must return exactly 2n+1 values: n (retcode, answer) pairs and
 * a numeric status. Anything else, a die, an answer with a NUL or a wide
 * character: PAM_CONV_ERR. A non-SUCCESS status is returned as it is.
 */
static int S_conv_shim(int n, const struct trex_pam_message **msg,
                       struct trex_pam_response **resp, void *appdata)
{
    tpx_state *st = (tpx_state *)appdata;
    struct trex_pam_response *r = NULL;
    int rc = TREX_PAM_CONV_ERR, count, i;

    if (st == NULL || msg == NULL || resp == NULL || n <= 0 || n > INT_MAX / 2 - 1)
        return TREX_PAM_CONV_ERR;
    {
        dTPX_PERL(st);
        dSP;
        SV *cb, **res;

        if (st->conv == NULL || !S_is_code(aTHX_ st->conv))
            return TREX_PAM_CONV_ERR;
        ENTER;
        SAVETMPS;
        save_scalar(PL_errgv);              /* local $@ */
        cb = sv_2mortal(SvREFCNT_inc_simple_NN(st->conv)); /* may be replaced meanwhile */
        PUSHMARK(SP);
        EXTEND(SP, 2 * n);
        for (i = 0; i < n; i++) {
            mPUSHi(msg[i] ? msg[i]->msg_style : 0);
            PUSHs(msg[i] ? S_mortal_str(aTHX_ msg[i]->msg) : &PL_sv_undef);
        }
        PUTBACK;
        count = call_sv(cb, G_LIST | G_EVAL);
        SPAGAIN;
        res = SP - count + 1;
        if (S_died(aTHX_ ERRSV)) {
            S_log_died(aTHX_ st->h, "conversation function", ERRSV);
            rc = TREX_PAM_CONV_ERR;
        } else if (count != 2 * n + 1) {
            trex_pam_log(st->h, LOG_ERR,
                         "conversation function returned %d values for %d messages (want %d)",
                         count, n, 2 * n + 1);
            rc = TREX_PAM_CONV_ERR;
        } else if (!S_status(aTHX_ res[count - 1], &rc)) {
            trex_pam_log(st->h, LOG_ERR, "conversation function returned a non-numeric status");
            rc = TREX_PAM_CONV_ERR;
        } else if (rc == TREX_PAM_SUCCESS) {
            rc = S_take_answers(aTHX_ res, n, &r);
            if (rc != TREX_PAM_SUCCESS)
                trex_pam_log(st->h, LOG_ERR,
                             "conversation answer is not a byte string without NUL");
        }
        SP -= count;
        PUTBACK;
        FREETMPS;
        LEAVE;
    }
    if (rc == TREX_PAM_SUCCESS)
        *resp = r;
    return rc;
}

/* PAM_FAIL_DELAY: the Perl coderef gets ($status, $usec). */
static void S_delay_shim(int status, unsigned int usec, void *appdata)
{
    tpx_state *st = (tpx_state *)appdata;

    if (st == NULL || st->delay == NULL)
        return;
    {
        dTPX_PERL(st);
        dSP;
        SV *cb;

        ENTER;
        SAVETMPS;
        save_scalar(PL_errgv);
        cb = sv_2mortal(SvREFCNT_inc_simple_NN(st->delay));
        PUSHMARK(SP);
        EXTEND(SP, 2);
        mPUSHi(status);
        mPUSHu(usec);
        PUTBACK;
        (void)call_sv(cb, G_VOID | G_DISCARD | G_EVAL);
        SPAGAIN;
        if (S_died(aTHX_ ERRSV))
            S_log_died(aTHX_ st->h, "fail delay function", ERRSV);
        PUTBACK;
        FREETMPS;
        LEAVE;
    }
}

/* ---- items -------------------------------------------------------------------- */

/* An item type: 1 and *num for a number, 2 and *name (a TREX_ name) for a
 * string, 0 when the value cannot be a type. */
static int S_item_type(pTHX_ SV *type, int *num, tpx_str *name)
{
    name->p = NULL;
    name->copy = NULL;
    SvGETMAGIC(type);
    if (SvGMAGICAL(type)) {                   /* fetch a tied value once */
        SV *copy = sv_newmortal();
        sv_setsv_flags(copy, type, 0);
        type = copy;
    }
    if (!SvOK(type))
        return 0;
    if (SvPOK(type) && !SvROK(type) && !looks_like_number(type))
        return S_str(aTHX_ type, name, 0) && name->p != NULL ? 2 : 0;
    return S_to_int(aTHX_ type, num) ? 1 : 0;
}

static int S_get_item(pTHX_ tpx_state *st, trex_pam_handle_t *h, SV *type, SV *out)
{
    tpx_str name;
    const void *v = NULL;
    const char *s = NULL;
    int t = 0, rc;

    sv_setsv(out, &PL_sv_undef);
    if (h == NULL) {
        rc = TREX_PAM_SYSTEM_ERR;
    } else switch (S_item_type(aTHX_ type, &t, &name)) {
    case 2:
        rc = trex_pam_get_named_item(h, name.p, &s);
        S_str_done(aTHX_ &name);
        if (rc == TREX_PAM_SUCCESS && s != NULL)
            sv_setpv(out, s);
        break;
    case 1:
        rc = trex_pam_get_item(h, t, &v);
        if (rc != TREX_PAM_SUCCESS || v == NULL)
            break;
        if (t == TREX_PAM_CONV) {
            const struct trex_pam_conv *c = (const struct trex_pam_conv *)v;
            if (c->conv == S_conv_shim && c->appdata_ptr == st && st->conv != NULL)
                sv_setsv(out, st->conv);
        } else if (t == TREX_PAM_FAIL_DELAY) {
            if (v == (const void *)S_delay_shim && st->delay != NULL)
                sv_setsv(out, st->delay);
        } else if (t == TREX_PAM_XAUTHDATA) {
            const struct trex_pam_xauth_data *x = (const struct trex_pam_xauth_data *)v;
            if (x->name != NULL) {
                AV *av = newAV();
                av_push(av, newSVpvn(x->name, x->namelen > 0 ? (STRLEN)x->namelen : 0));
                av_push(av, x->data ? newSVpvn(x->data, x->datalen > 0 ? (STRLEN)x->datalen : 0)
                                    : newSVpvs(""));
                sv_setsv(out, sv_2mortal(newRV_noinc((SV *)av)));
            }
        } else {
            sv_setpv(out, (const char *)v);
        }
        break;
    default:
        rc = TREX_PAM_BAD_ITEM;
        break;
    }
    SvSETMAGIC(out);
    return rc;
}

static int S_set_xauth(pTHX_ trex_pam_handle_t *h, SV *val)
{
    struct trex_pam_xauth_data x;
    tpx_str name, data;
    AV *av;
    SV **np, **dp;
    int rc;

    if (!SvOK(val))
        return trex_pam_set_item(h, TREX_PAM_XAUTHDATA, NULL);
    if (!SvROK(val) || SvTYPE(SvRV(val)) != SVt_PVAV)
        return TREX_PAM_BAD_ITEM;
    av = (AV *)SvRV(val);
    if (av_len(av) != 1 || (np = av_fetch(av, 0, 0)) == NULL || (dp = av_fetch(av, 1, 0)) == NULL)
        return TREX_PAM_BAD_ITEM;
    if (!S_str(aTHX_ *np, &name, 0))
        return TREX_PAM_BAD_ITEM;
    if (!S_str(aTHX_ *dp, &data, 1)) {
        S_str_done(aTHX_ &name);
        return TREX_PAM_BAD_ITEM;
    }
    if (name.p == NULL || data.p == NULL || name.len > INT_MAX || data.len > INT_MAX) {
        rc = TREX_PAM_BAD_ITEM;
    } else {
        x.name = (char *)name.p;
        x.namelen = (int)name.len;
        x.data = (char *)data.p;
        x.datalen = (int)data.len;
        rc = trex_pam_set_item(h, TREX_PAM_XAUTHDATA, &x);
    }
    S_str_done(aTHX_ &name);
    S_str_done(aTHX_ &data);
    return rc;
}

static int S_set_item(pTHX_ tpx_state *st, trex_pam_handle_t *h, SV *type, SV *val)
{
    tpx_str name, s;
    int t = 0, rc;

    if (h == NULL)
        return TREX_PAM_SYSTEM_ERR;
    switch (S_item_type(aTHX_ type, &t, &name)) {
    case 2:
        if (!S_str(aTHX_ val, &s, 0)) {
            rc = TREX_PAM_BAD_ITEM;
        } else {
            rc = trex_pam_set_named_item(h, name.p, s.p);
            S_str_done(aTHX_ &s);
        }
        S_str_done(aTHX_ &name);
        return rc;
    case 1:
        break;
    default:
        return TREX_PAM_BAD_ITEM;
    }
    if (t == TREX_PAM_CONV || t == TREX_PAM_FAIL_DELAY || t == TREX_PAM_XAUTHDATA)
        SvGETMAGIC(val);                      /* S_str does it for the string items */
    switch (t) {
    case TREX_PAM_CONV:
        if (!SvOK(val))
            return trex_pam_set_item(h, TREX_PAM_CONV, NULL);   /* PERM_DENIED, old kept */
        if (!S_is_code(aTHX_ val))
            return TREX_PAM_BAD_ITEM;
        rc = trex_pam_set_item(h, TREX_PAM_CONV, &st->cconv);
        if (rc == TREX_PAM_SUCCESS) {
            SV *old = st->conv;
            st->conv = newSVsv(val);
            SvREFCNT_dec(old);                /* a running conversation holds its own ref */
        }
        return rc;
    case TREX_PAM_FAIL_DELAY:
        if (SvOK(val) && !S_is_code(aTHX_ val))
            return TREX_PAM_BAD_ITEM;
        rc = trex_pam_set_item(h, TREX_PAM_FAIL_DELAY,
                               SvOK(val) ? (const void *)S_delay_shim : NULL);
        if (rc == TREX_PAM_SUCCESS) {
            SV *old = st->delay;
            st->delay = SvOK(val) ? newSVsv(val) : NULL;
            SvREFCNT_dec(old);
        }
        return rc;
    case TREX_PAM_XAUTHDATA:
        return S_set_xauth(aTHX_ h, val);
    default:
        if (!S_str(aTHX_ val, &s, 0))
            return TREX_PAM_BAD_ITEM;
        rc = trex_pam_set_item(h, t, s.p);
        S_str_done(aTHX_ &s);
        return rc;
    }
}

/* ---- environment ---------------------------------------------------------------- */

static int S_putenv(pTHX_ trex_pam_handle_t *h, SV *nv)
{
    tpx_str s;
    int rc;

    if (h == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (!S_str(aTHX_ nv, &s, 0))
        return TREX_PAM_BAD_ITEM;
    rc = trex_pam_putenv(h, s.p);
    S_str_done(aTHX_ &s);
    return rc;
}

static SV *S_getenv(pTHX_ trex_pam_handle_t *h, SV *name)
{
    tpx_str s;
    const char *v = NULL;

    if (h == NULL || !S_str(aTHX_ name, &s, 0))
        return &PL_sv_undef;
    if (s.p != NULL)
        v = trex_pam_getenv(h, s.p);
    S_str_done(aTHX_ &s);
    return v ? sv_2mortal(newSVpv(v, 0)) : &PL_sv_undef;
}

/* Push NAME, VALUE for each entry, split at the first '='. Returns the new SP. */
static SV **S_push_envlist(pTHX_ SV **sp, trex_pam_handle_t *h)
{
    char **list;

    if (h == NULL || (list = trex_pam_getenvlist(h)) == NULL)
        return sp;
    for (size_t i = 0; list[i] != NULL; i++) {
        const char *e = list[i], *eq = strchr(e, '=');
        STRLEN nlen = eq ? (STRLEN)(eq - e) : strlen(e);
        EXTEND(sp, 2);
        mPUSHp(e, nlen);
        if (eq)
            mPUSHp(eq + 1, strlen(eq + 1));
        else
            PUSHs(&PL_sv_undef);
    }
    trex_pam_free_envlist(list);
    return sp;
}

static int S_fail_delay(pTHX_ trex_pam_handle_t *h, SV *usec)
{
    unsigned int u;

    if (h == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (!S_to_uint(aTHX_ usec, &u))
        return TREX_PAM_BAD_ITEM;
    return trex_pam_fail_delay(h, u);
}

/* ---- perl:Package modules ----------------------------------------------------- */

static const char *const hook_names[6] = {
    "authenticate", "setcred", "acct_mgmt", "open_session", "close_session", "chauthtok"
};

/* Package::Name: ASCII words joined by "::". */
static int S_valid_package(const char *p)
{
    int word = 0;

    if (*p == '\0')
        return 0;
    for (; *p != '\0'; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
            (*p >= '0' && *p <= '9' && word > 0)) {
            word++;
        } else if (p[0] == ':' && p[1] == ':' && word > 0) {
            p++;
            word = 0;
        } else {
            return 0;
        }
    }
    return word > 0;
}

static CV *S_hook_cv(pTHX_ SV *pkg, int fn)
{
    HV *stash = gv_stashsv(pkg, 0);
    GV *gv;

    if (stash == NULL)
        return NULL;
    gv = gv_fetchmeth_pvn(stash, hook_names[fn], strlen(hook_names[fn]), 0, 0);
    return gv && GvCV(gv) ? GvCV(gv) : NULL;
}

static SV *S_new_mh(pTHX_ trex_pam_handle_t *h, tpx_state *st, tpx_mh **mp)
{
    tpx_mh *m = calloc(1, sizeof *m);
    SV *obj, *rv;

    if (m == NULL)
        return NULL;
    m->h = h;
    m->st = st;
    obj = newSV_type(SVt_PVMG);
    sv_magicext(obj, NULL, PERL_MAGIC_ext, &mh_vtbl, (const char *)m, 0);
    rv = sv_2mortal(newRV_inc(obj));   /* obj keeps one more ref, dropped after the call */
    sv_bless(rv, gv_stashpvs("TRex::PAM::ModuleHandle", GV_ADD));
    *mp = m;
    return rv;
}

/* The XS state of the handle a module runs in: its conversation's appdata
 * (every handle the XS starts talks through S_conv_shim). */
static tpx_state *S_state_of(trex_pam_handle_t *h)
{
    const void *v = NULL;
    const struct trex_pam_conv *c;

    if (trex_pam_get_item(h, TREX_PAM_CONV, &v) != TREX_PAM_SUCCESS || v == NULL)
        return NULL;
    c = (const struct trex_pam_conv *)v;
    return c->conv == S_conv_shim ? (tpx_state *)c->appdata_ptr : NULL;
}

static int S_pm_call(trex_pam_handle_t *h, int fn, int flags, int argc, const char **argv,
                     void *instance)
{
    tpx_pm *pm = (tpx_pm *)instance;
    tpx_state *st = S_state_of(h);
    int rc = TREX_PAM_SYSTEM_ERR, count;

    if (pm == NULL || st == NULL)
        return TREX_PAM_SYSTEM_ERR;
    {
        dTPX_PERL(pm);
        dSP;
        CV *cv = S_hook_cv(aTHX_ pm->pkg, fn);
        SV *mhsv, *ret, *obj;
        tpx_mh *m = NULL;

        if (cv == NULL) {
            trex_pam_log(h, LOG_ERR, "perl:%s has no %s", SvPV_nolen(pm->pkg), hook_names[fn]);
            return TREX_PAM_MODULE_UNKNOWN;
        }
        ENTER;
        SAVETMPS;
        save_scalar(PL_errgv);
        sv_2mortal(SvREFCNT_inc_simple_NN((SV *)cv));    /* may be redefined meanwhile */
        if ((mhsv = S_new_mh(aTHX_ h, st, &m)) == NULL) {
            FREETMPS;
            LEAVE;
            return TREX_PAM_BUF_ERR;
        }
        obj = SvRV(mhsv);
        PUSHMARK(SP);
        EXTEND(SP, 2 + (argc > 0 ? argc : 0));
        PUSHs(mhsv);
        mPUSHi(flags);
        for (int i = 0; i < argc; i++)
            PUSHs(S_mortal_str(aTHX_ argv[i]));
        PUTBACK;
        count = call_sv((SV *)cv, G_SCALAR | G_EVAL);
        SPAGAIN;
        ret = count > 0 ? POPs : &PL_sv_undef;
        if (S_died(aTHX_ ERRSV)) {
            char what[300];
            snprintf(what, sizeof what, "perl:%.200s %s", SvPV_nolen(pm->pkg), hook_names[fn]);
            S_log_died(aTHX_ h, what, ERRSV);
            rc = TREX_PAM_SYSTEM_ERR;
        } else if (!S_status(aTHX_ ret, &rc)) {
            trex_pam_log(h, LOG_ERR, "perl:%s %s returned a non-numeric value",
                         SvPV_nolen(pm->pkg), hook_names[fn]);
            rc = TREX_PAM_SYSTEM_ERR;
        }
        m->h = NULL;                          /* a kept $mh answers PAM_SYSTEM_ERR */
        SvREFCNT_dec(obj);
        PUTBACK;
        FREETMPS;
        LEAVE;
    }
    return rc;
}

#define TPX_HOOK(name, ix)                                                              \
    static int S_pm_##name(trex_pam_handle_t *h, int flags, int argc, const char **argv, \
                           void *instance)                                              \
    {                                                                                   \
        return S_pm_call(h, ix, flags, argc, argv, instance);                           \
    }
TPX_HOOK(authenticate, 0)
TPX_HOOK(setcred, 1)
TPX_HOOK(acct_mgmt, 2)
TPX_HOOK(open_session, 3)
TPX_HOOK(close_session, 4)
TPX_HOOK(chauthtok, 5)

static void S_pm_release(void *instance)
{
    tpx_pm *pm = (tpx_pm *)instance;

    if (pm == NULL)
        return;
    {
        dTPX_PERL(pm);
        SvREFCNT_dec(pm->pkg);
    }
    free(pm);
}

static const struct trex_pam_module perl_module = {
    .abi = TREX_PAM_MODULE_ABI,
    .name = "perl",
    .authenticate = S_pm_authenticate,
    .setcred = S_pm_setcred,
    .acct_mgmt = S_pm_acct_mgmt,
    .open_session = S_pm_open_session,
    .close_session = S_pm_close_session,
    .chauthtok = S_pm_chauthtok,
    .release = S_pm_release,          /* instance_new: none, the resolver makes them */
};

/* Does the package already define one of the six hooks (loaded, or inline)? */
static int S_has_hooks(pTHX_ SV *pkg)
{
    for (int fn = 0; fn < 6; fn++)
        if (S_hook_cv(aTHX_ pkg, fn) != NULL)
            return 1;
    return 0;
}

/* Load Package (require) unless it already has hooks. 1 on success. */
static int S_load_package(pTHX_ trex_pam_handle_t *pamh, SV *pkg)
{
    SV *file;
    int ok = 1;

    if (S_has_hooks(aTHX_ pkg))
        return 1;
    ENTER;
    SAVETMPS;
    save_scalar(PL_errgv);
    file = sv_2mortal(newSVsv(pkg));
    {
        STRLEN len;
        char *p = SvPV(file, len), *q;
        SV *path = sv_2mortal(newSVpvs(""));
        while ((q = strstr(p, "::")) != NULL) {
            sv_catpvn(path, p, (STRLEN)(q - p));
            sv_catpvs(path, "/");
            p = q + 2;
        }
        sv_catpv(path, p);
        sv_catpvs(path, ".pm");
        file = path;
    }
    require_pv(SvPV_nolen(file));
    if (S_died(aTHX_ ERRSV)) {
        char what[300];
        snprintf(what, sizeof what, "perl:%.200s: loading", SvPV_nolen(pkg));
        S_log_died(aTHX_ pamh, what, ERRSV);
        ok = 0;
    }
    FREETMPS;
    LEAVE;
    return ok;
}

static int S_resolve(trex_pam_handle_t *pamh, void *data, const char *name,
                     const struct trex_pam_module **mod, void **instance)
{
    tpx_state *st = (tpx_state *)data;
    tpx_pm *pm;

    if (st == NULL || name == NULL || strncmp(name, "perl:", 5) != 0)
        return TREX_PAM_MODULE_UNKNOWN;
    {
        dTPX_PERL(st);
        SV *pkg;

        if (!S_valid_package(name + 5)) {
            trex_pam_log(pamh, LOG_ERR, "%.200s: not a Perl package name", name);
            return TREX_PAM_MODULE_UNKNOWN;
        }
        pkg = newSVpv(name + 5, 0);
        if (!S_load_package(aTHX_ pamh, pkg) || (pm = calloc(1, sizeof *pm)) == NULL) {
            SvREFCNT_dec(pkg);
            return TREX_PAM_MODULE_UNKNOWN;
        }
        TPX_SAVE_PERL(pm);
        pm->pkg = pkg;
    }
    *mod = &perl_module;
    *instance = pm;
    return TREX_PAM_SUCCESS;
}

/* ---- module data ------------------------------------------------------------ */

/* The core calls this when the data is replaced (status has PAM_DATA_REPLACE)
 * or at pam_end (the status given to pam_end, PAM_DATA_SILENT added in a
 * forked child): the Perl cleanup gets ($value, $status), then the value's
 * reference is dropped. */
static void S_data_cleanup(trex_pam_handle_t *h, void *data, int status)
{
    tpx_data *d = (tpx_data *)data;

    if (d == NULL)
        return;
    {
        dTPX_PERL(d);
        if (d->cleanup != NULL) {
            dSP;
            ENTER;
            SAVETMPS;
            save_scalar(PL_errgv);
            PUSHMARK(SP);
            EXTEND(SP, 2);
            PUSHs(d->sv);
            mPUSHi(status);
            PUTBACK;
            (void)call_sv(d->cleanup, G_VOID | G_DISCARD | G_EVAL);
            if (S_died(aTHX_ ERRSV))
                S_log_died(aTHX_ h, "module data cleanup", ERRSV);
            FREETMPS;
            LEAVE;
        }
        SvREFCNT_dec(d->cleanup);
        SvREFCNT_dec(d->sv);
    }
    free(d);
}

/* Perl modules' data live under "perl:NAME", apart from C modules' data. */
static SV *S_data_name(pTHX_ SV *name)
{
    tpx_str s;
    SV *full;

    if (!S_str(aTHX_ name, &s, 0) || s.p == NULL)
        return NULL;
    full = sv_2mortal(newSVpvs("perl:"));
    sv_catpvn(full, s.p, s.len);
    S_str_done(aTHX_ &s);
    return full;
}

/* ---- the configuration cache ------------------------------------------------ */

/* One trex_pam_confcache per interpreter: a persistent process (mod_perl,
 * PSGI) reuses parsed pam.d stacks while their files are unchanged. A new
 * thread starts with an empty cache of its own. */
#define MY_CXT_KEY "TRex::PAM::_guts" XS_VERSION
typedef struct {
    struct trex_pam_confcache *cache;
} my_cxt_t;
START_MY_CXT

/* At interpreter exit (perl_destruct's exit list, after objects were
 * destroyed): parsed stacks still cached release their perl: packages. */
static void S_cache_free(pTHX_ void *unused)
{
    dMY_CXT;
    PERL_UNUSED_ARG(unused);
    trex_pam_confcache_free(MY_CXT.cache);
    MY_CXT.cache = NULL;
}

static struct trex_pam_confcache *S_cache(pTHX)
{
    dMY_CXT;
    if (MY_CXT.cache == NULL)
        MY_CXT.cache = trex_pam_confcache_new();   /* NULL: run without one */
    return MY_CXT.cache;
}

/* ---- checking a configuration ------------------------------------------------ */

/* Collects the core's log lines (check_config). */
typedef struct tpx_logbuf {
    AV *lines;
#ifdef MULTIPLICITY
    PerlInterpreter *perl;
#endif
} tpx_logbuf;

static void S_log_collect(void *data, int priority, const char *line)
{
    tpx_logbuf *b = (tpx_logbuf *)data;
    dTPX_PERL(b);
    PERL_UNUSED_ARG(priority);
    av_push(b->lines, newSVpv(line, 0));
}

/* ---- pam_start -------------------------------------------------------------- */

static int S_start(pTHX_ SV *service, SV *user, SV *conv, SV *out)
{
    struct trex_pam_options opts;
    tpx_str svc, usr;
    tpx_state *st;
    int rc;

    if (!S_str(aTHX_ service, &svc, 0))
        return TREX_PAM_BAD_ITEM;
    if (!S_str(aTHX_ user, &usr, 0)) {
        S_str_done(aTHX_ &svc);
        return TREX_PAM_BAD_ITEM;
    }
    if ((st = calloc(1, sizeof *st)) == NULL) {
        rc = TREX_PAM_BUF_ERR;
        goto done;
    }
    TPX_SAVE_PERL(st);
    st->conv = SvOK(conv) ? newSVsv(conv) : NULL;
    st->cconv.conv = S_conv_shim;
    st->cconv.appdata_ptr = st;
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.confdir = NULL;                      /* $TREX_PAM_CONFDIR or the default */
    opts.log_mode = TREX_PAM_LOG_AUTO;        /* $TREX_PAM_LOG */
    opts.resolve = S_resolve;
    opts.resolve_data = st;
    opts.registry = trex_pam_builtin_registry();
    opts.cache = S_cache(aTHX);
    rc = trex_pam_start_opts(svc.p, usr.p, st->conv ? &st->cconv : NULL, &opts, &st->h);
    if (rc == TREX_PAM_SUCCESS) {
        SV *rv = S_wrap_handle(aTHX_ st);
        sv_setsv(out, rv);
        SvREFCNT_dec(rv);
    } else {
        st->h = NULL;
        S_state_free(aTHX_ st);
    }
done:
    S_str_done(aTHX_ &svc);
    S_str_done(aTHX_ &usr);
    return rc;
}

/* The conversation argument of pam_start and new: a code ref or undef as
 * given, else (3-argument form) the default terminal conversation. */
static SV *S_conv_arg(pTHX_ CV *cv, SV *conv)
{
    CV *dc;

    if (conv != NULL) {
        SvGETMAGIC(conv);
        if (SvOK(conv) && !S_is_code(aTHX_ conv))
            S_croak_arg(aTHX_ cv, "conv", "a code reference");
        return conv;
    }
    if ((dc = get_cv("TRex::PAM::pam_default_conv", 0)) == NULL)
        croak("TRex::PAM::pam_start: TRex::PAM::pam_default_conv is not defined");
    return sv_2mortal(newRV_inc((SV *)dc));
}

typedef int (*tpx_service_fn)(trex_pam_handle_t *, int);
static const tpx_service_fn service_fn[6] = {
    trex_pam_authenticate, trex_pam_setcred, trex_pam_acct_mgmt,
    trex_pam_open_session, trex_pam_close_session, trex_pam_chauthtok
};

static void S_boot_constants(pTHX)
{
    static const struct { const char *name; long value; } extra[] = {
        { "PAM_SUCESS", TREX_PAM_SUCCESS },                     /* the seed's spelling */
        { "PAM_AUTHTOK_RECOVER_ERR", TREX_PAM_AUTHTOK_RECOVERY_ERR },
        { "PAM_AUTHTOKEN_REQD", TREX_PAM_NEW_AUTHTOK_REQD },    /* :old */
        { "PAM_CRED_ESTABLISH", TREX_PAM_ESTABLISH_CRED },
        { "PAM_CRED_DELETE", TREX_PAM_DELETE_CRED },
        { "PAM_CRED_REINITIALIZE", TREX_PAM_REINITIALIZE_CRED },
        { "PAM_CRED_REFRESH", TREX_PAM_REFRESH_CRED },
        { "HAVE_PAM_FAIL_DELAY", 1 },
        { "HAVE_PAM_ENV_FUNCTIONS", 1 },
    };
    HV *stash = gv_stashpvs("TRex::PAM", GV_ADD);
    const char *name;
    long value;

    for (size_t i = 0; trex_pam_constant(i, &name, &value); i++)
        newCONSTSUB(stash, name, newSViv((IV)value));
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        newCONSTSUB(stash, extra[i].name, newSViv((IV)extra[i].value));
}

/* ---- TRex::PAM::DB: the admin class's C helpers ------------------------------------
 * (xsubpp allows no C after the first MODULE line, so they sit here; the
 * XSUBs are the last section of this file.) The object is a blessed
 * reference whose referent carries ext magic pointing at a tpx_db, as the
 * handle does; DESTROY, close and the magic's svt_free close it once. */

#include "trex_pam_admin.h"

typedef struct tpx_db {
    trex_pam_db_t *db;          /* NULL once closed */
    pid_t pid;                  /* the process that opened it */
    int status;                 /* of the last call */
} tpx_db;

static int S_db_free(pTHX_ SV *sv, MAGIC *mg);
static const MGVTBL db_vtbl = { NULL, NULL, NULL, NULL, S_db_free, NULL, NULL, NULL };

/* Close once. In a forked child the connection is the parent's: it is
 * dropped, not closed (SQLite must not close a connection across fork). */
static void S_db_close(tpx_db *d)
{
    if (d->db != NULL && d->pid == getpid())
        trex_pam_db_close(d->db);
    d->db = NULL;
}

static int S_db_free(pTHX_ SV *sv, MAGIC *mg)
{
    tpx_db *d = (tpx_db *)mg->mg_ptr;

    PERL_UNUSED_ARG(sv);
    if (d != NULL) {
        S_db_close(d);
        free(d);
        mg->mg_ptr = NULL;
    }
    return 0;
}

/* Croak as "TRex::PAM::DB::fn: <message>". */
static void S_db_croak(pTHX_ CV *cv, const char *fmt, ...)
    __attribute__format__(__printf__, pTHX_2, pTHX_3);
static void S_db_croak(pTHX_ CV *cv, const char *fmt, ...)
{
    GV *gv = cv ? CvGV(cv) : NULL;
    const char *pkg = gv && GvSTASH(gv) ? HvNAME(GvSTASH(gv)) : NULL;
    SV *msg;
    va_list ap;

    va_start(ap, fmt);
    msg = sv_2mortal(vnewSVpvf(fmt, &ap));
    va_end(ap);
    croak("%s::%s: %" SVf, pkg ? pkg : "TRex::PAM::DB", gv ? GvNAME(gv) : "?", SVfARG(msg));
}

/* The object's state, or croak. live: also croak if it is closed or belongs
 * to another process. */
static tpx_db *S_db(pTHX_ SV *sv, CV *cv, int live)
{
    MAGIC *mg = S_find_magic(aTHX_ sv, &db_vtbl);
    tpx_db *d = mg ? (tpx_db *)mg->mg_ptr : NULL;

    if (d == NULL)
        S_croak_arg(aTHX_ cv, "self", "a TRex::PAM::DB object");
    if (live && d->db == NULL)
        S_db_croak(aTHX_ cv, "the database is closed");
    if (live && d->pid != getpid())
        S_db_croak(aTHX_ cv, "the database was opened by process %ld; open it again in this one",
                   (long)d->pid);
    return d;
}

/* The outcome of a call: returns if it succeeded, else croaks with the reason. */
static void S_db_check(pTHX_ CV *cv, tpx_db *d, int rc)
{
    d->status = rc;
    if (rc != TREX_PAM_SUCCESS) {
        const char *why = trex_pam_db_error(d->db);
        S_db_croak(aTHX_ cv, "%s", why && *why ? why : trex_pam_db_strerror(rc));
    }
}

/* The strings an XSUB converted: released (copies wiped) at the end, or
 * before any croak, so that a croak leaks and leaves nothing behind. */
typedef struct tpx_strs {
    tpx_str *v;
    size_t n, cap;
} tpx_strs;

static void S_strs_done(pTHX_ tpx_strs *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        S_str_done(aTHX_ &ss->v[i]);
    free(ss->v);
    ss->v = NULL;
    ss->n = ss->cap = 0;
}

/* The bytes of sv (NULL for undef if undef_ok), or croak naming arg. */
static const char *S_db_str(pTHX_ CV *cv, tpx_strs *ss, SV *sv, const char *arg, int undef_ok)
{
    tpx_str s;

    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? 2 * ss->cap : 8;
        tpx_str *v = realloc(ss->v, cap * sizeof *v);
        if (v == NULL) {
            S_strs_done(aTHX_ ss);
            S_db_croak(aTHX_ cv, "out of memory");
        }
        ss->v = v;
        ss->cap = cap;
    }
    if (!S_str(aTHX_ sv, &s, 0)) {
        S_strs_done(aTHX_ ss);
        S_croak_arg(aTHX_ cv, arg, "a byte string (no wide character, no NUL)");
    }
    if (s.p == NULL && !undef_ok) {
        S_strs_done(aTHX_ ss);
        S_croak_arg(aTHX_ cv, arg, "defined");
    }
    ss->v[ss->n++] = s;
    return s.p;
}

/* An integer of [min, max] (get-magic once), or croak naming arg. */
static int64_t S_db_num(pTHX_ CV *cv, tpx_strs *ss, SV *sv, const char *arg, int64_t min,
                        int64_t max)
{
    NV nv;
    int64_t v = 0;
    int ok = 0;

    SvGETMAGIC(sv);
    if (SvOK(sv) && !(SvROK(sv) && !SvAMAGIC(sv))) {
        if (SvIOK(sv) && !SvNOK(sv) && !SvPOK(sv) && !SvIsUV(sv)) {
            v = (int64_t)SvIVX(sv);
            ok = 1;
        } else if (looks_like_number(sv)) {
            nv = SvNV_nomg(sv);
            if (nv >= -9007199254740992.0 && nv <= 9007199254740992.0 && nv == (NV)(int64_t)nv) {
                v = (int64_t)nv;
                ok = 1;
            }
        }
    }
    if (!ok || v < min || v > max) {
        S_strs_done(aTHX_ ss);
        if (max >= INT_MAX)
            S_db_croak(aTHX_ cv, "%s is not an integer of %lld or more", arg, (long long)min);
        S_db_croak(aTHX_ cv, "%s is not an integer from %lld to %lld", arg, (long long)min,
                   (long long)max);
    }
    return v;
}

/* name => value pairs of args[0..n-1] into vals, by the NULL-terminated
 * names (absent: NULL). Croaks on an odd count or an unknown name; call it
 * before converting any string. */
static void S_db_opts(pTHX_ CV *cv, SV **args, I32 n, const char *const *names, SV **vals)
{
    size_t k;

    for (k = 0; names[k] != NULL; k++)
        vals[k] = NULL;
    if (n % 2 != 0)
        S_db_croak(aTHX_ cv, "odd number of option arguments (want name => value pairs)");
    for (I32 i = 0; i < n; i += 2) {
        STRLEN len;
        const char *key = SvPV_const(args[i], len);
        for (k = 0; names[k] != NULL; k++)
            if (strlen(names[k]) == len && memcmp(names[k], key, len) == 0)
                break;
        if (names[k] == NULL)
            S_db_croak(aTHX_ cv, "unknown option \"%" SVf "\"", SVfARG(args[i]));
        vals[k] = args[i + 1];
    }
}

/* A user as a hash ref's referent (a new HV). The hash only if asked. */
static HV *S_db_user_hv(pTHX_ const struct trex_pam_db_user *u, int with_hash)
{
    HV *hv = newHV(), *attrs = newHV();

    (void)hv_stores(hv, "name", newSVpv(u->name, 0));
    (void)hv_stores(hv, "method", newSVpv(trex_pam_db_hash_method(u->hash), 0));
    (void)hv_stores(hv, "disabled", newSViv(u->disabled));
    (void)hv_stores(hv, "force_change", newSViv(u->force_change));
    (void)hv_stores(hv, "expires", u->expires ? newSViv((IV)u->expires) : newSV(0));
    (void)hv_stores(hv, "changed", u->pw_changed ? newSViv((IV)u->pw_changed) : newSV(0));
    (void)hv_stores(hv, "min_days", newSViv(u->min_days));
    (void)hv_stores(hv, "max_days", newSViv(u->max_days));
    (void)hv_stores(hv, "warn_days", newSViv(u->warn_days));
    (void)hv_stores(hv, "created", newSViv((IV)u->created));
    for (size_t i = 0; i < u->nattrs; i++)
        (void)hv_store(attrs, u->attrs[i].name, (I32)strlen(u->attrs[i].name),
                       newSVpv(u->attrs[i].value, 0), 0);
    (void)hv_stores(hv, "attrs", newRV_noinc((SV *)attrs));
    if (with_hash)
        (void)hv_stores(hv, "hash", newSVpv(u->hash ? u->hash : "", 0));
    return hv;
}

/* trex_pam_db_user_list's callback: each user onto an AV. Never croaks. */
typedef struct tpx_db_walk {
    AV *av;
    int with_hash;
#ifdef MULTIPLICITY
    PerlInterpreter *perl;
#endif
} tpx_db_walk;

static int S_db_walk(void *data, const struct trex_pam_db_user *u)
{
    tpx_db_walk *w = (tpx_db_walk *)data;
    dTPX_PERL(w);

    av_push(w->av, newRV_noinc((SV *)S_db_user_hv(aTHX_ u, w->with_hash)));
    return 0;
}

/* A session as a hash ref's referent: no ID and no digest, only the handle. */
static HV *S_db_session_hv(pTHX_ const struct trex_pam_db_session *x)
{
    HV *hv = newHV();

    (void)hv_stores(hv, "user", newSVpv(x->user ? x->user : "", 0));
    (void)hv_stores(hv, "handle", newSVpv(x->handle, 0));
    (void)hv_stores(hv, "created", newSViv((IV)x->created));
    (void)hv_stores(hv, "last_used", newSViv((IV)x->last_used));
    (void)hv_stores(hv, "rhost", x->rhost ? newSVpv(x->rhost, 0) : newSV(0));
    return hv;
}

/* trex_pam_db_session_list's callback: each session onto an AV. Never croaks. */
static int S_db_session_walk(void *data, const struct trex_pam_db_session *x)
{
    tpx_db_walk *w = (tpx_db_walk *)data;
    dTPX_PERL(w);

    av_push(w->av, newRV_noinc((SV *)S_db_session_hv(aTHX_ x)));
    return 0;
}

/* trex_pam_db_faillock_list's callback: each failure's time onto an AV. */
static int S_db_fail_walk(void *data, int64_t time, int count)
{
    tpx_db_walk *w = (tpx_db_walk *)data;
    dTPX_PERL(w);

    for (int i = 0; i < count; i++)
        av_push(w->av, newSViv((IV)time));
    return 0;
}

/* A faillock duration argument: seconds 0..604800, or "never" (0) where
 * never_ok; undef or absent: dflt. */
static int64_t S_db_secs(pTHX_ CV *cv, tpx_strs *ss, SV *sv, const char *arg, int64_t max,
                         int never_ok, int64_t dflt)
{
    if (sv == NULL || !SvOK(sv))
        return dflt;
    if (never_ok && SvPOK(sv) && !SvROK(sv) && SvCUR(sv) == 5 && memcmp(SvPVX(sv), "never", 5) == 0)
        return 0;
    return S_db_num(aTHX_ cv, ss, sv, arg, 0, max);
}

MODULE = TRex::PAM    PACKAGE = TRex::PAM

PROTOTYPES: DISABLE

BOOT:
{
    MY_CXT_INIT;
    MY_CXT.cache = NULL;
    Perl_call_atexit(aTHX_ S_cache_free, NULL);
    S_boot_constants(aTHX);
}

void
check_config(service, confdir = &PL_sv_undef)
    SV *service
    SV *confdir
  PREINIT:
    struct trex_pam_options opts;
    tpx_state st;
    tpx_logbuf buf;
    tpx_str svc, dir;
    trex_pam_handle_t *h = NULL;
    int rc;
  PPCODE:
    /* TRex::PAM::check_config($service [, $confdir]): reads the service's
     * stacks as pam_start would, loading every module, without a cache;
     * returns the status and every line the core logged meanwhile
     * ("file:line: reason"). */
    if (!S_str(aTHX_ service, &svc, 0) || svc.p == NULL)
        S_croak_arg(aTHX_ cv, "service", "a byte string");
    if (!S_str(aTHX_ confdir, &dir, 0)) {
        S_str_done(aTHX_ &svc);
        S_croak_arg(aTHX_ cv, "confdir", "a byte string or undef");
    }
    memset(&st, 0, sizeof st);
    TPX_SAVE_PERL(&st);
    st.cconv.conv = S_conv_shim;              /* no Perl conversation: CONV_ERR */
    st.cconv.appdata_ptr = &st;
    buf.lines = (AV *)sv_2mortal((SV *)newAV());
    TPX_SAVE_PERL(&buf);
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.confdir = dir.p;
    opts.log_mode = TREX_PAM_LOG_CALLBACK;
    opts.log_fn = S_log_collect;
    opts.log_data = &buf;
    opts.resolve = S_resolve;
    opts.resolve_data = &st;
    opts.registry = trex_pam_builtin_registry();
    rc = trex_pam_start_opts(svc.p, NULL, &st.cconv, &opts, &h);
    if (rc == TREX_PAM_SUCCESS)
        (void)trex_pam_end(h, TREX_PAM_SUCCESS);
    S_str_done(aTHX_ &svc);
    S_str_done(aTHX_ &dir);
    EXTEND(SP, 1 + av_len(buf.lines) + 1);
    mPUSHi(rc);
    for (SSize_t i = 0; i <= av_len(buf.lines); i++)
        PUSHs(sv_mortalcopy(*av_fetch(buf.lines, i, 0)));

IV
config_recheck(...)
  CODE:
    /* TRex::PAM::config_recheck([$usec]): how often (microseconds) a cached
     * configuration's files are checked again; sets it when given. */
    if (items > 1)
        croak("TRex::PAM::config_recheck: wrong number of arguments (%d, want 0 or 1)", (int)items);
    {
        struct trex_pam_confcache *cache = S_cache(aTHX);
        long old;
        if (cache == NULL)
            croak("TRex::PAM::config_recheck: out of memory");
        if (items == 1) {
            SV *v = ST(0);
            SvGETMAGIC(v);
            if (!SvOK(v) || !looks_like_number(v) || SvNV_nomg(v) < 0 || SvNV_nomg(v) > (NV)LONG_MAX)
                S_croak_arg(aTHX_ cv, "usec", "a number of microseconds (0 or more)");
            old = trex_pam_confcache_recheck(cache, (long)SvIV_nomg(v));
        } else {
            old = trex_pam_confcache_recheck(cache, 0);
            (void)trex_pam_confcache_recheck(cache, old);
        }
        RETVAL = (IV)old;
    }
  OUTPUT:
    RETVAL

void
CLONE(...)
  CODE:
    PERL_UNUSED_VAR(items);
    {
        MY_CXT_CLONE;
        MY_CXT.cache = NULL;              /* the parent's belongs to the parent */
        Perl_call_atexit(aTHX_ S_cache_free, NULL);
    }

int
pam_start(...)
  CODE:
    if (items < 2 || items > 4)
        croak("TRex::PAM::pam_start: wrong number of arguments (%d, want 2, 3 or 4)", (int)items);
    RETVAL = S_start(aTHX_ ST(0), items >= 3 ? ST(1) : NULL,
                     S_conv_arg(aTHX_ cv, items == 4 ? ST(2) : NULL), ST(items - 1));
    if (RETVAL != TREX_PAM_SUCCESS)
        sv_setiv(ST(items - 1), RETVAL);
    SvSETMAGIC(ST(items - 1));
  OUTPUT:
    RETVAL

void
new(klass, ...)
    SV *klass
  PREINIT:
    SV *out;
    int rc;
  PPCODE:
    /* TRex::PAM->new($service [, $user [, \&conv]]): the object, or the
     * error number pam_start gave (Authen::PAM's constructor, in C because
     * every CGI request and every web-mail page view pays for it). */
    if (items < 2 || items > 4)
        croak("TRex::PAM::new: wrong number of arguments (%d, want 1, 2 or 3 after the class)",
              (int)items - 1);
    out = sv_newmortal();
    rc = S_start(aTHX_ ST(1), items >= 3 ? ST(2) : NULL,
                 S_conv_arg(aTHX_ cv, items == 4 ? ST(3) : NULL), out);
    if (rc != TREX_PAM_SUCCESS) {
        mPUSHi(rc);
    } else {
        HV *stash = SvROK(klass) && SvOBJECT(SvRV(klass)) ? SvSTASH(SvRV(klass))
                                                          : gv_stashsv(klass, GV_ADD);
        if (stash != SvSTASH(SvRV(out)))
            sv_bless(out, stash);         /* a subclass */
        PUSHs(out);
    }

int
pam_end(pamh, status = 0)
    TRexPAM pamh
    SV *status
  PREINIT:
    int s;
  CODE:
    RETVAL = S_to_int(aTHX_ status, &s) ? S_end_once(aTHX_ pamh, s) : TREX_PAM_BAD_ITEM;
  OUTPUT:
    RETVAL

void
DESTROY(self)
    SV *self
  PREINIT:
    tpx_state *st;
  CODE:
    if ((st = S_state_maybe(aTHX_ self)) != NULL)
        (void)S_end_once(aTHX_ st, TREX_PAM_SUCCESS);

int
pam_authenticate(pamh, flags = 0)
    TRexPAM pamh
    SV *flags
  ALIAS:
    pam_setcred = 1
    pam_acct_mgmt = 2
    pam_open_session = 3
    pam_close_session = 4
    pam_chauthtok = 5
  PREINIT:
    int f;
  CODE:
    if (pamh->h == NULL)
        RETVAL = TREX_PAM_SYSTEM_ERR;
    else if (!S_to_int(aTHX_ flags, &f))
        RETVAL = TREX_PAM_BAD_ITEM;
    else
        RETVAL = service_fn[ix](pamh->h, f);
  OUTPUT:
    RETVAL

int
pam_get_item(pamh, type, value)
    TRexPAM pamh
    SV *type
    SV *value
  CODE:
    RETVAL = S_get_item(aTHX_ pamh, pamh->h, type, value);
  OUTPUT:
    RETVAL

int
pam_set_item(pamh, type, value)
    TRexPAM pamh
    SV *type
    SV *value
  CODE:
    RETVAL = S_set_item(aTHX_ pamh, pamh->h, type, value);
  OUTPUT:
    RETVAL

const char *
pam_strerror(pamh, errnum)
    SV *pamh
    SV *errnum
  PREINIT:
    int e;
  CODE:
    PERL_UNUSED_VAR(pamh);            /* any value: undef, an ended handle, an error number */
    RETVAL = trex_pam_strerror(NULL, S_to_int(aTHX_ errnum, &e) ? e : -1);
  OUTPUT:
    RETVAL

int
pam_putenv(pamh, name_value)
    TRexPAM pamh
    SV *name_value
  CODE:
    RETVAL = S_putenv(aTHX_ pamh->h, name_value);
  OUTPUT:
    RETVAL

SV *
pam_getenv(pamh, name)
    TRexPAM pamh
    SV *name
  CODE:
    RETVAL = SvREFCNT_inc(S_getenv(aTHX_ pamh->h, name));   /* a function: one evaluation */
  OUTPUT:
    RETVAL

void
pam_getenvlist(pamh)
    TRexPAM pamh
  PPCODE:
    SP = S_push_envlist(aTHX_ SP, pamh->h);

int
pam_fail_delay(pamh, usec)
    TRexPAM pamh
    SV *usec
  CODE:
    RETVAL = S_fail_delay(aTHX_ pamh->h, usec);
  OUTPUT:
    RETVAL


MODULE = TRex::PAM    PACKAGE = TRex::PAM::ModuleHandle

void
get_user(mh, prompt = NULL)
    TRexModuleHandle mh
    SV *prompt
  PREINIT:
    tpx_str p;
    const char *user = NULL;
    int rc;
  PPCODE:
    if (mh->h == NULL)
        rc = TREX_PAM_SYSTEM_ERR;
    else if (!S_str(aTHX_ prompt, &p, 0))
        rc = TREX_PAM_BAD_ITEM;
    else {
        rc = trex_pam_get_user(mh->h, &user, p.p);
        S_str_done(aTHX_ &p);
    }
    EXTEND(SP, 2);
    mPUSHi(rc);
    PUSHs(rc == TREX_PAM_SUCCESS ? S_mortal_str(aTHX_ user) : &PL_sv_undef);

void
get_authtok(mh, item, prompt = NULL)
    TRexModuleHandle mh
    SV *item
    SV *prompt
  PREINIT:
    tpx_str p;
    const char *tok = NULL;
    int rc, it;
  PPCODE:
    if (mh->h == NULL)
        rc = TREX_PAM_SYSTEM_ERR;
    else if (!S_to_int(aTHX_ item, &it) || !S_str(aTHX_ prompt, &p, 0))
        rc = TREX_PAM_BAD_ITEM;
    else {
        rc = trex_pam_get_authtok(mh->h, it, &tok, p.p);
        S_str_done(aTHX_ &p);
    }
    EXTEND(SP, 2);
    mPUSHi(rc);
    PUSHs(rc == TREX_PAM_SUCCESS ? S_mortal_str(aTHX_ tok) : &PL_sv_undef);

void
prompt(mh, style, text)
    TRexModuleHandle mh
    SV *style
    SV *text
  PREINIT:
    tpx_str t;
    char *resp = NULL;
    int rc, s;
  PPCODE:
    if (mh->h == NULL)
        rc = TREX_PAM_SYSTEM_ERR;
    else if (!S_to_int(aTHX_ style, &s) || !S_str(aTHX_ text, &t, 0))
        rc = TREX_PAM_BAD_ITEM;
    else {
        rc = trex_pam_prompt(mh->h, s, &resp, t.p);
        S_str_done(aTHX_ &t);
    }
    EXTEND(SP, 2);
    mPUSHi(rc);
    PUSHs(rc == TREX_PAM_SUCCESS ? S_mortal_str(aTHX_ resp) : &PL_sv_undef);
    S_drop(&resp);

int
info(mh, text)
    TRexModuleHandle mh
    SV *text
  ALIAS:
    error = 1
  PREINIT:
    tpx_str t;
  CODE:
    if (mh->h == NULL)
        RETVAL = TREX_PAM_SYSTEM_ERR;
    else if (!S_str(aTHX_ text, &t, 0))
        RETVAL = TREX_PAM_BAD_ITEM;
    else {
        RETVAL = ix ? trex_pam_error(mh->h, t.p) : trex_pam_info(mh->h, t.p);
        S_str_done(aTHX_ &t);
    }
  OUTPUT:
    RETVAL

void
conv(mh, ...)
    TRexModuleHandle mh
  PREINIT:
    struct trex_pam_message *m = NULL;
    const struct trex_pam_message **mp = NULL;
    struct trex_pam_response *r = NULL;
    const struct trex_pam_conv *c = NULL;
    tpx_str *txt = NULL;
    int n, i, rc = TREX_PAM_SUCCESS;
  PPCODE:
    if ((items - 1) % 2 != 0)
        croak("TRex::PAM::ModuleHandle::conv: odd number of arguments (want style, text pairs)");
    n = (int)((items - 1) / 2);
    if (mh->h == NULL)
        rc = TREX_PAM_SYSTEM_ERR;
    else if (n == 0)
        rc = TREX_PAM_CONV_ERR;
    else if ((rc = trex_pam_get_item(mh->h, TREX_PAM_CONV, (const void **)&c)) == TREX_PAM_SUCCESS) {
        if (c == NULL || c->conv == NULL)
            rc = TREX_PAM_SYSTEM_ERR;
        else if ((m = calloc((size_t)n, sizeof *m)) == NULL || (mp = calloc((size_t)n, sizeof *mp)) == NULL
                 || (txt = calloc((size_t)n, sizeof *txt)) == NULL)
            rc = TREX_PAM_BUF_ERR;
        else {
            for (i = 0; i < n && rc == TREX_PAM_SUCCESS; i++) {
                if (!S_to_int(aTHX_ ST(1 + 2 * i), &m[i].msg_style)
                    || !S_str(aTHX_ ST(2 + 2 * i), &txt[i], 0) || txt[i].p == NULL)
                    rc = TREX_PAM_BAD_ITEM;
                m[i].msg = txt[i].p;
                mp[i] = &m[i];
            }
            if (rc == TREX_PAM_SUCCESS)
                rc = c->conv(n, mp, &r, c->appdata_ptr);
        }
    }
    if (txt != NULL)
        for (i = 0; i < n; i++)
            S_str_done(aTHX_ &txt[i]);
    free(txt);
    free(mp);
    free(m);
    EXTEND(SP, 1 + (n > 0 ? n : 0));
    mPUSHi(rc);
    for (i = 0; i < n; i++)
        PUSHs(rc == TREX_PAM_SUCCESS && r != NULL ? S_mortal_str(aTHX_ r[i].resp) : &PL_sv_undef);
    S_drop_responses(r, n);

void
get_item(mh, type)
    TRexModuleHandle mh
    SV *type
  PREINIT:
    SV *out;
    int rc;
  PPCODE:
    out = sv_newmortal();
    rc = S_get_item(aTHX_ mh->st, mh->h, type, out);
    EXTEND(SP, 2);
    mPUSHi(rc);
    PUSHs(out);

int
set_item(mh, type, value)
    TRexModuleHandle mh
    SV *type
    SV *value
  CODE:
    RETVAL = S_set_item(aTHX_ mh->st, mh->h, type, value);
  OUTPUT:
    RETVAL

void
get_data(mh, name)
    TRexModuleHandle mh
    SV *name
  PREINIT:
    SV *full;
    const void *p = NULL;
    int rc;
  PPCODE:
    if (mh->h == NULL)
        rc = TREX_PAM_SYSTEM_ERR;
    else if ((full = S_data_name(aTHX_ name)) == NULL)
        rc = TREX_PAM_BAD_ITEM;
    else
        rc = trex_pam_get_data(mh->h, SvPV_nolen(full), &p);
    EXTEND(SP, 2);
    mPUSHi(rc);
    PUSHs(rc == TREX_PAM_SUCCESS && p != NULL ? sv_2mortal(newSVsv(((const tpx_data *)p)->sv))
                                              : &PL_sv_undef);

int
set_data(mh, name, value, cleanup = NULL)
    TRexModuleHandle mh
    SV *name
    SV *value
    SV *cleanup
  PREINIT:
    SV *full;
    tpx_data *d;
  CODE:
    if (cleanup != NULL)
        SvGETMAGIC(cleanup);
    if (mh->h == NULL)
        RETVAL = TREX_PAM_SYSTEM_ERR;
    else if ((full = S_data_name(aTHX_ name)) == NULL)
        RETVAL = TREX_PAM_BAD_ITEM;
    else if (cleanup != NULL && SvOK(cleanup) && !S_is_code(aTHX_ cleanup))
        RETVAL = TREX_PAM_BAD_ITEM;
    else if ((d = calloc(1, sizeof *d)) == NULL)
        RETVAL = TREX_PAM_BUF_ERR;
    else {
        TPX_SAVE_PERL(d);
        d->sv = newSVsv(value);
        d->cleanup = cleanup != NULL && SvOK(cleanup) ? newSVsv(cleanup) : NULL;
        RETVAL = trex_pam_set_data(mh->h, SvPV_nolen(full), d, S_data_cleanup);
        if (RETVAL != TREX_PAM_SUCCESS) {
            SvREFCNT_dec(d->cleanup);
            SvREFCNT_dec(d->sv);
            free(d);
        }
    }
  OUTPUT:
    RETVAL

int
putenv(mh, name_value)
    TRexModuleHandle mh
    SV *name_value
  CODE:
    RETVAL = S_putenv(aTHX_ mh->h, name_value);
  OUTPUT:
    RETVAL

SV *
getenv(mh, name)
    TRexModuleHandle mh
    SV *name
  CODE:
    RETVAL = SvREFCNT_inc(S_getenv(aTHX_ mh->h, name));   /* a function: one evaluation */
  OUTPUT:
    RETVAL

void
getenvlist(mh)
    TRexModuleHandle mh
  PPCODE:
    SP = S_push_envlist(aTHX_ SP, mh->h);

int
fail_delay(mh, usec)
    TRexModuleHandle mh
    SV *usec
  CODE:
    RETVAL = S_fail_delay(aTHX_ mh->h, usec);
  OUTPUT:
    RETVAL

int
log(mh, priority, text)
    TRexModuleHandle mh
    SV *priority
    SV *text
  PREINIT:
    tpx_str t;
    int prio;
  CODE:
    if (mh->h == NULL)
        RETVAL = TREX_PAM_SYSTEM_ERR;
    else if (!S_to_int(aTHX_ priority, &prio) || !S_str(aTHX_ text, &t, 0) || t.p == NULL)
        RETVAL = TREX_PAM_BAD_ITEM;
    else {
        trex_pam_log(mh->h, prio, "%s", t.p);
        S_str_done(aTHX_ &t);
        RETVAL = TREX_PAM_SUCCESS;
    }
  OUTPUT:
    RETVAL

const char *
strerror(mh, errnum)
    SV *mh
    SV *errnum
  PREINIT:
    int e;
  CODE:
    PERL_UNUSED_VAR(mh);
    RETVAL = trex_pam_strerror(NULL, S_to_int(aTHX_ errnum, &e) ? e : -1);
  OUTPUT:
    RETVAL

int
is_valid(mh)
    TRexModuleHandle mh
  CODE:
    RETVAL = mh->h != NULL;
  OUTPUT:
    RETVAL


MODULE = TRex::PAM    PACKAGE = TRex::PAM::DB

# The administrator's class over c/include/trex_pam_admin.h (POD in
# lib/TRex/PAM/DB.pm). Changes croak with the reason when they fail (a
# forgotten return code must not leave an account enabled); $db->status
# tells which code it was.

BOOT:
    newCONSTSUB(gv_stashpvs("TRex::PAM::DB", GV_ADD), "EXISTS", newSViv(TREX_PAM_DB_EXISTS));
    newCONSTSUB(gv_stashpvs("TRex::PAM::DB", GV_ADD), "NO_SESSION", newSViv(TREX_PAM_DB_NO_SESSION));

void
open(klass, ...)
    SV *klass
  PREINIT:
    static const char *const names[] = { "path", "create", "group", "readonly", NULL };
    SV *v[4], *obj, *rv;
    tpx_strs ss = { NULL, 0, 0 };
    const char *path;
    char err[512];
    int flags = 0, rc;
    trex_pam_db_t *db = NULL;
    tpx_db *d;
    HV *stash;
  PPCODE:
    S_db_opts(aTHX_ cv, &ST(1), items - 1, names, v);
    if (v[1] != NULL && SvTRUE(v[1]))
        flags |= TREX_PAM_DB_CREATE;
    if (v[2] != NULL && SvTRUE(v[2]))
        flags |= TREX_PAM_DB_GROUP;
    if (v[3] != NULL && SvTRUE(v[3]))
        flags |= TREX_PAM_DB_RDONLY;
    path = S_db_str(aTHX_ cv, &ss, v[0], "path", 1);
    rc = trex_pam_db_open(path, flags, &db, err, sizeof err);
    S_strs_done(aTHX_ &ss);
    if (rc != TREX_PAM_SUCCESS)
        S_db_croak(aTHX_ cv, "%s", err[0] ? err : trex_pam_db_strerror(rc));
    if ((d = calloc(1, sizeof *d)) == NULL) {
        trex_pam_db_close(db);
        S_db_croak(aTHX_ cv, "out of memory");
    }
    d->db = db;
    d->pid = getpid();
    obj = newSV_type(SVt_PVMG);
    sv_magicext(obj, NULL, PERL_MAGIC_ext, &db_vtbl, (const char *)d, 0);
    rv = sv_2mortal(newRV_noinc(obj));
    stash = SvROK(klass) && SvOBJECT(SvRV(klass)) ? SvSTASH(SvRV(klass))
                                                  : gv_stashsv(klass, GV_ADD);
    sv_bless(rv, stash);
    PUSHs(rv);

void
close(self)
    SV *self
  CODE:
    S_db_close(S_db(aTHX_ self, cv, 0));

void
DESTROY(self)
    SV *self
  PREINIT:
    MAGIC *mg;
  CODE:
    if ((mg = S_find_magic(aTHX_ self, &db_vtbl)) != NULL && mg->mg_ptr != NULL)
        S_db_close((tpx_db *)mg->mg_ptr);

SV *
path(self)
    SV *self
  CODE:
    RETVAL = newSVpv(trex_pam_db_path(S_db(aTHX_ self, cv, 1)->db), 0);
  OUTPUT:
    RETVAL

SV *
error(self)
    SV *self
  PREINIT:
    tpx_db *d;
  CODE:
    d = S_db(aTHX_ self, cv, 0);
    RETVAL = newSVpv(d->db ? trex_pam_db_error(d->db) : "the database is closed", 0);
  OUTPUT:
    RETVAL

int
status(self)
    SV *self
  CODE:
    RETVAL = S_db(aTHX_ self, cv, 0)->status;
  OUTPUT:
    RETVAL

void
user_add(self, name, ...)
    SV *self
    SV *name
  PREINIT:
    static const char *const names[] = { "password", "hash", "method", "cost", "disabled",
        "force_change", "expires", "min_days", "max_days", "warn_days", "changed", "attrs",
        NULL };
    SV *v[12];
    tpx_strs ss = { NULL, 0, 0 };
    struct trex_pam_db_user u;
    const char *pw, *method, *cost;
    tpx_db *d;
    int rc;
  CODE:
    d = S_db(aTHX_ self, cv, 1);
    S_db_opts(aTHX_ cv, &ST(2), items - 2, names, v);
    if (v[11] != NULL && SvOK(v[11]) && !(SvROK(v[11]) && SvTYPE(SvRV(v[11])) == SVt_PVHV))
        S_db_croak(aTHX_ cv, "attrs is not a hash reference");
    trex_pam_db_user_init(&u);
    u.disabled = v[4] != NULL && SvTRUE(v[4]);
    u.force_change = v[5] != NULL && SvTRUE(v[5]);
    if (v[6] != NULL && SvOK(v[6]))
        u.expires = S_db_num(aTHX_ cv, &ss, v[6], "expires", 0, INT64_MAX);
    if (v[7] != NULL && SvOK(v[7]))
        u.min_days = (int)S_db_num(aTHX_ cv, &ss, v[7], "min_days", 0, INT_MAX);
    if (v[8] != NULL && SvOK(v[8]))
        u.max_days = (int)S_db_num(aTHX_ cv, &ss, v[8], "max_days", -1, INT_MAX);
    if (v[9] != NULL && SvOK(v[9]))
        u.warn_days = (int)S_db_num(aTHX_ cv, &ss, v[9], "warn_days", 0, INT_MAX);
    if (v[10] != NULL && SvOK(v[10]))
        u.pw_changed = S_db_num(aTHX_ cv, &ss, v[10], "changed", 0, INT64_MAX);
    u.name = (char *)S_db_str(aTHX_ cv, &ss, name, "name", 0);
    pw = S_db_str(aTHX_ cv, &ss, v[0], "password", 1);
    u.hash = (char *)S_db_str(aTHX_ cv, &ss, v[1], "hash", 1);
    method = S_db_str(aTHX_ cv, &ss, v[2], "method", 1);
    cost = S_db_str(aTHX_ cv, &ss, v[3], "cost", 1);
    if (pw != NULL && u.hash != NULL) {
        S_strs_done(aTHX_ &ss);
        S_db_croak(aTHX_ cv, "password and hash exclude each other");
    }
    if (v[11] != NULL && SvOK(v[11])) {
        HV *hv = (HV *)SvRV(v[11]);
        HE *he;
        size_t n = 0;
        Newxz(u.attrs, (size_t)HvUSEDKEYS(hv) + 1, struct trex_pam_db_attr);
        SAVEFREEPV(u.attrs);                    /* freed even if a croak follows */
        hv_iterinit(hv);
        while ((he = hv_iternext(hv)) != NULL && n < (size_t)HvUSEDKEYS(hv)) {
            u.attrs[n].name = (char *)S_db_str(aTHX_ cv, &ss, hv_iterkeysv(he), "an attribute name", 0);
            u.attrs[n].value = (char *)S_db_str(aTHX_ cv, &ss, hv_iterval(hv, he), "an attribute value", 0);
            n++;
        }
        u.nattrs = n;
    }
    rc = trex_pam_db_user_add(d->db, &u, pw, method, cost);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    XSRETURN_YES;

void
user_set(self, name, ...)
    SV *self
    SV *name
  PREINIT:
    static const char *const names[] = { "disabled", "force_change", "expires", "min_days",
        "max_days", "warn_days", "changed", "hash", NULL };
    SV *v[8];
    tpx_strs ss = { NULL, 0, 0 };
    struct trex_pam_db_user u;
    unsigned int mask = 0;
    tpx_db *d;
    int rc;
  CODE:
    d = S_db(aTHX_ self, cv, 1);
    S_db_opts(aTHX_ cv, &ST(2), items - 2, names, v);
    trex_pam_db_user_init(&u);
    if (v[0] != NULL) {
        u.disabled = SvTRUE(v[0]) ? 1 : 0;
        mask |= TREX_PAM_DB_DISABLED;
    }
    if (v[1] != NULL) {
        u.force_change = SvTRUE(v[1]) ? 1 : 0;
        mask |= TREX_PAM_DB_FORCE_CHANGE;
    }
    if (v[2] != NULL) {                         /* undef or 0: never */
        u.expires = SvOK(v[2]) ? S_db_num(aTHX_ cv, &ss, v[2], "expires", 0, INT64_MAX) : 0;
        mask |= TREX_PAM_DB_EXPIRES;
    }
    if (v[3] != NULL) {
        u.min_days = SvOK(v[3]) ? (int)S_db_num(aTHX_ cv, &ss, v[3], "min_days", 0, INT_MAX) : 0;
        mask |= TREX_PAM_DB_MIN_DAYS;
    }
    if (v[4] != NULL) {                         /* undef or -1: no limit */
        u.max_days = SvOK(v[4]) ? (int)S_db_num(aTHX_ cv, &ss, v[4], "max_days", -1, INT_MAX) : -1;
        mask |= TREX_PAM_DB_MAX_DAYS;
    }
    if (v[5] != NULL) {
        u.warn_days = SvOK(v[5]) ? (int)S_db_num(aTHX_ cv, &ss, v[5], "warn_days", 0, INT_MAX) : 0;
        mask |= TREX_PAM_DB_WARN_DAYS;
    }
    if (v[6] != NULL) {                         /* undef: unknown (with hash: now) */
        u.pw_changed = SvOK(v[6]) ? S_db_num(aTHX_ cv, &ss, v[6], "changed", 0, INT64_MAX) : 0;
        mask |= TREX_PAM_DB_PW_CHANGED;
    }
    u.name = (char *)S_db_str(aTHX_ cv, &ss, name, "name", 0);
    if (v[7] != NULL) {
        u.hash = (char *)S_db_str(aTHX_ cv, &ss, v[7], "hash", 0);
        mask |= TREX_PAM_DB_HASH;
    }
    rc = trex_pam_db_user_update(d->db, &u, mask);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    XSRETURN_YES;

void
set_password(self, name, password, ...)
    SV *self
    SV *name
    SV *password
  PREINIT:
    static const char *const names[] = { "method", "cost", NULL };
    SV *v[2];
    tpx_strs ss = { NULL, 0, 0 };
    const char *n, *pw, *method, *cost;
    tpx_db *d;
    int rc;
  CODE:
    d = S_db(aTHX_ self, cv, 1);
    S_db_opts(aTHX_ cv, &ST(3), items - 3, names, v);
    n = S_db_str(aTHX_ cv, &ss, name, "name", 0);
    pw = S_db_str(aTHX_ cv, &ss, password, "password", 0);
    method = S_db_str(aTHX_ cv, &ss, v[0], "method", 1);
    cost = S_db_str(aTHX_ cv, &ss, v[1], "cost", 1);
    rc = trex_pam_db_set_password(d->db, n, pw, method, cost);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    XSRETURN_YES;

void
attr_set(self, name, attr, value)
    SV *self
    SV *name
    SV *attr
    SV *value
  PREINIT:
    tpx_strs ss = { NULL, 0, 0 };
    const char *n, *a, *val;
    tpx_db *d;
    int rc;
  CODE:
    d = S_db(aTHX_ self, cv, 1);
    n = S_db_str(aTHX_ cv, &ss, name, "name", 0);
    a = S_db_str(aTHX_ cv, &ss, attr, "attr", 0);
    val = S_db_str(aTHX_ cv, &ss, value, "value", 1);
    rc = trex_pam_db_attr_set(d->db, n, a, val);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    XSRETURN_YES;

void
user_delete(self, name)
    SV *self
    SV *name
  PREINIT:
    tpx_strs ss = { NULL, 0, 0 };
    const char *n;
    tpx_db *d;
    int rc;
  CODE:
    d = S_db(aTHX_ self, cv, 1);
    n = S_db_str(aTHX_ cv, &ss, name, "name", 0);
    rc = trex_pam_db_user_delete(d->db, n);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    XSRETURN_YES;

void
user(self, name, ...)
    SV *self
    SV *name
  PREINIT:
    static const char *const names[] = { "with_hash", NULL };
    SV *v[1];
    tpx_strs ss = { NULL, 0, 0 };
    struct trex_pam_db_user *u = NULL;
    const char *n;
    tpx_db *d;
    int rc;
  PPCODE:
    d = S_db(aTHX_ self, cv, 1);
    S_db_opts(aTHX_ cv, &ST(2), items - 2, names, v);
    n = S_db_str(aTHX_ cv, &ss, name, "name", 0);
    rc = trex_pam_db_user_get(d->db, n, &u);
    S_strs_done(aTHX_ &ss);
    if (rc == TREX_PAM_USER_UNKNOWN) {          /* a lookup: no such user is undef */
        d->status = rc;
        XSRETURN_UNDEF;
    }
    S_db_check(aTHX_ cv, d, rc);
    PUSHs(sv_2mortal(newRV_noinc((SV *)S_db_user_hv(aTHX_ u, v[0] != NULL && SvTRUE(v[0])))));
    trex_pam_db_user_free(u);

void
users(self, ...)
    SV *self
  PREINIT:
    static const char *const names[] = { "with_hash", NULL };
    SV *v[1];
    tpx_db_walk w;
    tpx_db *d;
    int rc;
  PPCODE:
    d = S_db(aTHX_ self, cv, 1);
    S_db_opts(aTHX_ cv, &ST(1), items - 1, names, v);
    w.av = (AV *)sv_2mortal((SV *)newAV());
    w.with_hash = v[0] != NULL && SvTRUE(v[0]);
    TPX_SAVE_PERL(&w);
    rc = trex_pam_db_user_list(d->db, S_db_walk, &w);
    S_db_check(aTHX_ cv, d, rc);
    EXTEND(SP, av_len(w.av) + 1);
    for (SSize_t i = 0; i <= av_len(w.av); i++)
        PUSHs(sv_2mortal(SvREFCNT_inc_simple_NN(AvARRAY(w.av)[i])));

void
sessions(self, name = &PL_sv_undef)
    SV *self
    SV *name
  PREINIT:
    tpx_strs ss = { NULL, 0, 0 };
    tpx_db_walk w;
    const char *n;
    tpx_db *d;
    int rc;
  PPCODE:
    /* $db->sessions([$name]): the sessions of a user (undef: of everyone). */
    d = S_db(aTHX_ self, cv, 1);
    n = S_db_str(aTHX_ cv, &ss, name, "name", 1);
    w.av = (AV *)sv_2mortal((SV *)newAV());
    w.with_hash = 0;
    TPX_SAVE_PERL(&w);
    rc = trex_pam_db_session_list(d->db, n, S_db_session_walk, &w);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    EXTEND(SP, av_len(w.av) + 1);
    for (SSize_t i = 0; i <= av_len(w.av); i++)
        PUSHs(sv_2mortal(SvREFCNT_inc_simple_NN(AvARRAY(w.av)[i])));

int
session_revoke(self, name, handle = &PL_sv_undef)
    SV *self
    SV *name
    SV *handle
  ALIAS:
    session_revoke_all = 1
  PREINIT:
    tpx_strs ss = { NULL, 0, 0 };
    const char *n, *hd = NULL;
    tpx_db *d;
    int rc, count = 0;
  CODE:
    /* $db->session_revoke($name, $handle) / $db->session_revoke_all($name):
     * how many sessions ended. */
    d = S_db(aTHX_ self, cv, 1);
    n = S_db_str(aTHX_ cv, &ss, name, "name", 0);
    if (ix == 0)
        hd = S_db_str(aTHX_ cv, &ss, handle, "handle", 0);
    rc = trex_pam_db_session_revoke(d->db, n, hd, &count);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    RETVAL = count;
  OUTPUT:
    RETVAL

int
session_purge(self, ...)
    SV *self
  PREINIT:
    static const char *const names[] = { "idle", "lifetime", NULL };
    SV *v[2];
    tpx_strs ss = { NULL, 0, 0 };
    int64_t idle, lifetime;
    tpx_db *d;
    int rc, count = 0;
  CODE:
    /* $db->session_purge(idle => $s, lifetime => $s): how many were purged. */
    d = S_db(aTHX_ self, cv, 1);
    S_db_opts(aTHX_ cv, &ST(1), items - 1, names, v);
    idle = S_db_secs(aTHX_ cv, &ss, v[0], "idle", INT32_MAX, 0, 1800);
    lifetime = S_db_secs(aTHX_ cv, &ss, v[1], "lifetime", INT32_MAX, 0, 43200);
    rc = trex_pam_db_session_purge(d->db, idle, lifetime, &count);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    RETVAL = count;
  OUTPUT:
    RETVAL

void
faillock(self, name, ...)
    SV *self
    SV *name
  PREINIT:
    static const char *const names[] = { "deny", "fail_interval", "unlock_time", NULL };
    SV *v[3];
    tpx_strs ss = { NULL, 0, 0 };
    struct trex_pam_db_faillock f;
    tpx_db_walk w;
    int64_t deny, interval, unlock;
    const char *n;
    tpx_db *d;
    HV *hv;
    int rc;
  PPCODE:
    /* $db->faillock($name, deny => 3, fail_interval => 900, unlock_time => 600) */
    d = S_db(aTHX_ self, cv, 1);
    S_db_opts(aTHX_ cv, &ST(2), items - 2, names, v);
    deny = v[0] != NULL && SvOK(v[0]) ? S_db_num(aTHX_ cv, &ss, v[0], "deny", 0, 65535) : 3;
    interval = S_db_secs(aTHX_ cv, &ss, v[1], "fail_interval", 604800, 0, 900);
    unlock = S_db_secs(aTHX_ cv, &ss, v[2], "unlock_time", 604800, 1, 600);
    n = S_db_str(aTHX_ cv, &ss, name, "name", 0);
    rc = trex_pam_db_faillock_get(d->db, n, (int)deny, interval, unlock, &f);
    if (rc == TREX_PAM_USER_UNKNOWN) {          /* a lookup: no such user is undef */
        S_strs_done(aTHX_ &ss);
        d->status = rc;
        XSRETURN_UNDEF;
    }
    w.av = (AV *)sv_2mortal((SV *)newAV());
    w.with_hash = 0;
    TPX_SAVE_PERL(&w);
    if (rc == TREX_PAM_SUCCESS && f.total > 0)
        rc = trex_pam_db_faillock_list(d->db, n, S_db_fail_walk, &w);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    hv = newHV();
    (void)hv_stores(hv, "total", newSViv(f.total));
    (void)hv_stores(hv, "failures", newSViv(f.failures));
    (void)hv_stores(hv, "latest", f.latest ? newSViv((IV)f.latest) : newSV(0));
    (void)hv_stores(hv, "locked", newSViv(f.locked));
    (void)hv_stores(hv, "unlock_at", f.unlock_at ? newSViv((IV)f.unlock_at) : newSV(0));
    (void)hv_stores(hv, "times", newRV_inc((SV *)w.av));
    PUSHs(sv_2mortal(newRV_noinc((SV *)hv)));

int
faillock_reset(self, name)
    SV *self
    SV *name
  PREINIT:
    tpx_strs ss = { NULL, 0, 0 };
    const char *n;
    tpx_db *d;
    int rc, count = 0;
  CODE:
    /* $db->faillock_reset($name): how many failures were cleared. */
    d = S_db(aTHX_ self, cv, 1);
    n = S_db_str(aTHX_ cv, &ss, name, "name", 0);
    rc = trex_pam_db_faillock_reset(d->db, n, &count);
    S_strs_done(aTHX_ &ss);
    S_db_check(aTHX_ cv, d, rc);
    RETVAL = count;
  OUTPUT:
    RETVAL

SV *
file(path = &PL_sv_undef)
    SV *path
  PREINIT:
    tpx_strs ss = { NULL, 0, 0 };
    const char *p;
  CODE:
    /* TRex::PAM::DB::file([$path]): the file open(path => $path) would use. */
    p = S_db_str(aTHX_ cv, &ss, path, "path", 1);
    RETVAL = newSVpv(trex_pam_db_file(p), 0);
    S_strs_done(aTHX_ &ss);
  OUTPUT:
    RETVAL

int
hash_usable(hash)
    SV *hash
  PREINIT:
    tpx_str h;
  CODE:
    /* TRex::PAM::DB::hash_usable($hash): whether libxcrypt can verify it
     * here (an import keeps it). Anything that is not a byte string: 0. */
    RETVAL = 0;
    if (S_str(aTHX_ hash, &h, 0)) {
        RETVAL = h.p != NULL && trex_pam_db_hash_usable(h.p);
        S_str_done(aTHX_ &h);
    }
  OUTPUT:
    RETVAL

int
check_policy(method, cost = &PL_sv_undef)
    SV *method
    SV *cost
  PREINIT:
    tpx_strs ss = { NULL, 0, 0 };
    const char *m, *c;
  CODE:
    /* TRex::PAM::DB::check_policy($method [, $cost]): whether this build
     * hashes with that method and cost (undef: the defaults). */
    m = S_db_str(aTHX_ cv, &ss, method, "method", 1);
    c = S_db_str(aTHX_ cv, &ss, cost, "cost", 1);
    RETVAL = trex_pam_db_check_policy(m, c) == TREX_PAM_SUCCESS;
    S_strs_done(aTHX_ &ss);
  OUTPUT:
    RETVAL

void
methods(...)
  PREINIT:
    const char *name;
    int usable;
  PPCODE:
    /* TRex::PAM::DB::methods(): the hashing methods this build can use,
     * the default first. */
    PERL_UNUSED_VAR(items);
    for (size_t i = 0; trex_pam_db_method(i, &name, &usable); i++)
        if (usable)
            XPUSHs(sv_2mortal(newSVpv(name, 0)));

void
wipe(...)
  CODE:
    /* TRex::PAM::DB::wipe($scalar, ...): overwrite each string's buffer
     * with zero bytes, then make it empty. */
    for (I32 i = 0; i < items; i++) {
        SV *sv = ST(i);
        if (SvREADONLY(sv) || SvTYPE(sv) > SVt_PVMG || SvROK(sv))
            continue;
        if (SvPOK(sv) && SvPVX(sv) != NULL && SvLEN(sv) > 0 && !SvIsCOW(sv))
            trex_pam_wipe(SvPVX(sv), SvLEN(sv));
        sv_setpvs(sv, "");
        SvSETMAGIC(sv);
    }
