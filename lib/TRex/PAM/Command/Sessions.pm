package TRex::PAM::Command::Sessions;

# trex-pam's commands on what the session and faillock modules keep in the
# database: sessions, faillock (judged by a service's own faillock line).
use strict;
use warnings;
use TRex::PAM;
use TRex::PAM::Command qw(EXIT_OK EXIT_FAIL fail bad_usage options checked db_path open_db
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

# The faillock settings of a service (default: "other", what pam_start runs
# for a service without a file of its own, or the built-in default stack),
# read by the library as the module reads them (TRex::PAM::faillock_settings:
# the auth stack's first "faillock preauth" line, else its first faillock
# line), with the explicit options over them. Returns (settings, where the
# store is, the line that says where they came from), or (undef, exit code)
# after saying why.
sub faillock_settings {
    my ($o, $given) = @_;
    my $service = $o->{service} // 'other';
    my ($rc, $s, @log) = TRex::PAM::faillock_settings($service, $o->{confdir});
    my %seen;
    print STDERR "trex-pam: faillock: $_\n" for grep { !$seen{$_}++ } @log;
    my %p = map { $_ => $given->{$_} // $s->{$_} } qw(deny fail_interval unlock_time);
    my $what = $o->{service} ? "service $service" : 'the default stack (a service without a file)';
    my $from;
    if ($rc == TRex::PAM::PAM_SUCCESS()) {
        my $file = $s->{builtin} ? 'the built-in default stack'
                 : $s->{file} =~ m{^/} ? $s->{file} : "$s->{confdir}/$s->{file}";
        $from = "from $file line $s->{line}, faillock $s->{action}";
    } elsif (!%$given) {
        return (undef, fail("faillock: $what has no faillock line in its auth stack: nothing"
                            . " to judge a lock by (give --service NAME, or --deny)"))
            if $rc == TRex::PAM::PAM_IGNORE();
        return (undef, fail("faillock: $what cannot be read"
                            . (@log ? '' : ': ' . TRex::PAM::pam_strerror(undef, $rc))));
    } else {
        $from = "the module's defaults and yours: $what "
              . ($rc == TRex::PAM::PAM_IGNORE() ? 'has no faillock line' : 'cannot be read');
    }
    my @shown = map {
        my $v = $_ eq 'unlock_time' && !$p{$_} ? 'never' : $p{$_};
        "$_=$v" . (defined $given->{$_} ? ' (--' . tr/_/-/r . ')' : '');
    } qw(deny fail_interval unlock_time);
    return (undef, fail('faillock: the faillock line names both store= and db=: give one'))
        if $rc == TRex::PAM::PAM_SUCCESS() && defined $s->{store} && defined $s->{db};
    my $store = $rc == TRex::PAM::PAM_SUCCESS() ? $s->{store} // $s->{db} : undef;
    return (\%p, $store, "@shown ($from)");
}

# faillock [--db FILE | --store URI] [--service NAME] [--confdir DIR] [USER]
#          [--deny N] [--fail-interval S] [--unlock-time S|never]
# faillock [--db FILE | --store URI] [--service NAME] [--confdir DIR] USER --reset
sub cmd_faillock {
    my @args = @_;
    my %o;
    options(\@args, \%o, 'db|store=s', 'service=s', 'confdir|d=s', 'reset', 'deny=s',
            'fail-interval=s', 'unlock-time=s');
    bad_usage('faillock: want at most one user name') if @args > 1;
    my $user = $args[0];
    bad_usage('faillock: --reset wants a user name') if $o{reset} && !defined $user;
    bad_usage('faillock: --reset takes no --deny, --fail-interval or --unlock-time')
        if $o{reset} && grep { defined $o{$_} } qw(deny fail-interval unlock-time);
    my %given = checked(sub {
        die "--deny: \"$o{deny}\" is not a number from 0 to 65535\n"
            if defined $o{deny} && !($o{deny} =~ /^[0-9]{1,5}\z/ && $o{deny} <= 65535);
        ((defined $o{deny} ? (deny => $o{deny} + 0) : ()),
         (defined $o{'fail-interval'} ? (fail_interval => parse_secs('fail-interval', $o{'fail-interval'}, 604800)) : ()),
         (defined $o{'unlock-time'} ? (unlock_time => parse_secs('unlock-time', $o{'unlock-time'}, 604800, 1)) : ()));
    });
    my $path = db_path($o{db});
    if ($o{reset}) {
        # the store the service counts in: its faillock line's, when --store
        # names none; without --service, the default stack's if it has one
        if (!defined $path && defined $o{service}) {
            my ($p, $store) = faillock_settings(\%o, {});
            return $store unless $p;
            $path = $store;
        } elsif (!defined $path) {
            my ($rc, $s) = TRex::PAM::faillock_settings('other', $o{confdir});
            $path = $s->{store} // $s->{db} if $rc == TRex::PAM::PAM_SUCCESS();
        }
        my $db = open_db($path) or return EXIT_FAIL;
        my $n = eval { $db->faillock_reset($user) };
        return fail("faillock: " . $db->error) unless defined $n;
        print "trex-pam: ", ($n ? plural($n, 'failure') . " of $user cleared" : "$user has no failures"),
              "; not locked\n";
        return EXIT_OK;
    }
    my ($p, $store, $from) = faillock_settings(\%o, \%given);
    return $store unless $p;
    my $db = open_db($path // $store, readonly => 1) or return EXIT_FAIL;
    print "trex-pam: settings: $from\n";
    if (defined $user) {
        my $f = eval { $db->faillock($user, %$p) };
        return fail("faillock: " . $db->error) if $@;
        show_faillock($user, $f, $p);
        return EXIT_OK;
    }
    my @tallies = eval { $db->tallies };
    return fail("faillock: " . $db->error) if $@;
    my $shown = 0;
    for my $t (@tallies) {
        my $f = eval { $db->faillock($t->{user}, %$p) };
        return fail("faillock: " . $db->error) if $@;
        next unless $f && $f->{total};          # reset meanwhile
        show_faillock($t->{user}, $f, $p);
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
