/*
 * PAM.xs - TRex::PAM, the Perl face of the TRex::PAM core: Authen::PAM's
 * application API. Thin glue: Perl values <-> calls of c/include/trex_pam.h
 * (glue.h lists the other parts of the binding). What is more than a
 * conversion here is the handle object: a blessed reference whose referent
 * carries ext magic pointing at a tpx_state, so `bless \1234, 'TRex::PAM'`
 * forges nothing; pam_end, DESTROY and the magic's svt_free end it once.
 *
 * TRex::PAM::ModuleHandle (ModuleHandle.xsh), TRex::PAM::DB (DB.xsh) and
 * TRex::PAM::Import's parsers (Import.xsh) are INCLUDEd at the end: one
 * shared object, one boot symbol.
 */
#include "glue.h"

/* ---- the handle object ------------------------------------------------------------ */

static int S_handle_free(pTHX_ SV *sv, MAGIC *mg);
static const MGVTBL handle_vtbl = { NULL, NULL, NULL, NULL, S_handle_free, NULL, NULL, NULL };

static tpx_state *S_state_maybe(pTHX_ SV *sv)
{
    MAGIC *mg = tpx_find_magic(aTHX_ sv, &handle_vtbl);
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
        tpx_croak_arg(aTHX_ cv, arg, "a TRex::PAM handle");
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

    if (!tpx_bytes(aTHX_ service, &svc, 0))
        return TREX_PAM_BAD_ITEM;
    if (!tpx_bytes(aTHX_ user, &usr, 0)) {
        tpx_bytes_done(aTHX_ &svc);
        return TREX_PAM_BAD_ITEM;
    }
    if ((st = calloc(1, sizeof *st)) == NULL) {
        rc = TREX_PAM_BUF_ERR;
        goto done;
    }
    TPX_SAVE_PERL(st);
    st->conv = SvOK(conv) ? newSVsv(conv) : NULL;
    st->cconv.conv = tpx_conv_shim;
    st->cconv.appdata_ptr = st;
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.confdir = NULL;                      /* $TREX_PAM_CONFDIR or the default */
    opts.log_mode = TREX_PAM_LOG_AUTO;        /* $TREX_PAM_LOG */
    opts.resolve = tpx_resolve;
    opts.resolve_data = st;
    opts.registry = trex_pam_builtin_registry();
    opts.binding = st;                        /* how a perl: module finds this state */
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
    tpx_bytes_done(aTHX_ &svc);
    tpx_bytes_done(aTHX_ &usr);
    return rc;
}

/* The conversation argument of pam_start and new: a code ref or undef as
 * given, else (3-argument form) the default terminal conversation. */
