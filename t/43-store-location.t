#!/usr/bin/perl
# Where the store is: store= (any location) or db= (a file) on a module
# line, else $TREX_PAM_STORE, else $TREX_PAM_DB; sqlite:PATH; a location
# named twice, a server's location in db= and a scheme no backend takes are
# refused with a log line that never holds the location's password; the
# admin class and command take the same locations.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest qw(tempdir confdir service capture_stderr);
use TRex::PAM;
use TRex::PAM::DB;

my $dir = tempdir();
my ($f1, $f2) = ("$dir/one.db", "$dir/two.db");
delete @ENV{qw(TREX_PAM_STORE TREX_PAM_DB)};
confdir();

my @cmd = ($^X, '-Mblib', 'bin/trex-pam');
sub trex { my $out = qx{@{[ join ' ', map { "'$_'" } @cmd, @_ ]} 2>&1}; return ($? >> 8, $out) }

# two stores, one user each with a password of its own
my ($rc, $out) = trex('--store', "sqlite:$f1", 'init');
is($rc, 0, 'trex-pam --store sqlite:PATH init');
like($out, qr{\Q$f1\E: user database created}, '... names the file, not the scheme');
($rc, $out) = trex('init', '--db', $f2);
is($rc, 0, 'trex-pam init --db FILE');
{
    my $db = TRex::PAM::DB->open(store => "sqlite:$f1");
    $db->user_add('alice', password => 'pw-in-one');
    is($db->where, $f1, 'DB->open(store => sqlite:PATH): where is the file');
    is($db->path, "sqlite:$f1", '... path is the location as given');
}
TRex::PAM::DB->open(path => $f2)->user_add('alice', password => 'pw-in-two');
ok(!eval { TRex::PAM::DB->open(path => $f1, store => $f2); 1 }, 'DB->open with path and store croaks');
like($@, qr/not both/, '... saying so');
is(TRex::PAM::DB::file("sqlite:$f1"), $f1, 'DB::file of sqlite:PATH is the file');
is(TRex::PAM::DB::file('postgresql://h/d'), undef, 'DB::file of a server location is undef');
($rc, $out) = trex('--store', "sqlite:$f1", 'list');
like($out, qr/^alice\b/m, 'trex-pam --store sqlite:PATH list');

sub login {
    my ($service, $password) = @_;
    my $h = TRex::PAM->new($service, 'alice',
                           sub { my @r; while (@_) { splice @_, 0, 2; push @r, 0, $password } (@r, 0) });
    ref $h or return "start: $h";
    $h->pam_set_item(PAM_FAIL_DELAY, sub { });
    return $h->pam_authenticate;
}
sub stack { my ($args) = @_; "auth required faillock preauth $args\nauth required userdb $args\n"
                             . "account required userdb $args\n" }

service('byarg', stack("store=sqlite:$f1"));
is(login('byarg', 'pw-in-one'), PAM_SUCCESS, 'store=sqlite:PATH on the lines');
service('bare', stack("store=$f2"));
is(login('bare', 'pw-in-two'), PAM_SUCCESS, 'store=PATH');
service('dbarg', stack("db=sqlite:$f1"));
is(login('dbarg', 'pw-in-one'), PAM_SUCCESS, 'db=sqlite:PATH');

service('env', stack(''));
{
    local $ENV{TREX_PAM_STORE} = "sqlite:$f1";
    local $ENV{TREX_PAM_DB} = $f2;
    is(login('env', 'pw-in-one'), PAM_SUCCESS, '$TREX_PAM_STORE names the store');
    is(login('env', 'pw-in-two'), PAM_AUTH_ERR, '... before $TREX_PAM_DB');
    is(login('byarg', 'pw-in-one'), PAM_SUCCESS, '... and a line\'s store= before both');
}
{
    local $ENV{TREX_PAM_DB} = $f2;
    is(login('env', 'pw-in-two'), PAM_SUCCESS, '$TREX_PAM_DB without $TREX_PAM_STORE');
}

service('twice', stack("store=$f1 db=$f1"));
my ($log, $r) = capture_stderr { login('twice', 'pw-in-one') };
isnt($r, PAM_SUCCESS, 'store= and db= on one line: refused');
like($log, qr/both store= and db= name the store/, '... with a log line saying so');

service('serverdb', stack('db=postgresql://trex:Pa55-SeCrEt@127.0.0.1:1/x'));
($log, $r) = capture_stderr { login('serverdb', 'pw-in-one') };
isnt($r, PAM_SUCCESS, 'a server location in db=: refused');
like($log, qr/db= names a file.*goes in store=/, '... pointing to store=');
unlike($log, qr/Pa55-SeCrEt/, '... without the password');

service('unknown', stack('store=frob://trex:Pa55-SeCrEt@127.0.0.1/x'));
($log, $r) = capture_stderr { login('unknown', 'pw-in-one') };
is($r, PAM_AUTHINFO_UNAVAIL, 'a scheme no backend takes: AUTHINFO_UNAVAIL');
like($log, qr/frob: no store backend/, '... the log names the scheme');
unlike($log, qr/Pa55-SeCrEt/, '... never the password');
ok(!-e 'frob:' && !-e "frob:", '... and no file is made of it');
($rc, $out) = trex('--store', 'frob://trex:Pa55-SeCrEt@h/x', 'list');
isnt($rc, 0, 'trex-pam --store with an unknown scheme fails');
like($out, qr/frob: no store backend/, '... saying why');
unlike($out, qr/Pa55-SeCrEt/, '... without the password');

# the store configuration file beside the configuration directory
{
    my $site = "$dir/site";
    mkdir $site or die;
    mkdir "$site/pam.d" or die;
    local $ENV{TREX_PAM_CONFDIR} = "$site/pam.d";
    open my $fh, '>', "$site/pam.d/conf" or die;
    print {$fh} stack('');
    close $fh;
    SKIP: {
        skip 'the default store exists on this machine', 1 if -e '/var/lib/trex-pam/trex-pam.db';
        is(login('conf', 'pw-in-one'), PAM_AUTHINFO_UNAVAIL, 'no file, no store named: the default (absent here)');
    }
    open $fh, '>', "$site/trex-pam.conf" or die;
    print {$fh} "# where the users are\nstore = sqlite:$f2\n";
    close $fh;
    chmod 0600, "$site/trex-pam.conf";
    select(undef, undef, undef, 0.01);          # past the re-check interval
    is(login('conf', 'pw-in-two'), PAM_SUCCESS, 'trex-pam.conf beside the directory names the store');
    ($rc, $out) = trex('show', 'alice');
    is($rc, 0, 'trex-pam uses it too (the directory of $TREX_PAM_CONFDIR)');
    {
        local $ENV{TREX_PAM_STORE} = "sqlite:$f1";
        is(login('conf', 'pw-in-one'), PAM_SUCCESS, '$TREX_PAM_STORE before the file');
    }
    chmod 0620, "$site/trex-pam.conf";
    select(undef, undef, undef, 0.01);
    ($log, $r) = capture_stderr { login('conf', 'pw-in-two') };
    is($r, PAM_AUTHINFO_UNAVAIL, 'a group-writable trex-pam.conf: refused, the login fails');
    like($log, qr/trex-pam\.conf: writable by its group \(mode 0620\): run chmod g-w \S+trex-pam\.conf/,
         '... and the log says what to change');
    ($rc, $out) = trex('list');
    isnt($rc, 0, 'trex-pam refuses it too');
    like($out, qr/writable by its group/, '... saying why');
}

done_testing;
