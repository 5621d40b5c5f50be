package TRex::PAM::DB;

# The administrator's class: its methods are XSUBs in xs/PAM.xs (the
# TRex::PAM::DB section) over c/include/trex_pam_admin.h; loading TRex::PAM
# loads them.
use strict;
use warnings;
use TRex::PAM ();

our $VERSION = $TRex::PAM::VERSION;

# An object belongs to the thread that opened it.
sub CLONE_SKIP { 1 }

1;
__END__

=encoding utf8

=head1 NAME

TRex::PAM::DB - administer TRex::PAM's users, their sessions and failed logins, in any store

=head1 SYNOPSIS

  use TRex::PAM::DB;

  my $db = TRex::PAM::DB->open(path => '/var/lib/trex-pam/trex-pam.db', create => 1);
  $db->user_add('alice', password => $password, attrs => { display_name => 'Alice' });
  $db->user_set('alice', max_days => 90, warn_days => 7);
  $db->set_password('alice', $new_password, method => 'yescrypt', cost => 5);
  $db->attr_set('alice', mail_home => '/srv/mail/alice');

  my $u = $db->user('alice');           # undef if there is no such user
  print "$u->{name} $u->{method}", ($u->{disabled} ? ' (disabled)' : ''), "\n";
  print "$_->{name}\n" for $db->users;

  for my $s ($db->sessions('alice')) {           # no session ID: a handle
      print "$s->{handle} $s->{rhost}\n" if defined $s->{rhost};
  }
  $db->session_revoke('alice', '3f9a01c2');      # one session ends
  $db->session_revoke_all('alice');              # all of them
  $db->session_purge(idle => 1800, lifetime => 43200);

  my $f = $db->faillock('alice', deny => 5, unlock_time => 900);
  print "locked\n" if $f->{locked};
  $db->faillock_reset('alice');

  $db->user_delete('alice');
  TRex::PAM::DB::wipe($password, $new_password);

  my $pg = TRex::PAM::DB->open(store => 'postgresql://trex@db1.example/trex');
  my $r = $db->copy_to($pg, sessions => 1, tallies => 1);   # the site grows

=head1 DESCRIPTION

The users that the C<userdb> module authenticates live in a store: one
SQLite file (the embedded store, the default) or a PostgreSQL database;
sessions and failure tallies may also live on a Redis server. This class
is the administrator's way to any of them: create the store, add users
with a password (hashed with libxcrypt) or an imported hash, change
passwords, account and password-ageing fields and free attributes, list
and delete users, list and end the web sessions the C<session> module
opened, read and clear the failed logins the C<faillock> module counted,
copy all of it into another store. L<trex-pam(1)|trex-pam> is built on it.

The store is the C<store> (or C<path>) argument, else C<$TREX_PAM_STORE>,
else C<$TREX_PAM_DB>, else the store configuration file beside the
configuration directory of C<$TREX_PAM_CONFDIR> (else
F</etc/trex-pam.conf>), else F</var/lib/trex-pam/trex-pam.db>: a file of the
embedded store (a path, or C<sqlite:>I<PATH>) or a server's location
(L</Opening each backend>). A file that is not a TRex::PAM database
(missing, unreadable, corrupt, another application's, a newer schema, or in
a world-writable directory) is refused and never modified.

Every change is one transaction, safe next to web processes that log in at
the same time.

=head2 Errors

C<open> and every change B<croak> when they do not succeed, with the
method's name and the reason:

  TRex::PAM::DB::user_add: alice: user already exists at script line 12.

so that a forgotten return value can never leave an account in another
state than the script meant. C<< $db->status >> then holds the code (below)
and C<< $db->error >> the reason alone, without the method's name. A lookup
of a user that does not exist (C<user>, C<faillock>) is not an error: it
returns undef.

Misuse croaks too: an unknown option, an odd number of option arguments, a
string holding a wide character or a NUL byte (the croak names the
argument), a number out of range.

=head2 Strings and secrets

