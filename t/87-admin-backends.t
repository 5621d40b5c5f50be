#!/usr/bin/perl
# One administrator's scenario, the same for every backend: bin/trex-pam's
# init, useradd, list, show, usermod, import, check-config, test, sessions
# (list, revoke, purge), faillock (show, reset), passwd, userdel, over a
# web stack (faillock, session, userdb) whose lines name the stores. Run
# with the users and sessions in one SQLite file, in one PostgreSQL
# database, and with the users in PostgreSQL and the sessions and failure
# tallies on Redis (--sessions). Then every command on users pointed at Redis fails in one
# line, and no output ever holds a location's password. Before that,
# COMMAND --help for each command.
# Without PostgreSQL or Redis those runs are skipped, except under
# TREX_PAM_FULL, where they fail.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(confdir tempdir);
use TRexTest::Admin qw(trex_pam all_output web_stack login auth);
use TRexTest::PgServer;
use TRexTest::RedisServer;
use TRex::PAM qw(:DEFAULT :constants);

my $dir = tempdir();
my $conf = confdir();
$ENV{TZ} = 'UTC';
$ENV{TREX_PAM_STORE} = "$dir/not-this-one.db";     # --store and store= decide
my $REDIS_PW = 'R3dis-Secret-pw';
my @fast = ('--method', 'sha512crypt', '--cost', '1000');

my ($pg, $pg_why) = TRexTest::PgServer->try_start;
my $redis_why = TRexTest::RedisServer::available();
my $redis = $redis_why ? undef : TRexTest::RedisServer->new(password => $REDIS_PW);

my @runs = (
    { name => 'sqlite', users => "sqlite:$dir/users.db" },
    { name => 'postgresql', need => $pg ? '' : $pg_why,
      users => $pg && $pg->uri($pg->createdb) },
    { name => 'postgresql + redis', need => !$pg ? $pg_why : $redis_why,
      users => $pg && $pg->uri($pg->createdb),
      sessions => $redis && "redis://:$REDIS_PW\@127.0.0.1:" . $redis->port . '/0' },
);

# The handle of alice's session opened from $rhost, from `sessions` output.
sub handle_of {
    my ($out, $user, $rhost) = @_;
    my ($h) = $out =~ /^\Q$user\E\s+([0-9a-f]{8})\s.*\s\Q$rhost\E$/m;
    return $h;
}

# every command's part of the man page
for my $c (qw(init useradd passwd usermod userdel list show sessions faillock import copy
              check-config test)) {
    my ($rc, $out) = trex_pam('', $c, '--help');
    is($rc, 0, "$c --help: 0");
    like($out, qr/^SYNOPSIS\n\s+trex-pam \Q$c\E\s.*^DESCRIPTION\n\s+\Q$c\E\s/ms, "... its synopsis and text");
}
my ($rc0, $out0) = trex_pam('', 'passwd', '--help');
like($out0, qr/--sessions URI/, 'passwd --help names --sessions');

