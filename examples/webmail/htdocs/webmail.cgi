#!/usr/bin/perl
# TRex web mail, the example: a CGI front that logs in through TRex::PAM.
#
# Every request is a new process (as TRex runs). The login answers PAM's
# "Password: " prompt with the password and opens a session; every later
# request answers the same prompt with the session ID from the cookie, so the
# same stack (examples/pam.d/webmail) proves who the user is each time.
#
# Routes (PATH_INFO):   GET  /login     the login form
#                       POST /login     log in (or the forced password change)
#                       GET  /mailbox   the user, the session, the Maildir
#                       POST /password  change the password (also the forced change)
#                       POST /logout    end the session
# Configuration (environment, set by the web server's configuration):
#   TREX_PAM_CONFDIR, TREX_PAM_DB, TREX_PAM_LOG   read by TRex::PAM itself
#   MAILDIR_ROOT      the users' Maildirs are $MAILDIR_ROOT/<user>/{cur,new}
#   WEBMAIL_STATE     a private directory (0700): the site secret for CSRF tokens
#   WEBMAIL_SERVICE   the PAM service name (default "webmail")
# See examples/webmail/README.
use strict;
use warnings;
use feature qw(state);
use CGI ();
use CGI::Cookie ();
use Digest::SHA qw(hmac_sha256_hex);
use Encode ();
use Fcntl qw(O_WRONLY O_CREAT O_EXCL);
use MIME::Base64 qw(encode_base64url decode_base64url);
use POSIX ();
use TRex::PAM;

my $SERVICE       = $ENV{WEBMAIL_SERVICE} || 'webmail';
my $SESSION_COOKIE = 'trex_session';    # base64url(user) "." session ID
my $PRE_COOKIE    = 'trex_pre';         # pre-session CSRF nonce (login forms)
my $MAX_USER      = 64;
my $MAX_SECRET    = 1024;               # longest password accepted from a form
my $MAX_MESSAGES  = 200;

# Fixed notices selected by ?msg=: no text ever comes from the URL.
my %NOTICE = (
    bye       => 'You have signed out.',
    ended     => 'Your session has ended. Please sign in again.',
    idle      => 'Your session has ended after a time without use. Please sign in again.',
    lifetime  => 'Your session has reached its longest allowed time. Please sign in again.',
    pwchanged => 'Your password has been changed.',
);

my $q = CGI->new;
my @set_cookies;    # cookies for this response

main();
exit 0;

