# Items and the PAM environment from Perl: round trips, undef as NULL,
# refusals, as Linux-PAM's pam_set_item(3), pam_get_item(3) and
# pam_putenv(3) describe them.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest;
use TRex::PAM qw(:DEFAULT PAM_AUTHTOK PAM_OLDAUTHTOK PAM_XDISPLAY PAM_XAUTHDATA PAM_AUTHTOK_TYPE);

service(login => "auth required permit\naccount required permit\n");
service(deny  => "auth required deny\n");

my @seen;
my $conv = scripted_conv(\@seen, 'prompted');
my $h;
my $start = sub { pam_start($_[0] // 'login', 'alice', $conv, $h) == PAM_SUCCESS or die "pam_start" };
$start->();

# ---- string items ------------------------------------------------------------------------
for my $item ([PAM_USER, 'PAM_USER'], [PAM_TTY, 'PAM_TTY'], [PAM_RHOST, 'PAM_RHOST'],
              [PAM_RUSER, 'PAM_RUSER'], [PAM_USER_PROMPT, 'PAM_USER_PROMPT'],
              [PAM_XDISPLAY, 'PAM_XDISPLAY'], [PAM_AUTHTOK_TYPE, 'PAM_AUTHTOK_TYPE']) {
    my ($type, $name) = @$item;
    is(pam_set_item($h, $type, "v-$name"), PAM_SUCCESS, "set $name");
    is(pam_get_item($h, $type, my $v), PAM_SUCCESS, "get $name");
    is($v, "v-$name", "$name round trip");
    is(pam_set_item($h, $type, ''), PAM_SUCCESS, "set $name to ''");
    pam_get_item($h, $type, $v);
    is($v, '', "$name is ''");
    is(pam_set_item($h, $type, undef), PAM_SUCCESS, "set $name to undef");
    $v = 'x';
    is(pam_get_item($h, $type, $v), PAM_SUCCESS, "get $name");
    is($v, undef, "$name is NULL");
    # what C cannot hold is refused and changes nothing
    pam_set_item($h, $type, 'kept');
    is(pam_set_item($h, $type, "a\0b"), PAM_BAD_ITEM, "$name with a NUL: PAM_BAD_ITEM");
    is(pam_set_item($h, $type, "\x{263a}"), PAM_BAD_ITEM, "$name with a wide character: PAM_BAD_ITEM");
    is(pam_set_item($h, $type, [1]), PAM_BAD_ITEM, "$name as a reference: PAM_BAD_ITEM");
    pam_get_item($h, $type, $v);
    is($v, 'kept', "$name unchanged after the refusals");
}
{
    my $s = "\x{e9}t\x{e9}";
    utf8::upgrade($s);
    is(pam_set_item($h, PAM_RHOST, $s), PAM_SUCCESS, 'an upgraded string that fits in bytes');
    pam_get_item($h, PAM_RHOST, my $v);
    is($v, "\xe9t\xe9", '... is stored as its bytes');
    ok(!utf8::is_utf8($v), '... and read back as bytes');
    is(pam_set_item($h, "4", 'by-string-number'), PAM_SUCCESS, 'an item number as a string');
    pam_get_item($h, PAM_RHOST, $v);
    is($v, 'by-string-number', '... works');
}
{
    is(pam_set_item($h, PAM_SERVICE, 'Login'), PAM_SUCCESS, 'set PAM_SERVICE');
    pam_get_item($h, PAM_SERVICE, my $v);
    is($v, 'login', '... lower-cased');
    is(pam_set_item($h, PAM_SERVICE, undef), PAM_BAD_ITEM, 'PAM_SERVICE undef: PAM_BAD_ITEM');
    is(pam_set_item($h, PAM_SERVICE, 'deny'), PAM_SUCCESS, 'changing PAM_SERVICE ...');
    is(pam_authenticate($h), PAM_AUTH_ERR, '... loads that service\'s stack');
    pam_set_item($h, PAM_SERVICE, 'login');
    is(pam_authenticate($h), PAM_SUCCESS, '... and back');
}
{
    pam_set_item($h, PAM_USER, undef);
    pam_set_item($h, PAM_USER_PROMPT, undef);
    @seen = ();
    is(pam_authenticate($h), PAM_SUCCESS, 'PAM_USER undef: the next module asks');
    is_deeply(\@seen, [[PAM_PROMPT_ECHO_ON, 'login:']], '... once, with login:');
    pam_get_item($h, PAM_USER, my $u);
    is($u, 'prompted', '... and keeps the answer');
    pam_set_item($h, PAM_USER, undef);
    pam_set_item($h, PAM_USER_PROMPT, 'Who? ');
    @seen = ();
    pam_authenticate($h);
    is($seen[0][1], 'Who? ', 'PAM_USER_PROMPT is the prompt');
}

# ---- tokens are for modules ---------------------------------------------------------------
for my $type (PAM_AUTHTOK, PAM_OLDAUTHTOK) {
    is(pam_set_item($h, $type, 'secret'), PAM_BAD_ITEM, "set item $type from the application: PAM_BAD_ITEM");
    my $v = 'x';
    is(pam_get_item($h, $type, $v), PAM_BAD_ITEM, "get item $type from the application: PAM_BAD_ITEM");
    is($v, undef, '... out-parameter undef');
}

# ---- item numbers ----------------------------------------------------------------------------
for my $type (0, 14, -1, 99, 2**31, -2**31 - 1, 2**40, 1.5, 'NOT_AN_ITEM', 'PAM_USER', undef, [2]) {
    my $label = defined $type ? "$type" : 'undef';
    $label = 'a reference' if ref $type;
    my $v = 'x';
    is(pam_get_item($h, $type, $v), PAM_BAD_ITEM, "get item $label: PAM_BAD_ITEM");
    is($v, undef, "... out-parameter undef");
    is(pam_set_item($h, $type, 'x'), PAM_BAD_ITEM, "set item $label: PAM_BAD_ITEM");
}
is(pam_set_item($h, 2 + 2**32, 'x'), PAM_BAD_ITEM, '2 + 2**32 is not wrapped to PAM_USER');

# ---- PAM_CONV -----------------------------------------------------------------------------------
{
    pam_get_item($h, PAM_CONV, my $c);
    is($c, $conv, 'get PAM_CONV: the code ref');
    my $new = sub { return (0, 'new', 0) };
    is(pam_set_item($h, PAM_CONV, $new), PAM_SUCCESS, 'set PAM_CONV to a code ref');
    pam_get_item($h, PAM_CONV, $c);
    is($c, $new, '... replaced');
    is(pam_set_item($h, PAM_CONV, undef), PAM_PERM_DENIED, 'set PAM_CONV undef: PAM_PERM_DENIED');
    pam_get_item($h, PAM_CONV, $c);
    is($c, $new, '... the old one is kept');
    is(pam_set_item($h, PAM_CONV, 'main::conv'), PAM_BAD_ITEM, 'a sub name is not a conversation');
    is(pam_set_item($h, PAM_CONV, {}), PAM_BAD_ITEM, 'nor a hash');
    pam_set_item($h, PAM_USER, undef);
    pam_authenticate($h);
    pam_get_item($h, PAM_USER, my $u);
    is($u, 'new', 'the new conversation answers');
    pam_set_item($h, PAM_CONV, $conv);
}

# ---- PAM_FAIL_DELAY -------------------------------------------------------------------------
{
    pam_get_item($h, PAM_FAIL_DELAY, my $f);
    is($f, undef, 'PAM_FAIL_DELAY is unset at first');
    my @calls;
    my $fn = sub { push @calls, [@_] };
    is(pam_set_item($h, PAM_FAIL_DELAY, $fn), PAM_SUCCESS, 'set PAM_FAIL_DELAY to a code ref');
    pam_get_item($h, PAM_FAIL_DELAY, $f);
    is($f, $fn, '... get returns it');
    pam_set_item($h, PAM_USER, 'alice');
    is(pam_authenticate($h), PAM_SUCCESS, 'authenticate');
    is(scalar @calls, 1, '... called the delay function once');
    is($calls[0][0], PAM_SUCCESS, '... with the status');
    is($calls[0][1], 0, '... and no delay requested');
    @calls = ();
    pam_set_item($h, PAM_SERVICE, 'deny');
    pam_fail_delay($h, 1_000_000);
    is(pam_authenticate($h), PAM_AUTH_ERR, 'a failing authenticate');
    is($calls[0][0], PAM_AUTH_ERR, '... the delay function gets PAM_AUTH_ERR');
    ok($calls[0][1] >= 500_000 && $calls[0][1] < 1_500_000, "... and a delay within [0.5, 1.5) s: $calls[0][1]");
    pam_set_item($h, PAM_SERVICE, 'login');

    my ($err) = capture_stderr {
        pam_set_item($h, PAM_FAIL_DELAY, sub { die "delay died\n" });
        is(pam_authenticate($h), PAM_SUCCESS, 'a dying delay function does not change the result');
    };
    like($err, qr/fail delay function died: delay died/, '... and is logged');
    is(pam_set_item($h, PAM_FAIL_DELAY, 'x'), PAM_BAD_ITEM, 'PAM_FAIL_DELAY must be code');
    is(pam_set_item($h, PAM_FAIL_DELAY, undef), PAM_SUCCESS, 'PAM_FAIL_DELAY undef clears it');
    pam_get_item($h, PAM_FAIL_DELAY, $f);
    is($f, undef, '... cleared');
    @calls = ();
    pam_authenticate($h);
    is(scalar @calls, 0, '... and nothing is called');
}

# ---- PAM_XAUTHDATA ----------------------------------------------------------------------------
{
    my $v;
    is(pam_get_item($h, PAM_XAUTHDATA, $v), PAM_SUCCESS, 'get PAM_XAUTHDATA');
    is($v, undef, '... unset');
    is(pam_set_item($h, PAM_XAUTHDATA, ['MIT-MAGIC-COOKIE-1', "\0\1\2bin"]), PAM_SUCCESS, 'set [name, data]');
    pam_get_item($h, PAM_XAUTHDATA, $v);
    is_deeply($v, ['MIT-MAGIC-COOKIE-1', "\0\1\2bin"], '... round trip, binary data kept');
    is(pam_set_item($h, PAM_XAUTHDATA, ['n', '']), PAM_SUCCESS, 'empty data');
    pam_get_item($h, PAM_XAUTHDATA, $v);
    is_deeply($v, ['n', ''], '... round trip');
    for my $bad (['a hash', {}], ['a string', 'x'], ['one element', ['n']], ['three', ['n', 'd', 'x']],
                 ['a NUL in the name', ["n\0", 'd']], ['a wide name', ["\x{263a}", 'd']],
                 ['wide data', ['n', "\x{263a}"]], ['undef name', [undef, 'd']], ['undef data', ['n', undef]]) {
        is(pam_set_item($h, PAM_XAUTHDATA, $bad->[1]), PAM_BAD_ITEM, "PAM_XAUTHDATA as $bad->[0]: PAM_BAD_ITEM");
    }
    pam_get_item($h, PAM_XAUTHDATA, $v);
    is_deeply($v, ['n', ''], '... unchanged');
    is(pam_set_item($h, PAM_XAUTHDATA, undef), PAM_SUCCESS, 'undef clears it');
    pam_get_item($h, PAM_XAUTHDATA, $v);
    is($v, undef, '... cleared');
}

# ---- TRex's named items -------------------------------------------------------------------------
{
    my $v = 'x';
    is(pam_get_item($h, 'TREX_SESSION_ID', $v), PAM_SUCCESS, 'get an unset named item');
    is($v, undef, '... undef');
    is(pam_set_item($h, 'TREX_FOO', 'bar'), PAM_SUCCESS, 'set TREX_FOO');
    is(pam_get_item($h, 'TREX_FOO', $v), PAM_SUCCESS, 'get TREX_FOO');
    is($v, 'bar', '... round trip');
    is($h->pam_get_item('TREX_FOO', my $m), PAM_SUCCESS, 'as a method');
    is($m, 'bar', '... round trip');
    is(pam_set_item($h, 'TREX_FOO', undef), PAM_SUCCESS, 'set TREX_FOO undef');
    pam_get_item($h, 'TREX_FOO', $v);
    is($v, undef, '... deleted');
    for my $name ('TREX_', 'TREX_lower', 'trex_foo', 'TREX_A-B', "TREX_A\0B", "TREX_\x{263a}", 'X' x 70) {
        (my $label = $name) =~ s/([^\x20-\x7e])/sprintf '\\x{%x}', ord $1/ge;
        is(pam_set_item($h, $name, 'v'), PAM_BAD_ITEM, "set named item '$label': PAM_BAD_ITEM");
    }
    is(pam_set_item($h, 'TREX_FOO', "a\0b"), PAM_BAD_ITEM, 'a named item value with a NUL');
}

# ---- out-parameters ---------------------------------------------------------------------------
{
    eval { pam_get_item($h, PAM_USER, 'literal') };
    like($@, qr/read-only/, 'a read-only out-parameter croaks');
    my %hash;
    pam_get_item($h, PAM_USER, $hash{user});
    is($hash{user}, 'alice', 'a hash element as out-parameter');
}

# ---- the environment (pam_putenv, pam_getenv, pam_getenvlist) ------------------------------
{
    pam_end($h);
    $start->();
    is_deeply([pam_getenvlist($h)], [], 'the environment starts empty');
    is(pam_putenv($h, 'A=1'), PAM_SUCCESS, 'putenv A=1');
    is(pam_putenv($h, 'B=x=y'), PAM_SUCCESS, 'putenv B=x=y');
    is(pam_putenv($h, 'C='), PAM_SUCCESS, 'putenv C= (empty value)');
    is(pam_getenv($h, 'A'), '1', 'getenv A');
    is(pam_getenv($h, 'B'), 'x=y', 'getenv B keeps the =');
    is(pam_getenv($h, 'C'), '', 'getenv C is empty');
    is(pam_getenv($h, 'D'), undef, 'getenv of an unset name: undef');
    is(pam_getenv($h, 'A=1'), undef, 'getenv "A=1": undef');
    is_deeply([pam_getenvlist($h)], [A => '1', B => 'x=y', C => ''],
              'getenvlist: pairs in insertion order, split at the first =');
    my %env = pam_getenvlist($h);
    is_deeply(\%env, { A => '1', B => 'x=y', C => '' }, '... as a hash, as Authen::PAM\'s');
    is(pam_putenv($h, 'A=2'), PAM_SUCCESS, 'replace A');
    is_deeply([pam_getenvlist($h)], [A => '2', B => 'x=y', C => ''], '... in place');
    is(pam_putenv($h, 'B'), PAM_SUCCESS, 'putenv B deletes');
    is(pam_getenv($h, 'B'), undef, '... gone');
    is(pam_putenv($h, 'B'), PAM_BAD_ITEM, 'deleting an unset name: PAM_BAD_ITEM');
    is(pam_putenv($h, '=x'), PAM_BAD_ITEM, '"=x": PAM_BAD_ITEM');
    is(pam_putenv($h, ''), PAM_BAD_ITEM, '"": PAM_BAD_ITEM');
    is(pam_putenv($h, undef), PAM_PERM_DENIED, 'undef: PAM_PERM_DENIED');
    is(pam_putenv($h, "N=a\0b"), PAM_BAD_ITEM, 'a NUL: PAM_BAD_ITEM');
    is(pam_putenv($h, "N=\x{263a}"), PAM_BAD_ITEM, 'a wide character: PAM_BAD_ITEM');
    is(pam_getenv($h, "A\0B"), undef, 'getenv with a NUL: undef');
    is_deeply([pam_getenvlist($h)], [A => '2', C => ''], 'the refusals changed nothing');
    pam_end($h);
}

done_testing;
