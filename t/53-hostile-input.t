#!/usr/bin/perl
# The bad-input matrix, part 1: what a CGI process may be handed through the
# public API (TRex::PAM's functions and methods) on one embedded store
# seeded with users, sessions and failure tallies (TRexTest::Hostile):
# hostile user names, passwords and session IDs, conversations that
# misbehave or call back into their handle, broken pam.d trees. Each case
# runs in a child and checks the documented status and log line, that
# nothing crashed (its wait status), that no secret and no line of the
# client's making reached the log, and that the store is sound and holds
# what it held (after every case). Leaks: a sample of the cases repeated in
# this process with the resident set size flat (and every case with leak
# detection in the sanitizer build of the Perl suite). Part 2 (t/54-hostile-stores.t): broken,
# locked, read-only and full stores, kill -9, the admin command.
# t/45-bad-input.t has the values C cannot hold and forged handles,
# t/20-conv.t the conversation's contract.
use strict;
use warnings;
use Test::More;
use POSIX ();
use lib 't/lib';
use TRexTest qw(confdir service tempdir);
use TRexTest::Hostile;
use TRex::PAM;
use TRex::PAM::DB;

hostile_setup();

# ---- user names -----------------------------------------------------------------------------------
my @names = (
    ['a newline after the name', "alice\n"],
    ['a newline before the name', "\nalice"],
    ['a forged log line', "alice\nweb(trex-pam) notice: userdb: alice logged in"],
    ['a carriage return', "alice\r"],
    ['a tab', "alice\t"],
    ['a space after', 'alice '],
    ['a space before', ' alice'],
    ['upper case', 'ALICE'],
    ['1 MiB', 'a' x $MiB],
    ['1 MiB after alice', 'alice' . ("\xff" x $MiB)],
    ['invalid UTF-8 (0xff 0xfe)', "\xff\xfealice"],
    ['a truncated UTF-8 sequence', "alice\xc3"],
    ['an overlong slash', "alice\xc0\xaf"],
    ['a UTF-16 surrogate', "\xed\xa0\x80alice"],
    ['shell metacharacters', 'alice;id>/tmp/x`id`$(id)|&'],
    ['SQL: OR 1=1', q{alice' OR '1'='1}],
    ['SQL: comment', q{alice'--}],
    ['SQL: drop table', q{x'; DROP TABLE users;--}],
    ['LIKE wildcards', 'a%'],
    ['LIKE underscore', '_lice'],
    ['printf format', '%s%n%x%p'],
    ['a path', '../../../etc/passwd'],
    ['a colon', 'alice:0:0'],
    ['a DEL byte', "alice\x7f"],
    ['an escape sequence', "\e[2Jalice"],
    ['an empty name', ''],
);
for my $n (@names) {
    my ($what, $name) = @$n;
    # userdb: a name nobody has fails as a wrong password does; faillock
    # counts it when a user could have it (1-255 bytes, no control byte, ':'
    # or '/'), so a lock tells nobody which names exist
    my $could = length $name && length $name <= 255 && $name !~ m{[\x00-\x1f\x7f:/]};
    my @not_alice = (rc => length $name ? PAM_AUTH_ERR : PAM_USER_UNKNOWN,
                     log => length $name ? qr/check pass; user unknown/ : qr/bad username \[\]/,
                     ($could ? (delta => { $name => 1 }) : ()));
    case("user name with $what, pam_start", sub { login_fn($name, answers($pw{alice})) }, @not_alice);
    case("user name with $what, answered", sub { login_oo(undef, answers($name, $pw{alice})) }, @not_alice);
    case("user name with $what, set later", sub {
        login_oo('alice', answers($pw{alice}), before => sub { $_[0]->pam_set_item(PAM_USER, $name) }) }, @not_alice);
}
case('user name with a NUL, answered', sub { login_oo(undef, answers("alice\0", $pw{alice})) },
     rc => PAM_CONV_ERR, log => qr/conversation answer is not a byte string without NUL/);
case('a user name with a NUL in PAM_USER is refused, alice stays', sub {
    login_oo('alice', answers($pw{alice}), before => sub {
        $_[0]->pam_set_item(PAM_USER, "bob\0") == PAM_BAD_ITEM or die "set_item accepted a NUL\n" }) },
     rc => PAM_SUCCESS, user => 'alice');

# ---- passwords ---------------------------------------------------------------------------------------
my $apw = $pw{alice};
my @wrong = (
    ['a newline after it', "$apw\n"], ['a CR LF after it', "$apw\r\n"], ['a space before it', " $apw"],
    ['upper case', uc $apw], ['one byte short', substr($apw, 0, -1)], ['twice', $apw x 2],
    ['511 bytes', 'p' x 511], ['512 bytes', 'p' x 512], ['the password then 512 bytes', $apw . ('p' x 512)],
    ['1 MiB', 'p' x $MiB], ['invalid UTF-8', "\xff\xfe\xfd"], ['the password in UTF-16', join("\0", split //, $apw) =~ s/\0/\x{0}/gr =~ tr/\0//dr . "\xfe"],
    ['shell metacharacters', '`id`;$(id)|&>/tmp/x'], ['SQL: OR 1=1', q{' OR '1'='1}], ['SQL: comment', q{x'--}],
    ['printf format', '%s%s%s%n'], ["mallory's password", $pw{mallory}], ['an empty password', ''],
    ['a session ID prefix alone', 'trex1.'], ['a hash', '$6$rounds=1000$salt$' . ('x' x 86)],
);
for my $w (@wrong) {
    my ($what, $p) = @$w;
    case("password: $what", sub { login_oo('alice', answers($p)) },
         rc => PAM_AUTH_ERR, user => 'alice', log => qr/authentication failure/, delta => { alice => 1 });
    reset_alice();
}
# a failed conversation is the module's PAM_AUTHTOK_ERR, as Linux-PAM's pam_get_authtok has it
case('password: NUL inside', sub { login_oo('alice', answers("$apw\0")) },
     rc => PAM_AUTHTOK_ERR, log => qr/conversation answer is not a byte string without NUL/);
case('password: a wide character', sub { login_oo('alice', answers("$apw\x{263a}")) },
     rc => PAM_AUTHTOK_ERR, log => qr/conversation answer is not a byte string/);
case('password: no answer (undef)', sub { login_oo('alice', answers(undef)) }, rc => PAM_AUTHTOK_ERR);
case("mallory's metacharacter password logs mallory in", sub { login_oo('mallory', answers($pw{mallory})) },
     rc => PAM_SUCCESS, user => 'mallory');
case("mallory's password through the functions", sub { login_fn('mallory', answers($pw{mallory})) },
     rc => PAM_SUCCESS, user => 'mallory');

# ---- session IDs --------------------------------------------------------------------------------------
my $as = $sid{alice};
my $flip = sub { my ($s, $i) = @_; substr($s, $i, 1) = substr($s, $i, 1) eq 'A' ? 'B' : 'A'; $s };
my @badsid = (
    ['one character short', substr($as, 0, -1)], ['one character more', $as . 'A'],
    ['its first character changed', $flip->($as, 6)], ['its last character changed', $flip->($as, length($as) - 1)],
    ['in upper case', uc $as], ['the prefix in upper case', 'TREX1.' . substr($as, 6)],
    ['another prefix', 'trex2.' . substr($as, 6)], ['no dot', 'trex1' . substr($as, 6)],
    ['the standard base64 alphabet', $as =~ tr{-_}{+/}r . '='], ['padding', "$as="],
    ['a newline after it', "$as\n"], ['a space before it', " $as"], ['twice', $as x 2],
    ['1 MiB after it', $as . ('A' x $MiB)], ['43 dashes', 'trex1.' . ('-' x 43)], ['43 x A', 'trex1.' . ('A' x 43)],
    ['invalid UTF-8 in it', substr($as, 0, 20) . "\xff" . substr($as, 21)],
    ['SQL in it', 'trex1.' . q{' OR '1'='1' OR 'x'='} . ('A' x 20)],
);
# an ID of the session form (32 bytes in canonical base64url) that is no live
# session of the user ends the stack (the session line's default=die): no
# failure is counted; anything else goes on to the password check and is
# counted as a wrong password
my $sidform = qr/^trex1\.[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]\z/;
for my $b (@badsid) {
    my ($what, $s) = @$b;
    my $form = $s =~ $sidform;
    case("session ID $what", sub { login_oo('alice', answers($s)) },
         rc => PAM_AUTH_ERR, user => 'alice', delta => { alice => $form ? 0 : 1 },
         log => $form ? qr/unknown or ended session presented for alice/ : qr/authentication failure/);
    reset_alice();
}
case("bob's session ID as alice's", sub { login_oo('alice', answers($sid{bob})) },
     rc => PAM_AUTH_ERR, user => 'alice', log => qr/another user's session presented for alice/);
case("alice's session ID as bob's", sub { login_oo('bob', answers($as)) },
     rc => PAM_AUTH_ERR, user => 'bob', log => qr/another user's session presented for bob/);
case("alice's session ID with a log line in the user name", sub { login_oo("zed\nFORGED LINE", answers($as)) },
     rc => PAM_AUTH_ERR, log => qr/another user's session presented for/);
case("alice's session ID as dave's (locked)", sub { login_oo('dave', answers($as)) }, rc => PAM_AUTH_ERR, user => 'dave');
case("alice's session ID for an unknown user", sub { login_oo('zed', answers($as)) }, rc => PAM_AUTH_ERR);
case("alice's session ID, then PAM_USER changed to bob", sub {
    login_oo('alice', answers($as), before => sub { $_[0]->pam_set_item(PAM_USER, 'bob') }) },
     rc => PAM_AUTH_ERR, user => 'bob');
case("alice's session ID logs alice in", sub { login_oo('alice', answers($as)) }, rc => PAM_SUCCESS, user => 'alice');
case("bob's session ID logs bob in (functions)", sub { login_fn('bob', answers($sid{bob})) }, rc => PAM_SUCCESS, user => 'bob');

# ---- conversations that misbehave ------------------------------------------------------------------------
service(denyall => "auth required deny\naccount required deny\n");
# a conversation that runs $before->($h) at the first prompt, then answers $answer
sub conv_doing {
    my ($href, $answer, $before) = @_;
    my $done = 0;
    return sub {
        my @r;
        while (my ($style) = splice @_, 0, 2) {
            $before->($$href) unless $done++;
            push @r, 0, $style <= PAM_PROMPT_ECHO_ON ? $answer : undef;
        }
        return (@r, 0);
    };
}
# alice's login whose conversation does $before first; (rc, user, inner => what $before returned)
sub login_doing {
    my ($answer, $before, %o) = @_;
    my ($h, $inner);
    $h = TRex::PAM->new($o{service} // 'web', $o{user} // 'alice',
                        conv_doing(\$h, $answer, sub { $inner = join ',', map { $_ // 'undef' } $before->(@_) }));
    my $rc = $h->pam_authenticate;
    my $auth = $rc;
    $rc = $h->pam_acct_mgmt if $rc == PAM_SUCCESS;
    $h->pam_get_item(PAM_USER, my $u);
    undef $h;                     # the conversation holds $h: a cycle of Perl's, not the library's
    return (rc => $rc, auth => $auth, user => $u, inner => $inner);
}
sub conv_case {
    my ($label, $answer, $before, %want) = @_;
    my $inner = delete $want{inner};
    my $auth = delete $want{auth};
    my $r = case("conversation $label", sub { login_doing($answer, $before) }, %want);
    is($r->{inner}, $inner, "conversation $label: inside, the calls returned $inner") if defined $inner;
    is($r->{auth}, $auth, "conversation $label: pam_authenticate gave $auth") if defined $auth;
}
# The application owns PAM_USER: a conversation (the session line's prompt
# comes first) that changes it has the modules after it check the new user;
# what counts is that the user a success names is the one whose password was
# checked, and that faillock's lock holds for that user (authsucc checks it).
conv_case('switches PAM_USER to dave (locked) and answers his password', $pw{dave},
          sub { $_[0]->pam_set_item(PAM_USER, 'dave') }, rc => PAM_AUTH_ERR, user => 'dave',
          nolog => 1, inner => 0);              # (pam_faillock logs the lock when it starts, not each refusal)
conv_case('switches PAM_USER to bob and answers his password', $pw{bob},
          sub { $_[0]->pam_set_item(PAM_USER, 'bob') }, rc => PAM_SUCCESS, user => 'bob', inner => 0);
conv_case("switches PAM_USER to bob and answers alice's password", $apw,
          sub { $_[0]->pam_set_item(PAM_USER, 'bob') }, rc => PAM_AUTH_ERR, user => 'bob',
          log => qr/authentication failure.* user=bob/, delta => { bob => 1 }, inner => 0);
reset_tally('bob');
# without a user, userdb asks for one: the answer (the password) is the name
# (a name no user has: faillock counts it as any name, so the answer is kept
# as a tally's name until the purge; TRex::PAM's POD says so)
conv_case('clears PAM_USER', $apw, sub { $_[0]->pam_set_item(PAM_USER, undef) }, rc => PAM_AUTH_ERR,
          log => qr/check pass; user unknown/, delta => { $apw => 1 }, inner => 0);
reset_tally($apw);
conv_case('sets PAM_USER to 1 MiB', $apw, sub { $_[0]->pam_set_item(PAM_USER, 'u' x $MiB) },
          rc => PAM_AUTH_ERR, log => qr/check pass; user unknown/, inner => 0);
conv_case('calls pam_end', $apw, sub { $_[0]->pam_end }, rc => PAM_SUCCESS, user => 'alice', inner => PAM_SYSTEM_ERR);
for my $call (qw(pam_authenticate pam_setcred pam_acct_mgmt pam_open_session pam_close_session pam_chauthtok)) {
    conv_case("calls $call on its handle", $apw, sub { $_[0]->$call }, rc => PAM_SUCCESS, user => 'alice',
              inner => PAM_SYSTEM_ERR);
}
# the running call finishes on the stack it started with; the next call (acct_mgmt) runs the new one
conv_case('switches PAM_SERVICE to a stack that denies', $apw,
          sub { $_[0]->pam_set_item(PAM_SERVICE, 'denyall') }, auth => PAM_SUCCESS, rc => PAM_AUTH_ERR,
          user => 'alice', inner => 0);
conv_case('replaces itself with one that dies', $apw,
          sub { $_[0]->pam_set_item(PAM_CONV, sub { die "no more\n" }) }, rc => PAM_SUCCESS, user => 'alice', inner => 0);
conv_case('asks for a fail delay past unsigned int', $apw, sub { $_[0]->pam_fail_delay(2**33) },
          rc => PAM_SUCCESS, user => 'alice', inner => PAM_BAD_ITEM);
conv_case('sets a fail delay function that dies, then a wrong password', 'wrong',
          sub { $_[0]->pam_set_item(PAM_FAIL_DELAY, sub { die "delay blew up\n" }) },
          rc => PAM_AUTH_ERR, user => 'alice', log => qr/fail delay function died: delay blew up/,
          delta => { alice => 1 }, inner => 0);
reset_alice();
conv_case('puts 10000 variables into the PAM environment', $apw,
          sub { my $h = $_[0]; my $bad = grep { $h->pam_putenv("V$_=" . ('x' x 100)) } 1 .. 10_000; $bad },
          rc => PAM_SUCCESS, user => 'alice', inner => 0);
conv_case('logs carol in wrongly twice on other handles (writes while this call reads)', $apw,
          sub { map { { login_oo('carol', answers('wrong')) }->{rc} } 1 .. 2 },
          rc => PAM_SUCCESS, user => 'alice', inner => join(',', PAM_AUTH_ERR, PAM_AUTH_ERR), delta => { carol => 2 });
reset_tally('carol');
TRex::PAM::DB->open(path => $db)->faillock_reset('carol');
{
    my $nest;
    $nest = sub {
        my ($depth) = @_;
        return 'bottom' if $depth == 0;
        my %r = login_doing($apw, sub { $nest->($depth - 1) });
        return "$r{rc}:$r{inner}";
    };
    conv_case('nests 12 logins of alice, each inside the last one\'s conversation', $apw,
              sub { $nest->(11) }, rc => PAM_SUCCESS, user => 'alice', inner => ('0:' x 11) . 'bottom');
}
conv_case('recurses 20000 Perl frames deep first', $apw,
          sub { no warnings 'recursion'; my $f; $f = sub { $_[0] ? 1 + $f->($_[0] - 1) : 0 }; $f->(20_000) },
          rc => PAM_SUCCESS, user => 'alice', inner => 20_000);
conv_case('forks, and the child calls pam_authenticate on the handle', $apw, sub {
    pipe my $r, my $w or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    unless ($pid) {
        close $r;
        print {$w} $_[0]->pam_authenticate;
        close $w;
        # a process that leaves in the middle of a call runs no cleanup (documented):
        # valgrind's report of it is not this case's log
        open STDERR, '>', '/dev/null';
        POSIX::_exit(0);
    }
    close $w;
    my $rc = <$r>;
    waitpid $pid, 0;
    return $rc }, rc => PAM_SUCCESS, user => 'alice', inner => PAM_SYSTEM_ERR);

my @garbage = (
    ['dies with 1 MiB of text', sub { die 'x' x $MiB }, qr/conversation function died: x{800}/],
    ['dies with a forged log line', sub { die "oops\nFORGED LINE\n" }, qr/conversation function died: oops/],
    ['dies from an alarm', sub { local $SIG{ALRM} = sub { die "alarm\n" }; alarm 1; sleep 5; (0, $apw, 0) },
     qr/conversation function died: alarm/],
    ['returns 200001 values', sub { ((0, $apw) x 100_000, 0) }, qr/returned 200001 values for 1 messages/],
    ['returns an object whose string dies', sub { (0, bless([], 'TRexTest::DiesStr'), 0) },
     qr/conversation answer is not a byte string/],
    ['returns a tied answer whose FETCH dies', sub { tie my $t, 'TRexTest::DiesFetch'; (0, $t, 0) },
     qr/conversation function died: fetch blew up/],
);
{
    package TRexTest::DiesStr;
    use overload '""' => sub { die "string blew up\n" }, fallback => 1;
    package TRexTest::DiesFetch;
    sub TIESCALAR { bless {}, shift }
    sub FETCH { die "fetch blew up\n" }
}
for my $g (@garbage) {
    my ($what, $conv, $log) = @$g;
    case("conversation $what", sub { login_oo('alice', $conv) }, rc => PAM_AUTHTOK_ERR, user => 'alice', log => $log);
}
my $big = 16 * $MiB;
case('conversation answers 16 MiB', sub { login_oo('alice', sub { (0, 'p' x $big, 0) }) },
     rc => PAM_AUTH_ERR, user => 'alice', log => qr/authentication failure/, delta => { alice => 1 });
reset_alice();
case('conversation answers 1e308', sub { login_oo('alice', sub { (0, 1e308, 0) }) },
     rc => PAM_AUTH_ERR, user => 'alice', log => qr/authentication failure/, delta => { alice => 1 });
reset_alice();
case('conversation answers a glob', sub { login_oo('alice', sub { (0, *STDOUT, 0) }) },
     rc => [PAM_AUTH_ERR, PAM_AUTHTOK_ERR], user => 'alice', delta => { alice => 1 });
reset_alice();

# ---- pam.d files ------------------------------------------------------------------------------------
my $cd = confdir();
my $outside = tempdir();
{
    open my $fh, '>', "$outside/deny" or die $!;
    print {$fh} "auth required deny\n";
    close $fh;
}
mkdir "$cd/subdir" or die $!;
symlink "$outside/deny", "$cd/link-out" or die $!;
symlink "$cd/loop-b", "$cd/loop-a" or die $!;
symlink "$cd/loop-a", "$cd/loop-b" or die $!;
symlink "$cd/nowhere", "$cd/dangling" or die $!;
service('inc-a', "auth include inc-b\n");
service('inc-b', "auth include inc-a\n");
my $ok = "\nauth optional permit\n";
my @conf = (
    # [what, text, pam_start's code, pam_authenticate's code, log]
    ['an illegal type', "authx required permit$ok", 0, PAM_PERM_DENIED, qr/:1: illegal module type "authx"/],
    ['no control', "auth$ok", 0, PAM_PERM_DENIED, qr/:1: no control flag/],
    ['no module', "auth required$ok", 0, PAM_PERM_DENIED, qr/:1: no module name/],
    ['an unknown control', "auth requird permit$ok", 0, PAM_PERM_DENIED, qr/:1: unknown control "requird"/],
    ['an unclosed bracket', "auth [success=ok permit$ok", 0, PAM_PERM_DENIED, qr/:1: bad control/],
    ['a value without =', "auth [success ok] permit$ok", 0, PAM_PERM_DENIED, qr/expecting '='/],
    ['no return value', "auth [=ok] permit$ok", 0, PAM_PERM_DENIED, qr/expecting return value/],
    ['no action', "auth [success=] permit$ok", 0, PAM_PERM_DENIED, qr/expecting action/],
    ['an unknown action', "auth [success=bogus] permit$ok", 0, PAM_PERM_DENIED, qr/:1: bad control .*expecting/],
    ['a jump of 0', "auth [success=0] permit$ok", 0, PAM_PERM_DENIED, qr/expecting non-zero jump/],
    ['a jump past INT_MAX', "auth [success=99999999999] permit$ok", 0, PAM_PERM_DENIED, qr/jump number too large/],
    ['a negative jump', "auth [success=-1] permit$ok", 0, PAM_PERM_DENIED, qr/:1: bad control/],
    ['an unknown return value', "auth [bogus=ok] permit$ok", 0, PAM_PERM_DENIED, qr/expecting return value/],
    ['a missing module', "auth required nosuchmodule$ok", 0, PAM_MODULE_UNKNOWN, qr/:1: unable to load module "nosuchmodule"/],
    ['a missing shared object', "auth required /nonexistent/x.so$ok", 0, PAM_MODULE_UNKNOWN, qr/unable to load module/],
    ['a missing Perl package', "auth required perl:No::Such::Package$ok", 0, PAM_MODULE_UNKNOWN, qr/perl:No::Such::Package/],
    ['a bad Perl package name', "auth required perl:bad-name$ok", 0, PAM_MODULE_UNKNOWN, qr/not a Perl package name/],
    ['the module name ?', "auth required ?$ok", PAM_ABORT, undef, qr/:1: invalid module name "\?"/],
    ['a continued last line', "auth optional permit \\", PAM_ABORT, undef, qr/ends inside a continued line/],
    ['an include without a file', "auth include$ok", 0, PAM_PERM_DENIED, qr/include\/substack without a file name/],
    ['an include of a missing file', "auth include nosuch$ok", 0, PAM_PERM_DENIED, qr/cannot include "nosuch": No such file/],
    ['an include of itself', "auth include SELF$ok", 0, PAM_PERM_DENIED, qr/more than 15 levels of include\/substack/],
    ['a substack of itself', "auth substack SELF$ok", 0, PAM_PERM_DENIED, qr/more than 15 levels of include\/substack/],
    ['an include loop of two files', "auth include inc-a$ok", 0, PAM_PERM_DENIED, qr/more than 15 levels/],
    ['an include of a directory', "auth include subdir$ok", 0, PAM_PERM_DENIED, qr/cannot include "subdir": Is a directory/],
    ['an include of a symlink loop', "auth include loop-a$ok", 0, PAM_PERM_DENIED, qr/cannot include "loop-a": Too many levels/],
    ['an include by absolute path outside', "auth include $outside/deny$ok", 0, PAM_AUTH_ERR, undef],
    ['an include by ../ outside', "auth include ../" . (split m{/}, $outside)[-1] . "/deny$ok", 0, PAM_AUTH_ERR, undef],
    ['an include through a symlink outside', "auth include link-out$ok", 0, PAM_AUTH_ERR, undef],
    ['CR LF line ends', "auth required permit\r\n", 0, PAM_MODULE_UNKNOWN, qr/unable to load module "permit\?"/],
    ['a NUL inside the type', "au\0th required permit$ok", 0, PAM_PERM_DENIED, qr/illegal module type "au"/],
    ['binary garbage', join('', map { chr } 0 .. 255) x 4, 0, PAM_PERM_DENIED, qr/illegal module type/],
    ['only comments', "# auth required deny\n   # nothing\n", 0, PAM_PERM_DENIED, qr/no modules loaded for `conf\d+' service/],
    ['an empty file', '', 0, PAM_PERM_DENIED, qr/no modules loaded for `conf\d+' service/],
    ['a 1 MiB argument', 'auth required permit ' . ('x' x $MiB) . "\n", 0, PAM_SUCCESS, undef],
    ['100000 lines', "auth optional permit\n" x 100_000, 0, PAM_SUCCESS, undef],
    # as in Linux-PAM, "-" only keeps the missing module out of the log: the line still fails
    ['a missing module on a -type line', "-auth required nosuchmodule$ok", 0, PAM_MODULE_UNKNOWN, undef],
);
my $n = 0;
for my $c (@conf) {
    my ($what, $text, $start, $auth, $log) = @$c;
    my $svc = 'conf' . ++$n;
    service($svc, $text =~ s/SELF/$svc/gr);
    case("pam.d: $what", sub { login_oo('alice', answers($apw), service => $svc, auth_only => 1) },
         rc => $start || $auth, defined $log ? (log => $log) : (nolog => 1));
}
case('pam.d: a symlinked service file outside', sub { login_oo('alice', answers($apw), service => 'link-out', auth_only => 1) },
     rc => PAM_AUTH_ERR, nolog => 1);
case('pam.d: a symlink loop as service file', sub { login_oo('alice', answers($apw), service => 'loop-a') },
     rc => PAM_ABORT, log => qr/loop-a: cannot read: Too many levels of symbolic links/);
case('pam.d: a dangling symlink as service file', sub { login_oo('alice', answers($apw), service => 'dangling') },
     rc => PAM_ABORT, log => qr/no configuration for service "dangling" and no "other"/);
case('pam.d: a service name with ../', sub { login_oo('alice', answers($apw), service => '../../etc/web') },
     rc => PAM_SUCCESS, user => 'alice');
case('pam.d: a service name of 100 kB', sub { login_oo('alice', answers($apw), service => 's' x 100_000) },
     rc => PAM_ABORT, log => qr/^s{127}\(trex-pam\) error: \S+\/s+: cannot read: File name too long$/m);
case('pam.d: a service name with a newline', sub { login_oo('alice', answers($apw), service => "web\nFORGED") },
     rc => PAM_ABORT, log => qr/no configuration for service "web\?forged"/);
case('pam.d: an empty service name', sub { login_oo('alice', answers($apw), service => '') },
     rc => PAM_ABORT, log => qr/^\(trex-pam\) error: \S+\/: cannot read: Is a directory$/m);
POSIX::mkfifo("$cd/fifo", 0644) or die "mkfifo: $!";
case('pam.d: a FIFO as service file', sub { alarm 5; login_oo('alice', answers($apw), service => 'fifo') },
     rc => PAM_ABORT, log => qr/fifo: cannot read: not a regular file/);
service('zero', "auth include /dev/zero$ok");
case('pam.d: an include of /dev/zero', sub { alarm 5; login_oo('alice', answers($apw), service => 'zero') },
     rc => PAM_PERM_DENIED, log => qr/cannot include "\/dev\/zero": not a regular file/);

# ---- pam.d files the process cannot read (as another user: root reads everything) ----------------------
{
    my $ndir = tempdir();
    chmod 0755, $ndir;
    my $ncd = "$ndir/pam.d";
    mkdir $ncd, 0755 or die;
    my $closed = "$ndir/closed";
    mkdir $closed, 0700 or die;
    open my $fh, '>', "$closed/web" or die;
    print {$fh} "auth required permit\n";
    close $fh;
    chmod 0, $closed if $> != 0;                     # root's 0700 is closed to nobody already
    for (['secret', "auth required permit\n"], ['inc-secret', "auth include secret\nauth optional permit\n"]) {
        open my $f, '>', "$ncd/$_->[0]" or die;
        print {$f} $_->[1];
        close $f;
    }
    chmod $> == 0 ? 0600 : 0, "$ncd/secret";
    case('pam.d: an unreadable service file', as_nobody($ncd, sub { login_oo('alice', answers($apw), service => 'secret') }),
         rc => PAM_ABORT, log => qr/secret: cannot read: Permission denied/);
    case('pam.d: an unreadable include', as_nobody($ncd, sub { login_oo('alice', answers($apw), service => 'inc-secret') }),
         rc => PAM_PERM_DENIED, log => qr/cannot include "secret": Permission denied/);
    case('pam.d: a configuration directory it cannot enter', as_nobody($closed, sub {
        login_oo('alice', answers($apw), service => 'web') }),
         rc => PAM_ABORT, log => qr/cannot (?:use as configuration directory|read): Permission denied/);
    chmod 0700, $closed;
}

# ---- leaks: a sample of the cases again and again in this process ----------------------------------------------
# The resident set size after many more runs of a case, against its size
# after a warm-up (caches, store connections, Perl's arenas): a leak of a
# copy of a 1 MiB input shows in 100 runs, a leak of 150 bytes per run in
# 3000. (Under valgrind, t/97-valgrind.t checks every case above instead.)
SKIP: {
    skip 'valgrind checks the leaks of every case (and this would take an hour under it)', 9 if $VG;
    skip 'under AddressSanitizer (t/08-perl-asan.t): LeakSanitizer checks the leaks', 9 if under_asan();
    my $LIMIT = 450;
    service('leak-syntax', "auth [success=ok default=bad permit\nauth required nosuchmodule\nauth include leak-syntax\n");
    my $flipped = $flip->($as, 6);
    my @sample = (
        ['a 1 MiB user name (pam_start)', 100, sub { my %r = login_fn('a' x $MiB, answers($apw)) }],
        ['a 1 MiB user name (answered)', 100, sub { my %r = login_oo(undef, answers('a' x $MiB, $apw)) }],
        ['an unknown session ID', 3000, sub { my %r = login_oo('alice', answers($flipped)) }],
        ["alice's session ID for a name with a newline", 3000, sub { my %r = login_oo("zed\nFORGED", answers($as)) }],
        ['a conversation that dies', 3000, sub { my %r = login_oo('alice', sub { die "no\n" }) }],
        ['a conversation of 200001 values', 30, sub { my %r = login_oo('alice', sub { ((0, $apw) x 100_000, 0) }) }],
        ['a conversation calling into its handle', 1500, sub {
            my %r = login_doing($apw, sub { ($_[0]->pam_end, $_[0]->pam_authenticate, $_[0]->pam_set_item(PAM_USER, 'alice')) }) }],
        ['a broken pam.d file', 3000, sub { my @r = TRex::PAM::check_config('leak-syntax') }],
    );
    leak_check($LIMIT, @sample);
    $snap->check('after the leak runs');
}

cmp_ok($CASES, '>=', 200, 'at least 200 distinct bad inputs tried');
diag("$CASES distinct bad inputs tried");
ok(length $ALL_LOG, 'the logs were captured');

done_testing;
