#!/usr/bin/perl
# The per-interpreter configuration cache seen from Perl: a persistent
# process sees pam.d changes (at once with config_recheck(0), after the
# interval otherwise), handles share perl: modules safely, and the interval
# is validated.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir);
use Time::HiRes qw(sleep);
use TRex::PAM;

my $dir = tempdir();
local $ENV{TREX_PAM_CONFDIR} = $dir;
local $ENV{TREX_PAM_LOG} = 'none';
sub write_conf {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die $!;
    print {$fh} $text;
    close $fh or die $!;
}
my $conv = sub { my @r; while (@_) { splice @_, 0, 2; push @r, PAM_SUCCESS, '' } (@r, PAM_SUCCESS) };
sub auth {
    my $h = TRex::PAM->new(shift, 'alice', $conv);
    return ref $h ? $h->pam_authenticate : "start $h";
}

is(TRex::PAM::config_recheck(), 1000, 'files are checked again every 1000 us by default');
write_conf('other', "auth required pam_deny.so\n");
write_conf('svc', "auth required pam_permit.so\n");
is(auth('svc'), PAM_SUCCESS, 'first read');
write_conf('svc', "auth required pam_deny.so\n");
sleep 0.002;
is(auth('svc'), PAM_AUTH_ERR, 'a rewritten file is in force once the interval has passed');

is(TRex::PAM::config_recheck(60_000_000), 1000, 'a long interval');
sleep 0.03;                           # older than the racy window: trusted from stat
is(auth('svc'), PAM_AUTH_ERR, 'read and cached');
write_conf('svc', "auth required pam_permit.so\n");
is(auth('svc'), PAM_AUTH_ERR, 'within the interval the cached stack is used');
is(TRex::PAM::config_recheck(0), 60_000_000, 'back to checking at every start');
is(auth('svc'), PAM_SUCCESS, '... and the change is seen');
write_conf('svc', "auth required pam_debug.so auth=maxtries\n");
is(auth('svc'), PAM_MAXTRIES, 'every change, at once');
unlink "$dir/svc";
is(auth('svc'), PAM_AUTH_ERR, 'a removed service file falls back to other');
unlink "$dir/other";
is(auth('svc'), 'start ' . PAM_ABORT, '... and without other, start fails');

# perl: modules in a shared stack: each handle runs them with its own items
{
    package My::Who;
    sub authenticate {
        my ($mh) = @_;
        my ($rc, $user) = $mh->get_user;
        return $user eq 'alice' ? TRex::PAM::PAM_SUCCESS() : TRex::PAM::PAM_AUTH_ERR();
    }
}
write_conf('who', "auth required perl:My::Who\n");
sleep 0.03;
my @h = map { TRex::PAM->new('who', $_, $conv) } qw(alice bob alice);
is_deeply([map { $_->pam_authenticate } @h], [PAM_SUCCESS, PAM_AUTH_ERR, PAM_SUCCESS],
          'three handles on one cached stack with a perl: module, each with its own user');
undef @h;
is(auth('who'), PAM_SUCCESS, 'the cached perl: module outlives the handles that used it');

# $ENV{TREX_PAM_CONFDIR} is read at every start: a change between two
# handles is seen by the second, even within a long recheck interval
{
    my %dir = map { $_ => tempdir() } qw(one two);
    for my $d (values %dir) {
        open my $fh, '>', "$d/other" or die $!;
        print {$fh} "auth required pam_deny.so\n";
        close $fh or die $!;
    }
    for (['one', 'pam_permit.so'], ['two', 'pam_debug.so auth=maxtries']) {
        open my $fh, '>', "$dir{$_->[0]}/env" or die $!;
        print {$fh} "auth required $_->[1]\n";
        close $fh or die $!;
    }
    sleep 0.03;
    my $old = TRex::PAM::config_recheck(60_000_000);
    my @seen;
    for my $which (qw(one two one two two one)) {
        local $ENV{TREX_PAM_CONFDIR} = $dir{$which};
        push @seen, auth('env');
    }
    is_deeply(\@seen, [map { $_ eq 'one' ? PAM_SUCCESS : PAM_MAXTRIES } qw(one two one two two one)],
              '$ENV{TREX_PAM_CONFDIR} changed between handles: each start reads the directory it names');
    my $h = do { local $ENV{TREX_PAM_CONFDIR} = $dir{two}; TRex::PAM->new('env', 'alice', $conv) };
    local $ENV{TREX_PAM_CONFDIR} = $dir{one};
    is(auth('env'), PAM_SUCCESS, '... and a handle started under another value ...');
    is($h->pam_authenticate, PAM_MAXTRIES, '... keeps the directory it started with');
    TRex::PAM::config_recheck($old);
}

for my $bad (-1, 'x', undef) {
    eval { TRex::PAM::config_recheck($bad) };
    like($@, qr/^TRex::PAM::config_recheck: usec is not a number/, 'config_recheck(' . ($bad // 'undef') . ') croaks');
}
done_testing;
