package TRexTest::Admin;
# Helpers for the tests of trex-pam on every backend: running bin/trex-pam,
# a web stack (faillock, session, userdb) whose lines name their stores,
# logging in and authenticating with a session ID through TRex::PAM.
#
#   my ($rc, $out, $err) = trex_pam("password\n", 'passwd', '--store', $loc, 'alice', ...);
#   all_output();                        # everything any run printed
#   web_stack('web', users => $u, sessions => $s, tallies => $t);
#   my $sid = login('web', 'alice', 'pw', '192.0.2.7');   # the session ID, or undef
#   auth('web', 'alice', $sid_or_password);               # pam_authenticate's code
use strict;
use warnings;
use Exporter 'import';
use TRexTest qw(service command);
use TRex::PAM qw(:DEFAULT :constants);

our @EXPORT_OK = qw(trex_pam all_output web_stack login auth);

my $all = '';

sub trex_pam {
    my ($stdin, @args) = @_;
    my ($rc, $out, $err) = command($stdin, $^X, '-Mblib', 'bin/trex-pam', @args);
    $all .= $out . $err;
    return ($rc, $out, $err);
}

sub all_output { $all }

# A service: faillock on the tallies' store, the session module first (a
# live session ID is enough), else userdb's password; a session opened on
# the sessions' store; userdb's account check on every request.
sub web_stack {
    my ($name, %s) = @_;
    my $fl = "deny=3 unlock_time=600 nodelay store=$s{tallies}";
    service($name, <<"EOF");
auth      requisite                                 faillock preauth $fl
auth      [success=done ignore=ignore default=die]  session store=$s{sessions}
auth      [success=1 default=bad]                   userdb store=$s{users}
auth      [default=die]                             faillock authfail $fl
auth      sufficient                                faillock authsucc $fl
auth      required                                  deny
account   required                                  userdb store=$s{users}
session   required                                  session store=$s{sessions}
EOF
    return $name;
}

sub start {
    my ($service, $user, $answer, $rhost) = @_;
    my $h = TRex::PAM->new($service, $user, sub {
        my @r;
        while (@_) {
            my ($style) = splice @_, 0, 2;
            push @r, 0, ($style == PAM_PROMPT_ECHO_OFF || $style == PAM_PROMPT_ECHO_ON) ? $answer : undef;
        }
        return (@r, 0);
    });
    die "pam_start($service): $h\n" unless ref $h;
    $h->pam_set_item(PAM_FAIL_DELAY, sub { });
    $h->pam_set_item(PAM_RHOST, $rhost) if defined $rhost;
    return $h;
}

# Logs in with a password and opens a session: its ID, or undef.
sub login {
    my ($service, $user, $pw, $rhost) = @_;
    my $h = start($service, $user, $pw, $rhost);
    return undef unless $h->pam_authenticate == PAM_SUCCESS && $h->pam_acct_mgmt == PAM_SUCCESS
        && $h->pam_open_session == PAM_SUCCESS;
    $h->pam_get_item('TREX_SESSION_ID', my $sid);
    return $sid;
}

# authenticate then acct_mgmt, as each request of the web application
# does: the first code that is not PAM_SUCCESS, or PAM_SUCCESS.
sub auth {
    my ($service, $user, $answer) = @_;
    my $h = start($service, $user, $answer);
    my $rc = $h->pam_authenticate;
    return $rc == PAM_SUCCESS ? $h->pam_acct_mgmt : $rc;
}

1;
