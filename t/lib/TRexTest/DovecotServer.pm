package TRexTest::DovecotServer;
# A private Dovecot (IMAP only) for a test: 127.0.0.1 on free ports (imap
# with STARTTLS, imaps), its own directory with its configuration, a
# passwd-file of the test's users and a self-signed certificate made here
# with the openssl command; gone when the test ends (never the system's
# Dovecot). Run by root, every process of it runs as the dovecot user
# (else nobody): Dovecot's rootless mode, no chroot, no privilege to drop.
#
#   TRexTest::DovecotServer->skip_unless_available;  # skip_all, or fail under TREX_PAM_FULL
#   my $d = TRexTest::DovecotServer->new(users => { alice => 'pw' });
#   $d->imap_port; $d->imaps_port; $d->cafile;    # the certificate (SAN IP:127.0.0.1)
#   $d->other_cafile;                              # another self-signed one
#   $d->logins('alice');                           # logins the server saw for alice
#   $d->settle;                                  # the log quiet for 0.3 s
#   $d->log_text; $d->stop; $d->start;
use strict;
use warnings;
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();
use TRexTest ();

my $BIN = $ENV{TREX_PAM_DOVECOT} || '/usr/sbin/dovecot';
my %live;                           # pid => server, to stop at END
my $owner = $$;

sub available {
    return "no dovecot at $BIN (apt-get install dovecot-imapd)" unless -x $BIN;
    return 'no imap protocol in this Dovecot (apt-get install dovecot-imapd)'
        unless -x '/usr/lib/dovecot/imap' && -x '/usr/lib/dovecot/imap-login';
    return 'no openssl command (apt-get install openssl)' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH};
    return '';
}

sub skip_unless_available { TRexTest::need_component('dovecot', available()) }

sub free_port { TRexTest::free_port() }

# A self-signed certificate for 127.0.0.1 (P-256: quick to make) in dir/NAME.crt, .key.
sub make_cert {
    my ($dir, $name, $cn) = @_;
    my @cmd = ('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
               '-nodes', '-days', '2', '-subj', "/CN=$cn", '-addext', 'subjectAltName=IP:127.0.0.1',
               '-keyout', "$dir/$name.key", '-out', "$dir/$name.crt");
    system("@cmd >$dir/openssl.log 2>&1") == 0 or die "openssl req failed: see $dir/openssl.log";
}

sub new {
    my ($class, %o) = @_;
    my $dir = TRexTest::tempdir();
    my $self = bless { dir => $dir, imap_port => free_port(), imaps_port => free_port(),
                       users => $o{users} || {} }, $class;
    my $who = getpwnam('dovecot') ? 'dovecot' : 'nobody';
    my (undef, undef, $uid, $gid) = $> == 0 ? getpwnam($who) : (undef, undef, $>, (split ' ', $))[0]);
    @$self{qw(uid gid)} = ($uid, $gid);
    my $user = (getpwuid $uid)[0];
    my $group = (getgrgid $gid)[0];
    make_cert($dir, 'server', 'trex-test-server');
    make_cert($dir, 'other', 'trex-test-other');
    mkdir "$dir/$_" or die "$dir/$_: $!" for qw(run state mail);
    open my $pw, '>', "$dir/passwd" or die "$dir/passwd: $!";
    print {$pw} "$_:{PLAIN}$self->{users}{$_}::::\n" for sort keys %{ $self->{users} };
    close $pw;
    open my $c, '>', "$dir/dovecot.conf" or die "$dir/dovecot.conf: $!";
    print {$c} <<"CONF";
