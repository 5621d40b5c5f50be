# The module tests, written once (c/tests/t_userdb, t_session, t_faillock:
# each runs on the store $TREX_PAM_TEST_STORE names, a new SQLite file
# without it, as t/05-c-core.t runs them), on the server backends:
#   - PostgreSQL (TRexTest::PgServer): all three, each on a fresh database;
#   - Redis (TRexTest::RedisServer), which keeps sessions and failure tallies
#     but no users: t_session and t_faillock, each under a fresh key prefix,
#     with the users in a SQLite file, then again with them in a fresh
#     PostgreSQL database (TREX_PAM_TEST_USERS): a stack whose userdb is on
#     PostgreSQL and whose session and faillock lines are on Redis.
# A check that only the embedded store can make (a corrupt file, a file
# renamed away) is skipped there, with its reason. The C programs' TAP is
# passed through (TRexTest::run_tap). A server that cannot be started skips
# its part, except under TREX_PAM_FULL, where that fails; TREX_PAM_FULL also
# runs the ASan build's programs (c/build-asan, made by t/06-c-asan.t) on
# both servers.
use strict;
use warnings;
use Test::More;
use Cwd ();
use lib 't/lib';
use TRexTest qw(run_tap);
use TRexTest::PgServer;
use TRexTest::RedisServer;

my @progs = qw(t_userdb t_session t_faillock);
my $dir = Cwd::getcwd() . '/c/tests';
plan skip_all => 'c/tests not built (make -C c)' if grep { !-x "$dir/$_" } @progs;

my ($pg, $pg_why) = TRexTest::PgServer->try_start;
my $redis_why = TRexTest::RedisServer::available();
my $redis = $redis_why ? undef : TRexTest::RedisServer->new;

my @dirs = ([ '', $dir ]);
my $asan = Cwd::getcwd() . '/c/build-asan/tests';
push @dirs, [ 'asan ', $asan ] if $ENV{TREX_PAM_FULL} && !grep { !-x "$asan/$_" } @progs;
my %san = (ASAN_OPTIONS => 'detect_leaks=1:abort_on_error=0:exitcode=97',
           UBSAN_OPTIONS => 'print_stacktrace=1:halt_on_error=1');

for my $d (@dirs) {
    my ($tag, $bindir) = @$d;
    my %env = $tag ? %san : ();
    (my $prefix = $tag) =~ s/ $/-/;
    SKIP: {
        if (!$pg) {
            fail("TREX_PAM_FULL is set but $pg_why") if $ENV{TREX_PAM_FULL};
            skip "${tag}postgresql: $pg_why", 1;
        }
        run_tap("${tag}postgresql $_", ["$bindir/$_"],
                { %env, TREX_PAM_TEST_STORE => $pg->uri($pg->createdb) })
            for @progs;
    }
    SKIP: {
        if (!$redis) {
            fail("TREX_PAM_FULL is set but $redis_why") if $ENV{TREX_PAM_FULL};
            skip "${tag}redis: $redis_why", 1;
        }
        for my $prog (qw(t_session t_faillock)) {
            run_tap("${tag}redis $prog, users in sqlite", ["$bindir/$prog"],
                    { %env, TREX_PAM_TEST_STORE => $redis->location . "?prefix=$prefix$prog-sqlite:" });
            next unless $pg;
            run_tap("${tag}redis $prog, users in postgresql", ["$bindir/$prog"],
                    { %env, TREX_PAM_TEST_STORE => $redis->location . "?prefix=$prefix$prog-pg:",
                      TREX_PAM_TEST_USERS => $pg->uri($pg->createdb) });
        }
    }
}
done_testing;
