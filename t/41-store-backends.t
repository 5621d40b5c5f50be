# The store's contract (c/tests/t_store_contract) on every backend that
# keeps users: a fresh SQLite file, and fresh databases on a private
# PostgreSQL server (TRexTest::PgServer) reached by URI over TCP with a
# password and by a keyword string over the socket; then what only the
# PostgreSQL store does (c/tests/t_store_pg: schema, secrets, faults,
# concurrency, fork), and 8 processes x 1,000 mixed operations on it
# (c/tests/t_store_conc). The C programs' TAP is passed through
# (TRexTest::run_tap). The contract on Redis is t/46-store-redis.t's, the
# module tests on every backend t/47-modules-backends.t's. Without
# PostgreSQL the server's part is skipped, except under TREX_PAM_FULL,
# where it fails; TREX_PAM_FULL also runs the ASan build's programs
# (c/build-asan) there.
use strict;
use warnings;
use Test::More;
use Cwd ();
use File::Temp ();
use lib 't/lib';
use TRexTest qw(run_tap);
use TRexTest::PgServer;

my $dir = Cwd::getcwd() . '/c/tests';
my ($contract, $pgtest, $conc) = map { "$dir/$_" } qw(t_store_contract t_store_pg t_store_conc);
plan skip_all => 'c/tests not built (make -C c)' unless -x $contract && -x $pgtest && -x $conc;

my $tmp = File::Temp::tempdir('trex-store-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0700, $tmp;
run_tap('sqlite', [$contract], { TREX_PAM_TEST_STORE => "$tmp/contract.db" });

my ($pg, $why) = TRexTest::PgServer->try_start;
SKIP: {
    if (!$pg) {
        fail("TREX_PAM_FULL is set but $why") if $ENV{TREX_PAM_FULL};
        skip $why, 1;
    }
    run_tap('postgresql uri', [$contract], { TREX_PAM_TEST_STORE => $pg->uri($pg->createdb) });
    run_tap('postgresql keywords', [$contract], { TREX_PAM_TEST_STORE => $pg->conninfo($pg->createdb) });
    # 8 processes x 1,000 mixed operations: no lost update, exact tallies
    run_tap('postgresql concurrency', [$conc], { TREX_PAM_TEST_STORE => $pg->uri($pg->createdb) });
    (my $server = $pg->uri('x')) =~ s{/x$}{};
    run_tap('postgresql', [$pgtest],
            { TREX_PAM_TEST_PG       => $server,
              TREX_PAM_TEST_PG_DATA  => $pg->data_dir,
              TREX_PAM_TEST_PG_STOP  => $pg->stop_command,
              TREX_PAM_TEST_PG_START => $pg->start_command });

    # the same under AddressSanitizer/UBSan (libpq dlopen'ed into an ASan
    # process), when t/06-c-asan.t's build is there (TREX_PAM_FULL)
    my $asan = Cwd::getcwd() . '/c/build-asan/tests';
    if ($ENV{TREX_PAM_FULL} && -x "$asan/t_store_contract" && -x "$asan/t_store_pg") {
        my %san = (ASAN_OPTIONS => 'detect_leaks=1:abort_on_error=0:exitcode=97',
                   UBSAN_OPTIONS => 'print_stacktrace=1:halt_on_error=1');
        run_tap('asan postgresql uri', ["$asan/t_store_contract"],
                { %san, TREX_PAM_TEST_STORE => $pg->uri($pg->createdb) });
        run_tap('asan postgresql', ["$asan/t_store_pg"],
                { %san,
                  TREX_PAM_TEST_PG       => $server,
                  TREX_PAM_TEST_PG_DATA  => $pg->data_dir,
                  TREX_PAM_TEST_PG_STOP  => $pg->stop_command,
                  TREX_PAM_TEST_PG_START => $pg->start_command });
    }
}
done_testing;
