# Modules written in Perl: "perl:Package" lines, the six hooks called as
# Package::hook($mh, $flags, @args), the TRex::PAM::ModuleHandle methods,
# failures (missing package or hook, die, non-numeric result), module data.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest;
use TRex::PAM qw(:DEFAULT PAM_AUTHTOK PAM_OLDAUTHTOK PAM_DATA_REPLACE PAM_PRELIM_CHECK PAM_UPDATE_AUTHTOK);
use TRexTest::Mod;
use TRexTest::Data;
use TRexTest::Keep;

my @seen;
my @answers;
my $conv = sub {
    my @r;
    while (@_) {
        my ($style, $msg) = splice @_, 0, 2;
        push @seen, [$style, $msg];
        push @r, 0, ($style == 1 || $style == 2) ? shift(@answers) : undef;
    }
    return (@r, 0);
};
sub start {
    my ($svc, $user) = @_;
    @seen = ();
    my $rc = pam_start($svc, $user, $conv, my $h);
    is($rc, PAM_SUCCESS, "pam_start $svc") or return;
    return $h;
}

# ---- the six hooks -------------------------------------------------------------------
service(mod => <<'PAMD');
auth     required perl:TRexTest::Mod authenticate=success setcred=cred_err a [b c]
account  required perl:TRexTest::Mod acct_mgmt=acct_expired
session  required perl:TRexTest::Mod close_session=session_err
password required perl:TRexTest::Mod
PAMD
{
    my $h = start('mod', 'alice');
    @TRexTest::Mod::calls = ();
    is(pam_authenticate($h, PAM_SILENT), PAM_SUCCESS, 'authenticate');
    is(pam_setcred($h, 0), PAM_CRED_ERR, 'setcred');
    is(pam_acct_mgmt($h), PAM_ACCT_EXPIRED, 'acct_mgmt');
    is(pam_open_session($h), PAM_SUCCESS, 'open_session');
    is(pam_close_session($h), PAM_SESSION_ERR, 'close_session');
    is(pam_chauthtok($h), PAM_SUCCESS, 'chauthtok');
    is_deeply(\@TRexTest::Mod::calls, [
        ['authenticate', PAM_SILENT, 'authenticate=success', 'setcred=cred_err', 'a', 'b c'],
        ['setcred', PAM_ESTABLISH_CRED, 'authenticate=success', 'setcred=cred_err', 'a', 'b c'],
        ['acct_mgmt', 0, 'acct_mgmt=acct_expired'],
        ['open_session', 0, 'close_session=session_err'],
        ['close_session', 0, 'close_session=session_err'],
        ['chauthtok', PAM_PRELIM_CHECK],
        ['chauthtok', PAM_UPDATE_AUTHTOK],
    ], 'each hook called as Package::hook($mh, $flags, @args)');
    is($TRexTest::Mod::loaded, 1, 'the package was loaded once');
    pam_end($h);
}
service(codes => "auth required perl:TRexTest::Mod authenticate=99\nauth optional perl:TRexTest::Mod\n"
               . "account required perl:TRexTest::Mod acct_mgmt=-1\n"
               . "password required perl:TRexTest::Mod chauthtok=authtok_err\n");
{
    my $h = start('codes', 'alice');
    is(pam_authenticate($h), PAM_PERM_DENIED, 'a module returning 99 fails the stack (PAM_PERM_DENIED)');
    is(pam_acct_mgmt($h), PAM_PERM_DENIED, 'a module returning -1 too');
    @TRexTest::Mod::calls = ();
    is(pam_chauthtok($h), PAM_AUTHTOK_ERR, 'a failing PRELIM pass');
    is(scalar @TRexTest::Mod::calls, 1, '... stops before the update pass');
}

