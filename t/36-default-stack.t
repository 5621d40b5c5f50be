#!/usr/bin/perl
# The built-in default stack: with no configuration directory at all a fresh
# install authenticates real users on the embedded store (faillock, a
# session ID or a password, userdb's account rules, session IDs), and the
# shipped examples/pam.d/default holds the same lines as the C source.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir scripted_conv);
use TRex::PAM;

# 1. examples/pam.d/default == the C string in c/modules/registry.c
sub lines_of { [map { s/\s+/ /gr =~ s/^ | $//gr } grep { /\S/ && !/^\s*#/ } @_] }
open my $c, '<', 'c/modules/registry.c' or die $!;
my $src = do { local $/; <$c> };
my ($body) = $src =~ /static const char default_stack\[\] =\n(.*?);\n/s;
my @c_lines = map { s/\\n$//r } $body =~ /"((?:[^"\\]|\\.)*)"/g;
open my $f, '<', 'examples/pam.d/default' or die $!;
is_deeply(lines_of(<$f>), lines_of(@c_lines), 'examples/pam.d/default is the built-in stack, line for line');

# 2. It runs: no TREX_PAM_CONFDIR, the compiled default directory absent.
SKIP: {
    skip '/etc/trex-pam.d exists here: the built-in default does not apply', 9 if -e '/etc/trex-pam.d';
    my $dir = tempdir();
    local $ENV{TREX_PAM_DB} = "$dir/users.db";
    delete local $ENV{TREX_PAM_CONFDIR};
    my $cmd = join ' ', map { "'$_'" } $^X, '-Mblib', 'bin/trex-pam';
    system("$cmd init >/dev/null 2>&1") == 0 or die 'trex-pam init failed';
    system("printf 'right-password-1\\n' | $cmd useradd alice --password-stdin >/dev/null 2>&1") == 0
        or die 'trex-pam useradd failed';
    sub start {
        my ($pw) = @_;
        my $h = TRex::PAM->new('anything', 'alice', scripted_conv([], $pw));
        ref $h or die "pam_start: $h";
        $h->pam_set_item(PAM_FAIL_DELAY(), sub { });    # no sleep after a failure
        return $h;
    }
    my $h = start('right-password-1');
    is($h->pam_authenticate, PAM_SUCCESS, 'the right password logs in with no configuration at all');
    is($h->pam_acct_mgmt, PAM_SUCCESS, '... account');
    is($h->pam_open_session, PAM_SUCCESS, '... a session opens');
    is($h->pam_get_item('TREX_SESSION_ID', my $sid), PAM_SUCCESS, '... and has an ID');
    like($sid, qr/^trex1\.[A-Za-z0-9_-]{43}$/, '... of the session shape');
    undef $h;
    $h = start($sid);
    is($h->pam_authenticate, PAM_SUCCESS, 'the session ID answers the password prompt next time');
    $h->pam_get_item('TREX_AUTH_METHOD', my $how);
    is($how, 'session', '... and says so');
    undef $h;
    is(start('wrong-password')->pam_authenticate, PAM_AUTH_ERR, 'a wrong password fails');
    is(TRex::PAM->new('anything', 'nobody-here', scripted_conv([], 'x'))->pam_authenticate,
       PAM_AUTH_ERR, 'an unknown user: PAM_AUTH_ERR, as a wrong password (the name is not told)');
}
done_testing;
