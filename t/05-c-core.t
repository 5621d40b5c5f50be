# Runs every C test binary (c/tests/t_*) through TAP::Parser, which notices a
# crash even when the exit code looks clean (see run_c_tests in
# t/lib/TRexTest.pm). TREX_PAM_VALGRIND=1 runs them under valgrind.
use strict;
use warnings;
use Test::More;
use Cwd ();
use lib 't/lib';
use TRexTest;

my $dir = Cwd::getcwd() . '/c/tests';
plan skip_all => 'c/tests not built' unless -d $dir && glob("$dir/t_*");
my @wrap = $ENV{TREX_PAM_VALGRIND}
    ? qw(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)
    : ();
run_c_tests($dir, @wrap);
done_testing;
