package TRex::PAM::DB;

# The administrator's class: its methods are XSUBs in xs/PAM.xs (the
# TRex::PAM::DB section) over c/include/trex_pam_admin.h; loading TRex::PAM
# loads them. Its documentation is DB.pod (perldoc TRex::PAM::DB).
use strict;
use warnings;
use TRex::PAM ();

our $VERSION = $TRex::PAM::VERSION;

# An object belongs to the thread that opened it.
sub CLONE_SKIP { 1 }

1;
