# The shared object exports one symbol, boot_TRex__PAM: the C core is built
# with hidden visibility and names nothing pam_*, so it shares a process with
# Linux-PAM or Authen::PAM without a clash.
use strict;
use warnings;
use Test::More;

my ($so) = grep { -f } glob('blib/arch/auto/TRex/PAM/PAM.*');
plan skip_all => 'not built (no blib/arch/auto/TRex/PAM/PAM.so)' unless $so;
my @nm = `nm -D --defined-only $so 2>/dev/null`;
plan skip_all => 'nm -D does not work here' if $? != 0 || !@nm;

my @defined = sort map { (split ' ')[-1] } grep { /^\s*[0-9a-f]*\s+[A-Za-z]\s+\S+/ } @nm;
is_deeply(\@defined, ['boot_TRex__PAM'], "$so exports only boot_TRex__PAM")
    or diag "exported: @defined";

my @all = `nm -D $so`;
ok(!grep({ /\bpam_\w+$/ } @all), 'no pam_* symbol, defined or undefined');
ok(!grep({ /\btrex_pam_\w+$/ } @all), 'no trex_pam_* symbol in the dynamic table');

done_testing;
