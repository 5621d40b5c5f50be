package TRexBench::Session;
# bench/lib/TRexBench/Session.pm - bench/session's processes: the one-shot
# CGI scripts (a check; a check timed in parts; CGI::Session's load), the
# LD_PRELOAD counter of store connections, the writers of last-use times
# (bench/fill_sessions --touch) and processes checking at once.
use strict;
use warnings;
use Config;
use POSIX ();
use TRexBench qw(spew slurp med);

# ---- the one-shot processes ---------------------------------------------------------
# trex.cgi: use TRex::PAM, one check (pam_start, pam_authenticate answered
# with the session ID, pam_acct_mgmt, pam_end), exit: the CGI process.
# parts.pl: the same, each part timed inside the process, then a second
# check on a new handle (the store kept open): prints the seconds of load,
# pam_start, first check, pam_end, second pam_start, second check. Nothing
# is loaded before TRex::PAM: the clock is clock_gettime(CLOCK_MONOTONIC)
# (Time::HiRes's clock) read through perl's syscall, whose number comes in
# $BENCH_CLOCK; without one, Time::HiRes is loaded first (and with it
# Exporter and XSLoader, which TRex::PAM then finds loaded).
# cgisession.cgi: CGI::Session's load of one session by its ID.
sub write_scripts {
    my ($dir) = @_;
    my $check = <<'PL';
my $sid = $ENV{BENCH_SID};
my $conv = sub { my @r; while (@_) { splice @_, 0, 2; push @r, 0, $sid } (@r, 0) };
sub check {
    my $h = TRex::PAM->new($ENV{BENCH_SERVICE}, 'alice', $conv);
    return ref $h && $h->pam_authenticate(0) == 0 && $h->pam_acct_mgmt(0) == 0 ? $h : undef;
}
PL
    spew("$dir/trex.cgi", "use TRex::PAM;\n$check" . <<'PL');
my $h = check() or exit 1;
undef $h;
exit 0;
PL
    spew("$dir/parts.pl", <<'PL' . $check . <<'PL2');
my $clock = $ENV{BENCH_CLOCK};
require Time::HiRes unless $clock;
sub now {
    return Time::HiRes::clock_gettime(1) unless $clock;
    my $b = "\0" x 16;
    syscall($clock, 1, $b) == 0 or die "clock_gettime: $!\n";
    my ($s, $ns) = unpack 'q2', $b;
    return $s + $ns / 1e9;
}
my @t = (now());
require TRex::PAM;
TRex::PAM->import;
push @t, now();
PL
my $h = TRex::PAM->new($ENV{BENCH_SERVICE}, 'alice', $conv);
push @t, now();
(ref $h && $h->pam_authenticate(0) == 0 && $h->pam_acct_mgmt(0) == 0) or exit 1;
push @t, now();
undef $h;
push @t, now();
$h = TRex::PAM->new($ENV{BENCH_SERVICE}, 'alice', $conv);
push @t, now();
(ref $h && $h->pam_authenticate(0) == 0 && $h->pam_acct_mgmt(0) == 0) or exit 1;
push @t, now();
undef $h;
print join(' ', map { sprintf '%.7f', $t[$_] - $t[$_ - 1] } 1 .. $#t), "\n";
PL2
    spew("$dir/cgisession.cgi", <<'PL');
use CGI::Session;
my $s = CGI::Session->load(undef, $ENV{BENCH_CGI_SID}, { Directory => $ENV{BENCH_CGI_DIR} }) or exit 2;
my $ok = !$s->is_empty && ($s->param('user') // '') eq 'alice';
undef $s;
exit($ok ? 0 : 1);
PL
}

# clock_gettime's system call number, for parts.pl; undef where not known.
sub clock_syscall {
    return 228 if $Config{archname} =~ /^x86_64-linux/;
    return 113 if $Config{archname} =~ /^aarch64-linux/;
    return undef;
}

# The parts of $runs one-shot processes of each service (interleaved):
# { service => { part => [seconds per process] } }, the parts: load, start,
# open (first check - second check), check (the second), end, sum (load to
# the end of the first handle).
sub parts {
    my ($perl, $inc, $dir, $runs, $services, $env) = @_;
    my %p;
    local @ENV{ keys %$env } = values %$env;
    local $ENV{BENCH_CLOCK} = clock_syscall() // '';
    for (1 .. $runs) {
        for my $svc (@$services) {
            local $ENV{BENCH_SERVICE} = $svc;
            my $out = `$perl @$inc $dir/parts.pl`;
            die "parts of a CGI process ($svc) failed (exit status $?)\n" if $? || $out !~ /^[\d.]+( [\d.]+){5}$/;
            my ($load, $start, $first, $end, $start2, $check) = split ' ', $out;
            my $r = $p{$svc} //= {};
            push @{ $r->{load} }, $load;
            push @{ $r->{start} }, $start;
            push @{ $r->{open} }, $first - $check;
            push @{ $r->{check} }, $check;
            push @{ $r->{end} }, $end;
            push @{ $r->{sum} }, $load + $start + $first + $end;
        }
    }
    return \%p;
}

# ---- store connections opened: an LD_PRELOAD counter of sqlite3_open_v2 -------------
sub build_counter {
    my ($dir) = @_;
    spew("$dir/count.c", <<'C');
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
typedef struct sqlite3 sqlite3;
static unsigned long opens;
int sqlite3_open_v2(const char *f, sqlite3 **db, int fl, const char *vfs)
{
    static int (*next)(const char *, sqlite3 **, int, const char *);
    if (!next) {    /* libsqlite3 came with an XS module (RTLD_LOCAL): ask it, not RTLD_NEXT */
        void *lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_NOLOAD);
        next = (int (*)(const char *, sqlite3 **, int, const char *))dlsym(lib ? lib : RTLD_NEXT, "sqlite3_open_v2");
        if (!next) abort();
    }
    opens++;
    return next(f, db, fl, vfs);
}
__attribute__((destructor)) static void report(void)
{
    const char *p = getenv("BENCH_OPENS");
    FILE *fp = p ? fopen(p, "w") : NULL;
    if (fp) { fprintf(fp, "%lu\n", opens); fclose(fp); }
}
C
    my $out = `$Config{cc} -shared -fPIC -O2 -o $dir/count.so $dir/count.c -ldl 2>&1`;
    return (undef, "no counter: $Config{cc}: " . ((split /\n/, $out)[0] // "exit $?")) if $?;
    return ("$dir/count.so", undef);
}

# sqlite3_open_v2 calls of one command (argv) with %$env; undef if it failed.
sub count_opens {
    my ($so, $dir, $cmd, $env) = @_;
    local @ENV{ keys %$env } = values %$env;
    local $ENV{LD_PRELOAD} = $so;
    local $ENV{BENCH_OPENS} = "$dir/opens";
    unlink "$dir/opens";
    open my $saved, '>&', \*STDOUT or die "stdout: $!\n";
    open STDOUT, '>', '/dev/null' or die "/dev/null: $!\n";
    system { $cmd->[0] } @$cmd;
    open STDOUT, '>&', $saved or die "stdout: $!\n";
    return undef if $? || !-e "$dir/opens";
    return slurp("$dir/opens") + 0;
}

# ---- writers of last-use times ----------------------------------------------------------
# $n processes of `fill_sessions --touch`, $rate touches per second in all,
# each on its share of the sessions of $ids; returns once each has its store
# open.
sub writers_start {
    my ($fill, $db, $ids, $n, $rate) = @_;
    my @w;
    for my $k (0 .. $n - 1) {
        my $pid = open(my $fh, '-|', $fill, '--touch', $db, $ids, $rate / $n, $k, $n)
            // die "$fill --touch: $!\n";
        my $ready = <$fh> // '';
        die "a writer did not start\n" unless $ready eq "ready\n";
        push @w, [$pid, $fh];
    }
    return \@w;
}

# Stops them: (touches, writes, seconds of the longest).
sub writers_stop {
    my ($w) = @_;
    kill 'TERM', $_->[0] for @$w;
    my ($touches, $writes, $secs) = (0, 0, 0);
    for my $x (@$w) {
        my $fh = $x->[1];
        my $line = <$fh> // '';
        close $fh;
        die "a writer failed (exit status $?)\n" if $? || $line !~ /^(\d+) (\d+) ([\d.]+)$/;
        $touches += $1;
        $writes += $2;
        $secs = $3 if $3 > $secs;
    }
    return ($touches, $writes, $secs);
}

# ---- processes checking at once -------------------------------------------------------------
# Children started together (each checks once, then waits for EOF on its
# stdin), each `$script --child trex SERVICE USER SECONDS 0` with its own
# session ID: [[rate, CPUs used], ...].
sub together {
    my ($script, $service, $seconds, $sids, @users) = @_;
    pipe my $gate_r, my $gate_w or die "pipe: $!\n";
    my @kids;
    for my $user (@users) {
        pipe my $r, my $w or die "pipe: $!\n";
        my $pid = fork // die "fork: $!\n";
        if ($pid == 0) {    # never returns into the script: its END would remove its directory
            close $gate_w;
            close $r;
            open(STDIN, '<&', $gate_r) && open(STDOUT, '>&', $w) or POSIX::_exit(127);
            $ENV{BENCH_SID} = $sids->{$user};
            $ENV{BENCH_GATE} = 1;
            exec($^X, $script, '--child', 'trex', $service, $user, $seconds, 0) or POSIX::_exit(127);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    close $gate_r;
    select undef, undef, undef, 0.3;    # let them load and check once
    close $gate_w;                      # go
    my @res;
    for my $k (@kids) {
        my $fh = $k->[1];
        my $out = <$fh> // '';
        waitpid $k->[0], 0;
        die "a checking process failed (exit status $?)\n" if $? || $out !~ /^([\d.]+) ([\d.]+)$/;
        push @res, [$1, $2];
    }
    return \@res;
}

# The p-th percentile (0..100) of a list (nearest rank).
sub pct {
    my ($p, @v) = @_;
    my @s = sort { $a <=> $b } @v;
    return undef unless @s;
    my $i = int($p / 100 * @s + 0.999999) - 1;
    return $s[$i < 0 ? 0 : $i > $#s ? $#s : $i];
}

1;
