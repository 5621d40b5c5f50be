use strict;
use warnings;
use Test::More;

BEGIN { use_ok('TRex::PAM') or BAIL_OUT('TRex::PAM does not load') }

like($TRex::PAM::VERSION, qr/^\d+\.\d+/, "version $TRex::PAM::VERSION");
ok(defined &TRex::PAM::pam_start, 'pam_start is defined');
ok(!defined &TRex::PAM::AUTOLOAD, 'no AUTOLOAD');
is(TRex::PAM->CLONE_SKIP, 1, 'handles are not cloned into threads');
is(TRex::PAM::ModuleHandle->CLONE_SKIP, 1, 'module handles are not cloned into threads');

# loading the module is light: no POSIX, no Carp, no Exporter, not the default
# conversation's code (they come when needed), and the shared object is loaded
# without XSLoader.pm or DynaLoader.pm
my $clean = `$^X -Iblib/lib -Iblib/arch -MTRex::PAM -e 'print join q( ), sort keys %INC' 2>/dev/null`;
SKIP: {
    skip 'cannot run perl -Mblib', 6 unless $? == 0 && length $clean;
    unlike($clean, qr/POSIX\.pm/, 'perl -MTRex::PAM does not load POSIX');
    unlike($clean, qr/Carp\.pm/, 'perl -MTRex::PAM does not load Carp');
    unlike($clean, qr/Exporter\.pm/, 'perl -MTRex::PAM does not load Exporter');
    unlike($clean, qr/DefaultConv\.pm/, 'perl -MTRex::PAM does not compile the default conversation');
    unlike($clean, qr/XSLoader\.pm/, 'perl -MTRex::PAM does not load XSLoader');
    unlike($clean, qr/DynaLoader\.pm/, 'perl -MTRex::PAM does not load DynaLoader');
}

# where perl has no boot_DynaLoader to call, XSLoader loads it
my $fallback = `$^X -Iblib/lib -Iblib/arch -e 'BEGIN { DynaLoader::boot_DynaLoader(q(DynaLoader)); undef &DynaLoader::boot_DynaLoader }' -e 'use TRex::PAM; print PAM_USER(), q( ), TRex::PAM::pam_strerror(undef, PAM_AUTH_ERR()), q( ), join q( ), sort keys %INC' 2>&1`;
like($fallback, qr/^2 Authentication failure .*XSLoader\.pm/, 'without boot_DynaLoader: loaded through XSLoader')
    or diag $fallback;

done_testing;
