#!/usr/bin/perl
# bin/trex-pam's sessions, faillock and passwd --revoke-sessions against
# sessions and failures made through TRex::PAM: a pam.d stack of faillock,
# session and userdb on a database in a temporary directory. Sessions are
# listed by handle (never the ID nor its stored digest), revoked one by one
# or all (the ID then fails authentication), purged once expired; failures
# are listed with the lock verdict and cleared by --reset; an administrator's
# password reset ends the user's sessions unless told not to.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(confdir service scripted_conv tempdir command);
use TRex::PAM qw(:DEFAULT :constants);
use TRex::PAM::DB;

my $dir = tempdir();
my $db = "$dir/users.db";
$ENV{TREX_PAM_DB} = "$dir/not-this-one.db";       # --db and db= decide
$ENV{TZ} = 'UTC';
my $fl = "deny=3 unlock_time=600 nodelay db=$db";
service('web', <<"EOF");
auth      requisite                                 faillock preauth $fl
auth      [success=done ignore=ignore default=die]  session db=$db
auth      [success=1 default=bad]                   userdb db=$db
auth      [default=die]                             faillock authfail $fl
auth      sufficient                                faillock authsucc $fl
auth      required                                  deny
account   required                                  userdb db=$db
password  requisite                                 userdb db=$db
password  optional                                  session revoke_on_change db=$db
session   required                                  session db=$db
EOF
{
    my ($rc, @problems) = TRex::PAM::check_config('web', confdir());
    plan skip_all => "the session and faillock modules are not registered yet (rc $rc; @problems)"
        if $rc != PAM_SUCCESS || @problems;
}

my @fast = (method => 'sha512crypt', cost => 1000);
{
    my $d = TRex::PAM::DB->open(path => $db, create => 1);
    $d->user_add('alice', password => 'Alice-Pw-1', @fast);
    $d->user_add('bob', password => 'Bob-Pw-1', @fast);
    $d->user_add('carol', password => 'Carol-Pw-1', @fast);
}

my $all_output = '';

# cmd($stdin, @args): exit code, stdout, stderr of bin/trex-pam --db $db @args
sub cmd {
    my ($stdin, @args) = @_;
    my ($rc, $out, $err) = command($stdin, $^X, '-Mblib', 'bin/trex-pam', '--db', $db, @args);
    $all_output .= $out . $err;
    return ($rc, $out, $err);
}

# A handle of service $svc (web) for $user answering the prompt with $answer.
our $svc = 'web';
sub start {
    my ($user, $answer, $rhost) = @_;
    my $h = TRex::PAM->new($svc, $user, scripted_conv([], $answer));
    die "pam_start: $h\n" unless ref $h;
    $h->pam_set_item(PAM_FAIL_DELAY, sub { });
    $h->pam_set_item(PAM_RHOST, $rhost) if defined $rhost;
    return $h;
}

# Logs in with a password and opens a session: its ID, or undef.
sub login {
    my ($user, $pw, $rhost) = @_;
    my $h = start($user, $pw, $rhost);
    return undef unless $h->pam_authenticate == PAM_SUCCESS && $h->pam_acct_mgmt == PAM_SUCCESS
        && $h->pam_open_session == PAM_SUCCESS;
    $h->pam_get_item('TREX_SESSION_ID', my $sid);
    return $sid;
}

sub auth { start(@_)->pam_authenticate }

# The stored digests, in hex (sqlite3's command, if there is one).
my ($sqlite3) = grep { -x } map { "$_/sqlite3" } split /:/, $ENV{PATH};
sub sql {
    my ($q) = @_;
    return () unless $sqlite3;
    my $out = `'$sqlite3' '$db' "$q" 2>&1`;
    return split /\n/, $out;
}

# ---- sessions: listing ----------------------------------------------------------------
my $a1 = login('alice', 'Alice-Pw-1', '192.0.2.7');
my $a2 = login('alice', 'Alice-Pw-1');
my $b1 = login('bob', 'Bob-Pw-1', '198.51.100.2');
ok($a1 && $a2 && $b1, 'three sessions opened through TRex::PAM') or BAIL_OUT('no sessions');
is(auth('alice', $a1), PAM_SUCCESS, "alice's first ID authenticates");

