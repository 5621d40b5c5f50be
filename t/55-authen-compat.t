# Drop-in compatibility with Authen::PAM 0.16: one script, run once against
# Authen::PAM over Linux-PAM (through libpam_wrapper, reading the service
# files from a private directory) and once against TRex::PAM (reading the
# same files through $TREX_PAM_CONFDIR), must print the same lines.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest;

my ($wrapper) = grep { -e } map { "$_/libpam_wrapper.so" }
    qw(/usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib);
my ($secdir) = grep { -e "$_/pam_permit.so" && -e "$_/pam_deny.so" && -e "$_/pam_debug.so" }
    qw(/lib/x86_64-linux-gnu/security /usr/lib/x86_64-linux-gnu/security /lib64/security /usr/lib64/security /lib/security);
plan skip_all => 'libpam_wrapper is not installed' unless $wrapper;
plan skip_all => 'pam_permit/pam_deny/pam_debug are not installed' unless $secdir;
plan skip_all => 'Authen::PAM is not installed'
    unless system($^X, '-e', 'require Authen::PAM') == 0;

my $dir = confdir();
my $all = sub { my ($m) = @_; join '', map { "$_ required $m\n" } qw(auth account session password) };
service(permit => $all->('pam_permit.so'));
service(deny   => $all->('pam_deny.so'));
service(debug  => $all->('pam_debug.so auth=perm_denied cred=cred_unavail acct=acct_expired '
    . 'prechauthtok=success chauthtok=service_err open_session=buf_err close_session=system_err'));
service(mixed  => "auth sufficient pam_deny.so\nauth required pam_permit.so\n"
    . "account requisite pam_deny.so\naccount required pam_permit.so\n"
    . "session optional pam_deny.so\nsession required pam_permit.so\n"
    . "password [success=1 default=ignore] pam_permit.so\npassword required pam_deny.so\n"
    . "password required pam_permit.so\n");
service(other  => $all->('pam_deny.so'));

