#!/usr/bin/perl
# trex-pam check-config on the stores the lines use: each userdb, session
# and faillock line's store is opened read-only and asked once, and a store
# that cannot be reached, whose schema is missing or too old (or newer than
# this code), or that keeps no users for userdb, is reported as
# "file:line: module: store (SETTING): reason" with exit 1; a good one is
# "SERVICE: ok" with exit 0. On SQLite (always), on a private PostgreSQL
# server and on private Redis servers (skipped without them, failed under
# TREX_PAM_FULL). Lines that name no store are reported with the setting
# that named it: $TREX_PAM_STORE, $TREX_PAM_DB, trex-pam.conf. No password
# is ever printed.
use strict;
use warnings;
use Test::More;
use Time::HiRes ();
use lib 't/lib';
use TRexTest qw(tempdir);
use TRexTest::PgServer;
use TRexTest::RedisServer;
use TRex::PAM::DB;

my $top = tempdir();
my @secrets;
my $all = '';

# check-config on a directory holding one service file "web" of these
# lines: (exit code, output, seconds).
sub check {
    my ($lines, %env) = @_;
    my $dir = "$top/pamd";
    mkdir $dir;
    open my $fh, '>', "$dir/web" or die "$dir/web: $!";
    print {$fh} $lines;
    close $fh;
    local %ENV = %ENV;
    delete @ENV{qw(TREX_PAM_STORE TREX_PAM_DB)};
    @ENV{ keys %env } = values %env;
    my $t0 = Time::HiRes::time();
    my $out = `'$^X' -Mblib bin/trex-pam check-config -d '$dir' 2>&1`;
    my $rc = $? >> 8;
    $all .= $out;
    note($out) if $ENV{TEST_VERBOSE};
    return ($rc, $out, Time::HiRes::time() - $t0);
}

sub reports {
    my ($label, $lines, $re, %env) = @_;
    my ($rc, $out) = check($lines, %env);
    is($rc, 1, "$label: exit 1");
    like($out, $re, "$label: file:line and the reason") or diag($out);
    return $out;
}

sub fine {
    my ($label, $lines, %env) = @_;
    my ($rc, $out) = check($lines, %env);
    is($rc, 0, "$label: exit 0") or diag($out);
    like($out, qr/^web: ok$/m, "$label: web: ok");
}

# ---- SQLite -------------------------------------------------------------------------
my $db = "$top/users.db";
TRex::PAM::DB->open(path => $db, create => 1)->close;
my $stack = "auth required userdb db=$db\nauth required faillock authfail db=$db\n"
          . "session required session db=$db\n";
fine('sqlite', $stack);
reports('sqlite: a missing file', "account required permit\nauth required userdb db=$top/none.db\n",
        qr{^web:2: userdb: store \(db=\): \Q$top\E/none\.db: no such file}m);
my ($sqlite3) = grep { -x } map { "$_/sqlite3" } split /:/, $ENV{PATH};
SKIP: {
    skip 'no sqlite3 command to edit the schema version with', 6 unless $sqlite3;
    my $old = "$top/old.db";
    TRex::PAM::DB->open(path => $old, create => 1)->close;
    system($sqlite3, $old, "UPDATE trex_pam_meta SET value = '0' WHERE key = 'schema_version'") == 0
        or die 'sqlite3 failed';
    my $out = reports('sqlite: a schema too old', "auth required userdb db=$old\n",
                      qr{^web:1: userdb: store \(db=\): \Q$old\E: schema version 0 needs an upgrade}m);
    system($sqlite3, $old, "UPDATE trex_pam_meta SET value = '99' WHERE key = 'schema_version'") == 0
        or die 'sqlite3 failed';
    reports('sqlite: a schema of a newer TRex::PAM', "auth required userdb db=$old\n",
            qr{^web:1: userdb: .*schema version 99 was made by a newer TRex::PAM}m);
    my $v = `'$sqlite3' '$old' "SELECT value FROM trex_pam_meta WHERE key = 'schema_version'"`;
    chomp $v;
    is($v, '99', 'the check changed nothing');
}

