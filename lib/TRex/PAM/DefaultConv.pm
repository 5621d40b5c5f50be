package TRex::PAM::DefaultConv;

# TRex::PAM::pam_default_conv, in a file of its own: TRex::PAM compiles it
# at its first call (POD in TRex::PAM).
use strict;
use TRex::PAM qw(PAM_SUCCESS PAM_CONV_ERR PAM_PROMPT_ECHO_OFF PAM_PROMPT_ECHO_ON
                 PAM_ERROR_MSG PAM_TEXT_INFO);

our $VERSION = $TRex::PAM::VERSION;

sub conv {
    my $n = int(@_ / 2);
    my @res;
    local $\ = '';
    local $| = 1;
    while (@_) {
        my $code = shift;
        my $msg  = shift;
        my $ans  = '';

        $msg = '' unless defined $msg;
        print $msg unless $code == PAM_ERROR_MSG();

        if ($code == PAM_PROMPT_ECHO_OFF()) {
            $ans = _read_line(0);
        }
        elsif ($code == PAM_PROMPT_ECHO_ON()) {
            $ans = _read_line(1);
        }
        elsif ($code == PAM_ERROR_MSG()) {
            print STDERR "$msg\n";
        }
        elsif ($code == PAM_TEXT_INFO()) {
            print "\n";
        }
        # end of input: the conversation fails rather than answer ''
        return ((PAM_SUCCESS(), undef) x $n, PAM_CONV_ERR()) unless defined $ans;
        push @res, PAM_SUCCESS(), $ans;
    }
    return (@res, PAM_SUCCESS());
}

sub _read_line {
    my ($echo) = @_;
    my ($termios, $lflag);
    my $fd = fileno(STDIN);
    if (!$echo && defined $fd && -t STDIN) {
        require POSIX;
        $termios = POSIX::Termios->new;
        if ($termios->getattr($fd)) {
            $lflag = $termios->getlflag;
            $termios->setlflag($lflag & ~POSIX::ECHO());
            $termios->setattr($fd, POSIX::TCSANOW());
        }
    }
    my $line = <STDIN>;
    if (defined $lflag) {
        $termios->setlflag($lflag);
        $termios->setattr($fd, POSIX::TCSANOW());
    }
    print "\n" unless $echo;
    chomp $line if defined $line;
    return $line;
}

1;
__END__

=encoding utf8

=head1 NAME

TRex::PAM::DefaultConv - the code of TRex::PAM's default conversation

=head1 DESCRIPTION

Internal: L<TRex::PAM/pam_default_conv> loads it when first called.

=cut
