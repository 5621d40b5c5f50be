package TRexTest::PgServer;
# A private PostgreSQL server for the tests: initdb into a fresh temporary
# directory, started on a free port (127.0.0.1 and a socket in the same
# directory, fsync off), stopped (immediate) and removed when the object
# goes or the test ends. As root the server's commands run as the
# postgres system user (initdb refuses root).
#
#   my $pg = TRexTest::PgServer->start_or_skip;     # skip_all when no PostgreSQL
#   my ($pg, $why) = TRexTest::PgServer->try_start; # or say why not
#   my $uri = $pg->uri($pg->createdb);              # a fresh database
#   $pg->suspend; $pg->resume; $pg->stop; $pg->start; $pg->kill_server;
#
# The superuser is "trex" with password "trexpw": TCP connections ask for
# it (scram-sha-256), the socket trusts.
use strict;
use warnings;
use File::Temp ();
use File::Path ();
use IO::Socket::INET;
use TRexTest ();
use POSIX ();
use Time::HiRes ();
use Test::More ();

our $USER     = 'trex';
our $PASSWORD = 'trexpw';
my @servers;                # every started server, for END
my $dbseq = 0;

# The newest /usr/lib/postgresql/N/bin holding initdb, or undef.
sub bindir {
    my @dirs = grep { -x "$_/initdb" && -x "$_/pg_ctl" }
               sort { ($a =~ m{/(\d+)/bin$})[0] <=> ($b =~ m{/(\d+)/bin$})[0] }
               glob('/usr/lib/postgresql/*/bin');
    return $dirs[-1] if @dirs;
    for my $d (split /:/, $ENV{PATH} // '') {
        return $d if -x "$d/initdb" && -x "$d/pg_ctl";
    }
    return;
}

# A started server, or (undef, why) when there is none to start here.
sub try_start {
    my ($class) = @_;
    my $bin = bindir();
    return (undef, 'no PostgreSQL server binaries (initdb, pg_ctl) installed') unless $bin;
    return (undef, 'running as root without a postgres user') if $> == 0 && !getpwnam('postgres');
    my $self = eval { $class->new($bin) };
    return $self ? ($self) : (undef, "cannot start PostgreSQL: $@");
}

# A started server; else skip_all with the reason, except under
# TREX_PAM_FULL (CI installs PostgreSQL): then the test fails.
sub start_or_skip {
    my ($class) = @_;
    my ($self, $why) = $class->try_start;
    return $self if $self;
    Test::More::BAIL_OUT("TREX_PAM_FULL is set but $why") if $ENV{TREX_PAM_FULL};
    Test::More::plan(skip_all => $why);
}

sub free_port { TRexTest::free_port() }

sub new {
    my ($class, $bin) = @_;
    my $dir = File::Temp::tempdir('trex-pg-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    my $self = bless { bin => $bin, dir => $dir, data => "$dir/data", port => free_port(),
                       owner => $$ }, $class;
    if ($> == 0) {
        my (undef, undef, $uid, $gid) = getpwnam('postgres');
        chown $uid, $gid, $dir or die "chown $dir: $!";
        $self->{as} = ['runuser', '-u', 'postgres', '--'];
    } else {
        $self->{as} = [];
    }
    my $pwfile = "$dir/pw";
    open my $fh, '>', $pwfile or die "$pwfile: $!";
    print $fh "$PASSWORD\n";
    close $fh;
    chown((getpwnam('postgres'))[2, 3], $pwfile) if $> == 0;
    $self->run_as("$bin/initdb", '-D', $self->{data}, '-U', $USER, "--pwfile=$pwfile",
                  '--auth-local=trust', '--auth-host=scram-sha-256', '--no-sync',
                  '-E', 'UTF8', '--locale=C')
        or die "initdb failed (see $dir/initdb.log)\n";
    unlink $pwfile;
    push @servers, $self;
    $self->start or die "pg_ctl start failed: " . $self->log_tail . "\n";
    return $self;
}

# Runs a server command (as postgres when root), output to dir/NAME.log; true if it exited 0.
sub run_as {
    my ($self, @cmd) = @_;
    my $name = (split m{/}, $cmd[0])[-1];
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/$name.log";
        open STDERR, '>&', \*STDOUT;
        chdir $self->{dir};
        { exec @{ $self->{as} }, @cmd };
        POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return $? == 0;
}

