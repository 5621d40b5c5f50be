package TRex::Webmail::Auth;
# Everything the web mail asks of TRex::PAM. No HTML, no HTTP: the caller
# passes the user's input in and gets plain data back.
use strict;
use warnings;
use TRex::PAM;

use constant { MAX_USER => 64, MAX_SECRET => 1024 };    # the longest user name and password taken

# A user name that may be used at all: not empty, not too long, no white
# space, control character, colon or slash.
sub valid_user {
    my ($u) = @_;
    return defined $u && length $u && length $u <= MAX_USER && $u !~ /[\x00-\x20\x7f:\/]/;
}

# Log in with a password. Returns {result => 'ok', sid => the new session ID},
# {result => 'must_change', notice => why} (no session is opened: the
# password must be changed first), or {result => 'failed', lockout => the
# faillock message or undef}.
sub login {
    my ($ctx, $user, $password) = @_;
    return { result => 'failed' }
        unless valid_user($user) && length $password && length $password <= MAX_SECRET;
    my ($h, $msgs, $lock) = password_auth($ctx, $user, $password);
    return { result => 'failed', lockout => $lock } unless $h;
    @$msgs = ();
    my $rc = pam_acct_mgmt($h, 0);
    if ($rc == PAM_NEW_AUTHTOK_REQD) {
        pam_end($h, PAM_SUCCESS);
        return { result => 'must_change', notice => forced_text($msgs) };
    }
    if ($rc != PAM_SUCCESS) {
        pam_end($h, $rc);
        return { result => 'failed' };
    }
    return { result => 'ok', sid => open_session($h) };
}

# The password change that follows a login, before any session exists: the
# user proves the current password again. Returns {result => 'ok', sid},
# {result => 'failed', lockout} as login does, or {result => 'refused',
# errors => [reasons]} when the new password was not taken.
sub change_expired {
    my ($ctx, $user, $current, $new, $retype) = @_;
    return { result => 'failed' }
        unless valid_user($user) && length $current && !too_long($current, $new, $retype);
    my ($h, $msgs, $lock) = password_auth($ctx, $user, $current);
    return { result => 'failed', lockout => $lock } unless $h;
    my $rc = pam_acct_mgmt($h, 0);
    if ($rc != PAM_SUCCESS && $rc != PAM_NEW_AUTHTOK_REQD) {
        pam_end($h, $rc);
        return { result => 'failed' };
    }
    ($rc, my @errors) = change_password($h, $rc == PAM_NEW_AUTHTOK_REQD, $current, $new, $retype);
    if ($rc != PAM_SUCCESS) {
        pam_end($h, $rc);
        return { result => 'refused', errors => \@errors };
    }
    $rc = pam_acct_mgmt($h, 0);
    if ($rc != PAM_SUCCESS) {
        pam_end($h, $rc);
        return { result => 'failed' };
    }
    return { result => 'ok', sid => open_session($h) };
}

# Who a session ID says. {state} is 'none' (no live session; {expired} is
# "idle" or "lifetime" when the session module says why), 'ok', or
# 'must_change' (the password must be changed first; {notice} says why).
# With a live session the result holds the open handle for session_account,
# session_change_password, session_close or session_end, which end it; and
# {user}, {sid}, {infos} (the modules' notes worth showing).
sub check_session {
    my ($ctx, $user, $sid) = @_;
    my %s = (state => 'none');
    return \%s unless valid_user($user);
    my ($h, $msgs) = start($ctx, $user, $sid);
    # No fail delay for a session ID that is no longer alive: guessing a
    # 256-bit ID is hopeless anyway, and a stale cookie should not stall.
    pam_set_item($h, PAM_FAIL_DELAY, sub { });
    my $rc = pam_authenticate($h, PAM_DISALLOW_NULL_AUTHTOK);
    # Only a session may authenticate from a cookie, never a password.
    if ($rc != PAM_SUCCESS || auth_method($h) ne 'session') {
        pam_get_item($h, 'TREX_SESSION_EXPIRED', my $why);    # "idle" or "lifetime"
        $s{expired} = $why if defined $why && $why =~ /\A(idle|lifetime)\z/;
        pam_end($h, $rc == PAM_SUCCESS ? PAM_AUTH_ERR : $rc);
        return \%s;
    }
    $rc = pam_acct_mgmt($h, 0);    # a disabled account is refused at once
    if ($rc != PAM_SUCCESS && $rc != PAM_NEW_AUTHTOK_REQD) {
        pam_end($h, $rc);
        return \%s;
    }
    my @infos = map { $_->[1] } grep { $_->[0] == PAM_TEXT_INFO } @$msgs;
    return { state => 'must_change', h => $h, user => $user, sid => $sid,
             notice => forced_text($msgs), infos => \@infos } if $rc == PAM_NEW_AUTHTOK_REQD;
    return { state => 'ok', h => $h, user => $user, sid => $sid,
             infos => [grep { /\AWarning: your password will expire/ } @infos] };
}