my ($rc, $out, $err) = cmd('', 'sessions', 'alice');
is($rc, 0, 'sessions alice: 0') or diag($err);
like($out, qr/^USER\s+HANDLE\s+CREATED\s+LAST USED\s+STATE\s+REMOTE HOST$/m, '... a header');
my @rows = grep { /^alice\s/ } split /\n/, $out;
is(scalar @rows, 2, '... two sessions');
@rows = sort { ($b =~ /192/) <=> ($a =~ /192/) } @rows;     # the first one opened from 192.0.2.7
like($rows[0], qr/^alice\s+[0-9a-f]{8}\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+live\s+192\.0\.2\.7$/,
     '... handle, times, live, the remote host');
like($rows[1], qr/^alice\s+[0-9a-f]{8}\s.*\slive\s+-$/, '... no remote host: -');
unlike($out, qr/bob/, "... not bob's");
my ($h1) = $rows[0] =~ /^alice\s+([0-9a-f]{8})/;
my ($h2) = $rows[1] =~ /^alice\s+([0-9a-f]{8})/;
isnt($h1, $h2, '... two handles');

($rc, $out, $err) = cmd('', 'sessions');
is($rc, 0, 'sessions (every user): 0') or diag($err);
is(scalar(grep { /^(?:alice|bob)\s+[0-9a-f]{8}\s/ } split /\n/, $out), 3, '... three sessions');
like($out, qr/^bob\s+[0-9a-f]{8}\s.*198\.51\.100\.2$/m, "... bob's");
($rc, $out, $err) = cmd('', 'sessions', 'carol');
is($rc, 0, 'sessions of a user without any: 0');
like($out, qr/carol has no session/, '... said');
($rc, $out, $err) = cmd('', 'sessions', 'nobody');
is($rc, 1, 'sessions of an unknown user: 1');
like($err, qr/^trex-pam: sessions: nobody: no such user$/m, '... said');

SKIP: {
    skip 'no sqlite3 command to read the digests with', 2 unless $sqlite3;
    my @digests = sql('SELECT hex(digest) FROM sessions');
    is(scalar(grep { /^[0-9A-F]{64}$/ } @digests), 3, 'the store holds three digests');
    my ($seen) = grep { my $d = $_; $all_output =~ /\Q$d\E/i || grep { index(lc $d, $_) >= 0 } $h1, $h2 } @digests;
    ok(!$seen, '... none of them, nor a handle as a part of one, in any output');
}

# ---- sessions: revoking --------------------------------------------------------------------
($rc, $out, $err) = cmd('', 'sessions', 'bob', '--revoke', $h1);
is($rc, 1, "revoking alice's handle as bob's: 1");
like($err, qr/sessions: bob: no session \Q$h1\E/, '... no such session');
is(auth('alice', $a1), PAM_SUCCESS, "... alice's session goes on");
($rc, $out, $err) = cmd('', 'sessions', 'alice', '--revoke', 'xyz');
is($rc, 1, 'a malformed handle: 1');
like($err, qr/invalid session handle/, '... said');
($rc, $out, $err) = cmd('', 'sessions', 'alice', '--revoke', uc $h1);
is($rc, 0, 'sessions alice --revoke HANDLE (upper case): 0') or diag($err);
like($out, qr/session \Q$h1\E of alice ended/i, '... said');
is(auth('alice', $a1), PAM_AUTH_ERR, '... the ID no longer authenticates (PAM_AUTH_ERR)');
is(auth('alice', $a2), PAM_SUCCESS, '... the other session goes on');
($rc, $out, $err) = cmd('', 'sessions', 'alice', '--revoke', $h1);
is($rc, 1, 'revoking it again: 1');
like($err, qr/no session \Q$h1\E/, '... no such session');

my $b2 = login('bob', 'Bob-Pw-1');
($rc, $out, $err) = cmd('', 'sessions', 'bob', '--revoke-all');
is($rc, 0, 'sessions bob --revoke-all: 0') or diag($err);
like($out, qr/2 sessions of bob ended/, '... two');
is(auth('bob', $b1), PAM_AUTH_ERR, '... the first ID fails');
is(auth('bob', $b2), PAM_AUTH_ERR, '... the second too');
is(auth('alice', $a2), PAM_SUCCESS, "... alice's goes on");
($rc, $out, $err) = cmd('', 'sessions', 'bob', '--revoke-all');
like($out, qr/bob has no session/, 'again: none');