sub main {
    my $path   = $ENV{PATH_INFO} // '';
    my $method = $ENV{REQUEST_METHOD} // 'GET';
    my $ok = eval {
        if ($path eq '' || $path eq '/') { route_root() }
        elsif ($path eq '/login')    { $method eq 'POST' ? do_login() : show_login() }
        elsif ($path eq '/mailbox')  { $method eq 'GET' ? show_mailbox() : not_allowed() }
        elsif ($path eq '/password') { $method eq 'POST' ? do_password() : redirect_to('/mailbox') }
        elsif ($path eq '/logout')   { $method eq 'POST' ? do_logout() : redirect_to('/mailbox') }
        else { send_page('404 Not Found', 'Not found', '<p>There is no such page.</p>') }
        1;
    };
    unless ($ok) {
        # The reason goes to the server's error log only (no secret is ever in it).
        (my $why = $@ // 'unknown error') =~ s/[^\x20-\x7e]+/ /g;
        warn "webmail: $why\n";
        send_page('500 Internal Server Error', 'Service unavailable',
                  '<p class="error">The service is not available now. Please try again later.</p>');
    }
}

# ---- routes ------------------------------------------------------------------

sub route_root {
    my $s = session_check();
    redirect_to($s->{state} eq 'none' ? '/login' : '/mailbox');
}

sub show_login {
    my $s = session_check();
    return redirect_to('/mailbox') if $s->{state} ne 'none';
    clear_session_cookie() if $s->{had_cookie};
    my $msg = $q->url_param('msg') // '';
    my $notice = $NOTICE{$msg} // ($s->{had_cookie} ? $NOTICE{ $s->{expired} // 'ended' } : undef);
    login_page(notice => $notice);
}

sub do_login {
    unless (pre_csrf_ok()) {
        return login_page(status => '403 Forbidden',
                          error => 'The form has expired. Please try again.');
    }
    my $user     = $q->param('user') // '';
    my $password = $q->param('password') // '';
    return login_page(error => 'Login failed.', user => $user)
        unless valid_user($user) && length $password && length $password <= $MAX_SECRET;

    my ($h, $msgs) = pam_handle($user, password => $password);
    my $rc = pam_authenticate($h, PAM_DISALLOW_NULL_AUTHTOK);
    # The login form takes passwords only: a session ID typed in is refused.
    $rc = PAM_AUTH_ERR if $rc == PAM_SUCCESS && auth_method($h) eq 'session';
    if ($rc != PAM_SUCCESS) {
        my $lock = lockout_text($msgs);
        pam_end($h, $rc);
        return login_page(error => $lock // 'Login failed.', user => $user);
    }
    @$msgs = ();
    $rc = pam_acct_mgmt($h, 0);
    if ($rc == PAM_NEW_AUTHTOK_REQD) {
        pam_end($h, PAM_SUCCESS);
        return password_page(user => $user, forced => 1, logged_in => 0,
                             notice => forced_text($msgs));
    }
    if ($rc != PAM_SUCCESS) {
        pam_end($h, $rc);
        return login_page(error => 'Login failed.', user => $user);
    }
    return open_session_and_enter($h, $user, '/mailbox');
}

sub show_mailbox {
    my $s = session_check();
    if ($s->{state} eq 'none') {
        clear_session_cookie() if $s->{had_cookie};
        return redirect_to('/login' . ($s->{had_cookie} ? '?msg=' . ($s->{expired} // 'ended') : ''));
    }
    if ($s->{state} eq 'must_change') {
        my $page = password_page(user => $s->{user}, forced => 1, logged_in => 1, sid => $s->{sid},
                                 notice => forced_text($s->{msgs}));
        pam_end($s->{h}, PAM_SUCCESS);
        return $page;
    }
    pam_setcred($s->{h}, PAM_ESTABLISH_CRED);    # the user's attributes as PAM environment
    my %env = pam_getenvlist($s->{h});
    my $info = session_info($s->{h});
    pam_end($s->{h}, PAM_SUCCESS);
    mailbox_page($s, \%env, $info);
}

sub do_password {
    my $s = session_check();
    my ($current, $new, $retype) = map { $q->param($_) // '' } qw(current new retype);
    my $too_long = grep { length > $MAX_SECRET } $current, $new, $retype;

    if ($s->{state} ne 'none') {
        # A signed-in user: the session proves who it is, the form the rest.
        my $forced = $s->{state} eq 'must_change';
        unless (session_csrf_ok($s->{sid})) {
            pam_end($s->{h}, PAM_SUCCESS);
            return send_page('403 Forbidden', 'Forbidden',
                             '<p class="error">The form has expired. <a href="' . url('/mailbox')
                             . '">Back to the mailbox</a>.</p>');
        }
        my ($rc, @errors) = $too_long ? (PAM_AUTHTOK_ERR, 'The password was not changed.') : change_password($s->{h}, $s->{msgs},
                                        $forced, $current, $new, $retype);
        pam_end($s->{h}, $rc);
        return redirect_to('/mailbox?msg=pwchanged') if $rc == PAM_SUCCESS;
        return password_page(user => $s->{user}, forced => $forced, logged_in => 1,
                             sid => $s->{sid}, errors => \@errors) if $forced;
        return mailbox_after_error($s->{user}, \@errors);
    }

    # Not signed in: the forced change that follows a login. The user proves
    # the current password again (nothing secret is carried between requests).
    clear_session_cookie() if $s->{had_cookie};
    my $user = $q->param('user') // '';
    unless (pre_csrf_ok()) {
        return login_page(status => '403 Forbidden', error => 'The form has expired. Please try again.');
    }
    return login_page(error => 'Login failed.', user => $user)
        unless valid_user($user) && length $current && !$too_long;
    my ($h, $msgs) = pam_handle($user, password => $current);
    my $rc = pam_authenticate($h, PAM_DISALLOW_NULL_AUTHTOK);
    $rc = PAM_AUTH_ERR if $rc == PAM_SUCCESS && auth_method($h) eq 'session';
    if ($rc != PAM_SUCCESS) {
        my $lock = lockout_text($msgs);
        pam_end($h, $rc);
        return login_page(error => $lock // 'Login failed.', user => $user);
    }
    $rc = pam_acct_mgmt($h, 0);
    if ($rc != PAM_SUCCESS && $rc != PAM_NEW_AUTHTOK_REQD) {
        pam_end($h, $rc);
        return login_page(error => 'Login failed.', user => $user);
    }
    my $forced = $rc == PAM_NEW_AUTHTOK_REQD;
    ($rc, my @errors) = change_password($h, $msgs, $forced, $current, $new, $retype);
    if ($rc != PAM_SUCCESS) {
        pam_end($h, $rc);
        return password_page(user => $user, forced => 1, logged_in => 0, errors => \@errors);
    }
    $rc = pam_acct_mgmt($h, 0);
    if ($rc != PAM_SUCCESS) {
        pam_end($h, $rc);
        return login_page(error => 'Login failed.', user => $user);
    }
    return open_session_and_enter($h, $user, '/mailbox?msg=pwchanged');
}

sub do_logout {
    my $s = session_check();
    if ($s->{state} eq 'none') {
        clear_session_cookie() if $s->{had_cookie};
        return redirect_to('/login');
    }
    unless (session_csrf_ok($s->{sid})) {
        pam_end($s->{h}, PAM_SUCCESS);
        return send_page('403 Forbidden', 'Forbidden',
                         '<p class="error">The form has expired. <a href="' . url('/mailbox')
                         . '">Back to the mailbox</a>.</p>');
    }
    pam_set_item($s->{h}, 'TREX_SESSION_ID', $s->{sid});
    my $rc = pam_close_session($s->{h}, 0);
    pam_end($s->{h}, $rc);
    die "pam_close_session: " . pam_strerror(undef, $rc) . "\n" if $rc != PAM_SUCCESS;
    clear_session_cookie();
    redirect_to('/login?msg=bye');
}

sub not_allowed {
    print $q->header(-status => '405 Method Not Allowed', -type => 'text/plain', -Allow => 'GET');
    print "Method not allowed\n";
}

# ---- PAM ---------------------------------------------------------------------

# A handle for $user whose conversation answers "Password: " (any prompt with
# echo off) with $answer{password} and a prompt with echo on with the user.
# Messages (PAM_ERROR_MSG, PAM_TEXT_INFO) are collected in @$msgs.
sub pam_handle {
    my ($user, %answer) = @_;
    my @msgs;
    my $conv = sub {
        my @res;
        while (@_) {
            my ($style, $text) = splice @_, 0, 2;
            $text //= '';
            my $ans;
            if ($style == PAM_PROMPT_ECHO_OFF) {
                $ans = $answer{password};
            }
            elsif ($style == PAM_PROMPT_ECHO_ON) {
                $ans = $user;
            }
            elsif ($style == PAM_ERROR_MSG || $style == PAM_TEXT_INFO) {
                push @msgs, [$style, $text];
            }
            push @res, PAM_SUCCESS, $ans;
        }
        return (@res, PAM_SUCCESS);
    };
    my $rc = pam_start($SERVICE, $user, $conv, my $h);
    die "pam_start($SERVICE): " . pam_strerror($h, $rc) . "\n" if $rc != PAM_SUCCESS;
    pam_set_item($h, PAM_RHOST, $ENV{REMOTE_ADDR}) if defined $ENV{REMOTE_ADDR};
    return ($h, \@msgs);
}

sub auth_method {
    my ($h) = @_;
    pam_get_item($h, 'TREX_AUTH_METHOD', my $m);
    return $m // '';
}

# Who the cookie says: {state} is 'none' (no live session), 'ok' or
# 'must_change' (the password must be changed first); with a live session
# {h} is the open handle (authenticated, acct_mgmt done), {user}, {sid}.
sub session_check {
    my $cookie = $q->cookie($SESSION_COOKIE);
    my %s = (state => 'none', had_cookie => defined $cookie);
    return \%s unless defined $cookie && length $cookie <= 512;
    my ($u64, $sid) = split /\./, $cookie, 2;
    return \%s unless defined $sid && $sid =~ /\Atrex1\.[A-Za-z0-9_-]{16,256}\z/
                      && $u64 =~ /\A[A-Za-z0-9_-]{1,128}\z/;
    my $user = decode_base64url($u64);
    return \%s unless valid_user($user);

    my ($h, $msgs) = pam_handle($user, password => $sid);
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
    @$msgs = grep { $_->[0] == PAM_ERROR_MSG || $_->[0] == PAM_TEXT_INFO } @$msgs if $rc == PAM_NEW_AUTHTOK_REQD;
    @$msgs = grep { $_->[0] == PAM_TEXT_INFO && $_->[1] =~ /\AWarning: your password will expire/ } @$msgs
        if $rc == PAM_SUCCESS;
    return { %s, state => ($rc == PAM_SUCCESS ? 'ok' : 'must_change'),
             h => $h, user => $user, sid => $sid, msgs => $msgs };
}

# pam_chauthtok answering the three prompts; returns the status and the
# messages worth showing (the modules' quality rules and the like).
sub change_password {
    my ($h, $msgs, $forced, $current, $new, $retype) = @_;
    return (PAM_AUTHTOK_ERR, 'Please fill in every field.') unless length $current && length $new && length $retype;
    return (PAM_AUTHTOK_ERR, 'The new passwords do not match.') if $new ne $retype;
    # The conversation of this handle answers from the values it was made
    # with; a signed-in user's handle was made with the session ID, so give it
    # a conversation for the change.
    my @local;
    my $conv = sub {
        my @res;
        while (@_) {
            my ($style, $text) = splice @_, 0, 2;
            $text //= '';
            my $ans;
            if ($style == PAM_PROMPT_ECHO_OFF) {
                $ans = $text =~ /retype|again|repeat|confirm/i ? $retype
                     : $text =~ /new/i                         ? $new
                     :                                           $current;
            }
            elsif ($style == PAM_ERROR_MSG || $style == PAM_TEXT_INFO) {
                push @local, [$style, $text];
            }
            push @res, PAM_SUCCESS, $ans;
        }
        return (@res, PAM_SUCCESS);
    };
    pam_set_item($h, PAM_CONV, $conv);
    my $rc = pam_chauthtok($h, $forced ? PAM_CHANGE_EXPIRED_AUTHTOK : 0);
    return (PAM_SUCCESS) if $rc == PAM_SUCCESS;
    my %seen;    # a module may ask again after a refused password: say each reason once
    my @errors = grep { !$seen{$_}++ } map { $_->[1] } grep { $_->[0] == PAM_ERROR_MSG && length $_->[1] } @local;
    push @errors, $rc == PAM_AUTHTOK_RECOVERY_ERR || $rc == PAM_AUTH_ERR || $rc == PAM_PERM_DENIED
        ? 'The password was not changed: the current password is wrong.'
        : 'The password was not changed.';
    return ($rc, @errors);
}

sub open_session_and_enter {
    my ($h, $user, $where) = @_;
    my $rc = pam_setcred($h, PAM_ESTABLISH_CRED);
    $rc = pam_open_session($h, 0) if $rc == PAM_SUCCESS;
    my $sid;
    pam_get_item($h, 'TREX_SESSION_ID', $sid) if $rc == PAM_SUCCESS;
    pam_end($h, $rc);
    die "no session: " . pam_strerror(undef, $rc) . "\n" if $rc != PAM_SUCCESS;
    die "no session: the stack set no TREX_SESSION_ID\n" unless defined $sid && $sid =~ /\Atrex1\.[A-Za-z0-9_-]+\z/;
    push @set_cookies, cookie($SESSION_COOKIE, encode_base64url($user) . ".$sid");
    push @set_cookies, cookie($PRE_COOKIE, '', 1);
    redirect_to($where);
}

# Why the password must be changed: the account module's own words (it says
# so only after the password was right), else a fixed text.
sub forced_text {
    my ($msgs) = @_;
    my ($m) = grep { $_->[1] =~ /\AYou are required to change your password immediately/ } @$msgs;
    return $m ? $m->[1] : 'You must change your password now.';
}

# The faillock module's lockout message, if the stack sent one.
sub lockout_text {
    my ($msgs) = @_;
    my @lock = grep { $_->[1] =~ /\AThe account is locked due to \d+ failed logins?\.\z/ } @$msgs;
    return unless @lock;
    my ($left) = grep { $_->[0] == PAM_TEXT_INFO && $_->[1] =~ /\A\(\d+ minutes? left to unlock\)\z/ } @$msgs;
    return join ' ', $lock[0][1], $left ? $left->[1] : ();
}

# What the handle knows about the session: the method, and the times when the
# session module tells them (TREX_SESSION_CREATED / TREX_SESSION_LAST_USED).
sub session_info {
    my ($h) = @_;
    my %i = (method => auth_method($h));
    for my $k (qw(CREATED LAST_USED)) {
        pam_get_item($h, "TREX_SESSION_$k", my $v);
        $i{lc $k} = $v if defined $v && $v =~ /\A\d{1,12}\z/;
    }
    return \%i;
}

# ---- CSRF tokens ---------------------------------------------------------------

sub site_secret {
    state $secret;
    return $secret if defined $secret;
    my $dir = $ENV{WEBMAIL_STATE} or die "WEBMAIL_STATE is not set\n";
    my $file = "$dir/site-secret";
    unless (-e $file) {
        my $tmp = "$file.$$";
        sysopen my $fh, $tmp, O_WRONLY | O_CREAT | O_EXCL, 0600 or die "cannot create $tmp: $!\n";
        print {$fh} unpack('H*', random_bytes(32)), "\n" or die "cannot write $tmp: $!\n";
        close $fh or die "cannot write $tmp: $!\n";
        link $tmp, $file;    # the first process wins; the others read its secret
        unlink $tmp;
    }
    open my $fh, '<', $file or die "cannot read $file: $!\n";
    chomp($secret = <$fh> // '');
    die "$file holds no secret\n" unless $secret =~ /\A[0-9a-f]{64}\z/;
    return $secret;
}

sub random_bytes {
    my ($n) = @_;
    open my $fh, '<:raw', '/dev/urandom' or die "cannot open /dev/urandom: $!\n";
    read($fh, my $buf, $n) == $n or die "short read from /dev/urandom\n";
    return $buf;
}

sub same_string {    # constant time for strings of one length
    my ($x, $y) = @_;
    return 0 unless defined $x && defined $y && length $x == length $y;
    my $d = 0;
    $d |= ord(substr $x, $_, 1) ^ ord(substr $y, $_, 1) for 0 .. length($x) - 1;
    return $d == 0;
}

sub session_csrf { hmac_sha256_hex("session\0$_[0]", site_secret()) }

sub session_csrf_ok {
    my ($sid) = @_;
    return same_string(scalar($q->param('csrf')) // '', session_csrf($sid));
}

# Before a session exists (login, forced change) the token is an HMAC of a
# random nonce kept in its own cookie (a signed double-submit cookie).
sub pre_nonce {
    state $nonce;
    return $nonce if defined $nonce;
    my $c = $q->cookie($PRE_COOKIE);
    if (defined $c && $c =~ /\A[A-Za-z0-9_-]{43}\z/) {
        $nonce = $c;
    }
    else {
        $nonce = encode_base64url(random_bytes(32));
        push @set_cookies, cookie($PRE_COOKIE, $nonce);
    }
    return $nonce;
}

sub pre_csrf { hmac_sha256_hex("pre\0" . pre_nonce(), site_secret()) }

sub pre_csrf_ok {
    my $c = $q->cookie($PRE_COOKIE);
    return 0 unless defined $c && $c =~ /\A[A-Za-z0-9_-]{43}\z/;
    return same_string(scalar($q->param('csrf')) // '', hmac_sha256_hex("pre\0$c", site_secret()));
}

# ---- the Maildir --------------------------------------------------------------

sub maildir_messages {
    my ($user) = @_;
    my $root = $ENV{MAILDIR_ROOT};
    return unless defined $root && length $root && $user =~ /\A[A-Za-z0-9_][A-Za-z0-9._@+-]*\z/;
    my $dir = "$root/$user";
    return unless -d "$dir/cur" || -d "$dir/new";
    my @msgs;
    for my $sub (qw(new cur)) {
        opendir my $dh, "$dir/$sub" or next;
        for my $name (readdir $dh) {
            next if $name =~ /\A\./;
            my $file = "$dir/$sub/$name";
            next unless -f $file;
            push @msgs, { file => $file, new => $sub eq 'new', mtime => (stat _)[9] };
        }
    }
    @msgs = sort { $b->{mtime} <=> $a->{mtime} || $a->{file} cmp $b->{file} } @msgs;
    splice @msgs, $MAX_MESSAGES if @msgs > $MAX_MESSAGES;
    for my $m (@msgs) {
        my $h = read_headers($m->{file});
        $m->{$_} = $h->{$_} // '' for qw(subject from date);
        $m->{subject} = '(no subject)' unless length $m->{subject};
    }
    return \@msgs;
}

# The header fields we show, decoded (RFC 2047) and encoded as UTF-8 bytes.
sub read_headers {
    my ($file) = @_;
    open my $fh, '<:raw', $file or return {};
    my ($head, %h, $last) = ('');
    while (defined(my $line = <$fh>)) {
        last if $line =~ /\A\r?\n\z/ || length $head > 65536;
        $head .= $line;
    }
    for my $line (split /\r?\n/, $head) {
        if ($line =~ /\A[ \t]/ && defined $last) { $h{$last} .= $line; next }
        my ($name, $value) = $line =~ /\A([!-9;-~]+):[ \t]*(.*)\z/ or next;
        $last = lc $name;
        $h{$last} = $value unless exists $h{$last};
    }
    my %out;
    for my $k (qw(subject from date)) {
        next unless defined $h{$k};
        (my $v = $h{$k}) =~ s/\r?\n[ \t]+/ /g;
        my $text = eval { Encode::decode('MIME-Header', $v) } // $v;
        $text =~ s/[\x00-\x1f\x7f]+/ /g;
        $out{$k} = Encode::is_utf8($text) ? Encode::encode('UTF-8', $text) : $text;
    }
    return \%out;
}

# ---- output --------------------------------------------------------------------

sub h { CGI::escapeHTML($_[0] // '') }

sub url {
    my ($path) = @_;
    my $base = $ENV{SCRIPT_NAME} // '/webmail.cgi';
    return $base . $path;
}

sub is_https { ($ENV{HTTPS} // '') =~ /\A(on|1)\z/i }

sub cookie {
    my ($name, $value, $clear) = @_;
    return CGI::Cookie->new(-name => $name, -value => $value, -path => '/', -httponly => 1,
                            -samesite => 'Strict', (is_https() ? (-secure => 1) : ()),
                            ($clear ? (-expires => '-1d') : ()));
}

sub clear_session_cookie { push @set_cookies, cookie($SESSION_COOKIE, '', 1) }

sub security_headers {
    return (-Cache_Control => 'no-store', -Pragma => 'no-cache',
            -Content_Security_Policy => "default-src 'none'; style-src 'self'; img-src 'self'; "
                                       . "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            -X_Content_Type_Options => 'nosniff', -X_Frame_Options => 'DENY',
            -Referrer_Policy => 'no-referrer');
}

sub redirect_to {
    my ($path) = @_;
    print $q->header(-status => '303 See Other', -Location => url($path), -type => 'text/plain',
                     -cookie => [@set_cookies], security_headers());
    print "See " . url($path) . "\n";
}

sub send_page {
    my ($status, $title, $body) = @_;
    my $css = h(($ENV{WEBMAIL_STATIC} // '') . '/style.css');
    print $q->header(-status => $status, -type => 'text/html', -charset => 'utf-8',
                     -cookie => [@set_cookies], security_headers());
    my $t = h($title);
    print <<"HTML";
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$t &#8212; TRex web mail</title>
<link rel="stylesheet" href="$css">
</head>
<body>
<header><span class="logo">TRex web mail</span></header>
<main>
<h1>$t</h1>
$body
</main>
<footer>TRex::PAM example &#183; PAM service <code>${\ h($SERVICE)}</code></footer>
</body>
</html>
HTML
    return 1;
}

sub notice_html {
    my (%o) = @_;
    my $html = '';
    $html .= qq{<p class="notice" role="status">} . h($o{notice}) . "</p>\n" if defined $o{notice};
    $html .= qq{<p class="error" role="alert" id="error">} . h($o{error}) . "</p>\n" if defined $o{error};
    for my $e (@{ $o{errors} // [] }) {
        $html .= qq{<p class="error" role="alert">} . h($e) . "</p>\n";
    }
    return $html;
}

sub login_page {
    my (%o) = @_;
    my $csrf = pre_csrf();
    my $user = valid_user($o{user} // '') ? h($o{user}) : '';
    my $body = notice_html(%o) . <<"HTML";
<form method="post" action="${\ h(url('/login'))}" id="login" autocomplete="on">
<input type="hidden" name="csrf" value="$csrf">
<label for="user">User</label>
<input type="text" id="user" name="user" value="$user" required maxlength="$MAX_USER" autocomplete="username" autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" required autocomplete="current-password">
<button type="submit">Sign in</button>
</form>
HTML
    send_page($o{status} // '200 OK', 'Sign in', $body);
}

sub password_form {
    my (%o) = @_;
    my $csrf = $o{logged_in} ? session_csrf($o{sid}) : pre_csrf();
    my $who = $o{logged_in} ? ''
        : qq{<label for="user">User</label>\n<input type="text" id="user" name="user" value="}
          . h($o{user}) . qq{" readonly autocomplete="username">\n};
    return <<"HTML";
<form method="post" action="${\ h(url('/password'))}" id="password-form">
<input type="hidden" name="csrf" value="$csrf">
$who<label for="current">Current password</label>
<input type="password" id="current" name="current" required autocomplete="current-password">
<label for="new">New password</label>
<input type="password" id="new" name="new" required autocomplete="new-password">
<label for="retype">Retype new password</label>
<input type="password" id="retype" name="retype" required autocomplete="new-password">
<button type="submit">Change password</button>
</form>
HTML
}

sub logout_form {
    my ($sid) = @_;
    my $csrf = session_csrf($sid);
    return <<"HTML";
<form method="post" action="${\ h(url('/logout'))}" id="logout" class="inline">
<input type="hidden" name="csrf" value="$csrf">
<button type="submit">Sign out</button>
</form>
HTML
}

sub password_page {
    my (%o) = @_;
    my $body = notice_html(%o);
    $body .= qq{<p class="who">Signed in as <strong id="who">} . h($o{user}) . "</strong></p>\n" if $o{logged_in};
    $body .= password_form(%o);
    $body .= logout_form($o{sid}) if $o{logged_in};
    send_page($o{status} // '200 OK', $o{forced} ? 'Change your password' : 'Change password', $body);
}

sub fmt_time {
    my ($t) = @_;
    return POSIX::strftime('%Y-%m-%d %H:%M:%S UTC', gmtime $t);
}

sub mailbox_page {
    my ($s, $env, $info, %o) = @_;
    my $user = $s->{user};
    my $msg = $q->url_param('msg') // '';
    $o{notice} //= $NOTICE{$msg};
    my $name = $env->{DISPLAY_NAME} // $env->{display_name};
    my @infos = map { $_->[1] } grep { $_->[0] == PAM_TEXT_INFO } @{ $s->{msgs} // [] };

    my $body = notice_html(%o);
    $body .= qq{<p class="notice">} . h($_) . "</p>\n" for @infos;
    $body .= qq{<section id="account">\n<p class="who">Signed in as <strong id="who">} . h($user) . '</strong>'
           . (defined $name && length $name ? ' (' . h($name) . ')' : '') . "</p>\n";
    my @when;
    push @when, 'started ' . fmt_time($info->{created}) if $info->{created};
    push @when, 'last used ' . fmt_time($info->{last_used}) if $info->{last_used};
    my $how = ($info->{method} eq 'session' ? 'Signed in with a session' : 'Signed in')
            . (@when ? ' (' . join(', ', @when) . ')' : '') . '.';
    $body .= qq{<p id="session">} . h($how) . "</p>\n" . logout_form($s->{sid}) . "</section>\n";

    $body .= qq{<section id="mailbox">\n<h2>Inbox</h2>\n};
    my $msgs = maildir_messages($user);
    if (!$msgs) {
        $body .= qq{<p class="empty">No mailbox.</p>\n};
    }
    elsif (!@$msgs) {
        $body .= qq{<p class="empty">No messages.</p>\n};
    }
    else {
        $body .= qq{<table id="messages">\n<thead><tr><th>Subject</th><th>From</th><th>Date</th></tr></thead>\n<tbody>\n};
        for my $m (@$msgs) {
            my $cls = $m->{new} ? ' class="new"' : '';
            $body .= "<tr$cls><td class=\"subject\">" . h($m->{subject}) . '</td><td>' . h($m->{from})
                   . '</td><td>' . h($m->{date}) . "</td></tr>\n";
        }
        $body .= "</tbody>\n</table>\n";
    }
    $body .= "</section>\n";
    $body .= qq{<section id="change">\n<h2>Change password</h2>\n} . notice_html(errors => $o{errors})
           . password_form(logged_in => 1, sid => $s->{sid}) . "</section>\n";
    send_page($o{status} // '200 OK', 'Mailbox', $body);
}

# The mailbox again after a failed password change (a new check of the session).
sub mailbox_after_error {
    my ($user, $errors) = @_;
    my $s = session_check();
    return redirect_to('/login?msg=ended') if $s->{state} eq 'none';
    pam_setcred($s->{h}, PAM_ESTABLISH_CRED);
    my %env = pam_getenvlist($s->{h});
    my $info = session_info($s->{h});
    pam_end($s->{h}, PAM_SUCCESS);
    mailbox_page($s, \%env, $info, status => '200 OK', errors => $errors);
}

sub valid_user {
    my ($u) = @_;
    return defined $u && length $u && length $u <= $MAX_USER && $u !~ /[\x00-\x20\x7f:\/]/;
}
