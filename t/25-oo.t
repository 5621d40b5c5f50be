# The object interface: TRex::PAM->new, every function as a method, DESTROY
# ending the handle exactly once.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest;
use TRex::PAM;
use TRexTest::Data;

service(login => join '', map { "$_ required permit\n" } qw(auth account session password));
service(data  => "auth required perl:TRexTest::Data\naccount required permit\n");
service(other => "auth required deny\n");

my @seen;
my $conv = scripted_conv(\@seen, 'bob');

{
    my $h = TRex::PAM->new('login', 'alice', $conv);
    isa_ok($h, 'TRex::PAM', 'new with service, user, conv');
    ok(ref($h), 'ref($pamh) is true, as Authen::PAM code checks');
    is($h->pam_authenticate, PAM_SUCCESS, '$h->pam_authenticate');
    is($h->pam_authenticate(0), PAM_SUCCESS, '$h->pam_authenticate(0)');
    is($h->pam_setcred(PAM_ESTABLISH_CRED), PAM_SUCCESS, '$h->pam_setcred');
    is($h->pam_acct_mgmt, PAM_SUCCESS, '$h->pam_acct_mgmt');
    is($h->pam_open_session, PAM_SUCCESS, '$h->pam_open_session');
    is($h->pam_close_session, PAM_SUCCESS, '$h->pam_close_session');
    is($h->pam_chauthtok, PAM_SUCCESS, '$h->pam_chauthtok');
    is($h->pam_set_item(PAM_TTY, '/dev/pts/1'), PAM_SUCCESS, '$h->pam_set_item');
    is($h->pam_get_item(PAM_TTY, my $tty), PAM_SUCCESS, '$h->pam_get_item');
    is($tty, '/dev/pts/1', '... out-parameter');
    is($h->pam_putenv('A=1'), PAM_SUCCESS, '$h->pam_putenv');
    is($h->pam_getenv('A'), '1', '$h->pam_getenv');
    is_deeply({ $h->pam_getenvlist }, { A => '1' }, '$h->pam_getenvlist');
    is($h->pam_fail_delay(10), PAM_SUCCESS, '$h->pam_fail_delay');
    is($h->pam_strerror(PAM_AUTH_ERR), 'Authentication failure', '$h->pam_strerror');
    is($h->pam_end, PAM_SUCCESS, '$h->pam_end');
    is($h->pam_end, PAM_SYSTEM_ERR, '... once');
    is($h->pam_authenticate, PAM_SYSTEM_ERR, 'an ended object answers PAM_SYSTEM_ERR');
}
{
    my $h = TRex::PAM->new('login', 'alice');
    isa_ok($h, 'TRex::PAM', 'new with service and user');
    $h->pam_get_item(PAM_CONV, my $c);
    is($c, \&TRex::PAM::pam_default_conv, '... has the default conversation');
    $h = TRex::PAM->new('login');
    isa_ok($h, 'TRex::PAM', 'new with the service only');
    $h->pam_get_item(PAM_USER, my $u);
    is($u, undef, '... no user');
    $h = new TRex::PAM('login', undef, $conv);
    isa_ok($h, 'TRex::PAM', 'indirect-object new, as in Authen::PAM\'s manual');
    @seen = ();
    is($h->pam_authenticate, PAM_SUCCESS, '... authenticates');
    is($seen[0][1], 'login:', '... asking for the user');
}
{
    my $empty = tempdir();
    local $ENV{TREX_PAM_CONFDIR} = $empty;
    my $h = TRex::PAM->new('nosuch', 'alice', $conv);
    ok(!ref $h, 'a failing new returns no object');
    is($h, PAM_ABORT, '... but the error number');
    eval { TRex::PAM->new() };
    like($@, qr{^TRex::PAM::new: wrong number of arguments \(0,}, 'new without a service croaks, naming the function');
}

# ---- DESTROY ends the handle exactly once ---------------------------------------------
{
    @TRexTest::Data::cleanups = ();
    {
        my $h = TRex::PAM->new('data', 'alice', $conv);
        is($h->pam_authenticate, PAM_SUCCESS, 'a module sets data with a cleanup');
        is(scalar @TRexTest::Data::cleanups, 0, '... not cleaned up yet');
    }
    is_deeply(\@TRexTest::Data::cleanups, [[1, PAM_SUCCESS]], 'DESTROY: the cleanup ran once, status 0');

    @TRexTest::Data::cleanups = ();
    {
        my $h = TRex::PAM->new('data', 'alice', $conv);
        $h->pam_authenticate;
        is($h->pam_end(PAM_AUTH_ERR), PAM_SUCCESS, 'pam_end with a status');
        is_deeply(\@TRexTest::Data::cleanups, [[1, PAM_AUTH_ERR]], '... the cleanup got it');
    }
    is_deeply(\@TRexTest::Data::cleanups, [[1, PAM_AUTH_ERR]], 'DESTROY after pam_end does not end again');

    @TRexTest::Data::cleanups = ();
    {
        pam_start('data', 'alice', $conv, my $h);
        pam_authenticate($h);
        my $copy = $h;
        undef $h;
        is(scalar @TRexTest::Data::cleanups, 0, 'a copy keeps the handle alive');
    }
    is_deeply(\@TRexTest::Data::cleanups, [[1, PAM_SUCCESS]], 'a functional handle ends when its last reference goes');

    @TRexTest::Data::cleanups = ();
    {
        my $h = TRex::PAM->new('data', 'alice', $conv);
        $h->pam_authenticate;
        $h->DESTROY;
        is_deeply(\@TRexTest::Data::cleanups, [[1, PAM_SUCCESS]], 'an explicit DESTROY ends it');
        is($h->pam_end, PAM_SYSTEM_ERR, '... pam_end afterwards: PAM_SYSTEM_ERR');
    }
    is(scalar @TRexTest::Data::cleanups, 1, '... and the real destruction does nothing more');
}

# ---- subclasses ------------------------------------------------------------------------------
{
    package My::PAM;
    our @ISA = ('TRex::PAM');
    our $destroyed = 0;
    sub DESTROY { $destroyed++; $_[0]->SUPER::DESTROY }
}
{
    my $h = My::PAM->new('login', 'alice', $conv);
    isa_ok($h, 'My::PAM', 'new in a subclass');
    is($h->pam_authenticate, PAM_SUCCESS, '... works');
    my $h2 = $h->new('login', 'bob', $conv);
    isa_ok($h2, 'My::PAM', 'new called on an object');
}
is($My::PAM::destroyed, 2, 'a subclass DESTROY calling SUPER::DESTROY');

done_testing;
