#!/usr/bin/perl
# Writes that must survive are on disk when the call returns: a process
# killed (SIGKILL, no pam_end, no clean close of the store) right after
# pam_chauthtok or after a failed login leaves the new password and the
# failure tally for the next process, even though the handle still held a
# read transaction from its earlier calls.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir confdir service scripted_conv);
use POSIX ();
use TRex::PAM;

my $dir = tempdir();
my $db = "$dir/users.db";
confdir();
service('web', <<"EOF");
auth     requisite                                faillock preauth db=$db deny=3 nodelay
auth     [success=done ignore=ignore default=die] session db=$db
auth     [success=1 default=bad]                  userdb db=$db nodelay
auth     [default=die]                            faillock authfail db=$db deny=3 nodelay
auth     sufficient                               faillock authsucc db=$db deny=3 nodelay
auth     required                                 deny
account  required                                 userdb db=$db
password requisite                                userdb db=$db minlen=8
password optional                                 session db=$db revoke_on_change
session  required                                 session db=$db
EOF
my $cmd = join ' ', map { "'$_'" } $^X, '-Mblib', 'bin/trex-pam', '--db', $db;
system("$cmd init >/dev/null") == 0 or die 'trex-pam init failed';
system("printf '%s\\n' 'first-secret' | $cmd useradd alice --password-stdin >/dev/null") == 0
    or die 'useradd failed';

# Runs $code in a child that then kills itself with SIGKILL (its handles
# are never ended: no DESTROY runs); returns what
# the child reported on its pipe before dying.
sub then_killed {
    my ($code) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $r;
        my $said = eval { $code->() } // "died: $@";
        syswrite $w, "$said\n";
        kill 'KILL', $$;
        sleep 10;
        POSIX::_exit(3);
    }
    close $w;
    my $said = do { local $/; <$r> } // '';
    waitpid $pid, 0;
    is($? & 127, 9, 'the child was killed by SIGKILL');
    chomp $said;
    return $said;
}

sub handle {
    my ($user, @answers) = @_;
    my $h = TRex::PAM->new('web', $user, scripted_conv([], @answers));
    ref $h or die "pam_start: $h";
    return $h;
}

# A login (which reads inside a read transaction), then a password change on
# the same handle, then SIGKILL.
my $said = then_killed(sub {
    my $h = handle('alice', 'first-secret', 'first-secret', 'second-secret', 'second-secret');
    my $a = $h->pam_authenticate;
    my $c = $h->pam_chauthtok;
    return "$a $c";
});
is($said, PAM_SUCCESS . ' ' . PAM_SUCCESS, 'the child logged in and changed its password');
is(handle('alice', 'second-secret')->pam_authenticate, PAM_SUCCESS,
   'after SIGKILL, the new password works');
is(handle('alice', 'first-secret')->pam_authenticate, PAM_AUTH_ERR,
   'after SIGKILL, the old one does not');

# Failed logins counted by faillock, then SIGKILL: the tally is kept, and
# the third failure locks the account.
for my $n (1 .. 3) {
    $said = then_killed(sub {
        my $h = handle('alice', 'wrong-secret');
        my $rc = $h->pam_authenticate;
        return $rc;
    });
    is($said, PAM_AUTH_ERR, "failed login $n is refused");
}
is(handle('alice', 'second-secret')->pam_authenticate, PAM_AUTH_ERR,
   'after three killed failing processes, the right password is refused: every failure was kept');
done_testing;
