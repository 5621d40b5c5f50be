#!/usr/bin/perl
# The Perl suite again over an XS object and a C core built with
# AddressSanitizer and UBSan (LeakSanitizer included): any invalid access,
# undefined behaviour or leak in xs/ or c/, in the test's own process or in
# a child (trex-pam, an example script, a forked writer), fails the file
# that caused it.
#
# The build is a copy of the distribution (its MANIFEST) in a temporary
# directory, so the normal blib is untouched: c/ with c/Makefile's ASAN_OPT,
# the XS with the same flags. Perl itself is not instrumented, so every perl
# process gets the compiler's sanitizer runtime through LD_PRELOAD (and no
# other program: t/asan-preload.c), and PERL_DESTRUCT_LEVEL=2 (Debian's
# threaded perl honours it) makes perl free what it allocated: without it
# `perl -e1` alone leaks 45 blocks. What is left at exit is therefore ours;
# t/lsan.supp lists the exceptions, each with its reason. (UBSan's signed
# overflow check sees c/ only: the XS is compiled with perl's -fwrapv, which
# defines that overflow.) Reports go to files in a temporary directory (one per
# process) and are also read back: a child's report fails the file even
# when its parent never looks at the child's exit status.
#
# First the harness proves itself on a small library of three bad XSUBs (a
# leak, a heap overflow, a signed overflow), each of which must fail.
# Runs with TREX_PAM_FULL=1 (the README's test command sets it).
use strict;
use warnings;
use Test::More;
use Config;
use Cwd ();
use ExtUtils::Manifest ();
use File::Basename ();
use File::Copy ();
use File::Path ();
use TAP::Parser;
use Time::HiRes ();
use lib 't/lib';
use TRexTest;

plan skip_all => 'set TREX_PAM_FULL=1 to run the Perl suite under ASan/UBSan' unless $ENV{TREX_PAM_FULL};
plan skip_all => 'run from the top of the distribution' unless -f 'MANIFEST' && -f 'c/Makefile';

