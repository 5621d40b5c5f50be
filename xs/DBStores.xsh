# DBStores.xsh - TRex::PAM::DB across stores: what a store keeps, where
# the sessions are, every user's failure tallies, and copying records from
# one store into another (INCLUDEd by DB.xsh; the C side is in admin.c).

MODULE = TRex::PAM    PACKAGE = TRex::PAM::DB

int
keeps(self, what)
    SV *self
    SV *what
  PREINIT:
    static const struct { const char *name; int bit; } kinds[] = {
        { "users", TREX_PAM_DB_KEEPS_USERS }, { "sessions", TREX_PAM_DB_KEEPS_SESSIONS },
        { "tallies", TREX_PAM_DB_KEEPS_TALLIES },
    };
    tpx_strs ss = { NULL, 0, 0 };
    const char *w;
    int k;
  CODE:
    /* $db->keeps('users' | 'sessions' | 'tallies'): 1 or 0. */
    k = trex_pam_db_keeps(tpx_db_of(aTHX_ self, cv, 1)->db);
    w = tpx_db_str(aTHX_ cv, &ss, what, "what", 0);
    RETVAL = -1;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(w, kinds[i].name) == 0)
            RETVAL = (k & kinds[i].bit) != 0;
    tpx_strs_done(aTHX_ &ss);
    if (RETVAL < 0)
        tpx_db_croak(aTHX_ cv, "what is one of users, sessions, tallies");
  OUTPUT:
    RETVAL

SV *
sessions_where(self)
    SV *self
  CODE:
    RETVAL = newSVpv(trex_pam_db_sessions_where(tpx_db_of(aTHX_ self, cv, 1)->db), 0);
  OUTPUT:
    RETVAL

void
tallies(self, name = &PL_sv_undef)
    SV *self
    SV *name
  PREINIT:
    tpx_strs ss = { NULL, 0, 0 };
    tpx_db_walk w;
    const char *n;
    tpx_db *d;
    int rc;
  PPCODE:
    /* $db->tallies([$name]): { user => NAME, times => [...] } for each user
     * with failures on record (undef: every such user). */
    d = tpx_db_of(aTHX_ self, cv, 1);
    n = tpx_db_str(aTHX_ cv, &ss, name, "name", 1);
    w.av = (AV *)sv_2mortal((SV *)newAV());
    w.with_hash = 0;
    TPX_SAVE_PERL(&w);
    rc = trex_pam_db_tally_list(d->db, n, tpx_db_tally_walk, &w);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
    EXTEND(SP, av_len(w.av) + 1);
    for (SSize_t i = 0; i <= av_len(w.av); i++)
        PUSHs(sv_2mortal(SvREFCNT_inc_simple_NN(AvARRAY(w.av)[i])));

void
copy_to(self, target, ...)
    SV *self
    SV *target
  PREINIT:
    static const char *const names[] = { "users", "sessions", "tallies", "replace", "dry_run",
                                         "idle", "lifetime", NULL };
    static const int bits[] = { TREX_PAM_DB_COPY_USERS, TREX_PAM_DB_COPY_SESSIONS,
                                TREX_PAM_DB_COPY_TALLIES, TREX_PAM_DB_COPY_REPLACE,
                                TREX_PAM_DB_COPY_DRY_RUN };
    SV *v[7];
    tpx_strs ss = { NULL, 0, 0 };
    struct trex_pam_db_copy_result res;
    tpx_db_walk w;
    int64_t idle, lifetime;
    tpx_db *d, *t;
    HV *hv;
    int rc, flags = TREX_PAM_DB_COPY_USERS;
  PPCODE:
    /* $from->copy_to($to, users => 1, sessions => 0, tallies => 0, replace => 0,
     * dry_run => 0, idle => 1800, lifetime => 43200): the counts and notes. */
    d = tpx_db_of(aTHX_ self, cv, 1);
    t = tpx_db_of(aTHX_ target, cv, 1);
    tpx_db_opts(aTHX_ cv, &ST(2), items - 2, names, v);
    for (int i = 0; i < 5; i++)
        if (v[i] != NULL)
            flags = SvTRUE(v[i]) ? flags | bits[i] : flags & ~bits[i];
    idle = tpx_db_secs(aTHX_ cv, &ss, v[5], "idle", INT32_MAX, 0, 1800);
    lifetime = tpx_db_secs(aTHX_ cv, &ss, v[6], "lifetime", INT32_MAX, 0, 43200);
    tpx_strs_done(aTHX_ &ss);
    w.av = (AV *)sv_2mortal((SV *)newAV());
    w.with_hash = 0;
    TPX_SAVE_PERL(&w);
    rc = trex_pam_db_copy(d->db, t->db, flags, idle, lifetime, &res, tpx_db_copy_note, &w);
    tpx_db_check(aTHX_ cv, d, rc);
    hv = newHV();
    (void)hv_stores(hv, "users", newRV_noinc((SV *)tpx_db_count_hv(aTHX_ &res.users)));
    (void)hv_stores(hv, "sessions", newRV_noinc((SV *)tpx_db_count_hv(aTHX_ &res.sessions)));
    (void)hv_stores(hv, "tallies", newRV_noinc((SV *)tpx_db_count_hv(aTHX_ &res.tallies)));
    (void)hv_stores(hv, "written", newSViv(res.written));
    (void)hv_stores(hv, "notes", newRV_inc((SV *)w.av));
    PUSHs(sv_2mortal(newRV_noinc((SV *)hv)));
