#!/usr/bin/perl
# The bad-input matrix, part 2 (part 1: t/53-hostile-input.t, which says
# what each case checks): store files that are truncated, garbled, of
# another application or schema, locked by another process, read-only, on
# a full disk (the file size limit of a process of its own) or whose
# writer is killed (-9) in the middle of its writes; and the admin command
# (bin/trex-pam) given hostile user names, passwords on standard input,
# session handles and numbers. After each case the seeded store is checked
# against its snapshot; the broken stores are checked to be left as they
# were.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes ();
use IO::Handle ();
use lib 't/lib';
use TRexTest qw(confdir service tempdir slurp);
use TRexTest::Hostile;
use TRex::PAM;
use TRex::PAM::DB;

hostile_setup();
my $cd = confdir();
my $flip = sub { my ($s, $i) = @_; substr($s, $i, 1) = substr($s, $i, 1) eq 'A' ? 'B' : 'A'; $s };

# ---- store files that are broken, locked, read-only, full, killed --------------------------------------
# A store of its own for the faults (copies of it), the main store still checked after each case.
my $fdir = tempdir();
my $fsrc = "$fdir/src.db";
{
    my $d = TRex::PAM::DB->open(path => $fsrc, create => 1);
    $d->user_add($_, password => $pw{$_}, @fast) for qw(alice bob carol);
    $d->close;
}
my $fcount = 0;
# a copy of the fault store and a service on it: (path, service)
sub fault_store {
    my ($name) = @_;
    my $path = "$fdir/$name.db";
    open my $in, '<:raw', $fsrc or die $!;
    open my $out, '>:raw', $path or die $!;
    local $/;
    print {$out} scalar <$in>;
    close $out or die $!;
    chmod 0600, $path;
    service("f-$name", web_stack($path, 5));
    return ($path, "f-$name");
}

my $fsize = -s $fsrc;
my @broken = (
    ['empty', sub { truncate $_[0], 0 }],
    ['cut to 100 bytes', sub { truncate $_[0], 100 }],
    ['cut to its first page', sub { truncate $_[0], 4096 }],
    ['cut in half', sub { truncate $_[0], int($fsize / 2) }],
    ['cut by its last page', sub { truncate $_[0], $fsize - 4096 }],
    ['with a garbled header', sub { open my $f, '+<:raw', $_[0] or die; print {$f} 'X' x 16; close $f }],
    ['with a page of zeros in the middle', sub {
        open my $f, '+<:raw', $_[0] or die; seek $f, 4096, 0; print {$f} "\0" x 4096; close $f }],
    ['a text file', sub { open my $f, '>', $_[0] or die; print {$f} "alice:x:0:0\n"; close $f }],
    ["another application's database", sub { unlink $_[0]; sql_rw($_[0], 'CREATE TABLE users (name TEXT)') }],
    ['of a newer schema', sub { sql_rw($_[0], "UPDATE trex_pam_meta SET value = '99' WHERE key = 'schema_version'") }],
    ['a directory', sub { unlink $_[0]; mkdir $_[0] }],
    ['missing', sub { unlink $_[0] }],
);
sub sql_rw { my ($f, $q) = @_; system(sqlite3(), $f, $q) == 0 or die "sqlite3 $f: $q" }
for my $b (@broken) {
    my ($what, $break) = @$b;
    my ($path, $svc) = fault_store('broken' . ++$fcount);
    $break->($path);
    my $before = digest_of($path);
    case("store $what: a password login", sub { login_oo('alice', answers($apw), service => $svc) },
         rc => PAM_AUTHINFO_UNAVAIL, log => qr/\Q$path\E/);
    case("store $what: a session ID", sub { login_oo('alice', answers($as), service => $svc) },
         rc => PAM_AUTHINFO_UNAVAIL, log => qr/\Q$path\E/);
    $CASES++;
    my ($rc, $out, $err) = admin('', '--db', $path, 'show', 'alice');
    is($rc, 1, "store $what: trex-pam show exits 1");
    like($err, qr/^trex-pam: \Q$path\E: \S/, "store $what: ... naming the file and why") or diag($err);
    is(digest_of($path), $before, "store $what: left as it was");
    ok(!-e "$path-wal" || !-s "$path-wal", "store $what: no write-ahead log written beside it");
}

