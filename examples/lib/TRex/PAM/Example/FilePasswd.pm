package TRex::PAM::Example::FilePasswd;
# A PAM module written in Perl, for the examples: users and crypt(3) hashes
# in a text file ("user:hash:display name" per line). A pam.d line names it
#   auth      required  perl:TRex::PAM::Example::FilePasswd  db=FILE
#   password  requisite perl:TRex::PAM::Example::FilePasswd  db=FILE minlen=8
# Each function receives the module handle, the flags and the line's
# arguments, and returns a PAM status.
use strict;
use warnings;
use TRex::PAM qw(:constants PAM_AUTHTOK PAM_OLDAUTHTOK PAM_PRELIM_CHECK);

sub _args { my %a = map { /^([^=]+)=(.*)$/s ? ($1, $2) : ($_, 1) } @_; \%a }

sub _read_db {
    my ($file) = @_;
    open my $fh, '<', $file or return;
    my %db;
    while (my $line = <$fh>) {
        chomp $line;
        next if $line =~ /^\s*(#|$)/;
        my ($user, $hash, $name) = split /:/, $line, 3;
        $db{$user} = { hash => $hash, name => $name // '' };
    }
    return \%db;
}

sub _write_db {
    my ($file, $db) = @_;
    my $tmp = "$file.tmp.$$";
    open my $fh, '>', $tmp or return;
    print {$fh} "$_:$db->{$_}{hash}:$db->{$_}{name}\n" for sort keys %$db;
    close $fh or return;
    return rename $tmp, $file;
}

sub _hash {
    my ($password) = @_;
    open my $rnd, '<:raw', '/dev/urandom' or return;
    read($rnd, my $bytes, 12) == 12 or return;
    my @c = ('.', '/', 0 .. 9, 'A' .. 'Z', 'a' .. 'z');
    my $salt = join '', map { $c[ord($_) % 64] } split //, $bytes;
    return crypt($password, "\$6\$$salt\$");
}

sub _verify {
    my ($password, $hash) = @_;
    my $got = crypt($password, $hash) // return 0;
    return 0 if length $got != length $hash;
    my $diff = 0;
    $diff |= ord(substr $got, $_, 1) ^ ord(substr $hash, $_, 1) for 0 .. length($hash) - 1;
    return $diff == 0;
}

sub authenticate {
    my ($pamh, $flags, @args) = @_;
    my $a = _args(@args);
    my $db = _read_db($a->{db} // '') or return PAM_AUTHINFO_UNAVAIL;
    my ($rc, $user) = $pamh->get_user;
    return $rc if $rc != PAM_SUCCESS;
    ($rc, my $password) = $pamh->get_authtok(PAM_AUTHTOK);
    return $rc if $rc != PAM_SUCCESS;
    my $entry = $db->{$user};
    return PAM_USER_UNKNOWN unless $entry;
    return _verify($password, $entry->{hash}) ? PAM_SUCCESS : PAM_AUTH_ERR;
}

sub setcred {
    my ($pamh, $flags, @args) = @_;
    my $db = _read_db(_args(@args)->{db} // '') or return PAM_CRED_UNAVAIL;
    my ($rc, $user) = $pamh->get_user;
    return PAM_CRED_UNAVAIL if $rc != PAM_SUCCESS || !$db->{$user};
    $pamh->putenv("DISPLAY_NAME=$db->{$user}{name}") if length $db->{$user}{name};
    return PAM_SUCCESS;
}

sub chauthtok {
    my ($pamh, $flags, @args) = @_;
    my $a = _args(@args);
    my $db = _read_db($a->{db} // '') or return PAM_AUTHINFO_UNAVAIL;
    my ($rc, $user) = $pamh->get_user;
    return $rc if $rc != PAM_SUCCESS;
    my $entry = $db->{$user} or return PAM_USER_UNKNOWN;
    if ($flags & PAM_PRELIM_CHECK) {      # pass 1: the current password
        ($rc, my $old) = $pamh->get_authtok(PAM_OLDAUTHTOK);
        return PAM_AUTHTOK_RECOVERY_ERR if $rc != PAM_SUCCESS;
        return _verify($old, $entry->{hash}) ? PAM_SUCCESS : PAM_AUTHTOK_RECOVERY_ERR;
    }
    ($rc, my $new) = $pamh->get_authtok(PAM_AUTHTOK);   # pass 2: asked twice
    return $rc if $rc != PAM_SUCCESS;
    if (length $new < ($a->{minlen} // 8)) {
        $pamh->error("The password is shorter than " . ($a->{minlen} // 8) . " characters.");
        return PAM_AUTHTOK_ERR;
    }
    $entry->{hash} = _hash($new) or return PAM_AUTHTOK_ERR;
    return _write_db($a->{db}, $db) ? PAM_SUCCESS : PAM_AUTHTOK_ERR;
}

1;
