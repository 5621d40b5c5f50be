/*
 * glue.c - conversions between Perl values and C for every package of the
 * binding, and the two callbacks from C into Perl: the conversation and
 * the PAM_FAIL_DELAY function. Both run the Perl code under G_EVAL with $@
 * localized (tpx_errsv_local) and never croak themselves.
 */
#include "glue.h"

/* ---- small helpers ---------------------------------------------------------------- */

/* A die left in $@ (a plain string, or any reference). Never calls overloading. */
int tpx_died(pTHX_ SV *err)
{
    if (err == NULL)
        return 0;
    if (SvROK(err))
        return 1;
    return SvTRUE_nomg(err) ? 1 : 0;
}

/* local $@ for a callback, without a new SV in the usual case: when $@
 * is the plain empty string it is only emptied again afterwards. */
int tpx_errsv_local(pTHX)
{
    SV *e = GvSV(PL_errgv);
    const U32 other = SVf_OK | SVf_UTF8 | SVs_GMG | SVs_SMG | SVs_RMG | SVs_OBJECT
                    | SVf_READONLY | SVf_PROTECT;

    if (e != NULL && (SvFLAGS(e) & other) == (SVf_POK | SVp_POK) && SvCUR(e) == 0)
        return 0;
    save_scalar(PL_errgv);
    return 1;
}

void tpx_errsv_done(pTHX_ int localized)
{
    SV *e = GvSV(PL_errgv);

    if (!localized && (e == NULL || SvROK(e) || !SvPOK(e) || SvCUR(e) != 0))
        CLEAR_ERRSV();
}

/* Log what a callback died with, without ever stringifying an object. */
void tpx_log_died(pTHX_ const trex_pam_handle_t *h, const char *what, SV *err)
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


/* The same for an unsigned int (the fail delay). */
int tpx_to_uint(pTHX_ SV *sv, unsigned int *out)
{
    NV nv;
    int kind = tpx_arg_kind(aTHX_ sv);

    *out = 0;
    if (kind != ARG_VALUE)
        return kind == ARG_NONE;
    nv = SvNV_nomg(sv);
    if (!(nv >= 0 && nv <= (NV)UINT_MAX) || nv != (NV)(unsigned int)nv)
        return 0;
    *out = (unsigned int)nv;
    return 1;
}

/* A status returned by Perl code (conversation, module hook): a plain
 * number that fits in int. Never dies: no magic, no overloading. */
int tpx_status(pTHX_ SV *sv, int *out)
{
    NV nv;

    if (sv != NULL && (SvFLAGS(sv) & (SVf_OK | SVs_GMG)) == (SVf_IOK | SVp_IOK)) {
        if (SvIsUV(sv) ? SvUVX(sv) > (UV)INT_MAX : SvIVX(sv) < INT_MIN || SvIVX(sv) > INT_MAX)
            return 0;                       /* a plain integer (the usual case): no NV */
        *out = (int)SvIVX(sv);
        return 1;
    }
    if (sv == NULL || SvROK(sv) || SvGMAGICAL(sv) || !SvOK(sv) || !looks_like_number(sv))
        return 0;
    nv = SvNV_nomg(sv);
    if (!(nv >= (NV)INT_MIN && nv <= (NV)INT_MAX) || nv != (NV)(int)nv)
        return 0;
    *out = (int)nv;
    return 1;
}


/* A new mortal string for a C string, undef for NULL. */
SV *tpx_mortal_str(pTHX_ const char *p)
{
    return p ? sv_2mortal(newSVpv(p, 0)) : &PL_sv_undef;
}

int tpx_is_code(pTHX_ SV *sv)
{
    return SvROK(sv) && SvTYPE(SvRV(sv)) == SVt_PVCV;
}

/* "Package::function" of the running XSUB, for croak messages. */
void tpx_croak_arg(pTHX_ CV *cv, const char *arg, const char *what)
{
    GV *gv = cv ? CvGV(cv) : NULL;
    const char *pkg = gv && GvSTASH(gv) ? HvNAME(GvSTASH(gv)) : "TRex::PAM";
    const char *fn = gv ? GvNAME(gv) : "?";
    croak("%s::%s: %s is not %s", pkg ? pkg : "TRex::PAM", fn, arg, what);
}


/* The ext magic of vtbl on the referent of sv, or NULL. (mg_findext reads
 * the magic chain without checking that the SV type has one.) */
MAGIC *tpx_find_magic(pTHX_ SV *sv, const MGVTBL *vtbl)
{
    SV *r;
    if (sv == NULL || !SvROK(sv))
        return NULL;
    r = SvRV(sv);
    if (SvTYPE(r) < SVt_PVMG || !SvMAGICAL(r))
        return NULL;
    return mg_findext(r, PERL_MAGIC_ext, vtbl);
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
    if (ok)
        ok = trex_pam_answer_copy(pv, len, out) == TREX_PAM_SUCCESS;
    if (copy != NULL) {
        if (SvPVX(copy) != NULL && SvLEN(copy) > 0)
            trex_pam_wipe(SvPVX(copy), SvLEN(copy));
        SvREFCNT_dec(copy);
    }
    return ok;
}

/* res holds 2n answer values (retcode, resp). */
static int S_take_answers(pTHX_ SV **res, int n, struct trex_pam_response **out)
{
    struct trex_pam_response *r;
    int i, code;

    /* not calloc (nor malloc + memset, which GCC turns into calloc): glibc's
     * calloc skips the per-thread cache that free fills. Every entry is
     * set below; S_answer sets resp first. */
    if ((r = malloc((size_t)n * sizeof *r)) == NULL)
        return TREX_PAM_BUF_ERR;
    for (i = 0; i < n; i++) {
        r[i].resp_retcode = tpx_status(aTHX_ res[2 * i], &code) ? code : 0;
        if (!S_answer(aTHX_ res[2 * i + 1], &r[i].resp)) {
            trex_pam_free_responses(r, i + 1);
            return TREX_PAM_CONV_ERR;
        }
    }
    *out = r;
    return TREX_PAM_SUCCESS;
}

