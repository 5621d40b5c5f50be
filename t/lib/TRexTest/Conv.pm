package TRexTest::Conv;
# A perl: module that sends @send through the conversation and keeps what
# came back in @got: ($status, @responses).
use strict;
use warnings;

our @send = ([1, 'Password: ']);
our @got;

sub authenticate {
    my ($mh) = @_;
    @got = $mh->conv(map { @$_ } @send);
    return $got[0];
}

sub setcred { 0 }

1;
