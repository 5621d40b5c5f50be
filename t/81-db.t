#!/usr/bin/perl
# TRex::PAM::DB, the administrator's class: every method, its croaks on
# misuse and on failure (with status codes), names and values refused,
# hashes kept byte for byte, read-only objects, close, fork; sessions opened
# through TRex::PAM listed (handles, never IDs), revoked and purged, and
# failure tallies recorded through a faillock stack read and reset. (Wiping
# is not observable from Perl and is not tested here.)
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir slurp);
use TRex::PAM qw(:constants);
use TRex::PAM::DB;
use TRexTest qw(service confdir scripted_conv);

my $dir = tempdir();
delete $ENV{TREX_PAM_DB};
my @fast = (method => 'sha512crypt', cost => 1000);   # cheap hashes (valgrind runs this too)

sub croaks {
    my ($code, $re, $name) = @_;
    my $ok = eval { $code->(); 1 };
    return ok(0, "$name: did not croak") if $ok;
    like($@, $re, $name);
}

# ---- open ------------------------------------------------------------------
croaks(sub { TRex::PAM::DB->open(path => "$dir/none.db") },
       qr/^TRex::PAM::DB::open: \Q$dir\E\/none\.db: .+ at /, 'a missing file croaks, naming it');
ok(!-e "$dir/none.db", '... and is not created');
croaks(sub { TRex::PAM::DB->open(path => "$dir/x.db", bogus => 1) },
       qr/^TRex::PAM::DB::open: unknown option "bogus"/, 'an unknown option croaks');
croaks(sub { TRex::PAM::DB->open(path => "$dir/x.db", 'create') },
       qr/odd number of option arguments/, 'an odd option list croaks');
croaks(sub { TRex::PAM::DB->open(path => "$dir/x.db", create => 1, readonly => 1) },
       qr/create and read-only/, 'create and readonly exclude each other');
croaks(sub { TRex::PAM::DB->open(path => "$dir/x\x{263a}.db", create => 1) },
       qr/path is not a byte string/, 'a wide character in the path croaks, naming it');

my $db = TRex::PAM::DB->open(path => "$dir/users.db", create => 1);
isa_ok($db, 'TRex::PAM::DB');
is($db->path, "$dir/users.db", 'path');
is((stat "$dir/users.db")[2] & 07777, 0600, 'created with mode 0600');
is($db->status, PAM_SUCCESS, 'status 0 after open');
is($db->error, '', 'no error');
{
    my $g = TRex::PAM::DB->open(path => "$dir/group.db", create => 1, group => 1);
    is((stat "$dir/group.db")[2] & 07777, 0660, 'group => 1: mode 0660');
}
{
    local $ENV{TREX_PAM_DB} = "$dir/users.db";
    is(TRex::PAM::DB::file(), "$dir/users.db", 'file(): $TREX_PAM_DB');
    is(TRex::PAM::DB::file("$dir/other.db"), "$dir/other.db", 'file($path): the path');
    is(TRex::PAM::DB->open->path, "$dir/users.db", 'open without path uses $TREX_PAM_DB');
}
{
    open my $fh, '>', "$dir/junk.db" or die $!;
    print {$fh} "not a database\n" x 100;
    close $fh;
    croaks(sub { TRex::PAM::DB->open(path => "$dir/junk.db", create => 1) },
           qr/junk\.db: /, 'a file that is no database croaks, create or not');
    is(slurp("$dir/junk.db"), "not a database\n" x 100, '... and is left untouched');
}

# ---- user_add and user ------------------------------------------------------------
ok($db->user_add('alice', password => 'correct horse'), 'user_add with a password (default method)');
my $u = $db->user('alice');
is(ref $u, 'HASH', 'user: a hash ref');
is($u->{name}, 'alice', '... name');
is($u->{method}, 'yescrypt', '... default method yescrypt');
ok(!exists $u->{hash}, '... no hash unless asked');
is($u->{disabled}, 0, '... enabled');
is($u->{force_change}, 0, '... no forced change');
is($u->{expires}, undef, '... expires never (undef)');
is($u->{max_days}, -1, '... max_days -1');
is($u->{min_days}, 0, '... min_days 0');
is($u->{warn_days}, 0, '... warn_days 0');
ok($u->{changed} && abs($u->{changed} - time) < 600, '... changed: now');
ok($u->{created} && abs($u->{created} - time) < 600, '... created: now');
is_deeply($u->{attrs}, {}, '... no attributes');
$u = $db->user('alice', with_hash => 1);
like($u->{hash}, qr/^\$y\$/, 'with_hash => 1: the hash');
is(crypt('correct horse', $u->{hash}), $u->{hash}, '... which verifies the password');
isnt(crypt('wrong', $u->{hash}), $u->{hash}, '... and not another');

