#!/usr/bin/perl
# examples/pam.d/webmail's order: the session line before faillock. A
# signed-in user keeps their session while somebody fails to guess their
# password (the account is locked for passwords only); a disabled account is
# refused at once even with a live session; a dead session ID is refused
# without counting as a failure. A wrong current password in a password
# change counts; a name nobody has is locked as a user is.
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

# The password stack: a wrong current password counts as a failed login (a
# stolen session cookie gives no free guesses at the password behind it).
sub change {
    my ($current, $new) = @_;
    @msgs = ();
    my @answers = ($current, $new, $new);
    my $h = TRex::PAM->new('webmail', 'alice', sub {
        my @res;
        while (my ($style, $msg) = splice @_, 0, 2) {
            push @msgs, $msg;
            push @res, PAM_SUCCESS, $style == PAM_PROMPT_ECHO_OFF ? shift @answers : '';
        }
        return (@res, PAM_SUCCESS);
    });
    $h->pam_set_item(PAM_FAIL_DELAY, sub { });
    return $h->pam_chauthtok;
}
is(change("not-it-$_", 'Brand-new-secret-1'), PAM_AUTH_ERR, "wrong current password $_ of 5")
    for 1 .. 5;
is(change('right-secret-1', 'Brand-new-secret-1'), PAM_AUTH_ERR,
   'then even the right current password is refused');
ok((grep { /locked due to 5 failed logins/ } @msgs), "... with faillock's message");
is((check('right-secret-1'))[0], PAM_AUTH_ERR, 'and the login form is locked too');
system("$cmd faillock alice --reset >/dev/null") == 0 or die;
is(change('right-secret-1', 'Brand-new-secret-1'), PAM_SUCCESS, 'unlocked: the change goes through');
is((check('Brand-new-secret-1'))[0], PAM_SUCCESS, '... and the new password logs in');

# A name nobody has is locked alike, with the same messages.
my %seen;
for my $user ('alice', 'nobody-here') {
    for my $i (1 .. 6) {
        @msgs = ();
        my $h = TRex::PAM->new('webmail', $user, answering("wrong-$i"));
        $h->pam_set_item(PAM_FAIL_DELAY, sub { });
        push @{ $seen{$user} }, join '|', $h->pam_authenticate, @msgs;
    }
}
is_deeply($seen{'nobody-here'}, $seen{alice},
          'six wrong passwords: a name nobody has gets the same statuses and messages as alice');
like($seen{alice}[5], qr/locked due to 5 failed logins/, '... the lock message at the sixth');
done_testing;
