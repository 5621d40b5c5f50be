# What the import parsers (c/admin/import.c, through TRex::PAM::Import) do
# with lines t/83-import.t does not try: NULs, control bytes and wide
# characters, a scheme name too long to show, CRLF and a final "\n" in a
# field, the guess of a format from odd lines.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest;
use TRex::PAM::Import;

my $sha = '$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/';
sub line { [TRex::PAM::Import::parse_line(@_)] }

is_deeply(line('htpasswd', "alice:$sha\r\n"), [{ name => 'alice', hash => $sha }], 'CRLF dropped');
is_deeply(line('htpasswd', "a\0b:$sha"), [{ name => "a\0b", hash => $sha }],
          'a NUL in the name is kept (user_add refuses it)');
is_deeply(line('htpasswd', "alice:$sha\0"),
          [undef, 'not a hash libxcrypt can verify (plain text, or a method this build lacks)'],
          'a NUL in the hash: not usable');
my ($r) = TRex::PAM::Import::parse_line('shadow', "alice:$sha:1\n:2:3:4::5\n");
is($r && $r->{changed}, 86400, 'a day count ending in "\n" reads as a number (as /^[0-9]{1,9}$/ did)');
is_deeply(line('dovecot', "bob:{\e[2J}x"),
          [undef, 'scheme {\x1B[2J} is not a crypt(3) hash libxcrypt can verify'],
          'control bytes of a scheme name are shown escaped');
my $long = 'S' x 200;
like(line('dovecot', "bob:{$long}x")->[1], qr/^scheme \{S{80,95}\.\.\.\} is not a crypt/,
     'a long scheme name is cut short');
is(TRex::PAM::Import::hash_problem("{A\nB}"), 'scheme {A\x0AB} is not a crypt(3) hash libxcrypt can verify',
   'hash_problem: the same');
is(TRex::PAM::Import::hash_problem(undef), 'no password (empty field)', 'hash_problem: undef');
is_deeply(line('htpasswd', "alice:\x{263a}"),
          [undef, 'not a line of bytes (a wide character, or not a string)'], 'a wide character');
is(TRex::PAM::Import::guess_format(''), 'dovecot', 'guess: an empty line');
is(TRex::PAM::Import::guess_format('a:b'), 'htpasswd', 'guess: two fields');
is(TRex::PAM::Import::guess_format('a:b:1:2:3:4:5:6'), 'shadow', 'guess: eight fields of days');
is(TRex::PAM::Import::guess_format('a:b:1:2:3:4:5:x'), 'dovecot', 'guess: eight fields, one not days');
is(TRex::PAM::Import::guess_format('a:{X}:1:2:3:4:5:6'), 'dovecot', 'guess: a scheme');
ok(!eval { TRex::PAM::Import::parse_line('nosuch', 'a:b'); 1 }, 'unknown format: dies');
like($@, qr/unknown format "nosuch"/, '... naming it');
done_testing;
