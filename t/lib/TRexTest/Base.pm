package TRexTest::Base;
# A base class: TRexTest::Derived finds acct_mgmt through @ISA.
use strict;
use warnings;
sub acct_mgmt { 13 }
1;
