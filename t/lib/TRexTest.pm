package TRexTest;
# Helpers for TRex::PAM's tests: a private pam.d directory, stderr capture,
# scripted conversations, the C test programs' TAP passed through.
use strict;
use warnings;
use File::Temp ();
use Exporter 'import';

our @EXPORT = qw(confdir service scripted_conv capture_stderr slurp tempdir rmtree run_c_tests run_tap);
our @EXPORT_OK = qw(command command_merged);

# The core logs to syslog by default; tests keep quiet unless they capture.
$ENV{TREX_PAM_LOG} = 'none';

my ($dir, @dirs);
my $pid = $$;

# A private temporary directory, removed at exit. (Not File::Temp's CLEANUP:
# its rmtree calls Cwd::abs_path, whose XS valgrind reports on Debian 12.)
# A TCP port free on 127.0.0.1 now (for a server a test starts).
sub free_port {
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp',
                                  Listen => 1, ReuseAddr => 1) or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Waits up to $secs for a server just started as $pid: 'up' once $up->()
# is true, 'exited' ($? set) if the process ended first, else 'timeout'.
sub await_server {
    my ($pid, $secs, $pause, $up) = @_;
    require POSIX;
    require Time::HiRes;
    my $until = Time::HiRes::time() + $secs;
    while (Time::HiRes::time() < $until) {
        return 'exited' if waitpid($pid, POSIX::WNOHANG()) == $pid;
        return 'up' if $up->();
        Time::HiRes::sleep($pause);
    }
    return 'timeout';
}

# A component a test needs is missing ($why says which): skip the whole
# file, or under TREX_PAM_FULL (CI installs everything) fail it.
sub need_component {
    my ($what, $why) = @_;
    return unless $why;
    require Test::More;
    if ($ENV{TREX_PAM_FULL}) {
        Test::More::plan(tests => 1);
        Test::More::fail("$what needed under TREX_PAM_FULL: $why");
        exit 1;
    }
    Test::More::plan(skip_all => $why);
}

sub tempdir {
    my $d = File::Temp::tempdir('trexpam-t-XXXXXX', TMPDIR => 1);
    push @dirs, $d;
    return $d;
}

sub rmtree {
    my ($path) = @_;
    if (-d $path && !-l $path) {
        opendir my $dh, $path or return;
        rmtree("$path/$_") for grep { $_ ne '.' && $_ ne '..' } readdir $dh;
        closedir $dh;
        rmdir $path;
    }
    else {
        unlink $path;
    }
}

END { rmtree($_) for $$ == $pid ? @dirs : () }

# A fresh configuration directory; $ENV{TREX_PAM_CONFDIR} points at it.
sub confdir {
    $dir //= tempdir();
    $ENV{TREX_PAM_CONFDIR} = $dir;
    return $dir;
}

# service(NAME => TEXT): write a pam.d file.
sub service {
    my ($name, $text) = @_;
    my $d = confdir();
    open my $fh, '>', "$d/$name" or die "$d/$name: $!";
    print {$fh} $text;
    close $fh or die "$d/$name: $!";
    return $name;
}

# scripted_conv(\@seen, @answers): a conversation that records every
# [style, msg] in @seen and answers prompts (styles 1, 2) from @answers,
# other messages with undef.
sub scripted_conv {
    my ($seen, @answers) = @_;
    return sub {
        my @r;
        while (@_) {
            my ($style, $msg) = splice @_, 0, 2;
            push @$seen, [$style, $msg];
            push @r, 0, ($style == 1 || $style == 2) ? shift(@answers) : undef;
        }
        return (@r, 0);
    };
}

# capture_stderr { CODE }: runs CODE with the core logging to stderr, which
# goes to a file; returns (text, CODE's results).
sub capture_stderr(&) {
    my ($code) = @_;
    my $tmp = File::Temp->new;
    open my $save, '>&', \*STDERR or die "dup: $!";
    open STDERR, '>&', $tmp or die "redirect: $!";
    my @r;
    {
        local $ENV{TREX_PAM_LOG} = 'stderr';
        @r = eval { $code->() };
    }
    my $err = $@;
    open STDERR, '>&', $save or die "restore: $!";
    die $err if $err;
    return (slurp("$tmp"), @r);
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return scalar <$fh>;
}