for my $run (@runs) {
    SKIP: {
        if ($run->{need}) {
            fail("$run->{name}: TREX_PAM_FULL is set but $run->{need}") if $ENV{TREX_PAM_FULL};
            skip "$run->{name}: $run->{need}", 1;
        }
        my $n = $run->{name};
        my $U = $run->{users};
        my $S = $run->{sessions} // $U;
        my $T = $S;                                     # the failure tallies go with the sessions
        my @on = ('--store', $U);
        my @sess = $run->{sessions} ? ('--sessions', $S) : ();
        my $svc = $n =~ s/\W+/-/gr;
        web_stack($svc, users => $U, sessions => $S, tallies => $T);

        # ---- init, users -------------------------------------------------------------
        my ($rc, $out, $err) = trex_pam('', 'init', @on);
        is($rc, 0, "$n: init") or diag($err);
        like($out, qr/created|schema is in place/, "$n: ... says so");
        ($rc, $out) = trex_pam('', 'init', @on);
        is($rc, 0, "$n: init again: 0 (left as it is)");
        if ($run->{sessions}) {
            ($rc, $out) = trex_pam('', 'init', '--store', $S);
            is($rc, 0, "$n: init of the Redis store: 0");
            like($out, qr/needs no schema \(it keeps sessions and failure tallies, no users\)/,
                 "$n: ... which needs no schema");
        }
        ($rc, $out, $err) = trex_pam("Alice-Pw-1\n", 'useradd', @on, 'alice', '--password-stdin',
                                     @fast, '--attr', 'display_name=Alice Liddell');
        is($rc, 0, "$n: useradd alice") or diag($err);
        ($rc) = trex_pam("Carol-Pw-1\n", 'useradd', @on, 'carol', '--password-stdin', @fast);
        is($rc, 0, "$n: useradd carol");
        ($rc) = trex_pam('', 'useradd', @on, 'bob', '--no-password', '--max-days', '90');
        is($rc, 0, "$n: useradd bob --no-password");
        ($rc, $out, $err) = trex_pam("x\n", 'useradd', @on, 'bob', '--password-stdin');
        is($rc, 1, "$n: useradd of a user that exists: 1");
        like($err, qr/^trex-pam: useradd: bob: user already exists$/, "$n: ... one line");
        ($rc, $out) = trex_pam('', 'usermod', @on, 'bob', '--disable', '--expires', '2030-01-31',
                               '--attr', 'mail_home=/srv/mail/bob');
        is($rc, 0, "$n: usermod bob");
        ($rc, $out, $err) = trex_pam("dave:\$6\$saltsalt\$" . ('A' x 86) . "\n", 'import', @on,
                                     '--format', 'htpasswd', '-');
        is($rc, 0, "$n: import (htpasswd)") or diag($err);
        like($out, qr/1 added, 0 updated, 0 skipped/, "$n: ... one added");
        ($rc, $out) = trex_pam('', 'list', @on);
        is($rc, 0, "$n: list");
        like($out, qr/^alice\s+sha512crypt\s+enabled\s+never\s/m, "$n: ... alice");
        like($out, qr/^bob\s+none\s+disabled\s+2030-01-31\s+-\s+90$/m, "$n: ... bob, disabled");
        like($out, qr/^dave\s+sha512crypt\s/m, "$n: ... dave, imported");
        unlike($out, qr/\$6\$/, "$n: ... no hash without --hashes");
        ($rc, $out) = trex_pam('', 'show', @on, 'bob');
        like($out, qr/^attr mail_home:\s+\/srv\/mail\/bob$/m, "$n: show bob: his attribute");
        ($rc, $out) = trex_pam('', 'show', @on, 'alice', '--hashes');
        like($out, qr/^hash:\s+\$6\$rounds=1000\$/m, "$n: show --hashes: the hash");

        # ---- the stack: check-config, test, logins -------------------------------------------
        ($rc, $out) = trex_pam('', 'check-config', '--confdir', $conf, $svc);
        is($rc, 0, "$n: check-config");
        like($out, qr/^\Q$svc\E: ok$/m, "$n: ... ok");
        ($rc, $out, $err) = trex_pam("Alice-Pw-1\n", 'test', '--confdir', $conf, $svc, 'alice',
                                     'authenticate', 'acct_mgmt');
        is($rc, 0, "$n: test SERVICE alice authenticate acct_mgmt") or diag($out, $err);
        like($out, qr/successfully completed/, "$n: ... completed");
        my $a1 = login($svc, 'alice', 'Alice-Pw-1', '192.0.2.7');
        my $a2 = login($svc, 'alice', 'Alice-Pw-1', '192.0.2.8');
        my $c1 = login($svc, 'carol', 'Carol-Pw-1', '198.51.100.9');
        ok($a1 && $a2 && $c1, "$n: three sessions opened through TRex::PAM") or next;
        is(auth($svc, 'alice', $a1), PAM_SUCCESS, "$n: alice's session ID authenticates");

        # ---- sessions ---------------------------------------------------------------------
        ($rc, $out, $err) = trex_pam('', 'sessions', '--store', $S);
        is($rc, 0, "$n: sessions (every user)") or diag($err);
        is(scalar(() = $out =~ /^(?:alice|carol)\s+[0-9a-f]{8}\s.*\slive\s/mg), 3, "$n: ... three, live");
        ($rc, $out) = trex_pam('', 'sessions', '--store', $S, 'alice');
        my $h1 = handle_of($out, 'alice', '192.0.2.7');
        ok($h1, "$n: sessions alice: the one from 192.0.2.7");
        ($rc, $out, $err) = trex_pam('', 'sessions', '--store', $S, 'alice', '--revoke', $h1);
        is($rc, 0, "$n: sessions alice --revoke HANDLE") or diag($err);
        is(auth($svc, 'alice', $a1), PAM_AUTH_ERR, "$n: ... that ID fails");
        is(auth($svc, 'alice', $a2), PAM_SUCCESS, "$n: ... the other goes on");

        # ---- failures -----------------------------------------------------------------------
        is(auth($svc, 'carol', 'wrong-1'), PAM_AUTH_ERR, "$n: carol: a wrong password");
        auth($svc, 'carol', 'wrong-2');
        ($rc, $out, $err) = trex_pam('', 'faillock', '--service', $svc, '--store', $T, 'carol');
        is($rc, 0, "$n: faillock carol") or diag($err);
        is(scalar(() = $out =~ /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d V$/mg), 2, "$n: ... two failures");
        like($out, qr/^carol: not locked: 2 failures within 900 s \(deny=3\)$/m, "$n: ... not locked");
        ($rc, $out) = trex_pam('', 'faillock', '--service', $svc, '--store', $T);
        like($out, qr/^carol:$/m, "$n: faillock (every user): carol");
        unlike($out, qr/^alice:$/m, "$n: ... not alice, who has none");
        ($rc, $out) = trex_pam('', 'faillock', '--store', $T, 'carol', '--reset');
        like($out, qr/2 failures of carol cleared; not locked/, "$n: faillock carol --reset");

        # ---- passwd: sessions end where they are ---------------------------------------------
        if ($run->{sessions}) {
            ($rc, $out) = trex_pam("Carol-Pw-2\n", 'passwd', @on, 'carol', '--password-stdin', @fast);
            like($out, qr/no session to end$/m,
                 "$n: passwd without --sessions looks for them in the users' store");
            is(auth($svc, 'carol', $c1), PAM_SUCCESS, "$n: ... where they are not: carol's goes on");
        }
        ($rc, $out, $err) = trex_pam("Carol-Pw-3\n", 'passwd', @on, @sess, 'carol', '--password-stdin', @fast);
        is($rc, 0, "$n: passwd carol" . ($run->{sessions} ? ' --sessions REDIS' : '')) or diag($err);
        like($out, qr/password of carol changed; 1 session ended/, "$n: ... one session ended");
        is(auth($svc, 'carol', $c1), PAM_AUTH_ERR, "$n: ... her session ID fails");
        is(auth($svc, 'carol', 'Carol-Pw-3'), PAM_SUCCESS, "$n: ... the new password works");
        my $c2 = login($svc, 'carol', 'Carol-Pw-3');
        ($rc, $out) = trex_pam('', 'usermod', @on, @sess, 'carol', '--disable', '--revoke-sessions');
        like($out, qr/user carol changed; 1 session ended/, "$n: usermod --disable --revoke-sessions");
        is(auth($svc, 'carol', $c2), PAM_AUTH_ERR, "$n: ... her session ID fails");

        # ---- purge, userdel ------------------------------------------------------------------
        sleep 2;
        ($rc, $out, $err) = trex_pam('', 'sessions', '--store', $S, '--purge', '--idle', '1',
                                     '--lifetime', '0');
        is($rc, 0, "$n: sessions --purge --idle 1") or diag($err);
        like($out, qr/1 expired session purged/, "$n: ... alice's remaining one");
        my $a3 = login($svc, 'alice', 'Alice-Pw-1');
        ($rc, $out, $err) = trex_pam('', 'userdel', @on, @sess, 'alice');
        is($rc, 0, "$n: userdel alice") or diag($err);
        is(auth($svc, 'alice', $a3), PAM_AUTH_ERR, "$n: ... her session ID fails");
        ($rc, $out) = trex_pam('', 'sessions', '--store', $S);
        like($out, qr/no sessions/, "$n: ... and no session is left in the store");
        ($rc, $out) = trex_pam('', 'list', @on);
        unlike($out, qr/^alice\s/m, "$n: ... nor alice in the list");

        # ---- a store that keeps no users --------------------------------------------------------
        next unless $run->{sessions};
        for my $c (['useradd', 'zed', '--no-password'], ['passwd', 'carol', '--password-stdin'],
                   ['usermod', 'carol', '--enable'], ['userdel', 'carol'], ['list'],
                   ['show', 'carol'], ['import', '-']) {
            ($rc, $out, $err) = trex_pam("zed:x\n", $c->[0], '--store', $S, @$c[1 .. $#$c]);
            is($rc, 1, "$n: $c->[0] on Redis: 1");
            like($err, qr/\Atrex-pam: $c->[0]: redis:\/\/127\.0\.0\.1:\d+\/0: (?:a redis|this) store keeps no users[^\n]*\n\z/,
                 "$n: ... one line saying it keeps no users");
        }
    }
}

my $all = all_output();
unlike($all, qr/\Q$TRexTest::PgServer::PASSWORD\E|\Q$REDIS_PW\E/, 'no output holds a password of a location');
done_testing;
