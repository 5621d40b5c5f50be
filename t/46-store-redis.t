#!/usr/bin/perl
# The Redis backend against a private redis-server (t/lib/TRexTest/RedisServer.pm):
# c/tests/t_store_contract runs store.h's contract, as t/41 does on the
# other backends (its users part skipped: Redis keeps none; TREX_PAM_FULL:
# its ASan build too); c/tests/t_store_redis the Redis specifics: key TTLs,
# key prefixes, scripts, processes and fork, a stopped server; then writes
# and has the server killed, and after the restart here finds the revoke
# and the lockout kept (appendonly, appendfsync always); then AUTH with a
# password and an ACL user, and no secret in any message; the message
# when libhiredis cannot be loaded; and 8 processes x 1,000 mixed
# operations (c/tests/t_store_conc).
use strict;
use warnings;
use Test::More;
use Cwd ();
use lib 't/lib';
use TRexTest qw(run_tap);
use TRexTest::RedisServer;

my $dir = Cwd::getcwd() . '/c/tests';
my ($bin, $contract) = map { "$dir/$_" } qw(t_store_redis t_store_contract);
plan skip_all => "$bin not built (make)" unless -x $bin && -x $contract;
TRexTest::RedisServer->skip_unless_available;
delete @ENV{qw(TREX_PAM_TEST_REDIS_PASS TREX_PAM_TEST_REDIS_ACL_USER TREX_PAM_TEST_REDIS_ACL_PASS)};

# Runs the binary in mode with the server's environment; everything must run.
sub run_mode {
    my ($mode, $srv, %env) = @_;
    %env = (TREX_PAM_TEST_REDIS => $srv->location, TREX_PAM_TEST_REDIS_PORT => $srv->port,
            TREX_PAM_TEST_REDIS_PID => $srv->pid, TREX_PAM_TEST_REDIS_SOCK => $srv->socket, %env)
        if $srv;
    run_tap($mode, [ $bin, $mode eq 'main' ? () : $mode ], \%env, no_skip => 1);
}

{
    my $srv = TRexTest::RedisServer->new(persist => 1);
    # store.h's contract, as on SQLite and PostgreSQL (t/41), under a
    # prefix of its own; its users part is skipped: Redis keeps none
    run_tap('contract', [$contract], { TREX_PAM_TEST_STORE => $srv->location . '?prefix=contract:' });
    my $asan = Cwd::getcwd() . '/c/build-asan/tests/t_store_contract';
    run_tap('asan contract', [$asan],
            { ASAN_OPTIONS => 'detect_leaks=1:abort_on_error=0:exitcode=97',
              UBSAN_OPTIONS => 'print_stacktrace=1:halt_on_error=1',
              TREX_PAM_TEST_STORE => $srv->location . '?prefix=asan-contract:' })
        if $ENV{TREX_PAM_FULL} && -x $asan;
    run_mode('main', $srv);
    run_mode('restart-before', $srv);         # kills the server (-9) itself
    $srv->restart;
    run_mode('restart-after', $srv);
    $srv->stop;
}
{
    # 8 processes x 1,000 mixed operations (c/tests/t_store_conc): exact
    # tallies, no session lost, a user's sessions removed atomically
    my $srv = TRexTest::RedisServer->new;
    run_tap('concurrency', ["$dir/t_store_conc"],
            { TREX_PAM_TEST_STORE => $srv->location . '?prefix=conc:' }, no_skip => 1);
    $srv->stop;
}
{
    my $pass = 'Pa:55@w%rd/SeCrEt';
    my $srv = TRexTest::RedisServer->new(password => $pass, users => { alice => 'al1ce-SeCrEt' });
    run_mode('auth', $srv, TREX_PAM_TEST_REDIS_PASS => $pass, TREX_PAM_TEST_REDIS_ACL_USER => 'alice',
             TREX_PAM_TEST_REDIS_ACL_PASS => 'al1ce-SeCrEt');
    $srv->stop;
}

{
    # a libhiredis that cannot be loaded: found first through LD_LIBRARY_PATH
    my $lib = TRexTest::tempdir();
    open my $fh, '>', "$lib/libhiredis.so.0.14" or die "$lib: $!";
    print {$fh} "not a shared object\n";
    close $fh;
    run_mode('nolib', undef, LD_LIBRARY_PATH => $lib);
}

done_testing;
