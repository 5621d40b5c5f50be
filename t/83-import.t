#!/usr/bin/perl
# trex-pam import and TRex::PAM::Import: shadow, htpasswd and Dovecot
# passwd-files; every hash libxcrypt verifies is kept byte for byte, the rest
# is reported by file:line (never with the hash) and skipped; existing users
# are skipped unless --update; exit 1 when anything was skipped.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir);
use TRex::PAM::DB;
use TRex::PAM::Import;

my $dir = tempdir();
my $dbfile = "$dir/users.db";
$ENV{TREX_PAM_DB} = $dbfile;

sub put { my ($n, $t) = @_; open my $fh, '>', "$dir/$n" or die $!; print {$fh} $t; close $fh; "$dir/$n" }
sub run {
    my ($stdin, @args) = @_;
    put('.stdin', $stdin);
    my $cmd = join ' ', map { "'" . s/'/'\\''/gr . "'" } $^X, '-Mblib', 'bin/trex-pam', @args;
    system("$cmd < '$dir/.stdin' > '$dir/.out' 2> '$dir/.err'");
    my $rc = $? >> 8;
    return ($rc, map { local $/; open my $fh, '<', $_ or die $!; scalar <$fh> } "$dir/.out", "$dir/.err");
}
my $db = TRex::PAM::DB->open(path => $dbfile, create => 1);
sub hash_of { my $u = $db->user($_[0], with_hash => 1); $u ? $u->{hash} : undef }

# hashes of every kind libxcrypt verifies (a yescrypt one made by the store)
$db->user_add('tmp', password => 'pw');
my %h = (
    yescrypt => hash_of('tmp'),
    sha512   => crypt('pw', '$6$saltsalt$'),
    sha256   => crypt('pw', '$5$saltsalt$'),
    md5      => crypt('pw', '$1$saltsalt$'),
    bcrypt   => crypt('pw', '$2y$04$abcdefghijklmnopqrstuu'),
    des      => crypt('pw', 'ab'),
);
$db->user_delete('tmp');
ok(TRex::PAM::DB::hash_usable($h{$_}), "test hash $_ is usable") for sort keys %h;
my $apr1 = '$apr1$abcdefgh$0123456789abcdefghijkl';

