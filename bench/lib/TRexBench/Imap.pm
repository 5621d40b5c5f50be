package TRexBench::Imap;
# bench/lib/TRexBench/Imap.pm - bench/password's IMAP section: the imap
# module's password login in a persistent process (new handle,
# pam_authenticate, end) against the same login made with libcurl alone
# (bench/imap_floor.c, built here with the C compiler that built perl),
# both against one private Dovecot over imaps (t/lib/TRexTest/DovecotServer.pm,
# as the tests start it), in interleaved slices. Not installed.
use strict;
use warnings;
use Config;
use Time::HiRes qw(time);
use TRexBench qw(med fig goal spew);

my $USER  = 'benchimap';
my $SLICE = 1.0;                 # seconds of one side before the other runs

# Prints the section; %o: dir (a temporary directory), confdir (the pam.d
# directory of the TRex::PAM rows), src (bench/imap_floor.c), seconds (of
# each side per round), rounds. Returns nothing; a missing piece prints why.
sub section {
    my (%o) = @_;
    print "\n";
    my $why = eval { require TRexTest::DovecotServer; TRexTest::DovecotServer::available() }
        // "t/lib/TRexTest/DovecotServer.pm: $@";
    return skip($why) if $why;
    my $floor = "$o{dir}/imap_floor";
    my $out = `$Config{cc} -std=c99 -O2 -o $floor $o{src} -lcurl 2>&1`;
    return skip("cannot build $o{src} (apt-get install libcurl4-openssl-dev): " . ((split /\n/, $out)[0] // "exit status $?"))
        if $?;
    my $pw = 'imap-' . join '', map { ('a' .. 'z', 0 .. 9)[ rand 36 ] } 1 .. 16;
    my $d = eval { TRexTest::DovecotServer->new(users => { $USER => $pw }) }
        or return skip("cannot start Dovecot: " . ((split /\n/, $@)[0] // ''));
    my ($url, $ca) = ('imaps://127.0.0.1:' . $d->imaps_port, $d->cafile);
    spew("$o{confdir}/imap", "auth required imap url=$url cafile=$ca nodelay\n");
    local @ENV{qw(BENCH_IMAP_USER BENCH_IMAP_PASSWORD)} = ($USER, $pw);

    require TRex::PAM;
    my $conv = sub { my @r; while (@_) { splice @_, 0, 2; push @r, 0, $pw } (@r, 0) };
    my $trex = sub {            # logins for $secs: the ms of each
        my ($secs) = @_;
        my @t;
        my $end = time + $secs;
        while (!@t || time < $end) {
            my $t0 = time;
            my $h = TRex::PAM->new('imap', $USER, $conv);
            my $rc = $h->pam_authenticate(0);
            undef $h;           # pam_end
            push @t, (time - $t0) * 1e3;
            die "TRex::PAM imap login: status $rc\n" if $rc;
        }
        return @t;
    };
    my $bare = sub {
        my ($secs) = @_;
        my @t = split /\n/, `$floor '$url' '$ca' $secs 2>&1`;
        die "bench/imap_floor: @t\n" if $? || grep { !/^[\d.]+$/ } @t;
        return @t;
    };
    my $t = eval { $trex->(0); $bare->(0); 1 } ? undef : $@;     # both work; libcurl loaded, server warm
    if ($t) {
        $d->stop;
        return skip($t =~ s/\s+\z//r);
    }
    my (%med, @ratio, %n);
    for my $round (1 .. $o{rounds}) {
        my %ms;
        for my $slice (1 .. (int($o{seconds} / $SLICE + 0.5) || 1)) {
            my @sides = (['trex', $trex], ['bare', $bare]);
            for my $s ($slice % 2 ? @sides : reverse @sides) {
                push @{ $ms{ $s->[0] } }, $s->[1]->($SLICE);
            }
        }
        for my $k (keys %ms) {
            push @{ $med{$k} }, med(@{ $ms{$k} });
            $n{$k} += @{ $ms{$k} };
        }
        push @ratio, $med{trex}[-1] / $med{bare}[-1];
    }
    my $version = `/usr/sbin/dovecot --version 2>/dev/null` // '';
    chomp $version;
    $d->stop;
    printf "IMAP password login in a persistent process, against a private Dovecot %s over imaps on 127.0.0.1\n"
         . "(a new connection and TLS handshake each); %d interleaved rounds, each %gs of either side in %gs slices;\n"
         . "each figure: the median of the rounds' median login (min..max)\n",
        $version || '?', $o{rounds}, $o{seconds}, $SLICE;
    printf "%-58s %24s %8s\n", 'login', 'ms each', 'logins';
    printf "%-58s %24s %8d\n", 'bare libcurl (bench/imap_floor.c: the module\'s options)',
        fig('%.2f', @{ $med{bare} }), $n{bare};
    printf "%-58s %24s %8d\n", 'TRex::PAM imap module (new, pam_authenticate, end)',
        fig('%.2f', @{ $med{trex} }), $n{trex};
    goal('IMAP login: TRex::PAM imap module / bare libcurl login (median login, per round)',
         fig('%.3fx', @ratio), 'within 1.1x', med(@ratio) < 1.1);
}

sub skip {
    my ($why) = @_;
    print "IMAP password login: not measured: $why\n";
    return;
}

1;