sub log_tail {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/server.log" or return '(no log)';
    my @l = <$fh>;
    return join '', @l[ ($#l > 10 ? $#l - 10 : 0) .. $#l ];
}

sub start {
    my ($self) = @_;
    my $opts = "-k $self->{dir} -p $self->{port} -c listen_addresses=127.0.0.1 -c fsync=off"
             . " -c shared_buffers=16MB -c max_connections=40";
    return $self->run_as("$self->{bin}/pg_ctl", '-D', $self->{data}, '-l', "$self->{dir}/server.log",
                         '-w', '-t', '30', '-o', $opts, 'start');
}

sub stop {
    my ($self) = @_;
    $self->resume if $self->{suspended};
    return $self->run_as("$self->{bin}/pg_ctl", '-D', $self->{data}, '-m', 'immediate', '-w',
                         'stop');
}

sub restart { my ($self) = @_; $self->stop; return $self->start }

# The command lines of stop and start, for a C test to run itself.
sub stop_command {
    my ($self) = @_;
    return join ' ', @{ $self->{as} }, "$self->{bin}/pg_ctl", '-D', $self->{data},
        '-m', 'immediate', '-w', 'stop', ">>$self->{dir}/pg_ctl.log", '2>&1';
}

sub start_command {
    my ($self) = @_;
    return join ' ', @{ $self->{as} }, "$self->{bin}/pg_ctl", '-D', $self->{data},
        '-l', "$self->{dir}/server.log", '-w', '-t', '30', '-o',
        "'-k $self->{dir} -p $self->{port} -c listen_addresses=127.0.0.1 -c fsync=off"
        . " -c shared_buffers=16MB -c max_connections=40'", 'start',
        ">>$self->{dir}/pg_ctl.log", '2>&1';
}

# The postmaster's pid (undef when not running).
sub pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{data}/postmaster.pid" or return;
    my $pid = <$fh>;
    chomp $pid if defined $pid;
    return $pid && $pid =~ /^\d+$/ ? $pid : undef;
}

# The postmaster and all its children.
sub pids {
    my ($self) = @_;
    my $pm = $self->pid or return;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        push @kids, $1 if $line =~ /^(\d+) \(.*\) \S (\d+)/ && $2 == $pm;
    }
    return ($pm, @kids);
}

sub suspend { my ($self) = @_; kill 'STOP', $self->pids; $self->{suspended} = 1 }
sub resume  { my ($self) = @_; kill 'CONT', $self->pids; $self->{suspended} = 0 }
# A crash: the postmaster killed (-9), then waited for until it and its
# children are gone (reaped by init, which may take a second), so that
# start can run again; false if some lived on for 20 s. A suspended
# server's children are resumed after the kill: each answers what it was
# given at most, then finds the postmaster gone and exits.
sub kill_server {
    my ($self) = @_;
    my @pids = $self->pids or return 0;
    kill 'KILL', $pids[0];
    if ($self->{suspended}) {
        kill 'CONT', @pids;
        $self->{suspended} = 0;
    }
    my $until = Time::HiRes::time() + 20;
    while (grep { kill 0, $_ } @pids) {
        return 0 if Time::HiRes::time() > $until;
        Time::HiRes::sleep(0.05);
    }
    return 1;
}

sub port { $_[0]{port} }
sub socket_dir { $_[0]{dir} }
sub data_dir { $_[0]{data} }

# A fresh database: its name.
sub createdb {
    my ($self, $name) = @_;
    $name //= sprintf 'trex_%d_%d', $$, ++$dbseq;
    $self->run_as("$self->{bin}/createdb", '-h', $self->{dir}, '-p', $self->{port}, '-U', $USER,
                  $name) or die "createdb $name failed\n";
    return $name;
}

# The URI of a database over TCP, with the password (postgresql://trex:trexpw@...).
sub uri {
    my ($self, $db, %o) = @_;
    my $pw = exists $o{password} ? $o{password} : $PASSWORD;
    my $q = join '&', map { "$_=$o{query}{$_}" } sort keys %{ $o{query} // {} };
    return "postgresql://$USER" . (defined $pw ? ":$pw" : '') . "\@127.0.0.1:$self->{port}/$db"
         . ($q ne '' ? "?$q" : '');
}

# The keyword form over the socket (trusted: no password).
sub conninfo {
    my ($self, $db) = @_;
    return "postgresql:host=$self->{dir} port=$self->{port} user=$USER dbname=$db";
}

sub DESTROY {
    my ($self) = @_;
    return if $self->{gone} || $self->{owner} != $$;
    $self->{gone} = 1;
    $self->stop;
    File::Path::remove_tree($self->{dir});
}

END { local $?; $_->DESTROY for grep { defined } @servers; @servers = () }

1;
