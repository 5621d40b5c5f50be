# DB.xsh - TRex::PAM::DB, the administrator's class over
# c/include/trex_pam_admin.h (INCLUDEd by PAM.xs; the C side is in admin.c).

MODULE = TRex::PAM    PACKAGE = TRex::PAM::DB

# POD in lib/TRex/PAM/DB.pm. Changes croak with the reason when they fail (a
# forgotten return code must not leave an account enabled); $db->status
# tells which code it was.

BOOT:
    newCONSTSUB(gv_stashpvs("TRex::PAM::DB", GV_ADD), "EXISTS", newSViv(TREX_PAM_DB_EXISTS));
    newCONSTSUB(gv_stashpvs("TRex::PAM::DB", GV_ADD), "NO_SESSION", newSViv(TREX_PAM_DB_NO_SESSION));

void
open(klass, ...)
    SV *klass
  PREINIT:
    static const char *const names[] = { "path", "create", "group", "readonly", "store",
                                         "sessions", NULL };
    SV *v[6];
    tpx_strs ss = { NULL, 0, 0 };
    const char *path, *sessions;
    char err[512];
    int flags = 0, rc;
    trex_pam_db_t *db = NULL;
  PPCODE:
    tpx_db_opts(aTHX_ cv, &ST(1), items - 1, names, v);
    if (v[1] != NULL && SvTRUE(v[1]))
        flags |= TREX_PAM_DB_CREATE;
    if (v[2] != NULL && SvTRUE(v[2]))
        flags |= TREX_PAM_DB_GROUP;
    if (v[3] != NULL && SvTRUE(v[3]))
        flags |= TREX_PAM_DB_RDONLY;
    if (v[0] != NULL && SvOK(v[0]) && v[4] != NULL && SvOK(v[4]))
        tpx_db_croak(aTHX_ cv, "give the store as path or as store, not both");
    path = v[4] != NULL && SvOK(v[4]) ? tpx_db_str(aTHX_ cv, &ss, v[4], "store", 1)
                                      : tpx_db_str(aTHX_ cv, &ss, v[0], "path", 1);
    sessions = tpx_db_str(aTHX_ cv, &ss, v[5], "sessions", 1);
    rc = trex_pam_db_open(path, flags, &db, err, sizeof err);
    if (rc == TREX_PAM_SUCCESS && sessions != NULL && *sessions != '\0'
        && (rc = trex_pam_db_use_sessions(db, sessions, err, sizeof err)) != TREX_PAM_SUCCESS) {
        trex_pam_db_close(db);
        db = NULL;
    }
    tpx_strs_done(aTHX_ &ss);
    if (rc != TREX_PAM_SUCCESS)
        tpx_db_croak(aTHX_ cv, "%s", err[0] ? err : trex_pam_db_strerror(rc));
    PUSHs(tpx_db_wrap(aTHX_ cv, klass, db));

void
close(self)
    SV *self
  CODE:
    tpx_db_close(tpx_db_of(aTHX_ self, cv, 0));

void
DESTROY(self)
    SV *self
  PREINIT:
    tpx_db *d;
  CODE:
    if ((d = tpx_db_maybe(aTHX_ self)) != NULL)
        tpx_db_close(d);

SV *
path(self)
    SV *self
  CODE:
    RETVAL = newSVpv(trex_pam_db_path(tpx_db_of(aTHX_ self, cv, 1)->db), 0);
  OUTPUT:
    RETVAL

SV *
where(self)
    SV *self
  CODE:
    RETVAL = newSVpv(trex_pam_db_where(tpx_db_of(aTHX_ self, cv, 1)->db), 0);
  OUTPUT:
    RETVAL

SV *
error(self)
    SV *self
  PREINIT:
    tpx_db *d;
  CODE:
    d = tpx_db_of(aTHX_ self, cv, 0);
    RETVAL = newSVpv(d->db ? trex_pam_db_error(d->db) : "the database is closed", 0);
  OUTPUT:
    RETVAL

