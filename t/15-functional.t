# The functional interface, as Authen::PAM has it: pam_start's three forms and
# its out-parameter, the six service calls with and without flags, pam_end
# (once), ended handles, pam_strerror, pam_fail_delay.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest;
use TRex::PAM;

my $all = sub { my ($m, $args) = @_; join '', map { "$_ required $m $args\n" } qw(auth account session password) };
service(login => $all->('permit', ''));
service(deny  => $all->('deny', ''));
service(debug => $all->('debug', 'auth=perm_denied cred=cred_unavail acct=acct_expired '
    . 'prechauthtok=success chauthtok=service_err open_session=buf_err close_session=system_err'));
service(other => $all->('deny', ''));

my @seen;
my $conv = scripted_conv(\@seen);

# ---- pam_start -----------------------------------------------------------------
{
    my $rc = pam_start('login', 'alice', $conv, my $h);
    is($rc, PAM_SUCCESS, '4-argument pam_start');
    isa_ok($h, 'TRex::PAM', 'the out-parameter');
    is(pam_get_item($h, PAM_USER, my $u), PAM_SUCCESS, 'get PAM_USER');
    is($u, 'alice', '... the user given');
    is(pam_get_item($h, PAM_SERVICE, my $s), PAM_SUCCESS, 'get PAM_SERVICE');
    is($s, 'login', '... the service given');
    is(pam_get_item($h, PAM_CONV, my $c), PAM_SUCCESS, 'get PAM_CONV');
    is($c, $conv, '... the conversation given');
    is(pam_end($h), PAM_SUCCESS, 'pam_end');
}
{
    my $rc = pam_start('login', 'bob', my $h);
    is($rc, PAM_SUCCESS, '3-argument pam_start');
    isa_ok($h, 'TRex::PAM');
    pam_get_item($h, PAM_USER, my $u);
    is($u, 'bob', '... user');
    pam_get_item($h, PAM_CONV, my $c);
    is($c, \&TRex::PAM::pam_default_conv, '... the default conversation');
    is(pam_end($h, PAM_SUCCESS), PAM_SUCCESS, 'pam_end with a status');
}
{
    my $rc = pam_start('login', my $h);
    is($rc, PAM_SUCCESS, '2-argument pam_start');
    pam_get_item($h, PAM_USER, my $u);
    is($u, undef, '... no user');
    pam_get_item($h, PAM_CONV, my $c);
    is($c, \&TRex::PAM::pam_default_conv, '... the default conversation');
    pam_end($h);
}
{
    my $rc = pam_start('login', undef, scripted_conv(\@seen, 'bob'), my $h);
    is($rc, PAM_SUCCESS, 'pam_start with an undef user');
    pam_get_item($h, PAM_USER, my $u);
    is($u, undef, '... PAM_USER is NULL');
    @seen = ();
    is(pam_authenticate($h), PAM_SUCCESS, '... permit asks for the user');
    is_deeply(\@seen, [[PAM_PROMPT_ECHO_ON, 'login:']], '... with "login:", echo on');
    pam_get_item($h, PAM_USER, $u);
    is($u, 'bob', '... and keeps the answer');
}
{
    my $h = 'untouched';
    eval { pam_start('login') };
    like($@, qr/^TRex::PAM::pam_start: wrong number of arguments \(1, want 2, 3 or 4\)/,
         'pam_start with one argument croaks');
    eval { pam_start('login', 'u', $conv, 'x', $h) };
    like($@, qr/wrong number of arguments \(5/, 'pam_start with five arguments croaks');
    eval { pam_start('login', 'u', 'not code', $h) };
    like($@, qr/^TRex::PAM::pam_start: conv is not a code reference/, 'a conversation that is no code croaks');
    is($h, 'untouched', '... and leaves the out-parameter alone');
}
{
    my $rc = pam_start('login', 'u', undef, my $h);
    is($rc, PAM_SYSTEM_ERR, 'an undef conversation is a NULL conv: PAM_SYSTEM_ERR');
    is($h, PAM_SYSTEM_ERR, '... the out-parameter holds the code');
    ok(!ref $h, '... and is no handle');
    $rc = pam_start(undef, 'u', $conv, $h);
    is($rc, PAM_SYSTEM_ERR, 'an undef service: PAM_SYSTEM_ERR');
}
{
    # a directory with neither the service nor "other"
    my $empty = tempdir();
    local $ENV{TREX_PAM_CONFDIR} = $empty;
    my $rc = pam_start('nosuch', 'u', $conv, my $h);
    is($rc, PAM_ABORT, 'no service and no other: PAM_ABORT');
    is($h, PAM_ABORT, '... in the out-parameter too');
    is(pam_strerror($h, $rc), 'Critical error - immediate abort', 'pam_strerror takes the failed $pamh');
}
{
    my $rc = pam_start('nosuch', 'u', $conv, my $h);
    is($rc, PAM_SUCCESS, 'a missing service falls back to other');
    is(pam_authenticate($h), PAM_AUTH_ERR, '... whose deny refuses');
}

# ---- the six calls --------------------------------------------------------------
my @calls = qw(pam_authenticate pam_setcred pam_acct_mgmt pam_open_session pam_close_session pam_chauthtok);
my %code = (
    login => [(PAM_SUCCESS) x 6],
    deny  => [PAM_AUTH_ERR, PAM_CRED_ERR, PAM_AUTH_ERR, PAM_SESSION_ERR, PAM_SESSION_ERR, PAM_AUTHTOK_ERR],
    debug => [PAM_PERM_DENIED, PAM_CRED_UNAVAIL, PAM_ACCT_EXPIRED, PAM_BUF_ERR, PAM_SYSTEM_ERR,
              PAM_SERVICE_ERR],
);
for my $svc (sort keys %code) {
    is(pam_start($svc, 'alice', $conv, my $h), PAM_SUCCESS, "$svc: pam_start");
    for my $i (0 .. $#calls) {
        no strict 'refs';
        my $f = \&{"TRex::PAM::$calls[$i]"};
        is($f->($h), $code{$svc}[$i], "$svc: $calls[$i](\$pamh)");
        is($f->($h, 0), $code{$svc}[$i], "$svc: $calls[$i](\$pamh, 0)");
        is($f->($h, PAM_SILENT), $code{$svc}[$i], "$svc: $calls[$i](\$pamh, PAM_SILENT)");
        my $m = $calls[$i];
        is($h->$m(), $code{$svc}[$i], "$svc: \$pamh->$m()");
        is($h->$m(0), $code{$svc}[$i], "$svc: \$pamh->$m(0)");
    }
    is(pam_end($h, 0), PAM_SUCCESS, "$svc: pam_end");
}
{
    @seen = ();
    pam_start('debug', 'alice', $conv, my $h);
    pam_authenticate($h, 0);
    is_deeply(\@seen, [[PAM_TEXT_INFO, 'auth=perm_denied']], 'debug tells the conversation');
    is(pam_chauthtok($h, TRex::PAM::PAM_PRELIM_CHECK()), PAM_SYSTEM_ERR, 'the application may not pass PAM_PRELIM_CHECK');
    is(pam_chauthtok($h, TRex::PAM::PAM_UPDATE_AUTHTOK()), PAM_SYSTEM_ERR, '... nor PAM_UPDATE_AUTHTOK');
    is(pam_setcred($h, PAM_DELETE_CRED), PAM_CRED_UNAVAIL, 'setcred with a flag');
}

# ---- ended handles ------------------------------------------------------------------
{
    pam_start('login', 'alice', $conv, my $h);
    is(pam_end($h), PAM_SUCCESS, 'pam_end');
    is(pam_end($h), PAM_SYSTEM_ERR, 'a second pam_end: PAM_SYSTEM_ERR');
    is(pam_end($h, 0), PAM_SYSTEM_ERR, '... and a third');
    for my $f (@calls) {
        no strict 'refs';
        is(&{"TRex::PAM::$f"}($h, 0), PAM_SYSTEM_ERR, "ended: $f");
        is($h->$f, PAM_SYSTEM_ERR, "ended: \$pamh->$f");
    }
    my $v = 'x';
    is(pam_get_item($h, PAM_USER, $v), PAM_SYSTEM_ERR, 'ended: pam_get_item');
    is($v, undef, '... clears the out-parameter');
    is(pam_set_item($h, PAM_USER, 'x'), PAM_SYSTEM_ERR, 'ended: pam_set_item');
    is(pam_set_item($h, PAM_CONV, $conv), PAM_SYSTEM_ERR, 'ended: pam_set_item PAM_CONV');
    is(pam_putenv($h, 'A=b'), PAM_SYSTEM_ERR, 'ended: pam_putenv');
    is(pam_getenv($h, 'A'), undef, 'ended: pam_getenv gives undef');
    is_deeply([pam_getenvlist($h)], [], 'ended: pam_getenvlist gives an empty list');
    is(pam_fail_delay($h, 1000), PAM_SYSTEM_ERR, 'ended: pam_fail_delay');
    is(pam_strerror($h, PAM_AUTH_ERR), 'Authentication failure', 'ended: pam_strerror still works');
    is($h->pam_strerror(PAM_SUCCESS), 'Success', 'ended: $pamh->pam_strerror');
    isa_ok($h, 'TRex::PAM', 'an ended handle is still an object');
}

# ---- pam_strerror ------------------------------------------------------------------------
{
    my @text = ('Success', 'Failed to load module', 'Symbol not found', 'Error in service module',
        'System error', 'Memory buffer error', 'Permission denied', 'Authentication failure',
        'Insufficient credentials to access authentication data',
        'Authentication service cannot retrieve authentication info',
        'User not known to the underlying authentication module',
        'Have exhausted maximum number of retries for service',
        'Authentication token is no longer valid; new one required', 'User account has expired',
        'Cannot make/remove an entry for the specified session',
        'Authentication service cannot retrieve user credentials', 'User credentials expired',
        'Failure setting user credentials', 'No module specific data is present',
        'Conversation error', 'Authentication token manipulation error',
        'Authentication information cannot be recovered', 'Authentication token lock busy',
        'Authentication token aging disabled', 'Failed preliminary check by password service',
        'The return value should be ignored by PAM dispatch', 'Critical error - immediate abort',
        'Authentication token expired', 'Module is unknown', 'Bad item passed to pam_*_item()',
        'Conversation is waiting for event', 'Application needs to call libpam again');
    pam_start('login', 'alice', $conv, my $h);
    for my $code (0 .. $#text) {
        is(pam_strerror($h, $code), $text[$code], "pam_strerror($code)");
    }
    is(pam_strerror(undef, 7), 'Authentication failure', 'pam_strerror with an undef handle');
    is(pam_strerror($h, $_), 'Unknown PAM error', "pam_strerror($_)") for -1, 32, 33, 2**40, -2**40;
    is(TRex::PAM::pam_strerror(undef, 0), 'Success', 'fully qualified');
}

# ---- pam_fail_delay -----------------------------------------------------------------------
{
    pam_start('login', 'alice', $conv, my $h);
    is(pam_fail_delay($h, 0), PAM_SUCCESS, 'pam_fail_delay 0');
    is(pam_fail_delay($h, 1000), PAM_SUCCESS, 'pam_fail_delay 1000');
    is($h->pam_fail_delay(2000), PAM_SUCCESS, '$pamh->pam_fail_delay');
    is(pam_fail_delay($h, -1), PAM_BAD_ITEM, 'a negative delay is refused');
    is(pam_fail_delay($h, 2**32), PAM_BAD_ITEM, 'a delay beyond unsigned int is refused');
    is(pam_fail_delay($h, 1.5), PAM_BAD_ITEM, 'a fractional delay is refused');
}

# ---- croaks on misuse -------------------------------------------------------------------------
for my $f (@calls, qw(pam_end pam_fail_delay)) {
    no strict 'refs';
    eval { &{"TRex::PAM::$f"}(undef, 0) };
    like($@, qr/^TRex::PAM::$f: pamh is not a TRex::PAM handle/, "$f(undef) croaks");
}
eval { pam_get_item(42, PAM_USER, my $x) };
like($@, qr/^TRex::PAM::pam_get_item: pamh is not a TRex::PAM handle/, 'pam_get_item(42, ...) croaks');
eval { pam_authenticate() };
like($@, qr/Usage: TRex::PAM::pam_authenticate\(pamh, flags ?= ?0\)/, 'too few arguments croak with usage');
eval { pam_getenvlist(undef) };
like($@, qr/^TRex::PAM::pam_getenvlist: pamh is not a TRex::PAM handle/, 'pam_getenvlist(undef) croaks');
eval { pam_get_item() };
like($@, qr/Usage: TRex::PAM::pam_get_item\(pamh, type, value\)/, 'pam_get_item usage');

done_testing;
