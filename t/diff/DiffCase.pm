package DiffCase;

# The differential test harness: reads the case corpus (t/diff/cases/*.case,
# format in t/diff/README), writes each case's pam.d files into a temporary
# confdir, runs its script through the oracle program (t/diff/oracle.c built
# against Linux-PAM or against TRex's C core) or through TRex::PAM's Perl API,
# and compares the event transcripts.

use strict;
use warnings;
use Carp qw(croak);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec;
use POSIX ();

our $DIR = File::Spec->rel2abs(dirname(__FILE__));
our $TIMEOUT = 10;   # seconds per case and side; a hang is reported, not waited for

our @CODE_NAMES = qw(
    SUCCESS OPEN_ERR SYMBOL_ERR SERVICE_ERR SYSTEM_ERR BUF_ERR PERM_DENIED
    AUTH_ERR CRED_INSUFFICIENT AUTHINFO_UNAVAIL USER_UNKNOWN MAXTRIES
    NEW_AUTHTOK_REQD ACCT_EXPIRED SESSION_ERR CRED_UNAVAIL CRED_EXPIRED
    CRED_ERR NO_MODULE_DATA CONV_ERR AUTHTOK_ERR AUTHTOK_RECOVERY_ERR
    AUTHTOK_LOCK_BUSY AUTHTOK_DISABLE_AGING TRY_AGAIN IGNORE ABORT
    AUTHTOK_EXPIRED MODULE_UNKNOWN BAD_ITEM CONV_AGAIN INCOMPLETE
);
our %CODE = map { $CODE_NAMES[$_] => $_ } 0 .. $#CODE_NAMES;

our @ITEM_NAMES = (undef, qw(SERVICE USER TTY RHOST CONV AUTHTOK OLDAUTHTOK
    RUSER USER_PROMPT FAIL_DELAY XDISPLAY XAUTHDATA AUTHTOK_TYPE));
our %ITEM = map { $ITEM_NAMES[$_] => $_ } 1 .. $#ITEM_NAMES;

our %FLAG = (
    SILENT => 0x8000, DISALLOW_NULL_AUTHTOK => 0x0001, ESTABLISH_CRED => 0x0002,
    DELETE_CRED => 0x0004, REINITIALIZE_CRED => 0x0008, REFRESH_CRED => 0x0010,
    CHANGE_EXPIRED_AUTHTOK => 0x0020, PRELIM_CHECK => 0x4000,
    UPDATE_AUTHTOK => 0x2000,
);

our %STYLE_NAME = (1 => 'ECHO_OFF', 2 => 'ECHO_ON', 3 => 'ERROR_MSG',
                   4 => 'TEXT_INFO', 5 => 'RADIO', 7 => 'BINARY');

my @CALLS = qw(authenticate setcred acct_mgmt open_session close_session chauthtok);
my %IS_CALL = map { $_ => 1 } @CALLS;

# ---- the corpus -----------------------------------------------------------

sub case_files {
    my ($class, @only) = @_;
    return @only if @only;
    return sort glob("$DIR/cases/*.case");
}

