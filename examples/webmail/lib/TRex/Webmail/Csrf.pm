package TRex::Webmail::Csrf;
# The web mail's CSRF tokens: HMAC-SHA256 under a site secret kept in a
# file (by default in the state directory), compared in constant time.
use strict;
use warnings;
use feature qw(state);
use Digest::SHA qw(hmac_sha256_hex);
use MIME::Base64 qw(encode_base64url);

# The site secret: 32 random bytes in hex, in $file (0600), made on first
# use. Read once per process.
sub site_secret {
    my ($file) = @_;
    state %secret;
    return $secret{$file} if defined $secret{$file};
    unless (-e $file) {
        require Fcntl;
        my $tmp = "$file.$$";
        sysopen my $fh, $tmp, Fcntl::O_WRONLY() | Fcntl::O_CREAT() | Fcntl::O_EXCL(), 0600
            or die "cannot create $tmp: $!\n";
        print {$fh} unpack('H*', random_bytes(32)), "\n" or die "cannot write $tmp: $!\n";
        close $fh or die "cannot write $tmp: $!\n";
        link $tmp, $file;    # the first process wins; the others read its secret
        unlink $tmp;
    }
    open my $fh, '<', $file or die "cannot read $file: $!\n";
    chomp(my $secret = <$fh> // '');
    die "$file holds no secret\n" unless $secret =~ /\A[0-9a-f]{64}\z/;
    return $secret{$file} = $secret;
}

sub random_bytes {
    my ($n) = @_;
    open my $fh, '<:raw', '/dev/urandom' or die "cannot open /dev/urandom: $!\n";
    read($fh, my $buf, $n) == $n or die "short read from /dev/urandom\n";
    return $buf;
}

sub same_string {    # constant time for strings of one length
    my ($x, $y) = @_;
    return 0 unless defined $x && defined $y && length $x == length $y;
    my $d = 0;
    $d |= ord(substr $x, $_, 1) ^ ord(substr $y, $_, 1) for 0 .. length($x) - 1;
    return $d == 0;
}

# The token of the forms of a session: an HMAC of its session ID.
sub session_token {
    my ($secret, $sid) = @_;
    return hmac_sha256_hex("session\0$sid", $secret);
}

# Before a session exists (login, the forced change after it) the token is
# an HMAC of a random nonce that the browser keeps in a cookie of its own (a
# signed double-submit cookie).
sub new_nonce { encode_base64url(random_bytes(32)) }

sub valid_nonce { defined $_[0] && $_[0] =~ /\A[A-Za-z0-9_-]{43}\z/ }

sub nonce_token {
    my ($secret, $nonce) = @_;
    return hmac_sha256_hex("pre\0$nonce", $secret);
}

1;

__END__

=head1 NAME

TRex::Webmail::Csrf - site secret and CSRF tokens of the web mail example

=head1 DESCRIPTION

C<site_secret($file)> reads (and on first use makes) the secret in
F<$file>: servers that share it accept each other's forms. C<session_token($secret, $sid)> is the token of a
signed-in user's forms; C<nonce_token($secret, $nonce)> that of the forms
shown before a session exists, whose random nonce (C<new_nonce>,
C<valid_nonce>) travels in a cookie. C<same_string> compares a token in
constant time; C<random_bytes> reads F</dev/urandom>.

=cut
