#!/usr/bin/perl
# The Perl suite's core files again under valgrind: no invalid access and no
# definite leak in the XS layer or the C core.
# Runs with TREX_PAM_FULL=1 (the README's test command sets it).
use strict;
use warnings;
use Test::More;

plan skip_all => 'set TREX_PAM_FULL=1 to run the valgrind pass' unless $ENV{TREX_PAM_FULL};
my ($vg) = grep { -x } map { "$_/valgrind" } split /:/, $ENV{PATH};
plan skip_all => 'valgrind is not installed (apt-get install -y valgrind)' unless $vg;

# Every Perl test that exercises the XS layer; not the ones that only run
# other programs (they would run those under valgrind's perl too, slowly;
# t/05-07: the C tests and the fuzz targets; t/41, t/46, t/47: the C store
# and module tests on PostgreSQL and Redis servers), nor the multi-process
# hammering of t/38 (hundreds of hashes; it checks concurrency, which
# valgrind serialises anyway), nor t/48 (servers stopped and paused under
# 1 s timeouts, which valgrind's pace runs out), nor the bad-input matrix
# of t/53 and t/54
# (hundreds of cases in child processes, 15 minutes and more under
# valgrind: t/08's sanitizer build runs them with leak detection, and t/53
# checks its own memory stays flat).
my @files = grep { !/(?:0[5-8]-|38-|4[1678]-|5[34]-|6\d-|7\d-|9\d-)/ } sort glob 't/[0-8]*.t';
plan tests => scalar @files;
for my $t (@files) {
    local $ENV{PERL_DESTRUCT_LEVEL} = 2;
    local $ENV{TREX_PAM_UNDER_VALGRIND} = 1;
    my @cmd = ($vg, '-q', '--leak-check=full', '--errors-for-leak-kinds=definite',
               '--error-exitcode=99', '--suppressions=t/valgrind.supp', $^X, '-Mblib', $t);
    my $out = `@cmd 2>&1`;
    my $rc = $? >> 8;
    ok($rc == 0, "$t under valgrind (exit $rc)") or diag($out =~ s/^/  /mgr);
}