my $script = <<'PERL';
use strict; use warnings;
my $M;
BEGIN { $M = shift; eval "use $M; 1" or die $@ }
$| = 1;
my @answers;
sub conv {
    my @r;
    while (@_) {
        my ($style, $msg) = splice @_, 0, 2;
        print "conv $style <$msg>\n";
        push @r, 0, ($style == PAM_PROMPT_ECHO_ON() || $style == PAM_PROMPT_ECHO_OFF()) ? shift(@answers) // '' : '';
    }
    return (@r, PAM_SUCCESS());
}
sub show { my ($h, $label, $item) = @_; my $rc = pam_get_item($h, $item, my $v); print "$label $rc <", $v // 'undef', ">\n" }

for my $svc (qw(permit deny debug mixed nosuch)) {
    my $rc = pam_start($svc, 'alice', \&conv, my $h);
    print "$svc: pam_start $rc\n";
    print "$svc: authenticate ", pam_authenticate($h, 0), "\n";
    print "$svc: setcred ", pam_setcred($h, 0), "\n";
    print "$svc: acct_mgmt ", pam_acct_mgmt($h, 0), "\n";
    print "$svc: open_session ", pam_open_session($h, 0), "\n";
    print "$svc: close_session ", pam_close_session($h, 0), "\n";
    print "$svc: chauthtok ", pam_chauthtok($h, 0), "\n";
    print "$svc: authenticate silent ", pam_authenticate($h, PAM_SILENT()), "\n";
    print "$svc: end ", pam_end($h, 0), "\n";
}

my $rc = pam_start('permit', 'alice', \&conv, my $h);
show($h, 'user', PAM_USER());
show($h, 'service', PAM_SERVICE());
for my $pair ([PAM_TTY(), 'tty'], [PAM_RHOST(), 'rhost'], [PAM_RUSER(), 'ruser'], [PAM_USER_PROMPT(), 'prompt']) {
    print "set $pair->[1] ", pam_set_item($h, $pair->[0], "v-$pair->[1]"), "\n";
    show($h, $pair->[1], $pair->[0]);
}
print "set user ", pam_set_item($h, PAM_USER(), 'dave'), "\n";
show($h, 'user', PAM_USER());
print "set service ", pam_set_item($h, PAM_SERVICE(), 'DENY'), "\n";
show($h, 'service', PAM_SERVICE());
print "authenticate after service change ", pam_authenticate($h, 0), "\n";
pam_set_item($h, PAM_SERVICE(), 'permit');
print "putenv ", join(' ', map { pam_putenv($h, $_) } 'A=1', 'B=', 'C=x', 'C=y', 'D', '=x', 'C'), "\n";
print "getenv ", join(' ', map { pam_getenv($h, $_) // 'undef' } qw(A B C D)), "\n";
my %env = pam_getenvlist($h);
print "getenvlist ", join(' ', map { "$_=$env{$_}" } sort keys %env), "\n";
print "fail_delay ", pam_fail_delay($h, 0), "\n";
my $conv2 = sub { print "conv2\n"; return (0, 'erin', 0) };
print "set conv ", pam_set_item($h, PAM_CONV(), $conv2), "\n";
pam_get_item($h, PAM_CONV(), my $c);
print "get conv ", ($c == $conv2 ? 'same' : 'other'), "\n";
print "strerror $_ <", pam_strerror($h, $_), ">\n" for 0 .. 31;
print "end ", pam_end($h), "\n";

@answers = ('bob');
$rc = pam_start('permit', undef, \&conv, $h);
print "no user: start $rc authenticate ", pam_authenticate($h, 0), "\n";
show($h, 'user', PAM_USER());
pam_end($h, 0);

@answers = ('');
$rc = pam_start('permit', undef, \&conv, $h);
print "empty user: authenticate ", pam_authenticate($h, 0), "\n";
show($h, 'user', PAM_USER());
pam_end($h, 0);

my $o = $M->new('debug', 'carol', \&conv);
print "new ", (ref $o ? 'object' : $o), "\n";
print "oo authenticate ", $o->pam_authenticate, "\n";
print "oo acct_mgmt ", $o->pam_acct_mgmt, "\n";
my $u;
print "oo get_item ", $o->pam_get_item(PAM_USER(), $u), " <$u>\n";
print "oo strerror <", $o->pam_strerror(7), ">\n";
print "oo putenv ", $o->pam_putenv('X=1'), " getenv ", $o->pam_getenv('X'), "\n";
my %oe = $o->pam_getenvlist;
print "oo getenvlist ", join(' ', %oe), "\n";
undef $o;
print "constant $_ ", eval { no strict 'refs'; &{"${M}::$_"}() } // 'croaks', "\n"
    for grep { /^[A-Z]/ } do { no strict 'refs'; @{"${M}::EXPORT"} };
PERL

sub run_with {
    my ($module, %env) = @_;
    local @ENV{keys %env} = values %env;
    # libpam's syslog lines come out on stderr through libpam_wrapper
    open my $save, '>&', \*STDERR or die "dup: $!";
    open STDERR, '>', '/dev/null' if $module eq 'Authen::PAM';
    open my $fh, '-|', $^X, '-Mblib', '-e', $script, $module or die "run $module: $!";
    open STDERR, '>&', $save or die "restore: $!";
    local $/;
    my $out = <$fh>;
    close $fh;
    return ($out // '', $?);
}

my ($authen, $arc) = run_with('Authen::PAM', LD_PRELOAD => $wrapper, PAM_WRAPPER => 1,
    PAM_WRAPPER_SERVICE_DIR => $dir);
my ($trex, $trc) = run_with('TRex::PAM', TREX_PAM_CONFDIR => $dir);
is($arc, 0, 'the script ran with Authen::PAM');
is($trc, 0, 'the script ran with TRex::PAM');

# PAM_SUCESS is TRex's own addition; Debian's Authen::PAM croaks for the two
# AUTHTOK_RECOVER(Y)_ERR names where TRex::PAM gives 21.
$trex =~ s/^constant PAM_SUCESS .*\n//m;
for my $name (qw(PAM_AUTHTOK_RECOVER_ERR PAM_AUTHTOK_RECOVERY_ERR)) {
    $authen =~ s/^constant $name croaks$/constant $name 21/m;
}
like($authen, qr/^permit: authenticate 0$/m, 'Authen::PAM through libpam_wrapper works') or diag $authen;
my @a = split /\n/, $authen;
my @t = split /\n/, $trex;
is(scalar @t, scalar @a, 'as many lines');
for my $i (0 .. ($#a > $#t ? $#a : $#t)) {
    is($t[$i], $a[$i], 'line ' . ($i + 1) . ': ' . ($a[$i] // 'missing'));
}

done_testing;
