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
#   TREX_PAM_CONFDIR, TREX_PAM_STORE, TREX_PAM_DB, TREX_PAM_LOG   read by TRex::PAM
#   MAILDIR_ROOT      the users' Maildirs are $MAILDIR_ROOT/<user>/{cur,new}
#   WEBMAIL_STATE     a private directory (0700): the site secret for CSRF tokens
#   WEBMAIL_SITE_SECRET  the site secret's file instead (servers behind one name share it)
#   WEBMAIL_SERVICE   the PAM service name (default "webmail")
#   WEBMAIL_STATIC    the URL prefix of style.css (default: the site root)
#
# This file only turns the CGI request into data and the answer into output;
# the application is in ../lib (TRex::Webmail::App and the modules it uses).
# See examples/webmail/README.
use strict;
use warnings;
# ../lib beside this script, found without loading a module (every request
# is a new process).
BEGIN { unshift @INC, (__FILE__ =~ m{\A(.*/)} ? $1 : './') . '../lib' }
use CGI ();
use CGI::Cookie ();
use TRex::Webmail::App ();

my $q = CGI->new;
my $res = TRex::Webmail::App::handle(request($q), TRex::Webmail::App::env_config());
print response($q, $res);
exit 0;

# The request as TRex::Webmail::App takes it.
sub request {
    my ($q) = @_;
    return {
        method      => $ENV{REQUEST_METHOD} // 'GET',
        path        => $ENV{PATH_INFO} // '',
        script_name => $ENV{SCRIPT_NAME} // '/webmail.cgi',
        params      => { map { $_ => scalar $q->param($_) } $q->param },
        query       => { map { $_ => scalar $q->url_param($_) } grep { defined } $q->url_param },
        cookies     => { map { $_ => scalar $q->cookie($_) } $q->cookie },
        https       => scalar(($ENV{HTTPS} // '') =~ /\A(on|1)\z/i),
        remote_addr => $ENV{REMOTE_ADDR},
    };
}

# The CGI header and body of TRex::Webmail::App's response.
sub response {
    my ($q, $res) = @_;
    my @headers = @{ $res->{headers} };
    my @args = (-status => $res->{status}, -type => $res->{type});
    if ($res->{cookies}) {
        push @args, -cookie => [map { my $c = $_; CGI::Cookie->new(map { ("-$_" => $c->{$_}) } keys %$c) }
                                @{ $res->{cookies} }];
    }
    while (my ($name, $value) = splice @headers, 0, 2) {
        push @args, '-' . ($name =~ tr/-/_/r), $value;
    }
    return $q->header(@args) . $res->{body};
}