/*
 * The (style, msg) of a conversation's first message travel in two SVs
 * kept per interpreter (an array in PL_modglobal, which the handle's
 * state finds once) and set again at each call, so that a message costs
 * no new SV and no string allocation. A kept SV is used again only if
 * nothing else holds it and it is still a plain scalar: one the Perl code
 * kept a reference to (or a conversation running inside another holds),
 * or made magical, blessed, read-only or a glob, is left to its holders
 * and replaced. The caller holds a reference to each during the call.
 */
#define TPX_ARGS_KEY "TRex::PAM::_conv_args"

static void S_first_args(pTHX_ tpx_state *st, const struct trex_pam_message *m, SV **args)
{
    const U32 odd = SVs_GMG | SVs_SMG | SVs_RMG | SVs_OBJECT | SVf_READONLY | SVf_PROTECT;
    AV *av = st->args;

    if (av == NULL) {
        SV **svp = hv_fetchs(PL_modglobal, TPX_ARGS_KEY, 0);
        if (svp != NULL) {
            av = (AV *)*svp;
        } else {
            av = newAV();
            av_extend(av, 1);
            (void)hv_stores(PL_modglobal, TPX_ARGS_KEY, (SV *)av);
        }
        st->args = av;                          /* lives as long as the interpreter */
    }
    for (int i = 0; i < 2; i++) {
        SV *sv = AvFILLp(av) >= i ? AvARRAY(av)[i] : NULL;
        if (sv == NULL || SvREFCNT(sv) != 1 || (SvFLAGS(sv) & odd) != 0 || SvTYPE(sv) > SVt_PVMG)
            av_store(av, i, sv = newSV_type(i == 0 ? SVt_IV : SVt_PV));
        args[i] = SvREFCNT_inc_simple_NN(sv);
    }
    sv_setiv(args[0], m->msg_style);
    sv_setpv(args[1], m->msg);
    SvUTF8_off(args[1]);
}

/*
 * The C conversation the core calls. The Perl coderef gets n (style, msg)
 * pairs and must return exactly 2n+1 values: n (retcode, answer) pairs and
 * a numeric status. Anything else, a die, an answer with a NUL or a wide
 * character: PAM_CONV_ERR. A non-SUCCESS status is returned as it is.
 */
int tpx_conv_shim(int n, const struct trex_pam_message **msg,
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
        SV *cb, **res, *args[2] = { NULL, NULL };
        int localized;

        if (st->conv == NULL || !tpx_is_code(aTHX_ st->conv))
            return TREX_PAM_CONV_ERR;
        ENTER;
        SAVETMPS;
        localized = tpx_errsv_local(aTHX);  /* local $@ */
        cb = sv_2mortal(SvREFCNT_inc_simple_NN(st->conv)); /* may be replaced meanwhile */
        PUSHMARK(SP);
        EXTEND(SP, 2 * n);
        for (i = 0; i < n; i++) {
            if (i == 0 && msg[0] != NULL && msg[0]->msg != NULL) {
                S_first_args(aTHX_ st, msg[0], args);
                PUSHs(args[0]);
                PUSHs(args[1]);
                continue;
            }
            mPUSHi(msg[i] ? msg[i]->msg_style : 0);
            PUSHs(msg[i] ? tpx_mortal_str(aTHX_ msg[i]->msg) : &PL_sv_undef);
        }
        PUTBACK;
        count = call_sv(cb, G_LIST | G_EVAL);
        SPAGAIN;
        SvREFCNT_dec(args[0]);                 /* (a die is caught: only exit skips these) */
        SvREFCNT_dec(args[1]);
        res = SP - count + 1;
        if (tpx_died(aTHX_ ERRSV)) {
            tpx_log_died(aTHX_ st->h, "conversation function", ERRSV);
            rc = TREX_PAM_CONV_ERR;
        } else if (count != 2 * n + 1) {
            trex_pam_log(st->h, LOG_ERR,
                         "conversation function returned %d values for %d messages (want %d)",
                         count, n, 2 * n + 1);
            rc = TREX_PAM_CONV_ERR;
        } else if (!tpx_status(aTHX_ res[count - 1], &rc)) {
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
        tpx_errsv_done(aTHX_ localized);
        FREETMPS;
        LEAVE;
    }
    if (rc == TREX_PAM_SUCCESS)
        *resp = r;
    return rc;
}

/* PAM_FAIL_DELAY: the Perl coderef gets ($status, $usec). */
void tpx_delay_shim(int status, unsigned int usec, void *appdata)
{
    tpx_state *st = (tpx_state *)appdata;

    if (st == NULL || st->delay == NULL)
        return;
    {
        dTPX_PERL(st);
        dSP;
        SV *cb;
        int localized;

        ENTER;
        SAVETMPS;
        localized = tpx_errsv_local(aTHX);
        cb = sv_2mortal(SvREFCNT_inc_simple_NN(st->delay));
        PUSHMARK(SP);
        EXTEND(SP, 2);
        mPUSHi(status);
        mPUSHu(usec);
        PUTBACK;
        (void)call_sv(cb, G_VOID | G_DISCARD | G_EVAL);
        SPAGAIN;
        if (tpx_died(aTHX_ ERRSV))
            tpx_log_died(aTHX_ st->h, "fail delay function", ERRSV);
        PUTBACK;
        tpx_errsv_done(aTHX_ localized);
        FREETMPS;
        LEAVE;
    }
}

