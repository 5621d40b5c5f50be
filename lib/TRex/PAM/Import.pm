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

# The parsers are C (c/admin/import.c, through the XS functions _line,
# _guess and hash_problem): the same code reads a line for every caller.
my %index = (shadow => 0, htpasswd => 1, dovecot => 2);

# hash_problem($hash): why a hash is not kept (the hash itself is never part
# of it), or undef when libxcrypt can verify it. (XS)

# guess_format($line): the format a first entry looks like.
sub guess_format {
    my ($line) = @_;
    return $FORMATS[_guess($line)];
}

# parse_line($format, $line): () for a blank or comment line; ($record) for
# an entry to import; (undef, $reason) otherwise. The record has name and
# hash, and for shadow the ageing fields (changed, force_change, min_days,
# max_days, warn_days, expires) as TRex::PAM::DB takes them.
sub parse_line {
    my ($format, $line) = @_;
    my $i = defined $format ? $index{$format} : undef;
    die "TRex::PAM::Import::parse_line: unknown format \"$format\"\n" unless defined $i;
    return _line($i, $line);
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
