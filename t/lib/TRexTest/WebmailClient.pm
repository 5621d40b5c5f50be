package TRexTest::WebmailClient;
# A plain HTTP client of the web mail example (HTTP::Tiny, no redirects
# followed) with a cookie jar of its own. Cookies are kept per host, not per
# port, as a browser keeps them: a cookie set by 127.0.0.1:A goes to
# 127.0.0.1:B too, as to two servers behind one name.
#
#   my $c = TRexTest::WebmailClient->new;
#   my $res = $c->login($url_a, 'alice', $password);   # HTTP::Tiny's response
#   $c->who($url_b);              # the signed-in user the mailbox shows, or undef
#   $c->where($res);              # the Location of a redirect, path and query
#   $c->logout($url_a); $c->change_password($url_a, $old, $new);
use strict;
use warnings;
use HTTP::Tiny ();

sub new {
    my ($class) = @_;
    return bless { jar => {}, http => HTTP::Tiny->new(max_redirect => 0, timeout => 60,
                                                      agent => 'trex-pam-test') }, $class;
}

# The session cookie's value (user "." session ID), or undef.
sub session { $_[0]{jar}{trex_session} }

sub set_session {
    my ($self, $value) = @_;
    if (defined $value) { $self->{jar}{trex_session} = $value } else { delete $self->{jar}{trex_session} }
}

sub request {
    my ($self, $method, $url, $form) = @_;
    my %h;
    $h{Cookie} = join '; ', map { "$_=$self->{jar}{$_}" } sort keys %{ $self->{jar} } if %{ $self->{jar} };
    my $res = $method eq 'POST' ? $self->{http}->post_form($url, $form, { headers => \%h })
            : $self->{http}->get($url, { headers => \%h });
    my $sc = $res->{headers}{'set-cookie'};
    for my $c (ref $sc ? @$sc : defined $sc ? ($sc) : ()) {
        my ($name, $value) = $c =~ /\A\s*([^=;\s]+)=([^;]*)/ or next;
        if ($value eq '' || $c =~ /;\s*max-age=0\b/i) { delete $self->{jar}{$name} }
        else { $self->{jar}{$name} = $value }
    }
    return $res;
}

sub get  { $_[0]->request(GET => "$_[1]webmail.cgi$_[2]") }
sub post { $_[0]->request(POST => "$_[1]webmail.cgi$_[2]", $_[3]) }

# The CSRF token of the page's (first) form.
sub csrf {
    my ($self, $res) = @_;
    return $res->{content} =~ /name="csrf" value="([0-9a-f]{64})"/ ? $1 : undef;
}

# A redirect's target: the path after /webmail.cgi and the query.
sub where {
    my ($self, $res) = @_;
    my $loc = $res->{headers}{location} // return;
    return $loc =~ m{/webmail\.cgi(/[^\s#]*)} ? $1 : $loc;
}

sub login {
    my ($self, $base, $user, $password) = @_;
    my $form = $self->get($base, '/login');
    return $self->post($base, '/login', { user => $user, password => $password,
                                          csrf => $self->csrf($form) // '' });
}

# The user the mailbox of $base shows for the session cookie, or undef (a
# redirect to the login form, say).
sub who {
    my ($self, $base) = @_;
    my $res = $self->get($base, '/mailbox');
    $self->{last} = $res;
    return $res->{status} == 200 && $res->{content} =~ /<strong id="who">([^<]*)</ ? $1 : undef;
}

sub last_response { $_[0]{last} }

# Posts a form of the mailbox of $base (its token taken from that page).
sub mailbox_post {
    my ($self, $base, $route, %fields) = @_;
    my $page = $self->get($base, '/mailbox');
    return $page if $page->{status} != 200;
    return $self->post($base, $route, { %fields, csrf => $self->csrf($page) // '' });
}

sub logout { $_[0]->mailbox_post($_[1], '/logout') }

sub change_password {
    my ($self, $base, $old, $new) = @_;
    return $self->mailbox_post($base, '/password', current => $old, new => $new, retype => $new);
}

1;
