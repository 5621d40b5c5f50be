#!/usr/bin/perl
# A store file others may read, or its group outside the shape `trex-pam
# init --group` makes (file 0660, directory 0750), or one under a directory
# its group or others may write, is refused as sshd's StrictModes refuses:
# by a module (PAM_AUTHINFO_UNAVAIL and one log line saying what to change),
# by trex-pam's commands (exit 1 with that line) and by check-config. A
# sticky directory of root's above the store's own (like /tmp) is fine; the
# store's own directory never. The -wal and -shm beside it count as it does.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir confdir service capture_stderr command);
use TRex::PAM qw(:DEFAULT :constants);
use TRex::PAM::DB;

my $dir = tempdir();
delete @ENV{qw(TREX_PAM_STORE TREX_PAM_DB)};
confdir();

sub trex { command('', $^X, '-Mblib', 'bin/trex-pam', @_) }

# A store with alice (password pw) at $path, made by trex-pam init.
sub make_store {
    my ($path, @opt) = @_;
    my ($rc, $out, $err) = trex('init', '--db', $path, @opt);
    is($rc, 0, "init $path @opt") or diag($err);
    my $db = TRex::PAM::DB->open(path => $path);
    $db->user_add('alice', password => 'pw', method => 'sha512crypt', cost => 1000);
    return $path;
}

# In a process of its own: a process that keeps a store open (the modules'
# connections live as long as the configuration stays cached) checks it at
# its open, not at every login after a chmod.
sub login {
    my ($service) = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $h = TRex::PAM->new($service, 'alice', sub { my @r; while (@_) { splice @_, 0, 2; push @r, 0, 'pw' } (@r, 0) });
        exit 255 unless ref $h;
        $h->pam_set_item(PAM_FAIL_DELAY, sub { });
        my $rc = $h->pam_authenticate;
        undef $h;
        exit $rc;
    }
    waitpid $pid, 0;
    return $? >> 8;
}

# ---- the file ------------------------------------------------------------------------
mkdir "$dir/s", 0700 or die;
my $f = make_store("$dir/s/users.db");
service('web', "auth required userdb db=$f\naccount required userdb db=$f\n");
is(login('web'), PAM_SUCCESS, 'a private store: the login works');

chmod 0644, $f;
my ($log, $r) = capture_stderr { login('web') };
is($r, PAM_AUTHINFO_UNAVAIL, 'a store others may read: the module refuses it (AUTHINFO_UNAVAIL)');
my @lines = grep { /readable by others/ } split /\n/, $log;
is(scalar @lines, 1, '... one log line') or diag($log);
like($lines[0] // '', qr{userdb: \Q$f\E: readable by others \(mode 0644\): run chmod o-rwx \Q$f\E$},
     '... naming the file, what is wrong and what to change');
my ($rc, $out, $err) = trex('list', '--db', $f);
is($rc, 1, 'trex-pam list on it: exit 1');
is($err, "trex-pam: $f: readable by others (mode 0644): run chmod o-rwx $f\n", '... with that line');
($rc, $out, $err) = trex('check-config', 'web');
is($rc, 1, 'check-config: exit 1');
like($out, qr{^web:1: userdb: store \(db=\): \Q$f\E: readable by others \(mode 0644\): run chmod o-rwx}m,
     '... reporting the line and the fix') or diag($out . $err);

chmod 0640, $f;
($rc, $out, $err) = trex('list', '--db', $f);
is($rc, 1, 'readable by its group without the --group shape: exit 1');
like($err, qr{\Q$f\E: readable by its group \(mode 0640\): run chmod g-rwx \Q$f\E, or chmod g=rw}, '... said');
is(login('web'), PAM_AUTHINFO_UNAVAIL, '... the module refuses it too');

chmod 0600, $f;
is(login('web'), PAM_SUCCESS, 'chmod 0600: the login works again');
SKIP: {
    skip 'no -wal beside the store', 3 unless -e "$f-wal";
    chmod 0644, "$f-wal";
    ($rc, $out, $err) = trex('list', '--db', $f);
    is($rc, 1, 'a -wal others may read: exit 1');
    like($err, qr{\Q$f\E-wal: readable by others \(mode 0644\): run chmod o-rwx \Q$f\E-wal}, '... naming the -wal');
    chmod 0600, "$f-wal";
    ($rc, $out, $err) = trex('list', '--db', $f);
    is($rc, 0, '... chmod 0600: fine again') or diag($err);
}

# ---- the --group shape ----------------------------------------------------------------
my $g = make_store("$dir/shared/users.db", '--group');
is((stat "$dir/shared")[2] & 07777, 0750, 'init --group: the directory 0750');
is((stat $g)[2] & 07777, 0660, '... the file 0660');
($rc, $out, $err) = trex('list', '--db', $g);
is($rc, 0, '... accepted') or diag($err);
service('shared', "auth required userdb db=$g\n");
is(login('shared'), PAM_SUCCESS, '... by the module too');
chmod 0770, "$dir/shared";
($rc, $out, $err) = trex('list', '--db', $g);
is($rc, 1, 'the same in a group-writable directory: exit 1');
like($err, qr{directory \Q$dir\E/shared: writable by its group \(mode 0770\): run chmod g-w}, '... said');
chmod 0750, "$dir/shared";

# ---- the directories above -----------------------------------------------------------
mkdir "$dir/ww", 0700 or die;
my $w = make_store("$dir/ww/sub/users.db");
chmod 0777, "$dir/ww";
($rc, $out, $err) = trex('list', '--db', $w);
is($rc, 1, 'a world-writable directory above the store: exit 1');
like($err, qr{directory \Q$dir\E/ww: writable by others \(mode 0777\): run chmod go-w \Q$dir\E/ww}, '... said');
service('ww', "auth required userdb db=$w\n");
is(login('ww'), PAM_AUTHINFO_UNAVAIL, '... the module refuses it');
chmod 01777, "$dir/ww";
SKIP: {
    skip 'a sticky directory of root\'s needs root', 2 unless $> == 0;
    ($rc, $out, $err) = trex('list', '--db', $w);
    is($rc, 0, 'sticky and root\'s above the store\'s own (like /tmp): fine') or diag($err);
    is(login('ww'), PAM_SUCCESS, '... for the module too');
}
($rc, $out, $err) = trex('init', '--db', "$dir/ww/new.db");
is($rc, 1, 'init in a sticky world-writable directory itself: exit 1');
like($err, qr{writable by others \(mode 1777\): run chmod o-w .*a directory of its own}, '... said');
ok(!-e "$dir/ww/new.db", '... nothing made');
chmod 0700, "$dir/ww";

# ---- made under umask 022: still private --------------------------------------------
{
    my $old = umask 022;
    my ($rc2, undef, $err2) = trex('init', '--db', "$dir/u/users.db");
    umask $old;
    is($rc2, 0, 'init under umask 022') or diag($err2);
    is((stat "$dir/u")[2] & 07777, 0700, '... the directory 0700');
    is((stat "$dir/u/users.db")[2] & 07777, 0600, '... the file 0600');
}

done_testing;
