# The two complete examples of lib/TRex/PAM/Module.pod run and do what their
# comments promise: the Perl module (perl:My::PinFile) and the C module
# (dirpass.so, built here with the system's cc against c/include).
#
# How the examples are found: in Module.pod, a line
#     =for example KIND FILE
# (KIND is perl-module or c-module) is followed by the example as verbatim
# text. Everything after the marker up to the next line that starts in
# column 0 with anything but whitespace (a POD command or an ordinary
# paragraph) is the example; blank lines inside it belong to it. The common
# indentation is removed and the text is written to FILE under a temporary
# directory. Renderers ignore "=for example", so readers see only the code.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TRexTest;
use TRex::PAM;

my $pod = 'lib/TRex/PAM/Module.pod';
my %example = examples($pod);
is_deeply([sort keys %example], ['c-module', 'perl-module'], "$pod has one example of each kind");

my $tmp = tempdir();
my @seen;

# pam_start + pam_authenticate for $user with a scripted conversation.
sub login {
    my ($service, $user, @answers) = @_;
    @seen = ();
    my $rc = pam_start($service, $user, scripted_conv(\@seen, @answers), my $pamh);
    is($rc, PAM_SUCCESS, "pam_start $service") or return $rc;
    $rc = pam_authenticate($pamh, 0);
    pam_end($pamh, $rc);
    return $rc;
}

# ---- the Perl module -------------------------------------------------------------------
SKIP: {
    my $ex = $example{'perl-module'} or skip('no Perl example', 1);
    my $file = write_example($ex);
    ok(-s $file, "the Perl example written to $ex->{file}");
    unshift @INC, $tmp;                       # -I of the temporary directory

    my $hash = crypt('1234', '$6$Q8f0zEWa$');
    skip('crypt(3) has no SHA-512 here', 1) unless defined $hash && $hash =~ /^\$6\$/;
    open my $fh, '>', "$tmp/pins" or die "$tmp/pins: $!";
    print {$fh} "alice:$hash\n";
    close $fh or die "$tmp/pins: $!";
    service(pinfile => "auth required perl:My::PinFile file=$tmp/pins\n");

    is(login('pinfile', 'alice', '1234'), PAM_SUCCESS, 'perl example: the right PIN gives PAM_SUCCESS');
    is_deeply(\@seen, [[PAM_PROMPT_ECHO_OFF, 'PIN: ']], '... after one PIN: prompt, echo off');
    is(login('pinfile', 'alice', '0000'), PAM_AUTH_ERR, 'perl example: a wrong PIN gives PAM_AUTH_ERR');
    is_deeply(\@seen, [[PAM_PROMPT_ECHO_OFF, 'PIN: '], [PAM_ERROR_MSG, 'Wrong PIN.']], '... and "Wrong PIN."');
    is(login('pinfile', 'carol', '1234'), PAM_USER_UNKNOWN, 'perl example: a user not in the file: PAM_USER_UNKNOWN');
    is_deeply(\@seen, [], '... without asking for a PIN');

    service(pinfile_nofile => "auth required perl:My::PinFile file=$tmp/no-such-file\n");
    my ($log, $rc) = capture_stderr { login('pinfile_nofile', 'alice', '1234') };
    is($rc, PAM_AUTHINFO_UNAVAIL, 'perl example: no file gives PAM_AUTHINFO_UNAVAIL');
    like($log, qr{My::PinFile: cannot read \Q$tmp\E/no-such-file}, '... logged');
}

