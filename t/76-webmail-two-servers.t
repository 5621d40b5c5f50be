#!perl
# Two web servers of the web mail example (examples/webmail/), one set of
# users and sessions: two lighttpd servers (examples/webmail/serve) with
# configuration directories of their own point at the same private
# PostgreSQL server (users and failure tallies) and the same private Redis
# server (sessions). Site A names PostgreSQL in trex-pam.conf beside its
# configuration directory (over the socket), site B with serve --store (a
# URI with a password, over TCP; B also runs --demo); both service files
# name Redis with store= on their session lines. Over HTTP (HTTP::Tiny,
# cookies kept per host as a browser keeps them, as behind one name): a
# login on A is recognised on B; wrong passwords on A and B lock the
# account at deny, counted across both; a logout on A ends the session on
# B; a password change on A ends the user's other session on B
# (revoke_on_change). Then, with TREX_PAM_FULL, the same in headless
# Chromium (t/e2e/two-servers.test.js). Last, nothing left running: the
# web servers, PostgreSQL and Redis are stopped (also when the test dies:
# their END blocks), and no password or session ID is in any log.
#
# Needs lighttpd, CGI.pm, PostgreSQL's server binaries and redis-server;
# without one the test is skipped, except under TREX_PAM_FULL, where it
# fails (as does a missing Chromium, node or playwright-core there).
# TREX_E2E_FAILLOCK_STORE=redis puts faillock's lines on Redis too (default
# postgresql); TREX_E2E_ADMIN and CHROMIUM as in t/75-webmail-e2e.t.
use strict;
use warnings;
use File::Path qw(make_path);
use Test::More;
use lib 't/lib';
use TRexTest ();
use TRexTest::PgServer;
use TRexTest::RedisServer;
use TRexTest::Webmail qw(spew random_hex run run_ok admin_command missing_web missing_browser
                         unavailable serve stop_servers running_pids browser_tap no_secrets_in_logs);
use TRexTest::WebmailClient;

# Where each module keeps its data: PostgreSQL (what the site names: A's
# trex-pam.conf, B's --store) or Redis (store= on the module's lines).
# userdb needs PostgreSQL: Redis keeps no users.
# (The session module stays on Redis: the checks count its keys there.)
my %on = (userdb => 'postgresql', session => 'redis',
          faillock => $ENV{TREX_E2E_FAILLOCK_STORE} || 'postgresql');
my $deny = 3;

# Stopped by a signal: exit, so that the END blocks stop every server.
$SIG{$_} = sub { exit 1 } for qw(INT TERM HUP);

unavailable(missing_web());
unavailable(TRexTest::RedisServer::available());
unavailable(missing_browser()) if $ENV{TREX_PAM_FULL};
BAIL_OUT("TREX_E2E_FAILLOCK_STORE: postgresql or redis") unless $on{faillock} =~ /\A(?:postgresql|redis)\z/;
my ($pg, $why) = TRexTest::PgServer->try_start;
unavailable($why) unless $pg;
my $redis = TRexTest::RedisServer->new;
require TRex::PAM;

my $top = TRexTest::Webmail::top();
my $tmp = TRexTest::Webmail::workdir('trex-two');
delete @ENV{qw(TREX_PAM_STORE TREX_PAM_DB TREX_PAM_CONFDIR)};
$ENV{TREX_PAM_LOG} = 'stderr';
my @admin = admin_command();

my $dbname = $pg->createdb;
my %store = (postgresql => $pg->uri($dbname), redis => $redis->location);
my $pg_socket = $pg->conninfo($dbname);                     # no password: the socket trusts
note("userdb on postgresql, session on $on{session}, faillock on $on{faillock}");

# ---- the users, made once on PostgreSQL with trex-pam --store
my %users = map { $_ => { password => 'Tyrannosaurus-' . random_hex(8) } } qw(alice bob carol erin);
$users{carol}{new_password} = 'Velociraptor-Pack-' . random_hex(8);
my $ok = run_ok('trex-pam --store URI init', undef, @admin, '--store', $store{postgresql}, 'init');
for my $u (sort keys %users) {
    $ok &&= run_ok("trex-pam --store URI useradd $u", "$users{$u}{password}\n",
                   @admin, '--store', $store{postgresql}, 'useradd', '--password-stdin', $u);
}
for my $d (qw(cur new tmp)) { make_path("$tmp/Maildir/alice/$d") }
spew("$tmp/Maildir/alice/new/1700000100.M1P1.test",
     "From: Bob <bob\@example.org>\nTo: alice\nSubject: One inbox, two servers\n\nHi!\n");

# ---- two sites: their own configuration directories, the same servers
my $service = TRexTest::slurp("$top/examples/pam.d/webmail");
$service =~ s/\bdeny=\d+/deny=$deny/g or BAIL_OUT('examples/pam.d/webmail has no deny=');
my $redis_lines = 0;
$service =~ s{^(\s*-?\w+\s+(?:\[[^\]]*\]|\S+)\s+(\w+)\b.*?)\s*$}
             { $on{$2} && $on{$2} eq 'redis' ? ($redis_lines++, "$1 store=$store{redis}")[1] : $1 }gme;