Names, passwords, hashes and attribute values are byte strings; a character
string is used as its bytes if it has no character above 0xFF, else it is
refused. The copies TRex::PAM makes of a password are wiped after use; your
own variables are yours: L</wipe> overwrites them.

=head1 METHODS

=head2 open

  my $db = TRex::PAM::DB->open(%options);

Opens (or with C<create>, creates) the user database and returns the object.
Options: C<store> (the location; undef: C<$TREX_PAM_STORE>, else
C<$TREX_PAM_DB>, else the default) or C<path> (the same, spelt for a file),
C<create> (create the file and its schema if absent, mode 0600),
C<group> (with C<create>: mode 0660, for a group of services sharing it),
C<readonly> (only lookups; every change croaks), C<sessions> (a location:
keep the sessions there, see L</sessions_where>). Croaks with the reason,
naming the store, if either store cannot be used.

  my $db = TRex::PAM::DB->open(path => "$dir/users.db", create => 1, group => 1);

=head2 Opening each backend

The location says which backend: a path or C<sqlite:>I<PATH> (the
embedded store), C<postgresql://> (or C<postgres://>) and libpq's
C<postgresql:>I<KEYWORD>C<=>I<VALUE> form, C<redis://>, C<unix:> and
C<redis+unix://>. A server's schema is made by C<< create => 1 >> (or
C<trex-pam init --store>); a Redis server needs none. Messages, C<where>
included, never show the location's password.

  my $file  = TRex::PAM::DB->open(store => "$dir/users.db", create => 1);
  my $pg    = TRex::PAM::DB->open(store => 'postgresql://trex:secret@db1.example:5432/trex',
                                  create => 1);
  my $pgkw  = TRex::PAM::DB->open(store => 'postgresql:host=/run/postgresql dbname=trex');
  my $redis = TRex::PAM::DB->open(store => 'redis://:secret@cache1.example:6379/2');
  print $pg->where, "\n";                     # postgresql://trex@db1.example:5432/trex
  print "no users there\n" unless $redis->keeps('users');
  my $web = TRex::PAM::DB->open(store => 'postgresql://trex:secret@db1.example:5432/trex',
                                sessions => 'redis://:secret@cache1.example:6379/2');

A store that keeps no users (Redis) croaks at every user method; its
session and failure methods take any valid user name.

=head2 close

  $db->close;

Closes the database now (it is closed anyway when the object goes away).
Every later method call croaks, except C<error>, C<status> and C<close>.

=head2 path

  my $location = $db->path;