croaks(sub { $db->user_add('alice', password => 'x', @fast) },
       qr/^TRex::PAM::DB::user_add: alice: user already exists at /, 'a taken name croaks');
is($db->status, TRex::PAM::DB::EXISTS, '... status EXISTS');
is(TRex::PAM::DB::EXISTS, 64, 'EXISTS is 64');
is($db->error, 'alice: user already exists', '... error without the method name');

my $sha = crypt('imported', '$6$saltsalt$');
ok($db->user_add('bob', hash => $sha, disabled => 1, force_change => 1, expires => 2000000000,
                 max_days => 90, min_days => 1, warn_days => 7, changed => 1700000000,
                 attrs => { display_name => 'Bob B', 'mail.home' => '/srv/mail/bob' }),
   'user_add with a ready hash and every field');
$u = $db->user('bob', with_hash => 1);
is($u->{hash}, $sha, '... the hash kept byte for byte');
is($u->{method}, 'sha512crypt', '... method sha512crypt');
is_deeply([@$u{qw(disabled force_change expires max_days min_days warn_days changed)}],
          [1, 1, 2000000000, 90, 1, 7, 1700000000], '... every field');
is_deeply($u->{attrs}, { display_name => 'Bob B', 'mail.home' => '/srv/mail/bob' }, '... attributes');

ok($db->user_add('carol'), 'user_add without a password');
$u = $db->user('carol', with_hash => 1);
is($u->{method}, 'none', '... method none');
is($u->{hash}, '', '... empty hash');
is($u->{changed}, undef, '... no change time');

for my $bad ('!', '*', '!$6$saltsalt$abc', '$apr1$abcdefgh$abcdefghijklmnopqrstuv', '{SSHA}abcdef', 'plain') {
    croaks(sub { $db->user_add('dave', hash => $bad) }, qr/dave: the hash is not one libxcrypt can verify/,
           "an unusable hash is refused (" . substr($bad, 0, 6) . ")");
    is($db->status, PAM_BAD_ITEM, '... status PAM_BAD_ITEM');
}
ok(!$db->user('dave'), '... and no user was added');
croaks(sub { $db->user_add('dave', password => 'x', hash => $sha) }, qr/password and hash exclude each other/,
       'password and hash at once croak');
croaks(sub { $db->user_add('dave', password => 'x', method => 'rot13') }, qr/unknown hashing method/,
       'an unknown method croaks');
croaks(sub { $db->user_add('dave', password => 'x', method => 'bcrypt', cost => 'lots') },
       qr/unknown hashing method or cost/, 'a bad cost croaks');
ok($db->user_add('dave', password => 'x', method => 'bcrypt', cost => 4), 'method bcrypt, cost 4');
is($db->user('dave')->{method}, 'bcrypt', '... a bcrypt hash');
like($db->user('dave', with_hash => 1)->{hash}, qr/^\$2b\$04\$/, '... of cost 4');

# names
for my $t (['', 'empty'], ['a:b', "contains ':'"], ['a/b', "contains '/'"], ["a\nb", 'control character'],
           ["a\x7fb", 'control character'], ['x' x 256, 'longer than 255']) {
    croaks(sub { $db->user_add($t->[0], @fast, password => 'x') }, qr/invalid user name: .*\Q$t->[1]\E/,
           "user name refused: $t->[1]");
    is($db->status, PAM_BAD_ITEM, '... status PAM_BAD_ITEM');
}
ok($db->user_add('x' x 255), 'a 255-byte name is fine');
ok($db->user_add('eve@example.org', password => 'pw', @fast), 'a name with @ and . is fine');
ok($db->user_add("caf\x{e9}", password => 'pw', @fast), 'a Latin-1 character string is used as bytes');
ok($db->user("caf\xe9"), '... the same user as its bytes');
croaks(sub { $db->user_add("\x{263a}", password => 'x') }, qr/user_add: name is not a byte string/,
       'a wide character in a name croaks, naming the argument');
