package TRexBench::Session;
# bench/lib/TRexBench/Session.pm - the session checks of bench/session and
# bench/backends: a check and the persistent child that loops on it, the
# pam.d stacks with their store on the store lines, the one-shot CGI
# scripts (a check; a check timed in parts; CGI::Session's load), the
# LD_PRELOAD counter of store connections and of requests sent on sockets,
# bench/fill_sessions (built, and its writers of last-use times) and
# processes checking at once.
use strict;
use warnings;
use Config;
use POSIX ();
use Time::HiRes ();
use TRexBench qw(spew slurp med loop answers);

# ---- a check, the stacks ------------------------------------------------------------
# One session check (pam_start, pam_authenticate answered with the session
# ID, pam_acct_mgmt, pam_end) of $user on $service, as a closure; dies when
# the check fails. TRex::PAM must be loaded.
sub trex_check {
    my ($service, $user, $sid) = @_;
    my $conv = answers($sid);
    return sub {
        my $h = TRex::PAM->new($service, $user, $conv);
        ref $h or die "TRex::PAM: pam_start($service) gave $h\n";
        my $ra = $h->pam_authenticate(0);
        my $rb = $ra == 0 ? $h->pam_acct_mgmt(0) : -1;
        die "TRex::PAM $service: authenticate ${\ $h->pam_strerror($ra)}, acct_mgmt $rb\n" if $ra || $rb;
    };
}

# A persistent process's checks (a script's --child mode): loads TRex::PAM,
# checks $user's session ($BENCH_SID) on $service for $seconds (at most $max
# checks; 0: no limit) and prints "RATE CPUS" (checks per second, CPUs
# used). With $BENCH_GATE: one check first, then "ready" on stdout, then it
# waits for EOF on stdin (a common start: together). With $BENCH_LATENCY,
# each check is timed alone and a second line gives those times (us).
sub child_trex {
    my ($service, $user, $seconds, $max) = @_;
    require TRex::PAM;
    my $one = trex_check($service, $user, $ENV{BENCH_SID});
    if ($ENV{BENCH_GATE}) {
        $one->();
        $| = 1;
        print "ready\n";
        1 while sysread STDIN, my $b, 64;
    }
    my @lat;
    my @cpu0 = times;
    my ($n, $t) = loop($one, $seconds, $max, $ENV{BENCH_LATENCY} ? \@lat : undef);
    my @cpu1 = times;
    printf "%.3f %.3f\n", $n / $t, ($cpu1[0] + $cpu1[1] - $cpu0[0] - $cpu0[1]) / $t;
    print join(' ', map { sprintf '%.1f', $_ * 1e6 } @lat), "\n" if $ENV{BENCH_LATENCY};
}

# The stack with $arg (say "db=/x.db" or "store=postgresql://...") on the
# store lines (session, userdb, faillock); with $session_arg, the session
# lines get that one instead (sessions on another store than users).
sub with_store {
    my ($stack, $arg, $session_arg) = @_;
    $stack =~ s{^(\s*(?:auth|account|password|session)\s+(?:\[[^\]]*\]|\S+)\s+(faillock|session|userdb)\b[^\n]*)$}
               {"$1 " . ($2 eq 'session' && defined $session_arg ? $session_arg : $arg)}mge;
    return $stack;
}

