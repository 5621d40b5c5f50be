/*
 * bridge.c - "perl:Package" modules: a resolver hands the core a static
 * module table whose hooks call Package::authenticate($mh, $flags, @args)
 * etc. with a TRex::PAM::ModuleHandle that is valid during the call only;
 * the module handle object; a perl: module's data.
 */
#include "glue.h"

static int S_mh_free(pTHX_ SV *sv, MAGIC *mg);
static const MGVTBL mh_vtbl = { NULL, NULL, NULL, NULL, S_mh_free, NULL, NULL, NULL };

/* ---- the module handle --------------------------------------------------------- */

tpx_mh *tpx_mh_of(pTHX_ SV *sv, CV *cv, const char *arg)
{
    MAGIC *mg = tpx_find_magic(aTHX_ sv, &mh_vtbl);
    if (mg == NULL || mg->mg_ptr == NULL)
        tpx_croak_arg(aTHX_ cv, arg, "a TRex::PAM::ModuleHandle");
    return (tpx_mh *)mg->mg_ptr;
}

static int S_mh_free(pTHX_ SV *sv, MAGIC *mg)
{
    PERL_UNUSED_ARG(sv);
    free(mg->mg_ptr);
    mg->mg_ptr = NULL;
    return 0;
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

/* The XS state of the handle a module runs in: the binding pointer it was
 * started with (S_start in PAM.xs). */
static tpx_state *S_state_of(trex_pam_handle_t *h)
{
    return (tpx_state *)trex_pam_binding(h);
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
        int localized;

        if (cv == NULL) {
            trex_pam_log(h, LOG_ERR, "perl:%s has no %s", SvPV_nolen(pm->pkg), hook_names[fn]);
            return TREX_PAM_MODULE_UNKNOWN;
        }
        ENTER;
        SAVETMPS;
        localized = tpx_errsv_local(aTHX);
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
            PUSHs(tpx_mortal_str(aTHX_ argv[i]));
        PUTBACK;
        count = call_sv((SV *)cv, G_SCALAR | G_EVAL);
        SPAGAIN;
        ret = count > 0 ? POPs : &PL_sv_undef;
        if (tpx_died(aTHX_ ERRSV)) {
            char what[300];
            snprintf(what, sizeof what, "perl:%.200s %s", SvPV_nolen(pm->pkg), hook_names[fn]);
            tpx_log_died(aTHX_ h, what, ERRSV);
            rc = TREX_PAM_SYSTEM_ERR;
        } else if (!tpx_status(aTHX_ ret, &rc)) {
            trex_pam_log(h, LOG_ERR, "perl:%s %s returned a non-numeric value",
                         SvPV_nolen(pm->pkg), hook_names[fn]);
            rc = TREX_PAM_SYSTEM_ERR;
        }
        m->h = NULL;                          /* a kept $mh answers PAM_SYSTEM_ERR */
        SvREFCNT_dec(obj);
        PUTBACK;
        tpx_errsv_done(aTHX_ localized);
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
    if (tpx_died(aTHX_ ERRSV)) {
        char what[300];
        snprintf(what, sizeof what, "perl:%.200s: loading", SvPV_nolen(pkg));
        tpx_log_died(aTHX_ pamh, what, ERRSV);
        ok = 0;
    }
    FREETMPS;
    LEAVE;
    return ok;
}

int tpx_resolve(trex_pam_handle_t *pamh, void *data, const char *name,
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
void tpx_data_cleanup(trex_pam_handle_t *h, void *data, int status)
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
            if (tpx_died(aTHX_ ERRSV))
                tpx_log_died(aTHX_ h, "module data cleanup", ERRSV);
            FREETMPS;
            LEAVE;
        }
        SvREFCNT_dec(d->cleanup);
        SvREFCNT_dec(d->sv);
    }
    free(d);
}

/* Perl modules' data live under "perl:NAME", apart from C modules' data. */
SV *tpx_data_name(pTHX_ SV *name)
{
    tpx_str s;
    SV *full;

    if (!tpx_bytes(aTHX_ name, &s, 0) || s.p == NULL)
        return NULL;
    full = sv_2mortal(newSVpvs("perl:"));
    sv_catpvn(full, s.p, s.len);
    tpx_bytes_done(aTHX_ &s);
    return full;
}

