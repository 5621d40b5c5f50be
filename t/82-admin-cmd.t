#!/usr/bin/perl
# bin/trex-pam's user commands end to end on a database in a temporary
# directory: init, useradd, passwd, usermod, userdel, list, show (no hashes
# unless asked), --password-stdin, the terminal prompt without echo, exit
# codes 0/1/2, and that no password ever reaches the output.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir command);
use TRex::PAM::DB;
use MIME::Base64 ();

my $dir = tempdir();
my $db = "$dir/users.db";
$ENV{TREX_PAM_DB} = $db;

# run($stdin, @args): exit code, stdout, stderr
sub run {
    my ($stdin, @args) = @_;
    return command($stdin, $^X, '-Mblib', 'bin/trex-pam', @args);
}

sub user { TRex::PAM::DB->open(path => $db, readonly => 1)->user(@_) }

# ---- init -----------------------------------------------------------------------
my ($rc, $out, $err) = run('', 'list');
is($rc, 1, 'list before init: 1');
like($err, qr/^trex-pam: \Q$db\E: /, '... naming the file');
($rc, $out, $err) = run('', 'init');
is($rc, 0, 'init: 0') or diag($err);
like($out, qr/\Q$db\E: user database created/, '... created');
is((stat $db)[2] & 07777, 0600, '... mode 0600');
($rc, $out, $err) = run('', 'init');
is($rc, 0, 'init again: 0');
like($out, qr/already a user database, left as it is/, '... left as it is');
($rc, $out, $err) = run('', 'init', '--db', "$dir/sub/dir/g.db", '--group');
is($rc, 0, 'init --db in a new directory --group: 0') or diag($err);
is((stat "$dir/sub/dir/g.db")[2] & 07777, 0660, '... file mode 0660');
ok(-d "$dir/sub/dir", '... the directory was made');
is((stat "$dir/sub/dir")[2] & 07777, 0750, '... mode 0750');
($rc, $out, $err) = run('', 'list', '--db', "$dir/sub/dir/g.db");
is($rc, 0, '... a store of that shape is used') or diag($err);
chmod 0640, "$dir/sub/dir/g.db";
($rc, $out, $err) = run('', 'list', '--db', "$dir/sub/dir/g.db");
is($rc, 1, '... but not one its group may only read (not the --group shape): 1');
like($err, qr{^trex-pam: \Q$dir\E/sub/dir/g\.db: readable by its group \(mode 0640\): run chmod g-rwx},
     '... saying what to change');
chmod 0604, $db;
($rc, $out, $err) = run('', 'list');
is($rc, 1, 'a store others may read: 1');
is($err, "trex-pam: $db: readable by others (mode 0604): run chmod o-rwx $db\n", '... saying what to change');
chmod 0600, $db;
($rc, $out, $err) = run('', '--db', "$dir/global.db", 'init');
is($rc, 0, '--db before the command') or diag($err);
ok(-f "$dir/global.db", '... used');
{
    open my $fh, '>', "$dir/junk.db" or die $!;
    print {$fh} "hello\n";
    close $fh;
    ($rc, $out, $err) = run('', 'init', '--db', "$dir/junk.db");
    is($rc, 1, 'init on a file that is no database: 1');
    like($err, qr/junk\.db: /, '... naming it');
    is(-s "$dir/junk.db", 6, '... left untouched');
}
($rc, $out, $err) = run('', 'init', 'extra');
is($rc, 2, 'init with an argument: 2');

# ---- useradd ----------------------------------------------------------------------
($rc, $out, $err) = run("s3cret-Pw\n", 'useradd', 'alice', '--password-stdin', '--max-days', 90,
                        '--warn-days', 7, '--min-days', 1, '--attr', 'display_name=Alice Liddell',
                        '--attr', 'mail_home=/srv/mail/alice');
is($rc, 0, 'useradd --password-stdin: 0') or diag($err);
like($out, qr/user alice added/, '... reported');
my $u = user('alice', with_hash => 1);
is(crypt('s3cret-Pw', $u->{hash}), $u->{hash}, '... the password from stdin (line end removed)');
is($u->{method}, 'yescrypt', '... yescrypt by default');
is_deeply([@$u{qw(max_days warn_days min_days disabled force_change)}], [90, 7, 1, 0, 0], '... the fields');
is_deeply($u->{attrs}, { display_name => 'Alice Liddell', mail_home => '/srv/mail/alice' }, '... the attributes');

