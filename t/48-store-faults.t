#!/usr/bin/perl
# Servers that fail under the modules, through the Perl API: a web stack
# with userdb and faillock on a private PostgreSQL server and the session
# module on a private Redis server (appendonly, appendfsync always). Each
# server is killed (-9) in the middle of a login, paused (SIGSTOP) and
# resumed, stopped and started again, and given credentials it refuses.
# Every call that fails gives PAM_AUTHINFO_UNAVAIL (never PAM_SUCCESS),
# returns within a generous bound of the locations' timeouts (1 s), and
# logs exactly one line, naming the backend, the host and the reason; no
# password and no session ID is in any output. The next login once the
# server is back succeeds (the pooled connection opened again). A password
# change acknowledged just before PostgreSQL is killed is there after the
# restart; a logout acknowledged just before Redis is killed stays a
# logout. Without the servers: skipped (failed under TREX_PAM_FULL).
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes ();
use lib 't/lib';
use TRexTest qw(confdir service capture_stderr scripted_conv);
use TRexTest::PgServer;
use TRexTest::RedisServer;
use TRex::PAM qw(:constants pam_strerror);
use TRex::PAM::DB;

TRexTest::RedisServer->skip_unless_available;
my $pg = TRexTest::PgServer->start_or_skip;
my $rd = TRexTest::RedisServer->new(persist => 1);
my $rdauth = TRexTest::RedisServer->new(password => 'Rd-SeCrEt-4711', users => { mail => 'AcL-SeCrEt-0815' });

my $BOUND = 10;                       # seconds: "does not hang", for timeouts of 1 s
my %T = (connect_timeout => 1, command_timeout => 1);
my $pgloc = $pg->uri($pg->createdb, query => \%T);
my $rdloc = $rd->location . '?connect_timeout=1&command_timeout=1';
my $pghost = '127.0.0.1:' . $pg->port;
my $rdhost = '127.0.0.1:' . $rd->port;
my ($pw1, $pw2) = ('Kx7-Blue-Harbor-1', 'Qz4-Green-Meadow-2');
# cheap hashes: the test is about the servers, not the hash (and runs under valgrind)
my @fast = (method => 'sha512crypt', cost => 1000);
my $fast = 'method=sha512crypt cost=1000';
my @secrets = ($TRexTest::PgServer::PASSWORD, 'Rd-SeCrEt-4711', 'AcL-SeCrEt-0815', 'WrOnG-SeCrEt',
               $pw1, $pw2);

{
    my $db = TRex::PAM::DB->open(store => $pgloc, create => 1);
    $db->user_add('alice', password => $pw1, @fast);
    $db->close;
}

confdir();
sub stack {
    my ($pgl, $rdl) = @_;
    return <<"EOT";
auth      [success=done ignore=ignore default=die]  session store=$rdl
auth      requisite                                 faillock preauth deny=5 store=$pgl
auth      [success=1 default=bad]                   userdb store=$pgl $fast
auth      [default=die]                             faillock authfail deny=5 store=$pgl
auth      [success=done authinfo_unavail=die default=ignore] faillock authsucc deny=5 store=$pgl
auth      required                                  deny
account   required                                  userdb store=$pgl
password  requisite                                 userdb minlen=8 store=$pgl $fast
password  optional                                  session revoke_on_change store=$rdl
session   required                                  session store=$rdl
EOT
}
service('web', stack($pgloc, $rdloc));
(my $pgbad = $pgloc) =~ s/:\Q$TRexTest::PgServer::PASSWORD\E\@/:WrOnG-SeCrEt\@/ or die;
service('web-pgbad', stack($pgbad, $rdloc));
my $rdauthq = '?connect_timeout=1&command_timeout=1';
service('web-rdbad', stack($pgloc, 'redis://:WrOnG-SeCrEt@127.0.0.1:' . $rdauth->port . "/0$rdauthq"));
service('web-rdacl', stack($pgloc, 'redis://mail:WrOnG-SeCrEt@127.0.0.1:' . $rdauth->port . "/0$rdauthq"));
service('web-rdok', stack($pgloc, 'redis://mail:AcL-SeCrEt-0815@127.0.0.1:' . $rdauth->port . "/0$rdauthq"));

my $all_output = '';                  # every log line of the test, searched for secrets

