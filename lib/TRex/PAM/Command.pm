package TRex::PAM::Command;

# What the commands of bin/trex-pam share: exit codes, usage errors, help
# and failures, option parsing, opening the user database, the values of
# options (dates, days, seconds, attributes), reading a password, and the
# way times are printed.
use strict;
use warnings;
# Getopt::Long's configuration is global: set once here, it holds for the
# driver's options before the command word and for every command's.
use Getopt::Long qw(GetOptionsFromArray :config require_order no_ignore_case bundling);
use TRex::PAM ();
use Exporter 'import';

our $VERSION = $TRex::PAM::VERSION;

our @EXPORT_OK = qw(
    EXIT_OK EXIT_FAIL EXIT_USAGE
    usage command_help fail bad_usage reason options checked one_user db_path open_db
    parse_date parse_days parse_secs parse_attrs
    show_time show_date plural
    new_password
);

# Exit codes (documented in trex-pam's POD)
use constant { EXIT_OK => 0, EXIT_FAIL => 1, EXIT_USAGE => 2 };

# --db given before the command (trex-pam --db FILE list); set by the driver.
our $global_db;

# The synopsis (verbose 0), with the options (1, the default) or the whole
# man page (2), from the POD of the command that runs ($0); then exit.
sub usage {
    my ($exit, $verbose) = @_;
    require Pod::Usage;
    Pod::Usage::pod2usage(-exitval => $exit, -verbose => $verbose // 1, -noperldoc => 1,
                          -output => $exit == EXIT_OK ? \*STDOUT : \*STDERR);
}

# The help of one command: its synopsis lines and its items of COMMANDS,
# from the POD of the command that runs ($0); then exit 0.
sub command_help {
    my ($cmd) = @_;
    open my $fh, '<', $0 or usage(EXIT_OK, 1);
    my $pod = do { local $/; <$fh> };
    close $fh;
    my ($synopsis) = $pod =~ /^=head1 SYNOPSIS\n(.*?)^=head1/ms;
    my ($commands) = $pod =~ /^=head1 COMMANDS\n(.*?)^=back/ms;
    my ($mine, @syn) = (0);
    for (split /\n/, $synopsis // '') {
        $mine = /^\s+trex-pam \Q$cmd\E(?:\s|$)/ ? 1 : /^\s+trex-pam / ? 0 : $mine;
        push @syn, $_ if $mine;
    }
    my @items = grep { /^B<\Q$cmd\E>/ } split /^=item /m, $commands // '';
    usage(EXIT_OK, 1) unless @items;
    require Pod::Text;
    my $text = '';
    my $p = Pod::Text->new(sentence => 0, width => 78);
    $p->output_string(\$text);
    $p->parse_string_document("=pod\n\n=head1 SYNOPSIS\n\n" . join("\n", @syn)
                              . "\n\n=head1 DESCRIPTION\n\n=over\n\n"
                              . join('', map { "=item $_" } @items) . "=back\n\n=cut\n");
    print $text;
    exit EXIT_OK;
}

# ---- the user database ------------------------------------------------------------

# A problem: one line on stderr, exit status 1 (or the one given).
sub fail {
    my ($msg, $exit) = @_;
    print STDERR "trex-pam: $msg\n";
    return $exit // EXIT_FAIL;
}

# A usage problem: the message, then the synopsis, exit 2.
sub bad_usage {
    my ($msg) = @_;
    print STDERR "trex-pam: $msg\n";
    usage(EXIT_USAGE, 0);
}

# The text of a croak, without the method name and the "at FILE line N."
sub reason {
    my ($err) = @_;
    $err =~ s/ at \S+ line \d+(?:, <\w+> (?:line|chunk) \d+)?\.?\n?\z//;
    $err =~ s/^TRex::PAM::DB::\w+: //;
    $err =~ s/\n+\z//;
    return $err;
}

# Parse a subcommand's options, before or after its arguments ("--" ends
# them); usage error (2) on a bad one.
sub options {
    my ($args, @spec) = @_;
    my $saved = Getopt::Long::Configure('permute', 'no_auto_abbrev');
    my $ok = GetOptionsFromArray($args, @spec);
    Getopt::Long::Configure($saved);
    usage(EXIT_USAGE, 0) unless $ok;
}

# The database's path as given (--db of the command), else the --db given
# before the command; undef leaves the choice to TRex::PAM::DB.
sub db_path {
    my ($path) = @_;
    return $path // $global_db;
}

# The database (path: --db, else $TREX_PAM_DB, else the default), or undef
# after saying why.
sub open_db {
    my ($path, %o) = @_;
    require TRex::PAM::DB;
    $path = db_path($path);
    my $db = eval { TRex::PAM::DB->open(path => $path, %o) };
    return $db if $db;
    fail(reason($@));
    return undef;
}

# One user argument, else a usage error.
sub one_user {
    my ($cmd, $args) = @_;
    bad_usage("$cmd: want one user name" . (@$args ? ", not @{[ scalar @$args ]} arguments" : ''))
        unless @$args == 1;
    return $args->[0];
}