# ---- the parsers -----------------------------------------------------------------
{
    my ($r) = TRex::PAM::Import::parse_line('shadow', "ann:$h{sha512}:19000:1:90:7:30:20000:\n");
    is_deeply($r, { name => 'ann', hash => $h{sha512}, changed => 19000 * 86400, min_days => 1,
                    max_days => 90, warn_days => 7, expires => 20000 * 86400 }, 'parse_line shadow');
    ($r) = TRex::PAM::Import::parse_line('shadow', "ann:$h{sha512}:0::::::");
    is_deeply($r, { name => 'ann', hash => $h{sha512}, force_change => 1, min_days => 0, max_days => -1,
                    warn_days => 0 }, '... lastchg 0: must change; empty fields: defaults');
    ($r) = TRex::PAM::Import::parse_line('shadow', "ann:$h{sha512}::::::0:");
    is($r->{expires}, 1, '... expire 0: already expired');
    is_deeply([TRex::PAM::Import::parse_line('shadow', "  \n")], [], '... a blank line: nothing');
    is_deeply([TRex::PAM::Import::parse_line('shadow', "# comment\n")], [], '... a comment: nothing');
    my ($no, $why) = TRex::PAM::Import::parse_line('shadow', "ann:$h{sha512}:x::::::");
    like($why, qr/last change \(field 3\) is not a number/, '... a bad number');
    ($no, $why) = TRex::PAM::Import::parse_line('shadow', "ann:$h{sha512}:1:2:3:4:5:6:7:8");
    like($why, qr/not a shadow line/, '... ten fields');
    ($no, $why) = TRex::PAM::Import::parse_line('shadow', 'ann');
    like($why, qr/not a shadow line/, '... one field');
    ($r) = TRex::PAM::Import::parse_line('htpasswd', "bea:$h{bcrypt}\r\n");
    is_deeply($r, { name => 'bea', hash => $h{bcrypt} }, 'parse_line htpasswd (CR LF)');
    ($r) = TRex::PAM::Import::parse_line('dovecot', "cid:{SHA512-CRYPT}$h{sha512}:1000:1000::/home/cid::userdb_x=1");
    is_deeply($r, { name => 'cid', hash => $h{sha512} }, 'parse_line dovecot: the scheme removed');
    ($r) = TRex::PAM::Import::parse_line('dovecot', "cid:{blf-crypt}$h{bcrypt}");
    is($r->{hash}, $h{bcrypt}, '... lower-case scheme');
    ($r) = TRex::PAM::Import::parse_line('dovecot', "cid:$h{md5}");
    is($r->{hash}, $h{md5}, '... a bare crypt string');
    ($no, $why) = TRex::PAM::Import::parse_line('dovecot', 'cid:{PLAIN}secret:::');
    like($why, qr/scheme \{PLAIN\} is not a crypt\(3\) hash/, '... {PLAIN} refused');
    unlike($why, qr/secret/, '... without the password');
    like((TRex::PAM::Import::parse_line('htpasswd', "x:$apr1"))[1], qr/\$apr1\$\) is a hash libxcrypt cannot verify/,
         '$apr1$ refused');
    like(TRex::PAM::Import::hash_problem('!'), qr/locked/, 'hash_problem: !');
    like(TRex::PAM::Import::hash_problem('*'), qr/no valid password/, 'hash_problem: *');
    like(TRex::PAM::Import::hash_problem(''), qr/no password/, 'hash_problem: empty');
    is(TRex::PAM::Import::hash_problem($h{des}), undef, 'hash_problem: none for descrypt');
    is(TRex::PAM::Import::guess_format("a:$h{sha512}:19000:0:99999:7:::"), 'shadow', 'guess: shadow');
    is(TRex::PAM::Import::guess_format("a:$h{sha512}"), 'htpasswd', 'guess: htpasswd');
    is(TRex::PAM::Import::guess_format("a:{PLAIN}x"), 'dovecot', 'guess: dovecot by scheme');
    is(TRex::PAM::Import::guess_format("a:$h{sha512}:1000:1000::/home/a::"), 'dovecot', 'guess: dovecot by fields');
    is_deeply([TRex::PAM::Import::formats()], [qw(shadow htpasswd dovecot)], 'formats');
}

# ---- shadow ---------------------------------------------------------------------
my $shadow = put('shadow', join '',
    "root:!:19000:0:99999:7:::\n",                              # 1 locked
    "ann:$h{yescrypt}:19000:0:99999:7:::\n",                    # 2
    "daemon:*:19000:0:99999:7:::\n",                            # 3 no login
    "\n",                                                       # 4 blank
    "bert:$h{sha512}:0:1:90:14:30:21000:\n",                    # 5 must change, expires
    "carl:$h{md5}:19500::::::\n",                               # 6
    "dina::19000:0:99999:7:::\n",                               # 7 empty password
    "ed:$h{bcrypt}:19000:x:99999:7:::\n",                       # 8 bad number
    "flo:!$h{sha512}:19000:0:99999:7:::\n",                     # 9 locked hash
    "gus:$h{des}:19000:0:99999:7::0:\n",                        # 10 expired at 0
    "ann:$h{sha256}:19000:0:99999:7:::\n",                      # 11 duplicate
);
my ($rc, $out, $err) = run('', 'import', '--format', 'shadow', $shadow);
is($rc, 1, 'import shadow with bad lines: 1');
like($out, qr/\Q$shadow\E \(shadow\): 4 added, 0 updated, 6 skipped/, '... the summary');
like($err, qr/^trex-pam: \Q$shadow\E:1: locked password \("!"\): not imported; skipped$/m, '... line 1: locked');
like($err, qr/^trex-pam: \Q$shadow\E:3: no valid password \("\*"\)/m, '... line 3: *');
like($err, qr/^trex-pam: \Q$shadow\E:7: no password \(empty field\)/m, '... line 7: empty');
like($err, qr/^trex-pam: \Q$shadow\E:8: the minimum age \(field 4\) is not a number/m, '... line 8: bad number');
like($err, qr/^trex-pam: \Q$shadow\E:9: locked password/m, '... line 9: !hash');
like($err, qr/^trex-pam: \Q$shadow\E:11: ann: user already exists \(--update replaces it\); skipped$/m,
     '... line 11: an existing user');
