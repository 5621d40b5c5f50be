package TRexBench;
# bench/lib/TRexBench.pm - what the benchmarks under bench/ share: medians
# and spreads (min..max), the goal lines ("measured vs goal: met / NOT
# met"), interleaved timing of whole processes, the timed loop of one
# operation, temporary files. Not installed; bench/cycle, bench/password and
# bench/session load it from bench/lib.
use strict;
use warnings;
use Time::HiRes qw(time);
use List::Util ();
use Exporter 'import';

our @EXPORT_OK = qw(med minmax fig figc loop answers spew slurp run_out goal goal_na goals_print
                    time_procs blocks added_ms ratio_of cpu_count loadavg);

# ---- medians and spreads ----------------------------------------------------
sub med {    # the median (the mean of the middle two for an even count); undef if none
    my @s = sort { $a <=> $b } grep { defined } @_;
    return undef unless @s;
    return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
}

sub minmax {
    my @s = sort { $a <=> $b } grep { defined } @_;
    return ($s[0], $s[-1]);
}

# "median (min..max)" of the values, each with $fmt (a sprintf format).
sub fig {
    my ($fmt, @v) = @_;
    @v = grep { defined } @v;
    return 'n/a' unless @v;
    my ($lo, $hi) = minmax(@v);
    return sprintf("$fmt ($fmt..$fmt)", med(@v), $lo, $hi);
}

# "center (min..max)": a figure taken over all runs, its spread over blocks of them.
sub figc {
    my ($fmt, $center, $spread) = @_;
    my ($lo, $hi) = minmax(@$spread);
    return sprintf("$fmt ($fmt..$fmt)", $center, $lo, $hi);
}

# ---- goals --------------------------------------------------------------------
my @GOALS;

# One goal: "figure: measured vs goal GOAL: met" (or NOT met); printed now
# (indented) and kept for goals_print.
sub goal {
    my ($figure, $measured, $want, $ok) = @_;
    my $line = sprintf '%s: %s vs goal %s: %s', $figure, $measured, $want, $ok ? 'met' : 'NOT met';
    push @GOALS, $line;
    print "  GOAL $line\n";
    return $ok;
}

# A goal that could not be measured (a baseline is missing, say).
sub goal_na {
    my ($figure, $want, $why) = @_;
    my $line = sprintf '%s: not measured (%s) vs goal %s: NOT met', $figure, $why, $want;
    push @GOALS, $line;
    print "  GOAL $line\n";
    return 0;
}

sub goals_print {
    my ($title) = @_;
    print "\n$title: every goal, measured vs goal\n";
    print "  $_\n" for @GOALS;
    return scalar grep { /: met$/ } @GOALS;
}

# ---- a timed loop ------------------------------------------------------------------
# Runs $one for $secs (at least once, at most $max times): (operations, seconds).
# With $lat (an array ref), each operation is timed alone and its seconds pushed.
sub loop {
    my ($one, $secs, $max, $lat) = @_;
    $max ||= 1e12;
    my ($n, $t0) = (0, time);
    my $deadline = $t0 + $secs;
    my $t = $t0;
    if ($lat) {
        while ($n < $max && ($n == 0 || $t < $deadline)) {
            $one->();
            my $now = time;
            push @$lat, $now - $t;
            ($t, $n) = ($now, $n + 1);
        }
        return ($n, $t - $t0);
    }
    while ($n < $max && ($n == 0 || $t < $deadline)) {
        my $k = $max - $n < 50 ? $max - $n : 50;
        $one->() for 1 .. $k;
        $n += $k;
        $t = time;
    }
    return ($n, $t - $t0);
}

# A conversation answering every prompt with $answer; counts the messages
# it was given in $$count when $count is a scalar ref.
sub answers {
    my ($answer, $count) = @_;
    return sub {
        my @res;
        $$count += @_ / 2 if $count;
        while (@_) { splice @_, 0, 2; push @res, 0, $answer; }
        return (@res, 0);
    };
}

# ---- files ----------------------------------------------------------------------------
sub spew {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!\n";
    print {$fh} $text;
    close $fh or die "$path: $!\n";
}

sub slurp {
    my ($p) = @_;
    open my $fh, '<', $p or die "$p: $!\n";
    local $/;
    return scalar <$fh>;
}

# A shell command's output (stderr too); dies with it on failure. $in: one
# line for its stdin, through the file $dir/stdin (removed after).
sub run_out {
    my ($cmd, $in, $dir) = @_;
    if (defined $in) {
        spew("$dir/stdin", "$in\n");
        $cmd .= " < $dir/stdin";
    }
    my $out = `$cmd 2>&1`;
    unlink "$dir/stdin" if defined $in;
    die "failed: $cmd\n$out" if $?;
    return $out;
}

# ---- whole processes, interleaved ---------------------------------------------------------
# $procs: [ [name, [argv...], {env}], ... ]. Runs each command $runs times,
# in turn (run 1 of every command, then run 2 ...), so all see the same
# machine; the wall time of each run, from fork to wait, in seconds:
# { name => [times in run order] }. Dies if a command fails. With $shuffle,
# each round runs the commands in a new random order: where a command
# leaves work behind in another process (a database server ending the
# connection's backend), no command always runs right after it.
sub time_procs {
    my ($procs, $runs, $shuffle) = @_;
    my %t;
    for (1 .. $runs) {
        for my $p ($shuffle ? List::Util::shuffle(@$procs) : @$procs) {
            my ($k, $cmd, $env) = @$p;
            local @ENV{ keys %{ $env || {} } } = values %{ $env || {} };
            my $t0 = time;
            system { $cmd->[0] } @$cmd;
            my $t1 = time;
            die "$k failed (exit status $?): @$cmd\n" if $?;
            push @{ $t{$k} }, $t1 - $t0;
        }
    }
    return \%t;
}

# The runs cut into $n blocks of consecutive runs (the spread of a figure
# is its min..max over the blocks).
sub blocks {
    my ($v, $n) = @_;
    my $size = int(@$v / $n) || 1;
    return map { [ @$v[ $_ * $size .. ($_ == $n - 1 ? $#$v : $_ * $size + $size - 1) ] ] }
           grep { $_ * $size <= $#$v } 0 .. $n - 1;
}

# Added ms of $cmd over $base (two lists of interleaved run times, run i of
# each from the same round): the median of the differences run by run (a
# pair saw the same machine, so a drift of its speed cancels out), and the
# same median in each of $n blocks of rounds (the spread).
sub added_ms {
    my ($cmd, $base, $n) = @_;
    my @d = map { ($cmd->[$_] - $base->[$_]) * 1e3 } 0 .. ($#$cmd < $#$base ? $#$cmd : $#$base);
    return (med(@d), [ map { med(@$_) } blocks(\@d, $n) ]);
}

# The ratio of $cmd to $base in the same way: the median of the ratios run
# by run, and the same median in each of $n blocks.
sub ratio_of {
    my ($cmd, $base, $n) = @_;
    my @r = map { $cmd->[$_] / $base->[$_] } 0 .. ($#$cmd < $#$base ? $#$cmd : $#$base);
    return (med(@r), [ map { med(@$_) } blocks(\@r, $n) ]);
}

# ---- the machine ------------------------------------------------------------------------
sub cpu_count {
    open my $fh, '<', '/proc/cpuinfo' or return 0;
    return scalar grep { /^processor\s*:/ } <$fh>;
}

sub loadavg {
    open my $fh, '<', '/proc/loadavg' or return 'n/a';
    my $l = <$fh> // '';
    return join ' ', (split ' ', $l)[0 .. 2];
}

1;