# another process holds the write lock (sqlite3 in a transaction): reads go
# on; a write waits for it (20 s), then gives up. faillock fails closed: a
# failure that cannot be recorded refuses password logins, the right one
# too (its authsucc records one as the proof that it can).
my $finish_locked;
{
    my ($path, $svc) = fault_store('locked');
    my $sid;
    {
        my %r = in_child { login_oo('alice', answers($apw), service => $svc, open => 1) }->%*;
        $sid = $r{sid} or die 'no session on the lock store';
        push @secrets, $sid;
    }
    my $locker = open my $lk, '|-', sqlite3(), $path or die "sqlite3: $!";
    { my $old = select $lk; $| = 1; select $old }
    print {$lk} "BEGIN EXCLUSIVE;\nINSERT INTO failures VALUES ('bob', 1);\n";
    Time::HiRes::sleep(0.3);
    my $t0 = Time::HiRes::time();
    case('store locked: a live session ID', sub { login_oo('alice', answers($sid), service => $svc) },
         rc => PAM_SUCCESS, user => 'alice');
    my $t1 = Time::HiRes::time();
    cmp_ok($t1 - $t0, '<', 3, 'store locked: the reads do not wait for the lock');
    # the login's failure and the admin's change wait for the lock (20 s) while
    # the cases below run; finished at the end (finish_locked)
    my $login = child_start {
        my $t = Time::HiRes::time();
        my %r = login_oo('alice', answers('wrong'), service => $svc);
        (%r, secs => Time::HiRes::time() - $t);
    };
    my $right = child_start {
        my $t = Time::HiRes::time();
        my %r = login_oo('alice', answers($apw), service => $svc);
        (%r, secs => Time::HiRes::time() - $t);
    };
    my $adm = child_start {
        my $t = Time::HiRes::time();
        # (files of its own: command()'s are the parent's, busy meanwhile)
        my $c = join ' ', map { "'" . s/'/'\\''/gr . "'" } $^X, '-Mblib', 'bin/trex-pam', '--db', $path, 'passwd',
            'alice', '--password-stdin', '--method', 'sha512crypt', '--cost', 1000;
        system("echo New-Pw-4711 | $c > '$fdir/locked.out' 2> '$fdir/locked.err'");
        (rc => $? >> 8, err => slurp("$fdir/locked.err"), secs => Time::HiRes::time() - $t);
    };
    $finish_locked = sub {
        my $r = check_case('store locked: a wrong password (a failure that cannot be recorded)',
                           child_finish($login), rc => PAM_AUTH_ERR,
                           log => qr/faillock: failed logins cannot be recorded for alice, so password logins are refused until they can be: \Q$path\E: .*stayed locked by other processes/);
        my $g = check_case('store locked: the right password (fails closed: failures cannot be recorded)',
                           child_finish($right), rc => PAM_AUTHINFO_UNAVAIL,
                           log => qr/faillock: failed logins cannot be recorded for alice/);
        cmp_ok($g->{secs}, '<', 40, sprintf('store locked: the right password gave up in time (%.1f s)', $g->{secs}));
        my $a = child_finish($adm);
        $CASES++;
        is($a->{wait}, 0, 'store locked: trex-pam passwd: no crash');
        is($a->{rc}, 1, 'store locked: trex-pam passwd exits 1');
        like($a->{err}, qr/^trex-pam: .*\Q$path\E.*locked/, '... naming the file and the lock') or diag($a->{err});
        cmp_ok($r->{secs}, '<', 40, sprintf('store locked: the login gave up in time (%.1f s)', $r->{secs}));
        cmp_ok($a->{secs}, '<', 40, sprintf('store locked: trex-pam gave up in time (%.1f s)', $a->{secs}));
        print {$lk} "ROLLBACK;\n.quit\n";
        close $lk;
        is(sql($path, 'PRAGMA integrity_check;'), "ok\n", 'store locked: sound after the lock went');
        is(sql($path, "SELECT count(*) FROM failures;"), "0\n", '... nothing half-written');
        my %ok = in_child { login_oo('alice', answers($apw), service => $svc) }->%*;
        is($ok{rc}, PAM_SUCCESS, '... and the old password still works');
    };
}