# ---- missing packages, hooks, and bad modules ------------------------------------------
service(partial => "auth required perl:TRexTest::Partial\naccount required perl:TRexTest::Derived\n");
{
    my $h = start('partial', 'alice');
    is(pam_authenticate($h), PAM_SUCCESS, 'a package with only authenticate');
    my ($log, $rc) = capture_stderr { pam_setcred($h) };
    is($rc, PAM_MODULE_UNKNOWN, '... its missing setcred: PAM_MODULE_UNKNOWN');
    like($log, qr/perl:TRexTest::Partial has no setcred/, '... logged');
    is(pam_acct_mgmt($h), PAM_ACCT_EXPIRED, 'a hook inherited through @ISA');
}
for my $case (['perl:No::Such::Module', qr{perl:No::Such::Module: loading died: Can't locate No/Such/Module\.pm}],
              ['perl:TRexTest::Syntax', qr{perl:TRexTest::Syntax: loading died: .*syntax error|Missing right curly}],
              ['perl:1bad', qr/perl:1bad: not a Perl package name/],
              ['perl:', qr/perl:: not a Perl package name/],
              ['perl:a::', qr/perl:a::: not a Perl package name/],
              ['perl:a;system(1)', qr/not a Perl package name/],
              ['perl:../x', qr/not a Perl package name/]) {
    my ($name, $want) = @$case;
    service(missing => "auth required $name\nauth required permit\n");
    my ($log, $rc, $auth) = capture_stderr {
        my $rc = pam_start('missing', 'alice', $conv, my $h);
        ($rc, $rc == PAM_SUCCESS ? pam_authenticate($h) : undef);
    };
    is($rc, PAM_SUCCESS, "$name: pam_start succeeds");
    is($auth, PAM_MODULE_UNKNOWN, "$name: the line gives PAM_MODULE_UNKNOWN");
    like($log, $want, "$name: logged");
}
service(optional => "auth optional perl:No::Such::Module\nauth required permit\n");
{
    my $h = start('optional', 'alice');
    is(pam_authenticate($h), PAM_SUCCESS, 'a missing optional perl: module is ignored');
}
service(bad => join '', map { "$_ required perl:TRexTest::Bad\n" } qw(auth account session password));
{
    my $h = start('bad', 'alice');
    my @cases = (
        [sub { pam_authenticate($h) }, 'authenticate', qr/perl:TRexTest::Bad authenticate died: bad module died/],
        [sub { pam_setcred($h) }, 'setcred', qr/perl:TRexTest::Bad setcred returned a non-numeric value/],
        [sub { pam_acct_mgmt($h) }, 'acct_mgmt (returns nothing)', qr/acct_mgmt returned a non-numeric value/],
        [sub { pam_open_session($h) }, 'open_session (returns a ref)', qr/open_session returned a non-numeric value/],
        [sub { pam_close_session($h) }, 'close_session (returns 2**40)', qr/close_session returned a non-numeric value/],
        [sub { pam_chauthtok($h) }, 'chauthtok (dies with an object)', qr/chauthtok died: \(exception object\)/],
    );
    for my $c (@cases) {
        for my $before ('kept', '') {
            my ($log, $rc, $at) = capture_stderr { local $@ = $before; my $r = $c->[0]->(); ($r, $@) };
            is($rc, PAM_SYSTEM_ERR, "$c->[1]: PAM_SYSTEM_ERR");
            like($log, $c->[2], "$c->[1]: logged");
            is($at, $before, "$c->[1]: \$\@ of the caller is still '$before'");
        }
    }
}

# ---- packages defined in the program ------------------------------------------------------
{
    package Inline::Mod;
    sub authenticate { my ($mh, $flags, @args) = @_; return $args[0] // 0 }
}
service(inline => "auth required perl:Inline::Mod 7\n");
{
    my $h = start('inline', 'alice');
    is(pam_authenticate($h), PAM_AUTH_ERR, 'a package defined inline needs no file');
}

# ---- the module handle ------------------------------------------------------------------------
our $body;
{
    package Api::Mod;
    for my $hook (qw(authenticate setcred acct_mgmt open_session close_session chauthtok)) {
        no strict 'refs';
        *$hook = sub { $main::body->(@_) };
    }
}
service(api => join '', map { "$_ required perl:Api::Mod\n" } qw(auth account session password));
my $h = start('api', undef);
my @r;
sub in_module (&) { $body = shift; @r = (); my $rc = pam_acct_mgmt($h); return $rc }

in_module { my $mh = shift; isa_ok($mh, 'TRex::PAM::ModuleHandle'); ok($mh->is_valid, 'is_valid'); 0 };

@answers = ('bob');
in_module { @r = $_[0]->get_user; 0 };
is_deeply(\@r, [PAM_SUCCESS, 'bob'], 'get_user prompts when PAM_USER is unset');
is_deeply(\@seen, [[PAM_PROMPT_ECHO_ON, 'login:']], '... with login:');
in_module { @r = $_[0]->get_user('ignored'); 0 };
is_deeply(\@r, [PAM_SUCCESS, 'bob'], 'get_user returns PAM_USER once set');
pam_set_item($h, PAM_USER, undef);
@seen = (); @answers = ('carol');
in_module { @r = $_[0]->get_user('Name: '); 0 };
is_deeply([\@r, \@seen], [[PAM_SUCCESS, 'carol'], [[PAM_PROMPT_ECHO_ON, 'Name: ']]], 'get_user with a prompt');

@seen = (); @answers = ('pw1');
in_module { my $mh = shift; @r = ($mh->get_authtok(PAM_AUTHTOK), $mh->get_item(PAM_AUTHTOK)); 0 };
is_deeply(\@r, [PAM_SUCCESS, 'pw1', PAM_SUCCESS, 'pw1'], 'get_authtok prompts; the module reads PAM_AUTHTOK');
is_deeply(\@seen, [[PAM_PROMPT_ECHO_OFF, 'Password: ']], '... with Password:, echo off');
@seen = ();
in_module { @r = $_[0]->get_authtok(PAM_AUTHTOK, 'Other: '); 0 };
is_deeply([\@r, \@seen], [[PAM_SUCCESS, 'pw1'], []], 'get_authtok reuses the token (kept outside authenticate)');
is(pam_get_item($h, PAM_AUTHTOK, my $tok), PAM_BAD_ITEM, 'the application still cannot read it');
in_module { my $mh = shift; @r = ($mh->set_item(PAM_OLDAUTHTOK, 'old'), $mh->get_item(PAM_OLDAUTHTOK)); 0 };
is_deeply(\@r, [PAM_SUCCESS, PAM_SUCCESS, 'old'], 'a module sets and reads PAM_OLDAUTHTOK');
$body = sub { @r = $_[0]->get_item(PAM_AUTHTOK); 0 };
pam_authenticate($h);
is_deeply(\@r, [PAM_SUCCESS, undef], 'tokens are cleared by pam_authenticate');

@seen = (); @answers = ('yes');
in_module { my $mh = shift; @r = ($mh->prompt(PAM_PROMPT_ECHO_ON, 'Sure? '), $mh->info('some info'), $mh->error('an error')); 0 };
is_deeply(\@r, [PAM_SUCCESS, 'yes', PAM_SUCCESS, PAM_SUCCESS], 'prompt, info, error');
is_deeply(\@seen, [[PAM_PROMPT_ECHO_ON, 'Sure? '], [PAM_TEXT_INFO, 'some info'], [PAM_ERROR_MSG, 'an error']],
          '... reach the conversation');
@seen = (); @answers = ('a1', 'a2');
in_module { @r = $_[0]->conv(PAM_PROMPT_ECHO_ON, 'one', PAM_TEXT_INFO, 'two', PAM_PROMPT_ECHO_OFF, 'three'); 0 };
is_deeply(\@r, [PAM_SUCCESS, 'a1', undef, 'a2'], 'conv: ($status, @responses)');
is_deeply(\@seen, [[2, 'one'], [4, 'two'], [1, 'three']], '... one call with three messages');
in_module { @r = ($_[0]->conv, $_[0]->prompt(PAM_PROMPT_ECHO_ON, "a\0b")); 0 };
is_deeply(\@r, [PAM_CONV_ERR, PAM_BAD_ITEM, undef], 'conv without messages; a prompt with a NUL');
in_module { eval { $_[0]->conv(1) }; @r = ($@); 0 };
like($r[0], qr/^TRex::PAM::ModuleHandle::conv: odd number of arguments/, 'conv with an odd list croaks');

in_module { my $mh = shift; @r = ($mh->putenv('FROM_MODULE=1'), $mh->getenv('FROM_MODULE'), $mh->getenvlist); 0 };
is_deeply(\@r, [PAM_SUCCESS, '1', FROM_MODULE => '1'], 'putenv, getenv, getenvlist');
is(pam_getenv($h, 'FROM_MODULE'), '1', '... the application sees it');
in_module { my $mh = shift; @r = ($mh->set_item('TREX_SESSION_ID', 'sid-1'), $mh->get_item('TREX_SESSION_ID')); 0 };
is_deeply(\@r, [PAM_SUCCESS, PAM_SUCCESS, 'sid-1'], 'a named item');
pam_get_item($h, 'TREX_SESSION_ID', my $sid);
is($sid, 'sid-1', '... the application reads it');
in_module { my $mh = shift; @r = ($mh->get_item(PAM_CONV), $mh->get_item(PAM_SERVICE), $mh->get_item(99)); 0 };
is_deeply(\@r, [PAM_SUCCESS, $conv, PAM_SUCCESS, 'api', PAM_BAD_ITEM, undef], 'get_item: PAM_CONV, PAM_SERVICE, bad');
in_module { my $mh = shift; @r = ($mh->fail_delay(100), $mh->fail_delay(-5), $mh->strerror(PAM_AUTH_ERR)); 0 };
is_deeply(\@r, [PAM_SUCCESS, PAM_BAD_ITEM, 'Authentication failure'], 'fail_delay, strerror');
{
    my ($log) = capture_stderr { in_module { @r = ($_[0]->log(3, 'hello from perl')); 0 } };
    is_deeply(\@r, [PAM_SUCCESS], 'log');
    like($log, qr/api\(trex-pam\) error: hello from perl/, '... reaches the log');
}
in_module { @r = (pam_end($h), pam_authenticate($h), pam_acct_mgmt($h)); 0 };
is_deeply(\@r, [PAM_SYSTEM_ERR, PAM_SYSTEM_ERR, PAM_SYSTEM_ERR], 'a module calling back into the application handle');
is(pam_open_session($h), PAM_SUCCESS, '... which is still alive');

# ---- the module handle after the call -------------------------------------------------------------
{
    service(keep => "auth required perl:TRexTest::Keep\n");
    my $k = start('keep', 'alice');
    pam_authenticate($k);
    is_deeply(\@TRexTest::Keep::during, [1, PAM_SUCCESS, 'alice'], 'during the call the handle works');
    my $mh = $TRexTest::Keep::mh;
    ok(!$mh->is_valid, 'after the call: invalid');
    is_deeply([$mh->get_user], [PAM_SYSTEM_ERR, undef], '... get_user: PAM_SYSTEM_ERR');
    is_deeply([$mh->get_item(PAM_USER)], [PAM_SYSTEM_ERR, undef], '... get_item: PAM_SYSTEM_ERR');
    is($mh->set_item(PAM_USER, 'x'), PAM_SYSTEM_ERR, '... set_item: PAM_SYSTEM_ERR');
    is($mh->putenv('A=1'), PAM_SYSTEM_ERR, '... putenv: PAM_SYSTEM_ERR');
    is($mh->set_data('k', 1), PAM_SYSTEM_ERR, '... set_data: PAM_SYSTEM_ERR');
    is_deeply([$mh->conv(1, 'x')], [PAM_SYSTEM_ERR, undef], '... conv: PAM_SYSTEM_ERR');
    pam_end($k);
    is($mh->info('x'), PAM_SYSTEM_ERR, '... and after pam_end too');
    undef $TRexTest::Keep::mh;
}
for my $m ([get_user => 0], [get_item => 1], [set_item => 2], [info => 1], [conv => 2], [getenvlist => 0]) {
    my ($name, $n) = @$m;
    my $f = TRex::PAM::ModuleHandle->can($name);
    eval { $f->(bless(\(my $x = 1), 'TRex::PAM::ModuleHandle'), (1) x $n) };
    my $m = $name;
    like($@, qr/^TRex::PAM::ModuleHandle::$m: mh is not a TRex::PAM::ModuleHandle/, "a forged module handle: $m croaks");
}

# ---- module data --------------------------------------------------------------------------------------
service(data => "auth required perl:TRexTest::Data\naccount required perl:TRexTest::Data\n"
              . "session required perl:TRexTest::Data\n");
{
    @TRexTest::Data::cleanups = ();
    my $d = start('data', 'alice');
    is(pam_authenticate($d), PAM_SUCCESS, 'set_data with a cleanup');
    is(pam_setcred($d), PAM_SUCCESS, 'get_data in a later call');
    is_deeply(\@TRexTest::Data::got, [PAM_SUCCESS, { n => 1 }], '... the same Perl value');
    is(pam_acct_mgmt($d), PAM_SUCCESS, 'replacing it');
    is_deeply(\@TRexTest::Data::cleanups, [[1, PAM_DATA_REPLACE]], '... runs the old cleanup with PAM_DATA_REPLACE');
    pam_open_session($d);
    is_deeply(\@TRexTest::Data::got, [PAM_NO_MODULE_DATA, undef], 'get_data of an unknown name: PAM_NO_MODULE_DATA');
    is(pam_end($d, PAM_ABORT), PAM_SUCCESS, 'pam_end');
    is_deeply(\@TRexTest::Data::cleanups, [[1, PAM_DATA_REPLACE], [2, PAM_ABORT]], '... runs the cleanup with its status');
}
{
    my $d = start('api', 'alice');
    $body = sub {
        my $mh = shift;
        @r = ($mh->set_data('x', 1, 'not code'), $mh->set_data("a\0b", 1), $mh->get_data("a\0b"),
              $mh->set_data('plain', [1, 2]), $mh->get_data('plain'),
              $mh->set_data('dies', 1, sub { die "cleanup died\n" }));
        0;
    };
    pam_acct_mgmt($d);
    is_deeply(\@r, [PAM_BAD_ITEM, PAM_BAD_ITEM, PAM_BAD_ITEM, undef, PAM_SUCCESS, PAM_SUCCESS, [1, 2], PAM_SUCCESS],
              'set_data/get_data refusals; data without cleanup');
    is(pam_get_item($d, PAM_USER, my $u), PAM_SUCCESS, 'the handle is fine');
    my ($log) = capture_stderr { pam_end($d) };
    like($log, qr/module data cleanup died: cleanup died/, 'a dying cleanup is logged');
    is(pam_end($d), PAM_SYSTEM_ERR, '... and the handle is ended');
}

# ---- event-driven applications: PAM_CONV_AGAIN / PAM_INCOMPLETE -----------------------
{
    package Again::Mod;
    our @calls;
    sub authenticate {
        my ($mh) = @_;
        my ($rc, $answer) = $mh->prompt(TRex::PAM::PAM_PROMPT_ECHO_OFF(), 'Code: ');
        push @calls, $rc;
        return TRex::PAM::PAM_INCOMPLETE() if $rc == TRex::PAM::PAM_CONV_AGAIN();
        return $rc if $rc;
        return $answer eq '42' ? 0 : TRex::PAM::PAM_AUTH_ERR();
    }
    sub acct_mgmt { 0 }
}
service(again => "auth required perl:Again::Mod\naccount required perl:Again::Mod\n");
{
    my $ready = 0;
    my $c = sub { return $ready ? (0, '42', PAM_SUCCESS) : (0, undef, PAM_CONV_AGAIN) };
    pam_start('again', 'alice', $c, my $ah);
    is(pam_authenticate($ah), PAM_INCOMPLETE, 'a conversation returning PAM_CONV_AGAIN: PAM_INCOMPLETE');
    is(pam_acct_mgmt($ah), PAM_ABORT, '... another call in between: PAM_ABORT');
    $ready = 1;
    is(pam_authenticate($ah), PAM_SUCCESS, '... called again, the module resumes and succeeds');
    is_deeply(\@Again::Mod::calls, [PAM_CONV_AGAIN, PAM_SUCCESS], '... the same module was called twice');
    is(pam_acct_mgmt($ah), PAM_SUCCESS, '... and the handle goes on');
}

# ---- two handles, one package ------------------------------------------------------------------
{
    my $h1 = start('mod', 'one');
    my $h2 = start('mod', 'two');
    $body = undef;
    @TRexTest::Mod::calls = ();
    pam_authenticate($h1);
    pam_end($h1);
    pam_authenticate($h2);
    is(scalar @TRexTest::Mod::calls, 2, 'two handles use the same package independently');
}

pam_end($h);
done_testing;
