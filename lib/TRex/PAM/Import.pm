package TRex::PAM::Import;

# Parsers for the password files sites already have: shadow(5), Apache's
# htpasswd, Dovecot's passwd-file. Each line becomes a record for
# TRex::PAM::DB->user_add / user_set, or a reason why it cannot be imported.
# No hash is ever part of a reason.
use strict;
use warnings;
use TRex::PAM::DB ();

our $VERSION = $TRex::PAM::VERSION;

our @FORMATS = qw(shadow htpasswd dovecot);

# formats(): the names of the formats.
sub formats { return @FORMATS }

my %parser = (shadow => \&_shadow, htpasswd => \&_htpasswd, dovecot => \&_dovecot);

# Dovecot schemes whose value is a crypt(3) string.
my %crypt_scheme = map { $_ => 1 } qw(CRYPT SHA512-CRYPT SHA256-CRYPT BLF-CRYPT MD5-CRYPT DES-CRYPT);

# Why a hash is not kept (the hash itself is never part of it), or undef
# when libxcrypt can verify it.
sub hash_problem {
    my ($hash) = @_;
    return 'no password (empty field)' if !defined $hash || $hash eq '';
    return undef if TRex::PAM::DB::hash_usable($hash);
    return 'locked password ("!"): not imported' if $hash =~ /^!/;
    return 'no valid password ("*"): not imported' if $hash =~ /^\*/;
    return 'Apache MD5 ($apr1$) is a hash libxcrypt cannot verify' if $hash =~ /^\$apr1\$/;
    return "scheme $1 is not a crypt(3) hash libxcrypt can verify" if $hash =~ /^(\{[^}]*\})/;
    return 'not a hash libxcrypt can verify (plain text, or a method this build lacks)';
}

sub _count {
    my ($v, $what) = @_;
    return (undef, undef) if $v eq '';
    return (undef, "$what is not a number of days") unless $v =~ /^[0-9]{1,9}$/;
    return ($v + 0, undef);
}

# shadow(5): name:hash:lastchg:min:max:warn:inactive:expire:reserved (days
# since 1970-01-01). lastchg 0 forces a change at the next login; an empty
# max is no limit; expire 0 is already expired (as pam_unix reads it). The
# inactive period has no TRex::PAM counterpart and is not kept.
sub _shadow {
    my ($line) = @_;
    my @f = split /:/, $line, -1;
    return (undef, 'not a shadow line (want name:hash:lastchg:min:max:warn:inactive:expire)')
        if @f < 2 || @f > 9;
    push @f, '' while @f < 9;
    my ($name, $hash, $last, $min, $max, $warn, undef, $expire) = @f;
    my %r = (name => $name, hash => $hash);
    my ($v, $err);
    ($v, $err) = _count($last, 'the last change (field 3)');
    return (undef, $err) if $err;
    if (defined $v) {
        if ($v == 0) { $r{force_change} = 1 }
        else         { $r{changed} = $v * 86400 }
    }
    ($v, $err) = _count($min, 'the minimum age (field 4)');
    return (undef, $err) if $err;
    $r{min_days} = $v // 0;
    ($v, $err) = _count($max, 'the maximum age (field 5)');
    return (undef, $err) if $err;
    $r{max_days} = $v // -1;
    ($v, $err) = _count($warn, 'the warning period (field 6)');
    return (undef, $err) if $err;
    $r{warn_days} = $v // 0;
    ($v, $err) = _count($expire, 'the expiry date (field 8)');
    return (undef, $err) if $err;
    $r{expires} = $v ? $v * 86400 : 1 if defined $v;     # 0: expired long ago
    return (\%r, undef);
}

# htpasswd: name:hash (what follows another ':' is ignored, as Apache does).
sub _htpasswd {
    my ($line) = @_;
    my ($name, $hash) = split /:/, $line, 3;
    return (undef, 'not an htpasswd line (want name:hash)') unless defined $hash;
    return ({ name => $name, hash => $hash }, undef);
}

# Dovecot passwd-file: name:password:uid:gid:gecos:home:shell:extra, the
# password "{SCHEME}value" or a bare crypt(3) string (the CRYPT default).
# Only the name and the password are imported.
sub _dovecot {
    my ($line) = @_;
    my ($name, $pw) = split /:/, $line, 3;
    return (undef, 'not a passwd-file line (want name:password[:uid:gid:gecos:home:shell:extra])')
        unless defined $pw;
    if ($pw =~ /^\{([^}]*)\}(.*)\z/s) {
        my ($scheme, $rest) = (uc $1, $2);
        return (undef, "scheme {$1} is not a crypt(3) hash libxcrypt can verify")
            unless $crypt_scheme{$scheme};
        $pw = $rest;
    }
    return ({ name => $name, hash => $pw }, undef);
}

