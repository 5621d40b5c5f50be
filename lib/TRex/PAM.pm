package TRex::PAM;

# Kept light on purpose: loading this module loads strict.pm only (POSIX,
# Carp and Exporter are loaded when first needed, XSLoader only where perl
# lacks DynaLoader's functions).
use strict;

our $VERSION = '0.01';

# The shared object is loaded as XSLoader::load would load it, through the
# DynaLoader functions built into perl: XSLoader.pm is only their caller, and
# compiling it costs a process more instructions than dlopen() of sqlite.
# XSLoader when perl has no such functions or the object is not in an auto/
# tree of @INC. (XSLoader alone finds the object only next to this file: in
# another @INC directory, blib/arch or Debian's split lib/arch trees, it
# falls back to DynaLoader.pm, which costs eight times as much again.)
{
    my ($dir) = grep { !ref && -f "$_/auto/TRex/PAM/PAM.so" } @INC;
    if (defined $dir && defined &DynaLoader::boot_DynaLoader) {
        DynaLoader::boot_DynaLoader('DynaLoader') unless defined &DynaLoader::dl_error;
        my $file = "$dir/auto/TRex/PAM/PAM.so";
        my $lib = DynaLoader::dl_load_file($file, 0);
        my $boot = $lib && DynaLoader::dl_find_symbol($lib, 'boot_TRex__PAM');
        unless ($boot) {
            require Carp;
            Carp::croak("Can't load '$file' for module TRex::PAM: " . DynaLoader::dl_error());
        }
        push @DynaLoader::dl_librefs, $lib;          # recorded as XSLoader does
        push @DynaLoader::dl_modules, __PACKAGE__;
        push @DynaLoader::dl_shared_objects, $file;
        DynaLoader::dl_install_xsub('TRex::PAM::bootstrap', $boot, $file)->(__PACKAGE__, $VERSION);
    } else {
        require XSLoader;
        XSLoader::load(__PACKAGE__, $VERSION);
    }
}

# An Exporter, as Authen::PAM, whose import does the default list itself:
# compiling Exporter.pm would cost every process more than the rest of this
# file. Exporter is loaded for other lists and its other methods.
our (@ISA, @EXPORT, @EXPORT_OK, %EXPORT_TAGS);
@ISA = ('Exporter');

%EXPORT_TAGS = (
    functions => [qw(
        pam_start pam_end
        pam_authenticate pam_setcred pam_acct_mgmt pam_chauthtok
        pam_open_session pam_close_session
        pam_set_item pam_get_item
        pam_strerror
        pam_getenv pam_putenv pam_getenvlist
        pam_fail_delay
    )],
    constants => [qw(
        PAM_SUCCESS PAM_OPEN_ERR PAM_SYMBOL_ERR PAM_SERVICE_ERR
        PAM_SYSTEM_ERR PAM_BUF_ERR PAM_CONV_ERR PAM_PERM_DENIED

        PAM_AUTH_ERR PAM_CRED_INSUFFICIENT PAM_AUTHINFO_UNAVAIL
        PAM_USER_UNKNOWN PAM_MAXTRIES PAM_NEW_AUTHTOK_REQD

        PAM_ACCT_EXPIRED PAM_SESSION_ERR PAM_CRED_UNAVAIL PAM_CRED_EXPIRED
        PAM_CRED_ERR PAM_NO_MODULE_DATA PAM_AUTHTOK_ERR
        PAM_AUTHTOK_RECOVER_ERR PAM_AUTHTOK_RECOVERY_ERR
        PAM_AUTHTOK_LOCK_BUSY PAM_AUTHTOK_DISABLE_AGING PAM_TRY_AGAIN
        PAM_IGNORE PAM_ABORT PAM_AUTHTOK_EXPIRED PAM_MODULE_UNKNOWN
        PAM_BAD_ITEM PAM_CONV_AGAIN PAM_INCOMPLETE

        PAM_SERVICE PAM_USER PAM_TTY PAM_RHOST PAM_CONV PAM_RUSER
        PAM_USER_PROMPT PAM_FAIL_DELAY

        PAM_SILENT PAM_DISALLOW_NULL_AUTHTOK

        PAM_ESTABLISH_CRED PAM_DELETE_CRED PAM_REINITIALIZE_CRED
        PAM_REFRESH_CRED PAM_CHANGE_EXPIRED_AUTHTOK

        PAM_PROMPT_ECHO_OFF PAM_PROMPT_ECHO_ON PAM_ERROR_MSG
        PAM_TEXT_INFO PAM_RADIO_TYPE PAM_BINARY_PROMPT

        HAVE_PAM_FAIL_DELAY HAVE_PAM_ENV_FUNCTIONS
    )],
    old => [qw(
        PAM_AUTHTOKEN_REQD PAM_CRED_ESTABLISH PAM_CRED_DELETE
        PAM_CRED_REINITIALIZE PAM_CRED_REFRESH
    )],
);

# As Authen::PAM: :functions and :constants by default, :old on request.
# PAM_SUCESS is the seed examples' spelling of PAM_SUCCESS.
@EXPORT = (@{ $EXPORT_TAGS{functions} }, @{ $EXPORT_TAGS{constants} }, 'PAM_SUCESS');

# Module-only and newer constants: available, not exported by default.
@EXPORT_OK = (@{ $EXPORT_TAGS{old} }, qw(
    PAM_AUTHTOK PAM_OLDAUTHTOK PAM_XDISPLAY PAM_XAUTHDATA PAM_AUTHTOK_TYPE
    PAM_PRELIM_CHECK PAM_UPDATE_AUTHTOK PAM_DATA_REPLACE PAM_DATA_SILENT
    PAM_MAX_NUM_MSG PAM_MAX_MSG_SIZE PAM_MAX_RESP_SIZE
    pam_default_conv
));

# Exporter's import for the default list, done here as Exporter's own fast
# path does it; any other list, or a subclass, goes to Exporter::import,
# which is loaded then. (Names and tags done here too cost every process
# 0.5M instructions to compile, a third of what Exporter.pm costs.)
sub import {
    if (@_ > 1 || $_[0] ne __PACKAGE__) {
        require Exporter;
        goto &Exporter::import;
    }
    my $callpkg = caller;
    no strict 'refs';
    *{"${callpkg}::$_"} = \&{"TRex::PAM::$_"} for @EXPORT;
    return;
}
sub export { require Exporter; goto &Exporter::export }
sub export_to_level { require Exporter; goto &Exporter::export_to_level }
sub require_version { require Exporter; goto &Exporter::require_version }

# Threads: a handle belongs to the thread that made it.
sub CLONE_SKIP { 1 }

# new() is an XSUB: pam_start, then bless into the class (or the class of
# the object it is called on).

# The default conversation: prompts on the terminal, echo off for
# PAM_PROMPT_ECHO_OFF, as Authen::PAM's. It is in TRex/PAM/DefaultConv.pm,
# compiled at its first call: a process that never prompts (a CGI request)
# does not pay for it.
sub pam_default_conv {
    require TRex::PAM::DefaultConv;
    goto &TRex::PAM::DefaultConv::conv;
}

package TRex::PAM::ModuleHandle;

sub CLONE_SKIP { 1 }

1;
__END__

=encoding utf8

=head1 NAME

TRex::PAM - the PAM programming interface, implemented without libpam

=head1 VERSION

This document describes TRex::PAM version 0.01.

