#!/usr/bin/perl
# The whole path: users made with bin/trex-pam (useradd, passwd, usermod,
# import) log in through TRex::PAM with a service file using the userdb
# module on that database. Skips until userdb is a registered module.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(confdir service scripted_conv tempdir);
use TRex::PAM qw(:DEFAULT :constants);

my $dir = tempdir();
my $db = "$dir/users.db";
$ENV{TREX_PAM_DB} = "$dir/not-this-one.db";       # db= of the service file decides
my $conf = confdir();
service('login', "auth required userdb db=$db\naccount required userdb db=$db\n"
               . "password required userdb db=$db\nsession required permit\n");
{
    my ($rc, @problems) = TRex::PAM::check_config('login', $conf);
    plan skip_all => "the userdb module is not registered yet (check_config: rc $rc; @problems)"
        if $rc != PAM_SUCCESS || @problems;
}

sub cmd {
    my ($stdin, @args) = @_;
    open my $in, '>', "$dir/.stdin" or die $!;
    print {$in} $stdin;
    close $in;
    my $c = join ' ', map { "'" . s/'/'\\''/gr . "'" } $^X, '-Mblib', 'bin/trex-pam', '--db', $db, @args;
    my $out = `$c < '$dir/.stdin' 2>&1`;
    return ($? >> 8, $out);
}

# (authenticate, acct_mgmt) of $user with $password; the handle's env after setcred
sub login {
    my ($user, $password) = @_;
    my $pamh = TRex::PAM->new('login', $user, scripted_conv([], $password));
    return ("pam_start: $pamh") unless ref $pamh;
    $pamh->pam_set_item(PAM_FAIL_DELAY, sub { });      # no sleep after a failure
    my $auth = $pamh->pam_authenticate(0);
    my $acct = $auth == PAM_SUCCESS ? $pamh->pam_acct_mgmt(0) : undef;
    my %env;
    if (defined $acct && $acct == PAM_SUCCESS && $pamh->pam_setcred(PAM_ESTABLISH_CRED) == PAM_SUCCESS) {
        %env = $pamh->pam_getenvlist;
    }
    return ($auth, $acct, \%env);
}

my ($rc, $out) = cmd('', 'init');
is($rc, 0, 'trex-pam init') or diag($out);
($rc, $out) = cmd("Alice-Pw-1\n", 'useradd', 'alice', '--password-stdin', '--attr', 'display_name=Alice Liddell');
is($rc, 0, 'trex-pam useradd alice --password-stdin') or diag($out);

my ($auth, $acct, $env) = login('alice', 'Alice-Pw-1');
is($auth, PAM_SUCCESS, 'alice logs in with her password');
is($acct, PAM_SUCCESS, '... her account is fine');
ok((grep { $_ eq 'Alice Liddell' } values %$env), '... setcred exports her attribute')
    or diag(explain($env));
($auth) = login('alice', 'wrong');
is($auth, PAM_AUTH_ERR, 'a wrong password: PAM_AUTH_ERR');
($auth) = login('mallory', 'Alice-Pw-1');
ok($auth == PAM_USER_UNKNOWN || $auth == PAM_AUTH_ERR, 'an unknown user does not log in') or diag($auth);

($rc, $out) = cmd("Alice-Pw-2\n", 'passwd', 'alice', '--password-stdin');
is($rc, 0, 'trex-pam passwd alice') or diag($out);
($auth) = login('alice', 'Alice-Pw-1');
is($auth, PAM_AUTH_ERR, '... the old password no longer works');
($auth) = login('alice', 'Alice-Pw-2');
is($auth, PAM_SUCCESS, '... the new one does');

($rc, $out) = cmd('', 'usermod', 'alice', '--disable');
is($rc, 0, 'trex-pam usermod --disable') or diag($out);
($auth, $acct) = login('alice', 'Alice-Pw-2');
ok(!defined $acct || $acct != PAM_SUCCESS, '... a disabled account is refused');
cmd('', 'usermod', 'alice', '--enable', '--expires', '2001-01-01');
($auth, $acct) = login('alice', 'Alice-Pw-2');
is($acct, PAM_ACCT_EXPIRED, 'an expired account: PAM_ACCT_EXPIRED');
cmd('', 'usermod', 'alice', '--expires', 'never', '--force-change');
($auth, $acct) = login('alice', 'Alice-Pw-2');
is($acct, PAM_NEW_AUTHTOK_REQD, 'a forced change: PAM_NEW_AUTHTOK_REQD');
cmd('', 'usermod', 'alice', '--no-force-change');
($auth, $acct) = login('alice', 'Alice-Pw-2');
is($acct, PAM_SUCCESS, '... cleared again: PAM_SUCCESS');

# imported hashes log in with the passwords they were made from
open my $fh, '>', "$dir/htpasswd" or die $!;
print {$fh} 'bob:' . crypt('Bob-Pw', '$2y$05$abcdefghijklmnopqrstuu') . "\n",
            'carl:' . crypt('Carl-Pw', '$6$saltsalt$') . "\n";
close $fh;
($rc, $out) = cmd('', 'import', '--format', 'htpasswd', "$dir/htpasswd");
is($rc, 0, 'trex-pam import of an htpasswd file') or diag($out);
($auth) = login('bob', 'Bob-Pw');
is($auth, PAM_SUCCESS, 'bob logs in with the password of his imported bcrypt hash');
($auth) = login('carl', 'Carl-Pw');
is($auth, PAM_SUCCESS, 'carl, with an imported sha512crypt hash');

# the pamtester-like command on the same stack, the password on stdin
($rc, $out) = cmd("Alice-Pw-2\n", 'test', '--confdir', $conf, 'login', 'alice', 'authenticate', 'acct_mgmt');
is($rc, 0, 'trex-pam test login alice authenticate acct_mgmt') or diag($out);
like($out, qr/authenticate: Success.*acct_mgmt: Success/s, '... both succeed');

($rc, $out) = cmd('', 'userdel', 'alice');
($auth) = login('alice', 'Alice-Pw-2');
isnt($auth, PAM_SUCCESS, 'a deleted user no longer logs in');

done_testing;
