/*
 * items.c - items, the PAM environment and the fail delay, for a handle
 * (TRex::PAM) and a module handle (TRex::PAM::ModuleHandle) alike.
 */
#include "glue.h"

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
        return tpx_bytes(aTHX_ type, name, 0) && name->p != NULL ? 2 : 0;
    return tpx_to_int(aTHX_ type, num) ? 1 : 0;
}

int tpx_get_item(pTHX_ tpx_state *st, trex_pam_handle_t *h, SV *type, SV *out)
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
        tpx_bytes_done(aTHX_ &name);
        if (rc == TREX_PAM_SUCCESS && s != NULL)
            sv_setpv(out, s);
        break;
    case 1:
        rc = trex_pam_get_item(h, t, &v);
        if (rc != TREX_PAM_SUCCESS || v == NULL)
            break;
        if (t == TREX_PAM_CONV) {
            const struct trex_pam_conv *c = (const struct trex_pam_conv *)v;
            if (c->conv == tpx_conv_shim && c->appdata_ptr == st && st->conv != NULL)
                sv_setsv(out, st->conv);
        } else if (t == TREX_PAM_FAIL_DELAY) {
            if (v == (const void *)tpx_delay_shim && st->delay != NULL)
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
    if (!tpx_bytes(aTHX_ *np, &name, 0))
        return TREX_PAM_BAD_ITEM;
    if (!tpx_bytes(aTHX_ *dp, &data, 1)) {
        tpx_bytes_done(aTHX_ &name);
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
    tpx_bytes_done(aTHX_ &name);
    tpx_bytes_done(aTHX_ &data);
    return rc;
}

int tpx_set_item(pTHX_ tpx_state *st, trex_pam_handle_t *h, SV *type, SV *val)
{
    tpx_str name, s;
    int t = 0, rc;

    if (h == NULL)
        return TREX_PAM_SYSTEM_ERR;
    switch (S_item_type(aTHX_ type, &t, &name)) {
    case 2:
        if (!tpx_bytes(aTHX_ val, &s, 0)) {
            rc = TREX_PAM_BAD_ITEM;
        } else {
            rc = trex_pam_set_named_item(h, name.p, s.p);
            tpx_bytes_done(aTHX_ &s);
        }
        tpx_bytes_done(aTHX_ &name);
        return rc;
    case 1:
        break;
    default:
        return TREX_PAM_BAD_ITEM;
    }
    if (t == TREX_PAM_CONV || t == TREX_PAM_FAIL_DELAY || t == TREX_PAM_XAUTHDATA)
        SvGETMAGIC(val);                      /* tpx_bytes does it for the string items */
    switch (t) {
    case TREX_PAM_CONV:
        if (!SvOK(val))
            return trex_pam_set_item(h, TREX_PAM_CONV, NULL);   /* PERM_DENIED, old kept */
        if (!tpx_is_code(aTHX_ val))
            return TREX_PAM_BAD_ITEM;
        rc = trex_pam_set_item(h, TREX_PAM_CONV, &st->cconv);
        if (rc == TREX_PAM_SUCCESS) {
            SV *old = st->conv;
            st->conv = newSVsv(val);
            SvREFCNT_dec(old);                /* a running conversation holds its own ref */
        }
        return rc;
    case TREX_PAM_FAIL_DELAY:
        if (SvOK(val) && !tpx_is_code(aTHX_ val))
            return TREX_PAM_BAD_ITEM;
        rc = trex_pam_set_item(h, TREX_PAM_FAIL_DELAY,
                               SvOK(val) ? (const void *)tpx_delay_shim : NULL);
        if (rc == TREX_PAM_SUCCESS) {
            SV *old = st->delay;
            st->delay = SvOK(val) ? newSVsv(val) : NULL;
            SvREFCNT_dec(old);
        }
        return rc;
    case TREX_PAM_XAUTHDATA:
        return S_set_xauth(aTHX_ h, val);
    default:
        if (!tpx_bytes(aTHX_ val, &s, 0))
            return TREX_PAM_BAD_ITEM;
        rc = trex_pam_set_item(h, t, s.p);
        tpx_bytes_done(aTHX_ &s);
        return rc;
    }
}

/* ---- environment ---------------------------------------------------------------- */

int tpx_putenv(pTHX_ trex_pam_handle_t *h, SV *nv)
{
    tpx_str s;
    int rc;

    if (h == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (!tpx_bytes(aTHX_ nv, &s, 0))
        return TREX_PAM_BAD_ITEM;
    rc = trex_pam_putenv(h, s.p);
    tpx_bytes_done(aTHX_ &s);
    return rc;
}

SV *tpx_getenv(pTHX_ trex_pam_handle_t *h, SV *name)
{
    tpx_str s;
    const char *v = NULL;

    if (h == NULL || !tpx_bytes(aTHX_ name, &s, 0))
        return &PL_sv_undef;
    if (s.p != NULL)
        v = trex_pam_getenv(h, s.p);
    tpx_bytes_done(aTHX_ &s);
    return v ? sv_2mortal(newSVpv(v, 0)) : &PL_sv_undef;
}

/* Push NAME, VALUE for each entry, split at the first '='. Returns the new SP. */
SV **tpx_push_envlist(pTHX_ SV **sp, trex_pam_handle_t *h)
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

int tpx_fail_delay(pTHX_ trex_pam_handle_t *h, SV *usec)
{
    unsigned int u;

    if (h == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (!tpx_to_uint(aTHX_ usec, &u))
        return TREX_PAM_BAD_ITEM;
    return trex_pam_fail_delay(h, u);
}

