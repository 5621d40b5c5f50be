package TRex::Webmail::Maildir;
# The web mail's inbox: the messages of a Maildir and their header fields.
use strict;
use warnings;

my $MAX_MESSAGES = 200;

# The messages of $root/$user/{new,cur}, newest first, at most 200: a list of
# {file, new, mtime, subject, from, date}. Nothing (not a list) when the user
# has no Maildir there.
sub messages {
    my ($root, $user) = @_;
    return unless defined $root && length $root && $user =~ /\A[A-Za-z0-9_][A-Za-z0-9._@+-]*\z/;
    my $dir = "$root/$user";
    return unless -d "$dir/cur" || -d "$dir/new";
    my @msgs;
    for my $sub (qw(new cur)) {
        opendir my $dh, "$dir/$sub" or next;
        for my $name (readdir $dh) {
            next if $name =~ /\A\./;
            my $file = "$dir/$sub/$name";
            next unless -f $file;
            push @msgs, { file => $file, new => $sub eq 'new', mtime => (stat _)[9] };
        }
    }
    @msgs = sort { $b->{mtime} <=> $a->{mtime} || $a->{file} cmp $b->{file} } @msgs;
    splice @msgs, $MAX_MESSAGES if @msgs > $MAX_MESSAGES;
    for my $m (@msgs) {
        my $h = read_headers($m->{file});
        $m->{$_} = $h->{$_} // '' for qw(subject from date);
        $m->{subject} = '(no subject)' unless length $m->{subject};
    }
    return \@msgs;
}

# The header fields we show, decoded (RFC 2047) and encoded as UTF-8 bytes.
sub read_headers {
    my ($file) = @_;
    open my $fh, '<:raw', $file or return {};
    my ($head, %h, $last) = ('');
    while (defined(my $line = <$fh>)) {
        last if $line =~ /\A\r?\n\z/ || length $head > 65536;
        $head .= $line;
    }
    for my $line (split /\r?\n/, $head) {
        if ($line =~ /\A[ \t]/ && defined $last) { $h{$last} .= $line; next }
        my ($name, $value) = $line =~ /\A([!-9;-~]+):[ \t]*(.*)\z/ or next;
        $last = lc $name;
        $h{$last} = $value unless exists $h{$last};
    }
    require Encode;    # only here: the other pages do without it
    my %out;
    for my $k (qw(subject from date)) {
        next unless defined $h{$k};
        (my $v = $h{$k}) =~ s/\r?\n[ \t]+/ /g;
        my $text = eval { Encode::decode('MIME-Header', $v) } // $v;
        $text =~ s/[\x00-\x1f\x7f]+/ /g;
        $out{$k} = Encode::is_utf8($text) ? Encode::encode('UTF-8', $text) : $text;
    }
    return \%out;
}

1;

__END__

=head1 NAME

TRex::Webmail::Maildir - the inbox of the web mail example

=head1 DESCRIPTION

C<messages($root, $user)> lists the messages of the Maildir
F<$root/$user> (F<new/> and F<cur/>), newest first, with their Subject, From
and Date decoded from RFC 2047 into UTF-8 bytes (C<read_headers($file)>).
It returns nothing when there is no such Maildir, and an empty list when it
holds no message.

=cut