# bench/fill_sessions.c built against c/libtrexpam.a into $dir: (its path,
# whether the store has read scopes: without them the floor's reads are
# each their own transaction). Dies with the compiler's output.
sub build_fill {
    my ($dir, $top) = @_;
    my $scope = slurp("$top/c/store/store.h") =~ /\btp_store_read_begin\s*\(/;
    my $out = `$Config{cc} -O2 @{[ $scope ? '' : '-DBENCH_NO_READ_SCOPE' ]} -I$top/c/store -I$top/c/crypto -o $dir/fill_sessions $top/bench/fill_sessions.c $top/c/libtrexpam.a -lsqlite3 -lsodium -lcrypt -ldl 2>&1`;
    die "building bench/fill_sessions.c failed:\n$out" if $?;
    return ("$dir/fill_sessions", $scope);
}

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
# the end of the first handle). $per: { service => {env} } for one service's
# processes only.
sub parts {
    my ($perl, $inc, $dir, $runs, $services, $env, $per) = @_;
    my %p;
    local @ENV{ keys %$env } = values %$env;
    local $ENV{BENCH_CLOCK} = clock_syscall() // '';
    for (1 .. $runs) {
        for my $svc (@$services) {
            my $own = $per && $per->{$svc} || {};
            local @ENV{ keys %$own } = values %$own;
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

# ---- store connections opened, requests sent: an LD_PRELOAD counter ---------------
# sqlite3_open_v2 calls (connections to the embedded store), and writes to
# sockets (send, sendto, sendmsg, write, writev on a socket descriptor): a
# client of a server store writes each request once and waits for its
# answer, so the writes of N checks are their round trips (plus, in a new
# process, those of the connection's start and its goodbye).
sub build_counter {
    my ($dir) = @_;
    spew("$dir/count.c", <<'C');
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
typedef struct sqlite3 sqlite3;
static unsigned long opens, sends;
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
static void sent(int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) sends++;
}
#define NEXT(T, name, args) static T (*next) args; \
    if (!next && !(next = (T (*) args)dlsym(RTLD_NEXT, name))) abort()
ssize_t send(int fd, const void *b, size_t n, int fl)
{ NEXT(ssize_t, "send", (int, const void *, size_t, int)); sent(fd); return next(fd, b, n, fl); }
ssize_t sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *a, socklen_t al)
{ NEXT(ssize_t, "sendto", (int, const void *, size_t, int, const struct sockaddr *, socklen_t)); sent(fd); return next(fd, b, n, fl, a, al); }
ssize_t sendmsg(int fd, const struct msghdr *m, int fl)
{ NEXT(ssize_t, "sendmsg", (int, const struct msghdr *, int)); sent(fd); return next(fd, m, fl); }
ssize_t write(int fd, const void *b, size_t n)
{ NEXT(ssize_t, "write", (int, const void *, size_t)); sent(fd); return next(fd, b, n); }
ssize_t writev(int fd, const struct iovec *v, int n)
{ NEXT(ssize_t, "writev", (int, const struct iovec *, int)); sent(fd); return next(fd, v, n); }
__attribute__((destructor)) static void report(void)
{
    const char *p = getenv("BENCH_OPENS");
    FILE *fp = p ? fopen(p, "w") : NULL;
    if (fp) { fprintf(fp, "%lu %lu\n", opens, sends); fclose(fp); }
}
C
    my $out = `$Config{cc} -shared -fPIC -O2 -o $dir/count.so $dir/count.c -ldl 2>&1`;
    return (undef, "no counter: $Config{cc}: " . ((split /\n/, $out)[0] // "exit $?")) if $?;
    return ("$dir/count.so", undef);
}

# (sqlite3_open_v2 calls, socket writes) of one command (argv) with %$env;
# () if it failed.
sub counts {
    my ($so, $dir, $cmd, $env) = @_;
    local @ENV{ keys %$env } = values %$env;
    local $ENV{LD_PRELOAD} = $so;
    local $ENV{BENCH_OPENS} = "$dir/opens";
    unlink "$dir/opens";
    open my $saved, '>&', \*STDOUT or die "stdout: $!\n";
    open STDOUT, '>', '/dev/null' or die "/dev/null: $!\n";
    system { $cmd->[0] } @$cmd;
    open STDOUT, '>&', $saved or die "stdout: $!\n";
    return () if $? || !-e "$dir/opens";
    return split ' ', slurp("$dir/opens");
}

# sqlite3_open_v2 calls of one command; undef if it failed.
sub count_opens {
    my @n = counts(@_);
    return $n[0];
}

# Socket writes per operation: the command's count with $cmd->($max) for
# max 1 and 21, the difference / 20 (what starting, connecting and ending
# write cancels out); undef if a run failed.
sub sends_per_op {
    my ($so, $dir, $cmd, $env) = @_;
    my @n = map { (counts($so, $dir, $cmd->($_), $env))[1] } 1, 21;
    return defined $n[0] && defined $n[1] ? ($n[1] - $n[0]) / 20 : undef;
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
# Processes started together: each [argv, {env}] runs with $BENCH_GATE set,
# checks once, says "ready", and waits for EOF on its stdin (child_trex);
# once all are ready the gate opens. Returns each one's output lines after
# "ready" ([lines...] per process, in order); dies if one fails.
sub together_cmds {
    my ($kids) = @_;
    pipe my $gate_r, my $gate_w or die "pipe: $!\n";
    my @run;
    for my $k (@$kids) {
        my ($cmd, $env) = @$k;
        pipe my $r, my $w or die "pipe: $!\n";
        my $pid = fork // die "fork: $!\n";
        if ($pid == 0) {    # never returns into the script: its END would remove its directory
            close $gate_w;
            close $r;
            open(STDIN, '<&', $gate_r) && open(STDOUT, '>&', $w) or POSIX::_exit(127);
            @ENV{ keys %{ $env || {} } } = values %{ $env || {} };
            $ENV{BENCH_GATE} = 1;
            exec { $cmd->[0] } @$cmd or POSIX::_exit(127);
        }
        close $w;
        push @run, [$pid, $r];
    }
    close $gate_r;
    for my $k (@run) {      # each has checked once
        my $fh = $k->[1];
        my $line = <$fh> // '';
        next if $line eq "ready\n";
        kill 'TERM', map { $_->[0] } @run;
        waitpid $_->[0], 0 for @run;
        die "a checking process did not start\n";
    }
    close $gate_w;          # go
    my @res;
    for my $k (@run) {
        my $fh = $k->[1];
        my @lines = <$fh>;
        chomp @lines;
        waitpid $k->[0], 0;
        die "a checking process failed (exit status $?)\n" if $? || !@lines;
        push @res, \@lines;
    }
    return \@res;
}

# Children of `$script --child trex SERVICE USER SECONDS 0` (child_trex),
# one per user, each with its own session ID: [[rate, CPUs used], ...].
sub together {
    my ($script, $service, $seconds, $sids, @users) = @_;
    my $out = together_cmds([ map { [[$^X, $script, '--child', 'trex', $service, $_, $seconds, 0],
                                     { BENCH_SID => $sids->{$_} }] } @users ]);
    return [ map { $_->[0] =~ /^([\d.]+) ([\d.]+)$/ ? [$1, $2] : die "a checking process said: $_->[0]\n" } @$out ];
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
