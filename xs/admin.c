/*
 * admin.c - TRex::PAM::DB's C helpers: the object (a blessed reference
 * whose referent carries ext magic pointing at a tpx_db, as the handle
 * does; DESTROY, close and the magic's svt_free close it once), its
 * arguments and its results.
 */
#include "glue.h"

static int S_db_free(pTHX_ SV *sv, MAGIC *mg);
static const MGVTBL db_vtbl = { NULL, NULL, NULL, NULL, S_db_free, NULL, NULL, NULL };

/* Close once. In a forked child the connection is the parent's: it is
 * dropped, not closed (SQLite must not close a connection across fork). */
void tpx_db_close(tpx_db *d)
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
        tpx_db_close(d);
        free(d);
        mg->mg_ptr = NULL;
    }
    return 0;
}

void tpx_db_croak(pTHX_ CV *cv, const char *fmt, ...)
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

SV *tpx_db_wrap(pTHX_ CV *cv, SV *klass, trex_pam_db_t *db)
{
    tpx_db *d;
    SV *obj, *rv;
    HV *stash;

    if ((d = calloc(1, sizeof *d)) == NULL) {
        trex_pam_db_close(db);
        tpx_db_croak(aTHX_ cv, "out of memory");
    }
    d->db = db;
    d->pid = getpid();
    obj = newSV_type(SVt_PVMG);
    sv_magicext(obj, NULL, PERL_MAGIC_ext, &db_vtbl, (const char *)d, 0);
    rv = sv_2mortal(newRV_noinc(obj));
    stash = SvROK(klass) && SvOBJECT(SvRV(klass)) ? SvSTASH(SvRV(klass))
                                                  : gv_stashsv(klass, GV_ADD);
    sv_bless(rv, stash);
    return rv;
}

tpx_db *tpx_db_maybe(pTHX_ SV *sv)
{
    MAGIC *mg = tpx_find_magic(aTHX_ sv, &db_vtbl);
    return mg ? (tpx_db *)mg->mg_ptr : NULL;
}

/* The object's state, or croak. live: also croak if it is closed or belongs
 * to another process. */
tpx_db *tpx_db_of(pTHX_ SV *sv, CV *cv, int live)
{
    tpx_db *d = tpx_db_maybe(aTHX_ sv);

    if (d == NULL)
        tpx_croak_arg(aTHX_ cv, "self", "a TRex::PAM::DB object");
    if (live && d->db == NULL)
        tpx_db_croak(aTHX_ cv, "the database is closed");
    if (live && d->pid != getpid())
        tpx_db_croak(aTHX_ cv, "the database was opened by process %ld; open it again in this one",
                   (long)d->pid);
    return d;
}

/* The outcome of a call: returns if it succeeded, else croaks with the reason. */
void tpx_db_check(pTHX_ CV *cv, tpx_db *d, int rc)
{
    d->status = rc;
    if (rc != TREX_PAM_SUCCESS) {
        const char *why = trex_pam_db_error(d->db);
        tpx_db_croak(aTHX_ cv, "%s", why && *why ? why : trex_pam_db_strerror(rc));
    }
}

void tpx_strs_done(pTHX_ tpx_strs *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        tpx_bytes_done(aTHX_ &ss->v[i]);
    free(ss->v);
    ss->v = NULL;
    ss->n = ss->cap = 0;
}

/* The bytes of sv (NULL for undef if undef_ok), or croak naming arg. */
const char *tpx_db_str(pTHX_ CV *cv, tpx_strs *ss, SV *sv, const char *arg, int undef_ok)
{
    tpx_str s;

    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? 2 * ss->cap : 8;
        tpx_str *v = realloc(ss->v, cap * sizeof *v);
        if (v == NULL) {
            tpx_strs_done(aTHX_ ss);
            tpx_db_croak(aTHX_ cv, "out of memory");
        }
        ss->v = v;
        ss->cap = cap;
    }
    if (!tpx_bytes(aTHX_ sv, &s, 0)) {
        tpx_strs_done(aTHX_ ss);
        tpx_croak_arg(aTHX_ cv, arg, "a byte string (no wide character, no NUL)");
    }
    if (s.p == NULL && !undef_ok) {
        tpx_strs_done(aTHX_ ss);
        tpx_croak_arg(aTHX_ cv, arg, "defined");
    }
    ss->v[ss->n++] = s;
    return s.p;
}

/* An integer of [min, max] (get-magic once), or croak naming arg. */
int64_t tpx_db_num(pTHX_ CV *cv, tpx_strs *ss, SV *sv, const char *arg, int64_t min,
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
        tpx_strs_done(aTHX_ ss);
        if (max >= INT_MAX)
            tpx_db_croak(aTHX_ cv, "%s is not an integer of %lld or more", arg, (long long)min);
        tpx_db_croak(aTHX_ cv, "%s is not an integer from %lld to %lld", arg, (long long)min,
                   (long long)max);
    }
    return v;
}