ok($redis_lines >= ($on{faillock} eq 'redis' ? 6 : 3), "$redis_lines lines of the stack name Redis");
for my $site (qw(a b)) {
    make_path("$tmp/site-$site/pam.d");
    spew("$tmp/site-$site/pam.d/webmail", $service);
    my ($rc, @problems) = TRex::PAM::check_config('webmail', "$tmp/site-$site/pam.d");
    ok($rc == 0 && !@problems, "site $site: the stack loads") or diag(@problems);
}
spew("$tmp/site-a/trex-pam.conf", "# the store of site A\nstore = $pg_socket\n", 0600);

my %server;
$server{a} = serve('a', '--confdir', "$tmp/site-a/pam.d", '--maildir', "$tmp/Maildir",
                   '--site-secret', "$tmp/site-secret");
$server{b} = serve('b', '--confdir', "$tmp/site-b/pam.d", '--store', $store{postgresql}, '--demo',
                   '--maildir', "$tmp/Maildir", '--site-secret', "$tmp/site-secret");
for my $s (@server{qw(a b)}) {
    next if ok($s->{ok}, "server $s->{name} starts");
    diag($s->{err});
    $ok = 0;
}
unless ($ok) {
    done_testing();
    exit 1;
}
my ($A, $B) = map { $server{$_}{url} } qw(a b);
like(TRexTest::slurp("$server{a}{state}/lighttpd.conf"), qr/the store: \Q$tmp\E\/site-a\/trex-pam\.conf names it/,
     'A gives its CGI no store: trex-pam.conf names it');
like(TRexTest::slurp("$server{b}{state}/lighttpd.conf"), qr/"TREX_PAM_STORE" => "postgresql:/,
     "B gives its CGI --store's location as TREX_PAM_STORE");
ok(((stat "$server{b}{state}/lighttpd.conf")[2] & 07777) == 0600, "B's lighttpd.conf, which holds a password, is 0600");
like($server{b}{err}, qr/added the user demo to postgresql:\/\/\.\.\.\@127\.0\.0\.1:\d+\/\Q$dbname\E,/,
     '--demo added the user demo to the PostgreSQL store');
unlike($server{a}{err} . $server{b}{err}, qr/\Q$TRexTest::PgServer::PASSWORD\E/,
       "serve's messages hold no password of a location");

