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

# A handle of service web for $user answering the prompt with $answer.
sub start {
    my ($user, $answer, $rhost) = @_;
    my $h = TRex::PAM->new('web', $user, scripted_conv([], $answer));
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
($rc, $out, $err) = cmd('', 'faillock', 'bob');
is($rc, 0, 'faillock bob: 0') or diag($err);
is($out, "bob:\nWhen                Valid\nbob: not locked: no failures\n", '... no failures');
is(auth('bob', 'wrong-1'), PAM_AUTH_ERR, 'a wrong password for bob');
is(auth('bob', 'wrong-2'), PAM_AUTH_ERR, '... two');
($rc, $out, $err) = cmd('', 'faillock', 'bob');
my @fails = $out =~ /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) V$/mg;
is(scalar @fails, 2, 'faillock: the two failures, valid') or diag($out);
like($out, qr/^bob: not locked: 2 failures within 900 s \(deny=3\)$/m, '... not locked');
is(auth('bob', 'wrong-3'), PAM_AUTH_ERR, 'a third');
is(auth('bob', 'Bob-Pw-1'), PAM_AUTH_ERR, '... now even the right password fails: locked');
($rc, $out, $err) = cmd('', 'faillock', 'bob');
is(scalar(() = $out =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d V$/mg), 3, 'faillock: three failures');
like($out, qr/^bob: locked: 3 failures within 900 s \(deny=3\); unlocks at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/m,
     '... locked, and until when');
($rc, $out) = cmd('', 'faillock', 'bob', '--deny', 5);
like($out, qr/^bob: not locked: 3 failures within 900 s \(deny=5\)$/m, '--deny 5: not locked');
($rc, $out) = cmd('', 'faillock', 'bob', '--unlock-time', 'never');
like($out, qr/^bob: locked: .*until reset \(unlock_time=never\)$/m, '--unlock-time never: until a reset');
($rc, $out) = cmd('', 'faillock', 'bob', '--deny', 0);
like($out, qr/^bob: not locked: 3 failures \(deny=0: never locked\)$/m, '--deny 0: never');
($rc, $out) = cmd('', 'faillock', 'bob', '--fail-interval', 0);
like($out, qr/ I$/m, '--fail-interval 0: the failures are not valid');
like($out, qr/^bob: not locked: 0 failures within 0 s/m, '... and not locked');
($rc, $out) = cmd('', 'faillock');
is($rc, 0, 'faillock (every user): 0');
like($out, qr/^bob:\n/, '... bob');
unlike($out, qr/^(?:alice|carol):/m, '... only users with failures');
for my $t ([['bob', '--deny', 'x'], qr/--deny: "x" is not a number/],
           [['bob', '--unlock-time', 604801], qr/--unlock-time: "604801" is not a number of seconds from 0 to 604800/],
           [['--reset'], qr/--reset wants a user name/],
           [['bob', 'carol'], qr/at most one user/]) {
    ($rc, $out, $err) = cmd('', 'faillock', @{ $t->[0] });
    is($rc, 2, "faillock @{ $t->[0] }: 2");
    like($err, $t->[1], '... the reason');
}
# any name has a tally: the module counts names nobody has too
($rc, $out, $err) = cmd('', 'faillock', 'nobody');
is($rc, 0, 'faillock of a name nobody has: 0') or diag($err);
like($out, qr/^nobody: not locked: no failures$/m, '... no failures');
($rc, $out, $err) = cmd('', 'faillock', 'bob', '--reset');
is($rc, 0, 'faillock bob --reset: 0') or diag($err);
like($out, qr/3 failures of bob cleared; not locked/, '... said');
($rc, $out) = cmd('', 'faillock', 'bob');
like($out, qr/^bob: not locked: no failures$/m, '... none left');
is(auth('bob', 'Bob-Pw-1'), PAM_SUCCESS, '... and bob logs in again');
($rc, $out) = cmd('', 'faillock');
like($out, qr/no failures on record/, 'faillock: nobody has failures');
($rc, $out, $err) = cmd('', 'faillock', 'nobody', '--reset');
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