=head1 SYNOPSIS

  use TRex::PAM;
  my $conv = sub { my $n = @_ / 2;     # n (style, msg) pairs in, n answers + status out
      return ((map { (PAM_SUCCESS, $ENV{WEBMAIL_PASSWORD} // '') } 1 .. $n), PAM_SUCCESS) };
  my $rc = pam_start('webmail', 'alice', $conv, my $pamh);
  die "pam_start: $rc\n" unless $rc == PAM_SUCCESS;
  $rc = pam_authenticate($pamh, 0);
  print pam_strerror($pamh, $rc), "\n";
  pam_end($pamh, $rc);

The object interface:

  use TRex::PAM;
  my $pamh = TRex::PAM->new('webmail', 'alice', $conv);
  ref $pamh or die "pam_start failed: $pamh\n";
  my $rc = $pamh->pam_authenticate;
  $rc = $pamh->pam_acct_mgmt if $rc == PAM_SUCCESS;
  $pamh->pam_get_item('TREX_SESSION_ID', my $session_id);

=head1 DESCRIPTION

TRex::PAM gives Perl programs the PAM application interface E<mdash> the
calls, items, return codes and conversation function of L<Authen::PAM> over
Linux-PAM E<mdash> but implements the whole machine itself, in C, inside this
distribution: handles, items, the PAM environment, module data, the
conversation, F<pam.d>-style stacks with Linux-PAM's exact control-flag
semantics, and the six service calls. No system libpam is loaded or needed,
and the shared object exports a single symbol, so TRex::PAM may share a
process with Linux-PAM or Authen::PAM.

It is a drop-in replacement for Authen::PAM 0.16: a program written for
Authen::PAM runs after C<s/Authen::PAM/TRex::PAM/> with the same results
(L</COMPATIBILITY WITH Authen::PAM> lists the few deliberate differences).
The numeric values of all constants are Linux-PAM's.

Which modules run for a service is decided by F<pam.d>-style files in the
configuration directory (L</CONFIGURATION>). Modules are built in (C<permit>,
C<deny>, C<debug>, ...), shared objects written against TRex::PAM's module
API, or Perl packages (C<perl:Package::Name>); L<TRex::PAM::Module> explains
how to write one.

Strings cross into C as bytes. A value that C cannot hold unchanged E<mdash>
a string with a wide character or an embedded NUL, a number that does not fit
in a C C<int> E<mdash> is refused with an error status (normally
C<PAM_BAD_ITEM>), never silently cut or wrapped. C<undef> is C's NULL.
Misuse E<mdash> a value that is not a handle where a handle belongs, a wrong
number of arguments E<mdash> croaks, naming the function and the argument.

=head1 FUNCTIONS

All of these are exported by default (the C<:functions> tag), and all but
C<pam_start> can also be called as methods of a handle object:
C<< $pamh->pam_authenticate($flags) >> is C<pam_authenticate($pamh, $flags)>.

=head2 pam_start

  $rc = pam_start($service, $pamh);
  $rc = pam_start($service, $user, $pamh);
  $rc = pam_start($service, $user, \&conv, $pamh);

Starts a PAM transaction for C<$service> (only the part after the last C</>
counts, lower-cased) and user C<$user> (C<undef>, or the two-argument form,
means no user yet: the first module that needs one asks through the
conversation). The two- and three-argument forms use L</pam_default_conv>.
The configuration of the service is read at once.

C<$pamh> is an out-parameter: on success it receives the handle, a
C<TRex::PAM> object; on failure it receives the numeric error code.

Returns C<PAM_SUCCESS>; C<PAM_ABORT> when neither the service's file nor
C<other> exists (or the configuration directory cannot be used);
C<PAM_SYSTEM_ERR> for an C<undef> service or conversation; C<PAM_BAD_ITEM>
for a service or user that is not a byte string without NUL; C<PAM_BUF_ERR>
when memory runs out. Croaks for a wrong number of arguments or a
conversation that is neither C<undef> nor a code reference.

  my $rc = pam_start('webmail', 'alice', \&conv, my $pamh);
  die 'pam_start: ' . pam_strerror($pamh, $rc) . "\n" if $rc != PAM_SUCCESS;

=head2 pam_end

  $rc = pam_end($pamh);
  $rc = pam_end($pamh, $status);

Ends the transaction: module data cleanups run (newest first) with
C<$status> (default 0) passed to them verbatim, then everything the handle
holds is wiped and freed. The object stays, but every later call on it
returns C<PAM_SYSTEM_ERR> (a second C<pam_end> included); L</pam_strerror>
still works. Handles also end by themselves when the last reference to them
goes (C<DESTROY>), exactly once whatever happened before.

Returns C<PAM_SUCCESS>; C<PAM_SYSTEM_ERR> for an ended handle, or when called
from inside a running module or conversation (the handle then stays alive);
C<PAM_BAD_ITEM> for a status that does not fit in an C<int> (nothing ends).

  pam_end($pamh, $rc);

=head2 pam_authenticate

  $rc = pam_authenticate($pamh);
  $rc = pam_authenticate($pamh, $flags);

Runs the C<auth> stack: authenticates the user. C<$flags> (default 0) may
hold C<PAM_SILENT> and C<PAM_DISALLOW_NULL_AUTHTOK>. Returns the stack's
result: C<PAM_SUCCESS>, C<PAM_AUTH_ERR>, C<PAM_USER_UNKNOWN>,
C<PAM_MAXTRIES>, C<PAM_CRED_INSUFFICIENT>, C<PAM_AUTHINFO_UNAVAIL>,
C<PAM_PERM_DENIED> (for example an empty stack), C<PAM_INCOMPLETE>, ...
(L</DIAGNOSTICS>). C<PAM_AUTHTOK> and C<PAM_OLDAUTHTOK> are cleared before and
after, and the fail delay (L</pam_fail_delay>) applies.

  my $rc = pam_authenticate($pamh, PAM_DISALLOW_NULL_AUTHTOK);

=head2 pam_setcred

  $rc = pam_setcred($pamh);
  $rc = pam_setcred($pamh, $flags);

Runs the C<auth> stack's credential hooks, following the path the last
C<pam_authenticate> took. C<$flags> is one of C<PAM_ESTABLISH_CRED> (also what
0 means), C<PAM_DELETE_CRED>, C<PAM_REINITIALIZE_CRED>, C<PAM_REFRESH_CRED>,
optionally with C<PAM_SILENT>. (Authen::PAM requires C<$flags> here; TRex::PAM
lets it default to 0.) Returns C<PAM_SUCCESS>, C<PAM_CRED_ERR>,
C<PAM_CRED_UNAVAIL>, C<PAM_CRED_EXPIRED>, C<PAM_USER_UNKNOWN>, ...

  $rc = pam_setcred($pamh, PAM_ESTABLISH_CRED);

=head2 pam_acct_mgmt

  $rc = pam_acct_mgmt($pamh);
  $rc = pam_acct_mgmt($pamh, $flags);

Runs the C<account> stack: may this (authenticated) user use the service now?
Returns C<PAM_SUCCESS>, C<PAM_ACCT_EXPIRED>, C<PAM_NEW_AUTHTOK_REQD> (the
password must be changed with L</pam_chauthtok>), C<PAM_PERM_DENIED>,
C<PAM_AUTH_ERR>, C<PAM_USER_UNKNOWN>, ...

  $rc = pam_acct_mgmt($pamh, 0);
  $rc = pam_chauthtok($pamh, PAM_CHANGE_EXPIRED_AUTHTOK) if $rc == PAM_NEW_AUTHTOK_REQD;

=head2 pam_open_session

  $rc = pam_open_session($pamh);
  $rc = pam_open_session($pamh, $flags);

Runs the C<session> stack's open hooks. With TRex's session module the new
session ID can then be read from the C<TREX_SESSION_ID> item. Returns
C<PAM_SUCCESS>, C<PAM_SESSION_ERR>, ...

  $rc = pam_open_session($pamh, 0);
  pam_get_item($pamh, 'TREX_SESSION_ID', my $sid) if $rc == PAM_SUCCESS;

=head2 pam_close_session

  $rc = pam_close_session($pamh);
  $rc = pam_close_session($pamh, $flags);

Runs the C<session> stack's close hooks, following the path the last
C<pam_open_session> took. Returns C<PAM_SUCCESS>, C<PAM_SESSION_ERR>, ...

  $rc = pam_close_session($pamh, 0);

=head2 pam_chauthtok

  $rc = pam_chauthtok($pamh);
  $rc = pam_chauthtok($pamh, $flags);

Runs the C<password> stack twice, as Linux-PAM does: a preliminary pass
(modules see C<PAM_PRELIM_CHECK>) and, if it succeeds, the update pass
(C<PAM_UPDATE_AUTHTOK>). C<$flags> may hold C<PAM_SILENT> and
C<PAM_CHANGE_EXPIRED_AUTHTOK>; passing either pass bit yourself gives
C<PAM_SYSTEM_ERR>. Returns C<PAM_SUCCESS>, C<PAM_AUTHTOK_ERR>,
C<PAM_AUTHTOK_RECOVERY_ERR>, C<PAM_AUTHTOK_LOCK_BUSY>,
C<PAM_AUTHTOK_DISABLE_AGING>, C<PAM_PERM_DENIED>, C<PAM_TRY_AGAIN>,
C<PAM_USER_UNKNOWN>, ...

  $rc = pam_chauthtok($pamh, 0);

=head2 pam_get_item

  $rc = pam_get_item($pamh, $item_type, $value);

Reads an item into the out-parameter C<$value> (C<undef> when the item is
not set, and after any failure). C<$item_type> is one of the item constants
(L</ITEMS>) or the name of one of TRex's own items, a string starting with
C<TREX_> such as C<'TREX_SESSION_ID'>.

Returns C<PAM_SUCCESS>; C<PAM_BAD_ITEM> for an unknown item, a number that
does not fit in an C<int>, an ill-formed C<TREX_> name, and for
C<PAM_AUTHTOK> and C<PAM_OLDAUTHTOK> (they are for modules only);
C<PAM_SYSTEM_ERR> for an ended handle.

  pam_get_item($pamh, PAM_USER, my $user);

=head2 pam_set_item

  $rc = pam_set_item($pamh, $item_type, $value);

Sets an item (the handle keeps a copy). C<undef> is NULL: C<PAM_USER> set to
C<undef> clears the user, so that the next module that needs one asks for
it. Item values are described in L</ITEMS>; TRex's own C<TREX_> items take
strings, C<undef> deletes.

Returns C<PAM_SUCCESS>; C<PAM_BAD_ITEM> for an unknown item, for
C<PAM_AUTHTOK>/C<PAM_OLDAUTHTOK>, for C<PAM_SERVICE> set to C<undef>, and for
any value C cannot hold unchanged (a wide character, an embedded NUL, a plain
reference where a string belongs, a C<PAM_CONV> or C<PAM_FAIL_DELAY> that is
not a code reference, a malformed C<PAM_XAUTHDATA>); C<PAM_PERM_DENIED> for
C<PAM_CONV> set to C<undef> (the old conversation stays, as in Linux-PAM);
C<PAM_BUF_ERR>; C<PAM_SYSTEM_ERR> for an ended handle. A refused value
changes nothing.

  pam_set_item($pamh, PAM_RHOST, $ENV{REMOTE_ADDR});
  pam_set_item($pamh, PAM_CONV, \&other_conv);

=head2 pam_strerror

  $text = pam_strerror($pamh, $code);

Returns Linux-PAM's English text for a status code (C<"Unknown PAM error">
for anything else). C<$pamh> is not looked at: it may be a live or ended
handle, C<undef>, or the error number a failed L</pam_start> left behind.

  print pam_strerror($pamh, $rc), "\n";

=head2 pam_putenv

  $rc = pam_putenv($pamh, "NAME=value");
  $rc = pam_putenv($pamh, "NAME=");
  $rc = pam_putenv($pamh, "NAME");

Sets, empties or deletes a variable of the PAM environment (a list of
C<NAME=value> strings kept with the handle, which modules fill for the
application). A new name is appended, a replaced one keeps its place; the
value may contain C<=>.

Returns C<PAM_SUCCESS>; C<PAM_BAD_ITEM> for an empty name (C<""> or
C<"=x">), for deleting a variable that is not set, and for a string with a
wide character or a NUL; C<PAM_PERM_DENIED> for C<undef>; C<PAM_BUF_ERR>;
C<PAM_SYSTEM_ERR> for an ended handle.

  pam_putenv($pamh, "LANG=$lang");

=head2 pam_getenv

  $value = pam_getenv($pamh, $name);

Returns the value of a PAM environment variable, or C<undef> when it is not
set, when C<$name> contains C<=>, a NUL or a wide character, and for an ended
handle.

  my $home = pam_getenv($pamh, 'HOME');

=head2 pam_getenvlist

  %env = pam_getenvlist($pamh);

Returns the PAM environment as a list of name/value pairs, in the order the
names were first set, ready to be assigned to a hash. Each entry is split at
its B<first> C<=> (Authen::PAM split at the last one). An ended handle gives
an empty list.

  my %env = pam_getenvlist($pamh);
  local @ENV{keys %env} = values %env;

=head2 pam_fail_delay

  $rc = pam_fail_delay($pamh, $usec);

Asks for a delay of at least C<$usec> microseconds after a failed
L</pam_authenticate> or L</pam_chauthtok> (the largest request wins; the
actual delay varies by up to 50%). When a C<PAM_FAIL_DELAY> function is set
(L</ITEMS>), it is called instead of sleeping, after every such call.

Returns C<PAM_SUCCESS>; C<PAM_BAD_ITEM> for a delay that is not a whole
number between 0 and the largest C<unsigned int>; C<PAM_SYSTEM_ERR> for an
ended handle.

  pam_fail_delay($pamh, 2_000_000);

=head2 new

  $pamh = TRex::PAM->new($service);
  $pamh = TRex::PAM->new($service, $user);
  $pamh = TRex::PAM->new($service, $user, \&conv);

Calls L</pam_start> and returns the handle object, blessed into the class
C<new> was called on; on failure it returns the error number instead. Every
function above is then a method. The handle ends when the object goes away
(C<pam_end> with status 0), or earlier with C<< $pamh->pam_end >>.

  my $pamh = TRex::PAM->new('webmail', $user, \&conv);
  ref $pamh or die "PAM start failed: $pamh\n";
  my $rc = $pamh->pam_authenticate;

=head2 pam_default_conv

  @answers_and_status = TRex::PAM::pam_default_conv(@style_msg_pairs);

The conversation used by the two- and three-argument L</pam_start> (not
exported by default). Like Authen::PAM's: prints each message on STDOUT,
reads a line from STDIN for C<PAM_PROMPT_ECHO_ON> and (with the terminal's
echo turned off, if STDIN is a terminal) for C<PAM_PROMPT_ECHO_OFF>, prints
C<PAM_ERROR_MSG> texts on STDERR. At the end of input it fails with
C<PAM_CONV_ERR> instead of answering an empty string. Its code is compiled
at its first call, and L<POSIX> loaded the first time echo must be turned
off, not when TRex::PAM is.

  my $rc = pam_start('login', $user, \&TRex::PAM::pam_default_conv, my $pamh);

=head1 THE CONVERSATION FUNCTION

Modules talk to the user through the application's conversation function.
It receives a flat list of C<($msg_style, $msg)> pairs and must return a flat
list of exactly as many C<($resp_retcode, $resp)> pairs, followed by one
status (normally C<PAM_SUCCESS>):

  sub conv {
      my @res;
      while (@_) {
          my ($style, $msg) = splice @_, 0, 2;
          my $ans;
          $ans = $user     if $style == PAM_PROMPT_ECHO_ON;
          $ans = $password if $style == PAM_PROMPT_ECHO_OFF;
          print STDERR "$msg\n" if $style == PAM_ERROR_MSG || $style == PAM_TEXT_INFO;
          push @res, PAM_SUCCESS, $ans;
      }
      return (@res, PAM_SUCCESS);
  }

The styles are C<PAM_PROMPT_ECHO_OFF> (a password), C<PAM_PROMPT_ECHO_ON>,
C<PAM_ERROR_MSG>, C<PAM_TEXT_INFO> (no answer needed), and rarely
C<PAM_RADIO_TYPE> and C<PAM_BINARY_PROMPT>. C<$resp_retcode> is not used
(return 0). An answer is a byte string; C<undef> is "no answer" (NULL), which
the module usually turns into an error. A status other than C<PAM_SUCCESS>
aborts the conversation and is handed to the module as it is.

The function runs inside an C<eval>, with C<$@> localized: whatever it does,
the caller's C<$@> is untouched and nothing unwinds through the C core. The
following all make the conversation fail with C<PAM_CONV_ERR> and are
logged: a C<die>; a list of any length other than 2n+1; a last value that is
not an integer number; an answer that holds a NUL byte, a wide character or
is a reference. A string with the UTF-8 flag whose characters all fit in a
byte is accepted as those bytes.

The conversation may call C<pam_set_item($pamh, PAM_CONV, ...)> (the new
function answers from the next message on) and may even drop the last
reference to the handle; calling C<pam_end> or a service function on the
handle from inside it returns C<PAM_SYSTEM_ERR>, as in Linux-PAM. (Calling
C<exit> from a conversation leaves the process without running the core's
cleanups.)

=head1 ITEMS

  Item               Perl value                               application  module
  PAM_SERVICE        string (lower-cased; undef: PAM_BAD_ITEM) get/set     get/set
  PAM_USER           string or undef                          get/set      get/set
  PAM_TTY            string or undef                          get/set      get/set
  PAM_RHOST          string or undef                          get/set      get/set
  PAM_CONV           code reference (undef: PAM_PERM_DENIED)  get/set      get/set
  PAM_AUTHTOK        string or undef                          -            get/set
  PAM_OLDAUTHTOK     string or undef                          -            get/set
  PAM_RUSER          string or undef                          get/set      get/set
  PAM_USER_PROMPT    string or undef                          get/set      get/set
  PAM_FAIL_DELAY     code reference or undef                  get/set      get/set
  PAM_XDISPLAY       string or undef                          get/set      get/set
  PAM_XAUTHDATA      [$name, $data] or undef                  get/set      get/set
  PAM_AUTHTOK_TYPE   string or undef                          get/set      get/set
  'TREX_NAME'        string or undef (undef deletes)          get/set      get/set

Strings are bytes without NUL (C<PAM_XAUTHDATA>'s C<$data> may hold any
bytes). C<PAM_FAIL_DELAY>'s function is called as C<< $fn->($status, $usec) >>
at the end of every L</pam_authenticate> and L</pam_chauthtok>; it runs in an
C<eval> (a C<die> is logged and ignored). C<PAM_CONV> returns the very code
reference that was set. TRex's own items have names of C<TREX_> followed by
capital letters, digits and C<_> (for example C<TREX_SESSION_ID>, set by the
session module when a session opens).

=head1 CONSTANTS

The constants are constant functions with Linux-PAM's values (no
C<AUTOLOAD>): C<PAM_SUCCESS> and C<PAM_SUCCESS()> both work. The export tags
are Authen::PAM's: C<:functions> and C<:constants> are exported by default,
C<:old> on request (C<use TRex::PAM qw(:DEFAULT :old)>). The module-only and
newer names marked "on request" below are not exported by default but can be
imported by name.

TRex::PAM is an L<Exporter>, as Authen::PAM is, whose C<import> exports
the default list itself, so that C<use TRex::PAM> does not load Exporter;
with any other list it is Exporter's C<import>. Exporter's other methods
load it when called:

=over

=item export

=item export_to_level

=item require_version

=back

=head2 Return codes

=over

=item PAM_SUCCESS

0: success.

=item PAM_SUCESS

0: the same as C<PAM_SUCCESS>, under the spelling of TRex's seed examples
(exported by default).

=item PAM_OPEN_ERR

1: a module could not be loaded.

=item PAM_SYMBOL_ERR

2: a symbol was not found.

=item PAM_SERVICE_ERR

3: error in a service module.

=item PAM_SYSTEM_ERR

4: system error; also every call on an ended handle, on a handle in a
forked child, and service calls from inside a module.

=item PAM_BUF_ERR

5: memory buffer error.

=item PAM_PERM_DENIED

6: permission denied; also an empty or all-ignoring stack.

=item PAM_AUTH_ERR

7: authentication failure.

=item PAM_CRED_INSUFFICIENT

8: insufficient credentials to access authentication data.

=item PAM_AUTHINFO_UNAVAIL

9: the authentication service cannot retrieve authentication information.

=item PAM_USER_UNKNOWN

10: the user is not known to the underlying authentication module.

=item PAM_MAXTRIES

11: the maximum number of retries has been reached.

=item PAM_NEW_AUTHTOK_REQD

12: the authentication token is no longer valid; a new one is required.

=item PAM_ACCT_EXPIRED

13: the user account has expired.

=item PAM_SESSION_ERR

14: cannot make or remove an entry for the session.

=item PAM_CRED_UNAVAIL

15: the authentication service cannot retrieve user credentials.

=item PAM_CRED_EXPIRED

16: user credentials expired.

=item PAM_CRED_ERR

17: failure setting user credentials.

=item PAM_NO_MODULE_DATA

18: no module-specific data is present.

=item PAM_CONV_ERR

19: conversation error.

=item PAM_AUTHTOK_ERR

20: authentication token manipulation error.

=item PAM_AUTHTOK_RECOVERY_ERR

21: authentication information cannot be recovered.

=item PAM_AUTHTOK_RECOVER_ERR

21: Linux-PAM's other name for C<PAM_AUTHTOK_RECOVERY_ERR>.

=item PAM_AUTHTOK_LOCK_BUSY

22: authentication token lock busy.

=item PAM_AUTHTOK_DISABLE_AGING

23: authentication token aging disabled.

=item PAM_TRY_AGAIN

24: failed preliminary check by the password service.

=item PAM_IGNORE

25: the return value should be ignored by the dispatch.

=item PAM_ABORT

26: critical error, immediate abort; also L</pam_start> without any usable
configuration.

=item PAM_AUTHTOK_EXPIRED

27: authentication token expired.

=item PAM_MODULE_UNKNOWN

28: module is unknown (missing module, missing hook).

=item PAM_BAD_ITEM

29: bad item passed to C<pam_*_item()>; TRex::PAM also returns it for every
value C cannot hold unchanged.

=item PAM_CONV_AGAIN

30: the conversation is waiting for an event.

=item PAM_INCOMPLETE

31: the application needs to call again (after C<PAM_CONV_AGAIN>).

=back

=head2 Items

=over

=item PAM_SERVICE

1

=item PAM_USER

2

=item PAM_TTY

3

=item PAM_RHOST

4

=item PAM_CONV

5

=item PAM_AUTHTOK

6, modules only, on request.

=item PAM_OLDAUTHTOK

7, modules only, on request.

=item PAM_RUSER

8

=item PAM_USER_PROMPT

9

=item PAM_FAIL_DELAY

10

=item PAM_XDISPLAY

11, on request.

=item PAM_XAUTHDATA

12, on request.

=item PAM_AUTHTOK_TYPE

13, on request.

=back

=head2 Flags

=over

=item PAM_SILENT

0x8000: modules should not talk.

=item PAM_DISALLOW_NULL_AUTHTOK

0x0001: an empty password must not succeed (authenticate, acct_mgmt).

=item PAM_ESTABLISH_CRED

0x0002 (setcred).

=item PAM_DELETE_CRED

0x0004 (setcred).

=item PAM_REINITIALIZE_CRED

0x0008 (setcred).

=item PAM_REFRESH_CRED

0x0010 (setcred).

=item PAM_CHANGE_EXPIRED_AUTHTOK

0x0020 (chauthtok).

=item PAM_PRELIM_CHECK

0x4000: what modules see in chauthtok's first pass; on request.

=item PAM_UPDATE_AUTHTOK

0x2000: what modules see in chauthtok's second pass; on request.

=item PAM_DATA_REPLACE

0x20000000: the status a module data cleanup gets when its data is
replaced; on request.

=item PAM_DATA_SILENT

0x40000000: may be or-ed into L</pam_end>'s status to ask cleanups to be
quiet; added by itself in a forked child; on request.

=back

=head2 Message styles and limits

=over

=item PAM_PROMPT_ECHO_OFF

1: ask, do not show the answer (a password).

=item PAM_PROMPT_ECHO_ON

2: ask, show the answer.

=item PAM_ERROR_MSG

3: an error message.

=item PAM_TEXT_INFO

4: an informational message.

=item PAM_RADIO_TYPE

5: a yes/no/maybe question (Linux-PAM extension).

=item PAM_BINARY_PROMPT

7: a binary packet (Linux-PAM extension).

=item PAM_MAX_NUM_MSG

32, on request (advisory).

=item PAM_MAX_MSG_SIZE

512, on request (advisory).

=item PAM_MAX_RESP_SIZE

512, on request (advisory).

=back

=head2 Compatibility names

=over

=item HAVE_PAM_FAIL_DELAY

1: L</pam_fail_delay> is there.

=item HAVE_PAM_ENV_FUNCTIONS

1: L</pam_putenv>, L</pam_getenv> and L</pam_getenvlist> are there.

=item PAM_AUTHTOKEN_REQD

12, C<:old> name of C<PAM_NEW_AUTHTOK_REQD>.

=item PAM_CRED_ESTABLISH

2, C<:old> name of C<PAM_ESTABLISH_CRED>.

=item PAM_CRED_DELETE

4, C<:old> name of C<PAM_DELETE_CRED>.

=item PAM_CRED_REINITIALIZE

8, C<:old> name of C<PAM_REINITIALIZE_CRED>.

=item PAM_CRED_REFRESH

16, C<:old> name of C<PAM_REFRESH_CRED>.

=back

=head1 CONFIGURATION

Service files are read from the directory named by C<$TREX_PAM_CONFDIR>, else
from the directory compiled in (F</etc/trex-pam.d>). Without any
configuration directory the built-in default stack applies. The syntax and
semantics are Linux-PAM's F<pam.d> ones: C<type control module [args]>,
bracketed controls, C<include>/C<substack>, C<-type>, the per-stack fallback
to C<other>. Module names are built-in names (also in Linux-PAM's spelling:
C<pam_permit.so> is C<permit>), C<perl:Package::Name>, or the absolute path of
a shared object written against F<trex_pam_module.h>.

  # /etc/trex-pam.d/webmail
  auth     required  perl:My::WebmailAuth  realm=mail
  account  required  permit
  session  required  permit

A configuration error is logged with file, line and reason; the broken line
makes its stack fail, as Linux-PAM's do. A service file or an included one
must be a regular file: a FIFO or a device is refused (C<not a regular
file>) rather than waited for or read without end.

=head2 check_config

  ($status, @problems) = TRex::PAM::check_config($service [, $confdir]);

Reads the stacks of C<$service> as L</pam_start> would (from C<$confdir>,
else as C<pam_start> chooses the directory), parsing every line, following
every include and loading every module, without the cache, and returns the
status C<pam_start> would have and every line the core logged meanwhile:
C<file:line: reason> for each configuration problem. C<trex-pam check-config>
is built on it. Not exported; croaks unless the arguments are byte strings.

  my ($rc, @problems) = TRex::PAM::check_config('webmail', '/etc/trex-pam.d');
  print "$_\n" for @problems;

=head2 check_setup

  ($status, @problems) = TRex::PAM::check_setup($service [, $confdir]);

What L</check_config> does, and then every line asks its module whether it
can work on this system: C<userdb>, C<session> and C<faillock> open the
store the line uses (its C<store=> or C<db=>, else C<$TREX_PAM_STORE>,
C<$TREX_PAM_DB>, F<trex-pam.conf>, the default: L</"Where the store is">)
read-only, check that its schema is there and of a version this TRex::PAM
can use, ask a server once (so a server that is down, stopped, or refuses
the credentials is found), and check that the store keeps what the module
needs (a Redis store keeps no users). Each problem is one
C<file:line: module: store (SETTING): reason> line, SETTING naming where
the location came from (C<store=>, C<db=>, C<$TREX_PAM_STORE>,
C<$TREX_PAM_DB>, the configuration file's path, C<the default location>),
never a password. C<$status> is C<PAM_SUCCESS> when there is none. It
waits for a server as long as its location's timeouts say, once per store.
C<trex-pam check-config> is built on it. Not exported.

  my ($rc, @problems) = TRex::PAM::check_setup('webmail', '/etc/trex-pam.d');
  # webmail:3: userdb: store (store=): postgresql://trex@db1/trex: cannot connect: ...

=head2 faillock_settings

  ($status, $settings, @problems) = TRex::PAM::faillock_settings($service [, $confdir]);

The settings by which C<$service>'s C<faillock> lines lock a user, read as
L</check_config> reads the service (the service's file, else C<other>,
else the built-in default stack) and its arguments as the module reads
them. The line that decides is the auth stack's first C<faillock preauth>
(where a locked account is refused before its password is checked), else
its first C<faillock> line. C<$settings> is a hash: C<deny>,
C<fail_interval>, C<unlock_time> (0 for C<never>), C<action>
(C<preauth>, C<authfail> or C<authsucc>), C<store> and C<db> (the line's,
undef when not given), C<file> and C<line> (the file as log lines name it,
relative to C<confdir> unless absolute), C<builtin> (1 for the built-in
default stack) and C<confdir>. C<$status> is C<PAM_SUCCESS>;
C<PAM_IGNORE> when the auth stack has no C<faillock> line (C<$settings>
then holds the module's defaults, C<action> undef); or C<pam_start>'s
error when the service cannot be read (the defaults again, and
C<@problems> says why). C<@problems> are the lines the core and the
module logged (a malformed argument keeps its default and is logged).
C<trex-pam faillock --service> is built on it. Not exported.

  my ($rc, $s) = TRex::PAM::faillock_settings('webmail', '/etc/trex-pam.d');
  printf "deny=%d from %s:%d\n", $s->{deny}, $s->{file}, $s->{line} if $rc == PAM_SUCCESS;

=head2 config_recheck

  $usec = TRex::PAM::config_recheck();          # read
  $old  = TRex::PAM::config_recheck($usec);     # set; returns the old value

Linux-PAM reads the service files at every C<pam_start>. So does TRex::PAM
in a new process (a CGI request); a persistent one (mod_perl, PSGI, a daemon)
keeps the parsed stacks in a per-interpreter cache and reuses them while
every file involved (the service file, C<other>, included files, and the
files found missing) has the same device, inode, size, mtime and ctime. Those
are checked again at most once per C<$usec> microseconds (default 1000), so a
change is in force for every C<pam_start> that begins that long after the
file was written; 0 checks at every start. A file changed less than 20 ms
before it was read is never trusted from its stat data alone (file times are
coarser than that), so two quick rewrites of the same size are not missed.

  TRex::PAM::config_recheck(0);    # e.g. a test that edits pam.d files

Not exported. Croaks unless C<$usec> is a number of 0 or more.

=head1 BUILT-IN MODULES

Named in a F<pam.d> line without a path. Each logs through syslog (or
C<$TREX_PAM_LOG>) and never logs a password, hash or session ID. The
C<userdb>, C<session> and C<faillock> modules keep their data in a store
(L</"Where the store is">); create it and its users with L<trex-pam>.
A persistent process keeps one connection per store open across handles,
shared by the modules that name the same store (reopened after C<fork>,
or when the file is replaced: do not replace the file while such
processes run; stop them first).

=head2 Where the store is

A module line names its store with C<store=>I<LOCATION>, or with
C<db=>I<FILE> for a file of the embedded store; else C<$TREX_PAM_STORE>
names it, else C<$TREX_PAM_DB> (a file), else the store configuration file
F<trex-pam.conf> beside the configuration directory
(F</etc/trex-pam.conf> for F</etc/trex-pam.d>), else the embedded store at
F</var/lib/trex-pam/trex-pam.db>. The configuration file names the store
once for every line and for L<trex-pam>:

  # /etc/trex-pam.conf
  store = postgresql://trex@db1.example.org/trex

It is refused, and every call that needs the store fails (the log says
what to change), when it is owned by neither root nor the process's user,
writable by its group or others, or readable by others while its location
holds a password. A location is:

=over

=item a path, or C<sqlite:>I<PATH>

The embedded store: one SQLite file, no server (the default). It holds
password hashes, so it is refused as sshd's StrictModes refuses a key
file, with a log line saying what to change (C<FILE: readable by others
(mode 0644): run chmod o-rwx FILE>): when the file, or the C<-wal> or
C<-shm> beside it, is owned by neither root nor the process's user, is
open to others, or to its group other than as C<trex-pam init --group>
makes it (the file 0660, for the group of the services sharing it); or
when a directory from the file's own up to F</> is owned by another user
than root or the process's, or writable by its group or others. A
directory of root's with the sticky bit (F</tmp>) may be world-writable
above the file's own directory, never as that directory.

=item C<postgresql://>... or C<postgres://>...

A PostgreSQL database, as libpq's connection URI, so that C<PGSERVICE>,
F<.pgpass>, C<sslmode> and C<sslrootcert> work as for any PostgreSQL
client; or C<postgresql:> followed by libpq's keyword/value string
(C<postgresql:service=trex>). It holds users, sessions and failed logins
for several web servers at once. Its own query parameter
C<command_timeout=>I<SECONDS> (1 to 3600, default 5) bounds the wait for
any answer of the server; C<connect_timeout> (libpq's, 1 to 3600) is 5
unless given, and bounds the whole connect (every address tried, the
login), not each address.
The schema (C<trex_pam>, versioned) is made by C<trex-pam init --store>
I<URI>; no other schema is touched. libpq is loaded at the first use of
such a location, so a process on the embedded store never loads it.

The reads of one service call (of every module on that store) see one
state of it: the first is one statement; a second begins a repeatable-read
transaction in which the first is made again, in the same round trip.
Should another server have changed what the first read returned in
between, the call fails as for a store it cannot use (C<userdb>:
C<PAM_AUTHINFO_UNAVAIL>), logged as "the store changed between two reads
of one call (another process wrote meanwhile); try again", rather than
act on two states. A session check, one read in
C<pam_authenticate> and one in C<pam_acct_mgmt>, costs what the two bare
statements cost.

=item C<redis://>[[I<user>]:I<password>@]I<host>[:I<port>][/I<db>], C<unix:>I<PATH>

A Redis server (4.0 or later; 6 for an ACL I<user>), by TCP or by its unix
socket (also C<unix://>... and C<redis+unix://>...), with a query of
C<prefix=> (the key prefix, default C<trex-pam:>; give each application on
a shared server its own), C<db=>, C<connect_timeout=> and
C<command_timeout=> (seconds, default 5 each). It holds sessions and
failed logins, not users: keep those in the embedded store or in
PostgreSQL. Sessions expire by the keys' time to live, set from the
session line's C<idle=> and C<lifetime=>; a user's failures are kept 7 days
after the latest one. Debian's hiredis has no TLS, so C<rediss://> is
refused: reach a remote server over a private network, a unix socket, or
a local TLS tunnel (stunnel, spiped). Redis keeps what it acknowledged
across a restart only with C<appendonly yes> and C<appendfsync always> in
its configuration: then a logout, a lockout or a reset stays as it was
(with C<everysec>, the last second of them may be lost; with snapshots
alone, everything since the last one).

=back

  auth     required  userdb   store=postgresql://trex@db1.example.org/trex
  session  required  session  store=postgresql://trex@db1.example.org/trex

Users and failed logins on PostgreSQL (named once, in F<trex-pam.conf>),
sessions on Redis (named on the session lines):

  # /etc/trex-pam.conf
  store = postgresql://trex@db1.example.org/trex

  # /etc/trex-pam.d/webmail
  auth     [success=done ignore=ignore default=die] session store=redis://10.0.0.5/0
  auth     requisite               faillock preauth
  auth     [success=1 default=bad] userdb
  auth     [default=die]           faillock authfail
  auth     [success=done authinfo_unavail=die default=ignore] faillock authsucc
  auth     required                deny
  account  required                userdb
  password requisite               userdb minlen=10
  password optional                session revoke_on_change store=redis://10.0.0.5/0
  session  required                session store=redis://10.0.0.5/0

A server that is down, stopped (it accepts connections and never answers),
restarting, or refusing our credentials makes the call fail with
C<PAM_AUTHINFO_UNAVAIL>, never success, in every service call (also
C<pam_open_session>, C<pam_close_session> and C<pam_chauthtok>). No call
waits for a server longer than its location's C<connect_timeout> to
connect plus C<command_timeout> per request: a store that failed once in a
call is not tried again in that call by the other module lines, and a
connection that ran out of time is not tried again at once. The log gets
one line per store and call, naming the module, what it did, the backend
and host (the location without its password) and the reason:

  webmail(trex-pam) error: faillock: user lookup for alice: postgresql://trex@10.0.0.4/trex: cannot connect: no answer from the server in 5 s (connect_timeout)

The next call connects again, so logins work as soon as the server is
back; a process's kept connection that the server dropped meanwhile is
replaced within the call that finds it broken (one notice in the log).
A name resolved by the system's resolver is looked up before these
timeouts start: name servers by address where that matters. The
C<authsucc> line above ends the stack on C<authinfo_unavail>: with
C<sufficient> there, a store lost between the password check and
C<authsucc> would give the final C<deny>'s C<PAM_AUTH_ERR> to a right
password.

The failed logins may go to Redis too (C<faillock ... store=redis://...>).

A line with both C<store=> and C<db=>, or with a server's location in
C<db=>, fails its calls with a log line saying so. A location's password is
never logged: messages name a server without it (prefer F<.pgpass> or a
service file to a password in the location).

A process opens one connection per store, at the first handle that needs
it, and keeps it across handles until it exits; a child opens its own after
C<fork>. A persistent process (mod_perl, PSGI) thus connects once; a CGI
process connects on every request. With C<perl bench/backends> (in the
source tree, after C<make>; it starts its own PostgreSQL, pgbouncer and
Redis, about 2 minutes), a web mail session check in a new process on a
busy 2-core machine cost, over the same process on the embedded store:
PostgreSQL over its unix socket +31 ms, over TCP with a SCRAM password
+41 ms; through a pgbouncer on the same machine in session pooling +14 ms
(its socket) and +25 ms (TCP), most of the rest being the loading of libpq
itself (13 ms there); sessions on Redis with users on SQLite +1.3 ms. In one
persistent process a check took 0.25 ms on PostgreSQL, 0.06 ms with the
sessions on Redis and 0.017 ms on the embedded store.

For CGI on PostgreSQL, run pgbouncer beside the web server, with
C<pool_mode = session>, and name its socket in the location
(C<postgresql://trex@/trex?host=/run/postgresql&port=6432>). Session pooling
is the mode that works: the store prepares its statements once per
connection, and transaction pooling in pgbouncer 1.18 (Debian 12's) hands a
server connection that holds one client's prepared statements to the next
client, whose checks then fail (C<prepared statement "tp_session_get"
already exists>; later versions were not measured). In session pooling a
client keeps its server connection while it stays connected: a persistent
process gains nothing from pgbouncer (a check goes through one more hop),
so connect those to the server itself, or count them in pgbouncer's
C<default_pool_size>.

=head2 userdb

Passwords, account health and password changes, as pam_unix does them for
F</etc/shadow>: the same prompts, messages and return codes.

  auth     required   userdb                 # password: libxcrypt hash, checked once
  account  required   userdb                 # disabled, expired, too old, forced change
  password requisite  userdb minlen=10 blocklist=/etc/trex-pam/common-passwords

=over

=item authenticate

Asks for the password (C<Password: >), verifies it against the stored hash
with libxcrypt, computing one hash. A wrong password gives
C<PAM_AUTH_ERR>; so does a name nobody has (pam_unix says
C<PAM_USER_UNKNOWN>, which tells who exists to whoever sees the status),
after a dummy hash that costs the same time; a disabled account
C<PAM_AUTH_ERR> even with the right password. A hash weaker than C<method=>/C<cost=> is replaced after a
successful login.

=item acct_mgmt

C<PAM_ACCT_EXPIRED> for a disabled or expired account,
C<PAM_NEW_AUTHTOK_REQD> when the password is older than its maximum age or
a change is forced, and a C<PAM_TEXT_INFO> warning within the warning
period.

=item chauthtok

The current password (unless C<TREX_ADMIN> is C<1> and the process runs as
root), then the new one twice; the quality rules (C<minlen>, C<maxlen>, not
the user name, not the current password, not in C<blocklist>) give
C<PAM_AUTHTOK_ERR> with pam_unix's messages; the new hash replaces the old
one atomically. A new password of a session ID's form (C<trex1.> and 43
characters) is refused for anybody, root too: the C<session> line would
take it for a session ID.

=item setcred

The user's attributes become PAM environment variables (names upper-cased,
other characters than letters, digits and C<_> made C<_>).

=back

Arguments: C<store=> or C<db=> (L</"Where the store is">), C<method=> (yescrypt, gost-yescrypt, scrypt, bcrypt,
sha512crypt, ...), C<cost=>, C<nullok>, C<try_first_pass>,
C<use_first_pass>, C<use_authtok>, C<minlen=> (8), C<maxlen=> (511),
C<blocklist=FILE>, C<nodelay> (no 2-second delay after a failure),
C<debug>.

=head2 session

Session IDs that answer the password prompt until the session ends: a web
application signs the user in once with the password, keeps the session ID
in a cookie, and answers the password prompt of each later request with the
ID. C<pam_open_session> makes one (32 random bytes, C<trex1.> and URL-safe
base64; the store keeps only a BLAKE2b digest) and puts it in the named
item C<TREX_SESSION_ID> for the application's cookie. On later requests
C<pam_authenticate> accepts it, for that user only, and sets
C<TREX_AUTH_METHOD> to C<session>; an expired one sets
C<TREX_SESSION_EXPIRED> (C<idle> or C<lifetime>). C<pam_close_session> ends
it for every later request.

  auth     [success=done ignore=ignore default=die] session idle=1800 lifetime=43200
  password optional session revoke_on_change       # after "password requisite userdb"
  session  required session

  my $rc = pam_get_item($pamh, 'TREX_SESSION_ID', my $sid);   # after pam_open_session

Arguments: C<store=> or C<db=> (L</"Where the store is">), C<idle=> seconds (1800), C<lifetime=> seconds (43200),
C<touch_interval=> (60: last use written at most that often),
C<purge_every=> (64: one C<open_session> in N purges expired sessions; 0
never; not on Redis, whose keys expire by themselves, where a purge would
walk every key),
C<key_file=> (keyed digests), C<revoke_on_change> (a password change ends
the user's other sessions), C<fallthrough> (below), C<debug>.

New passwords of a session ID's form are refused; a user whose password
has that form anyway (set earlier, or imported) is refused at login, since
the answer is taken for a session ID that is not alive. With
C<fallthrough> on the auth line, such an answer that is no live session of
this user gives C<PAM_IGNORE> instead, so the password line checks it. The
price: a stale cookie then reaches the password check, and C<faillock>
counts it as a failed login.

  auth [success=done ignore=ignore default=die] session fallthrough

=head2 faillock

Linux-PAM's pam_faillock over the store: C<preauth> refuses an account with
C<deny=> failures within C<fail_interval=> until C<unlock_time=> has passed
("The account is locked due to N failed logins."), C<authfail> records a
failure, C<authsucc> clears them; counters are updated atomically by
concurrent processes. See F<examples/pam.d/default> for the lines, and
C<trex-pam faillock USER [--reset]>.

Faillock fails closed: when a failure cannot be recorded (a full disk, a
read-only store), C<authfail> and C<authsucc> return
C<PAM_AUTHINFO_UNAVAIL> and log "failed logins cannot be recorded for USER,
so password logins are refused until they can be", and no password login
succeeds until the store takes writes again (C<authsucc> records a failure
before it clears them, as the proof); a live session still signs in.

In the password stack, the same three lines make a wrong current password
in C<pam_chauthtok> count as a failed login (a stolen session cookie gives
no free guesses at the password behind it), refuse a locked account's
change, and clear the count after a right one; the administrator's change
(C<TREX_ADMIN>) is neither counted nor refused:

  password requisite                              faillock preauth
  password [success=1 auth_err=bad default=die]   userdb
  password [default=die]                          faillock authfail
  password [success=ok default=die]               faillock authsucc

Every name is counted, whether a user has it or not (Linux-PAM's
pam_faillock counts local users only): a name nobody has is locked after
C<deny=> failures like a user's, with the same messages, the same writes
and the same time taken, so that the lock tells nobody which names exist.
Failures older than C<fail_interval> + C<unlock_time> are purged by one
C<authfail> in 64 (not with C<unlock_time=never>), so names made up by a
guesser do not stay; Redis's keys expire by themselves. A name no user can
have (empty, over 255 bytes, a control character, C<:> or C</>) is not
counted. Mind that a password typed into the name field is such a name
nobody has: it stays in the store as a tally's name until that purge (the
store is kept from others' eyes: L</"Where the store is">).

  auth requisite faillock preauth store=redis://10.0.0.5:6379/0

Arguments: C<preauth>, C<authfail>, C<authsucc>, C<deny=> (3),
C<fail_interval=> (900), C<unlock_time=> (600, or C<never>), C<silent>,
C<nodelay>, C<store=> or C<db=> (L</"Where the store is">). C<users=> and
C<audit> are accepted with no effect (earlier versions looked users up).

=head2 imap

The password is checked by logging in to the site's IMAP server (through
libcurl, loaded at the first login), for a web application in front of a
mail server that keeps the users' passwords: C<PAM_SUCCESS> when the server
accepts the login, C<PAM_AUTH_ERR> when it refuses it,
C<PAM_AUTHINFO_UNAVAIL> when it cannot be asked in C<timeout=> seconds or
TLS fails. The certificate and its host name are always verified.

  auth  [success=1 authinfo_unavail=die default=bad]  imap url=imaps://mail.example.org timeout=10

Arguments: C<url=imaps://>I<HOST>[C<:>I<PORT>] or C<url=imap://>...
with C<tls=starttls> (the default) or C<tls=none> (plain text), C<cafile=>,
C<timeout=> (10), C<login_options=>, C<nodelay>, C<debug>,
C<try_first_pass>, C<use_first_pass>, C<use_authtok>. The whole web mail
stack around it (F<examples/pam.d/webmail-imap>), every argument and every
return code: L<TRex::PAM::IMAP>.

=head2 permit, deny, debug

Linux-PAM's pam_permit, pam_deny and pam_debug (also under those names,
C<pam_permit.so> ...): C<debug> returns the status named by its argument
(C<auth=> C<cred=> C<acct=> C<prechauthtok=> C<chauthtok=>
C<open_session=> C<close_session=>) and says which with a
C<PAM_TEXT_INFO>.

=head2 The default stack

With no configuration directory at all, this stack applies (also shipped as
F<examples/pam.d/default>):

  auth     requisite                                          faillock preauth
  auth     [success=done ignore=ignore default=die]           session
  auth     [success=1 default=bad]                            userdb
  auth     [default=die]                                      faillock authfail
  auth     [success=done authinfo_unavail=die default=ignore] faillock authsucc
  auth     required                                           deny
  account  required                                           userdb
  password requisite                                          faillock preauth
  password [success=1 auth_err=bad default=die]               userdb
  password [default=die]                                      faillock authfail
  password [success=ok default=die]                           faillock authsucc
  password optional                                           session revoke_on_change
  session  required                                           session

F<examples/pam.d/webmail> puts the session line first, so that somebody
else's failed guesses do not end a signed-in user's session.

=head1 WRITING A MODULE

A F<pam.d> line may name a module of your own: a Perl package
(C<perl:My::Module>, whose functions C<authenticate>, C<setcred>,
C<acct_mgmt>, C<open_session>, C<close_session> and C<chauthtok> are called
with a module handle, a C<TRex::PAM::ModuleHandle>), or a shared object
written in C, by its absolute path. L<TRex::PAM::Module> explains how to
write both, with a complete example of each, and documents every method of
the module handle.

  auth  required  perl:My::WebmailAuth  realm=mail

=head1 COMPATIBILITY WITH Authen::PAM

The same function names, arguments, out-parameters, export tags, constant
names and values, object interface and conversation format. Deliberate
differences, all where Authen::PAM crashed, croaked inside C, or silently
changed a value:

=over

=item *

C<undef> is NULL: C<pam_set_item($pamh, PAM_USER, undef)> clears the user
(Authen::PAM stored an empty string).

=item *

A conversation that dies, returns the wrong number of values or a
non-numeric status gives C<PAM_CONV_ERR> (Authen::PAM croaked through
libpam or took what it found).

=item *

Strings with a NUL or a wide character are refused with C<PAM_BAD_ITEM>
(Authen::PAM cut them at the NUL or passed Perl's internal encoding).

=item *

Setting C<PAM_CONV> to anything but a code reference is refused;
C<PAM_FAIL_DELAY> reads back C<undef> when unset (Authen::PAM: 0).

=item *

A handle from the functional C<pam_start> is an object too, and ends by
itself when it goes away; C<pam_end> twice is harmless (C<PAM_SYSTEM_ERR>).

=item *

C<pam_getenvlist> splits at the first C<=>; C<pam_setcred>'s flags are
optional; C<PAM_AUTHTOK_RECOVER_ERR> and C<PAM_AUTHTOK_RECOVERY_ERR> are
both 21 (Debian's Authen::PAM croaks for them); C<PAM_SUCESS> is an extra
default export.

=item *

The default conversation fails at the end of input instead of answering
an empty string.

=back

=head1 DIAGNOSTICS

=head2 Status codes

Every function returns a PAM status (L</Return codes>). Those that TRex::PAM
itself produces, beside what modules return:

=over

=item C<PAM_SYSTEM_ERR> (4)

The handle has ended (L</pam_end>, C<DESTROY>); the handle was started in
another process (after C<fork>); C<pam_end> or a service function called
from inside a running module or conversation; C<pam_start> without a
service or a conversation; the application passed C<PAM_PRELIM_CHECK> or
C<PAM_UPDATE_AUTHTOK> to C<pam_chauthtok>; a Perl module hook died or
returned something that is not an integer.

=item C<PAM_BAD_ITEM> (29)

An unknown item type or one outside C<int>; C<PAM_AUTHTOK> or
C<PAM_OLDAUTHTOK> from the application; C<PAM_SERVICE> set to C<undef>; an
ill-formed C<TREX_> name; any string with a NUL or a wide character; a plain
reference where a string belongs; a C<PAM_CONV>, C<PAM_FAIL_DELAY> or
cleanup that is not code; a C<PAM_XAUTHDATA> that is not C<[$name, $data]>;
flags, statuses or delays that do not fit their C type; C<pam_putenv> with
an empty name or deleting an unset variable.

=item C<PAM_PERM_DENIED> (6)

C<PAM_CONV> set to C<undef> (the old conversation stays);
C<pam_putenv(undef)>; a stack that is empty or where every module was
ignored.

=item C<PAM_CONV_ERR> (19)

The conversation died, returned a wrong number of values, a status that is
not an integer, or an answer with a NUL, a wide character or a reference;
the default conversation reached the end of its input.

=item C<PAM_MODULE_UNKNOWN> (28)

A module that cannot be found or loaded (C<perl:> package missing or not
compiling, not a package name), or a Perl package without the hook
called.

=item C<PAM_ABORT> (26)

C<pam_start> found neither the service's file nor C<other>, or cannot use
the configuration directory.

=item C<PAM_NO_MODULE_DATA> (18)

C<< $mh->get_data >> of a name nothing is kept under.

=item C<PAM_BUF_ERR> (5)

Out of memory.

=back

=head2 Croaks (misuse)

=over

=item C<< TRex::PAM::%s: pamh is not a TRex::PAM handle >>

A function was given something that is not a handle made by C<pam_start>
(a forged C<bless \1234, 'TRex::PAM'> included, or the error number a failed
C<pam_start> left in C<$pamh>).

=item C<< TRex::PAM::pam_start: wrong number of arguments (%d, want 2, 3 or 4) >>

=item C<< TRex::PAM::pam_start: conv is not a code reference >>

=item C<< TRex::PAM::pam_start: TRex::PAM::pam_default_conv is not defined >>

The default conversation was removed from the symbol table.

=item C<< TRex::PAM::ModuleHandle::%s: mh is not a TRex::PAM::ModuleHandle >>

=item C<< TRex::PAM::ModuleHandle::conv: odd number of arguments (want style, text pairs) >>

=item C<< Usage: TRex::PAM::%s(%s) >>

Too few or too many arguments.

=item C<< Modification of a read-only value attempted >>

An out-parameter (C<$pamh> of C<pam_start>, C<$value> of C<pam_get_item>)
was a constant.

=back

=head2 Log messages

The core logs to syslog (facility authpriv, ident the service) unless
C<$TREX_PAM_LOG> says otherwise. From the Perl layer:

=over

=item C<conversation function died: %s>

=item C<conversation function returned %d values for %d messages (want %d)>

=item C<conversation function returned a non-numeric status>

=item C<conversation answer is not a byte string without NUL>

=item C<fail delay function died: %s>

=item C<module data cleanup died: %s>

=item C<perl:%s %s died: %s>

=item C<perl:%s %s returned a non-numeric value>

=item C<perl:%s has no %s>

=item C<perl:%s: loading died: %s>

=item C<perl:%s: not a Perl package name>

=back

An exception object is logged as C<(exception object)>, never stringified.
Configuration errors read C<file:line: reason>. Every message is one line:
a control character in a value it quotes (a user name, a die message, the
service) is written as C<?>, so that a client cannot add lines of its own.

=head1 ENVIRONMENT

=over

=item C<TREX_PAM_CONFDIR>

The directory of the service files, read by every C<pam_start> (set it in
C<%ENV> before the call).

=item C<TREX_PAM_LOG>

C<syslog> (the default), C<stderr> or C<none>.

=item C<TREX_PAM_STORE>

The store of the modules whose line names none (L</"Where the store is">).

=item C<TREX_PAM_DB>

The embedded store's file when neither the line nor C<$TREX_PAM_STORE>
names the store.

=back

=head1 FORK AND THREADS

A handle belongs to the process that started it: in a forked child every
call on it returns C<PAM_SYSTEM_ERR>, and ending it there (C<pam_end> or the
object going away) runs the module data cleanups with C<PAM_DATA_SILENT>, so
they leave shared state (sessions, files) to the parent. Handles are not
cloned into new threads (C<CLONE_SKIP>): a thread sees an undefined value
and must start its own.

=head1 SECURITY

Answers of the conversation and the copies the core keeps (tokens, items,
environment) are wiped before they are freed; the core never logs a
password, hash or session ID. Perl's own copies of a password (the variables
of your conversation) are outside TRex::PAM's reach.

=head1 SEE ALSO

L<Authen::PAM>, the Linux-PAM Application Developers' Guide, L<pam(3)>,
L<pam.d(5)>.

=head1 AUTHOR

The TRex::PAM developers.

=head1 LICENSE AND COPYRIGHT

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