base_dir = $dir/run
state_dir = $dir/state
instance_name = trex-test-$self->{imap_port}
log_path = $dir/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$dir/server.crt
ssl_key = <$dir/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
default_internal_user = $user
default_internal_group = $group
default_login_user = $user
mail_location = maildir:$dir/mail/%u
first_valid_uid = $uid
first_valid_gid = $gid
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/passwd
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$dir/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $self->{imap_port}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $self->{imaps_port}
    ssl = yes
  }
}
service anvil {
  chroot =
  # no auth penalty (up to 15 s per login from an address that failed):
  # the tests fail logins on purpose
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service stats {
  chroot =
}
CONF
    close $c;
    if ($> == 0) {
        chown $uid, $gid, $dir, map { "$dir/$_" } qw(run state mail passwd dovecot.conf
                                                      server.crt server.key)
            or die "chown $dir: $!";
    }
    $self->start;
    return $self;
}

sub start {
    my ($self) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$self->{dir}/stdout.log";
        open STDERR, '>&', \*STDOUT;
        if ($> == 0) {
            $) = "$self->{gid} $self->{gid}";
            POSIX::setgid($self->{gid}) or POSIX::_exit(126);
            POSIX::setuid($self->{uid}) or POSIX::_exit(126);
        }
        exec $BIN, '-F', '-c', "$self->{dir}/dovecot.conf" or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    $live{$pid} = $self;
    my $how = TRexTest::await_server($pid, 15, 0.05, sub { $self->greets });
    return $self if $how eq 'up';
    if ($how eq 'exited') {
        delete $live{$pid};
        delete $self->{pid};
        die "dovecot exited at start (status $?): " . $self->log_text;
    }
    $self->stop;
    die "dovecot did not greet within 15 s: " . $self->log_text;
}

# The plain-text port sends "* OK" (it is up).
sub greets {
    my ($self) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{imap_port}, Timeout => 1)
        or return 0;
    $s->timeout(2);
    my $line = <$s> // '';
    print {$s} "a LOGOUT\r\n";
    close $s;
    return $line =~ /^\* OK/ ? 1 : 0;
}

sub log_text {
    my ($self) = @_;
    my $text = '';
    for my $f ('dovecot.log', 'stdout.log') {
        open my $fh, '<', "$self->{dir}/$f" or next;
        local $/;
        $text .= <$fh> // '';
    }
    return $text;
}

# Waits until the log has not grown for 0.3 s (at most 5 s): a refused
# login is logged when the connection closes, a moment after the client
# has its answer.
sub settle {
    my ($self) = @_;
    my $file = "$self->{dir}/dovecot.log";
    my ($size, $since, $until) = (-s $file // 0, Time::HiRes::time(), Time::HiRes::time() + 5);
    while (Time::HiRes::time() < $until) {
        Time::HiRes::sleep(0.05);
        my $now = -s $file // 0;
        ($size, $since) = ($now, Time::HiRes::time()) if $now != $size;
        last if Time::HiRes::time() - $since >= 0.3;
    }
    return $self;
}

# How many logins of user the server has seen so far, accepted or refused
# (imap-login's lines "Login: user=<u>" and "Disconnected (auth failed, ...):
# user=<u>"; auth_failure_delay is 0 here, so a refusal is logged at once).
sub logins {
    my ($self, $user) = @_;
    my $n = 0;
    $self->settle;
    for (split /\n/, $self->log_text) {
        next unless /imap-login: \w+: .*\buser=<\Q$user\E>/;
        $n++ if /imap-login: \w+: Login: / || /\(auth failed, /;
    }
    return $n;
}

sub imap_port  { $_[0]{imap_port} }
sub imaps_port { $_[0]{imaps_port} }
sub dir        { $_[0]{dir} }
sub pid        { $_[0]{pid} }
sub cafile     { "$_[0]{dir}/server.crt" }
sub other_cafile { "$_[0]{dir}/other.crt" }

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    delete $live{$pid};
    return unless $$ == $owner;
    kill 'TERM', $pid;
    my $until = Time::HiRes::time() + 10;
    while (Time::HiRes::time() < $until) {
        return if waitpid($pid, POSIX::WNOHANG()) == $pid;
        Time::HiRes::sleep(0.05);
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub DESTROY { $_[0]->stop }

END { local $?; $_->stop for values %live }

1;