static SV *S_conv_arg(pTHX_ CV *cv, SV *conv)
{
    CV *dc;

    if (conv != NULL) {
        SvGETMAGIC(conv);
        if (SvOK(conv) && !tpx_is_code(aTHX_ conv))
            tpx_croak_arg(aTHX_ cv, "conv", "a code reference");
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

/* A constant sub as constant.pm makes one: a reference to a read-only
 * scalar in the stash, which perl turns into a constant sub (a glob and a
 * CV) only when something asks for the sub itself. */
static void S_const(pTHX_ HV *stash, const char *name, long value)
{
    I32 len = (I32)strlen(name);
    SV *sv = newSViv((IV)value);

    if (hv_exists(stash, name, len)) {
        newCONSTSUB(stash, name, sv);
        return;
    }
    SvREADONLY_on(sv);
    (void)hv_store(stash, name, len, newRV_noinc(sv), 0);
}

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
        S_const(aTHX_ stash, name, value);
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        S_const(aTHX_ stash, extra[i].name, extra[i].value);
    mro_method_changed_in(stash);
}


/* trex_pam_faillock_settings's answer as a hash (copies: the strings are
 * the handle's, which ends before the hash is used); undef values for
 * what the line does not give. */
static HV *S_faillock_hash(pTHX_ const struct trex_pam_faillock_settings *fs)
{
    HV *hv = newHV();
    const char *keys[] = { "action", "store", "db", "file", "confdir" };
    const char *vals[] = { fs->action, fs->store, fs->db, fs->file, fs->confdir };

    (void)hv_stores(hv, "deny", newSViv(fs->deny));
    (void)hv_stores(hv, "fail_interval", newSViv((IV)fs->fail_interval));
    (void)hv_stores(hv, "unlock_time", newSViv((IV)fs->unlock_time));
    (void)hv_stores(hv, "line", newSViv(fs->line));
    (void)hv_stores(hv, "builtin", newSViv(fs->builtin));
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        (void)hv_store(hv, keys[i], (I32)strlen(keys[i]),
                       vals[i] != NULL ? newSVpv(vals[i], 0) : newSV(0), 0);
    return hv;
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
  ALIAS:
    check_setup = 1
    faillock_settings = 2
  PREINIT:
    struct trex_pam_options opts;
    struct trex_pam_faillock_settings fs;
    tpx_state st;
    tpx_logbuf buf;
    tpx_str svc, dir;
    trex_pam_handle_t *h = NULL;
    HV *set = NULL;
    int rc;
  PPCODE:
    /* TRex::PAM::check_config($service [, $confdir]): reads the service's
     * stacks as pam_start would, loading every module, without a cache;
     * returns the status and every line the core logged meanwhile
     * ("file:line: reason"). check_setup: the same, then trex_pam_check
     * (each line's module on this system: its store), whose lines and
     * code join them. faillock_settings: the same, then
     * trex_pam_faillock_settings: the status, a hash of the settings (the
     * module's defaults alone when the service cannot be read), then the
     * lines. */
    if (!tpx_bytes(aTHX_ service, &svc, 0) || svc.p == NULL)
        tpx_croak_arg(aTHX_ cv, "service", "a byte string");
    if (!tpx_bytes(aTHX_ confdir, &dir, 0)) {
        tpx_bytes_done(aTHX_ &svc);
        tpx_croak_arg(aTHX_ cv, "confdir", "a byte string or undef");
    }
    memset(&st, 0, sizeof st);
    TPX_SAVE_PERL(&st);
    st.cconv.conv = tpx_conv_shim;              /* no Perl conversation: CONV_ERR */
    st.cconv.appdata_ptr = &st;
    buf.lines = (AV *)sv_2mortal((SV *)newAV());
    TPX_SAVE_PERL(&buf);
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.confdir = dir.p;
    opts.log_mode = TREX_PAM_LOG_CALLBACK;
    opts.log_fn = S_log_collect;
    opts.log_data = &buf;
    opts.resolve = tpx_resolve;
    opts.resolve_data = &st;
    opts.registry = trex_pam_builtin_registry();
    opts.binding = &st;
    rc = trex_pam_start_opts(svc.p, NULL, &st.cconv, &opts, &h);
    if (rc != TREX_PAM_SUCCESS && ix == 2 && trex_pam_faillock_settings(NULL, &fs) == TREX_PAM_IGNORE)
        set = S_faillock_hash(aTHX_ &fs);       /* the module's defaults alone */
    if (rc == TREX_PAM_SUCCESS) {
        /* check_setup: then each line's module checks itself here (its store) */
        if (ix == 1)
            rc = trex_pam_check(h);
        if (ix == 2 && ((rc = trex_pam_faillock_settings(h, &fs)) == TREX_PAM_SUCCESS
                        || rc == TREX_PAM_IGNORE))
            set = S_faillock_hash(aTHX_ &fs);
        (void)trex_pam_end(h, TREX_PAM_SUCCESS);
    }
    tpx_bytes_done(aTHX_ &svc);
    tpx_bytes_done(aTHX_ &dir);
    EXTEND(SP, 2 + av_len(buf.lines) + 1);
    mPUSHi(rc);
    if (ix == 2)
        PUSHs(set != NULL ? sv_2mortal(newRV_noinc((SV *)set)) : &PL_sv_undef);
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
                tpx_croak_arg(aTHX_ cv, "usec", "a number of microseconds (0 or more)");
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
    RETVAL = tpx_to_int(aTHX_ status, &s) ? S_end_once(aTHX_ pamh, s) : TREX_PAM_BAD_ITEM;
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
    else if (!tpx_to_int(aTHX_ flags, &f))
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
    RETVAL = tpx_get_item(aTHX_ pamh, pamh->h, type, value);
  OUTPUT:
    RETVAL

int
pam_set_item(pamh, type, value)
    TRexPAM pamh
    SV *type
    SV *value
  CODE:
    RETVAL = tpx_set_item(aTHX_ pamh, pamh->h, type, value);
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
    RETVAL = trex_pam_strerror(NULL, tpx_to_int(aTHX_ errnum, &e) ? e : -1);
  OUTPUT:
    RETVAL

int
pam_putenv(pamh, name_value)
    TRexPAM pamh
    SV *name_value
  CODE:
    RETVAL = tpx_putenv(aTHX_ pamh->h, name_value);
  OUTPUT:
    RETVAL

SV *
pam_getenv(pamh, name)
    TRexPAM pamh
    SV *name
  CODE:
    RETVAL = SvREFCNT_inc(tpx_getenv(aTHX_ pamh->h, name));   /* a function: one evaluation */
  OUTPUT:
    RETVAL

void
pam_getenvlist(pamh)
    TRexPAM pamh
  PPCODE:
    SP = tpx_push_envlist(aTHX_ SP, pamh->h);

int
pam_fail_delay(pamh, usec)
    TRexPAM pamh
    SV *usec
  CODE:
    RETVAL = tpx_fail_delay(aTHX_ pamh->h, usec);
  OUTPUT:
    RETVAL


INCLUDE: ModuleHandle.xsh

INCLUDE: DB.xsh

INCLUDE: Import.xsh