# ---- a read-only store (as another user: root writes everything) ------------------------------------------
{
    my $ndir = tempdir();
    chmod 0755, $ndir;
    my $ncd = "$ndir/pam.d";
    mkdir $ncd, 0755 or die;
    # a store file the process may read, not write, in a directory it may write (-wal, -shm)
    my $rodir = "$ndir/ro";
    mkdir $rodir, 0755 or die;
    chown $NOBODY, $NOBODY, $rodir if $> == 0;
    my $ro = "$rodir/users.db";
    system('cp', $fsrc, $ro) == 0 or die;
    # nobody's file (a store others may read is refused), written once more
    # (a session), then read-only for its owner too
    chown $NOBODY, $NOBODY, $ro if $> == 0;
    chmod 0600, $ro;
    open my $fh, '>', "$ncd/ro" or die;
    print {$fh} web_stack($ro, 5);
    close $fh;
    my $rosid;
    {
        # as nobody, whose store it is (root may not use a store of another user's)
        my $setup = as_nobody($ncd, sub { login_oo('alice', answers($apw), service => 'ro', open => 1) });
        my %r = in_child { $setup->() }->%*;
        $rosid = $r{sid} or die "no session on the read-only store: $r{rc} $r{log}";
        push @secrets, $rosid;
        chmod 0400, $ro;
    }
    my $before = digest_of($ro);
    case('store read-only: the right password (fails closed: failures cannot be recorded)',
         as_nobody($ncd, sub { login_oo('alice', answers($apw), service => 'ro') }),
         rc => PAM_AUTHINFO_UNAVAIL, log => qr/faillock: failed logins cannot be recorded for alice/);
    case('store read-only: a wrong password', as_nobody($ncd, sub { login_oo('alice', answers('wrong'), service => 'ro') }),
         rc => PAM_AUTH_ERR, log => qr/faillock: failed logins cannot be recorded for alice/);
    my $r = case('store read-only: a wrong password is refused, saying why',
                 as_nobody($ncd, sub { login_oo('bob', answers('wrong'), service => 'ro') }),
                 rc => PAM_AUTH_ERR,
                 log => qr/faillock: failed logins cannot be recorded for bob, so password logins are refused until they can be: \Q$ro\E: .*readonly database/);
    case('store read-only: a live session ID', as_nobody($ncd, sub { login_oo('alice', answers($rosid), service => 'ro') }),
         rc => [PAM_SUCCESS, PAM_AUTHINFO_UNAVAIL]);
    case('store read-only: a password login opening a session',
         as_nobody($ncd, sub { my $h = TRex::PAM->new('ro', 'alice', answers($apw)); my $rc = $h->pam_authenticate;
                               $rc ? (rc => $rc) : (rc => $h->pam_open_session) }),
         rc => [PAM_SESSION_ERR, PAM_AUTHINFO_UNAVAIL, PAM_AUTH_ERR], log => qr/\Q$ro\E/);
    is(digest_of($ro), $before, 'store read-only: the file is as it was');
}

