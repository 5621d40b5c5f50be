#!/usr/bin/perl
# Log in as a web application does: the password comes from the program (here
# $DEMO_PASSWORD, else the terminal without echo), not from PAM's own prompt.
#   examples/login.pl [--service SERVICE] USER
use strict;
use warnings;
use TRex::PAM;

my $service = 'login';
if (@ARGV >= 2 && $ARGV[0] eq '--service') {
    (undef, $service) = splice @ARGV, 0, 2;
}
my $user = shift // $ENV{DEMO_USER} // die "usage: $0 [--service SERVICE] USER\n";
my $password = $ENV{DEMO_PASSWORD};
my $conv = sub {
    my @res;
    while (my ($style, $msg) = splice @_, 0, 2) {
        if ($style == PAM_PROMPT_ECHO_OFF) {
            if (defined $password) {
                push @res, PAM_SUCCESS, $password;
            } else {                       # ask on the terminal, echo off
                my ($rc, $answer) = TRex::PAM::pam_default_conv($style, $msg);
                push @res, $rc, $answer;
            }
        } else {
            print "$msg\n" if $style == PAM_TEXT_INFO || $style == PAM_ERROR_MSG;
            push @res, PAM_SUCCESS, '';
        }
    }
    return (@res, PAM_SUCCESS);
};

my $pamh = TRex::PAM->new($service, $user, $conv);
ref $pamh or die "pam_start: " . pam_strerror(undef, $pamh) . "\n";
for my $call (qw(pam_authenticate pam_acct_mgmt pam_setcred)) {
    my $rc = $pamh->$call(0);
    printf "%-16s %s\n", $call, $pamh->pam_strerror($rc);
    exit 1 if $rc != PAM_SUCCESS;
}
my %env = $pamh->pam_getenvlist;
print "welcome, $user", ($env{DISPLAY_NAME} ? " ($env{DISPLAY_NAME})" : ''), "\n";
