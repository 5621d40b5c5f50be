# ModuleHandle.xsh - TRex::PAM::ModuleHandle: what a perl:Package module
# calls during its hook (INCLUDEd by PAM.xs; the C side is in bridge.c and
# items.c). Every method answers PAM_SYSTEM_ERR outside the call.

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
    else if (!tpx_bytes(aTHX_ prompt, &p, 0))
        rc = TREX_PAM_BAD_ITEM;
    else {
        rc = trex_pam_get_user(mh->h, &user, p.p);
        tpx_bytes_done(aTHX_ &p);
    }
    EXTEND(SP, 2);
    mPUSHi(rc);
    PUSHs(rc == TREX_PAM_SUCCESS ? tpx_mortal_str(aTHX_ user) : &PL_sv_undef);

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
    else if (!tpx_to_int(aTHX_ item, &it) || !tpx_bytes(aTHX_ prompt, &p, 0))
        rc = TREX_PAM_BAD_ITEM;
    else {
        rc = trex_pam_get_authtok(mh->h, it, &tok, p.p);
        tpx_bytes_done(aTHX_ &p);
    }
    EXTEND(SP, 2);
    mPUSHi(rc);
    PUSHs(rc == TREX_PAM_SUCCESS ? tpx_mortal_str(aTHX_ tok) : &PL_sv_undef);

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
    else if (!tpx_to_int(aTHX_ style, &s) || !tpx_bytes(aTHX_ text, &t, 0))
        rc = TREX_PAM_BAD_ITEM;
    else {
        rc = trex_pam_prompt(mh->h, s, &resp, t.p);
        tpx_bytes_done(aTHX_ &t);
    }
    EXTEND(SP, 2);
    mPUSHi(rc);
    PUSHs(rc == TREX_PAM_SUCCESS ? tpx_mortal_str(aTHX_ resp) : &PL_sv_undef);
    trex_pam_drop_secret(&resp);

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
    else if (!tpx_bytes(aTHX_ text, &t, 0))
        RETVAL = TREX_PAM_BAD_ITEM;
    else {
        RETVAL = ix ? trex_pam_error(mh->h, t.p) : trex_pam_info(mh->h, t.p);
        tpx_bytes_done(aTHX_ &t);
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
                if (!tpx_to_int(aTHX_ ST(1 + 2 * i), &m[i].msg_style)
                    || !tpx_bytes(aTHX_ ST(2 + 2 * i), &txt[i], 0) || txt[i].p == NULL)
                    rc = TREX_PAM_BAD_ITEM;
                m[i].msg = txt[i].p;
                mp[i] = &m[i];
            }
            if (rc == TREX_PAM_SUCCESS)
                rc = trex_pam_converse(mh->h, n, mp, &r);   /* c->conv, with the pause rule */
        }
    }
    if (txt != NULL)
        for (i = 0; i < n; i++)
            tpx_bytes_done(aTHX_ &txt[i]);
    free(txt);
    free(mp);
    free(m);
    EXTEND(SP, 1 + (n > 0 ? n : 0));
    mPUSHi(rc);
    for (i = 0; i < n; i++)
        PUSHs(rc == TREX_PAM_SUCCESS && r != NULL ? tpx_mortal_str(aTHX_ r[i].resp) : &PL_sv_undef);
    trex_pam_free_responses(r, n);

void
get_item(mh, type)
    TRexModuleHandle mh
    SV *type
  PREINIT:
    SV *out;
    int rc;
  PPCODE:
    out = sv_newmortal();
    rc = tpx_get_item(aTHX_ mh->st, mh->h, type, out);
    EXTEND(SP, 2);
    mPUSHi(rc);
    PUSHs(out);

int
set_item(mh, type, value)
    TRexModuleHandle mh
    SV *type
    SV *value
  CODE:
    RETVAL = tpx_set_item(aTHX_ mh->st, mh->h, type, value);
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
    else if ((full = tpx_data_name(aTHX_ name)) == NULL)
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
    else if ((full = tpx_data_name(aTHX_ name)) == NULL)
        RETVAL = TREX_PAM_BAD_ITEM;
    else if (cleanup != NULL && SvOK(cleanup) && !tpx_is_code(aTHX_ cleanup))
        RETVAL = TREX_PAM_BAD_ITEM;
    else if ((d = calloc(1, sizeof *d)) == NULL)
        RETVAL = TREX_PAM_BUF_ERR;
    else {
        TPX_SAVE_PERL(d);
        d->sv = newSVsv(value);
        d->cleanup = cleanup != NULL && SvOK(cleanup) ? newSVsv(cleanup) : NULL;
        RETVAL = trex_pam_set_data(mh->h, SvPV_nolen(full), d, tpx_data_cleanup);
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
    RETVAL = tpx_putenv(aTHX_ mh->h, name_value);
  OUTPUT:
    RETVAL

SV *
getenv(mh, name)
    TRexModuleHandle mh
    SV *name
  CODE:
    RETVAL = SvREFCNT_inc(tpx_getenv(aTHX_ mh->h, name));   /* a function: one evaluation */
  OUTPUT:
    RETVAL

void
getenvlist(mh)
    TRexModuleHandle mh
  PPCODE:
    SP = tpx_push_envlist(aTHX_ SP, mh->h);

int
fail_delay(mh, usec)
    TRexModuleHandle mh
    SV *usec
  CODE:
    RETVAL = tpx_fail_delay(aTHX_ mh->h, usec);
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
    else if (!tpx_to_int(aTHX_ priority, &prio) || !tpx_bytes(aTHX_ text, &t, 0) || t.p == NULL)
        RETVAL = TREX_PAM_BAD_ITEM;
    else {
        trex_pam_log(mh->h, prio, "%s", t.p);
        tpx_bytes_done(aTHX_ &t);
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
    RETVAL = trex_pam_strerror(NULL, tpx_to_int(aTHX_ errnum, &e) ? e : -1);
  OUTPUT:
    RETVAL

int
is_valid(mh)
    TRexModuleHandle mh
  CODE:
    RETVAL = mh->h != NULL;
  OUTPUT:
    RETVAL
