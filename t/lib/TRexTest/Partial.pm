package TRexTest::Partial;
# Only authenticate: the other hooks are missing (PAM_MODULE_UNKNOWN).
use strict;
use warnings;
sub authenticate { 0 }
1;
