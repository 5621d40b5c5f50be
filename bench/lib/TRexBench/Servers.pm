package TRexBench::Servers;
# bench/lib/TRexBench/Servers.pm - the private servers of bench/backends: a
# PostgreSQL server (t/lib/TRexTest/PgServer.pm, as the tests start it), a
# pgbouncer in front of it, a Redis server (t/lib/TRexTest/RedisServer.pm),
# each on a free port of 127.0.0.1 and a unix socket in its own directory,
# stopped when the bench ends; and what the bench does in SQL on
# PostgreSQL (users and sessions in bulk) and on Redis (sessions in bulk,
# the server's memory and keys). Not installed.
use strict;
use warnings;
use Digest::SHA ();
use File::Temp ();
use IO::Socket::INET ();
use List::Util ();
use POSIX ();
use Time::HiRes ();
use TRexBench qw(spew);
use TRexTest::PgServer;
use TRexTest::RedisServer;

my @bouncers;                       # pids of the pgbouncers started here
my $owner = $$;

# ---- PostgreSQL ---------------------------------------------------------------------
# (server, undef) or (undef, why not).
sub pg_start {
    my ($pg, $why) = TRexTest::PgServer->try_start;
    return ($pg, $why);
}

# The server's superuser (trusted on the socket; SCRAM with its password
# over TCP, from pgpass).
sub pg_user { return $TRexTest::PgServer::USER }

# The server's version ("15.18"), from its pg_ctl.
sub pg_version {
    my ($pg) = @_;
    my $v = `$pg->{bin}/pg_ctl --version 2>/dev/null` // '';
    return $v =~ /\(PostgreSQL\) (\S+)/ ? $1 : '?';
}

# A libpq password file in $dir for the server's TCP connections (direct and
# through pgbouncer): its path. The password is then in no location and on
# no command line.
sub pgpass {
    my ($dir) = @_;
    spew("$dir/pgpass", "127.0.0.1:*:*:$TRexTest::PgServer::USER:$TRexTest::PgServer::PASSWORD\n");
    chmod 0600, "$dir/pgpass";
    return "$dir/pgpass";
}

# Runs SQL with psql on database $db over the socket (trusted), stopping at
# the first error; its output, or dies with it.
sub pg_sql {
    my ($pg, $db, $sql) = @_;
    my $f = File::Temp->new(SUFFIX => '.sql');
    print {$f} $sql;
    close $f;
    my $out = `$pg->{bin}/psql -X -q -A -t -v ON_ERROR_STOP=1 -h $pg->{dir} -p $pg->{port} -U $TRexTest::PgServer::USER -d $db -f $f 2>&1`;
    die "psql on $db failed: $out" if $?;
    return $out;
}

# Users fill00000 .. fill(N-1), with no password, in one statement.
sub pg_fill_users {
    my ($pg, $db, $n, $now) = @_;
    pg_sql($pg, $db, "INSERT INTO trex_pam.users (name, hash, created)"
                   . " SELECT 'fill' || lpad(i::text, 5, '0'), '', $now FROM generate_series(0, $n - 1) AS i;\n");
}

# $n sessions over the users fill00000 .. fill($users-1), in one INSERT ...
# SELECT from generate_series, as the session module leaves them: a 32-byte
# digest (SHA-256 of the row's number here, the BLAKE2b-256 of a random
# session ID there: both uniform, so the primary key's B-tree has the same
# shape), created 15 min to 6 h ago, used in the last 15 min (alive under
# the web mail stack's idle=1800 lifetime=43200), no rhost. Fast: in one
# transaction with the foreign key's trigger off (session_replication_role,
# the server's superuser) and the secondary indexes dropped first and made
# again from their own definitions after (the same schema), the rows in
# digest order. Then VACUUM ANALYZE: a store at rest. Returns the seconds.
sub pg_fill_sessions {
    my ($pg, $db, $n, $users, $now) = @_;
    my $t0 = Time::HiRes::time();
    pg_sql($pg, $db, <<"SQL");
BEGIN;
SET LOCAL session_replication_role = replica;
SET LOCAL maintenance_work_mem = '64MB';
SET LOCAL work_mem = '64MB';
DO \$\$
DECLARE r record; defs text[] := '{}'; d text;
BEGIN
    FOR r IN SELECT indexname, indexdef FROM pg_indexes
             WHERE schemaname = 'trex_pam' AND tablename = 'sessions'
             AND indexname NOT IN (SELECT conname FROM pg_constraint
                                   WHERE conrelid = 'trex_pam.sessions'::regclass) LOOP
        defs := defs || r.indexdef;
        EXECUTE format('DROP INDEX trex_pam.%I', r.indexname);
    END LOOP;
    INSERT INTO trex_pam.sessions (digest, "user", created, last_used, rhost)
        SELECT sha256(int8send(g)), 'fill' || lpad((g % $users)::text, 5, '0'),
               $now - 900 - g % 20700, $now - g % 900, NULL
        FROM generate_series(1, $n) AS g ORDER BY 1;
    FOREACH d IN ARRAY defs LOOP
        EXECUTE d;
    END LOOP;
END
\$\$;
COMMIT;
VACUUM ANALYZE trex_pam.sessions;
SQL
    return Time::HiRes::time() - $t0;
}