# One step of the web flow on a fresh handle: (code, seconds, log). With a
# password: authenticate, acct_mgmt and open_session (the first failure's
# code, the session ID in $$sid); with a session ID: authenticate and
# acct_mgmt; close => 1: authenticate with the ID and close_session.
sub flow {
    my (%o) = @_;
    my $answer = $o{sid} // $o{password};
    my ($log, $rc, $dt) = capture_stderr {
        my $t0 = Time::HiRes::time();
        my $h = TRex::PAM->new($o{service} // 'web', 'alice', sub {
            my @r;
            while (my ($style, $msg) = splice @_, 0, 2) { push @r, PAM_SUCCESS, $answer }
            return (@r, PAM_SUCCESS);
        });
        ref $h or return ($h, 0);
        $h->pam_set_item(PAM_FAIL_DELAY, sub { });
        my $rc = $h->pam_authenticate;
        $rc = $h->pam_close_session if $rc == PAM_SUCCESS && $o{close};
        $rc = $h->pam_acct_mgmt if $rc == PAM_SUCCESS && !$o{close};
        $rc = $h->pam_open_session if $rc == PAM_SUCCESS && !$o{close} && !defined $o{sid};
        if ($rc == PAM_SUCCESS && $o{sid_out}) {
            $h->pam_get_item('TREX_SESSION_ID', my $id);
            ${ $o{sid_out} } = $id;
        }
        undef $h;
        return ($rc, Time::HiRes::time() - $t0);
    };
    $all_output .= $log;
    return ($rc, $dt, $log);
}

sub code_name { my ($c) = @_; return defined $c ? pam_strerror(undef, $c) . " ($c)" : 'undef' }

# A call that must fail closed: AUTHINFO_UNAVAIL in time, one log line
# naming the backend, the host and a reason.
sub fails_closed {
    my ($label, $backend, $host, $reason, %o) = @_;
    my ($rc, $dt, $log) = flow(%o);
    is($rc, PAM_AUTHINFO_UNAVAIL, "$label: AUTHINFO_UNAVAIL") or diag("got " . code_name($rc) . "\n$log");
    cmp_ok($dt, '<', $BOUND, "$label: returns in time (" . sprintf('%.2f', $dt) . ' s)');
    my @lines = grep { /\S/ } split /\n/, $log;
    note($log) if $ENV{TEST_VERBOSE};
    is(scalar @lines, 1, "$label: one log line") or diag($log);
    like($lines[0] // '', qr/\berror: .*\Q$backend\E:\S*\Q$host\E.*$reason/,
         "$label: it names $backend, $host and the reason");
    return $lines[0];
}

sub succeeds {
    my ($label, %o) = @_;
    my ($rc, $dt, $log) = flow(%o);
    is($rc, PAM_SUCCESS, $label) or diag("got " . code_name($rc) . "\n$log");
    return $rc;
}

# The server paused (suspend), then killed (-9) by a child while the login
# waits for it: a crash in the middle of the operation.
sub crash_during {
    my ($label, $pause, $kill, @flow) = @_;
    $pause->();
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        Time::HiRes::sleep(0.4);
        $kill->();
        POSIX::_exit(0);
    }
    my $line = fails_closed($label, @flow);
    waitpid $pid, 0;
    return $line;
}