# the setting that named the store, for lines that name none
reports('$TREX_PAM_DB', "auth required userdb\n",
        qr{^web:1: userdb: store \(\$TREX_PAM_DB\): \Q$top\E/gone\.db: no such file}m,
        TREX_PAM_DB => "$top/gone.db");
reports('$TREX_PAM_STORE', "session required session\n",
        qr{^web:1: session: store \(\$TREX_PAM_STORE\): \Q$top\E/gone2\.db: no such file}m,
        TREX_PAM_STORE => "sqlite:$top/gone2.db");
{
    open my $fh, '>', "$top/trex-pam.conf" or die $!;
    print {$fh} "store = $top/gone3.db\n";
    close $fh;
    chmod 0600, "$top/trex-pam.conf";
    reports('trex-pam.conf', "account required faillock\n",
            qr{^web:1: faillock: store \(\Q$top\E/trex-pam\.conf\): \Q$top\E/gone3\.db: no such file}m);
    fine('trex-pam.conf, the environment first', "account required faillock\n", TREX_PAM_DB => $db);
    unlink "$top/trex-pam.conf";
}
SKIP: {
    skip 'the default store exists here', 2 if -e '/var/lib/trex-pam/trex-pam.db';
    reports('the default', "auth required userdb\n", qr{^web:1: userdb: store \(the default location\): /}m);
}
reports('store= and db= both', "auth required userdb store=$db db=$db\n",
        qr{^web:1: userdb: both store= and db= name the store}m);