# Rows and bytes (table and indexes) of trex_pam.sessions.
sub pg_sessions_size {
    my ($pg, $db) = @_;
    my $out = pg_sql($pg, $db, "SELECT count(*), pg_total_relation_size('trex_pam.sessions') FROM trex_pam.sessions;\n");
    return split /\|/, (split /\n/, $out)[0];
}

# ---- pgbouncer ----------------------------------------------------------------------
# $BENCH_PGBOUNCER names another pgbouncer (or none: a path that is not there).
sub pgbouncer_bin {
    return -x $ENV{BENCH_PGBOUNCER} ? $ENV{BENCH_PGBOUNCER} : undef if defined $ENV{BENCH_PGBOUNCER};
    for my $d ('/usr/sbin', '/usr/bin', split /:/, $ENV{PATH} // '') {
        return "$d/pgbouncer" if -x "$d/pgbouncer";
    }
    return;
}

sub pgbouncer_version {
    my $bin = pgbouncer_bin() or return;
    my $v = `$bin --version 2>/dev/null` // '';
    return $v =~ /PgBouncer (\S+)/ ? $1 : '?';
}

# A pgbouncer in front of $pg: 127.0.0.1 on a free port and a unix socket in
# its own directory; clients authenticate with SCRAM-SHA-256 over TCP
# (the server's user and password) and are trusted on the socket, as the
# server does; pgbouncer reaches the server over its socket. $dbs: { alias
# => [database, pool_mode, pool_size] }. Returns { port, dir, pid }, or
# (undef, why not). Run as postgres when root (pgbouncer refuses root).
sub pgbouncer_start {
    my ($pg, $dbs) = @_;
    my $bin = pgbouncer_bin() or return (undef, 'pgbouncer missing: apt-get install -y pgbouncer');
    my @pw = $> == 0 ? getpwnam('postgres') : ();
    return (undef, 'running as root without a postgres user') if $> == 0 && !@pw;
    my $dir = File::Temp::tempdir('bench-pgbouncer-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $port = TRexTest::PgServer::free_port();
    my $pgdir = $pg->socket_dir;
    my $pgport = $pg->port;
    my $ini = "[databases]\n"
        . join('', map { my ($db, $mode, $size) = @{ $dbs->{$_} };
                         "$_ = host=$pgdir port=$pgport dbname=$db user=$TRexTest::PgServer::USER"
                         . " pool_mode=$mode pool_size=$size\n" } sort keys %$dbs)
        . "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = $port\nunix_socket_dir = $dir\n"
        . "auth_type = hba\nauth_hba_file = $dir/hba.conf\nauth_file = $dir/userlist.txt\n"
        . "logfile = $dir/pgbouncer.log\nmax_client_conn = 200\n";
    spew("$dir/pgbouncer.ini", $ini);
    spew("$dir/hba.conf", "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    spew("$dir/userlist.txt", qq{"$TRexTest::PgServer::USER" "$TRexTest::PgServer::PASSWORD"\n});
    chmod 0600, "$dir/userlist.txt";
    if (@pw) {
        chown $pw[2], $pw[3], $dir, map { "$dir/$_" } qw(pgbouncer.ini hba.conf userlist.txt);
    }
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        if (@pw) {
            $) = "$pw[3] $pw[3]";
            $( = $pw[3];
            POSIX::setuid($pw[2]) or POSIX::_exit(126);
        }
        exec $bin, "$dir/pgbouncer.ini" or POSIX::_exit(127);
    }
    push @bouncers, $pid;
    my $self = { port => $port, dir => $dir, pid => $pid };
    my $until = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $until) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            @bouncers = grep { $_ != $pid } @bouncers;
            return (undef, 'pgbouncer exited at start: ' . log_tail("$dir/pgbouncer.log"));
        }
        return $self if -S "$dir/.s.PGSQL.$port"
            && IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1);
        Time::HiRes::sleep(0.02);
    }
    pgbouncer_stop($self);
    return (undef, 'pgbouncer did not listen within 10 s: ' . log_tail("$dir/pgbouncer.log"));
}

sub log_tail {
    my ($f) = @_;
    open my $fh, '<', $f or return '(no log)';
    my @l = <$fh>;
    return join '', @l > 3 ? @l[-3 .. -1] : @l;
}

sub pgbouncer_stop {
    my ($b) = @_;
    return unless $b && $b->{pid} && $$ == $owner;
    kill 'TERM', $b->{pid};
    waitpid $b->{pid}, 0;
    @bouncers = grep { $_ != $b->{pid} } @bouncers;
    delete $b->{pid};
}

