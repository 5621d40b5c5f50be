package TRexTest::Data;
# Module data: set_data with a cleanup, get_data in a later call.
use strict;
use warnings;

our (@cleanups, @got, $file);

sub authenticate {
    my ($mh, $flags, @args) = @_;
    my $rc = $mh->set_data('k', { n => 1 }, sub {
        my ($value, $status) = @_;
        push @cleanups, [$value->{n}, $status];
        if ($file) { open my $fh, '>>', $file or die; print {$fh} "$value->{n} $status\n"; close $fh }
    });
    return $rc;
}

sub setcred {
    my ($mh) = @_;
    @got = $mh->get_data('k');
    return $got[0];
}

sub acct_mgmt {
    my ($mh) = @_;
    # replace: the old cleanup runs with PAM_DATA_REPLACE
    return $mh->set_data('k', { n => 2 }, sub { push @cleanups, [$_[0]{n}, $_[1]] });
}

sub open_session {
    my ($mh) = @_;
    @got = $mh->get_data('nothing');
    return 0;
}

1;
