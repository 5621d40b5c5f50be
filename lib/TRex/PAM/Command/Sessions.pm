package TRex::PAM::Command::Sessions;

# trex-pam's commands on what the session and faillock modules keep in the
# database: sessions, faillock.
use strict;
use warnings;
use TRex::PAM;
use TRex::PAM::Command qw(EXIT_OK EXIT_FAIL fail bad_usage options checked open_db
                          parse_secs show_time plural);
use Exporter 'import';

our $VERSION = $TRex::PAM::VERSION;

our @EXPORT_OK = qw(cmd_sessions cmd_faillock);

# The state of a session under the session module's idle= and lifetime=
# (0: no such limit): "live", or why the module would refuse it.
sub session_state {
    my ($x, $idle, $lifetime, $now) = @_;
    return 'expired (lifetime)' if $lifetime && $now - $x->{created} > $lifetime;
    return 'expired (idle)' if $idle && $now - $x->{last_used} > $idle;
    return 'live';
}

# sessions [--db FILE | --store URI] [USER] [--idle S] [--lifetime S]
# sessions [--db FILE | --store URI] USER --revoke HANDLE... | --revoke-all
# sessions [--db FILE | --store URI] --purge [--idle S] [--lifetime S]
sub cmd_sessions {
    my @args = @_;
    my %o = (revoke => []);
    options(\@args, \%o, 'db|store=s', 'revoke=s@', 'revoke-all', 'purge', 'idle=s', 'lifetime=s');
    bad_usage('sessions: want at most one user name') if @args > 1;
    my $user = $args[0];
    my $revoke = @{ $o{revoke} } || $o{'revoke-all'};
    bad_usage('sessions: --revoke and --revoke-all exclude each other')
        if @{ $o{revoke} } && $o{'revoke-all'};
    bad_usage('sessions: --purge and --revoke exclude each other') if $o{purge} && $revoke;
    bad_usage('sessions: --purge ends the expired sessions of every user: give no user name')
        if $o{purge} && defined $user;
    bad_usage('sessions: --revoke and --revoke-all want a user name') if $revoke && !defined $user;
    bad_usage('sessions: --idle and --lifetime do not apply to --revoke')
        if $revoke && (defined $o{idle} || defined $o{lifetime});
    my ($idle, $lifetime) = checked(sub {
        (defined $o{idle} ? parse_secs('idle', $o{idle}, 2147483647) : 1800,
         defined $o{lifetime} ? parse_secs('lifetime', $o{lifetime}, 2147483647) : 43200);
    });
    bad_usage('sessions: --purge with --idle 0 and --lifetime 0 has nothing to purge')
        if $o{purge} && !$idle && !$lifetime;

    if ($o{purge}) {
        my $db = open_db($o{db}) or return EXIT_FAIL;
        my $n = eval { $db->session_purge(idle => $idle, lifetime => $lifetime) };
        return fail("sessions: " . $db->error) unless defined $n;
        printf "trex-pam: %s purged (idle over %s, lifetime over %s)\n",
               $n == 1 ? '1 expired session' : "$n expired sessions",
               $idle ? "$idle s" : 'none', $lifetime ? "$lifetime s" : 'none';
        return EXIT_OK;
    }
    if ($revoke) {
        my $db = open_db($o{db}) or return EXIT_FAIL;
        if ($o{'revoke-all'}) {
            my $n = eval { $db->session_revoke_all($user) };
            return fail("sessions: " . $db->error) unless defined $n;
            print "trex-pam: ", ($n ? plural($n, 'session') . " of $user ended" : "$user has no session"), "\n";
            return EXIT_OK;
        }
        my $bad = 0;
        for my $handle (@{ $o{revoke} }) {
            if (eval { $db->session_revoke($user, $handle); 1 }) {
                print "trex-pam: session $handle of $user ended\n";
            } else {
                fail("sessions: " . $db->error);
                $bad++;
                last if $db->status != TRex::PAM::DB::NO_SESSION() && $db->status != PAM_BAD_ITEM;
            }
        }
        return $bad ? EXIT_FAIL : EXIT_OK;
    }
    my $db = open_db($o{db}, readonly => 1) or return EXIT_FAIL;
    my @list = eval { $db->sessions($user) };
    return fail("sessions: " . $db->error) if $@;
    unless (@list) {
        print "trex-pam: ", (defined $user ? "$user has no session" : 'no sessions'), "\n";
        return EXIT_OK;
    }
    my $now = time;
    my $fmt = "%-16s %-8s  %-19s  %-19s  %-18s %s\n";
    printf $fmt, 'USER', 'HANDLE', 'CREATED', 'LAST USED', 'STATE', 'REMOTE HOST';
    printf $fmt, $_->{user}, $_->{handle}, show_time($_->{created}), show_time($_->{last_used}),
           session_state($_, $idle, $lifetime, $now), $_->{rhost} // '-' for @list;
    return EXIT_OK;
}