# What a live session shows: the user's attributes (PAM environment after
# pam_setcred) and {method, created, last_used}. Ends the handle.
sub session_account {
    my ($s) = @_;
    pam_setcred($s->{h}, PAM_ESTABLISH_CRED);
    my %env = pam_getenvlist($s->{h});
    my %info = (method => auth_method($s->{h}));
    for my $k (qw(CREATED LAST_USED)) {
        pam_get_item($s->{h}, "TREX_SESSION_$k", my $v);
        $info{lc $k} = $v if defined $v && $v =~ /\A\d{1,12}\z/;
    }
    pam_end($s->{h}, PAM_SUCCESS);
    return (\%env, \%info);
}

# A signed-in user changes the password. Returns true, or false and the
# reasons to show. Ends the handle.
sub session_change_password {
    my ($s, $current, $new, $retype) = @_;
    my ($rc, @errors) = too_long($current, $new, $retype)
        ? (PAM_AUTHTOK_ERR, 'The password was not changed.')
        : change_password($s->{h}, $s->{state} eq 'must_change', $current, $new, $retype);
    pam_end($s->{h}, $rc);
    return ($rc == PAM_SUCCESS, @errors);
}

# Logout: ends the session in the store, then the handle. Dies if it cannot.
sub session_close {
    my ($s) = @_;
    pam_set_item($s->{h}, 'TREX_SESSION_ID', $s->{sid});
    my $rc = pam_close_session($s->{h}, 0);
    pam_end($s->{h}, $rc);
    die "pam_close_session: " . pam_strerror(undef, $rc) . "\n" if $rc != PAM_SUCCESS;
}

# Ends the handle of a live session that is not used further.
sub session_end { pam_end($_[0]{h}, PAM_SUCCESS) }

# ---- inside --------------------------------------------------------------------

sub too_long { grep { length > MAX_SECRET } @_ }

# A conversation that collects the messages (PAM_ERROR_MSG, PAM_TEXT_INFO) in
# @$msgs and answers each prompt with $answer->($style, $text).
sub conversation {
    my ($msgs, $answer) = @_;
    return sub {
        my @res;
        while (@_) {
            my ($style, $text) = splice @_, 0, 2;
            $text //= '';
            my $ans;
            if ($style == PAM_PROMPT_ECHO_OFF || $style == PAM_PROMPT_ECHO_ON) {
                $ans = $answer->($style, $text);
            }
            elsif ($style == PAM_ERROR_MSG || $style == PAM_TEXT_INFO) {
                push @$msgs, [$style, $text];
            }
            push @res, PAM_SUCCESS, $ans;
        }
        return (@res, PAM_SUCCESS);
    };
}

# A handle for $user whose conversation answers "Password: " (any prompt with
# echo off) with $secret and a prompt with echo on with the user. Returns the
# handle and the list the messages are collected in.
sub start {
    my ($ctx, $user, $secret) = @_;
    my @msgs;
    my $conv = conversation(\@msgs, sub { $_[0] == PAM_PROMPT_ECHO_OFF ? $secret : $user });
    my $rc = pam_start($ctx->{service}, $user, $conv, my $h);
    die "pam_start($ctx->{service}): " . pam_strerror($h, $rc) . "\n" if $rc != PAM_SUCCESS;
    pam_set_item($h, PAM_RHOST, $ctx->{rhost}) if defined $ctx->{rhost};
    return ($h, \@msgs);
}

# pam_authenticate with a password (a session ID typed in is refused).
# Returns the handle and its messages, or nothing and the lockout text.
sub password_auth {
    my ($ctx, $user, $password) = @_;
    my ($h, $msgs) = start($ctx, $user, $password);
    my $rc = pam_authenticate($h, PAM_DISALLOW_NULL_AUTHTOK);
    $rc = PAM_AUTH_ERR if $rc == PAM_SUCCESS && auth_method($h) eq 'session';
    return ($h, $msgs) if $rc == PAM_SUCCESS;
    my $lock = lockout_text($msgs);
    pam_end($h, $rc);
    return (undef, undef, $lock);
}

