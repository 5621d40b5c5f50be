package TRexTest::Derived;
# Inherits acct_mgmt from TRexTest::Base.
use strict;
use warnings;
require TRexTest::Base;
our @ISA = ('TRexTest::Base');
sub authenticate { 0 }
1;
