#!/usr/bin/perl
# examples/pam.d/webmail's order: the session line before faillock. A
# signed-in user keeps their session while somebody fails to guess their
# password (the account is locked for passwords only); a disabled account is
# refused at once even with a live session; a dead session ID is refused
# without counting as a failure.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir confdir service);
use TRex::PAM;

my $dir = tempdir();
my $db = "$dir/users.db";
confdir();
open my $fh, '<', 'examples/pam.d/webmail' or die $!;
my $stack = do { local $/; <$fh> };
$stack =~ s{^(\s*(?:auth|account|password|session)\s+(?:\[[^\]]*\]|\S+)\s+(?:faillock|session|userdb)\b[^\n]*)$}{$1 db=$db}mg;
service('webmail', $stack);
my $cmd = join ' ', map { "'$_'" } $^X, '-Mblib', 'bin/trex-pam', '--db', $db;
system("$cmd init >/dev/null") == 0 or die 'trex-pam init failed';
system("printf 'right-secret-1\\n' | $cmd useradd alice --password-stdin >/dev/null") == 0 or die;

my @msgs;
sub answering {
    my ($answer) = @_;
    return sub {
        my @res;
        while (my ($style, $msg) = splice @_, 0, 2) {
            push @msgs, $msg;
            push @res, PAM_SUCCESS, $answer;
        }
        return (@res, PAM_SUCCESS);
    };
}
sub check {
    my ($answer) = @_;
    @msgs = ();
    my $h = TRex::PAM->new('webmail', 'alice', answering($answer));
    ref $h or die "pam_start: $h";
    $h->pam_set_item(PAM_FAIL_DELAY, sub { });          # no sleeping in tests
    my $a = $h->pam_authenticate;
    return ($a, $a == PAM_SUCCESS ? $h->pam_acct_mgmt : undef, $h);
}

my ($a, $b, $h) = check('right-secret-1');
is($a, PAM_SUCCESS, 'password login');
is($h->pam_open_session, PAM_SUCCESS, '... opens a session');
$h->pam_get_item('TREX_SESSION_ID', my $sid);
undef $h;

is((check("wrong-$_"))[0], PAM_AUTH_ERR, "wrong password $_ of 5") for 1 .. 5;
is((check('right-secret-1'))[0], PAM_AUTH_ERR, 'the account is now locked for passwords');
ok((grep { /locked due to 5 failed logins/ } @msgs), '... with faillock\'s message');
($a, $b) = check($sid);
is($a, PAM_SUCCESS, 'the live session still authenticates (the session line comes first)');
is($b, PAM_SUCCESS, '... and its account is fine');

system("$cmd usermod alice --disable >/dev/null") == 0 or die;
($a, $b) = check($sid);
ok($a != PAM_SUCCESS || $b != PAM_SUCCESS, 'a disabled account is refused at once, even with a live session');
system("$cmd usermod alice --enable >/dev/null") == 0 or die;
system("$cmd faillock alice --reset >/dev/null") == 0 or die;

system("$cmd sessions alice --revoke-all >/dev/null") == 0 or die;
is((check($sid))[0], PAM_AUTH_ERR, "a revoked session ID is refused ($_ of 5)") for 1 .. 5;
is((check('right-secret-1'))[0], PAM_SUCCESS,
   '... without counting as failures: after five the password still works');
done_testing;