# the functions themselves, in this process (valgrind's view, t/97): check_setup
# reports the store, check_config (the configuration alone) does not
{
    use TRex::PAM qw(:constants);
    my $dir = "$top/pamd-api";
    mkdir $dir;
    open my $fh, '>', "$dir/api" or die $!;
    print {$fh} "auth required userdb db=$top/none.db\nauth required userdb db=$db\n"
              . "session required session db=$top/none.db\n";
    close $fh;
    my ($rc, @lines) = TRex::PAM::check_setup('api', $dir);
    is($rc, PAM_AUTHINFO_UNAVAIL, 'check_setup: AUTHINFO_UNAVAIL');
    is(scalar @lines, 2, '... one line per line that cannot work') or diag(join "\n", @lines);
    like($lines[0] // '', qr{^api:1: userdb: store \(db=\): .*no such file}, '... the first');
    like($lines[1] // '', qr{^api:3: session: }, '... the third, the same store asked once');
    ($rc, @lines) = TRex::PAM::check_config('api', $dir);
    is($rc, PAM_SUCCESS, 'check_config: the configuration alone is fine');
    is(scalar @lines, 0, '... and says nothing of the stores');
}

# ---- PostgreSQL ---------------------------------------------------------------------
my ($pg, $why) = TRexTest::PgServer->try_start;
SKIP: {
    if (!$pg) {
        fail("TREX_PAM_FULL is set but $why") if $ENV{TREX_PAM_FULL};
        skip $why, 1;
    }
    push @secrets, $TRexTest::PgServer::PASSWORD;
    my $port = $pg->port;
    my $good = $pg->uri($pg->createdb, query => { connect_timeout => 2, command_timeout => 2 });
    TRex::PAM::DB->open(store => $good, create => 1)->close;
    fine('postgresql', "auth required userdb store=$good\naccount required faillock store=$good\n"
                     . "session required session store=$good\n");

    my $bare = $pg->uri($pg->createdb);
    reports('postgresql: a database without the schema', "auth required permit\naccount required userdb store=$bare\n",
            qr{^web:2: userdb: store \(store=\): postgresql://trex\@127\.0\.0\.1:$port/\S+: no TRex::PAM schema here}m);

    (my $badpw = $good) =~ s/:\Q$TRexTest::PgServer::PASSWORD\E\@/:WrOnG-pg-SeCrEt\@/ or die;
    push @secrets, 'WrOnG-pg-SeCrEt';
    reports('postgresql: a wrong password', "auth required userdb store=$badpw\n",
            qr{^web:1: userdb: store \(store=\): postgresql://trex\@127\.0\.0\.1:$port/.*password authentication failed}m);

    my $old = $pg->createdb;
    my $olduri = $pg->uri($old);
    TRex::PAM::DB->open(store => $olduri, create => 1)->close;
    my $psql = TRexTest::PgServer::bindir() . '/psql';
    system($psql, '-q', '-h', $pg->socket_dir, '-p', $port, '-U', $TRexTest::PgServer::USER, '-d', $old,
           '-c', "UPDATE trex_pam.meta SET value = '0' WHERE key = 'schema_version'") == 0
        or die 'psql failed';
    reports('postgresql: a schema too old', "auth required userdb store=$olduri\n",
            qr{^web:1: userdb: .*schema version 0 needs an upgrade}m);

    ok($pg->stop, 'postgresql stopped');
    my ($rc, $out, $dt) = check("auth required userdb store=$good\n");
    is($rc, 1, 'postgresql down: exit 1');
    like($out, qr{^web:1: userdb: store \(store=\): postgresql://trex\@127\.0\.0\.1:$port/.*cannot connect}m,
         'postgresql down: file:line and the reason') or diag($out);
    cmp_ok($dt, '<', 30, 'postgresql down: in time');
    ok($pg->start, 'postgresql started');
}

# ---- Redis --------------------------------------------------------------------------
SKIP: {
    my $no = TRexTest::RedisServer::available();
    if ($no) {
        fail("TREX_PAM_FULL is set but $no") if $ENV{TREX_PAM_FULL};
        skip $no, 1;
    }
    my $rd = TRexTest::RedisServer->new;
    my $q = '?connect_timeout=1&command_timeout=1';
    my $loc = $rd->location . $q;
    my $port = $rd->port;
    fine('redis', "session required session store=$loc\nauth required faillock store=$loc\n");
    reports('redis: keeps no users for userdb', "auth required userdb store=$loc\n",
            qr{^web:1: userdb: store \(store=\): redis://127\.0\.0\.1:$port/0: this kind of store keeps no users}m);

    $rd->stop_signal('STOP');
    my ($rc, $out, $dt) = check("session required session store=$loc\n");
    $rd->stop_signal('CONT');
    is($rc, 1, 'redis paused (SIGSTOP): exit 1');
    like($out, qr{^web:1: session: store \(store=\): redis://127\.0\.0\.1:$port/0: .*no answer within 1 s}m,
         'redis paused: file:line and the reason') or diag($out);
    cmp_ok($dt, '<', 10, 'redis paused: in time (' . sprintf('%.1f', $dt) . ' s)');
    $rd->stop;
    reports('redis down', "session required session store=$loc\n",
            qr{^web:1: session: store \(store=\): redis://127\.0\.0\.1:$port/0: cannot connect}m);
    reports('redis down, named by $TREX_PAM_STORE', "session required session\n",
            qr{^web:1: session: store \(\$TREX_PAM_STORE\): redis://127\.0\.0\.1:$port/0: cannot connect}m,
            TREX_PAM_STORE => $loc);

    my $pw = 'Rd-ChEcK-SeCrEt';
    push @secrets, $pw, 'WrOnG-rd-SeCrEt';
    my $auth = TRexTest::RedisServer->new(password => $pw);
    my $ap = $auth->port;
    fine('redis with its password', "session required session store=redis://:$pw\@127.0.0.1:$ap/0$q\n");
    reports('redis: a wrong password', "session required session store=redis://:WrOnG-rd-SeCrEt\@127.0.0.1:$ap/0$q\n",
            qr{^web:1: session: store \(store=\): redis://127\.0\.0\.1:$ap/0: the server refused our credentials}m);
    reports('redis: no password where one is needed', "session required session store=redis://127.0.0.1:$ap/0$q\n",
            qr{^web:1: session: .*redis://127\.0\.0\.1:$ap/0: .*needs a password}m);
    $auth->stop;
}

ok(length $all, 'output captured');
ok(index($all, $_) < 0, 'no password (' . substr($_, 0, 5) . '...) in any output') for @secrets;
done_testing;