# Parse one .case file: { path, preamble => [lines], cases => [case...] }.
# A case: { name, file, line, header => [lines], doc, see, want => [...],
#           differs, oracle_skip, files => [[name, text]...], script => text,
#           oracle => [lines] or undef, trex => [lines] or undef }
sub parse_file {
    my ($class, $path) = @_;
    open my $fh, '<', $path or croak "$path: $!";
    my @lines = <$fh>;
    close $fh;
    chomp @lines;
    my $doc = { path => $path, preamble => [], cases => [] };
    my ($case, $section, %seen);
    my $n = 0;
    my $close = sub {
        return unless $case && $section;
        my $body = $section->{lines};
        pop @$body while @$body && $body->[-1] =~ /^\s*$/;
        my $kind = $section->{kind};
        if ($kind eq 'file') {
            my $text = '';
            for my $l (@$body) {
                my $noeol = $l =~ s/\@NOEOL\@\z//;
                $text .= $l . ($noeol ? '' : "\n");
            }
            push @{ $case->{files} }, [ $section->{arg}, $text ];
        } elsif ($kind eq 'script') {
            $case->{script} = join '', map { "$_\n" } @$body;
        } else {
            $case->{$kind} = [@$body];
        }
        $section = undef;
    };
    for my $l (@lines) {
        $n++;
        if ($l =~ /^=== (\S+)\s*$/) {
            $close->();
            croak "$path:$n: duplicate case name $1" if $seen{$1}++;
            $case = { name => $1, file => $path, line => $n, header => [],
                      want => [], files => [], script => '' };
            push @{ $doc->{cases} }, $case;
            next;
        }
        if ($l =~ /^--- (\w+)(?:\s+(\S+))?\s*$/ && $case) {
            my ($kind, $arg) = ($1, $2);
            $close->();
            croak "$path:$n: unknown section '$kind'"
                unless $kind =~ /^(file|script|oracle|trex)$/;
            croak "$path:$n: '--- file' needs a name" if $kind eq 'file' && !defined $arg;
            $section = { kind => $kind, arg => $arg, lines => [] };
            next;
        }
        if ($section) {
            push @{ $section->{lines} }, $l;
        } elsif ($case) {
            push @{ $case->{header} }, $l;
            if ($l =~ /^(doc|see):\s*(.*)$/) {
                $case->{$1} .= (defined $case->{$1} ? "\n" : '') . $2;
            } elsif ($l =~ /^want:\s*(.*?)\s*$/) {
                push @{ $case->{want} }, $1;
            } elsif ($l =~ /^expect-differs:\s*(.*?)\s*$/) {
                $case->{differs} = $1;
            } elsif ($l =~ /^oracle-skip:\s*(.*?)\s*$/) {
                $case->{oracle_skip} = $1;
            } elsif ($l !~ /^\s*(#.*)?$/) {
                croak "$path:$n: unknown header line '$l'";
            }
        } else {
            push @{ $doc->{preamble} }, $l;
        }
    }
    $close->();
    for my $c (@{ $doc->{cases} }) {
        croak "$c->{file}:$c->{line}: case $c->{name} has no script" unless $c->{script} =~ /\S/;
        croak "$c->{file}:$c->{line}: expect-differs needs a '--- trex' section"
            if $c->{differs} && !$c->{trex};
        croak "$c->{file}:$c->{line}: oracle-skip needs expect-differs"
            if $c->{oracle_skip} && !$c->{differs};
    }
    return $doc;
}

sub load {
    my ($class, @only) = @_;
    my @docs = map { $class->parse_file($_) } $class->case_files(@only);
    my %names;
    for my $c (map { @{ $_->{cases} } } @docs) {
        croak "case name $c->{name} used twice ($names{$c->{name}} and $c->{file})"
            if $names{ $c->{name} };
        $names{ $c->{name} } = $c->{file};
    }
    return @docs;
}

# Write a parsed file back (t/diff/record uses it to refresh '--- oracle').
sub serialize {
    my ($class, $doc) = @_;
    my $out = join '', map { "$_\n" } @{ $doc->{preamble} };
    for my $c (@{ $doc->{cases} }) {
        my @h = @{ $c->{header} };
        pop @h while @h && $h[-1] =~ /^\s*$/;
        $out .= "=== $c->{name}\n" . join('', map { "$_\n" } @h);
        for my $f (@{ $c->{files} }) {
            my $text = $f->[1];
            $text =~ s/([^\n])\z/$1\@NOEOL\@\n/;        # no final newline
            $text =~ s/(?:\A|\n)\n\z/$&\@NOEOL\@\n/;      # trailing blank lines
            $out .= "--- file $f->[0]\n$text";
        }
        $out .= "--- script\n$c->{script}";
        for my $k (qw(oracle trex)) {
            next unless $c->{$k};
            $out .= "--- $k\n" . join('', map { "$_\n" } @{ $c->{$k} });
        }
        $out .= "\n";
    }
    return $out;
}

# ---- materialising a case -------------------------------------------------

my %ESC = (DIR => undef, CR => "\r", TAB => "\t");

sub expand {
    my ($text, $confdir) = @_;
    $text =~ s/\@(DIR|CR|TAB)\@/$1 eq 'DIR' ? $confdir : $ESC{$1}/ge;
    $text =~ s/\@PAD\((\d+)\)\@/'x' x $1/ge;
    return $text;
}

# Create $root/<case name>/ with the case's files; returns (confdir, script).
sub materialize {
    my ($class, $case, $root) = @_;
    my $confdir = "$root/$case->{name}";
    make_path($confdir);
    for my $f (@{ $case->{files} }) {
        my $path = "$confdir/$f->[0]";
        make_path(dirname($path));
        open my $fh, '>', $path or croak "$path: $!";
        print {$fh} expand($f->[1], $confdir);
        close $fh or croak "$path: $!";
    }
    return ($confdir, expand($case->{script}, $confdir));
}

# A fresh directory under $TMPDIR with an all-lower-case name: pam_set_item
# lower-cases PAM_SERVICE, so an absolute service path must survive that.
sub tempdir {
    my $base = File::Spec->tmpdir;
    for (1 .. 100) {
        my $d = sprintf '%s/trex-diff-%d-%s', $base, $$, join '', map { ('a' .. 'z')[rand 26] } 1 .. 8;
        return $d if mkdir $d, 0700;
    }
    croak "cannot create a temporary directory in $base: $!";
}

# ---- running the oracle program -------------------------------------------

# Compile oracle.c. %o: out => path, cflags => [...], libs => [...].
# Returns (binary, undef) or (undef, compiler output).
sub compile {
    my ($class, %o) = @_;
    my $cc = $ENV{CC} || 'cc';
    my @cmd = ($cc, '-O1', '-o', $o{out}, @{ $o{cflags} || [] }, "$DIR/oracle.c",
               @{ $o{libs} || [] });
    my $log = "$o{out}.log";
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $log or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    my $ok = $? == 0 && -x $o{out};
    my $text = do { local $/; open my $fh, '<', $log; $fh ? <$fh> : '' } // '';
    return $ok ? ($o{out}, undef) : (undef, "@cmd\n$text");
}

# Run the oracle binary on a script; returns the event lines (plus a last
# line 'crash signal N' / 'exit N' if it did not end normally).
sub run_bin {
    my ($class, $bin, $confdir, $script, $tag, %env) = @_;
    my $in = "$confdir.$tag.script";
    my $err = "$confdir.$tag.stderr";
    open my $fh, '>', $in or croak "$in: $!";
    print {$fh} $script;
    close $fh;
    my $pid = open(my $out, '-|') // croak "fork: $!";
    if ($pid == 0) {
        @ENV{ keys %env } = values %env;
        open STDIN, '<', $in or POSIX::_exit(127);
        open STDERR, '>', $err or POSIX::_exit(127);
        alarm $TIMEOUT;                     # survives exec
        exec { $bin } $bin, $confdir or POSIX::_exit(127);
    }
    my @lines = <$out>;
    close $out;
    chomp @lines;
    push @lines, status_line($?);
    return [ grep { defined } @lines ];
}

sub status_line {
    my ($st) = @_;
    return undef if $st == 0;
    return 'crash signal ' . ($st & 127) if $st & 127;
    return 'exit ' . ($st >> 8);
}

sub stderr_of {
    my ($class, $confdir, $tag) = @_;
    open my $fh, '<', "$confdir.$tag.stderr" or return '';
    local $/;
    return <$fh> // '';
}

# ---- the same interpreter over TRex::PAM's Perl API -----------------------

sub qstr {
    my ($s) = @_;
    return 'NULL' unless defined $s;
    $s =~ s/([\\"])/\\$1/g;
    $s =~ s/\n/\\n/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\t/\\t/g;
    $s =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    return qq{"$s"};
}

sub code_name {
    my ($c) = @_;
    return 'UNDEF' unless defined $c;
    return $CODE_NAMES[$c] if $c =~ /^\d+$/ && $c < @CODE_NAMES;
    return "$c";
}

# Same tokenizer as oracle.c: bare words, "quoted" with escapes, bare NULL.
sub tokenize {
    my ($line) = @_;
    my @t;
    pos($line) = 0;
    while (1) {
        $line =~ /\G[ \t\r\n]*/gc;
        last if pos($line) >= length($line) || $line =~ /\G#/gc;
        if ($line =~ /\G"((?:[^"\\]|\\.)*)"(?=[ \t\r\n]|\z)/gc) {
            my $s = $1;
            return undef if $s =~ /\\x(?![0-9a-fA-F]{2})/;
            $s =~ s/\\(x([0-9a-fA-F]{2})|.)/
                $2 ? chr hex $2 : $1 eq 'n' ? "\n" : $1 eq 'r' ? "\r" : $1 eq 't' ? "\t" : $1/ge;
            push @t, [ $s ];
        } elsif ($line =~ /\G"/gc) {
            return undef;
        } elsif ($line =~ /\G([^ \t\r\n]+)/gc) {
            push @t, [ $1 eq 'NULL' ? undef : $1, $1 ];
        }
    }
    return \@t;
}