unlike($err, qr/:(?:2|4|5|6|10):/, '... no other line reported');
unlike($err, qr/\$(?:y|6|5|1|2y)\$/, '... and no hash in any report');
is(hash_of('ann'), $h{yescrypt}, 'ann: yescrypt hash kept byte for byte (the first line wins)');
is(hash_of('bert'), $h{sha512}, 'bert: sha512crypt kept');
is(hash_of('carl'), $h{md5}, 'carl: md5crypt kept');
is(hash_of('gus'), $h{des}, 'gus: descrypt kept');
my $u = $db->user('ann');
is_deeply([@$u{qw(changed min_days max_days warn_days expires force_change)}],
          [19000 * 86400, 0, 99999, 7, undef, 0], 'ann: the ageing fields');
$u = $db->user('bert');
is_deeply([@$u{qw(force_change min_days max_days warn_days expires)}], [1, 1, 90, 14, 21000 * 86400],
          'bert: must change, ageing, expiry');
is($db->user('carl')->{max_days}, -1, 'carl: empty max is no limit');
is($db->user('gus')->{expires}, 1, 'gus: expire 0 is expired');
ok(!$db->user($_), "$_ not imported") for qw(root daemon dina ed flo);

# --update
my $upd = put('shadow2', "ann:$h{sha256}:19100:2:60:5::20100:\ncarl:$h{sha512}:19200::::::\nnew:$h{md5}:19000::::::\n");
($rc, $out, $err) = run('', 'import', '--format', 'shadow', $shadow);
is($rc, 1, 'the same file again: 1');
like($out, qr/0 added, 0 updated, 10 skipped/, '... every entry skipped');
($rc, $out, $err) = run('', 'import', '--update', '--format', 'shadow', $upd);
is($rc, 0, 'import --update: 0') or diag($err);
like($out, qr/1 added, 2 updated, 0 skipped/, '... 1 added, 2 updated');
is(hash_of('ann'), $h{sha256}, '... ann: the new hash');
$u = $db->user('ann');
is_deeply([@$u{qw(changed min_days max_days warn_days expires)}], [19100 * 86400, 2, 60, 5, 20100 * 86400],
          '... ann: the new fields');
is(hash_of('carl'), $h{sha512}, '... carl: the new hash');
is(hash_of('new'), $h{md5}, '... new: added');

# ---- htpasswd --------------------------------------------------------------------
my $htp = put('htpasswd', join '',
    "hb:$h{bcrypt}\n",                   # 1
    "ha:$apr1\n",                        # 2 Apache MD5
    "hs:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",   # 3
    "hd:$h{des}\n",                      # 4
    "hp:plaintext\n",                    # 5
    "# comment\n",                       # 6
    "hx\n",                              # 7 no colon
    "hy:$h{sha512}:extra\n",             # 8 after a second colon: ignored
    "h/z:$h{sha512}\n",                  # 9 an invalid user name
);
($rc, $out, $err) = run('', 'import', '--format', 'htpasswd', $htp);
is($rc, 1, 'import htpasswd: 1');
like($out, qr/3 added, 0 updated, 5 skipped/, '... summary');
like($err, qr/htpasswd:9: invalid user name: contains '\/'; skipped/, '... line 9: an invalid user name');
like($err, qr/htpasswd:2: Apache MD5 \(\$apr1\$\) is a hash libxcrypt cannot verify; skipped/, '... line 2: $apr1$');
like($err, qr/htpasswd:3: scheme \{SHA\} is not a crypt\(3\) hash/, '... line 3: {SHA}');
like($err, qr/htpasswd:5: not a hash libxcrypt can verify/, '... line 5: plain text');
like($err, qr/htpasswd:7: not an htpasswd line/, '... line 7: malformed');
unlike($err, qr/plaintext|W6ph5/, '... no password or hash in the reports');
is(hash_of('hb'), $h{bcrypt}, 'bcrypt $2y$ kept byte for byte');
is(hash_of('hd'), $h{des}, 'descrypt kept');
is(hash_of('hy'), $h{sha512}, 'the field after a second colon is ignored');