# One user's failures as faillock(8) shows them, and the verdict.
sub show_faillock {
    my ($user, $f, $p) = @_;
    my $ran_out = $p->{deny} && $f->{failures} >= $p->{deny} && !$f->{locked};
    print "$user:\n";
    printf "%-19s %s\n", 'When', 'Valid';
    for my $t (@{ $f->{times} }) {
        my $valid = !$ran_out && $f->{latest} - $t < $p->{fail_interval};
        printf "%-19s %s\n", show_time($t), $valid ? 'V' : 'I';
    }
    my $within = sprintf '%s within %d s (deny=%d)', plural($f->{failures}, 'failure'),
                         $p->{fail_interval}, $p->{deny};
    if ($f->{locked}) {
        print "$user: locked: $within; ",
              ($f->{unlock_at} ? 'unlocks at ' . show_time($f->{unlock_at}) : 'until reset (unlock_time=never)'),
              "\n";
    } elsif (!$f->{total}) {
        print "$user: not locked: no failures\n";
    } elsif ($ran_out) {
        printf "%s: not locked: %s; the lock ran out at %s\n", $user, $within,
               show_time($f->{latest} + $p->{unlock_time});
    } else {
        print "$user: not locked: ", ($p->{deny} ? $within : plural($f->{failures}, 'failure') . ' (deny=0: never locked)'), "\n";
    }
}

# faillock [--db FILE | --store URI] [USER] [--deny N] [--fail-interval S] [--unlock-time S|never]
# faillock [--db FILE | --store URI] USER --reset
sub cmd_faillock {
    my @args = @_;
    my %o;
    options(\@args, \%o, 'db|store=s', 'reset', 'deny=s', 'fail-interval=s', 'unlock-time=s');
    bad_usage('faillock: want at most one user name') if @args > 1;
    my $user = $args[0];
    bad_usage('faillock: --reset wants a user name') if $o{reset} && !defined $user;
    my %p = checked(sub {
        die "--deny: \"$o{deny}\" is not a number from 0 to 65535\n"
            if defined $o{deny} && !($o{deny} =~ /^[0-9]{1,5}\z/ && $o{deny} <= 65535);
        (deny => defined $o{deny} ? $o{deny} + 0 : 3,
         fail_interval => defined $o{'fail-interval'} ? parse_secs('fail-interval', $o{'fail-interval'}, 604800) : 900,
         unlock_time => defined $o{'unlock-time'} ? parse_secs('unlock-time', $o{'unlock-time'}, 604800, 1) : 600);
    });
    if ($o{reset}) {
        my $db = open_db($o{db}) or return EXIT_FAIL;
        my $n = eval { $db->faillock_reset($user) };
        return fail("faillock: " . $db->error) unless defined $n;
        print "trex-pam: ", ($n ? plural($n, 'failure') . " of $user cleared" : "$user has no failures"),
              "; not locked\n";
        return EXIT_OK;
    }
    my $db = open_db($o{db}, readonly => 1) or return EXIT_FAIL;
    if (defined $user) {
        my $f = eval { $db->faillock($user, %p) };
        return fail("faillock: " . $db->error) if $@;
        show_faillock($user, $f, \%p);
        return EXIT_OK;
    }
    my @tallies = eval { $db->tallies };
    return fail("faillock: " . $db->error) if $@;
    my $shown = 0;
    for my $t (@tallies) {
        my $f = eval { $db->faillock($t->{user}, %p) };
        return fail("faillock: " . $db->error) if $@;
        next unless $f && $f->{total};          # reset meanwhile
        show_faillock($t->{user}, $f, \%p);
        $shown++;
    }
    print "trex-pam: no failures on record\n" unless $shown;
    return EXIT_OK;
}

1;
__END__

=head1 NAME

TRex::PAM::Command::Sessions - the session and failed-login commands of trex-pam

=head1 DESCRIPTION

The implementation of the C<sessions> and C<faillock> commands of
L<trex-pam(1)|trex-pam>, which documents their use. Not a public API.

=cut
