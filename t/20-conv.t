# The conversation contract (as Authen::PAM's): n (style, msg) pairs in,
# n (retcode, resp) pairs and one status out; anything else is
# PAM_CONV_ERR, never a crash, a croak through C or a leak. And the default
# conversation on a terminal-less STDIN.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest;
use TRex::PAM;
use TRexTest::Conv;
use TRexTest::Data;
use Scalar::Util ();

service(conv  => "auth required perl:TRexTest::Conv\n");
service(conv_data => "auth required perl:TRexTest::Conv\nauth required perl:TRexTest::Data\n");
service(login => "auth required permit\naccount required permit\n");
service(info => "auth required debug auth=success\n");   # one PAM_TEXT_INFO

# Run TRexTest::Conv with these messages and this conversation; returns
# (pam_authenticate's code, the module's view: $status, @responses).
sub run_conv {
    my ($conv, @send) = @_;
    @TRexTest::Conv::send = @send ? @send : ([PAM_PROMPT_ECHO_OFF, 'Password: ']);
    @TRexTest::Conv::got = ();
    is(pam_start('conv', 'alice', $conv, my $h), PAM_SUCCESS, 'pam_start') or return;
    my $rc = pam_authenticate($h, 0);
    pam_end($h, $rc);
    return ($rc, @TRexTest::Conv::got);
}

# ---- the normal case -----------------------------------------------------------
{
    my @args;
    my ($rc, @got) = run_conv(sub { @args = @_; return (0, 'secret', 0, undef, 0, '', PAM_SUCCESS) },
        [PAM_PROMPT_ECHO_OFF, 'Password: '], [PAM_TEXT_INFO, 'hello'], [PAM_PROMPT_ECHO_ON, 'Name: ']);
    is_deeply(\@args, [PAM_PROMPT_ECHO_OFF, 'Password: ', PAM_TEXT_INFO, 'hello', PAM_PROMPT_ECHO_ON, 'Name: '],
              'the conversation gets a flat list of (style, msg) pairs');
    is($rc, PAM_SUCCESS, 'pam_authenticate succeeds');
    is_deeply(\@got, [PAM_SUCCESS, 'secret', undef, ''], 'the module gets the answers; undef is a NULL response');
}
{
    my ($rc, @got) = run_conv(sub { return ('anything', 1234, PAM_SUCCESS) });
    is_deeply(\@got, [PAM_SUCCESS, '1234'], 'a number answer is its string; resp_retcode is not checked');
}
{
    my $s = "caf\x{e9}";
    utf8::upgrade($s);
    my ($rc, @got) = run_conv(sub { return (0, $s, 0) });
    is($got[0], PAM_SUCCESS, 'an upgraded string that fits in bytes is accepted');
    is($got[1], "caf\xe9", '... as its bytes');
    ok(!utf8::is_utf8($got[1]), '... without the UTF-8 flag');
}
{
    my $x = 'outer';
    my ($rc, @got) = run_conv(sub { return (0, "p\x{e9}", 0) });
    is($got[1], "p\xe9", 'latin-1 bytes pass unchanged');
}

# ---- the contract broken: PAM_CONV_ERR ----------------------------------------------
my @bad = (
    ['a die', sub { die "conversation blew up\n" }, qr/conversation function died: conversation blew up/],
    ['a die with an object', sub { die bless {}, 'Some::Error' }, qr/conversation function died: \(exception object\)/],
    ['too few values', sub { return (0, 'x') }, qr/returned 2 values for 1 messages \(want 3\)/],
    ['no values', sub { return }, qr/returned 0 values for 1 messages/],
    ['too many values', sub { return (0, 'x', 0, 'y', 0) }, qr/returned 5 values/],
    ['only a status', sub { return PAM_SUCCESS }, qr/returned 1 values/],
    ['a non-numeric status', sub { return (0, 'x', 'ok') }, qr/non-numeric status/],
    ['an undef status', sub { return (0, 'x', undef) }, qr/non-numeric status/],
    ['a reference as status', sub { return (0, 'x', [0]) }, qr/non-numeric status/],
    ['a fractional status', sub { return (0, 'x', 0.5) }, qr/non-numeric status/],
    ['a huge status', sub { return (0, 'x', 2**40) }, qr/non-numeric status/],
    ['an integer status past INT_MAX', sub { return (0, 'x', 2147483648) }, qr/non-numeric status/],
    ['an integer status below INT_MIN', sub { return (0, 'x', -2147483649) }, qr/non-numeric status/],
    ['the largest unsigned status', sub { return (0, 'x', ~0) }, qr/non-numeric status/],
    ['an answer with a NUL', sub { return (0, "se\0cret", 0) }, qr/not a byte string without NUL/],
    ['an answer with a wide character', sub { return (0, "\x{263a}", 0) }, qr/not a byte string/],
    ['a reference as answer', sub { return (0, [1], 0) }, qr/not a byte string/],
    ['a code reference as answer', sub { return (0, sub { 1 }, 0) }, qr/not a byte string/],
);
for my $case (@bad) {
    my ($name, $conv, $log) = @$case;
    my ($err, $at, $rc, @got) = capture_stderr {
        local $@ = 'kept';
        my @r = run_conv($conv);
        return ($@, @r);
    };
    is($got[0], PAM_CONV_ERR, "$name: the module gets PAM_CONV_ERR");
    is($rc, PAM_CONV_ERR, "$name: so does the application");
    is($got[1], undef, "$name: no answer");
    like($err, $log, "$name: logged");
    is($at, 'kept', "$name: \$\@ of the caller is untouched");
}
# the same straight from a C module (no perl: module around it): $@ as it was
for my $case (@bad[0, 1]) {
    my ($name, $conv) = @$case;
    for my $before ('', 'kept') {
        my ($err, $at, $rc) = capture_stderr {
            local $@ = $before;
            pam_start('info', 'alice', $conv, my $h);
            my $rc = pam_authenticate($h, 0);
            return ($@, $rc);
        };
        is($rc, PAM_SUCCESS, "$name, from C: the module goes on (debug ignores it)");
        like($err, qr/conversation function died/, "$name, from C: logged");
        is($at, $before, "$name, from C: \$\@ of the caller is still '$before'");
    }
}