my $sid;
is((flow(password => $pw1, sid_out => \$sid))[0], PAM_SUCCESS, 'login with the password');
like($sid // '', qr/^trex1\./, '... opens a session');
push @secrets, $sid;
succeeds('the session ID logs in', sid => $sid);

# ---- PostgreSQL: userdb and faillock -------------------------------------------------
{
    my $l = crash_during('pg killed during a login', sub { $pg->suspend }, sub { $pg->kill_server },
                         'postgresql', $pghost, qr/\S/, password => $pw1);
    $pg->resume;                       # the killed server's record of its pause
    unlike($l // '', qr/\bno store\b/, '... with the reason, not a stand-in');
    fails_closed('pg down', 'postgresql', $pghost, qr/cannot connect: .*refused/, password => $pw1);
    ok($pg->start, 'pg started again');
    succeeds('pg back: the next login succeeds', password => $pw1);

    $pg->suspend;
    fails_closed('pg paused (SIGSTOP), a kept connection', 'postgresql', $pghost,
                 qr/no answer from the server in 1 s/, password => $pw1);
    fails_closed('pg paused, a new connection', 'postgresql', $pghost,
                 qr/cannot connect: no answer from the server in 1 s \(connect_timeout\)/,
                 password => $pw1);
    $pg->resume;
    succeeds('pg resumed (SIGCONT): the next login succeeds', password => $pw1);

    ok($pg->stop, 'pg stopped');
    fails_closed('pg stopped', 'postgresql', $pghost, qr/cannot connect/, password => $pw1);
    ok($pg->start, 'pg started');
    succeeds('pg restarted: the next login succeeds', password => $pw1);

    my $line = fails_closed('pg refuses the password', 'postgresql', $pghost,
                            qr/password authentication failed/, password => $pw1,
                            service => 'web-pgbad');
    succeeds('... the right one still works', password => $pw1);

    # a change acknowledged, then the server killed: the change is on it
    my @seen;
    my $h = TRex::PAM->new('web', 'alice', scripted_conv(\@seen, $pw1, $pw2, $pw2));
    my ($log, $rc) = capture_stderr { $h->pam_chauthtok };
    $all_output .= $log;
    undef $h;
    is($rc, PAM_SUCCESS, 'password changed (acknowledged)') or diag($log, explain(\@seen));
    ok($pg->kill_server, 'pg killed (-9) right after');
    ok($pg->start, '... and started again');
    succeeds('the new password logs in', password => $pw2);
    my ($rc_old) = flow(password => $pw1);
    is($rc_old, PAM_AUTH_ERR, 'the old one is refused');
}

# ---- Redis: sessions ----------------------------------------------------------------
{
    # the change ended alice's other sessions (revoke_on_change): a new one
    my ($rc0) = flow(sid => $sid);
    is($rc0, PAM_AUTH_ERR, 'the password change ended the session (revoke_on_change)');
    is((flow(password => $pw2, sid_out => \$sid))[0], PAM_SUCCESS, 'a new login, a new session');
    push @secrets, $sid;
    crash_during('redis killed during a session login', sub { $rd->stop_signal('STOP') },
                 sub { kill 'KILL', $rd->pid }, 'redis', $rdhost, qr/\S/, sid => $sid);
    $rd->stop;                         # reaps it
    fails_closed('redis down: a session login', 'redis', $rdhost, qr/cannot connect/, sid => $sid);
    fails_closed('redis down: a password login cannot open a session', 'redis', $rdhost,
                 qr/cannot connect/, password => $pw2);
    $rd->start;
    succeeds('redis back: the session is still there and logs in', sid => $sid);

    $rd->stop_signal('STOP');
    fails_closed('redis paused (SIGSTOP)', 'redis', $rdhost,
                 qr/no answer within 1 s \(command_timeout\)/, sid => $sid);
    $rd->stop_signal('CONT');
    succeeds('redis resumed (SIGCONT): the next login succeeds', sid => $sid);

    $rd->stop;
    fails_closed('redis stopped', 'redis', $rdhost, qr/cannot connect/, sid => $sid);
    $rd->start;
    succeeds('redis restarted: the next login succeeds', sid => $sid);

    my $ahost = '127.0.0.1:' . $rdauth->port;
    fails_closed('redis refuses the password', 'redis', $ahost, qr/refused our credentials/,
                 sid => $sid, service => 'web-rdbad');
    fails_closed('redis refuses the ACL user', 'redis', $ahost, qr/refused our credentials/,
                 sid => $sid, service => 'web-rdacl');
    my $sid2;
    is((flow(password => $pw2, service => 'web-rdok', sid_out => \$sid2))[0], PAM_SUCCESS,
       '... the right ACL user opens sessions');
    push @secrets, $sid2 if defined $sid2;

    # a logout acknowledged, then the server killed: still a logout
    is((flow(sid => $sid, close => 1))[0], PAM_SUCCESS, 'logout (close_session) acknowledged');
    $rd->restart;                      # -9, then started on its append-only file
    my ($rc) = flow(sid => $sid);
    is($rc, PAM_AUTH_ERR, 'after the restart the ended session is refused')
        or diag('got ' . code_name($rc));
}

# ---- no secret anywhere ---------------------------------------------------------------
ok(length $all_output > 0, 'the log was captured');
for my $s (@secrets) {
    my $shown = substr($s, 0, 6) . '...';
    ok(index($all_output, $s) < 0, "no secret ($shown) in any log line");
}

done_testing;
