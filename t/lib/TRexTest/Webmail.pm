package TRexTest::Webmail;
# The web mail example (examples/webmail/) under test, what the tests that
# serve it share: commands run with a time limit, servers started with
# examples/webmail/serve --background and stopped again (TERM, then KILL;
# at the latest when the test ends, also when it dies), and the browser
# scenarios of t/e2e/ run under node, their TAP lines passed through as the
# test's own assertions. Run from the top of the distribution.
#
#   my $tmp = TRexTest::Webmail::workdir('trex-e2e');  # private, removed at exit
#   my $why = missing_web() || missing_browser();     # what is not installed
#   my $s = serve('a', '--confdir', $dir, ...);        # {ok, url, state, pidfile, err}
#   run_ok('trex-pam init', undef, admin_command(), 'init');
#   browser_tap('t/e2e/two-servers.test.js', \%config);
#   stop_servers();  no_secrets_in_logs(\@servers, "$tmp/secrets.json", @passwords);
use strict;
use warnings;
use Cwd ();
use Exporter 'import';
use File::Temp ();
use JSON::PP ();
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);
use TRexTest ();

our @EXPORT_OK = qw(which spew random_hex run run_ok admin_command missing_web missing_browser
                    unavailable serve stop_servers running_pids browser_tap no_secrets_in_logs);

my $TOP = Cwd::getcwd();
my ($TMP, $n_run, @servers);
my $owner = $$;

sub top { $TOP }