The location in use, as given (a server's may hold its password).

=head2 where

  print "using ", $db->where, "\n";

The store's name for messages: the file, or a server's location with its
password left out.

=head2 sessions_where

  my $db = TRex::PAM::DB->open(store => $users, sessions => $sessions);
  print "sessions at ", $db->sessions_where, "\n";

With C<sessions> given to L</open> (users in PostgreSQL, sessions on
Redis: C<userdb store=postgresql://...>, C<session store=redis://...>),
the session methods use that store and L</user_delete> ends the user's
sessions there too; whether a user exists is still asked of the user
store. C<sessions_where> names the sessions' store as L</where> does.

=head2 keeps

  print "users here\n" if $db->keeps('users');

1 if the store keeps C<users>, C<sessions> (the sessions' store) or
C<tallies> (failures), else 0. Croaks for another word.

=head2 error

  warn $db->error, "\n";

Why the last call failed, in one line (it names the user or the file and
the rule broken, never a password or a hash); the empty string after a
success.

=head2 status

  if ($db->status == TRex::PAM::DB::EXISTS) { ... }

The code of the last call: C<PAM_SUCCESS> (0), or C<PAM_USER_UNKNOWN> (no
such user), C<TRex::PAM::DB::EXISTS> (the user already exists),
C<PAM_BAD_ITEM> (an invalid name, value or hash, an unknown method or cost),
C<PAM_PERM_DENIED> (a change through a read-only object),
C<PAM_AUTHINFO_UNAVAIL> (the store became unusable), C<PAM_TRY_AGAIN> (a
concurrent writer won), C<TRex::PAM::DB::NO_SESSION> (no session of that
handle), C<PAM_BUF_ERR> or C<PAM_SYSTEM_ERR>. The C<PAM_*> constants are
TRex::PAM's.

=head2 EXISTS

  TRex::PAM::DB::EXISTS

The status of adding a user whose name is taken (64: outside the PAM codes).

=head2 NO_SESSION

  TRex::PAM::DB::NO_SESSION

The status of revoking a session handle that is no session of that user
(65: outside the PAM codes).

=head2 user_add

  $db->user_add($name, %fields);

Adds a user; croaks if the name is taken (status C<EXISTS>) or invalid.
A user name is 1 to 255 bytes without C<:>, C</> or a control character.
Fields:

=over

=item C<< password => $password >>

hashed with C<method> and C<cost> (default yescrypt at libxcrypt's default
cost);

=item C<< hash => $crypt_string >>

a ready hash (an import), kept byte for byte; it must be one libxcrypt can
verify (L</hash_usable>);

=item neither

no password: such an account logs in with an empty password only where the
service's C<userdb> line has C<nullok> (as pam_unix), otherwise not at all
until a password is set;

=item C<< method => $name, cost => $n >>

see L</methods>;

=item C<< disabled => 0|1 >>, C<< force_change => 0|1 >>

=item C<< expires => $epoch >>

account expiry (Unix time); undef or 0: never;

=item C<< max_days => $n >>

password maximum age in days; -1 (the default): no limit;

=item C<< min_days => $n >>, C<< warn_days => $n >>

=item C<< changed => $epoch >>

when the password was last changed (default: now when there is one);

=item C<< attrs => { $name => $value, ... } >>

free attributes: names of C<[A-Za-z0-9_.-]>, values any bytes but NUL.

=back

  $db->user_add('bob', hash => '$y$j9T$...', max_days => 90, attrs => { display_name => 'Bob' });

=head2 set_password

  $db->set_password($name, $password, method => $method, cost => $cost);

Hashes the password (method and cost optional: the defaults) and stores it
atomically, with the change time set to now and C<force_change> cleared.
The administrator needs no old password. An empty password is refused.

  $db->set_password('alice', $pw, method => 'bcrypt', cost => 12);

=head2 user_set

  $db->user_set($name, %fields);

Changes the fields given, in one transaction: C<< disabled => 0|1 >>,
C<< force_change => 0|1 >>, C<< expires => $epoch|undef >> (undef or 0:
never), C<< max_days => $n|-1 >> (undef or -1: no limit),
C<< min_days => $n >>, C<< warn_days => $n >>, C<< changed => $epoch|undef >>,
C<< hash => $crypt_string >> (a ready hash that must be usable; with it,
C<changed> defaults to now). Croaks if there is no such user.

  $db->user_set('alice', disabled => 1);
  $db->user_set('alice', expires => undef, max_days => -1);

=head2 attr_set

  $db->attr_set($name, $attr, $value);
  $db->attr_set($name, $attr, undef);     # deletes it

Sets (or deletes) one attribute. The C<userdb> module's setcred exports the
attributes to the PAM environment.

  $db->attr_set('alice', display_name => 'Alice Liddell');

=head2 user_delete

  $db->user_delete($name);

Deletes the user with its attributes, sessions and failure tallies; croaks
if there is no such user. With a sessions' store of its own (L</open>'s
C<sessions>), the user's sessions there end after the user is deleted; if
that fails, it croaks saying the user is deleted but its sessions were not
ended (end them with L</session_revoke_all>).

=head2 user

  my $u = $db->user($name);
  my $u = $db->user($name, with_hash => 1);

The user as a hash reference, or undef if there is none of that name:

  { name => 'alice', method => 'yescrypt', disabled => 0, force_change => 0,
    expires => undef, changed => 1764072000, min_days => 0, max_days => -1,
    warn_days => 0, created => 1764072000, attrs => { display_name => 'Alice' } }

C<method> names the hash's method (C<none> for no password, C<unusable> for
a hash libxcrypt cannot verify); the hash itself is there (C<hash>) only with
C<< with_hash => 1 >>. C<expires> and C<changed> are undef for never and
unknown.

=head2 users

  for my $u ($db->users) { print "$u->{name}\n" }
  my @all = $db->users(with_hash => 1);

Every user, in name order, as L</user> returns them.

=head1 SESSIONS

The C<session> module opens a session at login and gives its ID to the
application (the C<TREX_SESSION_ID> item); the store keeps only a digest of
the ID, with the user, the times and the remote host. Here a session is
named by its B<handle>: the first 8 hex digits of a BLAKE2b digest of that
stored digest. A handle is not the ID nor any part of the stored digest,
reveals nothing that could authenticate, and may be shown, logged or pasted
into a ticket; it stays the same for the life of the session. No method
here ever returns an ID or a digest.

=head2 sessions

  my @sessions = $db->sessions($name);
  my @every = $db->sessions;

The sessions of one user (croaks with status C<PAM_USER_UNKNOWN> if there
is no such user), or of every user, by user then time of opening, each a
hash reference:

  { user => 'alice', handle => '3f9a01c2', created => 1764493964,
    last_used => 1764495602, rhost => '192.0.2.7' }

C<created> is when it was opened; C<last_used> the last use the module
wrote down (it writes at most once per its C<touch_interval>, 60 s by
default, so the real last use may be up to that much later); C<rhost> the
C<PAM_RHOST> item at login, undef if there was none. A session that has
expired but is not purged yet is listed too: compare the times with the
service's C<idle=> and C<lifetime=>.

=head2 session_revoke

  my $n = $db->session_revoke($name, $handle);

Ends the session of that handle (8 hex digits, either case) of the user
C<$name>: its ID fails the next authentication (C<PAM_AUTH_ERR>). Returns 1.
Croaks with status C<NO_SESSION> if the user has no session of that handle
(one of another user's included), C<PAM_BAD_ITEM> for a malformed handle or
one that two of the user's sessions share (very unlikely;
L</session_revoke_all> then), C<PAM_USER_UNKNOWN> for an unknown user.

  $db->session_revoke('alice', '3f9a01c2');

=head2 session_revoke_all

  my $n = $db->session_revoke_all($name);

Ends every session of the user; returns how many (0 if there was none).
Use it after resetting a password whose old value may be known to someone
else (C<trex-pam passwd> does it by default), or to log a user out
everywhere. Disabling an account does not need it to refuse the sessions
(C<acct_mgmt> refuses a disabled account on every request) but ends them
for good.

  $db->set_password('alice', $pw);
  $db->session_revoke_all('alice');

=head2 session_purge

  my $n = $db->session_purge(idle => $seconds, lifetime => $seconds);

Deletes the sessions of every user that the C<session> module would refuse
as expired: idle longer than C<idle> seconds or opened longer than
C<lifetime> seconds ago (0: no such limit; at least one must be set;
default 1800 and 43200, the module's defaults). Returns how many. Give the
service's C<idle=> and C<lifetime=>: shorter values end sessions the module
still accepts.

=head1 FAILED LOGINS

The C<faillock> module records each failed login of a user in the store
and locks the user after too many. These methods read and clear that
record; the verdict follows the module's rule, under the arguments given
(give those of the service's faillock lines).

=head2 faillock

  my $f = $db->faillock($name, deny => 3, fail_interval => 900, unlock_time => 600);

The user's record as a hash reference, or undef if there is no such user
(status C<PAM_USER_UNKNOWN>):

  { total => 3, failures => 3, latest => 1764495182, locked => 1,
    unlock_at => 1764495782, times => [1764495171, 1764495176, 1764495182] }

C<total>: the failures on record; C<failures>: those less than
C<fail_interval> seconds before the latest (the ones that count); C<latest>:
the time of the latest (undef if none); C<locked>: 1 if the module's
C<preauth> refuses the user now: at least C<deny> failures count (C<deny>
0 never locks) and the latest is less than C<unlock_time> seconds ago
(C<unlock_time> 0 or C<'never'>: until a reset); C<unlock_at>: when the
lock runs out (undef if not locked or only a reset ends it); C<times>: the
time of each failure on record, oldest first. The options default to the
module's defaults (3, 900, 600); C<deny> is 0 to 65535, the times 0 to
604800 seconds.

=head2 faillock_reset

  my $n = $db->faillock_reset($name);

Clears the user's failures, which unlocks the user at once; returns how
many there were. Croaks for an unknown user.

=head2 tallies

  for my $t ($db->tallies) { printf "%s: %d failures\n", $t->{user}, scalar @{ $t->{times} } }

The failures on record of every user that has any, by name, each
C<< { user => 'alice', times => [1764495171, 1764495176] } >> (oldest
first), or of one user (C<< $db->tallies('alice') >>: one element or none;
croaks for an unknown user on a store that keeps users).

=head1 COPYING BETWEEN STORES

=head2 copy_to

  my $r = $from->copy_to($to, users => 1, sessions => 1, tallies => 1,
                         idle => 1800, lifetime => 43200);
  print "$r->{users}{added} users added\n";
  warn "$_->{kind} $_->{name}: $_->{text}\n" for @{ $r->{notes} };

Copies the records of C<$from>'s store into C<$to>'s: users (C<users>,
the default: every field, the hash byte for byte, attributes, creation
time), sessions (C<sessions>: digest, user, times, remote host, between
the sessions' stores) and failure tallies (C<tallies>). It refuses at
once (croaks, status C<PAM_BAD_ITEM>) a kind one side does not keep
(users into or out of Redis) or the same store on both sides; C<$to> must
have its schema (open it without C<create>).

It reads both sides first and plans: a record missing at the target is
I<added>, the same there is I<unchanged>, a session the same but for an
older last use is I<updated> (it moves forward), anything else is a
I<conflict> (a user: any field but the creation time, or an attribute).
With conflicts and without C<< replace => 1 >>, or with
C<< dry_run => 1 >> (C<$to> may then be read-only), nothing is written
and the counts are the plan's. Else each record is written in a
transaction of its own (a conflict I<replaced> by the source's), so a copy
stopped by an error is finished by running it again, and a second run
writes nothing.

Sessions and tallies go only with a user the target has or gets here
(where it keeps users); others are I<skipped>. Sessions expired under
C<idle> and C<lifetime> (seconds, 0: no limit; default 1800 and 43200:
give the service's) are left out; the others carry them as expiry hints
(a Redis target forgets them by these). The result:

  { users => { added => 2, updated => 0, unchanged => 1, replaced => 0,
               conflicts => 0, skipped => 0, expired => 0 },
    sessions => { ... }, tallies => { ... },
    written => 1,            # 0: a plan only (dry run, or conflicts)
    notes => [ { kind => 'user', name => 'bob',
                 text => 'differs at the target: password hash' } ] }

A note is made for each conflict and each user whose records are skipped;
it names fields, never a value (a session by its handle).

=head1 FUNCTIONS

=head2 hash_usable

  TRex::PAM::DB::hash_usable($hash)

True if libxcrypt can verify this hash here, so that an import keeps it:
yescrypt, gost-yescrypt, scrypt, bcrypt (C<$2b$>, C<$2a$>, C<$2y$>),
sha512crypt, sha256crypt, md5crypt (C<$1$>), sha1crypt, sunmd5, descrypt,
bsdicrypt as this build enables them. False for C<"">, C<!>, C<*>, a locked
C<!$6$...>, Apache's C<$apr1$>, LDAP's C<{SSHA}>, and anything that is not a
byte string.

=head2 file

  my $file = TRex::PAM::DB::file($path);

The file C<< open(path => $path) >> would use: C<$path> itself (or what
follows C<sqlite:>), else (undef or empty) C<$TREX_PAM_STORE>, else
C<$TREX_PAM_DB>, else the default; undef when that location is a server's.

=head2 methods

  my @methods = TRex::PAM::DB::methods();     # ('yescrypt', 'gost-yescrypt', ...)

The hashing methods this build can hash new passwords with, strongest
first; the first is the default.

=head2 check_policy

  TRex::PAM::DB::check_policy($method [, $cost])

True if this build can hash with that method and cost (a method name of
L</methods> or its prefix such as C<$y$>; undef: the default).

=head2 wipe

  TRex::PAM::DB::wipe($password, ...);

Overwrites each scalar's string buffer with zero bytes and leaves it empty
(read-only scalars and references are left alone; a buffer shared
copy-on-write with another scalar is not overwritten, only released).

=head1 DIAGNOSTICS

The croaks of C<open> and of changes carry the reason:

=over

=item C<< FILE: ... >>

C<open>: the store's reason: the file is missing (without C<create>),
unreadable, not a database, corrupt, another application's database, of a
newer schema, or its directory is world-writable.

=item C<< NAME: user already exists >>

C<user_add>; status C<EXISTS>.

=item C<< NAME: no such user >>

status C<PAM_USER_UNKNOWN>.

=item C<< invalid user name: ... >>, C<< invalid attribute name: ... >>

which rule the name breaks (the name itself is not repeated); status
C<PAM_BAD_ITEM>.

=item C<< NAME: the hash is not one libxcrypt can verify >>

C<user_add>/C<user_set> with C<hash>.

=item C<< unknown hashing method or cost (...) >>

=item C<< NAME: an empty password is not set >>

=item C<< FILE: opened read-only >>

a change through C<< readonly => 1 >>; status C<PAM_PERM_DENIED>.

=item C<< NAME: no session HANDLE >>

C<session_revoke>: the user has no session of that handle (or it ended
meanwhile); status C<NO_SESSION>.

=item C<< invalid session handle: want 8 hex digits ... >>

C<session_revoke>; status C<PAM_BAD_ITEM>.

=item C<< NAME: N sessions have the handle HANDLE; end them all with --revoke-all >>

C<session_revoke>: an ambiguous handle; status C<PAM_BAD_ITEM>.

=item C<< nothing to purge: neither an idle time-out nor a lifetime >>

C<session_purge> with both 0; status C<PAM_BAD_ITEM>.

=item C<< STORE: a redis store keeps no users >>

a user method on a store that keeps none; status C<PAM_AUTHINFO_UNAVAIL>.

=item C<< STORE keeps no KIND: ... >>, C<< STORE is on both sides of the copy >>

C<copy_to>, before anything is read; status C<PAM_BAD_ITEM>.

=item C<< NAME deleted, but its sessions were not ended: ... >>

C<user_delete> with a sessions' store that failed.

=item C<< ARG is not a byte string (no wide character, no NUL) >>, C<< ARG is not defined >>, C<< ARG is not an integer ... >>, C<< unknown option "X" >>, C<< odd number of option arguments ... >>, C<< the database is closed >>, C<< the database was opened by process N; open it again in this one >>

misuse.

=back

=head1 ENVIRONMENT

C<TREX_PAM_STORE>: the store when C<open> has no C<store> or C<path>;
C<TREX_PAM_DB>: the embedded store's file when neither names it.

=head1 FORK AND THREADS

An object belongs to the process and thread that opened it: in a forked
child its methods croak (open the database again there), and it is not
cloned into new threads (C<CLONE_SKIP>).

=head1 SEE ALSO

L<trex-pam(1)|trex-pam>, L<TRex::PAM>, L<crypt(5)>.

=head1 AUTHOR

The TRex::PAM developers.

=head1 LICENSE AND COPYRIGHT

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