# "YYYY-MM-DD" (UTC midnight) or "never" (undef); dies with the reason.
sub parse_date {
    my ($opt, $v) = @_;
    return undef if $v eq 'never';
    my ($y, $m, $d) = $v =~ /^([0-9]{4})-([0-9]{2})-([0-9]{2})\z/
        or die "--$opt: \"$v\" is not a date (YYYY-MM-DD) or \"never\"\n";
    require Time::Local;
    my $t = eval { Time::Local::timegm(0, 0, 0, $d, $m - 1, $y) };
    my @g = defined $t ? gmtime $t : ();
    die "--$opt: \"$v\" is not a date (YYYY-MM-DD) or \"never\"\n"
        unless @g && $g[5] + 1900 == $y && $g[4] + 1 == $m && $g[3] == $d && $t > 0;
    return $t;
}

# A number of days, at least $min; "never" for -1 when $never.
sub parse_days {
    my ($opt, $v, $min, $never) = @_;
    return -1 if $never && $v eq 'never';
    die "--$opt: \"$v\" is not a number of days" . ($never ? ' (or "never")' : '') . "\n"
        unless $v =~ /^-?[0-9]{1,9}\z/ && $v >= $min;
    return $v + 0;
}

# --attr NAME=VALUE options as a hash ref; dies on one without "=".
sub parse_attrs {
    my ($list) = @_;
    my %a;
    for (@$list) {
        my ($k, $v) = /^([^=]*)=(.*)\z/s or die "--attr: \"$_\" is not NAME=VALUE\n";
        $a{$k} = $v;
    }
    return \%a;
}

# Runs $code; a die in it is a usage error (2) with its message.
sub checked {
    my ($code) = @_;
    my @r = eval { $code->() };
    if ($@) {
        chomp(my $m = $@);
        bad_usage($m);
    }
    return wantarray ? @r : $r[0];
}

# A number of seconds 0..$max ("never" for 0 when $never); dies with the reason.
sub parse_secs {
    my ($opt, $v, $max, $never) = @_;
    return 0 if $never && $v eq 'never';
    die "--$opt: \"$v\" is not a number of seconds from 0 to $max" . ($never ? ' (or "never")' : '') . "\n"
        unless $v =~ /^[0-9]{1,10}\z/ && $v <= $max;
    return $v + 0;
}

# A time as faillock(8) shows it: local time to the second.
sub show_time {
    my ($t) = @_;
    require POSIX;
    return POSIX::strftime('%Y-%m-%d %H:%M:%S', localtime $t);
}

sub plural {
    my ($n, $what) = @_;
    return "$n $what" . ($n == 1 ? '' : 's');
}

sub show_date {
    my ($t) = @_;
    return 'never' unless $t;
    require POSIX;
    return POSIX::strftime('%Y-%m-%d', gmtime $t);
}

# ---- passwords: from the terminal without echo, or one line of stdin -------------

# One line from STDIN with echo off, the prompt on STDERR. undef at EOF.
sub read_secret {
    my ($prompt) = @_;
    require POSIX;
    my $fd = fileno(STDIN);
    my $t = POSIX::Termios->new;
    my $lflag;
    if ($t->getattr($fd)) {
        $lflag = $t->getlflag;
        $t->setlflag($lflag & ~POSIX::ECHO());
        $t->setattr($fd, POSIX::TCSAFLUSH());
    }
    my $restore = sub {
        return unless defined $lflag;
        $t->setlflag($lflag);
        $t->setattr($fd, POSIX::TCSANOW());
    };
    local $SIG{INT} = local $SIG{TERM} = local $SIG{HUP} = sub {
        $restore->();
        print STDERR "\n";
        exit 130;
    };
    local $| = 1;
    print STDERR $prompt;
    my $line = <STDIN>;
    $restore->();
    print STDERR "\n";
    $line =~ s/\r?\n\z// if defined $line;
    return $line;
}

# The new password: one line of stdin (--password-stdin), else asked twice on
# the terminal. Returns (password) or (undef, exit status) after saying why.
sub new_password {
    my ($from_stdin) = @_;
    binmode STDIN;
    if ($from_stdin) {
        my $pw = -t STDIN ? read_secret('Password: ') : <STDIN>;     # a terminal: no echo
        return (undef, fail('no password on standard input')) unless defined $pw;
        $pw =~ s/\r?\n\z//;
        return (undef, fail('empty password on standard input')) if $pw eq '';
        return ($pw);
    }
    return (undef, fail('standard input is not a terminal: give the password with '
                        . '--password-stdin', EXIT_USAGE)) unless -t STDIN;
    my $pw = read_secret('New password: ');
    return (undef, fail('no password given')) unless defined $pw && $pw ne '';
    my $again = read_secret('Retype new password: ');
    my $same = defined $again && $again eq $pw;
    TRex::PAM::DB::wipe($again) if defined $again;
    unless ($same) {
        TRex::PAM::DB::wipe($pw);
        return (undef, fail('the passwords do not match; nothing changed'));
    }
    return ($pw);
}

1;
__END__

=head1 NAME

TRex::PAM::Command - what the commands of trex-pam share

=head1 DESCRIPTION

Part of the implementation of the L<trex-pam(1)|trex-pam> command: its exit codes,
usage errors, option parsing, the opening of the user database, the
parsing of dates, days, seconds and attributes, the reading of passwords
and the printing of times. Not a public API: it may change in any release.
For the command itself, see L<trex-pam(1)|trex-pam>.

=cut
