# The fuzz targets of c/fuzz/ (c/fuzz/fuzz.h says what one is).
#
# Always: every seed in c/fuzz/corpus/<target>/ and every regression input in
# c/fuzz/regress/<target>/ runs once through its target, built by the normal
# compiler with a plain main() (c/fuzz/replay.c) and AddressSanitizer + UBSan
# when the compiler has them (make -C c fuzz-replay, else fuzz-replay-plain).
#
# With TREX_PAM_FULL=1 also: the libFuzzer binaries (make -C c fuzz, clang)
# and $TREX_PAM_FUZZ_SECONDS (default 30) of fuzzing per target. An input
# libFuzzer finds failing is copied to t/artifacts/fuzz/<target>/ and named,
# with the command that reproduces it.
use strict;
use warnings;
use Test::More;
use Cwd ();
use File::Copy ();
use File::Path ();
use lib 't/lib';
use TRexTest;

my $make = $ENV{MAKE} || 'make';
my $top = Cwd::getcwd();
my $full = $ENV{TREX_PAM_FULL};
my @targets = map { m{([^/]+)\.c$} } grep { !m{/(?:common|replay)\.c$} } sort glob 'c/fuzz/*.c';
ok(@targets >= 7, "fuzz targets: @targets");

for my $t (@targets) {
    my @seeds = grep { -f } glob "c/fuzz/corpus/$t/*";
    ok(@seeds >= 3, "$t: a seed corpus (" . scalar(@seeds) . " files)");
    ok(!grep({ -s $_ > 4096 } @seeds), "$t: seeds stay tiny");
}

# Whether the compiler builds and runs a program with the sanitizers.
sub has_sanitizers {
    my $d = tempdir();
    open my $fh, '>', "$d/s.c" or die "$d/s.c: $!";
    print {$fh} "int main(void) { return 0; }\n";
    close $fh or die "$d/s.c: $!";
    my $cc = $ENV{CC} || 'cc';
    system("$cc -fsanitize=address,undefined -o $d/s $d/s.c >/dev/null 2>&1") == 0
        && system("$d/s") == 0;
}

my $asan = has_sanitizers();
ok($asan, 'the compiler has ASan and UBSan') if $full;
my ($goal, $bindir) = $asan ? ('fuzz-replay', 'c/build-asan/fuzz') : ('fuzz-replay-plain', 'c/build-replay/fuzz');
diag('no ASan/UBSan here: the replay build has no sanitizers') unless $asan;
my $out = `$make -C c $goal 2>&1`;
ok($? == 0, "make -C c $goal") or diag($out), done_testing, exit;
unlike($out, qr/warning:/, 'no compiler warning in the replay build')
    or diag(grep { /warning:/ } split /\n/, $out);

{
    local $ENV{ASAN_OPTIONS} = 'detect_leaks=1:abort_on_error=0:exitcode=97';
    local $ENV{UBSAN_OPTIONS} = 'print_stacktrace=1:halt_on_error=1';
    for my $t (@targets) {
        my @dirs = grep { -d } map { "c/fuzz/$_/$t" } qw(corpus regress);
        my $r = `$bindir/$t @dirs 2>&1`;
        my $ok = $? == 0 && $r =~ /^replay: (\d+) files?$/m && $1 > 0;
        ok($ok, "$t: replays " . ($r =~ /^replay: (\d+) files?$/m ? "$1 files" : 'its inputs'))
            or diag(failed_input($r) . "\n$r");
    }
}

# The input a replay was running when it failed.
sub failed_input {
    my ($r) = @_;
    my @ran = $r =~ /^replay: (\S+)$/mg;
    return @ran ? "failing input: $ran[-1] (run alone: $bindir/<target> $ran[-1])" : '';
}

unless ($full) {
    note('set TREX_PAM_FULL=1 to fuzz each target with libFuzzer');
    done_testing;
    exit;
}

$out = `$make -C c fuzz 2>&1`;
ok($? == 0, 'make -C c fuzz (clang, libFuzzer)') or diag($out), done_testing, exit;
unlike($out, qr/warning:/, 'no compiler warning in the libFuzzer build')
    or diag(grep { /warning:/ } split /\n/, $out);

my $seconds = $ENV{TREX_PAM_FUZZ_SECONDS} || 30;
for my $t (@targets) {
    my $work = tempdir();
    mkdir "$work/corpus" or die "$work/corpus: $!";
    # new inputs go to the first directory (the scratch one); the seeds and
    # regressions are only read
    my @cmd = ("c/build-fuzz/fuzz/$t", "-max_total_time=$seconds", '-timeout=10',
               '-rss_limit_mb=2048', "-artifact_prefix=$work/", '-print_final_stats=1',
               "$work/corpus", grep { -d } map { "c/fuzz/$_/$t" } qw(corpus regress));
    my $r = `@cmd 2>&1`;
    my $status = $?;
    my ($execs) = $r =~ /^stat::number_of_executed_units:\s*(\d+)/m;
    my ($rate) = $r =~ /^stat::average_exec_per_sec:\s*(\d+)/m;
    my @found = grep { -f } glob "$work/{crash,leak,timeout,oom,slow-unit}-*";
    my $ok = $status == 0 && !@found;
    ok($ok, "$t: $seconds s of libFuzzer, nothing found (" . ($execs // '?') . ' runs, '
        . ($rate // '?') . ' exec/s)') and next;
    my $keep = "$top/t/artifacts/fuzz/$t";
    File::Path::make_path($keep);
    for my $f (@found) {
        (my $name = $f) =~ s{.*/}{};
        File::Copy::copy($f, "$keep/$name") or die "$keep/$name: $!";
        diag("$t: failing input $keep/$name\n"
             . "  reproduce: c/build-fuzz/fuzz/$t $keep/$name\n"
             . "  keep it:   cp $keep/$name c/fuzz/regress/$t/<what-it-tests>");
    }
    my @tail = (split /\n/, $r)[-40 .. -1];
    diag(join "\n", grep { defined } @tail);
}

done_testing;
