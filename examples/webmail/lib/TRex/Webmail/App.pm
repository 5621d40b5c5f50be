package TRex::Webmail::App;
# The web mail's routes: a request as plain data in, a response as plain data
# out. The entry point (webmail.cgi) turns the server's request into the
# first and writes the second; TRex::Webmail::Auth talks to TRex::PAM,
# TRex::Webmail::Pages makes the HTML.
use strict;
use warnings;
use MIME::Base64 qw(encode_base64url decode_base64url);
use TRex::Webmail::Auth ();
use TRex::Webmail::Csrf ();
use TRex::Webmail::Pages ();

my $SESSION_COOKIE = 'trex_session';    # base64url(user) "." session ID
my $PRE_COOKIE     = 'trex_pre';        # pre-session CSRF nonce (login forms)

# Fixed notices selected by ?msg=: no text ever comes from the URL.
my %NOTICE = (
    bye       => 'You have signed out.',
    ended     => 'Your session has ended. Please sign in again.',
    idle      => 'Your session has ended after a time without use. Please sign in again.',
    lifetime  => 'Your session has reached its longest allowed time. Please sign in again.',
    pwchanged => 'Your password has been changed.',
);

my %ROUTE = (    # path => [a method, its handler, the handler of the others]
    ''          => ['',     \&root,         \&root],
    '/'         => ['',     \&root,         \&root],
    '/login'    => ['POST', \&do_login,     \&show_login],
    '/mailbox'  => ['GET',  \&show_mailbox, \&not_allowed],
    '/password' => ['POST', \&do_password,  \&to_mailbox],
    '/logout'   => ['POST', \&do_logout,    \&to_mailbox],
);