# command($stdin, @argv): runs @argv (each word quoted for the shell) with
# $stdin as its input: (exit code, stdout, stderr). command_merged: (exit
# code, stdout and stderr as one stream, in the order written).
my $cmd_dir;
sub _command {
    my ($redirect, $stdin, @argv) = @_;
    $cmd_dir //= tempdir();
    open my $in, '>', "$cmd_dir/stdin" or die "$cmd_dir/stdin: $!";
    print {$in} $stdin;
    close $in or die "$cmd_dir/stdin: $!";
    my $c = join ' ', map { "'" . s/'/'\\''/gr . "'" } @argv;
    system("$c < '$cmd_dir/stdin' > '$cmd_dir/out' $redirect");
    return $? >> 8;
}
sub command {
    $cmd_dir //= tempdir();
    my $rc = _command("2> '$cmd_dir/err'", @_);
    return ($rc, slurp("$cmd_dir/out"), slurp("$cmd_dir/err"));
}
sub command_merged {
    my $rc = _command('2>&1', @_);
    return ($rc, slurp("$cmd_dir/out"));
}

# run_c_tests($dir, @wrap): every C test binary (t_*) in $dir through
# TAP::Parser, one ok per test line plus one for the binary's exit: a
# segfault can leave $? >> 8 at 0, so the parser's view of the plan, the exit
# and the wait status decides. @wrap (valgrind ...) runs before each binary.
# The binaries find the test module through TREX_PAM_TESTDIR=$dir.
sub run_c_tests {
    my ($dir, @wrap) = @_;
    require TAP::Parser;
    require Cwd;
    my @bins = grep { -f && -x && !/\.(?:c|h|o|so)$/ } sort glob("$dir/t_*");
    Test::More::ok(scalar @bins, "C test binaries in $dir");
    my $cwd = Cwd::getcwd();
    local $ENV{TREX_PAM_TESTDIR} = $dir;
    chdir $dir or die "chdir $dir: $!";
    for my $bin (@bins) {
        my $name = (split m{/}, $bin)[-1];
        my $p = TAP::Parser->new({ exec => [@wrap, $bin] });
        my $n = 0;
        while (my $r = $p->next) {
            next unless $r->is_test;
            $n++;
            Test::More::ok($r->is_ok, "$name: " . $r->description);
        }
        # a program with nothing to test here says so (1..0 # SKIP why)
        Test::More::ok($n > 0 || defined $p->skip_all, "$name: ran some tests"
                       . (defined $p->skip_all ? " (skipped: " . $p->skip_all . ")" : ''));
        Test::More::ok(!$p->has_problems, "$name: exit " . ($p->exit // 'undef') . ", wait " . ($p->wait // 'undef'));
    }
    chdir $cwd or die "chdir $cwd: $!";
}

# run_tap($label, [$bin, @args], \%env, %opt): one C test program through
# TAP::Parser with %env added to the environment (TREX_PAM_TESTDIR: the
# program's directory): every test line one test here named "$label: ...",
# a check the program skipped skipped here with its reason (a failure with
# no_skip => 1: where everything must run), then one test that it ran some
# and one for its exit and wait status (a crash can leave the exit at 0).
# Comments are notes (diagnostics with no_skip). Returns whether all passed.
sub run_tap {
    my ($label, $cmd, $env, %opt) = @_;
    require TAP::Parser;
    require File::Basename;
    my %env = (TREX_PAM_TESTDIR => File::Basename::dirname($cmd->[0]), %{ $env || {} });
    local @ENV{ keys %env } = values %env;
    my $p = TAP::Parser->new({ exec => $cmd });
    my ($n, $good) = (0, 1);
    while (my $r = $p->next) {
        if ($r->is_test) {
            $n++;
            (my $d = $r->description) =~ s/^- //;
            if ($r->has_skip && !$opt{no_skip}) {
              SKIP: { Test::More::skip("$label: " . $r->explanation, 1) }
                next;
            }
            $good &= Test::More::ok($r->is_ok && !$r->has_skip,
                                    "$label: $d" . ($r->has_skip ? ' (skipped: ' . $r->explanation . ')' : ''));
        } elsif ($r->is_comment || $r->is_bailout) {
            $opt{no_skip} || $r->is_bailout ? Test::More::diag("$label: " . $r->as_string)
                                            : Test::More::note("$label: " . $r->as_string);
        }
    }
    $good &= Test::More::ok($n > 0 || ($p->skip_all && !$opt{no_skip}), "$label: ran some tests"
                            . ($p->skip_all ? ' (skipped: ' . $p->skip_all . ')' : ''));
    $good &= Test::More::ok(!$p->has_problems,
                            "$label: exit " . ($p->exit // 'undef') . ', wait ' . ($p->wait // 'undef'));
    return $good;
}

1;
