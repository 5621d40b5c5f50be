#!/usr/bin/perl
# trex-pam copy (TRex::PAM::DB's copy_to): users, sessions and failure
# tallies made through TRex::PAM in an embedded store, copied into a
# PostgreSQL database (users, sessions, tallies), into Redis (sessions and
# tallies) and back from PostgreSQL into a new SQLite file. A copied
# session logs in through the session module of a service whose session
# line names the target; a second run writes nothing; a user that differs
# at the target is a conflict by name and nothing is written without
# --replace; --dry-run writes nothing; a location that cannot be used is
# one line without its password. Then TRex::PAM::DB's POD example of
# opening each backend runs against these servers.
# Without PostgreSQL or Redis their parts are skipped, except under
# TREX_PAM_FULL, where they fail.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(confdir tempdir slurp);
use TRexTest::Admin qw(trex_pam all_output web_stack login auth);
use TRexTest::PgServer;
use TRexTest::RedisServer;
use TRex::PAM qw(:DEFAULT :constants);
use TRex::PAM::DB;

my $dir = tempdir();
confdir();
$ENV{TZ} = 'UTC';
$ENV{TREX_PAM_STORE} = "$dir/not-this-one.db";
my $REDIS_PW = 'R3dis-Copy-pw';
my @fast = (method => 'sha512crypt', cost => 1000);

# ---- the source: users, sessions and failures made through TRex::PAM ------------------
my $src = "$dir/src.db";
{
    my $db = TRex::PAM::DB->open(store => $src, create => 1);
    $db->user_add('alice', password => 'Alice-Pw-1', @fast, max_days => 90, warn_days => 7,
                  attrs => { display_name => 'Alice Liddell', mail_home => '/srv/mail/alice' });
    $db->user_add('bob', password => 'Bob-Pw-1', @fast, disabled => 1, expires => 1893456000);
    $db->user_add('carol', @fast);                     # no password
}
web_stack('src', users => $src, sessions => $src, tallies => $src);
my $t0 = time;
my $sa = login('src', 'alice', 'Alice-Pw-1', '192.0.2.7');
my $sa2 = login('src', 'alice', 'Alice-Pw-1');
ok($sa && $sa2, 'two sessions of alice in the source') or BAIL_OUT('no session');
auth('src', 'bob', 'wrong') for 1 .. 2;
my %src_user = map { $_->{name} => $_ } TRex::PAM::DB->open(store => $src)->users(with_hash => 1);
my @src_tallies = TRex::PAM::DB->open(store => $src)->tallies;
is(scalar @src_tallies, 1, "bob's failures in the source");