# ---- the message's scalars: used again for the next call only when left alone --------
service(info2 => "auth required debug auth=success\nauth required debug auth=ignore\n");
{
    my (@seen, @kept);
    my @mess = (sub { $_[1] .= ' changed'; $_[0] = 'x' },
                sub { bless \$_[1], 'Some::Class' },
                sub { Internals::SvREADONLY($_[1], 1) },
                sub { utf8::upgrade($_[1]); $_[1] .= "\x{263a}" },
                sub { $_[1] = *STDOUT },
                sub { push @kept, \$_[1] },
                sub { });                       # 7: each meets both messages
    my $k = 0;
    my $conv = sub {
        push @seen, ["$_[0]", $_[1], ref \$_[1], utf8::is_utf8($_[1]) ? 1 : 0];
        $mess[$k++ % @mess]->(@_);
        return (0, undef, 0);
    };
    for (1 .. @mess) {
        is(pam_start('info2', 'alice', $conv, my $h), PAM_SUCCESS, 'pam_start');
        is(pam_authenticate($h, 0), PAM_SUCCESS, 'two messages');
    }
    is_deeply(\@seen, [([PAM_TEXT_INFO, 'auth=success', 'SCALAR', 0], [PAM_TEXT_INFO, 'auth=ignore', 'SCALAR', 0]) x @mess],
              'each call gets its own (style, msg), whatever an earlier call did to its arguments');
    pam_start('info2', 'alice', sub { (0, undef, 0) }, my $h);  # one more
    pam_authenticate($h, 0);
    is_deeply([map { $$_ } @kept], ['auth=ignore', 'auth=success'], '... and a kept reference keeps its value');
}
{
    my ($before, $after, $inner_seen);
    my $inner = sub { $inner_seen = $_[1]; return (0, undef, 0) };
    my $outer = sub {
        $before = $_[1];
        pam_start('info2', 'alice', $inner, my $h);
        pam_authenticate($h, 0);
        $after = $_[1];
        return (0, undef, 0);
    };
    pam_start('info', 'alice', $outer, my $h);
    is(pam_authenticate($h, 0), PAM_SUCCESS, 'a conversation that runs another handle');
    is($inner_seen, 'auth=ignore', '... the inner conversation gets its messages');
    is($after, $before, "... and the outer one's arguments are left alone");
}

# ---- a status other than success is passed on ----------------------------------------
for my $code (PAM_BUF_ERR, PAM_CONV_AGAIN, PAM_ABORT, 99, -1) {
    my ($rc, @got) = run_conv(sub { return (0, 'x', $code) });
    is($got[0], $code, "status $code is returned as it is");
}
{
    my ($rc, @got) = run_conv(sub { return (0, 'x', '19') });
    is($got[0], PAM_CONV_ERR, 'a numeric string is a status');
}

# ---- get_user's rules on top (permit asks for the user) ---------------------------------
{
    my @seen;
    pam_start('login', undef, scripted_conv(\@seen, undef), my $h);
    is(pam_authenticate($h), PAM_CONV_ERR, 'an undef user name: PAM_CONV_ERR (NULL response)');
    is(scalar @seen, 1, '... after one prompt');
    is(pam_authenticate($h), PAM_CONV_ERR, '... sticky: the same error again');
    is(scalar @seen, 1, '... without asking');
    pam_set_item($h, PAM_CONV, scripted_conv(\@seen, 'carol'));
    is(pam_authenticate($h), PAM_SUCCESS, 'setting PAM_CONV clears it');
    pam_get_item($h, PAM_USER, my $u);
    is($u, 'carol', '... and the new conversation answers');
}

