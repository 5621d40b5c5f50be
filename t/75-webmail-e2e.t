#!perl
# The web mail example (examples/webmail/) end to end, in a real browser:
# a store with demo users made by bin/trex-pam, two lighttpd servers on
# 127.0.0.1 (examples/webmail/serve; the second with idle=2 in its stack),
# and t/e2e/webmail.test.js driving headless Chromium through playwright-core.
# Its TAP lines become this test's assertions; screenshots and the servers'
# error logs are left in t/artifacts/.
#
# Needs TREX_PAM_FULL=1, Debian's chromium, lighttpd, nodejs and CGI.pm
# (libcgi-pm-perl), and `npm ci` run in t/e2e; under TREX_PAM_FULL a
# missing one fails the test. Overrides, to try the test
# against something else: TREX_E2E_PAMD (the service file to copy, default
# examples/pam.d/webmail), TREX_E2E_ADMIN (the admin command, split on
# spaces, default: this perl with blib, bin/trex-pam), CHROMIUM.
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path);
use Test::More;
use lib 't/lib';
use TRexTest ();
use TRexTest::Webmail qw(spew random_hex run_ok admin_command missing_web missing_browser
                         unavailable serve stop_servers browser_tap no_secrets_in_logs);

plan skip_all => 'the browser test runs with TREX_PAM_FULL=1' unless $ENV{TREX_PAM_FULL};
unavailable(missing_browser() || missing_web());     # fails under TREX_PAM_FULL
require TRex::PAM;

my $top = TRexTest::Webmail::top();
my $chromium = $ENV{CHROMIUM} || '/usr/bin/chromium';
my $tmp = TRexTest::Webmail::workdir('trex-e2e');
my $artifacts = "$top/t/artifacts";
make_path($artifacts);
my $db = "$tmp/trex-pam.db";
$ENV{TREX_PAM_DB}  = $db;
$ENV{TREX_PAM_LOG} = 'stderr';
delete $ENV{TREX_PAM_CONFDIR};

my @admin = admin_command();

# ---- the stacks: the shipped service file with deny=3, and a copy with idle=2
my $src = $ENV{TREX_E2E_PAMD} || "$top/examples/pam.d/webmail";
my $service = TRexTest::slurp($src);
my $deny = 3;
(my $main = $service) =~ s/\bdeny=\d+/deny=$deny/g
    or BAIL_OUT("$src has no deny= argument for the test to set");
(my $idle = $main) =~ s/\bidle=\d+/idle=2/g
    or BAIL_OUT("$src has no idle= argument for the test to set");
for ([pamd => $main], ['pamd-idle' => $idle]) {
    make_path("$tmp/$_->[0]");
    spew("$tmp/$_->[0]/webmail", $_->[1]);
}
{
    my ($rc, @problems) = TRex::PAM::check_config('webmail', "$tmp/pamd");
    unless (ok($rc == 0 && !@problems, 'the webmail stack loads (every module is there)')) {
        diag($_) for @problems;
        done_testing();
        exit;
    }
}

# ---- the store and the users
# (No password contains its user's name: the quality rules refuse that.)
my %users = map { $_ => { password => 'Tyrannosaurus-' . random_hex(8) } } qw(alice bob carol dave erin frank);
$users{$_}{new_password} = 'Velociraptor-Pack-' . random_hex(8) for qw(carol dave);
my $ok = run_ok('trex-pam init', undef, @admin, 'init');
for my $u (sort keys %users) {
    $ok &&= run_ok("trex-pam useradd $u", "$users{$u}{password}\n", @admin, 'useradd', '--password-stdin', $u);
}
$ok &&= run_ok('trex-pam usermod --force-change carol', undef, @admin, 'usermod', '--force-change', 'carol');
unless ($ok) {
    done_testing();
    exit;
}

# ---- alice's Maildir
for my $d (qw(cur new tmp)) { make_path("$tmp/Maildir/alice/$d") }
spew("$tmp/Maildir/alice/cur/1700000000.M1P1.test:2,S",
     "From: Bob <bob\@example.org>\nTo: alice\nSubject: Hello from the Maildir\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n\nHi!\n");
spew("$tmp/Maildir/alice/new/1700000100.M2P2.test",
     "From: =?UTF-8?Q?Ren=C3=A9?= <rene\@example.org>\nTo: alice\n"
     . "Subject: =?UTF-8?B?SMOpbGxvIDxzY3JpcHQ+YWxlcnQoMSk8L3NjcmlwdD4=?=\n\nNew.\n");
utime 1700000000, 1700000000, glob("$tmp/Maildir/alice/cur/*");

# ---- two servers on 127.0.0.1, the same store
my %server;
for my $s ([main => 'pamd'], [idle => 'pamd-idle']) {
    my ($name, $conf) = @$s;
    $server{$name} = serve($name, '--confdir', "$tmp/$conf", '--db', $db, '--maildir', "$tmp/Maildir");
    unless (ok($server{$name}{ok}, "the $name server starts")) {
        diag($server{$name}{err});
        stop_servers();
        done_testing();
        exit;
    }
}

# ---- the browser
my $cfg = {
    url       => $server{main}{url},
    idle_url  => $server{idle}{url},
    idle_wait => 3,
    deny      => $deny,
    users     => \%users,
    admin     => \@admin,
    secrets_out => "$tmp/secrets.json",
    artifacts => $artifacts,
    chromium  => $chromium,
};
my $took = browser_tap('t/e2e/webmail.test.js', $cfg);
stop_servers();

# No password or session ID in any log of either server.
no_secrets_in_logs([values %server], "$tmp/secrets.json", map { values %$_ } values %users);
note(sprintf 'browser test: %.1f s', $took);

for my $name (sort keys %server) {
    copy("$server{$name}{state}/$_", "$artifacts/webmail-$name-$_") for qw(error.log cgi.log);
}
done_testing();