# ---- a full disk: the file size limit (ulimit -f) in a process of its own --------------------------------
my $runner = "$fdir/login.pl";
{
    open my $fh, '>', $runner or die;
    print {$fh} <<'PERL';
use strict; use warnings; use TRex::PAM; use TRex::PAM::DB;
$ENV{TREX_PAM_LOG} = 'stderr';
my ($what, $svc, $user, $answer) = @ARGV;
if ($what eq 'passwd') {
    my $ok = eval { TRex::PAM::DB->open(path => $svc)->set_password($user, $answer, method => 'sha512crypt', cost => 1000); 1 };
    print "rc=", ($ok ? 0 : 1), "\n", $@;
    exit 0;
}
my $h = TRex::PAM->new($svc, $user, sub { my @r; while (my ($s) = splice @_, 0, 2) { push @r, 0, $s <= 2 ? $answer : undef } (@r, 0) });
my $rc = $h->pam_authenticate;
$rc = $h->pam_open_session if $rc == 0 && $what eq 'open';
print "rc=$rc\n";
PERL
    close $fh;
}
# (rc, output, wait status) of the runner with no room to grow any file
sub full_disk {
    my (@args) = @_;
    open my $p, '-|', 'sh', '-c', 'trap "" XFSZ; ulimit -f 0; exec "$@" 2>&1', 'sh', $^X, '-Mblib', $runner, @args
        or die "sh: $!";
    local $/;
    my $out = <$p> // '';
    close $p;
    my $wait = $?;
    $ALL_LOG .= $out;
    my ($rc) = $out =~ /^rc=(-?\d+)$/m;
    return ($rc, $out, $wait);
}
sub full_case {
    my ($label, $args, %want) = @_;
    $CASES++;
    my ($rc, $out, $wait) = full_disk(@$args);
    is($wait, 0, "$label: no crash (wait status 0)");
    my @ok = ref $want{rc} ? @{ $want{rc} } : ($want{rc});
    ok((grep { defined $rc && $rc == $_ } @ok), "$label: status " . join(' or ', map { code_name($_) } @ok))
        or diag('got ' . code_name($rc) . "\n$out");
    like($out, $want{log}, "$label: logged") or diag($out) if $want{log};
    my @leak = grep { index($out, $_) >= 0 } @secrets;
    ok(!@leak, "$label: no secret in the output");
    $snap->check($label);
    return $out;
}
{
    # (a) another process has the store open (as a web server's would): reads
    # work, a write finds no room
    my ($path, $svc) = fault_store('full');
    my %r = in_child { login_oo('alice', answers($apw), service => $svc, open => 1) }->%*;
    my $fsid = $r{sid} or die 'no session on the full store';
    push @secrets, $fsid;
    my $holder = TRex::PAM::DB->open(path => $path, readonly => 1);
    $holder->user('alice') or die;
    full_case('disk full: the right password (fails closed: failures cannot be recorded)',
              ['auth', $svc, 'alice', $apw],
              rc => PAM_AUTHINFO_UNAVAIL, log => qr/faillock: failed logins cannot be recorded for alice/);
    full_case('disk full: a wrong password', ['auth', $svc, 'alice', 'wrong'],
              rc => PAM_AUTH_ERR, log => qr/faillock: failed logins cannot be recorded for alice/);
    full_case('disk full: a wrong password is refused, saying why', ['auth', $svc, 'bob', 'wrong'],
              rc => PAM_AUTH_ERR,
              log => qr/faillock: failed logins cannot be recorded for bob, so password logins are refused until they can be: \Q$path\E: recording a failure: (?:disk I\/O error|database or disk is full)/);
    full_case('disk full: a live session ID', ['auth', $svc, 'alice', $fsid], rc => [PAM_SUCCESS, PAM_AUTHINFO_UNAVAIL]);
    full_case('disk full: a login that would open a session (fails closed before it)',
              ['open', $svc, 'alice', $apw],
              rc => PAM_AUTHINFO_UNAVAIL, log => qr/faillock: failed logins cannot be recorded for alice/);
    full_case('disk full: a password set by the admin API', ['passwd', $path, 'alice', 'New-Pw-4711'],
              rc => 1, log => qr/\Q$path\E/);
    $holder->close;
    # (b) nobody has it open: not even a read can start (SQLite resets its
    # shared-memory file first); faillock: PAM_SYSTEM_ERR for an I/O error
    full_case('disk full, the store not in use: a password', ['auth', $svc, 'alice', $apw],
              rc => [PAM_AUTHINFO_UNAVAIL, PAM_SYSTEM_ERR], log => qr/\Q$path\E: .*(?:File too large|full)/);
    full_case('disk full, the store not in use: a session ID', ['auth', $svc, 'alice', $fsid],
              rc => [PAM_AUTHINFO_UNAVAIL, PAM_SYSTEM_ERR], log => qr/\Q$path\E: .*(?:File too large|full)/);
    is(sql($path, 'PRAGMA integrity_check;'), "ok\n", 'disk full: the store is sound');
    is(sql($path, 'SELECT count(*) FROM failures;'), "0\n", '... no failure half-recorded');
    my %again = in_child { login_oo('alice', answers($apw), service => $svc) }->%*;
    is($again{rc}, PAM_SUCCESS, '... the old password still works (the change was not half-made)');
}

