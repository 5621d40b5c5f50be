#!perl
# The web mail example (examples/webmail/) end to end, in a real browser:
# a store with demo users made by bin/trex-pam, two lighttpd servers on
# 127.0.0.1 (examples/webmail/serve; the second with idle=2 in its stack),
# and t/e2e/webmail.test.js driving headless Chromium through playwright-core.
# Its TAP lines become this test's assertions; screenshots and the servers'
# error logs are left in t/artifacts/.
#
# Needs TREX_PAM_FULL=1, Debian's chromium, lighttpd, nodejs and CGI.pm
# (libcgi-pm-perl), and `npm ci` run in t/e2e. Overrides, to try the test
# against something else: TREX_E2E_PAMD (the service file to copy, default
# examples/pam.d/webmail), TREX_E2E_ADMIN (the admin command, split on
# spaces, default: this perl with blib, bin/trex-pam), CHROMIUM.
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use JSON::PP ();
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

plan skip_all => 'the browser test runs with TREX_PAM_FULL=1' unless $ENV{TREX_PAM_FULL};

my $top = getcwd();
my $chromium = $ENV{CHROMIUM} || '/usr/bin/chromium';
plan skip_all => "no Chromium at $chromium (Debian: apt-get install chromium)" unless -x $chromium;
plan skip_all => 'no lighttpd (Debian: apt-get install lighttpd)' unless which('lighttpd', '/usr/sbin');
my $node = which('node');
plan skip_all => 'no node (Debian: apt-get install nodejs npm)' unless $node;
plan skip_all => 'no playwright-core in t/e2e/node_modules (run: cd t/e2e && npm ci)'
    unless -f "$top/t/e2e/node_modules/playwright-core/package.json";
plan skip_all => 'no CGI.pm (Debian: apt-get install libcgi-pm-perl)' unless eval { require CGI; 1 };
require TRex::PAM;