sub num_of {
    my ($s, $table) = @_;
    return $table->{$s} if exists $table->{$s};
    return oct $s if $s =~ /^0[xX][0-9a-fA-F]+$|^0[0-7]*$/;
    return $s + 0 if $s =~ /^-?\d+$/;
    return undef;
}

sub flags_of {
    my ($s) = @_;
    my $f = 0;
    for my $p (split /\|/, $s) {
        my $v = num_of($p, \%FLAG);
        return undef unless defined $v;
        $f |= $v;
    }
    return $f;
}

# Run a script through TRex::PAM (already loaded) in a forked child, so that
# a crash or hang costs one case, not the test file. Returns the event lines.
sub run_perl {
    my ($class, $confdir, $script, $tag, %env) = @_;
    pipe(my $r, my $w) or croak "pipe: $!";
    my $pid = fork // croak "fork: $!";
    if ($pid == 0) {
        close $r;
        @ENV{ keys %env } = values %env;
        $ENV{TREX_PAM_CONFDIR} = $confdir;
        open STDERR, '>', "$confdir.$tag.stderr";
        select((select($w), $| = 1)[0]);
        alarm $TIMEOUT;
        my $rc = eval { perl_script($w, $script); 1 } ? 0 : 3;
        print {$w} "perl-die " . qstr("$@") . "\n" if $rc;
        close $w;
        POSIX::_exit($rc);
    }
    close $w;
    my @lines = <$r>;
    close $r;
    waitpid $pid, 0;
    chomp @lines;
    my $st = $?;
    push @lines, status_line($st) if $st & 127;
    return \@lines;
}

