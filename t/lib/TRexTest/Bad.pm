package TRexTest::Bad;
# Hooks that die or return what is not a status.
use strict;
use warnings;
sub authenticate  { die "bad module died\n" }
sub setcred       { return 'abc' }
sub acct_mgmt     { return }
sub open_session  { return [0] }
sub close_session { return 2**40 }
sub chauthtok     { die bless({}, 'TRexTest::Bad::Error') }
1;
