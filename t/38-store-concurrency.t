#!/usr/bin/perl
# Several processes log in and change passwords on one embedded store at
# once, as CGI processes do: no lost update, no "database is locked" (or any
# other store failure) reaching the application, every final password works.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir confdir service scripted_conv);
use TRex::PAM;

my $dir = tempdir();
my $db = "$dir/users.db";
confdir();
service('web', "auth required userdb db=$db nodelay\naccount required userdb db=$db\n"
             . "password requisite userdb db=$db minlen=8\n");
my $cmd = join ' ', map { "'$_'" } $^X, '-Mblib', 'bin/trex-pam', '--db', $db;
system("$cmd init >/dev/null") == 0 or die 'trex-pam init failed';
my @users = map { "user$_" } 0 .. 3;
# (passwords must not contain the user name: a quality rule)
for my $i (0 .. $#users) {
    system("printf '%s\\n' 'secret-$i-0' | $cmd useradd $users[$i] --password-stdin >/dev/null") == 0
        or die "useradd $users[$i] failed";
}
system("printf '%s\\n' 'secret-shared' | $cmd useradd shared --password-stdin >/dev/null") == 0
    or die 'useradd shared failed';

sub session_of {
    my ($user, @answers) = @_;
    my $h = TRex::PAM->new('web', $user, scripted_conv([], @answers));
    ref $h or die "pam_start: $h";
    return $h;
}

my $rounds = 12;
my @pids;
for my $i (0 .. $#users) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $u = $users[$i];
        my @bad;
        for my $n (0 .. $rounds - 1) {
            my ($old, $new) = ("secret-$i-$n", "secret-$i-" . ($n + 1));
            my $h = session_of($u, $old);
            my ($a, $b) = ($h->pam_authenticate, $h->pam_acct_mgmt);
            push @bad, "round $n: login $a/$b" if $a != PAM_SUCCESS || $b != PAM_SUCCESS;
            $h = session_of($u, $old, $new, $new);
            my $c = $h->pam_chauthtok;
            push @bad, "round $n: chauthtok $c" if $c != PAM_SUCCESS;
            $h = session_of('shared', 'secret-shared');   # a reader of another row
            my $s = $h->pam_authenticate;
            push @bad, "round $n: shared login $s" if $s != PAM_SUCCESS;
        }
        print STDERR "$u: $_\n" for @bad;
        exit(@bad ? 1 : 0);
    }
    push @pids, $pid;
}
for my $pid (@pids) {
    waitpid $pid, 0;
    is($? >> 8, 0, "worker $pid: every login and change succeeded ($rounds rounds)");
}
for my $i (0 .. $#users) {
    my $u = $users[$i];
    my $h = session_of($u, "secret-$i-$rounds");
    is($h->pam_authenticate, PAM_SUCCESS, "$u: the last of $rounds changes is the one stored");
    $h = session_of($u, "secret-$i-" . ($rounds - 1));
    is($h->pam_authenticate, PAM_AUTH_ERR, "$u: the one before no longer works");
}
done_testing;