# A private temporary directory (0700) for the test's files, removed at exit.
sub workdir {
    my ($prefix) = @_;
    $TMP = File::Temp::tempdir("$prefix-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    chmod 0700, $TMP;
    return $TMP;
}

sub which {
    my ($prog, @extra) = @_;
    for my $d (split(/:/, $ENV{PATH} // ''), @extra) {
        return "$d/$prog" if length $d && -x "$d/$prog";
    }
    return;
}

sub spew {
    my ($f, $text, $mode) = @_;
    open my $fh, '>', $f or die "$f: $!\n";
    chmod $mode, $f or die "chmod $f: $!\n" if defined $mode;
    print {$fh} $text;
    close $fh or die "$f: $!\n";
}

sub random_hex {
    open my $fh, '<:raw', '/dev/urandom' or die "/dev/urandom: $!\n";
    read $fh, my $b, $_[0];
    return unpack 'H*', $b;
}

# The admin command: TREX_E2E_ADMIN (split on spaces), else this perl with
# the build tree's blib and bin/trex-pam.
sub admin_command {
    return $ENV{TREX_E2E_ADMIN} ? split(' ', $ENV{TREX_E2E_ADMIN})
         : ($^X, "-I$TOP/blib/lib", "-I$TOP/blib/arch", "$TOP/bin/trex-pam");
}

# What the servers need and is not installed: a reason, or ''.
# unavailable($why): nothing when $why is empty; else the test is skipped,
# or under TREX_PAM_FULL (CI, which installs everything) it fails and ends.
sub unavailable {
    my ($why) = @_;
    return unless $why;
    Test::More::plan(skip_all => $why) unless $ENV{TREX_PAM_FULL};
    Test::More::fail("TREX_PAM_FULL is set but $why");
    Test::More::done_testing();
    exit 1;
}

sub missing_web {
    return 'no lighttpd (Debian: apt-get install lighttpd)' unless which('lighttpd', '/usr/sbin');
    return 'no CGI.pm (Debian: apt-get install libcgi-pm-perl)' unless eval { require CGI; 1 };
    return '';
}

# What the browser scenarios need and is not installed: a reason, or ''.
sub missing_browser {
    my $chromium = $ENV{CHROMIUM} || '/usr/bin/chromium';
    return "no Chromium at $chromium (Debian: apt-get install chromium)" unless -x $chromium;
    return 'no node (Debian: apt-get install nodejs npm)' unless which('node');
    return 'no playwright-core in t/e2e/node_modules (run: cd t/e2e && npm ci)'
        unless -f "$TOP/t/e2e/node_modules/playwright-core/package.json";
    return '';
}

# Runs a command with $stdin (or /dev/null) as input, stdout and stderr into
# $base.out and $base.err; at most 240 s. Returns (exit status, out, err).
sub run {
    my ($base, $stdin, @cmd) = @_;
    my $in = '/dev/null';
    if (defined $stdin) {
        $in = "$base.in";
        spew($in, $stdin, 0600);
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
        return (-1, TRexTest::slurp("$base.out"), TRexTest::slurp("$base.err") . "\n(killed after 240 s)");
    }
    my $status = $? >> 8;
    unlink $in if defined $stdin;
    return ($status, TRexTest::slurp("$base.out"), TRexTest::slurp("$base.err"));
}

# run() in the work directory as one assertion; true if it exited 0.
sub run_ok {
    my ($name, $stdin, @cmd) = @_;
    my ($rc, $out, $err) = run("$TMP/cmd" . ++$n_run, $stdin, @cmd);
    Test::More::ok($rc == 0, $name) or Test::More::diag("exit $rc\n$out$err");
    return $rc == 0;
}

# examples/webmail/serve --background --state WORKDIR/state-NAME @args.
# Returns {name, ok, url, state, pidfile, err}; a lighttpd that started is
# stopped by stop_servers whatever serve said.
sub serve {
    my ($name, @args) = @_;
    my $state = "$TMP/state-$name";
    my ($rc, $out, $err) = run("$TMP/serve-$name", undef, $^X, "$TOP/examples/webmail/serve",
                               '--background', '--state', $state, @args);
    my ($url) = $out =~ m{^(http://127\.0\.0\.1:\d+/)$}m;
    my $s = { name => $name, ok => $rc == 0 && defined $url, url => $url, state => $state,
              pidfile => "$state/lighttpd.pid", err => $err };
    $s->{pid} = $1 if TRexTest::slurp($s->{pidfile}) =~ /^(\d+)\s*$/;
    push @servers, $s;
    return $s;
}

# A process that runs (a zombie waiting for its parent does not).
sub alive {
    my ($pid) = @_;
    return 0 unless kill 0, $pid;
    my $stat = TRexTest::slurp("/proc/$pid/stat");
    return $stat !~ /^\d+ \(.*\) [ZX] /s;
}

# The servers started here that still run (lighttpd's pids).
sub running_pids { return map { $_->{pid} } grep { $_->{pid} && alive($_->{pid}) } @servers }

sub stop_servers {
    return unless $$ == $owner;
    for my $s (@servers) {
        next if $s->{stopped}++ || !$s->{pid};
        kill 'TERM', $s->{pid};
        my $until = time + 10;
        sleep 0.05 while alive($s->{pid}) && time < $until;
        kill 'KILL', $s->{pid} if alive($s->{pid});
    }
}

END { local $?; stop_servers() }

# Runs a browser scenario of t/e2e/ with $config (as JSON in a file) under
# node; each of its TAP lines becomes an assertion, then two more: it ran
# to its end, and it exited 0. Returns the seconds it took.
sub browser_tap {
    my ($script, $config) = @_;
    spew("$TMP/e2e.json", JSON::PP->new->canonical->encode($config), 0600);
    my $t0 = time;
    my ($rc, $out, $err) = run("$TMP/node", undef, which('node'), "$TOP/$script", "$TMP/e2e.json");
    my ($seen, $plan) = (0);
    for my $line (split /\n/, $out) {
        if ($line =~ /^(not )?ok \d+ - (.*)$/) {
            Test::More::ok(!$1, $2);
            $seen++;
        }
        elsif ($line =~ /^1\.\.(\d+)$/) { $plan = $1 }
        elsif ($line =~ /^# ?(.*)$/) { Test::More::note($1) }
        elsif (length $line) { Test::More::diag("node: $line") }
    }
    Test::More::ok($seen > 0 && defined $plan && $plan == $seen, "$script ran to its end ($seen checks)")
        or Test::More::diag("exit status $rc; stderr:\n$err");
    Test::More::ok($rc == 0, "$script exits 0") or Test::More::diag($err);
    return time - $t0;
}

# One assertion: no secret (those the browser wrote into $secrets_file, and
# @more) in any log of the servers nor in serve's messages; stop them first
# (lighttpd buffers its access log).
sub no_secrets_in_logs {
    my ($servers, $secrets_file, @more) = @_;
    my $seen = defined $secrets_file
        ? eval { JSON::PP->new->decode(TRexTest::slurp($secrets_file)) } // [] : [];
    my %all = map { $_ => 1 } grep { defined && length } @$seen, @more;
    my $text = join '', map { $_->{err} // '' } @$servers;
    my @files;
    for my $s (@$servers) {
        for my $f (map { "$s->{state}/$_" } qw(error.log cgi.log access.log lighttpd.out)) {
            next unless -f $f;
            push @files, $f;
            $text .= TRexTest::slurp($f);
        }
    }
    my @leaked = grep { index($text, $_) >= 0 } keys %all;
    my $cgi = grep { -s "$_->{state}/cgi.log" } @$servers;
    Test::More::ok((!defined $secrets_file || @$seen > 0) && $cgi && !@leaked,
       sprintf('no password or session ID in the logs (%d secrets, %d files)', scalar keys %all,
               scalar @files))
        or Test::More::diag(scalar(@leaked) . ' secret(s) found in the logs');
}

1;