($rc, $out, $err) = run("pw\r\n", 'useradd', '--password-stdin', 'bob', '--method', 'sha512crypt',
                        '--cost', 1000, '--disabled', '--expires', '2031-02-03', '--force-change');
is($rc, 0, 'useradd with options before the name, --method, --cost') or diag($err);
$u = user('bob', with_hash => 1);
like($u->{hash}, qr/^\$6\$rounds=1000\$/, '... sha512crypt, 1000 rounds');
is(crypt('pw', $u->{hash}), $u->{hash}, '... CR LF removed');
is_deeply([@$u{qw(disabled force_change expires)}], [1, 1, 1927843200], '... disabled, change, expiry (UTC)');

($rc, $out, $err) = run('', 'useradd', 'carol', '--no-password');
is($rc, 0, 'useradd --no-password: 0') or diag($err);
like($out, qr/carol added without a password/, '... said so');
is(user('carol')->{method}, 'none', '... no password');

($rc, $out, $err) = run("x\n", 'useradd', 'alice', '--password-stdin');
is($rc, 1, 'useradd of an existing user: 1');
like($err, qr/^trex-pam: useradd: alice: user already exists$/m, '... said on stderr');
($rc, $out, $err) = run('', 'useradd', 'dave');
is($rc, 2, 'useradd without a terminal and without --password-stdin: 2');
like($err, qr/not a terminal: give the password with --password-stdin/, '... says what to do');
ok(!user('dave'), '... nothing added');
($rc, $out, $err) = run('', 'useradd', 'dave', '--password-stdin');
is($rc, 1, 'useradd --password-stdin with empty stdin: 1');
like($err, qr/no password on standard input/, '... said');
($rc, $out, $err) = run("\n", 'useradd', 'dave', '--password-stdin');
is($rc, 1, 'an empty line: 1');
like($err, qr/empty password/, '... said');
ok(!user('dave'), '... nothing added');
($rc, $out, $err) = run("x\n", 'useradd', 'da:ve', '--password-stdin');
is($rc, 1, 'an invalid user name: 1');
like($err, qr/useradd: invalid user name: contains ':'/, '... the rule');
for my $t ([['--expires', '2031-02-30'], qr/--expires: "2031-02-30" is not a date/],
           [['--expires', 'tomorrow'], qr/is not a date \(YYYY-MM-DD\) or "never"/],
           [['--max-days', 'x'], qr/--max-days: "x" is not a number of days/],
           [['--min-days', '-1'], qr/--min-days: "-1" is not a number of days/],
           [['--attr', 'novalue'], qr/--attr: "novalue" is not NAME=VALUE/],
           [['--method', 'rot13'], qr/unknown hashing method or cost .*methods here: yescrypt/],
           [['--password=x'], qr/Unknown option: password/],
           [['--no-password', '--password-stdin'], qr/exclude each other/],
           [['--no-password', '--method', 'bcrypt'], qr/need a password/],
           [['--frobnicate'], qr/Unknown option: frobnicate/]) {
    ($rc, $out, $err) = run("pw\n", 'useradd', 'erin', @{ $t->[0] });
    is($rc, 2, "useradd @{ $t->[0] }: 2");
    like($err, $t->[1], '... the reason');
}
($rc, $out, $err) = run("pw\n", 'useradd', 'erin', '--password-stdin', '--attr', 'bad name=1');
is($rc, 1, 'an invalid attribute name: 1');
like($err, qr/invalid attribute name/, '... said');
ok(!user('erin'), 'erin was never added');
($rc, $out, $err) = run("pw\n", 'useradd', 'erin', 'frank', '--password-stdin');
is($rc, 2, 'two user names: 2');

