#!/usr/bin/perl
# Every method and function of TRex::PAM::DB and TRex::PAM::Import has its
# =head2 (t/91-pod-coverage.t does the same for TRex::PAM).
use strict;
use warnings;
use Test::More;

plan skip_all => 'no XS to check here under valgrind' if $ENV{TREX_PAM_UNDER_VALGRIND};
plan skip_all => 'Test::Pod::Coverage 1.08 required'
    unless eval { require Test::Pod::Coverage; Test::Pod::Coverage->VERSION(1.08); 1 };

Test::Pod::Coverage::pod_coverage_ok('TRex::PAM::DB', { also_private => [qr/^(?:CLONE_SKIP|DESTROY)$/] });
Test::Pod::Coverage::pod_coverage_ok('TRex::PAM::Import');
done_testing;