# ---- the C module --------------------------------------------------------------------------
SKIP: {
    my $ex = $example{'c-module'} or skip('no C example', 1);
    my $src = write_example($ex);
    my $cc = $ENV{CC} // 'cc';
    my ($found) = grep { -x "$_/$cc" } split /:/, $ENV{PATH} // '';
    skip("no $cc to build the C example", 1) unless $found || $cc =~ m{/} && -x $cc;

    (my $so = $src) =~ s/\.c$/.so/;
    # The command the document gives (the headers of the distribution).
    my @cmd = ($cc, '-shared', '-fPIC', '-Ic/include', $src, '-o', $so);
    my $out = `@cmd 2>&1`;
    ok($? == 0 && -f $so, "the C example builds: @cmd") or diag($out);
    skip('the C example did not build', 1) unless -f $so;

    mkdir "$tmp/secrets" or die "$tmp/secrets: $!";
    open my $fh, '>', "$tmp/secrets/alice" or die "$tmp/secrets/alice: $!";
    print {$fh} "s3cret\n";
    close $fh or die "$tmp/secrets/alice: $!";
    service(dirpass => "auth required $so dir=$tmp/secrets\n");

    is(login('dirpass', 'alice', 's3cret'), PAM_SUCCESS, 'C example: the right password gives PAM_SUCCESS');
    is_deeply(\@seen, [[PAM_PROMPT_ECHO_OFF, 'Password: ']], '... after one Password: prompt, echo off');
    is(login('dirpass', 'alice', 's3cre'), PAM_AUTH_ERR, 'C example: a wrong password gives PAM_AUTH_ERR');
    is(login('dirpass', 'bob', 's3cret'), PAM_USER_UNKNOWN, 'C example: a user without a file: PAM_USER_UNKNOWN');
    is_deeply(\@seen, [], '... without asking for a password');
    is(login('dirpass', '../secrets/alice', 's3cret'), PAM_USER_UNKNOWN, 'C example: a user name with a / is nobody');

    # The instance lives as long as the configuration: two failures on one
    # handle are counted 1 and 2.
    my ($log, @rc) = capture_stderr {
        pam_start('dirpass', 'alice', scripted_conv(\@seen, 'wrong-pw-1', 'wrong-pw-2'), my $pamh);
        my @rc = (pam_authenticate($pamh), pam_authenticate($pamh));
        pam_end($pamh);
        @rc;
    };
    is_deeply(\@rc, [PAM_AUTH_ERR, PAM_AUTH_ERR], 'C example: two wrong passwords on one handle');
    my @n = $log =~ /dirpass: wrong password for alice \(failure (\d+)\)/g;
    is(scalar @n, 2, '... both logged') or diag($log);
    is($n[1], ($n[0] // 0) + 1, '... counted by the instance, which lives as long as the configuration');
    unlike($log, qr/wrong-pw/, '... and the password is never logged');
}

done_testing;

# ---- helpers -------------------------------------------------------------------------------

sub examples {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    my @lines = <$fh>;
    my %ex;
    for (my $i = 0; $i < @lines; $i++) {
        my ($kind, $name) = $lines[$i] =~ /^=for example (\S+) (\S+)\s*$/ or next;
        my @code;
        for ($i++; $i < @lines && $lines[$i] !~ /^\S/; $i++) {
            push @code, $lines[$i];
        }
        $i--;
        shift @code while @code && $code[0] =~ /^\s*$/;
        pop @code while @code && $code[-1] =~ /^\s*$/;
        my ($indent) = sort { $a <=> $b } map { /^( *)\S/ ? length $1 : () } @code;
        s/^ {$indent}// for @code;
        s/^\s+$/\n/ for @code;
        die "$file: two examples of kind $kind\n" if $ex{$kind};
        $ex{$kind} = { file => $name, code => join '', @code };
    }
    return %ex;
}

sub write_example {
    my ($ex) = @_;
    my $path = "$tmp/$ex->{file}";
    (my $dir = $path) =~ s{/[^/]+$}{};
    my @parts = split m{/}, substr($dir, length $tmp);
    my $d = $tmp;
    for (grep { length } @parts) { $d .= "/$_"; -d $d or mkdir $d or die "$d: $!" }
    open my $fh, '>', $path or die "$path: $!";
    print {$fh} $ex->{code};
    close $fh or die "$path: $!";
    return $path;
}
