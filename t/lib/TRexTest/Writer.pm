package TRexTest::Writer;
# A perl: module for account lines that changes a user in the store named
# by its "store=" argument through TRex::PAM::DB (a connection of its own,
# as another web server would): "attr=NAME=VALUE" sets an attribute of the
# user named by "user=". Returns PAM_IGNORE.
use strict;
use warnings;
use TRex::PAM qw(PAM_IGNORE);
use TRex::PAM::DB;

sub acct_mgmt {
    my ($mh, $flags, @args) = @_;
    my %a = map { /^([^=]+)=(.*)$/ ? ($1, $2) : () } @args;
    my $db = TRex::PAM::DB->open(store => $a{store});
    my ($name, $value) = split /=/, $a{attr}, 2;
    $db->attr_set($a{user}, $name, $value);
    $db->close;
    return PAM_IGNORE;
}

1;
