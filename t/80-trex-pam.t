#!/usr/bin/perl
# bin/trex-pam: --help, check-config on good and broken files, test (the
# pamtester-like command) with answers on stdin, exit codes.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir command_merged);

my $dir = tempdir();
sub put { my ($n, $t) = @_; open my $fh, '>', "$dir/$n" or die $!; print {$fh} $t; close $fh }
sub run {
    my ($stdin, @args) = @_;
    return command_merged($stdin, $^X, '-Mblib', 'bin/trex-pam', @args);
}

my ($rc, $out) = run('', '--help');
is($rc, 0, '--help exits 0');
like($out, qr/check-config.*\btest\b.*EXIT STATUS/s, '... and prints the manual');
($rc, $out) = run('', '--version');
like($out, qr/^trex-pam \(TRex::PAM\) \d/, '--version');
($rc, $out) = run('');
is($rc, 2, 'no command: usage error (2)');
($rc, $out) = run('', 'frobnicate');
is($rc, 2, 'unknown command: 2');
like($out, qr/unknown command "frobnicate"/, '... named');

put('good', "auth required pam_permit.so\naccount required permit\n");
put('other', "auth required deny\n");
($rc, $out) = run('', 'check-config', '--confdir', $dir);
is($rc, 0, 'check-config on clean files exits 0') or diag($out);
like($out, qr/^good: ok$/m, '... good: ok');
like($out, qr/^other: ok$/m, '... other: ok');

put('bad', "auth sufficent pam_permit.so\nauth required pam_nosuch.so\n  \nbogus required permit\n");
($rc, $out) = run('', 'check-config', '-d', $dir, 'bad');
is($rc, 1, 'check-config on a broken file exits 1');
like($out, qr/^bad:1: .*sufficent/m, '... names file:line and the unknown control');
like($out, qr/^bad:2: .*pam_nosuch\.so/m, '... the missing module');
like($out, qr/^bad:4: .*bogus/m, '... the illegal type');
($rc, $out) = run('', 'check-config', '-d', $dir, '-q');
unlike($out, qr/: ok$/m, '--quiet prints only problems');
($rc, $out) = run('', 'check-config', '-d', "$dir/nonexistent");
is($rc, 1, 'a missing directory: 1');

put('try', "auth required pam_debug.so auth=success\naccount required pam_debug.so acct=new_authtok_reqd\n"
         . "password required pam_permit.so\nsession required pam_permit.so\n");
($rc, $out) = run('', 'test', '-d', $dir, 'try', 'alice', 'authenticate', 'open_session', 'setcred=DELETE_CRED');
is($rc, 0, 'test: every call succeeds') or diag($out);
like($out, qr/authenticate: Success.*open_session: Success.*setcred: Success.*successfully completed/s,
     '... each reported');
($rc, $out) = run('', 'test', '-d', $dir, 'try', 'alice', 'authenticate', 'acct_mgmt', 'open_session');
is($rc, 1, 'test: a failing call exits 1');
like($out, qr/acct_mgmt: Authentication token is no longer valid/, '... with its message');
unlike($out, qr/open_session/, '... and stops there');
($rc, $out) = run("bob\n", 'test', '-d', $dir, 'good', '-');
like($out, qr/login:.*authenticate: Success/s, 'user "-": permit prompts (default conversation on stdin)');
($rc, $out) = run('', 'test', '-d', $dir, 'good', '-');
is($rc, 1, '... and fails when stdin has no answer');
($rc, $out) = run('', 'test', '-d', $dir, 'try', 'alice', 'reboot');
is($rc, 2, 'an unknown call is a usage error');
($rc, $out) = run('', 'test', '-d', $dir, 'try', 'alice', 'setcred=NOPE');
is($rc, 2, 'an unknown flag is a usage error');
done_testing;
