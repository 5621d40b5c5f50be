#!/usr/bin/perl
# The seed's password-change example, object style: DESTROY ends the handle.
use TRex::PAM;

$login_name = $ENV{DEMO_USER} || getpwuid($<);

$pamh = new TRex::PAM("passwd", $login_name);
ref($pamh) || die "Error code $pamh during PAM init!";
$res = $pamh->pam_chauthtok;
print "pam_chauthtok: ", $pamh->pam_strerror($res), "\n";
$pamh = 0;  # Force perl to call the destructor for the $pamh
exit($res == PAM_SUCESS ? 0 : 1);
