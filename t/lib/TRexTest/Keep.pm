package TRexTest::Keep;
# Keeps its module handle past the call.
use strict;
use warnings;
our ($mh, @during);
sub authenticate {
    ($mh) = @_;
    @during = ($mh->is_valid, $mh->get_item(2));
    return 0;
}
1;