# ---- passwd -------------------------------------------------------------------------
($rc, $out, $err) = run("n3w-Secret\n", 'passwd', 'alice', '--password-stdin');
is($rc, 0, 'passwd --password-stdin: 0') or diag($err);
$u = user('alice', with_hash => 1);
is(crypt('n3w-Secret', $u->{hash}), $u->{hash}, '... the new password');
($rc, $out, $err) = run("other\n", 'passwd', 'bob', '--password-stdin', '--method', 'bcrypt', '--cost', 4);
is($rc, 0, 'passwd --method bcrypt --cost 4: 0') or diag($err);
$u = user('bob', with_hash => 1);
like($u->{hash}, qr/^\$2b\$04\$/, '... a bcrypt hash of cost 4');
is($u->{force_change}, 0, '... the forced change is cleared');
{
    # a password of a session ID's shape: the session line would take it for one
    my $tok = 'trex1.' . MIME::Base64::encode_base64url(join '', map { chr int rand 256 } 1 .. 32);
    my $before = user('alice', with_hash => 1)->{hash};
    ($rc, $out, $err) = run("$tok\n", 'passwd', 'alice', '--password-stdin');
    is($rc, 1, "passwd to a session ID's shape: 1");
    like($err, qr/form of a session ID \(trex1\. and 43 characters\): choose another/, '... said why');
    unlike($out . $err, qr/\Q$tok\E/, '... without the password');
    is(user('alice', with_hash => 1)->{hash}, $before, '... nothing changed');
    ($rc, $out, $err) = run("$tok\n", 'useradd', 'tokenuser', '--password-stdin');
    is($rc, 1, 'useradd with it: 1');
    is(user('tokenuser'), undef, '... no user added');
}
($rc, $out, $err) = run("x\n", 'passwd', 'nobody', '--password-stdin');
is($rc, 1, 'passwd of an unknown user: 1');
like($err, qr/passwd: nobody: no such user/, '... said');
($rc, $out, $err) = run('', 'passwd', 'alice');
is($rc, 2, 'passwd without a terminal: 2');
($rc, $out, $err) = run('', 'passwd');
is($rc, 2, 'passwd without a user: 2');

# ---- usermod --------------------------------------------------------------------------
($rc, $out, $err) = run('', 'usermod', 'alice', '--disable', '--expires', '2030-01-01', '--max-days', 'never',
                        '--min-days', 3, '--warn-days', 10, '--force-change', '--attr', 'display_name=Alice L.',
                        '--attr', 'x=1', '--delete-attr', 'mail_home');
is($rc, 0, 'usermod with every option: 0') or diag($err);
$u = user('alice');
is_deeply([@$u{qw(disabled expires max_days min_days warn_days force_change)}], [1, 1893456000, -1, 3, 10, 1],
          '... the fields');
is_deeply($u->{attrs}, { display_name => 'Alice L.', x => 1 }, '... the attributes');
($rc, $out, $err) = run('', 'usermod', 'alice', '--enable', '--expires', 'never', '--no-force-change',
                        '--max-days', 60);
is($rc, 0, 'usermod --enable --expires never --no-force-change: 0') or diag($err);
$u = user('alice');
is_deeply([@$u{qw(disabled expires max_days force_change)}], [0, undef, 60, 0], '... changed back');
($rc, $out, $err) = run('', 'usermod', 'alice');
is($rc, 2, 'usermod with nothing to change: 2');
($rc, $out, $err) = run('', 'usermod', 'alice', '--disable', '--enable');
is($rc, 2, '--disable and --enable: 2');
($rc, $out, $err) = run('', 'usermod', 'nobody', '--disable');
is($rc, 1, 'usermod of an unknown user: 1');
like($err, qr/usermod: nobody: no such user/, '... said');
($rc, $out, $err) = run('', 'usermod', 'nobody', '--attr', 'a=b');
is($rc, 1, '... also with only attributes');
($rc, $out, $err) = run('', 'usermod', 'alice', '--delete-attr', 'bad name');
is($rc, 1, 'an invalid attribute name: 1');

# ---- list, show --------------------------------------------------------------------------
($rc, $out, $err) = run('', 'list');
is($rc, 0, 'list: 0') or diag($err);
like($out, qr/^USER\s+PASSWORD\s+ACCOUNT\s+EXPIRES\s+CHANGED\s+MAX-DAYS$/m, '... a header');
like($out, qr/^alice\s+yescrypt\s+enabled\s+never\s+\d{4}-\d\d-\d\d\s+60$/m, '... alice');
like($out, qr/^bob\s+bcrypt\s+disabled\s+2031-02-03\s/m, '... bob');
like($out, qr/^carol\s+none\s+enabled\s+never\s+-\s+-$/m, '... carol');
unlike($out, qr/\$(?:y|2b|6)\$/, '... and no hash');
($rc, $out, $err) = run('', 'list', '--hashes');
is($rc, 0, 'list --hashes: 0');
my $alice_hash = user('alice', with_hash => 1)->{hash};
like($out, qr/^alice\s.*\Q$alice_hash\E$/m, '... the hashes');