# Files that make no sense here, and why. Every other t/*.t runs.
my %skip = (
    't/05-c-core.t'          => 'the C tests: t/06-c-asan.t runs them under the sanitizers',
    't/06-c-asan.t'          => 'the C tests under the sanitizers already',
    't/07-fuzz.t'            => 'the fuzz targets: C, built with their own sanitizers',
    't/08-perl-asan.t'       => 'this file',
    't/61-differential-c.t'  => 'links c/libtrexpam.a into a C program without the Perl layer; t/60 runs the same '
                              . 'cases through the XS',
    # lighttpd gives a CGI only the environment its configuration lists (no
    # preload: the CGI could not load the instrumented object), and the
    # copy has no t/e2e/node_modules (not shipped) for the browser
    't/75-webmail-e2e.t'     => 'the web mail through lighttpd and Chromium; t/37 and t/48 run its stack from Perl',
    't/76-webmail-two-servers.t' => 'the web mail through lighttpd and Chromium; t/48 and t/88 run its stores from Perl',
    't/90-pod.t'             => 'POD syntax only: no XS call',
    't/93-bench.t'           => 'compiles the benchmarks and checks timings, which the sanitizers distort',
    't/97-valgrind.t'        => 'valgrind cannot run a process that holds the ASan runtime',
    't/98-dist.t'            => 'builds the tarball with the normal flags',
);
# TREX_PAM_ASAN_TESTS='t/15-*.t t/81-*.t' runs only those (by hand).
my @files = grep { !$skip{$_} } sort glob($ENV{TREX_PAM_ASAN_TESTS} // 't/*.t');

my $top = Cwd::getcwd();
my $make = $ENV{MAKE} || 'make';
my $tmp = tempdir();
my $t0 = Time::HiRes::time();

# The runtimes perl's compiler links (perl is built with gcc).
chomp(my $asan = `$Config{cc} -print-file-name=libasan.so`);
chomp(my $ubsan = `$Config{cc} -print-file-name=libubsan.so`);
ok($asan =~ m{\A/} && -e $asan && $ubsan =~ m{\A/} && -e $ubsan,
   "the sanitizer runtimes of $Config{cc}: $asan, $ubsan") or done_testing, exit;
my ($flags) = slurp('c/Makefile') =~ /^ASAN_OPT\s*=\s*(.+?)\s*$/m;
ok($flags, "c/Makefile's ASAN_OPT: $flags") or done_testing, exit;

# The copy, and its build.
my $dist = "$tmp/dist";
my $manifest = ExtUtils::Manifest::maniread();
for my $f (sort keys %$manifest) {
    File::Path::make_path(File::Basename::dirname("$dist/$f"));
    File::Copy::copy($f, "$dist/$f") or die "copy $f: $!";
    chmod((stat $f)[2] & 07777, "$dist/$f");
}
my $out = `cd '$dist' && '$^X' Makefile.PL OPTIMIZE='$flags' LDDLFLAGS='$Config{lddlflags} $flags' 2>&1`
        . `cd '$dist' && $make -j2 OPT='$flags' 2>&1`;
ok($? == 0, 'the copy builds with the sanitizers') or diag($out), done_testing, exit;
unlike($out, qr/warning:/, 'no compiler warning in the sanitizer build')
  or diag(grep { /warning:/ } split /\n/, $out);
like(`ldd '$dist/blib/arch/auto/TRex/PAM/PAM.so' 2>&1`, qr/libasan/, 'the XS object needs libasan');
$out = `$Config{cc} -O2 -Wall -Wextra -fPIC -shared t/asan-preload.c -o '$tmp/asan-preload.so' 2>&1`;
ok($? == 0 && $out !~ /warning:/, 't/asan-preload.c builds without a warning') or diag($out), done_testing, exit;

# The environment of every process a test starts (t/asan-preload.c gives
# each perl the runtime); reports go to files under $logs (NAME.PID), which
# run_sanitized reads back.
my $logs = "$tmp/logs";
my %env = (
    LD_PRELOAD          => join(' ', "$tmp/asan-preload.so", grep { length } $ENV{LD_PRELOAD} // ''),
    TREX_PAM_ASAN_PERL  => $^X,
    TREX_PAM_ASAN_RUNTIME => $asan,
    TREX_PAM_UBSAN_RUNTIME => $ubsan,
    TREX_PAM_UBSAN_LOG  => "$logs/ubsan",
    PERL_DESTRUCT_LEVEL => 2,
    # as `make test` in the copy would have it (make test here puts this
    # tree's uninstrumented blib there, for any perl a test starts)
    PERL5LIB            => "$dist/blib/lib:$dist/blib/arch",
    PERL_DL_NONLAZY     => 1,
    # verify_asan_link_order=0: the C test programs some files run are
    # linked with libasan, which then comes after t/asan-preload.c's library
    ASAN_OPTIONS        => "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=97:log_path=$logs/asan"
                         . ':verify_asan_link_order=0',
    LSAN_OPTIONS        => "suppressions=$dist/t/lsan.supp:print_suppressions=0",
    UBSAN_OPTIONS       => "halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan",
);

# run_sanitized([@cmd], $asan_options): runs @cmd (a TAP producer) in the
# copy under %env (and more ASAN_OPTIONS); returns (whether it passed and
# wrote no report, what went wrong, the reports).
sub run_sanitized {
    my ($cmd, $more) = @_;
    rmtree($logs);
    mkdir $logs or die "$logs: $!";
    local @ENV{ keys %env } = values %env;
    $ENV{ASAN_OPTIONS} .= ":$more" if $more;
    chdir $dist or die "chdir $dist: $!";
    my $p = TAP::Parser->new({ exec => $cmd, merge => 1 });
    my (@bad, @text);
    while (my $r = $p->next) {
        push @text, $r->as_string;
        push @bad, $r->as_string if ($r->is_test && !$r->is_ok) || $r->is_bailout
                                    || $r->as_string =~ /runtime error:|ERROR: \w+Sanitizer/;
    }
    chdir $top or die "chdir $top: $!";
    push @bad, 'exit ' . ($p->exit // 'undef') . ', wait ' . ($p->wait // 'undef') if $p->has_problems;
    my @reports = grep { -s } sort glob "$logs/*";
    my $why = join '', map { "  $_\n" } @bad;
    $why .= join '', map { "  $_:\n" . (slurp($_) =~ s/^/    /mgr) } @reports;
    $why .= join '', map { "  | $_\n" } @text[-30 .. -1] if @bad && !@reports && @text > 30;
    return (!@bad && !@reports, $why, join "\n", map { slurp($_) } @reports);
}

# The harness catches each kind of report, in the test's process and in a
# child whose exit nobody checks.
my $bad = "$tmp/bad.c";
{
    open my $fh, '>', $bad or die "$bad: $!";
    print {$fh} <<'C';
#include <stdlib.h>
#include <string.h>
/* XSUBs without perl's headers: (interpreter, CV), no arguments, perl's
   stack left alone (they return the empty list). */
static volatile int big = 0x7fffffff;
static volatile size_t eight = 8;
void bad_leak(void *interp, void *cv);
void bad_overflow(void *interp, void *cv);
void bad_ub(void *interp, void *cv);
void bad_leak(void *interp, void *cv) { char *p = malloc(33); strcpy(p, "lost"); p = NULL; }
void bad_overflow(void *interp, void *cv) { char *p = calloc(eight, 1); big = p[eight]; free(p); }
void bad_ub(void *interp, void *cv) { int x = big; x = x + 1; big = x; }
C
    close $fh or die "$bad: $!";
}
my $cc = `$Config{cc} $flags -fPIC -shared -Wall -Wno-unused-parameter -Wno-unused-but-set-variable '$bad' -o '$tmp/bad.so' 2>&1`;
ok($? == 0, 'the bad library builds') or diag($cc);
my $load = q{use DynaLoader; my ($so, $f, $child) = @ARGV; print "1..1\n";
    if ($child) { system("'$^X' '$0' '$so' $f 0 >/dev/null 2>&1") }   # its exit ignored
    else { my $l = DynaLoader::dl_load_file($so) or die DynaLoader::dl_error();
           my $s = DynaLoader::dl_find_symbol($l, $f) or die DynaLoader::dl_error();
           DynaLoader::dl_install_xsub("main::bad", $s); bad() }
    print "ok 1\n";};
my $script = "$tmp/bad.pl";
{ open my $fh, '>', $script or die; print {$fh} $load; close $fh or die }
for my $case ([bad_leak => qr/LeakSanitizer: detected memory leaks.*bad_leak/s],
              [bad_overflow => qr/heap-buffer-overflow.*bad_overflow/s],
              [bad_ub => qr/runtime error: signed integer overflow.*bad_ub/s]) {
    my ($f, $re) = @$case;
    for my $child (0, 1) {
        my ($good, $why, $reports) = run_sanitized([$^X, $script, "$tmp/bad.so", $f, $child]);
        ok(!$good && $reports =~ $re, "the harness catches $f" . ($child ? ' in a child' : ''))
          or diag($why);
    }
}
my ($clean, $why) = run_sanitized([$^X, '-Mblib', '-MTRex::PAM', '-e', 'print "1..1\nok 1\n"']);
ok($clean, 'loading TRex::PAM under the sanitizers reports nothing') or diag($why);

# The suite.
my $t1 = Time::HiRes::time();
my @times;
for my $t (@files) {
    my $s = Time::HiRes::time();
    my ($good, $why, $reports) = run_sanitized([$^X, '-Mblib', $t]);
    my $took = Time::HiRes::time() - $s;
    push @times, sprintf '%s %.0fs', $t, $took;
    # Perl has no frame pointers: a leak's stack stops at perl's allocator
    # unless unwound the slow way, too slow for every run but worth it now.
    if (!$good && $reports =~ /LeakSanitizer/) {
        my (undef, $again) = run_sanitized([$^X, '-Mblib', $t], 'fast_unwind_on_malloc=0');
        $why = "  (run again for whole stacks)\n$again" if $again ne '';
    }
    ok($good, sprintf '%s under ASan/UBSan (%.0fs)', $t, $took) or diag($why);
}
diag(sprintf "%d files under ASan/UBSan in %.0fs (%.0fs with the build): %s",
     scalar @files, Time::HiRes::time() - $t1, Time::HiRes::time() - $t0, join ', ', @times);
diag("not run here: $_ ($skip{$_})") for sort keys %skip;
done_testing;
