package TRexTest::Mod;
# A perl: module for every hook: records each call in @calls as
# [hook, flags, @args] and returns the code named by a "HOOK=CODE" argument
# (a number, or a code name such as auth_err), else PAM_SUCCESS.
use strict;
use warnings;
use TRex::PAM ();

our @calls;
our $loaded = ($loaded // 0) + 1;

my %code = map { lc(substr($_, 4)) => TRex::PAM->can($_)->() }
    grep { /^PAM_[A-Z_]+$/ && TRex::PAM->can($_) }
    @{ $TRex::PAM::EXPORT_TAGS{constants} };

sub _run {
    my ($hook, $mh, $flags, @args) = @_;
    push @calls, [$hook, $flags, @args];
    for (@args) {
        next unless /^\Q$hook\E=(.*)$/;
        my $v = $1;
        return $v =~ /^-?\d+$/ ? $v : $code{$v};
    }
    return 0;
}

for my $hook (qw(authenticate setcred acct_mgmt open_session close_session chauthtok)) {
    no strict 'refs';
    *$hook = sub { _run($hook, @_) };
}

1;