# ---- callbacks that change the handle under the running call --------------------------
{
    my $h;
    my $second = sub { return (0, 'two', 0) };
    my $first = sub { pam_set_item($h, PAM_CONV, $second); return (0, 'one', 0) };
    @TRexTest::Conv::send = ([PAM_PROMPT_ECHO_OFF, 'P: ']);
    pam_start('conv', 'alice', $first, $h);
    pam_authenticate($h);
    is($TRexTest::Conv::got[1], 'one', 'a conversation may replace itself while it runs');
    pam_authenticate($h);
    is($TRexTest::Conv::got[1], 'two', '... and the new one answers next');
    pam_get_item($h, PAM_CONV, my $c);
    is($c, $second, '... and is PAM_CONV');
}
{
    my $h;
    my @inner;
    my $conv = sub { push @inner, pam_end($h), pam_authenticate($h), pam_chauthtok($h); return (0, 'x', 0) };
    pam_start('conv', 'alice', $conv, $h);
    is(pam_authenticate($h), PAM_SUCCESS, 'a conversation calling back into its handle');
    is_deeply(\@inner, [PAM_SYSTEM_ERR, PAM_SYSTEM_ERR, PAM_SYSTEM_ERR],
              '... pam_end and service calls from inside: PAM_SYSTEM_ERR');
    is(pam_acct_mgmt($h), PAM_PERM_DENIED, '... the handle was not ended (no account stack)');
    is(pam_end($h), PAM_SUCCESS, '... and ends normally afterwards');
}
{
    my $h;
    my $conv = sub { undef $h; return (0, 'x', 0) };
    @TRexTest::Data::cleanups = ();
    pam_start('conv_data', 'alice', $conv, $h);
    my $copy = $h;
    is(pam_authenticate($copy), PAM_SUCCESS, 'dropping a reference inside the conversation is safe');
    is(scalar @TRexTest::Data::cleanups, 0, '... the remaining reference keeps the handle');
    my $weak = $copy;
    Scalar::Util::weaken($weak);
    undef $copy;
    is($weak, undef, '... and the handle goes when the last reference does');
    is_deeply(\@TRexTest::Data::cleanups, [[1, PAM_SUCCESS]], '... ended once, with status 0');
}
{
    my $h;
    my $conv = sub { undef $h; return (0, 'x', 0) };
    pam_start('conv', 'alice', $conv, $h);
    is(pam_authenticate($h), PAM_SUCCESS, 'dropping the only reference inside the conversation is safe');
    is($h, undef, '... and it is gone after the call');
}

# ---- the default conversation ------------------------------------------------------------
SKIP: {
    skip 'no fork', 6 unless eval { require IPC::Open3; 1 };
    my $script = <<'PERL';
use strict; use warnings; use TRex::PAM;
@TRexTest::Conv::send = ([PAM_PROMPT_ECHO_ON, 'Name: '], [PAM_PROMPT_ECHO_OFF, 'Password: '],
                          [PAM_TEXT_INFO, 'Info text'], [PAM_ERROR_MSG, 'Error text']);
my $rc = pam_start($ARGV[0], $ARGV[1], my $h);
$rc = pam_authenticate($h) if $rc == PAM_SUCCESS;
pam_get_item($h, PAM_USER, my $u);
print "\nRC=$rc USER=", $u // 'undef', " GOT=", join('|', map { $_ // 'undef' } @TRexTest::Conv::got), "\n";
PERL
    my $run = sub {
        my ($input, @args) = @_;
        my $pid = IPC::Open3::open3(my $in, my $out, undef, $^X, '-Mblib', '-It/lib', '-MTRexTest::Conv', '-e', $script, @args);
        print {$in} $input;
        close $in;
        local $/;
        my $text = <$out>;
        waitpid $pid, 0;
        return $text;
    };
    my $out = $run->("bob\nsecret\n", 'conv', 'alice');
    like($out, qr/Name: /, 'default conversation: prints an echo-on prompt');
    like($out, qr/Password: \n/, '... an echo-off prompt, then a newline');
    like($out, qr/Info text\n/, '... info text');
    like($out, qr/Error text\n/, '... error text');
    like($out, qr/RC=0 USER=alice GOT=0\|bob\|secret\|\|$/m, '... and answers with the lines read');
    $out = $run->("", 'login');
    like($out, qr/login:.*RC=19 USER=undef/s, 'end of input: PAM_CONV_ERR, not an empty answer');
}

done_testing;
