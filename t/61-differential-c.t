#!perl
# The differential test at C level: t/diff/oracle.c compiled a second time
# against TRex::PAM's C core (c/libtrexpam.a through t/diff/compat.h), so the
# core is compared with Linux-PAM independently of the XS layer.
# Same cases and environment variables as t/60-differential.t.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/diff";
use Test::More;
use DiffCase;

my $root = "$FindBin::Bin/..";
my $lib  = "$root/c/libtrexpam.a";
plan skip_all => 'c/libtrexpam.a is not built (make -C c)' unless -f $lib;

# The core's link libraries, as c/Makefile names them.
my @libs = ('-ldl');
if (open my $mk, '<', "$root/c/Makefile") {
    while (<$mk>) { @libs = split ' ', $1 if /^LIBS\s*=\s*(.*?)\s*$/ }
}

my $dir = DiffCase->tempdir;
my ($bin, $err) = DiffCase->compile(
    out    => "$dir/oracle-trex",
    cflags => ['-DTREX_COMPAT', "-I$DiffCase::DIR", "-I$root/c/include"],
    libs   => [$lib, @libs],
);
END { File::Path::remove_tree($dir) if $dir }
ok($bin, 't/diff/oracle.c builds against TRex::PAM\'s core') or do {
    diag($err);
    done_testing;
    exit;
};

DiffCase->run_suite(
    label => 'TRex::PAM (C core)',
    run   => sub {
        my ($confdir, $script) = @_;
        DiffCase->run_bin($bin, $confdir, $script, 'trex',
                          TREX_PAM_LOG => $ENV{TREX_PAM_DIFF_LOG} // 'stderr');
    },
);
done_testing;