croaks(sub { $db->user_add("a\0b", password => 'x') }, qr/name is not a byte string/, 'a NUL in a name croaks');
croaks(sub { $db->user_add(undef, password => 'x') }, qr/name is not defined/, 'an undefined name croaks');
croaks(sub { $db->user_add('frank', password => "pa\x{263a}ss") }, qr/password is not a byte string/,
       'a wide character in a password croaks, naming it');
croaks(sub { $db->user_add('frank', password => "pa\0ss") }, qr/password is not a byte string/,
       'a NUL in a password croaks');
croaks(sub { $db->user_add('frank', password => \'x') }, qr/password is not a byte string/,
       'a reference as password croaks');
croaks(sub { $db->user_add('frank', attrs => [1]) }, qr/attrs is not a hash reference/, 'attrs must be a hash');
croaks(sub { $db->user_add('frank', attrs => { 'bad name' => 1 }) }, qr/invalid attribute name/,
       'an invalid attribute name is refused');
croaks(sub { $db->user_add('frank', attrs => { ok => "a\0b" }) }, qr/an attribute value is not a byte string/,
       'a NUL in an attribute value croaks');
croaks(sub { $db->user_add('frank', max_days => -2) }, qr/max_days is not an integer of -1 or more/, 'max_days -2');
croaks(sub { $db->user_add('frank', min_days => 'soon') }, qr/min_days is not an integer/, 'min_days "soon"');
croaks(sub { $db->user_add('frank', expires => -1) }, qr/expires is not an integer/, 'expires -1');
croaks(sub { $db->user_add('frank', warn_days => 1.5) }, qr/warn_days is not an integer/, 'warn_days 1.5');
ok(!$db->user('frank'), 'none of these added frank');
{
    my $pw = "caf\x{e9}";                       # a character string: used as its bytes
    ok($db->user_add('grace', password => $pw, @fast), 'a Latin-1 password');
    my $h = $db->user('grace', with_hash => 1)->{hash};
    is(crypt("caf\xe9", $h), $h, '... hashed as its bytes');
}

# ---- set_password --------------------------------------------------------------
$db->user_set('alice', force_change => 1);
ok($db->set_password('alice', 'new secret', @fast), 'set_password');
$u = $db->user('alice', with_hash => 1);
like($u->{hash}, qr/^\$6\$rounds=1000\$/, '... with the method and cost given');
is(crypt('new secret', $u->{hash}), $u->{hash}, '... the new password verifies');
is($u->{force_change}, 0, '... the forced change is cleared');
ok(abs($u->{changed} - time) < 600, '... changed now');
ok($db->set_password('alice', 'newer secret', method => 'md5crypt'), 'set_password, method only');
is($db->user('alice')->{method}, 'md5crypt', '... method md5crypt');
croaks(sub { $db->set_password('nobody', 'x', @fast) }, qr/nobody: no such user/, 'an unknown user croaks');
is($db->status, PAM_USER_UNKNOWN, '... status PAM_USER_UNKNOWN');
croaks(sub { $db->set_password('alice', '', @fast) }, qr/an empty password is not set/, 'an empty password croaks');
croaks(sub { $db->set_password('alice', undef) }, qr/password is not defined/, 'an undefined password croaks');
croaks(sub { $db->set_password('alice', "\x{100}") }, qr/set_password: password is not a byte string/,
       'a wide character croaks');
croaks(sub { $db->set_password('alice', 'x', method => 'nope') }, qr/unknown hashing method/, 'unknown method');
croaks(sub { $db->set_password('alice', 'x', salt => 1) }, qr/unknown option "salt"/, 'unknown option');

# ---- user_set ---------------------------------------------------------------------
ok($db->user_set('carol', disabled => 1, expires => 1900000000, max_days => 30, min_days => 2,
                 warn_days => 5, force_change => 1), 'user_set: several fields');
$u = $db->user('carol');
is_deeply([@$u{qw(disabled expires max_days min_days warn_days force_change)}], [1, 1900000000, 30, 2, 5, 1],
          '... all of them');