my $tmp = tempdir('trex-e2e-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0700, $tmp;
my $artifacts = "$top/t/artifacts";
make_path($artifacts);
my $db = "$tmp/trex-pam.db";
$ENV{TREX_PAM_DB}  = $db;
$ENV{TREX_PAM_LOG} = 'stderr';
delete $ENV{TREX_PAM_CONFDIR};

my @admin = $ENV{TREX_E2E_ADMIN} ? split(' ', $ENV{TREX_E2E_ADMIN})
          : ($^X, "-I$top/blib/lib", "-I$top/blib/arch", "$top/bin/trex-pam");

# ---- the stacks: the shipped service file with deny=3, and a copy with idle=2
my $src = $ENV{TREX_E2E_PAMD} || "$top/examples/pam.d/webmail";
my $service = slurp($src);
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
my %users = map { $_ => { password => 'Tyrannosaurus-' . random_hex(8) } } qw(alice bob carol dave erin);
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
my (%server, $n_run);
for my $s ([main => 'pamd'], [idle => 'pamd-idle']) {
    my ($name, $conf) = @$s;
    my $state = "$tmp/state-$name";
    my ($rc, $out) = run("$tmp/serve-$name", undef, $^X, "$top/examples/webmail/serve", '--background',
                         '--state', $state, '--confdir', "$tmp/$conf", '--db', $db,
                         '--maildir', "$tmp/Maildir");
    my ($url) = $out =~ m{^(http://127\.0\.0\.1:\d+/)$}m;
    unless (ok($rc == 0 && $url, "the $name server starts")) {
        diag(slurp("$tmp/serve-$name.err"));
        stop_servers();
        done_testing();
        exit;
    }
    $server{$name} = { url => $url, state => $state, pidfile => "$state/lighttpd.pid" };
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
spew("$tmp/e2e.json", JSON::PP->new->canonical->encode($cfg));
my $t0 = time;
my ($rc, $out, $err) = run("$tmp/node", undef, $node, "$top/t/e2e/webmail.test.js", "$tmp/e2e.json");
my $took = time - $t0;
stop_servers();

my ($seen, $plan) = (0);
for my $line (split /\n/, $out) {
    if ($line =~ /^(not )?ok \d+ - (.*)$/) {
        ok(!$1, $2);
        $seen++;
    }
    elsif ($line =~ /^1\.\.(\d+)$/) { $plan = $1 }
    elsif ($line =~ /^# ?(.*)$/) { note($1) }
    elsif (length $line) { diag("node: $line") }
}
ok($seen > 0 && defined $plan && $plan == $seen, "the browser test ran to its end ($seen checks)")
    or diag("exit status $rc; stderr:\n$err");
ok($rc == 0, 'the browser test exits 0') or diag($err);

# No password or session ID in any log of either server.
{
    my $secrets = eval { JSON::PP->new->decode(slurp("$tmp/secrets.json")) } // [];
    my %all = map { $_ => 1 } @$secrets, map { values %$_ } values %users;
    my ($text, @files) = ('');
    for my $s (values %server) {
        for my $f (map { "$s->{state}/$_" } qw(error.log cgi.log access.log lighttpd.out)) {
            next unless -f $f;
            push @files, $f;
            $text .= slurp($f);
        }
    }
    my @leaked = grep { index($text, $_) >= 0 } keys %all;
    ok(@$secrets > 0 && -s "$server{main}{state}/cgi.log" && !@leaked,
       sprintf('no password or session ID in the logs (%d secrets, %d files)', scalar keys %all, scalar @files))
        or diag(scalar(@leaked) . ' secret(s) found in the logs');
}
note(sprintf 'browser test: %.1f s', $took);

for my $name (sort keys %server) {
    copy("$server{$name}{state}/$_", "$artifacts/webmail-$name-$_") for qw(error.log cgi.log);
}
done_testing();

# ---- helpers

sub which {
    my ($prog, @extra) = @_;
    for my $d (split(/:/, $ENV{PATH} // ''), @extra) {
        return "$d/$prog" if length $d && -x "$d/$prog";
    }
    return;
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return scalar <$fh>;
}

sub spew {
    my ($f, $text) = @_;
    open my $fh, '>', $f or die "$f: $!\n";
    print {$fh} $text;
    close $fh or die "$f: $!\n";
}

sub random_hex {
    open my $fh, '<:raw', '/dev/urandom' or die "/dev/urandom: $!\n";
    read $fh, my $b, $_[0];
    return unpack 'H*', $b;
}

# Runs a command with $stdin (or /dev/null) as input, stdout and stderr into
# $base.out and $base.err; at most 240 s. Returns (exit status, out, err).
sub run {
    my ($base, $stdin, @cmd) = @_;
    my $in = '/dev/null';
    if (defined $stdin) {
        $in = "$base.in";
        spew($in, $stdin);
        chmod 0600, $in;
    }
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        open STDIN, '<', $in or die;
        open STDOUT, '>', "$base.out" or die;
        open STDERR, '>', "$base.err" or die;
        exec @cmd or die "exec $cmd[0]: $!\n";
    }
    my $deadline = time + 240;
    my $w;
    while (($w = waitpid $pid, WNOHANG) == 0 && time < $deadline) { sleep 0.1 }
    if ($w == 0) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
        unlink $in if defined $stdin;
        return (-1, slurp("$base.out"), slurp("$base.err") . "\n(killed after 240 s)");
    }
    my $status = $? >> 8;
    unlink $in if defined $stdin;
    return ($status, slurp("$base.out"), slurp("$base.err"));
}

sub run_ok {
    my ($name, $stdin, @cmd) = @_;
    my ($rc, $out, $err) = run("$tmp/cmd" . ++$n_run, $stdin, @cmd);
    ok($rc == 0, $name) or diag("exit $rc\n$out$err");
    return $rc == 0;
}

sub stop_servers {
    for my $s (values %server) {
        next if $s->{stopped}++;
        my $pid = slurp($s->{pidfile});
        next unless $pid =~ /^(\d+)\s*$/;
        $pid = $1;
        kill 'TERM', $pid;
        my $until = time + 10;
        sleep 0.05 while kill(0, $pid) && time < $until;
        kill 'KILL', $pid if kill 0, $pid;
    }
}

END { stop_servers() if %server }
