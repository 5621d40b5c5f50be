package TRex::PAM::Command::Config;

# trex-pam's commands on the configuration directory: check-config, and
# test (service calls for a user, as pamtester runs them).
use strict;
use warnings;
use Getopt::Long qw(GetOptionsFromArray);
use TRex::PAM;
use TRex::PAM::Command qw(EXIT_OK EXIT_FAIL EXIT_USAGE usage);
use Exporter 'import';

our $VERSION = $TRex::PAM::VERSION;

our @EXPORT_OK = qw(cmd_check_config cmd_test);

# The configuration directory: --confdir, else $TREX_PAM_CONFDIR, else the default.
sub confdir_of {
    my ($given) = @_;
    return $given // $ENV{TREX_PAM_CONFDIR} // '/etc/trex-pam.d';
}

# check-config [--confdir DIR] [SERVICE...]: parse every service file (or the
# ones named) as pam_start would, loading each module, then check each line
# on this system (its store: reachable, its schema there and recent
# enough); print the problems as file:line: reason. Exit 1 if there is any.
sub cmd_check_config {
    my @args = @_;
    my ($dir, $quiet);
    GetOptionsFromArray(\@args, 'confdir|d=s' => \$dir, 'quiet|q' => \$quiet) or usage(EXIT_USAGE);
    $dir = confdir_of($dir);
    my @services = @args;
    unless (@services) {
        opendir my $dh, $dir or do { warn "trex-pam: $dir: $!\n"; return EXIT_FAIL };
        @services = sort grep { !/^\./ && -f "$dir/$_" && !/(?:~|\.bak|\.swp|\.dpkg-\w+)$/ } readdir $dh;
        unless (@services) {
            warn "trex-pam: $dir holds no service file\n";
            return EXIT_FAIL;
        }
    }
    my $bad = 0;
    for my $service (@services) {
        my ($rc, @lines) = TRex::PAM::check_setup($service, $dir);
        if ($rc != PAM_SUCCESS) {
            push @lines, "$service: " . pam_strerror(undef, $rc) unless @lines;
        }
        $bad++ if @lines || $rc != PAM_SUCCESS;
        print "$_\n" for @lines;
        print "$service: ok\n" if !@lines && $rc == PAM_SUCCESS && !$quiet;
    }
    return $bad ? EXIT_FAIL : EXIT_OK;
}

my %calls = map { $_ => 1 } qw(authenticate setcred acct_mgmt open_session close_session chauthtok);

# test [--confdir DIR] [--silent] SERVICE USER [CALL[=FLAGS]...]: run service
# calls like pamtester, prompting on the terminal.
sub cmd_test {
    my @args = @_;
    my ($dir, $silent, @env);
    GetOptionsFromArray(\@args, 'confdir|d=s' => \$dir, 'silent|s' => \$silent,
                        'env|e=s' => \@env) or usage(EXIT_USAGE);
    usage(EXIT_USAGE) if @args < 2;
    my ($service, $user, @seq) = @args;
    @seq = qw(authenticate) unless @seq;
    for (@seq) {
        my ($call) = split /=/, $_, 2;
        next if $calls{$call};
        warn "trex-pam: unknown call \"$call\" (one of: @{[ sort keys %calls ]})\n";
        return EXIT_USAGE;
    }
    local $ENV{TREX_PAM_CONFDIR} = confdir_of($dir);
    local $ENV{TREX_PAM_LOG} = $ENV{TREX_PAM_LOG} // 'stderr';
    my $pamh = TRex::PAM->new($service, $user eq '-' ? undef : $user);
    unless (ref $pamh) {
        warn "trex-pam: pam_start($service): " . pam_strerror(undef, $pamh) . "\n";
        return EXIT_FAIL;
    }
    for (@env) {
        my $rc = $pamh->pam_putenv($_);
        next if $rc == PAM_SUCCESS;
        warn "trex-pam: pam_putenv($_): " . pam_strerror(undef, $rc) . "\n";
        return EXIT_USAGE;
    }
    for my $step (@seq) {
        my ($call, $flags) = split /=/, $step, 2;
        my $f = $silent ? PAM_SILENT() : 0;
        for my $name (split /,/, $flags // '') {
            (my $const = $name) =~ s/^(?!PAM_)/PAM_/;
            my $c = $const =~ /^PAM_[A-Z_]+$/ ? TRex::PAM->can($const) : undef;
            unless ($c) {
                warn "trex-pam: unknown flag \"$name\"\n";
                return EXIT_USAGE;
            }
            $f |= $c->();
        }
        my $method = "pam_$call";
        my $rc = $pamh->$method($f);
        printf "trex-pam: %s: %s\n", $call, $pamh->pam_strerror($rc);
        return EXIT_FAIL if $rc != PAM_SUCCESS;
    }
    my %env = $pamh->pam_getenvlist;
    print "trex-pam: environment: $_=$env{$_}\n" for sort keys %env;
    print "trex-pam: successfully completed\n";
    return EXIT_OK;
}

1;
__END__

=head1 NAME

TRex::PAM::Command::Config - the configuration commands of trex-pam

=head1 DESCRIPTION

The implementation of the C<check-config> and C<test> commands of
L<trex-pam(1)|trex-pam>, which documents their use. Not a public API.

=cut
