#!/usr/bin/perl
# The benchmarks under bench/ are not run here (each takes a minute or so):
# each script and its helpers under bench/lib compile without a warning,
# bench/fill_sessions.c builds against c/libtrexpam.a as bench/session builds
# it, every store function it calls declared by c/store/store.h, and
# bench/store_floor.c (bench/backends' floor: raw libpq, hiredis, sqlite3)
# and bench/imap_floor.c (bench/password's IMAP floor: raw libcurl) build as
# C99 without a warning where the client headers are installed.
use strict;
use warnings;
use Test::More;
use Config;
use lib 't/lib';
use TRexTest qw(tempdir);

for my $f (qw(bench/cycle bench/password bench/session bench/backends bench/enumeration
              bench/lib/TRexBench.pm bench/lib/TRexBench/Session.pm bench/lib/TRexBench/Servers.pm
              bench/lib/TRexBench/Imap.pm)) {
    my $out = `$^X -Ibench/lib -It/lib -c $f 2>&1`;
    is($out, "$f syntax OK\n", "perl -c $f: syntax OK, nothing else") or diag($out);
}

SKIP: {
    skip 'c/libtrexpam.a is not built', 1 unless -f 'c/libtrexpam.a';
    my $tmp = tempdir();
    open my $fh, '<', 'c/store/store.h' or die "c/store/store.h: $!";
    my $scope = grep { /\btp_store_read_begin\s*\(/ } <$fh>;    # as bench/session decides
    my $def = $scope ? '' : '-DBENCH_NO_READ_SCOPE';
    my $cmd = "$Config{cc} -O2 $def -Werror=implicit-function-declaration -Ic/store -Ic/crypto -o $tmp/fill"
            . " bench/fill_sessions.c c/libtrexpam.a -lsqlite3 -lsodium -lcrypt -ldl";
    my $out = `$cmd 2>&1`;
    is($?, 0, 'bench/fill_sessions.c builds against c/libtrexpam.a') or diag($out);
}

SKIP: {
    my $inc = `pg_config --includedir 2>/dev/null` || "/usr/include/postgresql\n";
    chomp $inc;
    skip 'no libpq-fe.h or hiredis/hiredis.h (libpq-dev, libhiredis-dev)', 1
        unless -f "$inc/libpq-fe.h" && -f '/usr/include/hiredis/hiredis.h';
    my $tmp = tempdir();
    my $cmd = "$Config{cc} -std=c99 -O2 -Wall -Wextra -Werror -I$inc -o $tmp/floor bench/store_floor.c"
            . " -lpq -lhiredis -lsqlite3 -lsodium";
    my $out = `$cmd 2>&1`;
    is($?, 0, 'bench/store_floor.c builds as C99, -Wall -Wextra clean') or diag($out);
}

SKIP: {
    skip 'no curl/curl.h (libcurl4-openssl-dev)', 1
        unless grep { -f "$_/curl/curl.h" } '/usr/include', '/usr/include/x86_64-linux-gnu';
    my $tmp = tempdir();
    my $out = `$Config{cc} -std=c99 -O2 -Wall -Wextra -Werror -o $tmp/floor bench/imap_floor.c -lcurl 2>&1`;
    is($?, 0, 'bench/imap_floor.c builds as C99, -Wall -Wextra clean') or diag($out);
}

done_testing;