ok($db->user_set('carol', disabled => 0, expires => undef, max_days => undef), 'user_set: back to defaults');
$u = $db->user('carol');
is_deeply([@$u{qw(disabled expires max_days min_days warn_days)}], [0, undef, -1, 2, 5],
          '... changed only those given');
ok($db->user_set('carol', max_days => -1, expires => 0), 'max_days -1, expires 0');
is($db->user('carol')->{max_days}, -1, '... no limit');
ok($db->user_set('carol', hash => $sha), 'user_set: a ready hash');
$u = $db->user('carol', with_hash => 1);
is($u->{hash}, $sha, '... kept byte for byte');
ok(abs($u->{changed} - time) < 600, '... changed: now by default');
ok($db->user_set('carol', hash => $sha, changed => 1600000000), 'a hash with its change time');
is($db->user('carol')->{changed}, 1600000000, '... kept');
ok($db->user_set('carol', changed => undef), 'changed => undef');
is($db->user('carol')->{changed}, undef, '... unknown');
croaks(sub { $db->user_set('carol', hash => '*') }, qr/not one libxcrypt can verify/, 'user_set: unusable hash');
croaks(sub { $db->user_set('nobody', disabled => 1) }, qr/nobody: no such user/, 'user_set: unknown user');
is($db->status, PAM_USER_UNKNOWN, '... PAM_USER_UNKNOWN');
ok($db->user_set('carol'), 'user_set with no field: checks the user exists');
croaks(sub { $db->user_set('nobody') }, qr/no such user/, '... and croaks if not');
croaks(sub { $db->user_set('carol', warn_days => -1) }, qr/warn_days is not an integer of 0 or more/,
       'warn_days -1 croaks');
croaks(sub { $db->user_set('carol', colour => 'red') }, qr/unknown option "colour"/, 'unknown field');

# ---- attributes ---------------------------------------------------------------------
ok($db->attr_set('carol', display_name => 'Carol C'), 'attr_set');
ok($db->attr_set('carol', 'x-y.z_1', ''), 'attr_set: an empty value');
is_deeply($db->user('carol')->{attrs}, { display_name => 'Carol C', 'x-y.z_1' => '' }, '... both');
ok($db->attr_set('carol', display_name => 'Carol D'), 'attr_set: replace');
ok($db->attr_set('carol', 'x-y.z_1', undef), 'attr_set undef: delete');
is_deeply($db->user('carol')->{attrs}, { display_name => 'Carol D' }, '... replaced and deleted');
ok($db->attr_set('carol', 'never_set', undef), 'deleting an absent attribute is fine');
croaks(sub { $db->attr_set('carol', 'a b', 1) }, qr/invalid attribute name/, 'attr_set: invalid name');
croaks(sub { $db->attr_set('carol', '', 1) }, qr/invalid attribute name: empty/, 'attr_set: empty name');
croaks(sub { $db->attr_set('nobody', a => 1) }, qr/nobody: no such user/, 'attr_set: unknown user');
croaks(sub { $db->attr_set('carol', a => "\x{263a}") }, qr/attr_set: value is not a byte string/,
       'attr_set: wide character');

# ---- users, delete ------------------------------------------------------------------------
my @all = $db->users;
is_deeply([map { $_->{name} } @all], [sort map { $_->{name} } @all], 'users: in name order');
ok((grep { $_->{name} eq 'bob' } @all), '... bob among them');
ok(!(grep { exists $_->{hash} } @all), '... no hashes');
my ($b) = grep { $_->{name} eq 'bob' } $db->users(with_hash => 1);
is($b->{hash}, $sha, 'users(with_hash => 1): the hashes');
is_deeply($b->{attrs}, { display_name => 'Bob B', 'mail.home' => '/srv/mail/bob' }, '... and attributes');
ok($db->user_delete('bob'), 'user_delete');
is($db->user('bob'), undef, '... user() is undef');
is($db->status, PAM_USER_UNKNOWN, '... status PAM_USER_UNKNOWN');
croaks(sub { $db->user_delete('bob') }, qr/user_delete: bob: no such user/, 'deleting again croaks');
ok($db->user_add('bob', password => 'again', @fast), 'the name can be used again');
is_deeply($db->user('bob')->{attrs}, {}, '... without the old attributes');
croaks(sub { $db->user('a:b') }, qr/invalid user name/, 'user(): an invalid name croaks');

