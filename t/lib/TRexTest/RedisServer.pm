package TRexTest::RedisServer;
# A private redis-server for a test: 127.0.0.1 on a free port and a unix
# socket, its own fresh directory, no persistence unless asked, a password
# and ACL users when asked; gone when the test ends (never a system Redis).
#
#   TRexTest::RedisServer->skip_unless_available;    # skip_all, or fail under TREX_PAM_FULL
#   my $r = TRexTest::RedisServer->new(persist => 1, password => 'pw', users => { alice => 'pw2' });
#   $r->location; $r->port; $r->pid; $r->socket;
#   $r->command('SCARD', 'trex-pam:u:alice');         # a reply (no AUTH)
#   $r->stop_signal('STOP'); $r->stop_signal('CONT'); $r->restart; $r->stop;
use strict;
use warnings;
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();
use TRexTest ();

my $BIN = $ENV{TREX_PAM_REDIS_SERVER} || '/usr/bin/redis-server';
my %live;                           # pid => server, to stop at END
my $owner = $$;

sub available { return -x $BIN ? '' : "no redis-server at $BIN (apt-get install redis-server)" }

sub skip_unless_available { TRexTest::need_component('redis-server', available()) }

sub free_port { TRexTest::free_port() }

sub new {
    my ($class, %o) = @_;
    my $dir = TRexTest::tempdir();
    my $self = bless { dir => $dir, port => free_port(), socket => "$dir/redis.sock", %o }, $class;
    my @args = ('--port', $self->{port}, '--bind', '127.0.0.1', '--dir', $dir,
                '--daemonize', 'no', '--logfile', "$dir/redis.log",
                '--unixsocket', $self->{socket}, '--unixsocketperm', '700', '--save', '',
                '--appendonly', $o{persist} ? ('yes', '--appendfsync', 'always') : 'no');
    push @args, '--requirepass', $o{password} if defined $o{password};
    push @args, '--user', $_, 'on', ">$o{users}{$_}", '~*', '&*', '+@all'
        for sort keys %{ $o{users} || {} };
    $self->{args} = \@args;
    $self->start;
    return $self;
}

sub start {
    my ($self) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec $BIN, @{ $self->{args} } or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    $live{$pid} = $self;
    my $how = TRexTest::await_server($pid, 10, 0.02, sub { $self->ping });
    return $self if $how eq 'up';
    if ($how eq 'exited') {
        delete $live{$pid};
        delete $self->{pid};
        die "redis-server exited at start: " . $self->log_tail;
    }
    $self->stop;
    die "redis-server did not answer PING within 10 s: " . $self->log_tail;
}

# Answering (PONG, or NOAUTH: it is up, it wants a password); not LOADING.
sub ping {
    my ($self) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port}, Timeout => 1)
        or return 0;
    print {$s} "PING\r\n";
    my $line = <$s> // '';
    close $s;
    return $line =~ /^(?:\+PONG|-NOAUTH)/ ? 1 : 0;
}

# One command over TCP, without AUTH: its reply, an integer or a string
# (undef for nil); dies on an error reply and on arrays.
sub command {
    my ($self, @args) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port}, Timeout => 5)
        or die "redis: cannot connect: $!";
    print {$s} '*' . @args . "\r\n", map { '$' . length($_) . "\r\n$_\r\n" } @args;
    my $line = <$s> // die "redis: no reply to $args[0]";
    $line =~ s/\r\n\z//;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest + 0 if $type eq ':';
    return $rest if $type eq '+';
    die "redis: $args[0]: $rest\n" if $type eq '-';
    die "redis: $args[0]: a reply of type $type\n" unless $type eq '$';
    return undef if $rest < 0;
    read($s, my $buf, $rest + 2) == $rest + 2 or die "redis: a short reply to $args[0]";
    return substr $buf, 0, $rest;
}

sub log_tail {
    my ($self) = @_;
    open my $fh, '<', "$self->{dir}/redis.log" or return '(no log)';
    my @l = <$fh>;
    return join '', @l > 5 ? @l[-5 .. -1] : @l;
}

sub port     { $_[0]{port} }
sub pid      { $_[0]{pid} }
sub socket   { $_[0]{socket} }
sub dir      { $_[0]{dir} }
sub location { "redis://127.0.0.1:$_[0]{port}/0" }

sub stop_signal {
    my ($self, $sig) = @_;
    kill $sig, $self->{pid} if $self->{pid};
}

# Killed (-9, as a crash) if still running, reaped, and started again on
# the same port and directory.
sub restart {
    my ($self) = @_;
    $self->stop;
    $self->start;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    delete $live{$pid};
    return unless $$ == $owner;
    kill 'CONT', $pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub DESTROY { $_[0]->stop }

END { local $?; $_->stop for values %live }

1;
