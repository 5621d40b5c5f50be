package TRex::PAM::Command::Copy;

# trex-pam copy: users, sessions and failure tallies from one store into
# another (the walking and comparing is TRex::PAM::DB's copy_to).
use strict;
use warnings;
use TRex::PAM ();
use TRex::PAM::Command qw(EXIT_OK EXIT_FAIL fail bad_usage reason options checked
                          parse_secs plural);
use Exporter 'import';

our $VERSION = $TRex::PAM::VERSION;

our @EXPORT_OK = qw(cmd_copy);

# The store at $location for one side of the copy, or undef after saying why.
sub open_side {
    my ($side, $location, %o) = @_;
    require TRex::PAM::DB;
    my $db = eval { TRex::PAM::DB->open(store => $location, %o) };
    fail("copy: --$side: " . reason($@)) unless $db;
    return $db;
}

my @kinds = (['users', 'users'], ['sessions', 'sessions'], ['tallies', 'failure tallies']);

# "3 added, 0 unchanged, ..." for one kind; updated and expired only where
# they can happen (sessions).
sub counts {
    my ($kind, $c) = @_;
    my @f = ('added', ($kind eq 'sessions' ? 'updated' : ()), 'unchanged', 'replaced');
    my @s = map { "$c->{$_} $_" } @f;
    push @s, plural($c->{conflicts}, 'conflict'), "$c->{skipped} skipped";
    push @s, "$c->{expired} expired (left out)" if $kind eq 'sessions';
    return join ', ', @s;
}

# copy --from LOC --to LOC [--no-users] [--sessions] [--tallies] [--replace]
#      [--dry-run] [--idle S] [--lifetime S]
sub cmd_copy {
    my @args = @_;
    my %o = (users => 1);
    options(\@args, \%o, 'from=s', 'to=s', 'users!', 'sessions', 'tallies', 'replace',
            'dry-run|n', 'idle=s', 'lifetime=s');
    bad_usage("copy: unexpected argument \"$args[0]\"") if @args;
    bad_usage('copy: want --from LOCATION and --to LOCATION')
        unless defined $o{from} && $o{from} ne '' && defined $o{to} && $o{to} ne '';
    my @what = grep { $o{$_->[0]} } @kinds;
    bad_usage('copy: nothing to copy: --no-users wants --sessions or --tallies') unless @what;
    my ($idle, $lifetime) = checked(sub {
        (defined $o{idle} ? parse_secs('idle', $o{idle}, 2147483647) : 1800,
         defined $o{lifetime} ? parse_secs('lifetime', $o{lifetime}, 2147483647) : 43200);
    });

    # both stores open, the target's schema there (no create), before anything is read
    my $from = open_side('from', $o{from}, readonly => 1) or return EXIT_FAIL;
    my $to = open_side('to', $o{to}, $o{'dry-run'} ? (readonly => 1) : ()) or return EXIT_FAIL;
    for my $k (@what) {
        for ([$from, 'none to copy from there'], [$to, 'it cannot take them']) {
            my ($db, $why) = @$_;
            next if $db->keeps($k->[0]);
            my $hint = $k->[0] eq 'users'
                ? ' (--no-users copies only --sessions and --tallies)' : '';
            return fail("copy: " . $db->where . " keeps no $k->[1]: $why$hint");
        }
    }
    my $r = eval {
        $from->copy_to($to, users => $o{users}, sessions => $o{sessions}, tallies => $o{tallies},
                       replace => $o{replace}, dry_run => $o{'dry-run'},
                       idle => $idle, lifetime => $lifetime);
    };
    return fail("copy: " . $from->error . "; what was written before stays (run the copy again)")
        unless $r;

    printf STDERR "trex-pam: copy: %s %s: %s\n", $_->{kind}, $_->{name}, $_->{text}
        for @{ $r->{notes} };
    print "trex-pam: copy from ", $from->where, " to ", $to->where, "\n";
    printf "%-16s %s\n", "$_->[1]:", counts($_->[0], $r->{$_->[0]}) for @what;
    my ($conflicts, $skipped, $changed) = (0, 0, 0);
    for my $k (@what) {
        my $c = $r->{ $k->[0] };
        $conflicts += $c->{conflicts};
        $skipped += $c->{skipped};
        $changed += $c->{added} + $c->{updated} + $c->{replaced};
    }
    if ($o{'dry-run'}) {
        print "trex-pam: dry run: nothing written\n";
    } elsif (!$r->{written}) {
        print "trex-pam: nothing written: ", plural($conflicts, 'conflict'),
              " (--replace makes the target's records the source's)\n";
    } elsif (!$changed) {
        print "trex-pam: nothing to write: the target holds the same records\n";
    } else {
        print "trex-pam: copied\n";
    }
    return $conflicts && !$o{replace} || $skipped ? EXIT_FAIL : EXIT_OK;
}

1;
__END__

=head1 NAME

TRex::PAM::Command::Copy - the copy command of trex-pam

=head1 DESCRIPTION

The implementation of the C<copy> command of L<trex-pam(1)|trex-pam>,
which documents its use. Not a public API.

=cut