($rc, $out, $err) = run('', 'show', 'alice');
is($rc, 0, 'show: 0') or diag($err);
like($out, qr/^user:\s+alice$/m, '... user');
like($out, qr/^password:\s+yescrypt$/m, '... method');
like($out, qr/^account:\s+enabled$/m, '... account');
like($out, qr/^max days:\s+60$/m, '... max days');
like($out, qr/^attr display_name:\s+Alice L\.$/m, '... attributes');
unlike($out, qr/^hash:/m, '... no hash line');
unlike($out, qr/\Q$alice_hash\E/, '... and no hash');
($rc, $out, $err) = run('', 'show', 'alice', '--hashes');
like($out, qr/^hash:\s+\Q$alice_hash\E$/m, 'show --hashes: the hash');
($rc, $out, $err) = run('', 'show', 'bob');
like($out, qr/^account:\s+disabled$/m, 'show: a disabled account');
($rc, $out, $err) = run('', 'show', 'nobody');
is($rc, 1, 'show of an unknown user: 1');
like($err, qr/show: nobody: no such user/, '... said');
($rc, $out, $err) = run('', 'show');
is($rc, 2, 'show without a user: 2');

# ---- userdel ---------------------------------------------------------------------------------
($rc, $out, $err) = run('', 'userdel', 'carol');
is($rc, 0, 'userdel: 0') or diag($err);
ok(!user('carol'), '... gone');
($rc, $out, $err) = run('', 'userdel', 'carol');
is($rc, 1, 'userdel of an unknown user: 1');
like($err, qr/userdel: carol: no such user/, '... said');

# ---- the terminal: asked twice, no echo ---------------------------------------------------------
# script(1) runs the command on a new terminal; we answer each prompt once it
# has appeared (what is typed before would be echoed and then flushed).
sub on_tty {
    my ($script, $args, @answers) = @_;
    require IPC::Open2;
    my $cmd = join ' ', map { "'" . s/'/'\\''/gr . "'" } $^X, '-Mblib', 'bin/trex-pam', @$args;
    my $pid = IPC::Open2::open2(my $out, my $in, $script, '-qec', $cmd, '/dev/null');
    my $log = '';
    my $ok = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 60;
        for my $answer (@answers) {
            $log .= getc($out) // die "eof\n" until $log =~ /assword: \z/;
            print {$in} "$answer\n";
            $in->flush;
            $log .= getc($out) // last until $log =~ /\n\z/;
        }
        local $/;
        $log .= <$out> // '';
        alarm 0;
        1;
    };
    alarm 0;
    close $in;
    close $out;
    waitpid $pid, 0;
    return ($ok ? $? >> 8 : -1, $log);
}

SKIP: {
    my ($script) = grep { -x } map { "$_/script" } split /:/, $ENV{PATH};
    skip 'script(1) is not installed: no terminal to test the prompt on', 9 unless $script;
    my ($rc2, $log) = on_tty($script, ['useradd', 'tina'], 'Tty-Pass-1', 'Tty-Pass-1');
    skip "script(1) does not run here: $log", 9 if $rc2 == -1 && $log !~ /password/;
    is($rc2, 0, 'useradd on a terminal: 0') or diag($log);
    like($log, qr/New password: .*Retype new password: /s, '... asked twice');
    unlike($log, qr/Tty-Pass-1/, '... without echo');
    my $t = user('tina', with_hash => 1);
    ok($t && crypt('Tty-Pass-1', $t->{hash}) eq $t->{hash}, '... the password typed');
    ($rc2, $log) = on_tty($script, ['passwd', 'tina'], 'Tty-Pass-2', 'Tty-Pass-3');
    is($rc2, 1, 'passwd: two different passwords: 1') or diag($log);
    like($log, qr/the passwords do not match; nothing changed/, '... said');
    ($rc2, $log) = on_tty($script, ['passwd', 'tina', '--password-stdin'], 'Tty-Pass-4');
    is($rc2, 0, 'passwd --password-stdin on a terminal: 0') or diag($log);
    unlike($log, qr/Tty-Pass-4/, '... read without echo');
    $t = user('tina', with_hash => 1);
    ok(crypt('Tty-Pass-4', $t->{hash}) eq $t->{hash}, '... the password typed');
}

# no password typed above ever reached the output
($rc, $out, $err) = run('', 'list', '--hashes');
unlike($out . $err, qr/s3cret|n3w-Secret|Tty-Pass/, 'no password in any output');

($rc, $out, $err) = run('', '--help');
is($rc, 0, '--help: 0');
like($out, qr/\binit\b.*\buseradd\b.*\bpasswd\b.*\busermod\b.*\buserdel\b.*\blist\b.*\bshow\b.*\bimport\b.*EXIT STATUS.*ENVIRONMENT.*FILES/s,
     '... the manual names every command');
done_testing;
