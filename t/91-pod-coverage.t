use strict;
use warnings;
use Test::More;

plan skip_all => 'Test::Pod::Coverage 1.08 required'
    unless eval { require Test::Pod::Coverage; Test::Pod::Coverage->VERSION(1.08); 1 };

# TRex::PAM::ModuleHandle lives in PAM.pm and the XS
require TRex::PAM;
# The boot leaves the constants as proxies in the stash, which Pod::Coverage
# does not see as subs: make every one a sub first.
TRex::PAM->can($_) for keys %TRex::PAM::;
$INC{'TRex/PAM/ModuleHandle.pm'} //= $INC{'TRex/PAM.pm'};

# Every function and constant of TRex::PAM has its =head2 or =item; the
# module handle's methods are documented in the guide to writing a module.
Test::Pod::Coverage::pod_coverage_ok('TRex::PAM', { also_private => [qr/^(?:CLONE_SKIP|DESTROY)$/] });
Test::Pod::Coverage::pod_coverage_ok('TRex::PAM::ModuleHandle',
    { pod_from => 'lib/TRex/PAM/Module.pod', also_private => [qr/^CLONE_SKIP$/] });
done_testing;
