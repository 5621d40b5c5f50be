use strict;
use warnings;
use Test::More;

BEGIN { use_ok('TRex::PAM') or BAIL_OUT('TRex::PAM does not load') }

like($TRex::PAM::VERSION, qr/^\d+\.\d+/, "version $TRex::PAM::VERSION");
ok(defined &TRex::PAM::pam_start, 'pam_start is defined');
ok(!defined &TRex::PAM::AUTOLOAD, 'no AUTOLOAD');
is(TRex::PAM->CLONE_SKIP, 1, 'handles are not cloned into threads');
is(TRex::PAM::ModuleHandle->CLONE_SKIP, 1, 'module handles are not cloned into threads');

# loading the module is light: no POSIX, no Carp (they come when needed)
my $clean = `$^X -Iblib/lib -Iblib/arch -MTRex::PAM -e 'print join q( ), sort keys %INC' 2>/dev/null`;
SKIP: {
    skip 'cannot run perl -Mblib', 2 unless $? == 0 && length $clean;
    unlike($clean, qr/POSIX\.pm/, 'perl -MTRex::PAM does not load POSIX');
    unlike($clean, qr/Carp\.pm/, 'perl -MTRex::PAM does not load Carp');
}

done_testing;