sub auth_method {
    my ($h) = @_;
    pam_get_item($h, 'TREX_AUTH_METHOD', my $m);
    return $m // '';
}

# pam_setcred and pam_open_session; ends the handle and returns the new
# session ID (the TREX_SESSION_ID item), or dies.
sub open_session {
    my ($h) = @_;
    my $rc = pam_setcred($h, PAM_ESTABLISH_CRED);
    $rc = pam_open_session($h, 0) if $rc == PAM_SUCCESS;
    my $sid;
    pam_get_item($h, 'TREX_SESSION_ID', $sid) if $rc == PAM_SUCCESS;
    pam_end($h, $rc);
    die "no session: " . pam_strerror(undef, $rc) . "\n" if $rc != PAM_SUCCESS;
    die "no session: the stack set no TREX_SESSION_ID\n" unless defined $sid && $sid =~ /\Atrex1\.[A-Za-z0-9_-]+\z/;
    return $sid;
}

# pam_chauthtok answering the three prompts; returns the status and the
# messages worth showing (the modules' quality rules and the like).
sub change_password {
    my ($h, $forced, $current, $new, $retype) = @_;
    return (PAM_AUTHTOK_ERR, 'Please fill in every field.') unless length $current && length $new && length $retype;
    return (PAM_AUTHTOK_ERR, 'The new passwords do not match.') if $new ne $retype;
    # The handle's conversation answers from the values it was made with; a
    # signed-in user's handle was made with the session ID, so give it a
    # conversation for the change.
    my @local;
    my $conv = conversation(\@local, sub {
        my ($style, $text) = @_;
        return unless $style == PAM_PROMPT_ECHO_OFF;
        return $text =~ /retype|again|repeat|confirm/i ? $retype
             : $text =~ /new/i                         ? $new
             :                                           $current;
    });
    pam_set_item($h, PAM_CONV, $conv);
    my $rc = pam_chauthtok($h, $forced ? PAM_CHANGE_EXPIRED_AUTHTOK : 0);
    return (PAM_SUCCESS) if $rc == PAM_SUCCESS;
    my %seen;    # a module may ask again after a refused password: say each reason once
    my @errors = grep { !$seen{$_}++ } map { $_->[1] } grep { $_->[0] == PAM_ERROR_MSG && length $_->[1] } @local;
    # a wrong current password counts as a failed login: after enough, the
    # account is locked, and faillock says so
    my $lock = lockout_text(\@local);
    push @errors, $lock ? "The password was not changed. $lock"
        : $rc == PAM_AUTHTOK_RECOVERY_ERR || $rc == PAM_AUTH_ERR || $rc == PAM_PERM_DENIED
        ? 'The password was not changed: the current password is wrong.'
        : 'The password was not changed.';
    return ($rc, @errors);
}

# The faillock module's lockout message, if the stack sent one.
sub lockout_text {
    my ($msgs) = @_;
    my @lock = grep { $_->[1] =~ /\AThe account is locked due to \d+ failed logins?\.\z/ } @$msgs;
    return unless @lock;
    my ($left) = grep { $_->[0] == PAM_TEXT_INFO && $_->[1] =~ /\A\(\d+ minutes? left to unlock\)\z/ } @$msgs;
    return join ' ', $lock[0][1], $left ? $left->[1] : ();
}

# Why the password must be changed: the account module's own words (it says
# so only after the password was right), else a fixed text.
sub forced_text {
    my ($msgs) = @_;
    my ($m) = grep { $_->[1] =~ /\AYou are required to change your password immediately/ } @$msgs;
    return $m ? $m->[1] : 'You must change your password now.';
}

1;

__END__

=head1 NAME

TRex::Webmail::Auth - the web mail example's calls to TRex::PAM

=head1 DESCRIPTION

Login with a password (C<login>), the session-ID check of every later request
(C<check_session>), the password change of a signed-in user
(C<session_change_password>) and the forced one before a session exists
(C<change_expired>), logout (C<session_close>), and the texts of faillock's
lockout and of a forced change. Each function takes a context
C<< {service => NAME, rhost => ADDRESS} >> or the result of C<check_session>
and the user's input, and returns plain data; nothing here knows about
cookies, forms or HTML.

=cut