# The counts line of $kind in copy's output: "3 added, ..." as a hash.
sub counts {
    my ($out, $kind) = @_;
    my ($line) = $out =~ /^\Q$kind\E:\s+(.*)$/m or return {};
    return { map { /^(\d+) (\w+)/ ? do { my ($n, $w) = ($1, $2); ($w =~ s/s\z//r => $n) } : () }
             split /, /, $line };
}

# Every field of every user (hashes included) of a store.
sub users_of {
    my ($loc) = @_;
    return { map { $_->{name} => $_ } TRex::PAM::DB->open(store => $loc)->users(with_hash => 1) };
}

# The TTL of each key matching $pattern on Redis server $r (RESP by hand).
sub redis_ttls {
    my ($r, $pattern) = @_;
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $r->port) or return;
    my $cmd = sub {
        print {$s} '*' . @_ . "\r\n", map { '$' . length($_) . "\r\n$_\r\n" } @_;
        my $line = <$s>;
        if ($line =~ /^\*(\d+)/) {
            return map { scalar <$s>; my $v = <$s>; $v =~ s/\r\n\z//; $v } 1 .. $1;
        }
        return $line =~ /^:(-?\d+)/ ? $1 : ();
    };
    $cmd->('AUTH', $REDIS_PW);
    return map { $cmd->('TTL', $_) } $cmd->('KEYS', $pattern);
}

# ---- bad locations, refusals up front ------------------------------------------------------
my ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src);
is($rc, 2, 'copy without --to: usage (2)');
($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', "$dir/none.db");
is($rc, 1, 'a target that does not exist: 1');
like($err, qr/\Atrex-pam: copy: --to: \S+none\.db: no such file \(`trex-pam init` creates the store\)\n\z/,
     '... one line, saying how to make it');
($rc, $out, $err) = trex_pam('', 'copy', '--from', 'postgresql://trex:Very-Secret-1@127.0.0.1:1/x',
                             '--to', "$dir/none.db");
is($rc, 1, 'a server that cannot be reached: 1');
like($err, qr/\Atrex-pam: copy: --from: postgresql:\/\/trex\@127\.0\.0\.1:1\/x: [^\n]+\n\z/,
     '... one line naming it without its password');
($rc, $out, $err) = trex_pam('', 'copy', '--from', 'redis://:Very-Secret-2@127.0.0.1:1/0',
                             '--to', $src, '--no-users', '--sessions');
like($err, qr/\Atrex-pam: copy: --from: redis:\/\/127\.0\.0\.1:1\/0: cannot connect[^\n]+\n\z/,
     'a Redis server that cannot be reached: one line without the password');
($rc, $out, $err) = trex_pam('', 'copy', '--from', 'nosuch://u:Very-Secret-3@x/y', '--to', $src);
like($err, qr/\Atrex-pam: copy: --from: nosuch: no store backend[^\n]+\n\z/, 'an unknown scheme: one line');

# ---- the POD's examples of keeps, sessions_where, tallies and copy_to, as written ----------
{
    my $pod = slurp('lib/TRex/PAM/DB.pod');
    my $to_file = "$dir/pod-copy.db";
    TRex::PAM::DB->open(store => $to_file, create => 1);
    for my $m (qw(sessions_where keeps tallies copy_to)) {
        my ($ex) = $pod =~ /^=head2 \Q$m\E\n\n((?:  [^\n]*\n)+)/m;
        ok($ex, "the POD of $m has an example") or next;
        my $printed = '';
        open my $fh, '>', \$printed or die;
        my $old = select $fh;
        local $SIG{__WARN__} = sub { $printed .= "warn: @_" };
        my $ok = eval "no strict; my \$db = TRex::PAM::DB->open(store => \$src);
            my (\$users, \$sessions, \$from, \$to) = (\$src, \$src, \$db,
            TRex::PAM::DB->open(store => \$to_file)); $ex; 1";
        select $old;
        ok($ok, "... which runs") or diag($@);
        like($printed, { sessions_where => qr/^sessions at \Q$src\E$/m, keeps => qr/^users here$/m,
                         tallies => qr/^bob: 2 failures$/m, copy_to => qr/^3 users added$/m }->{$m},
             "... and prints what it says");
    }
}

# ---- SQLite -> PostgreSQL: users, sessions, tallies -----------------------------------------
my ($pg, $pg_why) = TRexTest::PgServer->try_start;
SKIP: {
    if (!$pg) {
        fail("TREX_PAM_FULL is set but $pg_why") if $ENV{TREX_PAM_FULL};
        skip $pg_why, 1;
    }
    my $to = $pg->uri($pg->createdb);
    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--sessions', '--tallies');
    is($rc, 1, 'into a database without the schema: 1');
    like($err, qr/\Atrex-pam: copy: --to: postgresql:\/\/trex\@[^:]+:\d+\/\w+: no TRex::PAM schema here \(trex-pam init --store \.\.\.\)\n\z/,
         '... one line saying to run init');
    trex_pam('', 'init', '--store', $to);

    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--sessions', '--tallies',
                                 '--dry-run');
    is($rc, 0, 'copy --dry-run: 0') or diag($err);
    is(counts($out, 'users')->{added}, 3, '... would add 3 users');
    like($out, qr/dry run: nothing written/, '... says it wrote nothing');
    is(scalar(my @none = TRex::PAM::DB->open(store => $to)->users), 0, '... and wrote nothing');

    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--sessions', '--tallies');
    is($rc, 0, 'copy sqlite -> postgresql, with sessions and tallies: 0') or diag($out, $err);
    is_deeply([@{ counts($out, 'users') }{qw(added unchanged conflict)}], [3, 0, 0], '... 3 users added');
    is(counts($out, 'sessions')->{added}, 2, '... 2 sessions added');
    is(counts($out, 'failure tallies')->{added}, 1, '... 1 tally added');
    like($out, qr/^trex-pam: copied$/m, '... copied');
    is_deeply(users_of($to), \%src_user, '... every field of every user, hashes and attributes too');
    is_deeply([TRex::PAM::DB->open(store => $to)->tallies], \@src_tallies, "... bob's failures, at their times");
    is_deeply([map { [@$_{qw(user handle created last_used rhost)}] } TRex::PAM::DB->open(store => $to)->sessions],
              [map { [@$_{qw(user handle created last_used rhost)}] } TRex::PAM::DB->open(store => $src)->sessions],
              '... the sessions, handles, times and remote hosts');

    web_stack('pg', users => $to, sessions => $to, tallies => $to);
    is(auth('pg', 'alice', $sa), PAM_SUCCESS, "alice's session ID logs in on the target's stack");
    is(auth('pg', 'alice', 'Alice-Pw-1'), PAM_SUCCESS, '... and so does her password');
    ($rc, $out) = trex_pam('', 'faillock', '--store', $to, 'bob', '--deny', 3);
    like($out, qr/^bob: not locked: 2 failures within 900 s/m, "trex-pam faillock on the target: bob's two");

    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--sessions', '--tallies');
    is($rc, 0, 'the same copy again: 0') or diag($err);
    like($out, qr/nothing to write: the target holds the same records/, '... nothing to write');
    is(counts($out, 'users')->{unchanged}, 3, '... 3 users unchanged');
    is(counts($out, 'sessions')->{unchanged} + counts($out, 'sessions')->{updated}, 2,
       '... 2 sessions unchanged (or moved forward)');
    is(counts($out, 'failure tallies')->{unchanged}, 1, '... 1 tally unchanged');

    # a conflict: bob differs at the target
    my $t = TRex::PAM::DB->open(store => $to);
    $t->user_set('bob', disabled => 0);
    $t->attr_set('bob', note => 'changed at the target');
    $t->set_password('alice', 'Alice-Pw-9', @fast);
    my $before = users_of($to);
    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--sessions', '--tallies');
    is($rc, 1, 'a user that differs at the target: 1');
    like($err, qr/^trex-pam: copy: user bob: differs at the target: disabled, attributes$/m,
         '... a conflict by name, with the fields');
    like($err, qr/^trex-pam: copy: user alice: differs at the target: password hash(?:, password changed)?$/m,
         '... another, never a hash');
    like($err, qr/^trex-pam: copy: tally bob: not copied: the user differs at the target$/m,
         "... bob's failures are left out");
    like($out, qr/nothing written: 2 conflicts \(--replace/, '... nothing written');
    is_deeply(users_of($to), $before, '... and nothing was');
    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--replace');
    is($rc, 0, 'copy --replace: 0') or diag($err);
    is(counts($out, 'users')->{replaced}, 2, '... 2 users replaced');
    is_deeply(users_of($to), \%src_user, '... the target holds the source again');

    # PostgreSQL -> a new SQLite file
    my $back = "$dir/back.db";
    trex_pam('', 'init', '--store', $back);
    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $to, '--to', "sqlite:$back", '--sessions',
                                 '--tallies');
    is($rc, 0, 'copy postgresql -> sqlite: 0') or diag($err);
    is(counts($out, 'users')->{added}, 3, '... 3 users added');
    is_deeply(users_of($back), \%src_user, '... every field of every user');
    web_stack('back', users => $back, sessions => $back, tallies => $back);
    is(auth('back', 'alice', $sa2), PAM_SUCCESS, "alice's other session ID logs in there");
}

# ---- SQLite -> Redis: sessions and tallies -------------------------------------------------------
my $redis_why = TRexTest::RedisServer::available();
SKIP: {
    if ($redis_why) {
        fail("TREX_PAM_FULL is set but $redis_why") if $ENV{TREX_PAM_FULL};
        skip $redis_why, 1;
    }
    my $r = TRexTest::RedisServer->new(password => $REDIS_PW);
    my $to = "redis://:$REDIS_PW\@127.0.0.1:" . $r->port . '/0';
    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--sessions', '--tallies');
    is($rc, 1, 'users into Redis: 1');
    like($err, qr/\Atrex-pam: copy: redis:\/\/127\.0\.0\.1:\d+\/0 keeps no users: it cannot take them \(--no-users copies only --sessions and --tallies\)\n\z/,
         '... refused up front, in one line');
    sleep 1 while time - $t0 < 2;
    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--no-users', '--sessions',
                                 '--dry-run', '--idle', '0', '--lifetime', '1');
    is(counts($out, 'sessions')->{expired}, 2, 'sessions older than --lifetime are left out');
    ($rc, $out, $err) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--no-users', '--sessions',
                                 '--tallies', '--idle', '3600');
    is($rc, 0, 'copy --no-users --sessions --tallies into Redis: 0') or diag($err);
    is(counts($out, 'sessions')->{added}, 2, '... 2 sessions');
    is(counts($out, 'failure tallies')->{added}, 1, '... 1 tally');
    ($rc, $out) = trex_pam('', 'sessions', '--store', $to, 'alice');
    is(scalar(() = $out =~ /^alice\s+[0-9a-f]{8}\s/mg), 2, 'trex-pam sessions on Redis: both');
    ($rc, $out) = trex_pam('', 'faillock', '--store', $to, '--deny', 3);
    like($out, qr/^bob: not locked: 2 failures/m, 'trex-pam faillock on Redis: bob\'s');
    web_stack('redis', users => $src, sessions => $to, tallies => $src);
    is(auth('redis', 'alice', $sa), PAM_SUCCESS, "alice's session ID logs in through Redis");
    ($rc, $out) = trex_pam('', 'copy', '--from', $src, '--to', $to, '--no-users', '--sessions',
                           '--tallies', '--idle', '3600');
    like($out, qr/nothing to write/, 'again: nothing to write');
    my @ttl = redis_ttls($r, 'trex-pam:s:*');
    is(scalar(grep { $_ > 0 && $_ <= 3600 } @ttl), 2,
       '... each session a key that Redis forgets within --idle') or diag("@ttl");

    # ---- the POD's example of opening each backend, with these servers -----------------
    my ($example) = slurp('lib/TRex/PAM/DB.pod') =~ /^=head2 Opening each backend\n.*?\n\n((?:  [^\n]*\n)+)/ms;
    ok($example && $example =~ /redis:\/\// && $example =~ /postgresql:host=/, 'the POD has the example');
    SKIP: {
        skip 'no PostgreSQL for the example', 3 unless $pg;
        my $pgdb = $pg->createdb;
        my ($host, $port) = ('127.0.0.1', $pg->port);
        my $ex = $example;
        $ex =~ s{postgresql://trex:secret\@db1\.example:5432/trex}{postgresql://trex:trexpw\@$host:$port/$pgdb}g;
        $ex =~ s{postgresql:host=/run/postgresql dbname=trex}{postgresql:host=@{[ $pg->socket_dir ]} port=$port user=trex dbname=$pgdb}g;
        $ex =~ s{redis://:secret\@cache1\.example:6379/2}{redis://:$REDIS_PW\@127.0.0.1:@{[ $r->port ]}/2}g;
        my $printed = '';
        {
            open my $fh, '>', \$printed or die;
            my $old = select $fh;
            my $ok = eval "no strict; my \$dir = '$dir'; $ex; 1";
            select $old;
            ok($ok, 'the example runs') or diag($@, $ex);
        }
        is($printed, "postgresql://trex\@$host:$port/$pgdb\nno users there\n",
           '... and prints the location without its password, and that Redis keeps no users');
        unlike($ex, qr/secret\@/, '... every location of it was one of ours');
    }
}

unlike(all_output(), qr/Very-Secret|\Q$REDIS_PW\E|\Q$TRexTest::PgServer::PASSWORD\E/,
       'no output holds a password of a location');
done_testing;
