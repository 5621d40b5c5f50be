#!/usr/bin/perl
# The examples run as written: the seed's password-change example in both
# styles (default terminal conversation, answers on stdin), the login example
# with the Perl-written module, and the README's synopsis.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

my $tmp = tempdir(CLEANUP => 1);
my $db = "$tmp/users";
mkdir "$tmp/pam.d" or die $!;
for my $f (glob 'examples/pam.d/*') {
    open my $in, '<', $f or die "$f: $!";
    (my $name = $f) =~ s{.*/}{};
    open my $out, '>', "$tmp/pam.d/$name" or die $!;
    print {$out} s{db=examples/demo-users}{db=$db}r while <$in>;
}
sub write_db {
    open my $fh, '>', $db or die $!;
    print {$fh} 'demo:', crypt('demo-password', '$6$testsalt$'), ":Demo User\n";
}
local $ENV{TREX_PAM_CONFDIR} = "$tmp/pam.d";
local $ENV{TREX_PAM_LOG} = 'none';
local $ENV{DEMO_USER} = 'demo';

sub run {
    my ($stdin, @cmd) = @_;
    my $in = "$tmp/stdin";
    open my $fh, '>', $in or die $!;
    print {$fh} $stdin;
    close $fh;
    my $out = `$^X -Mblib -Iexamples/lib @cmd < $in 2>&1`;
    return ($? >> 8, $out);
}

for my $style (qw(functional oo)) {
    write_db();
    my ($rc, $out) = run("demo-password\nnew-password-1\nnew-password-1\n", "examples/passwd-$style.pl");
    is($rc, 0, "passwd-$style.pl changes the password") or diag($out);
    like($out, qr/Current password: .*New password: .*Retype new password: /s, "... prompting as Linux-PAM does");
    like($out, qr/pam_chauthtok: Success/, '... and reports success');
    local $ENV{DEMO_PASSWORD} = 'new-password-1';
    ($rc, $out) = run('', 'examples/login.pl', 'demo');
    is($rc, 0, "the new password logs in") or diag($out);
    like($out, qr/welcome, demo \(Demo User\)/, '... and setcred exported DISPLAY_NAME');
    local $ENV{DEMO_PASSWORD} = 'demo-password';
    ($rc, $out) = run('', 'examples/login.pl', 'demo');
    isnt($rc, 0, 'the old password does not');
    like($out, qr/pam_authenticate\s+Authentication failure/, '... with Authentication failure');

    ($rc, $out) = run("wrong-password\nx\nx\n", "examples/passwd-$style.pl");
    isnt($rc, 0, "passwd-$style.pl with a wrong current password fails");
    like($out, qr/Authentication information cannot be recovered/, '... with AUTHTOK_RECOVERY_ERR');
}

write_db();
my ($rc, $out) = run("demo-password\nshort\nshort\n", 'examples/passwd-functional.pl');
isnt($rc, 0, 'a too short new password is refused');
like($out, qr/shorter than 8 characters/, '... with the module\'s message');

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