/* name => value pairs of args[0..n-1] into vals, by the NULL-terminated
 * names (absent: NULL). Croaks on an odd count or an unknown name; call it
 * before converting any string. */
void tpx_db_opts(pTHX_ CV *cv, SV **args, I32 n, const char *const *names, SV **vals)
{
    size_t k;

    for (k = 0; names[k] != NULL; k++)
        vals[k] = NULL;
    if (n % 2 != 0)
        tpx_db_croak(aTHX_ cv, "odd number of option arguments (want name => value pairs)");
    for (I32 i = 0; i < n; i += 2) {
        STRLEN len;
        const char *key = SvPV_const(args[i], len);
        for (k = 0; names[k] != NULL; k++)
            if (strlen(names[k]) == len && memcmp(names[k], key, len) == 0)
                break;
        if (names[k] == NULL)
            tpx_db_croak(aTHX_ cv, "unknown option \"%" SVf "\"", SVfARG(args[i]));
        vals[k] = args[i + 1];
    }
}

/* A user as a hash ref's referent (a new HV). The hash only if asked. */
HV *tpx_db_user_hv(pTHX_ const struct trex_pam_db_user *u, int with_hash)
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
int tpx_db_user_walk(void *data, const struct trex_pam_db_user *u)
{
    tpx_db_walk *w = (tpx_db_walk *)data;
    dTPX_PERL(w);

    av_push(w->av, newRV_noinc((SV *)tpx_db_user_hv(aTHX_ u, w->with_hash)));
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
int tpx_db_session_walk(void *data, const struct trex_pam_db_session *x)
{
    tpx_db_walk *w = (tpx_db_walk *)data;
    dTPX_PERL(w);

    av_push(w->av, newRV_noinc((SV *)S_db_session_hv(aTHX_ x)));
    return 0;
}

/* trex_pam_db_faillock_list's callback: each failure's time onto an AV. */
int tpx_db_fail_walk(void *data, int64_t time, int count)
{
    tpx_db_walk *w = (tpx_db_walk *)data;
    dTPX_PERL(w);

    for (int i = 0; i < count; i++)
        av_push(w->av, newSViv((IV)time));
    return 0;
}

/* trex_pam_db_tally_list's callback: { user, times => [...] } onto an AV. */
int tpx_db_tally_walk(void *data, const char *user, const int64_t *times, size_t n)
{
    tpx_db_walk *w = (tpx_db_walk *)data;
    dTPX_PERL(w);
    HV *hv = newHV();
    AV *av = newAV();

    for (size_t i = 0; i < n; i++)
        av_push(av, newSViv((IV)times[i]));
    (void)hv_stores(hv, "user", newSVpv(user, 0));
    (void)hv_stores(hv, "times", newRV_noinc((SV *)av));
    av_push(w->av, newRV_noinc((SV *)hv));
    return 0;
}

/* trex_pam_db_copy's notes: { kind, name, text } onto an AV. */
void tpx_db_copy_note(void *data, const char *kind, const char *name, const char *text)
{
    tpx_db_walk *w = (tpx_db_walk *)data;
    dTPX_PERL(w);
    HV *hv = newHV();

    (void)hv_stores(hv, "kind", newSVpv(kind, 0));
    (void)hv_stores(hv, "name", newSVpv(name, 0));
    (void)hv_stores(hv, "text", newSVpv(text, 0));
    av_push(w->av, newRV_noinc((SV *)hv));
}

HV *tpx_db_count_hv(pTHX_ const struct trex_pam_db_copy_count *c)
{
    HV *hv = newHV();

    (void)hv_stores(hv, "added", newSViv(c->added));
    (void)hv_stores(hv, "updated", newSViv(c->updated));
    (void)hv_stores(hv, "unchanged", newSViv(c->unchanged));
    (void)hv_stores(hv, "replaced", newSViv(c->replaced));
    (void)hv_stores(hv, "conflicts", newSViv(c->conflicts));
    (void)hv_stores(hv, "skipped", newSViv(c->skipped));
    (void)hv_stores(hv, "expired", newSViv(c->expired));
    return hv;
}

/* A faillock duration argument: seconds 0..604800, or "never" (0) where
 * never_ok; undef or absent: dflt. */
int64_t tpx_db_secs(pTHX_ CV *cv, tpx_strs *ss, SV *sv, const char *arg, int64_t max,
                         int never_ok, int64_t dflt)
{
    if (sv == NULL || !SvOK(sv))
        return dflt;
    if (never_ok && SvPOK(sv) && !SvROK(sv) && SvCUR(sv) == 5 && memcmp(SvPVX(sv), "never", 5) == 0)
        return 0;
    return tpx_db_num(aTHX_ cv, ss, sv, arg, 0, max);
}

