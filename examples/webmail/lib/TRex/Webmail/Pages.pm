package TRex::Webmail::Pages;
# The web mail's HTML. Each page function takes what the page shows and
# returns its title and body; document() puts them into the frame. No
# password or session ID is ever put into a page; every value from outside
# is escaped.
use strict;
use warnings;

# The five characters CGI.pm's escapeHTML escapes, as it does.
my %ENTITY = ('&' => '&amp;', '<' => '&lt;', '>' => '&gt;', '"' => '&quot;', "'" => '&#39;');

sub h { my $s = $_[0] // ''; $s =~ s/([&<>"'])/$ENTITY{$1}/g; $s }

# The whole document: {title, body, css (the style sheet's URL), service}.
sub document {
    my (%o) = @_;
    my $t = h($o{title});
    my $css = h($o{css});
    my $service = h($o{service});
    return <<"HTML";
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
$o{body}
</main>
<footer>TRex::PAM example &#183; PAM service <code>$service</code></footer>
</body>
</html>
HTML
}

# The pages. Common arguments: base (the script's URL, which the routes
# follow), csrf (the forms' token); notice, error, errors (a list) to show
# above the page.

# {user} (shown again after a failure, already checked), {max_user}.
sub login {
    my (%o) = @_;
    my $fields = user_field($o{user}, qq{required maxlength="$o{max_user}" autocomplete="username" autofocus})
               . password_field('password', 'Password', 'current-password');
    return ('Sign in', notices(%o) . form(\%o, 'login', ' id="login" autocomplete="on"', 'Sign in', $fields));
}

# The change form alone, or (forced) instead of the mailbox: {user},
# {logged_in} (else the form names the user), {forced}.
sub password {
    my (%o) = @_;
    my $body = notices(%o);
    $body .= qq{<p class="who">Signed in as <strong id="who">} . h($o{user}) . "</strong></p>\n" if $o{logged_in};
    $body .= password_form(%o);
    $body .= logout_form(%o) if $o{logged_in};
    return ($o{forced} ? 'Change your password' : 'Change password', $body);
}

# {user}, {name} (the display name, if any), {infos} (the modules' notes),
# {session} ({method, created, last_used}), {messages} (undef: no mailbox).
sub mailbox {
    my (%o) = @_;
    my ($info, $msgs, $name) = @o{qw(session messages name)};
    my $body = notices(%o);
    $body .= qq{<p class="notice">} . h($_) . "</p>\n" for @{ $o{infos} };
    $body .= qq{<section id="account">\n<p class="who">Signed in as <strong id="who">} . h($o{user}) . '</strong>'
           . (defined $name && length $name ? ' (' . h($name) . ')' : '') . "</p>\n";
    my @when;
    push @when, 'started ' . fmt_time($info->{created}) if $info->{created};
    push @when, 'last used ' . fmt_time($info->{last_used}) if $info->{last_used};
    my $how = ($info->{method} eq 'session' ? 'Signed in with a session' : 'Signed in')
            . (@when ? ' (' . join(', ', @when) . ')' : '') . '.';
    $body .= qq{<p id="session">} . h($how) . "</p>\n" . logout_form(%o) . "</section>\n";

    $body .= qq{<section id="mailbox">\n<h2>Inbox</h2>\n};
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
    $body .= qq{<section id="change">\n<h2>Change password</h2>\n} . notices(errors => $o{errors})
           . password_form(%o, logged_in => 1) . "</section>\n";
    return ('Mailbox', $body);
}

# A form of a signed-in user with a wrong token.
sub expired {
    my (%o) = @_;
    return ('Forbidden', qq{<p class="error">The form has expired. <a href="$o{base}/mailbox">Back to the mailbox</a>.</p>});
}

sub not_found { ('Not found', '<p>There is no such page.</p>') }

sub unavailable {
    ('Service unavailable', '<p class="error">The service is not available now. Please try again later.</p>');
}

# ---- parts ---------------------------------------------------------------------

sub notices {
    my (%o) = @_;
    my $html = '';
    $html .= qq{<p class="notice" role="status">} . h($o{notice}) . "</p>\n" if defined $o{notice};
    $html .= qq{<p class="error" role="alert" id="error">} . h($o{error}) . "</p>\n" if defined $o{error};
    for my $e (@{ $o{errors} // [] }) {
        $html .= qq{<p class="error" role="alert">} . h($e) . "</p>\n";
    }
    return $html;
}

sub password_form {
    my (%o) = @_;
    my $who = $o{logged_in} ? '' : user_field($o{user}, 'readonly autocomplete="username"');
    return form(\%o, 'password', ' id="password-form"', 'Change password',
                $who . password_field('current', 'Current password', 'current-password')
                . password_field('new', 'New password', 'new-password')
                . password_field('retype', 'Retype new password', 'new-password'));
}

sub logout_form {
    my (%o) = @_;
    return form(\%o, 'logout', ' id="logout" class="inline"', 'Sign out', '');
}

# A form that posts to {base}/$route with the token {csrf}: its other
# attributes, the text of its button, its fields.
sub form {
    my ($o, $route, $attrs, $button, $fields) = @_;
    return qq{<form method="post" action="} . h("$o->{base}/$route") . qq{"$attrs>\n}
         . qq{<input type="hidden" name="csrf" value="$o->{csrf}">\n}
         . $fields . qq{<button type="submit">$button</button>\n</form>\n};
}

sub user_field {
    my ($user, $attrs) = @_;
    return qq{<label for="user">User</label>\n}
         . qq{<input type="text" id="user" name="user" value="} . h($user) . qq{" $attrs>\n};
}

sub password_field {
    my ($id, $label, $autocomplete) = @_;
    return qq{<label for="$id">$label</label>\n}
         . qq{<input type="password" id="$id" name="$id" required autocomplete="$autocomplete">\n};
}

sub fmt_time {
    my ($t) = @_;
    require POSIX;    # only the mailbox shows times
    return POSIX::strftime('%Y-%m-%d %H:%M:%S UTC', gmtime $t);
}

1;

__END__

=head1 NAME

TRex::Webmail::Pages - the HTML of the web mail example

=head1 DESCRIPTION

One function per page (C<login>, C<password>, C<mailbox>, C<expired>,
C<not_found>, C<unavailable>) takes what the page shows as plain values and
returns its title and body; C<document> wraps them into the HTML document
with the style sheet and the footer. C<h> escapes a value for HTML. The
pages hold no script and no inline style, so that the Content-Security-Policy
can forbid both.

=cut