int
status(self)
    SV *self
  CODE:
    RETVAL = tpx_db_of(aTHX_ self, cv, 0)->status;
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    tpx_db_opts(aTHX_ cv, &ST(2), items - 2, names, v);
    if (v[11] != NULL && SvOK(v[11]) && !(SvROK(v[11]) && SvTYPE(SvRV(v[11])) == SVt_PVHV))
        tpx_db_croak(aTHX_ cv, "attrs is not a hash reference");
    trex_pam_db_user_init(&u);
    u.disabled = v[4] != NULL && SvTRUE(v[4]);
    u.force_change = v[5] != NULL && SvTRUE(v[5]);
    if (v[6] != NULL && SvOK(v[6]))
        u.expires = tpx_db_num(aTHX_ cv, &ss, v[6], "expires", 0, INT64_MAX);
    if (v[7] != NULL && SvOK(v[7]))
        u.min_days = (int)tpx_db_num(aTHX_ cv, &ss, v[7], "min_days", 0, INT_MAX);
    if (v[8] != NULL && SvOK(v[8]))
        u.max_days = (int)tpx_db_num(aTHX_ cv, &ss, v[8], "max_days", -1, INT_MAX);
    if (v[9] != NULL && SvOK(v[9]))
        u.warn_days = (int)tpx_db_num(aTHX_ cv, &ss, v[9], "warn_days", 0, INT_MAX);
    if (v[10] != NULL && SvOK(v[10]))
        u.pw_changed = tpx_db_num(aTHX_ cv, &ss, v[10], "changed", 0, INT64_MAX);
    u.name = (char *)tpx_db_str(aTHX_ cv, &ss, name, "name", 0);
    pw = tpx_db_str(aTHX_ cv, &ss, v[0], "password", 1);
    u.hash = (char *)tpx_db_str(aTHX_ cv, &ss, v[1], "hash", 1);
    method = tpx_db_str(aTHX_ cv, &ss, v[2], "method", 1);
    cost = tpx_db_str(aTHX_ cv, &ss, v[3], "cost", 1);
    if (pw != NULL && u.hash != NULL) {
        tpx_strs_done(aTHX_ &ss);
        tpx_db_croak(aTHX_ cv, "password and hash exclude each other");
    }
    if (v[11] != NULL && SvOK(v[11])) {
        HV *hv = (HV *)SvRV(v[11]);
        HE *he;
        size_t n = 0;
        Newxz(u.attrs, (size_t)HvUSEDKEYS(hv) + 1, struct trex_pam_db_attr);
        SAVEFREEPV(u.attrs);                    /* freed even if a croak follows */
        hv_iterinit(hv);
        while ((he = hv_iternext(hv)) != NULL && n < (size_t)HvUSEDKEYS(hv)) {
            u.attrs[n].name = (char *)tpx_db_str(aTHX_ cv, &ss, hv_iterkeysv(he), "an attribute name", 0);
            u.attrs[n].value = (char *)tpx_db_str(aTHX_ cv, &ss, hv_iterval(hv, he), "an attribute value", 0);
            n++;
        }
        u.nattrs = n;
    }
    rc = trex_pam_db_user_add(d->db, &u, pw, method, cost);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    tpx_db_opts(aTHX_ cv, &ST(2), items - 2, names, v);
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
        u.expires = SvOK(v[2]) ? tpx_db_num(aTHX_ cv, &ss, v[2], "expires", 0, INT64_MAX) : 0;
        mask |= TREX_PAM_DB_EXPIRES;
    }
    if (v[3] != NULL) {
        u.min_days = SvOK(v[3]) ? (int)tpx_db_num(aTHX_ cv, &ss, v[3], "min_days", 0, INT_MAX) : 0;
        mask |= TREX_PAM_DB_MIN_DAYS;
    }
    if (v[4] != NULL) {                         /* undef or -1: no limit */
        u.max_days = SvOK(v[4]) ? (int)tpx_db_num(aTHX_ cv, &ss, v[4], "max_days", -1, INT_MAX) : -1;
        mask |= TREX_PAM_DB_MAX_DAYS;
    }
    if (v[5] != NULL) {
        u.warn_days = SvOK(v[5]) ? (int)tpx_db_num(aTHX_ cv, &ss, v[5], "warn_days", 0, INT_MAX) : 0;
        mask |= TREX_PAM_DB_WARN_DAYS;
    }
    if (v[6] != NULL) {                         /* undef: unknown (with hash: now) */
        u.pw_changed = SvOK(v[6]) ? tpx_db_num(aTHX_ cv, &ss, v[6], "changed", 0, INT64_MAX) : 0;
        mask |= TREX_PAM_DB_PW_CHANGED;
    }
    u.name = (char *)tpx_db_str(aTHX_ cv, &ss, name, "name", 0);
    if (v[7] != NULL) {
        u.hash = (char *)tpx_db_str(aTHX_ cv, &ss, v[7], "hash", 0);
        mask |= TREX_PAM_DB_HASH;
    }
    rc = trex_pam_db_user_update(d->db, &u, mask);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    tpx_db_opts(aTHX_ cv, &ST(3), items - 3, names, v);
    n = tpx_db_str(aTHX_ cv, &ss, name, "name", 0);
    pw = tpx_db_str(aTHX_ cv, &ss, password, "password", 0);
    method = tpx_db_str(aTHX_ cv, &ss, v[0], "method", 1);
    cost = tpx_db_str(aTHX_ cv, &ss, v[1], "cost", 1);
    rc = trex_pam_db_set_password(d->db, n, pw, method, cost);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    n = tpx_db_str(aTHX_ cv, &ss, name, "name", 0);
    a = tpx_db_str(aTHX_ cv, &ss, attr, "attr", 0);
    val = tpx_db_str(aTHX_ cv, &ss, value, "value", 1);
    rc = trex_pam_db_attr_set(d->db, n, a, val);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    n = tpx_db_str(aTHX_ cv, &ss, name, "name", 0);
    rc = trex_pam_db_user_delete(d->db, n);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    tpx_db_opts(aTHX_ cv, &ST(2), items - 2, names, v);
    n = tpx_db_str(aTHX_ cv, &ss, name, "name", 0);
    rc = trex_pam_db_user_get(d->db, n, &u);
    tpx_strs_done(aTHX_ &ss);
    if (rc == TREX_PAM_USER_UNKNOWN) {          /* a lookup: no such user is undef */
        d->status = rc;
        XSRETURN_UNDEF;
    }
    tpx_db_check(aTHX_ cv, d, rc);
    PUSHs(sv_2mortal(newRV_noinc((SV *)tpx_db_user_hv(aTHX_ u, v[0] != NULL && SvTRUE(v[0])))));
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    tpx_db_opts(aTHX_ cv, &ST(1), items - 1, names, v);
    w.av = (AV *)sv_2mortal((SV *)newAV());
    w.with_hash = v[0] != NULL && SvTRUE(v[0]);
    TPX_SAVE_PERL(&w);
    rc = trex_pam_db_user_list(d->db, tpx_db_user_walk, &w);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    n = tpx_db_str(aTHX_ cv, &ss, name, "name", 1);
    w.av = (AV *)sv_2mortal((SV *)newAV());
    w.with_hash = 0;
    TPX_SAVE_PERL(&w);
    rc = trex_pam_db_session_list(d->db, n, tpx_db_session_walk, &w);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    n = tpx_db_str(aTHX_ cv, &ss, name, "name", 0);
    if (ix == 0)
        hd = tpx_db_str(aTHX_ cv, &ss, handle, "handle", 0);
    rc = trex_pam_db_session_revoke(d->db, n, hd, &count);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    tpx_db_opts(aTHX_ cv, &ST(1), items - 1, names, v);
    idle = tpx_db_secs(aTHX_ cv, &ss, v[0], "idle", INT32_MAX, 0, 1800);
    lifetime = tpx_db_secs(aTHX_ cv, &ss, v[1], "lifetime", INT32_MAX, 0, 43200);
    rc = trex_pam_db_session_purge(d->db, idle, lifetime, &count);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    tpx_db_opts(aTHX_ cv, &ST(2), items - 2, names, v);
    deny = v[0] != NULL && SvOK(v[0]) ? tpx_db_num(aTHX_ cv, &ss, v[0], "deny", 0, 65535) : 3;
    interval = tpx_db_secs(aTHX_ cv, &ss, v[1], "fail_interval", 604800, 0, 900);
    unlock = tpx_db_secs(aTHX_ cv, &ss, v[2], "unlock_time", 604800, 1, 600);
    n = tpx_db_str(aTHX_ cv, &ss, name, "name", 0);
    rc = trex_pam_db_faillock_get(d->db, n, (int)deny, interval, unlock, &f);
    if (rc == TREX_PAM_USER_UNKNOWN) {          /* a lookup: no such user is undef */
        tpx_strs_done(aTHX_ &ss);
        d->status = rc;
        XSRETURN_UNDEF;
    }
    w.av = (AV *)sv_2mortal((SV *)newAV());
    w.with_hash = 0;
    TPX_SAVE_PERL(&w);
    if (rc == TREX_PAM_SUCCESS && f.total > 0)
        rc = trex_pam_db_faillock_list(d->db, n, tpx_db_fail_walk, &w);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    d = tpx_db_of(aTHX_ self, cv, 1);
    n = tpx_db_str(aTHX_ cv, &ss, name, "name", 0);
    rc = trex_pam_db_faillock_reset(d->db, n, &count);
    tpx_strs_done(aTHX_ &ss);
    tpx_db_check(aTHX_ cv, d, rc);
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
    /* TRex::PAM::DB::file([$path]): the file open(path => $path) would
     * use; undef for a server's location. */
    p = tpx_db_str(aTHX_ cv, &ss, path, "path", 1);
    p = trex_pam_db_file(p);
    RETVAL = p != NULL ? newSVpv(p, 0) : newSV(0);
    tpx_strs_done(aTHX_ &ss);
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
    if (tpx_bytes(aTHX_ hash, &h, 0)) {
        RETVAL = h.p != NULL && trex_pam_db_hash_usable(h.p);
        tpx_bytes_done(aTHX_ &h);
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
    m = tpx_db_str(aTHX_ cv, &ss, method, "method", 1);
    c = tpx_db_str(aTHX_ cv, &ss, cost, "cost", 1);
    RETVAL = trex_pam_db_check_policy(m, c) == TREX_PAM_SUCCESS;
    tpx_strs_done(aTHX_ &ss);
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

INCLUDE: DBStores.xsh