# ---- Dovecot passwd-file ----------------------------------------------------------
my $dove = put('users', join '',
    "d1\@example.org:{SHA512-CRYPT}$h{sha512}:1000:1000::/home/d1::userdb_mail=maildir:~/Maildir\n",
    "d2:{BLF-CRYPT}$h{bcrypt}:::::\n",
    "d3:{MD5-CRYPT}$h{md5}\n",
    "d4:{CRYPT}$h{yescrypt}\n",
    "d5:{SHA256-CRYPT}$h{sha256}\n",
    "d6:$h{sha512}\n",
    "d7:{PLAIN}secret\n",
    "d8:{SSHA}abcdefgh\n",
    "d9:{CRYPT}$apr1\n",
    "d10:\n",
    "\r\n",
    "d11:{sha512-crypt}$h{sha512}\r\n",
);
($rc, $out, $err) = run('', 'import', '--format', 'dovecot', $dove);
is($rc, 1, 'import dovecot: 1');
like($out, qr/7 added, 0 updated, 4 skipped/, '... summary');
is(hash_of('d1@example.org'), $h{sha512}, '{SHA512-CRYPT}: kept without its prefix');
is(hash_of('d2'), $h{bcrypt}, '{BLF-CRYPT}');
is(hash_of('d3'), $h{md5}, '{MD5-CRYPT}');
is(hash_of('d4'), $h{yescrypt}, '{CRYPT} (yescrypt)');
is(hash_of('d5'), $h{sha256}, '{SHA256-CRYPT}');
is(hash_of('d6'), $h{sha512}, 'a bare crypt string');
is(hash_of('d11'), $h{sha512}, 'a lower-case scheme, CR LF');
like($err, qr/users:7: scheme \{PLAIN\}/, 'line 7: {PLAIN}');
like($err, qr/users:8: scheme \{SSHA\}/, 'line 8: {SSHA}');
like($err, qr/users:9: Apache MD5/, 'line 9: {CRYPT} of an $apr1$ hash');
like($err, qr/users:10: no password/, 'line 10: empty');
unlike($err, qr/secret|abcdefgh/, '... no password or hash in the reports');

# ---- the format guessed, stdin, a clean file, usage -----------------------------------
($rc, $out, $err) = run("g1:$h{sha512}:19000:0:99999:7:::\ng2:$h{md5}:19000:0:99999:7:::\n", 'import', '-');
is($rc, 0, 'import - (stdin), format guessed, all good: 0') or diag($err);
like($out, qr/- \(shadow\): 2 added, 0 updated, 0 skipped/, '... guessed shadow');
is($db->user('g1')->{warn_days}, 7, '... with its fields');
($rc, $out, $err) = run('', 'import', '--db', $dbfile, put('h2', "g3:$h{bcrypt}\n"));
is($rc, 0, 'htpasswd guessed: 0');
like($out, qr/\(htpasswd\): 1 added/, '... guessed htpasswd');
($rc, $out, $err) = run('', 'import', '--format', 'passwd', $htp);
is($rc, 2, 'an unknown format: 2');
like($err, qr/unknown format "passwd" \(one of: shadow htpasswd dovecot\)/, '... named');
($rc, $out, $err) = run('', 'import', "$dir/missing");
is($rc, 1, 'a missing file: 1');
like($err, qr/\Q$dir\E\/missing: No such file/, '... named');
($rc, $out, $err) = run('', 'import');
is($rc, 2, 'no file: 2');
($rc, $out, $err) = run('', 'import', '--db', "$dir/none.db", $htp);
is($rc, 1, 'no database: 1');
like($err, qr/none\.db/, '... named');

done_testing;
