# Import.xsh - TRex::PAM::Import's line parsers over c/admin/import.c
# (INCLUDEd by PAM.xs). POD in lib/TRex/PAM/Import.pm.

MODULE = TRex::PAM    PACKAGE = TRex::PAM::Import

void
_line(format, line)
    int format
    SV *line
  PREINIT:
    tpx_str s;
    struct trex_pam_import_entry e;
    char why[256];
    int rc;
    HV *r;
  PPCODE:
    /* TRex::PAM::Import::_line($format_index, $line): () for a blank or
     * comment line, ($record) or (undef, $reason), as parse_line returns them */
    if (!tpx_bytes(aTHX_ line, &s, 1) || s.p == NULL) {
        EXTEND(SP, 2);
        PUSHs(&PL_sv_undef);
        mPUSHs(newSVpvs("not a line of bytes (a wide character, or not a string)"));
        XSRETURN(2);
    }
    rc = trex_pam_import_line(format, s.p, s.len, &e, why, sizeof why);
    tpx_bytes_done(aTHX_ &s);
    if (rc == 0)
        XSRETURN_EMPTY;
    if (rc == -2)
        croak("TRex::PAM::Import: %s", why);
    if (rc < 0) {
        EXTEND(SP, 2);
        PUSHs(&PL_sv_undef);
        mPUSHs(newSVpv(why, 0));
        XSRETURN(2);
    }
    r = newHV();
    (void)hv_stores(r, "name", newSVpvn(e.name, e.name_len));
    (void)hv_stores(r, "hash", newSVpvn(e.hash, e.hash_len));
    if (e.has & TREX_PAM_IMPORT_HAS_FORCE)
        (void)hv_stores(r, "force_change", newSViv(1));
    if (e.has & TREX_PAM_IMPORT_HAS_CHANGED)
        (void)hv_stores(r, "changed", newSViv((IV)e.changed));
    if (e.has & TREX_PAM_IMPORT_HAS_AGES) {
        (void)hv_stores(r, "min_days", newSViv(e.min_days));
        (void)hv_stores(r, "max_days", newSViv(e.max_days));
        (void)hv_stores(r, "warn_days", newSViv(e.warn_days));
    }
    if (e.has & TREX_PAM_IMPORT_HAS_EXPIRES)
        (void)hv_stores(r, "expires", newSViv((IV)e.expires));
    trex_pam_import_clear(&e);
    EXTEND(SP, 1);
    mPUSHs(newRV_noinc((SV *)r));
    XSRETURN(1);

int
_guess(line)
    SV *line
  PREINIT:
    tpx_str s;
  CODE:
    /* the format's index (TRex::PAM::Import::guess_format names it) */
    RETVAL = TREX_PAM_IMPORT_DOVECOT;
    if (tpx_bytes(aTHX_ line, &s, 1) && s.p != NULL) {
        RETVAL = trex_pam_import_guess(s.p, s.len);
        tpx_bytes_done(aTHX_ &s);
    }
  OUTPUT:
    RETVAL

SV *
hash_problem(hash)
    SV *hash
  PREINIT:
    tpx_str s;
    char why[256];
  CODE:
    /* TRex::PAM::Import::hash_problem($hash): undef when libxcrypt can verify it */
    if (!tpx_bytes(aTHX_ hash, &s, 1)) {
        RETVAL = newSVpvs("not a hash libxcrypt can verify (plain text, or a method this build lacks)");
    } else {
        int rc = trex_pam_import_hash_problem(s.p, s.len, why, sizeof why);
        tpx_bytes_done(aTHX_ &s);
        RETVAL = rc == 0 ? &PL_sv_undef : newSVpv(why, 0);
    }
  OUTPUT:
    RETVAL