# ---- kill -9 in the middle of writes ---------------------------------------------------------------------
{
    my ($path, $svc) = fault_store('killed');
    service($svc, web_stack($path, 0));          # deny=0: every failure is recorded, nobody locks
    for my $k (1, 3, 8, 20, 45) {
        $CASES++;
        my $label = "kill -9 after $k acknowledged writes";
        pipe my $r, my $w or die;
        my $pid = fork // die;
        if (!$pid) {
            close $r;
            $ENV{TREX_PAM_LOG} = 'none';
            my $io = IO::Handle->new_from_fd(fileno($w), 'w');
            $io->autoflush(1);
            for (my $i = 0; ; $i++) {
                my %f = login_oo('bob', answers('wrong'), service => $svc);
                print {$io} "F $f{rc}\n";
                my %s = login_oo('alice', answers($apw), service => $svc, open => 1);
                print {$io} "S $s{rc}\n" if $s{rc} == PAM_SUCCESS;
                my $d = TRex::PAM::DB->open(path => $path);
                $d->set_password('carol', "Carol-New-$k-$i", @fast);
                $d->close;
                print {$io} "P $i\n";
            }
        }
        close $w;
        my (%n, $lastp);
        while (my $line = <$r>) {
            my ($t, $v) = split ' ', $line;
            $n{$t}++;
            $lastp = $v if $t eq 'P';
            last if $n{F} + ($n{S} // 0) + ($n{P} // 0) >= $k;
        }
        kill 'KILL', $pid;
        waitpid $pid, 0;
        close $r;
        is($? & 127, 9, "$label: the writer was killed");
        is(sql($path, 'PRAGMA integrity_check;'), "ok\n", "$label: the store is sound");
        my $d = TRex::PAM::DB->open(path => $path, readonly => 1);
        my $fails = scalar @{ $d->faillock('bob', deny => 0)->{times} };
        cmp_ok($fails, '>=', $n{F}, "$label: every acknowledged failure is there ($n{F})");
        my $sess = () = $d->sessions('alice');
        cmp_ok($sess, '>=', $n{S} // 0, "$label: every acknowledged session is there (" . ($n{S} // 0) . ')');
        ok(defined $d->user('carol'), "$label: carol is there");
        $d->close;
        my @cand = (defined $lastp ? "Carol-New-$k-$lastp" : $pw{carol}, "Carol-New-$k-" . (defined $lastp ? $lastp + 1 : 0));
        my $good = 0;
        for my $c (@cand) {
            my %l = in_child { login_oo('carol', answers($c), service => $svc) }->%*;
            $good++ if $l{rc} == PAM_SUCCESS;
        }
        is($good, 1, "$label: carol's password is the last acknowledged one or the next");
        $snap->check($label);
    }
}

# ---- the admin command --------------------------------------------------------------------------------------
# admin_case($label, $stdin, [@args], rc => N, err => qr//, out => qr//): one run of
# trex-pam on the main store; nothing it prints carries a control character
# (a name's escape sequence would reach the admin's terminal) or a secret
sub admin_case {
    my ($label, $stdin, $args, %want) = @_;
    die "duplicate case $label" if $seen_label{$label}++;
    $CASES++;
    my ($rc, $out, $err) = admin($stdin, '--db', $db, @$args);
    is($rc, $want{rc}, "$label: exit $want{rc}") or diag($err);
    like($err, $want{err}, "$label: says why") or diag($err) if $want{err};
    like($out, $want{out}, "$label: prints it") or diag($out) if $want{out};
    ok(($out . $err) !~ /[\x00-\x09\x0b-\x1f\x7f]/, "$label: no control character in the output")
        or diag(explain($out . $err));
    my @leak = grep { index($out . $err, $_) >= 0 } @secrets;
    ok(!@leak, "$label: no secret in the output");
    $snap->check($label) unless $want{changes};
    return ($rc, $out, $err);
}
my $wpw = 'Weird-Pw-4711';
push @secrets, $wpw, "$wpw-2";
my @weird = (
    ['a space before', ' alice'], ['a space after', 'alice '], ['upper case', 'ALICE'],
    ['SQL: OR 1=1', q{alice' OR '1'='1}], ['SQL: drop table', q{x'; DROP TABLE users;--}],
    ['LIKE wildcards', 'a%'], ['LIKE underscore', '_lice'], ['printf format', '%s%n%x'],
    ['shell metacharacters', 'alice;id`id`$(id)|&>x'], ['invalid UTF-8', "\xff\xfealice"],
    ['255 bytes', 'n' x 255], ['a quote and a backslash', q{o'brien\\x}],
);
for my $w (@weird) {
    my ($what, $name) = @$w;
    admin_case("trex-pam useradd, a name with $what", "$wpw\n",
               ['useradd', $name, '--password-stdin', '--method', 'sha512crypt', '--cost', 1000],
               rc => 0, out => qr/user \Q$name\E added/, changes => 1);
    admin_case("trex-pam show, a name with $what", '', ['show', $name], rc => 0, out => qr/\Q$name\E/, changes => 1);
    admin_case("trex-pam passwd, a name with $what", "$wpw-2\n",
               ['passwd', $name, '--password-stdin', '--method', 'sha512crypt', '--cost', 1000], rc => 0, changes => 1);
    admin_case("trex-pam faillock, a name with $what", '', ['faillock', $name, '--deny', 3], rc => 0,
               changes => 1);
    admin_case("trex-pam sessions, a name with $what", '', ['sessions', $name], rc => 0, changes => 1);
    my %l = in_child { login_oo($name, answers("$wpw-2")) }->%*;
    is($l{rc}, PAM_SUCCESS, "a user named with $what logs in with the password set by passwd");
    is($l{user}, $name, '... as that user');
    admin_case("trex-pam userdel, a name with $what", '', ['userdel', $name], rc => 0);
}
admin_case('trex-pam show, a name that looks like an option', '', ['show', '-alice'], rc => 2);
admin_case('trex-pam show, a name that looks like an option after --', '', ['show', '--', '-alice'],
           rc => 1, err => qr/-alice: no such user/);
my @invalid = (
    ['a newline', "alice\n", 'contains a control character'], ['a newline first', "\nalice", 'contains a control character'],
    ['a carriage return', "alice\r", 'contains a control character'], ['a tab', "alice\t", 'contains a control character'],
    ['an escape sequence', "\e[2Jalice", 'contains a control character'], ['a DEL', "alice\x7f", 'contains a control character'],
    ['a colon', 'alice:0', q{contains ':'}], ['a slash', '../etc', q{contains '/'}],
    ['no byte', '', 'empty'], ['256 bytes', 'n' x 256, 'longer than 255 bytes'],
    ['100 kB', 'n' x 100_000, 'longer than 255 bytes'],
);
for my $i (@invalid) {
    my ($what, $name, $rule) = @$i;
    admin_case("trex-pam useradd, a name with $what", "$wpw\n", ['useradd', $name, '--password-stdin'],
               rc => 1, err => qr/^trex-pam: useradd: invalid user name: \Q$rule\E$/);
    for my $cmd (['show'], ['passwd', '--password-stdin'], ['faillock', '--deny', 3], ['faillock', '--reset'], ['sessions'],
                 ['sessions', '--revoke-all']) {
        admin_case("trex-pam @$cmd, a name with $what", "$wpw\n", [$cmd->[0], $name, @$cmd[1 .. $#$cmd]],
                   rc => 1, err => qr/^trex-pam: $cmd->[0]: (?:invalid user name: \Q$rule\E|.*no such user)$/m);
    }
}

# passwords on standard input
my @stdin = (
    ['nothing', '', 1, qr/no password on standard input/],
    ['an empty line', "\n", 1, qr/empty password on standard input/],
    ['a NUL', "Pw-with\0-nul-1\n", 1, qr/password is not a byte string \(no wide character, no NUL\)$/],
    ['1 MiB', ('p' x $MiB) . "\n", 1, qr/the password is longer than 511 bytes/],
    ['512 bytes', ('p' x 512) . "\n", 1, qr/the password is longer than 511 bytes/],
    ['a session ID', "$as\n", 1, qr/session ID/],
    ['no newline', 'No-Newline-Pw-1', 0, undef, 'No-Newline-Pw-1'],
    ['511 bytes', ('p' x 511) . "\n", 0, undef, 'p' x 511],
    ['invalid UTF-8', "\xff\xfe-Pw-12345\n", 0, undef, "\xff\xfe-Pw-12345"],
    ['two lines', "First-Line-Pw-1\nSecond-Line-Pw-2\n", 0, undef, 'First-Line-Pw-1'],
    ['shell metacharacters', "\$(id)`id`;|&-Pw-1\n", 0, undef, "\$(id)`id`;|&-Pw-1"],
);
my $k = 0;
for my $c (@stdin) {
    my ($what, $in, $rc, $err, $pw) = @$c;
    my $u = 'stdin' . ++$k;
    push @secrets, $pw if defined $pw && length $pw > 4;
    admin_case("trex-pam useradd, a password of $what on standard input", $in,
               ['useradd', $u, '--password-stdin', '--method', 'sha512crypt', '--cost', 1000],
               rc => $rc, $err ? (err => $err) : (), changes => $rc == 0);
    next unless $rc == 0;
    my %l = in_child { login_oo($u, answers($pw)) }->%*;
    is($l{rc}, PAM_SUCCESS, "a password of $what on standard input: it logs in");
    if ($what eq 'two lines') {
        my %l2 = in_child { login_oo($u, answers('Second-Line-Pw-2')) }->%*;
        isnt($l2{rc}, PAM_SUCCESS, '... and the second line is not the password');
    }
    admin_case("trex-pam userdel after a password of $what", '', ['userdel', $u], rc => 0);
}
for my $c (grep { $_->[2] } @stdin) {
    my ($what, $in, $rc, $err) = @$c;
    admin_case("trex-pam passwd alice, a password of $what on standard input", $in,
               ['passwd', 'alice', '--password-stdin', '--method', 'sha512crypt', '--cost', 1000],
               rc => $rc, err => $err);
}
for my $h ('zzzzzzzz', q{';DROP--}, '1234567', '123456789', "1234567\n", '%%%%%%%%', '') {
    admin_case("trex-pam sessions --revoke '" . ($h =~ s/\n/\\n/r) . "'", '', ['sessions', 'alice', '--revoke', $h],
               rc => 1, err => qr/invalid session handle: want 8 hex digits/);
}
for my $o (['--deny', '-1'], ['--deny', '99999999999'], ['--unlock-time', '1; rm -rf /'], ['--fail-interval', "9\n"]) {
    admin_case("trex-pam faillock @$o[0] " . ($o->[1] =~ s/\n/\\n/r), '', ['faillock', 'alice', @$o], rc => 2);
}

# ---- leaks: a sample of the cases again and again in this process ----------------------------------------------
# The resident set size after many more runs of a case, against its size
# after a warm-up (caches, store connections, Perl's arenas): a leak of a
# copy of a 1 MiB input shows in 100 runs, a leak of 150 bytes per run in
# 3000. (Under valgrind, t/97-valgrind.t checks every case above instead.)
SKIP: {
    skip 'valgrind checks the leaks of every case (and this would take an hour under it)', 2 if $VG;
    skip 'under AddressSanitizer (t/08-perl-asan.t): LeakSanitizer checks the leaks', 2 if under_asan();
    my $LIMIT = 450;
    my ($bpath, $bsvc) = fault_store('leak');
    truncate $bpath, 100;
    my @sample = (
        ['a truncated store', 1500, sub { my %r = login_oo('alice', answers($apw), service => $bsvc) }],
        ['a NUL in a password to the admin API', 3000, sub {
            my $d = TRex::PAM::DB->open(path => $db); eval { $d->set_password('alice', "x\0y") }; $d->close }],
    );
    leak_check($LIMIT, @sample);
    $snap->check('after the leak runs');
}

$finish_locked->();

cmp_ok($CASES, '>=', 200, 'at least 200 distinct bad inputs tried');
diag("$CASES distinct bad inputs tried");
ok(length $ALL_LOG, 'the logs were captured');

done_testing;