my @sids;    # session IDs seen, for the log check
sub login {
    my ($c, @args) = @_;
    my $res = $c->login(@args);
    push @sids, $1 if ($c->session // '') =~ /\.(trex1\..*)\z/;
    return $res;
}

# A user's sessions on Redis (the digests in the set of the user's sessions).
sub sessions_of { $redis->command('SCARD', "trex-pam:u:$_[0]") }

# A user's failures, counted where faillock keeps them.
sub failures_of {
    my ($user) = @_;
    return $redis->command('ZCARD', "trex-pam:f:$user") if $on{faillock} eq 'redis';
    my ($rc, $out) = run("$tmp/faillock-$user", undef, @admin, '--store', $store{postgresql}, 'faillock',
                        '--confdir', "$tmp/site-b/pam.d", '--service', 'webmail', $user);
    return scalar(() = $out =~ /^\s*\d{4}-\d\d-\d\d /mg);
}

# ---- a login on A is recognised on B
{
    my $c = TRexTest::WebmailClient->new;
    is($c->who($B), undef, 'without a cookie B has nobody signed in');
    my $res = login($c, $A, 'alice', $users{alice}{password});
    ok($res->{status} == 303 && $c->where($res) eq '/mailbox' && defined $c->session,
       'alice logs in on A (a session cookie, on to the mailbox)') or diag("$res->{status} " . ($c->where($res) // ''));
    is($c->who($B), 'alice', 'B recognises the cookie A set: alice is signed in');
    like($c->last_response->{content}, qr/One inbox, two servers/, "B shows alice's inbox");
    is($c->who($A), 'alice', 'A too');
    is(sessions_of('alice'), 1, "alice's one session is kept on Redis");
    my ($rc, $out) = run("$tmp/pg-sessions", undef, @admin, '--store', $store{postgresql}, 'sessions', 'alice');
    ok($rc == 0 && $out eq "trex-pam: alice has no session\n", 'and not on PostgreSQL') or diag($out);

    # behind one name: a login form from A, posted to B (one site secret)
    my $lb = TRexTest::WebmailClient->new;
    my $form = $lb->get($A, '/login');
    $res = $lb->post($B, '/login', { user => 'alice', password => $users{alice}{password}, csrf => $lb->csrf($form) });
    push @sids, $1 if ($lb->session // '') =~ /\.(trex1\..*)\z/;
    ok($res->{status} == 303 && $lb->where($res) eq '/mailbox', "A's login form is taken by B (a shared site secret)")
        or diag($res->{status});
    is($lb->who($A), 'alice', 'and that session is recognised on A');
    is(sessions_of('alice'), 2, 'alice has two sessions now');

    # ---- a logout on A ends the session on B
    my $saved = $c->session;
    $res = $c->logout($A);
    is($c->where($res), '/login?msg=bye', 'alice logs out on A');
    ok(!defined $c->session, 'A clears the cookie');
    $c->set_session($saved);
    is($c->who($B), undef, 'B refuses the cookie of the ended session');
    is($c->where($c->last_response), '/login?msg=ended', 'B sends it to the login form: the session has ended');
    is($c->who($A), undef, 'A refuses it too');
    is($lb->who($B), 'alice', "alice's other session goes on");
    is(sessions_of('alice'), 1, 'one session left');
}

# ---- wrong passwords on A and B lock the account: one count for both
{
    my $c = TRexTest::WebmailClient->new;
    my @at = (($A, $B) x $deny)[0 .. $deny - 1];
    my %per;
    for my $i (1 .. $deny) {
        my $res = $c->login($at[$i - 1], 'bob', "wrong-password-$i");
        $per{ $at[$i - 1] }++;
        ok($res->{status} == 200 && $res->{content} =~ /<p class="error"[^>]*>Login failed\.</,
           "bob's failure $i of $deny, on " . ($at[$i - 1] eq $A ? 'A' : 'B'));
    }
    ok((grep { $_ < $deny } values %per) == 2, 'neither server saw deny failures on its own');
    is(failures_of('bob'), $deny, "$deny failures kept on $on{faillock}");
    if ($on{faillock} eq 'postgresql') {
        is($redis->command('EXISTS', 'trex-pam:f:bob'), 0, 'none on Redis');
    }
    else {
        my ($rc, $out) = run("$tmp/pg-faillock", undef, @admin, '--store', $store{postgresql}, 'faillock',
                                '--confdir', "$tmp/site-b/pam.d", '--service', 'webmail', 'bob');
        ok($rc == 0 && $out =~ /^bob: not locked: no failures$/m, 'none on PostgreSQL') or diag($out);
    }
    for my $s ([B => $B], [A => $A]) {
        my $res = $c->login($s->[1], 'bob', $users{bob}{password});
        like($res->{content}, qr/The account is locked due to $deny failed logins\./,
             "the right password on $s->[0] is refused: locked");
        ok(!defined $c->session, "no session for bob on $s->[0]");
    }
}

# ---- a password change on A ends the other sessions on B
{
    my ($old, $cur) = map { TRexTest::WebmailClient->new } 1 .. 2;
    login($old, $B, 'carol', $users{carol}{password});
    login($cur, $A, 'carol', $users{carol}{password});
    ok(($old->who($A) // '') eq 'carol' && ($cur->who($B) // '') eq 'carol', 'carol is signed in twice, each recognised on both');
    my $res = $cur->change_password($A, $users{carol}{password}, $users{carol}{new_password});
    is($cur->where($res), '/mailbox?msg=pwchanged', 'carol changes her password on A');
    is($old->who($B), undef, 'her other session is refused on B');
    is($old->where($old->last_response), '/login?msg=ended', 'as ended');
    is($old->who($A), undef, 'and on A');
    is($cur->who($B), 'carol', 'the session that made the change goes on, on B too');
    my $c = TRexTest::WebmailClient->new;
    $res = $c->login($B, 'carol', $users{carol}{password});
    like($res->{content}, qr/<p class="error"[^>]*>Login failed\.</, 'the old password fails on B');
    $res = login($c, $B, 'carol', $users{carol}{new_password});
    is($c->where($res), '/mailbox', 'the new one works on B');
}

# ---- the demo user B's --demo made
{
    my $c = TRexTest::WebmailClient->new;
    login($c, $A, 'demo', 'trex-demo-password');
    is($c->who($A), 'demo', "the demo user (made by B's --demo) logs in on A");
    like($c->last_response->{content}, qr/Welcome to the TRex web mail example/, "with the demo's mail");
}

# ---- the same in headless Chromium
SKIP: {
    skip 'the browser part runs with TREX_PAM_FULL=1', 1 unless $ENV{TREX_PAM_FULL};
    my $took = browser_tap('t/e2e/two-servers.test.js', {
        url_a => $A, url_b => $B, users => { erin => $users{erin} },
        secrets_out => "$tmp/secrets.json", artifacts => "$top/t/artifacts",
        chromium => $ENV{CHROMIUM} || '/usr/bin/chromium',
    });
    note(sprintf 'browser: %.1f s', $took);
}

# ---- nothing left running, nothing secret in the logs
my @web = running_pids();
stop_servers();
ok(@web == 2 && !running_pids(), 'both lighttpd servers ran to the end and are stopped');
no_secrets_in_logs([values %server], $ENV{TREX_PAM_FULL} ? "$tmp/secrets.json" : undef,
                   @sids, $TRexTest::PgServer::PASSWORD, map { values %$_ } values %users);
my @pg = $pg->pids;
my $rpid = $redis->pid;
$pg->stop;
$redis->stop;
ok(@pg && !(grep { TRexTest::Webmail::alive($_) } @pg), 'PostgreSQL is stopped (' . @pg . ' processes)');
ok($rpid && !kill(0, $rpid), 'Redis is stopped');
done_testing();
