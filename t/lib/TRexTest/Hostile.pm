package TRexTest::Hostile;
# What the bad-input matrix (t/53-hostile-input.t, t/54-hostile-stores.t)
# shares: the seeded embedded store and its web stack, logins through the
# functions and the methods, one case run in a child process (a crash is a
# failed wait status, not a dead test file) and checked (status, log line,
# no secret in the log), the store checked after each case against a
# snapshot (sqlite3's PRAGMA integrity_check; the users, attributes,
# sessions and failure tallies), running as another user, the resident set
# size for leak checks.
#
#   hostile_setup();                      # $db seeded: alice, bob, carol, dave (locked), mallory
#   case($label, sub { login_oo('alice', answers($apw)) }, rc => PAM_SUCCESS, log => qr/.../,
#        delta => { alice => 1 });        # alice has one failure more
#   my $r = in_child { ...; (rc => $rc) }; # {wait, log, rc, died}
#   $snap->check($label); my $kb = rss_kb();
use strict;
use warnings;
use Exporter 'import';
use POSIX ();
use Test::More;
use TRexTest qw(capture_stderr slurp tempdir confdir service command);
use TRex::PAM;
use TRex::PAM::DB;

our @EXPORT = qw(
    hostile_setup web_stack answers login_oo login_fn reset_tally reset_alice case check_case code_name
    admin as_nobody digest_of in_child child_start child_finish rss_kb leak_check under_asan sqlite3 sql
    $VG $MiB $NOBODY $db %pw %sid @fast $apw $as $snap @secrets $CASES $ALL_LOG %seen_label
);

our $VG = $ENV{TREX_PAM_UNDER_VALGRIND};
our $MiB = 1024 * 1024;
our $NOBODY = 65534;
our ($db, %pw, %sid, @fast, $apw, $as, $snap, @secrets, %seen_label);
our ($CASES, $ALL_LOG) = (0, '');

# ---- children -----------------------------------------------------------------------------------

# in_child { CODE }: CODE runs in a forked child with the core logging to
# stderr, captured; its (key => value) list comes back with the child's
# wait status (wait), the log (log) and the text of a die (died).
# child_start { CODE } starts the same and returns at once; child_finish($c)
# waits for it and returns what in_child would have.
sub child_start(&) {
    my ($code) = @_;
    pipe my $r, my $w or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        my ($log, @kv) = capture_stderr { my @x = eval { $code->() }; (@x, died => $@) };
        binmode $w;
        while (my ($k, $v) = splice @kv, 0, 2) {
            print {$w} $k, defined $v ? '=' . unpack('H*', $v) : '!', "\n";
        }
        print {$w} 'log=', unpack('H*', $log), "\n";
        close $w;
        exit 0;      # (not _exit: under valgrind perl then frees what it holds; Test::More's
                     # and TRexTest's END blocks leave a child alone)
    }
    close $w;
    return { pid => $pid, r => $r };
}

sub child_finish {
    my ($c) = @_;
    my ($r, %res) = ($c->{r});
    while (my $line = <$r>) {
        chomp $line;
        my ($k, $sep, $v) = $line =~ /^([^=!]*)([=!])(.*)$/ or next;
        $res{$k} = $sep eq '=' ? pack('H*', $v) : undef;
    }
    close $r;
    waitpid $c->{pid}, 0;
    $res{wait} = $?;
    $res{died} = undef if defined $res{died} && $res{died} eq '';
    return \%res;
}

sub in_child(&) { child_finish(&child_start($_[0])) }