for my $t ([['--revoke-all'], qr/want a user name/],
           [['alice', '--purge'], qr/give no user name/],
           [['--purge', '--revoke-all'], qr/exclude each other/],
           [['alice', '--revoke', $h2, '--revoke-all'], qr/exclude each other/],
           [['alice', 'bob'], qr/at most one user/],
           [['--purge', '--idle', 'x'], qr/--idle: "x" is not a number of seconds/],
           [['--purge', '--idle', 0, '--lifetime', 0], qr/nothing to purge/],
           [['alice', '--frobnicate'], qr/Unknown option: frobnicate/]) {
    ($rc, $out, $err) = cmd('', 'sessions', @{ $t->[0] });
    is($rc, 2, "sessions @{ $t->[0] }: 2");
    like($err, $t->[1], '... the reason');
}

# ---- sessions: expiry and purge (the store's times moved back) ------------------------------
SKIP: {
    skip 'no sqlite3 command to age sessions with', 11 unless $sqlite3;
    my $c1 = login('carol', 'Carol-Pw-1');
    my $c2 = login('carol', 'Carol-Pw-1');
    my $c3 = login('carol', 'Carol-Pw-1');
    ($rc, $out) = cmd('', 'sessions', 'carol');
    my @h = map { /^carol\s+([0-9a-f]{8})/ ? $1 : () } split /\n/, $out;
    is(scalar @h, 3, 'carol has three sessions');
    # one idle for 2000 s, one opened 50000 s ago (the store's order: created, digest)
    my $nth = "(SELECT digest FROM sessions WHERE user = 'carol' ORDER BY created, digest LIMIT 1 OFFSET %d)";
    sql(sprintf "UPDATE sessions SET last_used = last_used - 2000 WHERE digest = $nth", 0);
    sql(sprintf "UPDATE sessions SET created = created - 50000, last_used = last_used - 50000 WHERE digest = $nth", 2);
    ($rc, $out) = cmd('', 'sessions', 'carol');
    like($out, qr/expired \(idle\)/, 'an idle session shows as expired (idle)');
    like($out, qr/expired \(lifetime\)/, 'an old one as expired (lifetime)');
    like($out, qr/\slive\s/, 'the third is live');
    ($rc, $out) = cmd('', 'sessions', 'carol', '--idle', 0, '--lifetime', 0);
    is(scalar(() = $out =~ /\slive\s/g), 3, '--idle 0 --lifetime 0: no limit, all live');
    ($rc, $out, $err) = cmd('', 'sessions', '--purge', '--idle', 3000);
    is($rc, 0, 'sessions --purge --idle 3000: 0') or diag($err);
    like($out, qr/1 expired session purged \(idle over 3000 s, lifetime over 43200 s\)/, '... the old one');
    ($rc, $out, $err) = cmd('', 'sessions', '--purge');
    like($out, qr/1 expired session purged \(idle over 1800 s/, '--purge (defaults): the idle one');
    ($rc, $out) = cmd('', 'sessions', 'carol');
    is(scalar(grep { /^carol\s/ } split /\n/, $out), 1, '... one left');
    is(scalar(grep { auth('carol', $_) == PAM_SUCCESS } $c1, $c2, $c3), 1, '... and only one ID works');
    ($rc, $out) = cmd('', 'sessions', '--purge');
    like($out, qr/0 expired sessions purged/, 'nothing more to purge');
}

# ---- faillock ----------------------------------------------------------------------------------
($rc, $out, $err) = cmd('', 'faillock', '--service', 'web', 'bob');
is($rc, 0, 'faillock bob: 0') or diag($err);
my $conf = confdir();
is($out, "trex-pam: settings: deny=3 fail_interval=900 unlock_time=600 (from $conf/web line 1, faillock preauth)\n"
         . "bob:\nWhen                Valid\nbob: not locked: no failures\n", '... no failures, by the settings of web');
is(auth('bob', 'wrong-1'), PAM_AUTH_ERR, 'a wrong password for bob');
is(auth('bob', 'wrong-2'), PAM_AUTH_ERR, '... two');
($rc, $out, $err) = cmd('', 'faillock', '--service', 'web', 'bob');
my @fails = $out =~ /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) V$/mg;
is(scalar @fails, 2, 'faillock: the two failures, valid') or diag($out);
like($out, qr/^bob: not locked: 2 failures within 900 s \(deny=3\)$/m, '... not locked');
is(auth('bob', 'wrong-3'), PAM_AUTH_ERR, 'a third');
is(auth('bob', 'Bob-Pw-1'), PAM_AUTH_ERR, '... now even the right password fails: locked');
($rc, $out, $err) = cmd('', 'faillock', '--service', 'web', 'bob');
is(scalar(() = $out =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d V$/mg), 3, 'faillock: three failures');
like($out, qr/^bob: locked: 3 failures within 900 s \(deny=3\); unlocks at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m,
     '... locked, and until when');