# The configuration, from the environment the web server sets.
sub env_config {
    return { service => $ENV{WEBMAIL_SERVICE} || 'webmail', state => $ENV{WEBMAIL_STATE},
             secret => $ENV{WEBMAIL_SITE_SECRET}, maildir => $ENV{MAILDIR_ROOT},
             static => $ENV{WEBMAIL_STATIC} // '' };
}

# $req: {method, path (after the script), script_name, params, query,
# cookies (each a hash of name => first value), https, remote_addr}.
# Returns {status, type, headers => [name, value, ...], cookies => [{name,
# value, path, httponly, samesite, secure, expires}, ...], body}; without
# {cookies} the response sets none.
sub handle {
    my ($req, $conf) = @_;
    my $r = { %$req, conf => $conf, set_cookies => [],
              pam => { service => $conf->{service}, rhost => $req->{remote_addr} } };
    my $res = eval {
        my $route = $ROUTE{ $r->{path} // '' };
        $route ? $route->[ ($r->{method} // 'GET') eq $route->[0] ? 1 : 2 ]->($r)
               : page($r, '404 Not Found', TRex::Webmail::Pages::not_found());
    };
    return $res if $res;
    # The reason goes to the server's error log only (no secret is ever in it).
    (my $why = $@ // 'unknown error') =~ s/[^\x20-\x7e]+/ /g;
    warn "webmail: $why\n";
    return page($r, '500 Internal Server Error', TRex::Webmail::Pages::unavailable());
}

# ---- routes ------------------------------------------------------------------

sub root {
    my ($r) = @_;
    my $s = session($r);
    redirect($r, $s->{state} eq 'none' ? '/login' : '/mailbox');
}

sub to_mailbox { redirect($_[0], '/mailbox') }

sub show_login {
    my ($r) = @_;
    my $s = session($r);
    return redirect($r, '/mailbox') if $s->{state} ne 'none';
    clear_cookie($r, $SESSION_COOKIE) if $s->{had_cookie};
    my $msg = $r->{query}{msg} // '';
    my $notice = $NOTICE{$msg} // ($s->{had_cookie} ? $NOTICE{ $s->{expired} // 'ended' } : undef);
    login_page($r, notice => $notice);
}

sub do_login {
    my ($r) = @_;
    return login_page($r, status => '403 Forbidden', error => 'The form has expired. Please try again.')
        unless pre_csrf_ok($r);
    my $user = param($r, 'user');
    after_password($r, $user, '/mailbox', TRex::Webmail::Auth::login($r->{pam}, $user, param($r, 'password')));
}

sub show_mailbox {
    my ($r) = @_;
    my $s = session($r);
    if ($s->{state} eq 'none') {
        clear_cookie($r, $SESSION_COOKIE) if $s->{had_cookie};
        return redirect($r, '/login' . ($s->{had_cookie} ? '?msg=' . ($s->{expired} // 'ended') : ''));
    }
    if ($s->{state} eq 'must_change') {
        my $res = password_page($r, user => $s->{user}, forced => 1, logged_in => 1, sid => $s->{sid},
                                notice => $s->{notice});
        TRex::Webmail::Auth::session_end($s);
        return $res;
    }
    mailbox_page($r, $s);
}

sub do_password {
    my ($r) = @_;
    my $s = session($r);
    my ($current, $new, $retype) = map { param($r, $_) } qw(current new retype);

    if ($s->{state} ne 'none') {
        # A signed-in user: the session proves who it is, the form the rest.
        return expired_form($r, $s) unless session_csrf_ok($r, $s->{sid});
        my ($ok, @errors) = TRex::Webmail::Auth::session_change_password($s, $current, $new, $retype);
        return redirect($r, '/mailbox?msg=pwchanged') if $ok;
        return password_page($r, user => $s->{user}, forced => 1, logged_in => 1,
                             sid => $s->{sid}, errors => \@errors) if $s->{state} eq 'must_change';
        # The mailbox again, after a new check of the session.
        my $again = session($r);
        return redirect($r, '/login?msg=ended') if $again->{state} eq 'none';
        return mailbox_page($r, $again, errors => \@errors);
    }

    # Not signed in: the forced change that follows a login. The user proves
    # the current password again (nothing secret is carried between requests).
    clear_cookie($r, $SESSION_COOKIE) if $s->{had_cookie};
    my $user = param($r, 'user');
    return login_page($r, status => '403 Forbidden', error => 'The form has expired. Please try again.')
        unless pre_csrf_ok($r);
    after_password($r, $user, '/mailbox?msg=pwchanged',
                   TRex::Webmail::Auth::change_expired($r->{pam}, $user, $current, $new, $retype));
}

sub do_logout {
    my ($r) = @_;
    my $s = session($r);
    if ($s->{state} eq 'none') {
        clear_cookie($r, $SESSION_COOKIE) if $s->{had_cookie};
        return redirect($r, '/login');
    }
    return expired_form($r, $s) unless session_csrf_ok($r, $s->{sid});
    TRex::Webmail::Auth::session_close($s);
    clear_cookie($r, $SESSION_COOKIE);
    redirect($r, '/login?msg=bye');
}

sub not_allowed {
    return { status => '405 Method Not Allowed', type => 'text/plain; charset=ISO-8859-1',
             headers => [Allow => 'GET'], body => "Method not allowed\n" };
}

# ---- the session, the tokens ------------------------------------------------------

# The session the cookie names, checked by TRex::Webmail::Auth::check_session;
# {had_cookie} says whether there was a cookie at all.
sub session {
    my ($r) = @_;
    my $cookie = $r->{cookies}{$SESSION_COOKIE};
    my %none = (state => 'none', had_cookie => defined $cookie);
    return \%none unless defined $cookie && length $cookie <= 512;
    my ($u64, $sid) = split /\./, $cookie, 2;
    return \%none unless defined $sid && $sid =~ /\Atrex1\.[A-Za-z0-9_-]{16,256}\z/
                         && $u64 =~ /\A[A-Za-z0-9_-]{1,128}\z/;
    my $s = TRex::Webmail::Auth::check_session($r->{pam}, decode_base64url($u64), $sid);
    return { %$s, had_cookie => 1 };
}

# Where a login with a password (or the forced change after one) leads: into
# a new session and on to $where, to the change form, or back to the login
# form.
sub after_password {
    my ($r, $user, $where, $res) = @_;
    return enter($r, $user, $res->{sid}, $where) if $res->{result} eq 'ok';
    return password_page($r, user => $user, forced => 1, logged_in => 0,
                         notice => $res->{notice}, errors => $res->{errors})
        if $res->{result} eq 'must_change' || $res->{result} eq 'refused';
    login_page($r, error => $res->{lockout} // 'Login failed.', user => $user);
}

# A new session: its cookie, the pre-session cookie cleared, and on to $where.
sub enter {
    my ($r, $user, $sid, $where) = @_;
    push @{ $r->{set_cookies} }, cookie($r, $SESSION_COOKIE, encode_base64url($user) . ".$sid");
    clear_cookie($r, $PRE_COOKIE);
    redirect($r, $where);
}

# The site secret's file: WEBMAIL_SITE_SECRET, else WEBMAIL_STATE/site-secret.
sub secret {
    my ($r) = @_;
    my $file = $r->{conf}{secret}
        || ($r->{conf}{state} || die "neither WEBMAIL_SITE_SECRET nor WEBMAIL_STATE is set\n") . '/site-secret';
    return TRex::Webmail::Csrf::site_secret($file);
}

sub session_csrf { TRex::Webmail::Csrf::session_token(secret($_[0]), $_[1]) }

sub session_csrf_ok {
    my ($r, $sid) = @_;
    return TRex::Webmail::Csrf::same_string(param($r, 'csrf'), session_csrf($r, $sid));
}

# The token of the forms before a session; the nonce is the browser's, else
# a new one that this response sets.
sub pre_csrf {
    my ($r) = @_;
    unless (defined $r->{nonce}) {
        my $c = $r->{cookies}{$PRE_COOKIE};
        if (TRex::Webmail::Csrf::valid_nonce($c)) {
            $r->{nonce} = $c;
        }
        else {
            $r->{nonce} = TRex::Webmail::Csrf::new_nonce();
            push @{ $r->{set_cookies} }, cookie($r, $PRE_COOKIE, $r->{nonce});
        }
    }
    return TRex::Webmail::Csrf::nonce_token(secret($r), $r->{nonce});
}

sub pre_csrf_ok {
    my ($r) = @_;
    my $c = $r->{cookies}{$PRE_COOKIE};
    return 0 unless TRex::Webmail::Csrf::valid_nonce($c);
    return TRex::Webmail::Csrf::same_string(param($r, 'csrf'), TRex::Webmail::Csrf::nonce_token(secret($r), $c));
}

# ---- responses --------------------------------------------------------------------

sub param { $_[0]{params}{ $_[1] } // '' }

sub url { ($_[0]{script_name} // '') . $_[1] }

sub cookie {
    my ($r, $name, $value, $clear) = @_;
    return { name => $name, value => $value, path => '/', httponly => 1, samesite => 'Strict',
             ($r->{https} ? (secure => 1) : ()), ($clear ? (expires => '-1d') : ()) };
}

sub clear_cookie { push @{ $_[0]{set_cookies} }, cookie(@_[0, 1], '', 1) }

sub security_headers {
    return ('Cache-Control' => 'no-store', Pragma => 'no-cache',
            'Content-Security-Policy' => "default-src 'none'; style-src 'self'; img-src 'self'; "
                                       . "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            'X-Content-Type-Options' => 'nosniff', 'X-Frame-Options' => 'DENY',
            'Referrer-Policy' => 'no-referrer');
}

sub redirect {
    my ($r, $path) = @_;
    return { status => '303 See Other', type => 'text/plain; charset=ISO-8859-1',
             headers => [Location => url($r, $path), security_headers()],
             cookies => [@{ $r->{set_cookies} }], body => "See " . url($r, $path) . "\n" };
}

# An HTML response from a page function's title and body.
sub page {
    my ($r, $status, $title, $body) = @_;
    my $html = TRex::Webmail::Pages::document(title => $title, body => $body, service => $r->{conf}{service},
                                              css => $r->{conf}{static} . '/style.css');
    return { status => $status, type => 'text/html; charset=utf-8', headers => [security_headers()],
             cookies => [@{ $r->{set_cookies} }], body => $html };
}

sub login_page {
    my ($r, %o) = @_;
    my $csrf = pre_csrf($r);
    my $user = TRex::Webmail::Auth::valid_user($o{user}) ? $o{user} : '';
    page($r, $o{status} // '200 OK', TRex::Webmail::Pages::login(%o, base => $r->{script_name}, csrf => $csrf,
         user => $user, max_user => TRex::Webmail::Auth::MAX_USER));
}

sub password_page {
    my ($r, %o) = @_;
    my $csrf = $o{logged_in} ? session_csrf($r, $o{sid}) : pre_csrf($r);
    page($r, '200 OK', TRex::Webmail::Pages::password(%o, base => $r->{script_name}, csrf => $csrf));
}

# The mailbox of a live session ($s), which this ends.
sub mailbox_page {
    my ($r, $s, %o) = @_;
    my ($env, $info) = TRex::Webmail::Auth::session_account($s);
    require TRex::Webmail::Maildir;    # only this page reads mail
    my $msgs = TRex::Webmail::Maildir::messages($r->{conf}{maildir}, $s->{user});
    page($r, '200 OK', TRex::Webmail::Pages::mailbox(
        %o, base => $r->{script_name}, csrf => session_csrf($r, $s->{sid}),
        notice => $NOTICE{ $r->{query}{msg} // '' }, user => $s->{user}, infos => $s->{infos},
        name => $env->{DISPLAY_NAME} // $env->{display_name}, session => $info, messages => $msgs));
}

# A signed-in user's form with a wrong token: 403, the session left alone.
sub expired_form {
    my ($r, $s) = @_;
    TRex::Webmail::Auth::session_end($s);
    page($r, '403 Forbidden', TRex::Webmail::Pages::expired(base => $r->{script_name}));
}

1;

__END__

=head1 NAME

TRex::Webmail::App - the routes of the web mail example

=head1 DESCRIPTION

C<handle($request, $config)> answers one request of the web mail: the login
form and login, the mailbox, the password change (also the forced one), and
logout. The request and the response are plain hashes, described above
C<handle>, so that any entry point can use it: F<htdocs/webmail.cgi> builds the
request from CGI.pm and prints the response. C<env_config> reads the
configuration from the environment (WEBMAIL_SERVICE, WEBMAIL_STATE,
WEBMAIL_SITE_SECRET, MAILDIR_ROOT, WEBMAIL_STATIC).

Every form carries a CSRF token; with a session it is bound to the session
ID, before one to a nonce in the cookie C<trex_pre>. The session cookie
C<trex_session> holds the user name (base64url) and the session ID.

=cut
