# A handle used in a forked child answers PAM_SYSTEM_ERR; ending it there
# (pam_end or DESTROY) runs the cleanups with PAM_DATA_SILENT, and the
# parent's handle is untouched.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest;
use TRex::PAM qw(:DEFAULT PAM_DATA_SILENT);
use TRexTest::Data;

plan skip_all => 'no fork' unless $^O ne 'MSWin32';

service(data => "auth required perl:TRexTest::Data\naccount required permit\nsession required permit\n");
my $dir = tempdir();
my $conv = sub { my @r; while (@_) { splice @_, 0, 2; push @r, 0, 'x' } (@r, 0) };

# run CODE in a child; its return value (a string) comes back through a file
sub in_child {
    my ($code) = @_;
    my $out = "$dir/child.$$." . int(rand 1e9);
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $r = eval { $code->() } // "died: $@";
        if (open my $fh, '>', $out) { print {$fh} $r; close $fh }
        exit 0;          # Test::More and TRexTest's END blocks leave a child alone
    }
    waitpid $pid, 0;
    is($?, 0, 'the child exited normally');
    return slurp($out);
}

for my $how (qw(pam_end DESTROY)) {
    my $log = "$dir/cleanup-$how";
    local $TRexTest::Data::file = $log;
    pam_start('data', 'alice', $conv, my $h) == PAM_SUCCESS or die;
    is(pam_authenticate($h), PAM_SUCCESS, "$how: a module sets data with a cleanup");

    my $r = in_child(sub {
        my @r = (pam_authenticate($h), pam_acct_mgmt($h), pam_get_item($h, PAM_USER, my $u),
                 pam_set_item($h, PAM_USER, 'x'), pam_putenv($h, 'A=1'), pam_fail_delay($h, 1));
        push @r, pam_getenv($h, 'A') // 'undef';
        if ($how eq 'pam_end') {
            push @r, pam_end($h, PAM_AUTH_ERR), pam_end($h);
        }
        else {
            undef $h;                      # DESTROY
        }
        return join ' ', @r;
    });
    my $sys = PAM_SYSTEM_ERR;
    is($r, $how eq 'pam_end' ? "$sys $sys $sys $sys $sys $sys undef 0 $sys" : "$sys $sys $sys $sys $sys $sys undef",
       "$how: in the child every call answers PAM_SYSTEM_ERR, and the handle ends");
    my $status = ($how eq 'pam_end' ? PAM_AUTH_ERR : 0) | PAM_DATA_SILENT;
    is(slurp($log), "1 $status\n", "$how: the child's cleanup got PAM_DATA_SILENT ($status)");

    is(pam_acct_mgmt($h), PAM_SUCCESS, "$how: the parent's handle still works");
    pam_get_item($h, PAM_USER, my $u);
    is($u, 'alice', "$how: ... and kept its items");
    is(pam_end($h, 0), PAM_SUCCESS, "$how: the parent ends it");
    is(slurp($log), "1 $status\n1 0\n", "$how: ... with its own cleanup, not silent");
}

{
    # a handle started in the child works there
    my $r = in_child(sub {
        pam_start('data', 'bob', $conv, my $h) == PAM_SUCCESS or return 'no start';
        return join ' ', pam_authenticate($h), pam_acct_mgmt($h), pam_end($h);
    });
    is($r, '0 0 0', 'a handle started in the child works there');
}

done_testing;
