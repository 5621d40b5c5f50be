# What Perl can pass that C cannot take: forged handles croak; values that C
# cannot hold unchanged are refused with an error status and change nothing.
use strict;
use warnings;
use Test::More;
use Config;
use lib 't/lib';
use TRexTest;
use TRex::PAM;

service(login => join '', map { "$_ required permit\n" } qw(auth account session password));
my $conv = sub { my @r; while (@_) { splice @_, 0, 2; push @r, 0, 'x' } (@r, 0) };

# ---- forged handles -------------------------------------------------------------------
pam_start('login', 'alice', $conv, my $real) == PAM_SUCCESS or die;
my @forged = (
    ['bless \\1234', bless(\(my $n = 1234), 'TRex::PAM')],
    ['bless {}', bless({}, 'TRex::PAM')],
    ['a copy of the referent', bless(\(my $c = ${$real}), 'TRex::PAM')],
    ['a plain scalar ref', \(my $s = 1)],
    ['a code ref', sub { 1 }],
    ['the class name', 'TRex::PAM'],
    ['a number', 42],
    ['undef', undef],
    ['a module handle class object', bless(\(my $m = 1), 'TRex::PAM::ModuleHandle')],
);
my %calls = (
    pam_end => [], pam_authenticate => [0], pam_setcred => [0], pam_acct_mgmt => [0],
    pam_open_session => [0], pam_close_session => [0], pam_chauthtok => [0],
    pam_get_item => [PAM_USER, my $out], pam_set_item => [PAM_USER, 'x'], pam_putenv => ['A=1'],
    pam_getenv => ['A'], pam_getenvlist => [], pam_fail_delay => [0],
);
for my $f (@forged) {
    my ($label, $obj) = @$f;
    for my $name (sort keys %calls) {
        my $code = TRex::PAM->can($name);
        eval { $code->($obj, @{ $calls{$name} }) };
        like($@, qr/^TRex::PAM::$name: pamh is not a TRex::PAM handle at /, "$label: $name croaks");
    }
    is(pam_strerror($obj, 7), 'Authentication failure', "$label: pam_strerror does not care");
}
{
    my @warn;
    local $SIG{__WARN__} = sub { push @warn, @_ };
    { my $f = bless \(my $x = 5), 'TRex::PAM'; }
    { my $f = bless {}, 'TRex::PAM'; $f->DESTROY; }
    is_deeply(\@warn, [], 'destroying a forged object is quiet');
}
{
    bless $real, 'Some::Other::Class';
    is(TRex::PAM::pam_authenticate($real), PAM_SUCCESS, 'a reblessed handle is still a handle');
    bless $real, 'TRex::PAM';
}

# ---- numbers that do not fit ----------------------------------------------------------------
for my $bad (2**31, -2**31 - 1, 2**40, 1.5, -0.5, 'inf', 'nan', [0], {}) {
    my $label = ref $bad ? ref($bad) . ' ref' : $bad;
    is(pam_authenticate($real, $bad), PAM_BAD_ITEM, "flags $label: PAM_BAD_ITEM");
    is(pam_chauthtok($real, $bad), PAM_BAD_ITEM, "chauthtok flags $label: PAM_BAD_ITEM");
}
is(pam_authenticate($real, 2**31 - 1), PAM_SUCCESS, 'flags INT_MAX is fine');
is(pam_authenticate($real, '0'), PAM_SUCCESS, 'flags "0" is fine');
is(pam_authenticate($real, undef), PAM_SUCCESS, 'flags undef is 0');
is(pam_end($real, 2**40), PAM_BAD_ITEM, 'pam_end with a status that does not fit: PAM_BAD_ITEM');
is(pam_authenticate($real), PAM_SUCCESS, '... and the handle was not ended');

# ---- strings that do not fit ------------------------------------------------------------------
for my $case (["se\0rvice", 'alice', 'a NUL in the service'], ["\x{263a}", 'alice', 'a wide service'],
              ['login', "al\0ice", 'a NUL in the user'], ['login', "\x{100}", 'a wide user'],
              ['login', [1], 'a reference as user']) {
    my ($svc, $user, $label) = @$case;
    my $rc = pam_start($svc, $user, $conv, my $h);
    is($rc, PAM_BAD_ITEM, "pam_start with $label: PAM_BAD_ITEM");
    is($h, PAM_BAD_ITEM, '... in the out-parameter');
}
{
    my $big = 'u' x 100_000;
    is(pam_start('login', $big, $conv, my $h), PAM_SUCCESS, 'a 100 kB user name');
    pam_get_item($h, PAM_USER, my $u);
    is(length $u, 100_000, '... kept whole');
}

# ---- magic and overloading ---------------------------------------------------------------------
{
    package Counter;
    sub TIESCALAR { my ($c, $v) = @_; bless { v => $v, fetch => 0, store => 0 }, $c }
    sub FETCH { $_[0]{fetch}++; $_[0]{v} }
    sub STORE { $_[0]{store}++; $_[0]{v} = $_[1] }
}
{
    tie my $flags, 'Counter', 0;
    is(pam_authenticate($real, $flags), PAM_SUCCESS, 'tied flags');
    is(tied($flags)->{fetch}, 1, '... fetched once');
    tie my $user, 'Counter', 'tied-user';
    is(pam_set_item($real, PAM_USER, $user), PAM_SUCCESS, 'a tied item value');
    is(tied($user)->{fetch}, 1, '... fetched once');
    tie my $out, 'Counter', 'before';
    is(pam_get_item($real, PAM_USER, $out), PAM_SUCCESS, 'a tied out-parameter');
    is(tied($out)->{v}, 'tied-user', '... stored into');
    tie my $type, 'Counter', PAM_USER;
    pam_get_item($real, $type, my $v);
    is($v, 'tied-user', 'a tied item type');
    is(tied($type)->{fetch}, 1, '... fetched once');
}
{
    package Str;
    use overload '""' => sub { ${ $_[0] } }, fallback => 1;
    package Dies;
    use overload '""' => sub { die "no string for you\n" }, fallback => 1;
}
{
    is(pam_set_item($real, PAM_USER, bless(\(my $x = 'overloaded'), 'Str')), PAM_SUCCESS, 'an object with "" overloading');
    pam_get_item($real, PAM_USER, my $u);
    is($u, 'overloaded', '... is its string');
    eval { pam_set_item($real, PAM_USER, bless(\(my $y = 1), 'Dies')) };
    is($@, "no string for you\n", 'an overloading that dies dies in the caller, not in C');
    is(pam_get_item($real, PAM_USER, $u), PAM_SUCCESS, '... and the handle is fine');
    is($u, 'overloaded', '... unchanged');
}

# ---- threads: handles are not cloned (CLONE_SKIP) ------------------------------------------------
SKIP: {
    skip 'no ithreads', 3 unless $Config{useithreads} && eval { require threads; 1 };
    skip 'threads under valgrind are slow', 3 if $ENV{TREX_PAM_NO_THREADS};
    my $thr = threads->create(sub {
        my $isa = ref($real) && UNIVERSAL::isa($real, 'TRex::PAM') ? 'handle' : 'no handle';
        eval { pam_authenticate($real) };
        return "$isa: " . ($@ =~ /pamh is not a TRex::PAM handle/ ? 'croaks' : 'works');
    });
    is($thr->join, 'no handle: croaks', 'a thread sees no handle (CLONE_SKIP)');
    is(pam_authenticate($real), PAM_SUCCESS, 'the parent\'s handle still works');
    is(pam_end($real), PAM_SUCCESS, '... and ends');
}

done_testing;
