# The C core's tests again, built with AddressSanitizer, UBSan and
# LeakSanitizer (c/Makefile's asan-build, in c/build-asan/): any invalid
# access, undefined behaviour or leak fails the binary. Runs with
# TREX_PAM_FULL=1 (the README's test command sets it).
use strict;
use warnings;
use Test::More;
use Cwd ();
use lib 't/lib';
use TRexTest;

plan skip_all => 'set TREX_PAM_FULL=1 to run the C tests under ASan/UBSan' unless $ENV{TREX_PAM_FULL};
my $make = $ENV{MAKE} || 'make';
my $out = `$make -C c asan-build 2>&1`;
ok($? == 0, 'make -C c asan-build') or diag($out), done_testing, exit;
unlike($out, qr/warning:/, 'no compiler warning in the sanitizer build') or diag(grep { /warning:/ } split /\n/, $out);

local $ENV{ASAN_OPTIONS} = 'detect_leaks=1:abort_on_error=0:exitcode=97';
local $ENV{UBSAN_OPTIONS} = 'print_stacktrace=1:halt_on_error=1';
run_c_tests(Cwd::getcwd() . '/c/build-asan/tests');
done_testing;