# ---- sessions and failure tallies ---------------------------------------------------------------
SKIP: {
    my $sdb = "$dir/users.db";
    service('web', "auth requisite faillock preauth deny=2 nodelay db=$sdb\n"
                 . "auth [success=done ignore=ignore default=die] session db=$sdb\n"
                 . "auth [success=1 default=bad] userdb db=$sdb\n"
                 . "auth [default=die] faillock authfail deny=2 nodelay db=$sdb\n"
                 . "auth sufficient faillock authsucc deny=2 nodelay db=$sdb\n"
                 . "auth required deny\n"
                 . "account required userdb db=$sdb\nsession required session db=$sdb\n");
    my ($crc, @problems) = TRex::PAM::check_config('web', confdir());
    skip "the session and faillock modules are not registered yet (@problems)", 60
        if $crc != PAM_SUCCESS || @problems;
    my $start = sub {
        my ($user, $answer, $rhost) = @_;
        my $h = TRex::PAM->new('web', $user, scripted_conv([], $answer));
        $h->pam_set_item(PAM_FAIL_DELAY, sub { });
        $h->pam_set_item(PAM_RHOST, $rhost) if defined $rhost;
        return $h;
    };
    my $open = sub {
        my $h = $start->(@_);
        return undef unless $h->pam_authenticate == PAM_SUCCESS && $h->pam_open_session == PAM_SUCCESS;
        $h->pam_get_item('TREX_SESSION_ID', my $sid);
        return $sid;
    };
    ok($db->user_add('sam', password => 'Sam-Pw-1', @fast), 'a user for sessions');
    is_deeply([$db->sessions('sam')], [], 'sessions: none yet');
    my $s1 = $open->('sam', 'Sam-Pw-1', '192.0.2.9');
    my $s2 = $open->('sam', 'Sam-Pw-1');
    like($s1 // '', qr/^trex1\./, 'two sessions opened through TRex::PAM');
    my @s = $db->sessions('sam');
    is(scalar @s, 2, 'sessions: two');
    is_deeply([sort keys %{ $s[0] }], [qw(created handle last_used rhost user)], '... these keys, nothing secret');
    like($_->{handle}, qr/^[0-9a-f]{8}\z/, '... a handle of 8 hex digits') for @s;
    is($_->{user}, 'sam', '... the user') for @s;
    ok(abs($s[0]{created} - time) < 600 && $s[0]{last_used} >= $s[0]{created}, '... times');
    my ($with) = grep { defined $_->{rhost} } @s;
    my ($without) = grep { !defined $_->{rhost} } @s;
    is($with && $with->{rhost}, '192.0.2.9', '... the remote host');
    ok($without, '... undef where there was none');
    my $dump = join ' ', map { map { $_ // '' } %$_ } @s;
    ok(index($dump, $s1) < 0 && index($dump, $s2) < 0, '... no ID in them');
    ok((grep { $_->{user} eq 'sam' } $db->sessions), 'sessions(): every user\'s');
    croaks(sub { $db->sessions('nobody') }, qr/^TRex::PAM::DB::sessions: nobody: no such user at /,
           'sessions of an unknown user croak');
    is($db->status, PAM_USER_UNKNOWN, '... PAM_USER_UNKNOWN');

    croaks(sub { $db->session_revoke('sam', 'zz') }, qr/invalid session handle/, 'session_revoke: a malformed handle');
    is($db->status, PAM_BAD_ITEM, '... PAM_BAD_ITEM');
    croaks(sub { $db->session_revoke('sam') }, qr/handle is not defined/, '... no handle');
    my $other = $with->{handle} eq 'abcdef01' ? 'abcdef02' : 'abcdef01';
    croaks(sub { $db->session_revoke('sam', $other) }, qr/sam: no session $other/, 'session_revoke: no such session');
    is($db->status, TRex::PAM::DB::NO_SESSION, '... status NO_SESSION');
    is(TRex::PAM::DB::NO_SESSION, 65, 'NO_SESSION is 65');
    is($db->session_revoke('sam', $with->{handle}), 1, 'session_revoke: one ended');
    is($start->('sam', $s1)->pam_authenticate, PAM_AUTH_ERR, '... its ID fails');
    is($start->('sam', $s2)->pam_authenticate, PAM_SUCCESS, '... the other works');
    is(scalar(my @left = $db->sessions('sam')), 1, '... one left');
    is($db->session_revoke_all('sam'), 1, 'session_revoke_all: one');
    is($start->('sam', $s2)->pam_authenticate, PAM_AUTH_ERR, '... its ID fails');
    is($db->session_revoke_all('sam'), 0, 'session_revoke_all again: 0');
    croaks(sub { $db->session_revoke_all('nobody') }, qr/nobody: no such user/, '... an unknown user croaks');
    $open->('sam', 'Sam-Pw-1');
    is($db->session_purge, 0, 'session_purge (defaults): nothing expired');
    is($db->session_purge(idle => 0, lifetime => 10), 0, 'session_purge lifetime 10: nothing that old');
    croaks(sub { $db->session_purge(idle => 0, lifetime => 0) }, qr/nothing to purge/, 'purge with no limit croaks');
    croaks(sub { $db->session_purge(idle => -1) }, qr/idle is not an integer of 0 or more/, 'a negative idle');
    croaks(sub { $db->session_purge(ttl => 1) }, qr/unknown option "ttl"/, 'an unknown option');
    is(scalar(@left = $db->sessions('sam')), 1, '... the live session stays');

    my $f = $db->faillock('sam');
    is_deeply($f, { total => 0, failures => 0, latest => undef, locked => 0, unlock_at => undef, times => [] },
              'faillock: no failures');
    is($start->('sam', 'wrong')->pam_authenticate, PAM_AUTH_ERR, 'a wrong password');
    is($start->('sam', 'wrong')->pam_authenticate, PAM_AUTH_ERR, 'another');
    is($start->('sam', 'Sam-Pw-1')->pam_authenticate, PAM_AUTH_ERR, '... locked (deny=2)');
    $f = $db->faillock('sam', deny => 2);
    is($f->{total}, 2, 'faillock: two on record');
    is($f->{failures}, 2, '... both within fail_interval');
    is(scalar @{ $f->{times} }, 2, '... two times');
    ok($f->{times}[0] <= $f->{times}[1] && $f->{times}[1] == $f->{latest}, '... oldest first, the latest last');
    is($f->{locked}, 1, '... locked with deny => 2');
    is($f->{unlock_at}, $f->{latest} + 600, '... until latest + unlock_time (600 by default)');
    is($db->faillock('sam')->{locked}, 0, 'deny 3 (the default): not locked');
    is($db->faillock('sam', deny => 2, unlock_time => 'never')->{unlock_at}, undef, "unlock_time 'never': no end");
    is_deeply($db->faillock('nobody'), { total => 0, failures => 0, latest => undef, locked => 0,
                                         unlock_at => undef, times => [] },
              'faillock of a name nobody has: its (empty) record, as any name has one');
    is($db->status, PAM_SUCCESS, '... PAM_SUCCESS');
    croaks(sub { $db->faillock('sam', deny => 65536) }, qr/deny is not an integer from 0 to 65535/, 'deny too big');
    croaks(sub { $db->faillock('sam', unlock_time => 'soon') }, qr/unlock_time is not an integer/, 'a bad unlock_time');
    is($db->faillock_reset('sam'), 2, 'faillock_reset: two cleared');
    is($db->faillock('sam', deny => 2)->{total}, 0, '... none left');
    is($start->('sam', 'Sam-Pw-1')->pam_authenticate, PAM_SUCCESS, '... and sam logs in again');
    is($db->faillock_reset('nobody'), 0, 'faillock_reset: a name nobody has, none cleared');
    my $ro = TRex::PAM::DB->open(path => $sdb, readonly => 1);
    croaks(sub { $ro->session_revoke_all('sam') }, qr/opened read-only/, 'read-only: session_revoke_all croaks');
    croaks(sub { $ro->faillock_reset('sam') }, qr/opened read-only/, 'read-only: faillock_reset croaks');
    ok(defined $ro->faillock('sam') && scalar(() = $ro->sessions('sam')) == 1, 'read-only: lookups work');
}

# ---- read-only --------------------------------------------------------------------------------
{
    my $ro = TRex::PAM::DB->open(path => "$dir/users.db", readonly => 1);
    ok($ro->user('alice'), 'readonly: lookups work');
    croaks(sub { $ro->user_set('alice', disabled => 1) }, qr/opened read-only/, 'readonly: a change croaks');
    is($ro->status, PAM_PERM_DENIED, '... status PAM_PERM_DENIED');
    croaks(sub { $ro->user_add('zed') }, qr/opened read-only/, '... user_add too');
    is($db->user('alice')->{disabled}, 0, '... nothing changed');
}

# ---- functions ----------------------------------------------------------------------------------
ok(TRex::PAM::DB::hash_usable($sha), 'hash_usable: sha512crypt');
ok(TRex::PAM::DB::hash_usable(crypt('x', '$1$saltsalt$')), 'hash_usable: md5crypt');
ok(TRex::PAM::DB::hash_usable('$2y$05$' . ('a' x 53)), 'hash_usable: $2y$ bcrypt');
ok(!TRex::PAM::DB::hash_usable($_), 'hash_usable: not ' . (defined $_ ? substr($_, 0, 8) =~ s/[^ -~]/?/gr : 'undef'))
    for ('', '!', '*', '!!', "!$sha", '$apr1$abcdefgh$abcdefghijklmnopqrstuv', '{SSHA}abc', undef, "\x{263a}");
my @m = TRex::PAM::DB::methods();
is($m[0], 'yescrypt', 'methods: yescrypt first');
ok((grep { $_ eq 'bcrypt' } @m), '... bcrypt among them');
ok(TRex::PAM::DB::check_policy('yescrypt', 5), 'check_policy: yescrypt 5');
ok(TRex::PAM::DB::check_policy(undef), 'check_policy: the default');
ok(TRex::PAM::DB::check_policy('$6$'), 'check_policy: a prefix');
ok(!TRex::PAM::DB::check_policy('rot13'), 'check_policy: not rot13');
ok(!TRex::PAM::DB::check_policy('bcrypt', 'x'), 'check_policy: not a bad cost');
{
    my $s = 'secret';
    my $t = 'other';
    TRex::PAM::DB::wipe($s, $t);
    is($s, '', 'wipe empties the scalar');
    is($t, '', '... every one given');
    for my $ro ('constant') {                       # $ro aliases a read-only literal
        ok(eval { TRex::PAM::DB::wipe($ro); 1 }, 'wipe does not croak on a read-only value')
            or diag $@;
        is($ro, 'constant', '... and leaves it alone');
    }
}

# ---- objects: forged, closed, subclass, fork ------------------------------------------------------
croaks(sub { TRex::PAM::DB::users(bless \my $x, 'TRex::PAM::DB') }, qr/self is not a TRex::PAM::DB object/,
       'a forged object croaks');
croaks(sub { TRex::PAM::DB::user_add('TRex::PAM::DB', 'x') }, qr/self is not a TRex::PAM::DB object/,
       'a class name croaks');
{
    package My::DB;
    our @ISA = ('TRex::PAM::DB');
}
my $sub = My::DB->open(path => "$dir/users.db");
isa_ok($sub, 'My::DB', 'open through a subclass');
ok($sub->user('alice'), '... works');
{
    my $c = TRex::PAM::DB->open(path => "$dir/users.db");
    $c->close;
    croaks(sub { $c->user('alice') }, qr/user: the database is closed/, 'after close, methods croak');
    is($c->error, 'the database is closed', '... error says so');
    ok(eval { $c->close; 1 }, 'closing twice does not croak') or diag $@;
    croaks(sub { $c->user('alice') }, qr/user: the database is closed/, '... and it stays closed');
}
is(TRex::PAM::DB->CLONE_SKIP, 1, 'not cloned into threads');
SKIP: {
    skip 'valgrind counts what a child leaves at _exit as leaks', 2 if $ENV{TREX_PAM_UNDER_VALGRIND};
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $ok = eval { $db->users; 1 };
        my $right = !$ok && $@ =~ /opened by process \d+; open it again/;
        my $again = eval { TRex::PAM::DB->open(path => "$dir/users.db")->user('alice') };
        require POSIX;
        POSIX::_exit($right && $again ? 0 : 1);
    }
    waitpid $pid, 0;
    is($? >> 8, 0, 'in a forked child the parent\'s object croaks; a new one works');
    ok($db->user('alice'), '... and the parent\'s still works');
}

done_testing;