# ---- Redis --------------------------------------------------------------------------
# (server, undef) or (undef, why not).
sub redis_start {
    my $why = TRexTest::RedisServer::available();
    return (undef, $why) if $why;
    my $r = eval { TRexTest::RedisServer->new };
    return $r ? ($r) : (undef, "cannot start redis-server: $@");
}

sub redis_version {
    my $v = `/usr/bin/redis-server --version 2>/dev/null` // '';
    return $v =~ /v=(\S+)/ ? $1 : '?';
}

# redis-cli (for --pipe), beside redis-server or on the PATH; undef if none.
sub redis_cli {
    for my $d ('/usr/bin', split /:/, $ENV{PATH} // '') {
        return "$d/redis-cli" if -x "$d/redis-cli";
    }
    return;
}

# One command in the Redis protocol (RESP).
sub resp { return join '', '*' . @_ . "\r\n", map { '$' . length($_) . "\r\n$_\r\n" } @_ }

# $n sessions on Redis database $db under the key prefix $prefix, over the
# users fill00000 .. fill($users-1), in the layout the store writes
# (c/store/redis.h, redis_scripts.c's session add and touch): a hash
# P s:<hex digest> with user, created, last_used, idle, expires (no rhost
# field: none), its key TTL min(idle - time since last use, expires - now)
# as a touch at last_used leaves it; the set P u:<user> of the hex digests
# of the user's sessions, with the longest TTL of them. The sessions are
# pg_fill_sessions' (the digest SHA-256 of the row's number, created 15 min
# to 6 h ago, used in the last 15 min), under the web mail stack's
# idle=1800 lifetime=43200. Generated here and written with `redis-cli
# --pipe` (one connection, the replies read as it writes); dies if a
# command failed. Returns the seconds.
sub redis_fill_sessions {
    my ($rd, $db, $prefix, $n, $users, $now) = @_;
    my ($idle, $lifetime) = (1800, 43200);
    my $cli = redis_cli() or die "redis-cli missing: apt-get install redis-tools\n";
    my $t0 = Time::HiRes::time();
    local $SIG{PIPE} = 'IGNORE';        # redis-cli gone: its output says why
    my $out = File::Temp->new;
    my $pid = open(my $pipe, '|-') // die "fork: $!\n";
    if (!$pid) {
        open STDOUT, '>&', $out or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec $cli, '-h', '127.0.0.1', '-p', $rd->port, '--pipe' or POSIX::_exit(127);
    }
    print {$pipe} resp('SELECT', $db);
    for my $u (0 .. $users - 1) {
        my $user = sprintf 'fill%05d', $u;
        my ($buf, @hex, $longest) = ('');
        for (my $g = $u || $users; $g <= $n; $g += $users) {
            my $hex = Digest::SHA::sha256_hex(pack 'q>', $g);
            my ($created, $last) = ($now - 900 - $g % 20700, $now - $g % 900);
            my $ttl = List::Util::min($idle - ($now - $last), $created + $lifetime - $now);
            $ttl = 1 if $ttl < 1;
            $longest = $ttl if !defined $longest || $ttl > $longest;
            $buf .= resp('HSET', "${prefix}s:$hex", user => $user, created => $created, last_used => $last,
                         idle => $idle, expires => $created + $lifetime)
                  . resp('EXPIRE', "${prefix}s:$hex", $ttl);
            push @hex, $hex;
        }
        next unless @hex;
        print {$pipe} $buf, resp('SADD', "${prefix}u:$user", @hex), resp('EXPIRE', "${prefix}u:$user", $longest)
            or last;
    }
    close $pipe;
    my $status = $?;
    my $said = do { local $/; seek $out, 0, 0; <$out> } // '';
    die "redis-cli --pipe failed: $said" if $status || $said !~ /errors: 0,/;
    return Time::HiRes::time() - $t0;
}

# INFO $section of the server: { field => value }.
sub redis_info {
    my ($rd, $section) = @_;
    return { map { /^(\w+):(.*?)\r?$/ ? ($1, $2) : () } split /\n/, $rd->command('INFO', $section) };
}

# The sessions of the store on database $db with prefix $prefix (its keys
# P s:*, counted by SCAN on the server) and the keys of the database.
sub redis_sessions_count {
    my ($rd, $db, $prefix) = @_;
    my $lua = "redis.call('SELECT', ARGV[1]) local n, c = 0, '0'\n"
            . "repeat local r = redis.call('SCAN', c, 'MATCH', ARGV[2], 'COUNT', 10000) c = r[1] n = n + #r[2]\n"
            . "until c == '0' return n\n";
    my $keys = (redis_info($rd, 'keyspace')->{"db$db"} // 'keys=0') =~ /keys=(\d+)/ ? $1 : 0;
    return ($rd->command('EVAL', $lua, 0, $db, "${prefix}s:*"), $keys);
}

END {
    local $?;                       # the bench's exit status, not the last pgbouncer's
    if ($$ == $owner) {
        kill 'TERM', @bouncers if @bouncers;
        waitpid $_, 0 for @bouncers;
    }
}

1;
