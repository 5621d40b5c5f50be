#!/usr/bin/perl
# The Redis backend against a private redis-server (t/lib/TRexTest/RedisServer.pm):
# c/tests/t_store_redis runs the session and tally contract, key TTLs, key
# prefixes, processes and fork, a stopped server; then writes and has the
# server killed, and after the restart here finds the revoke and the
# lockout kept (appendonly, appendfsync always); then AUTH with a password
# and an ACL user, and no secret in any message; last, the message when
# libhiredis cannot be loaded; and 8 processes x 1,000 mixed operations.
use strict;
use warnings;
use Test::More;
use Cwd ();
use lib 't/lib';
use TRexTest ();
use TRexTest::RedisServer;

my $dir = Cwd::getcwd() . '/c/tests';
my $bin = "$dir/t_store_redis";
plan skip_all => "$bin not built (make)" unless -x $bin;
TRexTest::RedisServer->skip_unless_available;
delete @ENV{qw(TREX_PAM_TEST_REDIS_PASS TREX_PAM_TEST_REDIS_ACL_USER TREX_PAM_TEST_REDIS_ACL_PASS)};

# Runs the binary in mode with the server's environment; every TAP line a test.
sub run_mode {
    my ($mode, $srv, %env) = @_;
    require TAP::Parser;
    %env = (TREX_PAM_TEST_REDIS => $srv->location, TREX_PAM_TEST_REDIS_PORT => $srv->port,
            TREX_PAM_TEST_REDIS_PID => $srv->pid, TREX_PAM_TEST_REDIS_SOCK => $srv->socket, %env)
        if $srv;
    local $ENV{TREX_PAM_TESTDIR} = $dir;
    local @ENV{ keys %env } = values %env;
    my $p = TAP::Parser->new({ exec => [ $bin, $mode eq 'main' ? () : $mode ] });
    my $n = 0;
    while (my $r = $p->next) {
        diag($r->as_string) if $r->is_comment || $r->is_bailout;
        next unless $r->is_test;
        $n++;
        ok($r->is_ok && !$r->has_skip, "$mode: " . $r->description);
    }
    ok($n > 0, "$mode: ran some tests");
    ok(!$p->has_problems, "$mode: exit " . ($p->exit // 'undef') . ", wait " . ($p->wait // 'undef'));
}

{
    my $srv = TRexTest::RedisServer->new(persist => 1);
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
    require TAP::Parser;
    local $ENV{TREX_PAM_TESTDIR} = $dir;
    local $ENV{TREX_PAM_TEST_STORE} = $srv->location . '?prefix=conc:';
    my $p = TAP::Parser->new({ exec => ["$dir/t_store_conc"] });
    my $n = 0;
    while (my $r = $p->next) {
        diag($r->as_string) if $r->is_comment || $r->is_bailout;
        next unless $r->is_test;
        $n++;
        ok($r->is_ok && !$r->has_skip, 'concurrency: ' . $r->description);
    }
    ok($n > 0 && !$p->has_problems, "concurrency: ran $n tests, exit " . ($p->exit // 'undef'));
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
