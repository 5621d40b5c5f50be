#!/usr/bin/perl
# The reads of one service call see one state of the store, through the
# whole stack: an account stack whose second userdb line reads the user
# again after a perl: line changed that user through a connection of its
# own (as another web server would). On the embedded store the call reads
# on in its snapshot (PAM_SUCCESS); on PostgreSQL, which checks the first
# read when the second begins the snapshot, the call fails
# (userdb: PAM_AUTHINFO_UNAVAIL, as for a store it cannot use) with one log line saying the store changed between two
# reads, and never acts on two states. A change to another user, or none,
# fails nothing, and the next call succeeds. Without PostgreSQL: skipped
# (failed under TREX_PAM_FULL).
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(confdir service capture_stderr);
use TRexTest::PgServer;
use TRex::PAM qw(:constants);
use TRex::PAM::DB;

$ENV{TREX_PAM_LOG} = 'none';
my $pg = TRexTest::PgServer->start_or_skip;
my $dir = confdir();
my %loc = (postgresql => $pg->uri($pg->createdb), sqlite => "$dir/one-state.db");

for my $kind (sort keys %loc) {
    my $loc = $loc{$kind};
    my $db = TRex::PAM::DB->open(store => $loc, create => 1);
    $db->user_add($_, password => 'Kx7-Blue-Harbor-1', method => 'sha512crypt', cost => 1000)
        for qw(alice bob);
    $db->close;
    for my $who (qw(alice bob)) {
        service("acct-$kind-$who", <<"EOT");
account  required  userdb store=$loc
account  required  perl:TRexTest::Writer store=$loc user=$who attr=seen=1
account  required  userdb store=$loc
EOT
    }
    service("acct-$kind", "account  required  userdb store=$loc\naccount  required  userdb store=$loc\n");
}

# acct_mgmt of alice on a fresh handle: (code, log)
sub acct {
    my ($svc) = @_;
    my ($log, $rc) = capture_stderr {
        local $ENV{TREX_PAM_LOG} = 'stderr';
        my $h = TRex::PAM->new($svc, 'alice', sub { (PAM_SUCCESS) });
        ref $h ? $h->pam_acct_mgmt : $h;
    };
    return ($rc, $log);
}

my ($rc, $log) = acct('acct-sqlite-alice');
is($rc, PAM_SUCCESS, 'sqlite: alice changed between the lines: the call reads on in its snapshot');
($rc, $log) = acct('acct-postgresql-alice');
is($rc, PAM_AUTHINFO_UNAVAIL, 'postgresql: alice changed between the lines: the call fails (userdb: AUTHINFO_UNAVAIL), not two states');
my @lines = grep { /changed between two reads/ } split /\n/, $log;
is(scalar @lines, 1, 'one log line says why') or diag $log;
like($lines[0] // '', qr/userdb: .*postgresql:\/\/\S*127\.0\.0\.1:\d+/, 'naming the module and the store')
    or diag $log;
unlike($log, qr/\Q$TRexTest::PgServer::PASSWORD\E/, 'without the password');
($rc, $log) = acct('acct-postgresql');
is($rc, PAM_SUCCESS, 'postgresql: the next call succeeds') or diag $log;
($rc, $log) = acct('acct-postgresql-bob');
is($rc, PAM_SUCCESS, 'postgresql: another user changed between the lines: nothing fails') or diag $log;
($rc, $log) = acct('acct-sqlite-bob');
is($rc, PAM_SUCCESS, 'sqlite: the same');
my $db = TRex::PAM::DB->open(store => $loc{postgresql});
is($db->user('alice')->{attrs}{seen}, 1, 'the change itself was made');
$db->close;

done_testing;