# guess_format($line): the format a first entry looks like.
sub guess_format {
    my ($line) = @_;
    my @f = split /:/, $line, -1;
    return 'dovecot' if @f >= 2 && $f[1] =~ /^\{/;
    return 'htpasswd' if @f == 2;
    return 'shadow' if (@f == 9 || @f == 8) && !grep { !/^[0-9]*\z/ } @f[2 .. 7];
    return 'dovecot';
}

# parse_line($format, $line): () for a blank or comment line; ($record) for
# an entry to import; (undef, $reason) otherwise. The record has name and
# hash, and for shadow the ageing fields (changed, force_change, min_days,
# max_days, warn_days, expires) as TRex::PAM::DB takes them.
sub parse_line {
    my ($format, $line) = @_;
    my $p = $parser{$format} or die "TRex::PAM::Import::parse_line: unknown format \"$format\"\n";
    $line =~ s/\r?\n\z//;
    return () if $line =~ /^\s*(?:#|\z)/;
    my ($r, $err) = $p->($line);
    return (undef, $err) unless $r;
    return (undef, 'empty user name') if $r->{name} eq '';
    my $why = hash_problem($r->{hash});
    return (undef, $why) if defined $why;
    return ($r);
}

# read_file($format, $fh): the entries of a file, as hash refs
# { line => N, record => {...} } or { line => N, error => reason }; blank
# and comment lines are left out. $format undef: guessed from the first entry.
# Returns ($format, @entries).
sub read_file {
    my ($format, $fh) = @_;
    my @out;
    while (defined(my $line = <$fh>)) {
        if (!defined $format) {
            (my $l = $line) =~ s/\r?\n\z//;
            next if $l =~ /^\s*(?:#|\z)/;
            $format = guess_format($l);
        }
        my ($r, $err) = parse_line($format, $line);
        next unless $r || $err;
        push @out, $r ? { line => $., record => $r } : { line => $., error => $err };
        TRex::PAM::DB::wipe($line);
    }
    return ($format // 'shadow', @out);
}

1;
__END__

=encoding utf8

=head1 NAME

TRex::PAM::Import - read shadow, htpasswd and Dovecot passwd-files for TRex::PAM's user database

=head1 SYNOPSIS

  use TRex::PAM::Import;

  open my $fh, '<:raw', '/etc/shadow' or die $!;
  my ($format, @entries) = TRex::PAM::Import::read_file('shadow', $fh);
  for my $e (@entries) {
      if ($e->{error}) { warn "/etc/shadow:$e->{line}: $e->{error}\n"; next }
      my $r = $e->{record};
      $db->user_add(delete $r->{name}, %$r);
  }

=head1 DESCRIPTION

The parsers behind C<trex-pam import>. Every hash that libxcrypt can verify
is kept byte for byte (see L<TRex::PAM::DB/hash_usable>); any other entry
comes back with the reason, and never with its hash. Blank lines and lines
starting with C<#> are skipped.

=head2 Formats

=over

=item C<shadow>

shadow(5): C<name:hash:lastchg:min:max:warn:inactive:expire[:reserved]>,
days counted from 1970-01-01 (UTC). C<lastchg> becomes C<changed> (0 forces
a change at the next login), C<min>, C<max> (empty: no limit), C<warn> the
ageing fields, C<expire> the account expiry (0: already expired, as pam_unix
reads it). C<inactive> has no counterpart and is not kept. Locked (C<!...>)
and login-less (C<*>) entries and empty passwords are reported.

=item C<htpasswd>

Apache's C<name:hash>: bcrypt (C<$2y$>) and crypt(3) hashes are kept;
Apache's own MD5 (C<$apr1$>), C<{SHA}> and plain text cannot be verified by
libxcrypt and are reported.

=item C<dovecot>

Dovecot's passwd-file: C<name:password:uid:gid:gecos:home:shell:extra>,
where the password is C<{SCHEME}value> or a bare crypt(3) string. The
crypt schemes C<{CRYPT}>, C<{SHA512-CRYPT}>, C<{SHA256-CRYPT}>,
C<{BLF-CRYPT}>, C<{MD5-CRYPT}>, C<{DES-CRYPT}> lose their prefix and keep
their hash; other schemes (C<{PLAIN}>, C<{SSHA}>, C<{ARGON2ID}>, ...) are
reported. Only the name and the password are imported.

=back

=head1 FUNCTIONS

=head2 read_file

  my ($format, @entries) = TRex::PAM::Import::read_file($format, $fh);

Reads every line of C<$fh> (open it with C<:raw>). C<$format> is one of
C<@TRex::PAM::Import::FORMATS>, or undef to guess it from the first entry
(L</guess_format>). Each entry is C<< { line => $n, record => \%r } >> or
C<< { line => $n, error => $reason } >>.

=head2 formats

  my @names = TRex::PAM::Import::formats();     # shadow htpasswd dovecot

The formats the parsers know (also in C<@TRex::PAM::Import::FORMATS>).

=head2 parse_line

  my ($record, $reason) = TRex::PAM::Import::parse_line($format, $line);

One line: an empty list for a blank or comment line, C<($record)> to import
(C<name>, C<hash>, and for shadow C<changed>, C<force_change>, C<min_days>,
C<max_days>, C<warn_days>, C<expires> as L<TRex::PAM::DB/user_add> takes
them), or C<(undef, $reason)>.

=head2 guess_format

  my $format = TRex::PAM::Import::guess_format($line);

C<dovecot> for a C<{SCHEME}> password, C<htpasswd> for two fields,
C<shadow> for eight or nine fields whose third to eighth are empty or
numbers, else C<dovecot>.

=head2 hash_problem

  my $why = TRex::PAM::Import::hash_problem($hash);

Undef if libxcrypt can verify C<$hash>, else why the entry is not imported
(the hash itself is not part of the text).

=head1 SEE ALSO

L<trex-pam(1)|trex-pam>, L<TRex::PAM::DB>, shadow(5), htpasswd(1),
L<https://doc.dovecot.org/configuration_manual/authentication/passwd_file/>.

=head1 AUTHOR

The TRex::PAM developers.

=head1 LICENSE AND COPYRIGHT

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