($rc, $out) = cmd('', 'faillock', '--service', 'web', 'bob', '--deny', 5);
like($out, qr/^bob: not locked: 3 failures within 900 s \(deny=5\)$/m, '--deny 5: not locked');
like($out, qr/^trex-pam: settings: deny=5 \(--deny\) fail_interval=900 unlock_time=600 \(from \Q$conf\E\/web line 1/m,
     '... the option over the line\'s deny=3, and the output says so');
($rc, $out) = cmd('', 'faillock', '--service', 'web', 'bob', '--unlock-time', 'never');
like($out, qr/^bob: locked: .*until reset \(unlock_time=never\)$/m, '--unlock-time never: until a reset');
($rc, $out) = cmd('', 'faillock', '--service', 'web', 'bob', '--deny', 0);
like($out, qr/^bob: not locked: 3 failures \(deny=0: never locked\)$/m, '--deny 0: never');
($rc, $out) = cmd('', 'faillock', '--service', 'web', 'bob', '--fail-interval', 0);
like($out, qr/ I$/m, '--fail-interval 0: the failures are not valid');
like($out, qr/^bob: not locked: 0 failures within 0 s/m, '... and not locked');
($rc, $out) = cmd('', 'faillock', '--service', 'web');
is($rc, 0, 'faillock (every user): 0');
like($out, qr/^bob:\n/m, '... bob');
unlike($out, qr/^(?:alice|carol):/m, '... only users with failures');
for my $t ([['bob', '--deny', 'x'], qr/--deny: "x" is not a number/],
           [['bob', '--unlock-time', 604801], qr/--unlock-time: "604801" is not a number of seconds from 0 to 604800/],
           [['--reset'], qr/--reset wants a user name/],
           [['bob', 'carol'], qr/at most one user/]) {
    ($rc, $out, $err) = cmd('', 'faillock', '--service', 'web', @{ $t->[0] });
    is($rc, 2, "faillock @{ $t->[0] }: 2");
    like($err, $t->[1], '... the reason');
}
# any name has a tally: the module counts names nobody has too
($rc, $out, $err) = cmd('', 'faillock', '--service', 'web', 'nobody');
is($rc, 0, 'faillock of a name nobody has: 0') or diag($err);
like($out, qr/^nobody: not locked: no failures$/m, '... no failures');
# the service's own settings: web5 locks at 5 (the bug: judged by deny=3, bob looked locked)
my $fl5 = "deny=5 unlock_time=900 nodelay db=$db";
service('web5', <<"EOF");
auth      requisite                 faillock preauth $fl5
auth      [success=1 default=bad]   userdb db=$db
auth      [default=die]             faillock authfail $fl5
auth      sufficient                faillock authsucc $fl5
auth      required                  deny
account   required                  userdb db=$db
EOF
($rc, $out, $err) = cmd('', 'faillock', '--service', 'web5', 'bob');
is($rc, 0, 'faillock --service web5 bob: 0') or diag($err);
like($out, qr/^bob: not locked: 3 failures within 900 s \(deny=5\)$/m, '... 3 failures: not locked under deny=5');
like($out, qr/^trex-pam: settings: deny=5 fail_interval=900 unlock_time=900 \(from \Q$conf\E\/web5 line 1, faillock preauth\)$/m,
     '... naming the settings and where they came from');
{
    local $svc = 'web5';
    is(auth('bob', "wrong-$_"), PAM_AUTH_ERR, "web5: wrong password $_") for 4 .. 5;
}
($rc, $out) = cmd('', 'faillock', '--service', 'web5', 'bob');
like($out, qr/^bob: locked: 5 failures within 900 s \(deny=5\); unlocks at /m, '5 failures: locked under deny=5');
# without --store, the store the service's line names (not $TREX_PAM_DB)
($rc, $out, $err) = command('', $^X, '-Mblib', 'bin/trex-pam', 'faillock', '--service', 'web5', 'bob');
is($rc, 0, 'without --store: 0') or diag($err);
like($out, qr/^bob: locked: 5 failures/m, "... the faillock line's db= is the store read");
# a preauth line decides even after another faillock line
service('late', "auth [default=die] faillock authfail deny=9 db=$db\nauth requisite faillock preauth deny=5 db=$db\n");
($rc, $out) = cmd('', 'faillock', '--service', 'late', 'bob');
like($out, qr/^trex-pam: settings: deny=5 .*\Q$conf\E\/late line 2, faillock preauth\)$/m, 'the preauth line decides');
service('failonly', "auth [default=die] faillock authfail deny=9 db=$db\n");
($rc, $out) = cmd('', 'faillock', '--service', 'failonly', 'bob');
like($out, qr/^trex-pam: settings: deny=9 .*failonly line 1, faillock authfail\)$/m, '... else the first faillock line');
# a service without a faillock line, a missing one, the default stack
service('nofl', "auth required userdb db=$db\n");
($rc, $out, $err) = cmd('', 'faillock', '--service', 'nofl', 'bob');
is($rc, 1, 'a service without a faillock line: 1');
like($err, qr/service nofl has no faillock line in its auth stack/, '... said');
($rc, $out, $err) = cmd('', 'faillock', '--service', 'nofl', 'bob', '--deny', 5);
is($rc, 0, '... with --deny: 0') or diag($err);
like($out, qr/^trex-pam: settings: deny=5 \(--deny\) fail_interval=900 unlock_time=600 \(the module's defaults and yours: service nofl has no faillock line\)$/m,
     '... saying whose the settings are');
($rc, $out, $err) = cmd('', 'faillock', '--service', 'nosuch', 'bob');
is($rc, 1, 'a missing service (no file, no other): 1');
like($err, qr/no configuration for service "nosuch" and no "other"/, '... why');
like($err, qr/service nosuch cannot be read/, '... said');
($rc, $out, $err) = cmd('', 'faillock', 'bob');
is($rc, 1, 'without --service: the default stack, here none (no other): 1');
service('other', "auth requisite faillock preauth deny=4 fail_interval=60 db=$db\n");
($rc, $out, $err) = cmd('', 'faillock', 'bob');
is($rc, 0, 'with an "other" file: 0') or diag($err);
like($out, qr/^trex-pam: settings: deny=4 fail_interval=60 unlock_time=600 \(from \Q$conf\E\/other line 1, faillock preauth\)$/m,
     "... other's settings: what pam_start runs for a service without a file");
($rc, $out, $err) = cmd('', 'faillock', '--service', 'nosuch', 'bob');
like($out, qr/\(from \Q$conf\E\/other line 1/m, '... and for --service of a service without a file');
unlink "$conf/other";
SKIP: {
    skip 'the compiled-in configuration directory exists here', 2 if -e '/etc/trex-pam.d';
    local $ENV{TREX_PAM_CONFDIR};
    delete $ENV{TREX_PAM_CONFDIR};
    ($rc, $out, $err) = cmd('', 'faillock', 'bob');
    is($rc, 0, 'no configuration directory: the built-in default stack') or diag($err);
    like($out, qr/^trex-pam: settings: deny=3 fail_interval=900 unlock_time=600 \(from the built-in default stack line 1, faillock preauth\)$/m,
         '... its settings');
}
($rc, $out, $err) = cmd('', 'faillock', '--service', 'web5', 'bob', '--reset', '--deny', 3);
is($rc, 2, '--reset with --deny: 2');
($rc, $out, $err) = command('', $^X, '-Mblib', 'bin/trex-pam', 'faillock', '--service', 'web5', 'bob', '--reset');
is($rc, 0, '--reset --service web5 (no --store): 0') or diag($err);
like($out, qr/5 failures of bob cleared; not locked/, "... in the service's store");
{
    is(auth('bob', "wrong-$_"), PAM_AUTH_ERR, "web: wrong password $_ again") for 1 .. 3;
}
($rc, $out, $err) = cmd('', 'faillock', '--service', 'web', 'bob', '--reset');
is($rc, 0, 'faillock bob --reset: 0') or diag($err);
like($out, qr/3 failures of bob cleared; not locked/, '... said');
($rc, $out) = cmd('', 'faillock', '--service', 'web', 'bob');
like($out, qr/^bob: not locked: no failures$/m, '... none left');
is(auth('bob', 'Bob-Pw-1'), PAM_SUCCESS, '... and bob logs in again');
($rc, $out) = cmd('', 'faillock', '--service', 'web');
like($out, qr/no failures on record/, 'faillock: nobody has failures');
($rc, $out, $err) = cmd('', 'faillock', '--service', 'web', 'nobody', '--reset');
is($rc, 0, 'faillock --reset of a name nobody has: 0') or diag($err);
like($out, qr/nobody has no failures/, '... none');

# ---- passwd ends the sessions; usermod --disable does not ----------------------------------------
my $a3 = login('alice', 'Alice-Pw-1');
is(auth('alice', $a3), PAM_SUCCESS, 'alice has two live sessions');
($rc, $out, $err) = cmd("Alice-Pw-2\n", 'passwd', 'alice', '--password-stdin', '--no-revoke-sessions');
is($rc, 0, 'passwd --no-revoke-sessions: 0') or diag($err);
is($out, "trex-pam: password of alice changed\n", '... nothing said of sessions');
is(auth('alice', $a2), PAM_SUCCESS, '... her sessions go on');
($rc, $out, $err) = cmd("Alice-Pw-3\n", 'passwd', 'alice', '--password-stdin');
is($rc, 0, 'passwd (ends the sessions by default): 0') or diag($err);
like($out, qr/password of alice changed; 2 sessions ended/, '... two ended');
is(auth('alice', $a2), PAM_AUTH_ERR, '... the IDs no longer authenticate');
is(auth('alice', $a3), PAM_AUTH_ERR, '... neither');
is(auth('alice', 'Alice-Pw-3'), PAM_SUCCESS, '... the new password does');
($rc, $out, $err) = cmd("Alice-Pw-4\n", 'passwd', 'alice', '--password-stdin', '--revoke-sessions');
like($out, qr/password of alice changed; no session to end/, 'passwd --revoke-sessions without sessions');

my $a4 = login('alice', 'Alice-Pw-4');
($rc, $out, $err) = cmd('', 'usermod', 'alice', '--disable');
is($rc, 0, 'usermod --disable') or diag($err);
($rc, $out) = cmd('', 'sessions', 'alice');
like($out, qr/^alice\s+[0-9a-f]{8}\s/m, '... leaves the session in the store');
{
    my $h = start('alice', $a4);
    is($h->pam_authenticate, PAM_SUCCESS, '... its ID still authenticates');
    isnt($h->pam_acct_mgmt, PAM_SUCCESS, '... but acct_mgmt refuses the disabled account at once');
}

# ---- nothing secret in any output ------------------------------------------------------------------
my @secrets = grep { defined } ($a1, $a2, $a3, $a4, $b1, $b2, 'Alice-Pw', 'Bob-Pw', 'Carol-Pw', 'trex1.');
ok(!(grep { index($all_output, $_) >= 0 } @secrets), 'no session ID and no password in any output');
unlike($all_output, qr/\$6\$/, 'no hash in any output');

($rc, $out) = cmd('', '--help');
like($out, qr/\bsessions\b.*\bfaillock\b.*--revoke-sessions/s, '--help names sessions, faillock, --revoke-sessions');
done_testing;