sub perl_script {
    my ($out, $script) = @_;
    my @answers;
    my ($pamh, $started, $last) = (undef, 0, 0);
    my $emit = sub { print {$out} @_, "\n" };
    my $conv = sub {
        my @m = @_;
        my $n = @m / 2;
        $emit->("conv-batch $n") if $n != 1;
        my ($rc, @resp) = (0);
        while (my ($style, $msg) = splice @m, 0, 2) {
            $emit->("conv " . ($STYLE_NAME{$style} // $style) . " " . qstr($msg));
            my $answer;
            if ($rc == 0 && ($style == 1 || $style == 2)) {
                if (!@answers) {
                    $rc = $CODE{CONV_ERR};
                } else {
                    my $a = shift @answers;
                    if ($a->{fail}) { $rc = $a->{fail} } else { $answer = $a->{text} }
                }
            }
            push @resp, 0, $answer;
        }
        return (@resp, $rc);
    };
    my $lineno = 0;
    for my $line (split /\n/, $script) {
        $lineno++;
        my $t = tokenize($line);
        my $bad = sub { $emit->("script-error $lineno $_[0]"); die "script error\n" };
        $bad->('bad tokens') unless $t;
        next unless @$t;
        my $cmd = $t->[0][1] // $t->[0][0];
        my @a = map { $_->[0] } @$t[ 1 .. $#$t ];
        my $n = @$t;
        if ($cmd eq 'answer') {
            $bad->('answer TEXT|NULL') unless $n == 2;
            push @answers, { text => $a[0] };
            next;
        }
        if ($cmd eq 'conv_fail') {
            my $v = $n == 2 && defined $a[0] ? num_of($a[0], \%CODE) : undef;
            $bad->('conv_fail CODE') unless $v;
            push @answers, { fail => $v };
            next;
        }
        if ($cmd eq 'start') {
            $bad->('start SERVICE USER (once)') unless $n == 3 && !$started;
            $started = 1;
            my $rc = TRex::PAM::pam_start($a[0], $a[1], $conv, $pamh);
            $emit->("start " . code_name($rc));
            if ($rc != 0) { $pamh = undef; last }
            next;
        }
        if ($cmd eq 'strerror') {
            my $v = $n == 2 && defined $a[0] ? num_of($a[0], \%CODE) : undef;
            $bad->('strerror CODE') unless defined $v;
            $emit->("strerror $v " . qstr(TRex::PAM::pam_strerror($pamh, $v)));
            next;
        }
        $bad->('no handle: start first') unless $started && $pamh;
        if ($IS_CALL{$cmd}) {
            my $flags = 0;
            $bad->('CALL [FLAGS]') if $n > 2;
            if ($n == 2) {
                $flags = defined $a[0] ? flags_of($a[0]) : undef;
                $bad->('CALL [FLAGS]') unless defined $flags;
            }
            no strict 'refs';
            my $rc = &{"TRex::PAM::pam_$cmd"}($pamh, $flags);
            $last = $rc;
            $emit->("$cmd " . code_name($rc));
        } elsif ($cmd eq 'set_item') {
            my $v = $n == 3 && defined $a[0] ? num_of($a[0], \%ITEM) : undef;
            $bad->('set_item ITEM VALUE') unless defined $v;
            my $rc = TRex::PAM::pam_set_item($pamh, $v, $a[1]);
            $emit->("set_item $a[0] " . code_name($rc));
        } elsif ($cmd eq 'get_item') {
            my $v = $n == 2 && defined $a[0] ? num_of($a[0], \%ITEM) : undef;
            $bad->('get_item ITEM') unless defined $v;
            my $val;
            my $rc = TRex::PAM::pam_get_item($pamh, $v, $val);
            my $s = "get_item $a[0] " . code_name($rc);
            if ($rc == 0) {
                $s .= ' ' . ($v == 5 || $v == 10 || $v == 12 ? (defined $val ? 'set' : 'NULL')
                                                            : qstr($val));
            }
            $emit->($s);
        } elsif ($cmd eq 'putenv') {
            $bad->('putenv NAME=VALUE') unless $n == 2;
            my $rc = TRex::PAM::pam_putenv($pamh, $a[0]);
            $emit->("putenv " . qstr($a[0]) . " " . code_name($rc));
        } elsif ($cmd eq 'getenv') {
            $bad->('getenv NAME') unless $n == 2 && defined $a[0];
            $emit->("getenv $a[0] " . qstr(TRex::PAM::pam_getenv($pamh, $a[0])));
        } elsif ($cmd eq 'getenvlist') {
            # name/value pairs (Authen::PAM's interface: a hash's contents)
            my @kv = TRex::PAM::pam_getenvlist($pamh);
            my @e;
            while (my ($k, $v) = splice @kv, 0, 2) { push @e, qstr(defined $v ? "$k=$v" : $k) }
            $emit->(join ' ', 'getenvlist', @e);
        } elsif ($cmd eq 'end') {
            my $status = $last;
            if ($n == 2) {
                $status = defined $a[0] ? num_of($a[0], \%CODE) : undef;
                $bad->('end [STATUS]') unless defined $status;
            }
            $bad->('end [STATUS]') if $n > 2;
            my $rc = TRex::PAM::pam_end($pamh, $status);
            $pamh = undef;
            $emit->("end " . code_name($rc));
            last;
        } else {
            $bad->('unknown command');
        }
    }
    if ($pamh) {
        my $rc = TRex::PAM::pam_end($pamh, $last);
        $emit->("end " . code_name($rc));
    }
    return;
}

# getenvlist through the Perl API is a hash (Authen::PAM): compare its
# entries sorted.
sub sort_envlist {
    my ($class, $lines) = @_;
    return [ map {
        my $l = $_;
        if ($l =~ /^getenvlist (.+)$/) {
            my @e = $1 =~ /("(?:[^"\\]|\\.)*")/g;
            $l = join ' ', 'getenvlist', sort @e;
        }
        $l;
    } @$lines ];
}

# ---- the test driver shared by t/60 and t/61 ------------------------------

# %o: label (what is tested), run => sub ($confdir, $script) returning the
# event lines of the implementation under test, sort_envlist => 1 when the
# implementation's getenvlist is a hash. Emits one test per case.
sub run_suite {
    my ($class, %o) = @_;
    require Test::More;
    my $filter = $ENV{TREX_PAM_DIFF_CASES};
    my @cases = grep { !defined $filter || $_->{name} =~ /$filter/ }
                map { @{ $_->{cases} } } $class->load;
    my $tmp = $class->tempdir;
    my $keep = $ENV{TREX_PAM_DIFF_KEEP};
    Test::More::note("case directories kept in $tmp") if $keep;

    my $mode = $ENV{TREX_PAM_DIFF_ORACLE} // 'live';
    my ($oracle, $err) = $mode eq 'recorded' ? (undef, 'TREX_PAM_DIFF_ORACLE=recorded')
                       : $class->compile(out => "$tmp/oracle-libpam", libs => ['-lpam']);
    if ($mode eq 'recorded') {
        Test::More::note('comparing with the transcripts recorded in t/diff/cases');
    } elsif (!$oracle) {
        my $why = "cannot build t/diff/oracle.c against Linux-PAM (is libpam0g-dev installed?)";
        if ($ENV{TREX_PAM_DIFF_REQUIRE_ORACLE}) {
            Test::More::fail("$why\n$err");
            return;
        }
        Test::More::diag("$why: comparing with the transcripts recorded in t/diff/cases instead");
    }

    my (@drift, $n);
    for my $c (@cases) {
        my ($confdir, $script) = $class->materialize($c, $tmp);
        my ($expect, $source);
        if ($c->{differs}) {
            ($expect, $source) = ($c->{trex}, 'expected (expect-differs)');
        } elsif ($oracle) {
            ($expect, $source) = ($class->run_bin($oracle, $confdir, $script, 'oracle'), 'libpam');
            push @drift, $c->{name} if join("\n", @$expect) ne join("\n", @{ $c->{oracle} || [] });
        } else {
            ($expect, $source) = ($c->{oracle}, 'libpam (recorded)');
        }
        if (!$expect) {
            Test::More::fail("$c->{name}: no expected transcript (run t/diff/record)");
            next;
        }
        my $got = $o{run}->($confdir, $script);
        my ($e, $g) = $o{sort_envlist} ? map { $class->sort_envlist($_) } $expect, $got
                                       : ($expect, $got);
        my $ok = join("\n", @$e) eq join("\n", @$g);
        Test::More::ok($ok, "$c->{name}" . ($c->{differs} ? ' (expect-differs)' : ''))
            or Test::More::diag($class->report($c, $script, "1 $source" => $expect,
                                               "2 $o{label}" => $got)
                                . $class->indent('stderr of TRex', $class->stderr_of($confdir, 'trex')));
        $n++;
    }
    if (@drift) {
        Test::More::diag(scalar(@drift) . " case(s) where this machine's libpam differs from the"
            . " transcript recorded in t/diff/cases (another libpam version?): @drift");
    }
    File::Path::remove_tree($tmp) unless $keep;
    return $n;
}

sub indent {
    my ($class, $title, $text) = @_;
    return '' unless defined $text && length $text;
    return "  $title:\n" . join '', map { "    $_\n" } split /\n/, $text;
}

# ---- checking -------------------------------------------------------------

# The want: lines must appear in the transcript in this order.
sub missing_wants {
    my ($class, $case, $lines) = @_;
    my @want = map { expand($_, '') } @{ $case->{want} };
    my $i = 0;
    for my $l (@$lines) {
        $i++ if $i < @want && $l eq $want[$i];
    }
    return @want[ $i .. $#want ];
}

# Side-by-side report of two transcripts for a failing case.
sub report {
    my ($class, $case, $script, %t) = @_;
    my @names = sort keys %t;
    my $s = "case $case->{name} ($case->{file} line $case->{line})\n";
    $s .= "  $case->{doc}\n" if defined $case->{doc};
    $s .= "  script:\n" . join('', map { "    $_\n" } split /\n/, $script);
    my ($a, $b) = @t{@names};
    my $n = @$a > @$b ? @$a : @$b;
    my $w = 8;
    for my $l (@$a) { $w = length $l if length $l > $w }
    $w = 60 if $w > 60;
    $s .= sprintf "  %-*s | %s\n", $w, $names[0], $names[1];
    for my $i (0 .. $n - 1) {
        my ($x, $y) = ($a->[$i] // '', $b->[$i] // '');
        $s .= sprintf "%s %-*s | %s\n", ($x eq $y ? ' ' : '!'), $w, $x, $y;
    }
    return $s;
}

1;