# 1 under t/08-perl-asan.t: AddressSanitizer keeps freed memory aside (its
# quarantine), so the resident size grows without a leak; its
# LeakSanitizer checks the leaks there instead.
sub under_asan { ($ENV{ASAN_OPTIONS} // '') =~ /detect_leaks=1/ ? 1 : 0 }

# Each [$what, $n, $code] of @sample run $n more times after a warm-up: the
# resident set size may grow by less than $limit kB.
sub leak_check {
    my ($limit, @sample) = @_;
    for my $c (@sample) {
        my ($what, $n, $code) = @$c;
        $code->() for 1 .. int($n / 5) + 2;
        my $before = rss_kb();
        $code->() for 1 .. $n;
        my $grew = rss_kb() - $before;
        Test::More::cmp_ok($grew, '<', $limit,
                           "no leak: $what, $n more runs in this process: RSS +$grew kB (< $limit kB)");
    }
}

# The resident set size of this process in kB.
sub rss_kb {
    my $s = slurp('/proc/self/statm') or return undef;
    my (undef, $res) = split ' ', $s;
    return $res * (POSIX::sysconf(POSIX::_SC_PAGESIZE()) // 4096) / 1024;
}

my ($sqlite3) = grep { -x } map { "$_/sqlite3" } split /:/, $ENV{PATH};
sub sqlite3 { $sqlite3 }

# sql($file, $statements): sqlite3's output (read-only, waiting up to 5 s
# for a lock), or a line saying it failed.
sub sql {
    my ($file, $sql) = @_;
    open my $p, '-|', $sqlite3, '-readonly', '-batch', '-cmd', '.timeout 5000', $file, $sql
        or return "sqlite3 failed: $!";
    local $/;
    my $out = <$p> // '';
    close $p;
    return $? == 0 ? $out : "sqlite3 failed ($?): $out";
}

# ---- the seeded store -----------------------------------------------------------------------------------

# Skips the file without sqlite3 (fails under TREX_PAM_FULL); makes and seeds
# the store: alice and bob with a session each, carol with two failures,
# dave locked (five), mallory with a password of metacharacters; the
# service "web" on it; the first snapshot.
sub hostile_setup {
    unless (sqlite3()) {
        plan skip_all => 'no sqlite3 command to check the store with (apt-get install -y sqlite3)'
            unless $ENV{TREX_PAM_FULL};
        fail('sqlite3 is needed under TREX_PAM_FULL');
        done_testing;
        exit;
    }
    $db = tempdir() . '/users.db';
    %pw = (alice => 'Alice-Pw-4711', bob => 'Bob-Pw-0815', carol => 'Carol-Pw-1234',
           dave => 'Dave-Pw-9999', mallory => q{'; DROP TABLE users;-- $(id) `id` "|&<>*?%_\\});
    @fast = (method => 'sha512crypt', cost => 1000);
    {
        my $d = TRex::PAM::DB->open(path => $db, create => 1);
        $d->user_add($_, password => $pw{$_}, @fast, attrs => { mail_home => "/srv/mail/$_" }) for sort keys %pw;
    }
    confdir();
    service(web => web_stack($db, 5));
    for my $u (qw(alice bob)) {
        my %r = login_oo($u, answers($pw{$u}), open => 1);
        $r{rc} == PAM_SUCCESS or die "seeding $u: $r{rc}";
        $sid{$u} = $r{sid};
    }
    login_oo('carol', answers('wrong')) for 1 .. 2;
    login_oo('dave', answers('wrong')) for 1 .. 5;
    ($apw, $as) = ($pw{alice}, $sid{alice});
    $snap = TRexTest::Hostile->new($db);
    is($snap->{base}{integrity}, 'ok', 'the seeded store is sound');
    is(scalar(@{ $snap->{base}{failures}{dave} || [] }), 5, 'dave is locked (5 failures)');
    @secrets = (values(%pw), values(%sid));
}

# The web stack (faillock, session, userdb; cheap hashes) on the store $store
sub web_stack {
    my ($store, $deny) = @_;
    my $fl = "deny=$deny nodelay db=$store";
    return <<"EOF";
auth     requisite                                          faillock preauth $fl
auth     [success=done ignore=ignore default=die]           session db=$store
auth     [success=1 default=bad]                            userdb db=$store nodelay method=sha512crypt cost=1000
auth     [default=die]                                      faillock authfail $fl
auth     [success=done authinfo_unavail=die default=ignore] faillock authsucc $fl
auth     required                                           deny
account  required                                           userdb db=$store
password requisite                                          userdb db=$store minlen=8 method=sha512crypt cost=1000
password optional                                           session db=$store revoke_on_change
session  required                                           session db=$store
EOF
}

# a conversation answering every prompt with the next answer (the last one again)
sub answers {
    my @a = @_;
    return sub {
        my @r;
        while (my ($style) = splice @_, 0, 2) {
            push @r, 0, ($style == PAM_PROMPT_ECHO_OFF || $style == PAM_PROMPT_ECHO_ON)
                        ? (@a > 1 ? shift @a : $a[0]) : undef;
        }
        return (@r, 0);
    };
}

# authenticate (and, if that succeeds, acct_mgmt) on a new handle: the OO API
sub login_oo {
    my ($user, $conv, %o) = @_;
    my $h = TRex::PAM->new($o{service} // 'web', $user, $conv);
    ref $h or return (rc => $h, start => $h);
    $o{before}->($h) if $o{before};
    my $rc = $h->pam_authenticate;
    $rc = $h->pam_acct_mgmt if $rc == PAM_SUCCESS && !$o{auth_only};
    $h->pam_get_item(PAM_USER, my $u);
    my $sid;
    if ($rc == PAM_SUCCESS && $o{open}) {
        $rc = $h->pam_open_session;
        $h->pam_get_item('TREX_SESSION_ID', $sid);
    }
    return (rc => $rc, user => $u, sid => $sid);
}
# the same through the functions
sub login_fn {
    my ($user, $conv, %o) = @_;
    my $rc = pam_start($o{service} // 'web', $user, $conv, my $h);
    return (rc => $rc, start => $rc) if $rc != PAM_SUCCESS;
    $rc = pam_authenticate($h, 0);
    $rc = pam_acct_mgmt($h, 0) if $rc == PAM_SUCCESS;
    pam_get_item($h, PAM_USER, my $u);
    pam_end($h, $rc);
    return (rc => $rc, user => $u);
}

# faillock_reset of a user whose failures a case recorded on purpose
sub reset_tally {
    my ($u) = @_;
    TRex::PAM::DB->open(path => $db)->faillock_reset($u);
    $snap->rebase;
}
sub reset_alice { reset_tally('alice') }

# ---- one case ---------------------------------------------------------------------------------

# code_name(23): "Authentication failure (7)"
sub code_name { my ($c) = @_; defined $c ? pam_strerror(undef, $c) . " ($c)" : 'undef' }

# case($label, CODE, rc => CODE or [CODES], log => qr//, delta => {user => N},
#      user => expected PAM_USER, nolog => 1, store => snapshot object or 0)
sub case {
    my ($label, $code, %want) = @_;
    return check_case($label, in_child { $code->() }, %want);
}
# the checks of case() on what a child (child_start, child_finish) returned
sub check_case {
    my ($label, $r, %want) = @_;
    local $TRexTest::Hostile::TODO = $main::TODO;     # a TODO block of the test file holds here too
    die "duplicate case $label" if $seen_label{$label}++;
    $CASES++;
    $ALL_LOG .= $r->{log} // '';
    is($r->{wait}, 0, "$label: no crash (wait status 0)");
    is($r->{died}, undef, "$label: the API did not die") unless $want{dies};
    like($r->{died} // '', $want{dies}, "$label: croaks") if $want{dies};
    if (exists $want{rc}) {
        my @ok = ref $want{rc} ? @{ $want{rc} } : ($want{rc});
        ok((grep { defined $r->{rc} && $r->{rc} == $_ } @ok), "$label: status " . join(' or ', map { code_name($_) } @ok))
            or diag('got ' . code_name($r->{rc}) . "\n" . substr($r->{log} // '', 0, 3000));
    }
    is($r->{user}, $want{user}, "$label: PAM_USER is " . ($want{user} // 'undef')) if exists $want{user};
    like($r->{log}, $want{log}, "$label: logged") or diag(substr($r->{log}, 0, 3000)) if $want{log};
    is($r->{log}, '', "$label: nothing logged") if $want{nolog};
    my @odd = grep { !/^[\w.?-]*\(trex-pam\) (?:error|warning|notice|info|debug|crit|alert): \S/ } split /\n/, $r->{log} // '';
    ok(!@odd, "$label: every log line is one of the core's") or diag(explain(\@odd));
    my @long = grep { length > 2000 } split /\n/, $r->{log} // '';
    ok(!@long, "$label: no log line longer than 2000 bytes") or diag(length $long[0]);
    my @leak = grep { index($r->{log} // '', $_) >= 0 } @secrets;
    ok(!@leak, "$label: no secret in the log");
    $snap->check($label, %{ $want{delta} || {} }) unless defined $want{store} && !$want{store};
    return $r;
}


# trex-pam with $stdin: (exit code, stdout, stderr)
sub admin {
    my ($stdin, @args) = @_;
    my ($rc, $out, $err) = command($stdin, $^X, '-Mblib', 'bin/trex-pam', @args);
    $ALL_LOG .= $err;
    return ($rc, $out, $err);
}

# The size and a checksum of a file's bytes, or 'missing'.
sub digest_of { my ($f) = @_; -e $f ? join(':', -s _, unpack('%32C*', slurp($f))) : 'missing' }

# as_nobody(CODE): CODE as the user nobody (when root: root reads and writes
# everything), with TREX_PAM_CONFDIR $confdir; as anyone else, as itself.
sub as_nobody {
    my ($confdir, $code) = @_;
    return sub {
        local $ENV{TREX_PAM_CONFDIR} = $confdir;
        if ($> == 0) {
            # the log is captured in a file of root's: let the new user read it back
            my $log = readlink '/proc/self/fd/2';
            chown $NOBODY, -1, $log if defined $log && -f $log;
            $) = "$NOBODY $NOBODY";
            $( = $NOBODY;
            POSIX::setuid($NOBODY) or die "setuid: $!";
        }
        $code->();
    };
}

# ---- the store's snapshot -------------------------------------------------------------

my $SNAP_SQL = join "\n",
    'PRAGMA integrity_check;',
    "SELECT 'U', quote(name), hash, disabled, force_change, expires, pw_changed, pw_min_days,"
        . ' pw_max_days, pw_warn_days, created FROM users ORDER BY name;',
    "SELECT 'A', quote(user), quote(name), quote(value) FROM user_attrs ORDER BY user, name;",
    "SELECT 'S', hex(digest), quote(user), created, quote(rhost) FROM sessions ORDER BY digest;",
    "SELECT 'F', quote(user), time FROM failures ORDER BY user, time;";

sub new {
    my ($class, $db) = @_;
    my $self = bless { db => $db }, $class;
    $self->{base} = $self->_read;
    return $self;
}

# (integrity, {users/attrs/sessions: [rows]}, {user => [failure times]})
sub _read {
    my ($self) = @_;
    my $out = sql($self->{db}, $SNAP_SQL);
    my @lines = split /\n/, $out;
    my %s = (integrity => shift(@lines) // '', rows => [], failures => {});
    for (@lines) {
        if (/^F\|'((?:[^']|'')*)'\|(\d+)$/) {
            push @{ $s{failures}{ $1 =~ s/''/'/gr } }, $2;
        } else {
            push @{ $s{rows} }, $_;
        }
    }
    return \%s;
}

# check($label, user => N, ...): the store is sound and holds what it held,
# with N more failures of each user named (and the times of the others as
# they were); the new state is the next case's snapshot.
sub check {
    my ($self, $label, %delta) = @_;
    my $now = $self->_read;
    my $ok = is($now->{integrity}, 'ok', "$label: store integrity_check ok");
    $ok &= is_deeply($now->{rows}, $self->{base}{rows}, "$label: users, attributes and sessions unchanged")
        or diag(explain($now->{rows}));
    my %want = map { $_ => scalar @{ $self->{base}{failures}{$_} } } keys %{ $self->{base}{failures} };
    $want{$_} += $delta{$_} for keys %delta;
    delete $want{$_} for grep { !$want{$_} } keys %want;
    my %got = map { $_ => scalar @{ $now->{failures}{$_} } } keys %{ $now->{failures} };
    $ok &= is_deeply(\%got, \%want, "$label: failure tallies as expected");
    # the failures that were there are still there (the oldest kept, new ones appended)
    for my $u (keys %{ $self->{base}{failures} }) {
        my @old = @{ $self->{base}{failures}{$u} };
        my @new = @{ $now->{failures}{$u} || [] };
        $ok &= is_deeply([@new[0 .. $#old]], \@old, "$label: ${u}'s earlier failures kept") if @old && @new >= @old;
    }
    $self->{base} = $now;              # one broken case fails once, not every later one
    return $ok;
}

# The store changed on purpose (a reset, a new session): take a new snapshot.
sub rebase { $_[0]{base} = $_[0]->_read }

1;
