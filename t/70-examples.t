#!/usr/bin/perl
# The examples run as written: the seed's password-change example in both
# styles (default terminal conversation, answers on stdin) against the
# embedded store, the login example on the store and with the Perl-written
# module, the demo script, and the README's synopsis.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir command_merged);

my $tmp = tempdir();
my $users = "$tmp/users";            # the Perl-written module's text file
mkdir "$tmp/pam.d" or die $!;
for my $f (glob 'examples/pam.d/*') {
    open my $in, '<', $f or die "$f: $!";
    (my $name = $f) =~ s{.*/}{};
    open my $out, '>', "$tmp/pam.d/$name" or die $!;
    print {$out} s{db=examples/demo-users}{db=$users}r while <$in>;
}
local $ENV{TREX_PAM_CONFDIR} = "$tmp/pam.d";
local $ENV{TREX_PAM_LOG} = 'none';
local $ENV{TREX_PAM_DB} = "$tmp/trex-pam.db";
local $ENV{DEMO_USER} = 'demo';

sub run {
    my ($stdin, @cmd) = @_;
    return command_merged($stdin, $^X, '-Mblib', '-Iexamples/lib', @cmd);
}
sub fresh_store {
    unlink glob "$tmp/trex-pam.db*";
    my ($rc, $out) = run('', 'bin/trex-pam', 'init');
    ($rc, $out) = run("demo-password\n", 'bin/trex-pam', 'useradd', 'demo', '--password-stdin',
                      '--attr', 'display_name=Demo User') if $rc == 0;
    die "cannot make the demo store: $out" if $rc;
}

for my $style (qw(functional oo)) {
    fresh_store();
    my ($rc, $out) = run("demo-password\nnew-password-1\nnew-password-1\n", "examples/passwd-$style.pl");
    is($rc, 0, "passwd-$style.pl changes the password in the store") or diag($out);
    like($out, qr/Current password: .*New password: .*Retype new password: /s, "... prompting as Linux-PAM does");
    like($out, qr/pam_chauthtok: Success/, '... and reports success');
    local $ENV{DEMO_PASSWORD} = 'new-password-1';
    ($rc, $out) = run('', 'examples/login.pl', 'demo');
    is($rc, 0, 'the new password logs in (examples/login.pl)') or diag($out);
    like($out, qr/welcome, demo \(Demo User\)/, '... and setcred exported the display name');
    local $ENV{DEMO_PASSWORD} = 'demo-password';
    ($rc, $out) = run('', 'examples/login.pl', 'demo');
    isnt($rc, 0, 'the old password does not');
    like($out, qr/pam_authenticate\s+Authentication failure/, '... with Authentication failure');

    ($rc, $out) = run("wrong-password\nx\nx\n", "examples/passwd-$style.pl");
    isnt($rc, 0, "passwd-$style.pl with a wrong current password fails");
    like($out, qr/pam_chauthtok: Authentication failure/, '... as pam_unix does (PAM_AUTH_ERR)');
}

fresh_store();
my ($rc, $out) = run("demo-password\nshort\nshort\n", 'examples/passwd-functional.pl');
isnt($rc, 0, 'a too short new password is refused');
like($out, qr/You must choose a longer password\./, '... with pam_unix\'s message');

# the Perl-written module (examples/lib/TRex/PAM/Example/FilePasswd.pm)
open my $u, '>', $users or die $!;
print {$u} 'demo:', crypt('file-password', '$6$testsalt$'), ":File User\n";
close $u;
{
    local $ENV{DEMO_PASSWORD} = 'file-password';
    ($rc, $out) = run('', 'examples/login.pl', '--service', 'perl-login', 'demo');
    is($rc, 0, 'login.pl --service perl-login: the Perl-written module checks the password') or diag($out);
    like($out, qr/welcome, demo \(File User\)/, '... and its setcred exports DISPLAY_NAME');
    local $ENV{DEMO_PASSWORD} = 'not-it';
    ($rc, $out) = run('', 'examples/login.pl', '--service', 'perl-login', 'demo');
    like($out, qr/Authentication failure/, '... and refuses a wrong one');
}

# The README's synopsis, as printed there.
open my $fh, '<', 'README' or die $!;
my ($synopsis) = do { local $/; <$fh> } =~ /```perl\n(.*?)```/s;
ok($synopsis, 'README has a Perl synopsis');
open my $p, '>', "$tmp/pam.d/webmail" or die $!;
print {$p} "auth required pam_debug.so auth=success\n";
close $p;
open my $s, '>', "$tmp/synopsis.pl" or die $!;
print {$s} $synopsis;
close $s;
($rc, $out) = run('', "$tmp/synopsis.pl");
is($rc, 0, 'the synopsis runs') or diag($out);
like($out, qr/^Success$/m, '... and prints pam_strerror of the result');
done_testing;
