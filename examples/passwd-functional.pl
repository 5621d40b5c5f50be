#!/usr/bin/perl
# The seed's password-change example, functional style, as Authen::PAM's
# documentation has it: only the module name changed. With the demo
# configuration (README) the "passwd" service runs the Perl-written module
# TRex::PAM::Example::FilePasswd.
use TRex::PAM;

$login_name = $ENV{DEMO_USER} || getpwuid($<);

$res = pam_start("passwd", $login_name, $pamh);
die "pam_start: $res\n" unless $res == PAM_SUCESS;
$res = pam_chauthtok($pamh);
print "pam_chauthtok: ", pam_strerror($pamh, $res), "\n";
pam_end($pamh);
exit($res == PAM_SUCESS ? 0 : 1);
