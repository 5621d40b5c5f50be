package TRex::PAM::Command::Users;

# trex-pam's commands on the users of the database: init, useradd, passwd,
# usermod, userdel, list, show, import.
use strict;
use warnings;
use TRex::PAM ();
use TRex::PAM::Command qw(EXIT_OK EXIT_FAIL fail bad_usage reason options checked
                          one_user db_path open_db parse_date parse_days parse_attrs
                          show_date plural new_password);
use Exporter 'import';

our $VERSION = $TRex::PAM::VERSION;

our @EXPORT_OK = qw(cmd_init cmd_useradd cmd_passwd cmd_usermod cmd_userdel cmd_list cmd_show
                    cmd_import);

# init [--db FILE | --store URI] [--group]: create the database (and its directory).
sub cmd_init {
    my @args = @_;
    my ($path, $group);
    options(\@args, 'db|store=s' => \$path, 'group|g' => \$group);
    bad_usage("init: unexpected argument \"$args[0]\"") if @args;
    require TRex::PAM::DB;
    $path = db_path($path);
    my $file = TRex::PAM::DB::file($path);           # undef: a server's store
    my $existed = defined $file && -e $file;
    (my $dir = $file // '') =~ s{/[^/]*\z}{};
    if ($dir ne '' && !-d $dir) {
        require File::Path;
        File::Path::make_path($dir, { mode => $group ? 0750 : 0700, error => \my $err });
        return fail("$dir: cannot create the directory: " . join('; ', map { values %$_ } @$err))
            if @$err;
    }
    my $db = open_db($file // $path, create => 1, group => $group)
        or return EXIT_FAIL;
    print "trex-pam: ", $db->where,
        !$db->keeps('users') ? ": reachable; this store needs no schema (it keeps sessions and"
                               . " failure tallies, no users)\n"
        : !defined $file ? ": the store's schema is in place\n"
        : $existed     ? ": already a user database, left as it is\n"
        :                ": user database created\n";
    return EXIT_OK;
}

# The fields of useradd/usermod options, for user_add/user_set.
sub field_options {
    my ($o) = @_;
    my %f;
    checked(sub {
        $f{expires} = parse_date('expires', $o->{expires}) if defined $o->{expires};
        $f{max_days} = parse_days('max-days', $o->{'max-days'}, -1, 1) if defined $o->{'max-days'};
        $f{min_days} = parse_days('min-days', $o->{'min-days'}, 0) if defined $o->{'min-days'};
        $f{warn_days} = parse_days('warn-days', $o->{'warn-days'}, 0) if defined $o->{'warn-days'};
    });
    return %f;
}

sub check_policy {
    my ($o) = @_;
    return if !defined $o->{method} && !defined $o->{cost};
    require TRex::PAM::DB;
    return if TRex::PAM::DB::check_policy($o->{method}, $o->{cost});
    bad_usage(sprintf 'unknown hashing method or cost (--method %s --cost %s); methods here: %s',
              $o->{method} // 'default', $o->{cost} // 'default', join(' ', TRex::PAM::DB::methods()));
}

# useradd [--db FILE | --store URI] USER [fields] [--attr N=V]... [--no-password | --password-stdin]
sub cmd_useradd {
    my @args = @_;
    my %o = (attr => []);
    options(\@args, \%o, 'db|store=s', 'disabled', 'expires=s', 'max-days=s', 'min-days=s',
            'warn-days=s', 'force-change', 'attr=s@', 'no-password', 'password-stdin',
            'method=s', 'cost=s');
    my $user = one_user('useradd', \@args);
    bad_usage('useradd: --no-password and --password-stdin exclude each other')
        if $o{'no-password'} && $o{'password-stdin'};
    bad_usage('useradd: --method and --cost need a password')
        if $o{'no-password'} && (defined $o{method} || defined $o{cost});
    check_policy(\%o);
    my %f = field_options(\%o);
    my $attrs = checked(sub { parse_attrs($o{attr}) });
    my $db = open_db($o{db}) or return EXIT_FAIL;
    my $known = eval { $db->user($user) };
    return fail("useradd: " . reason($@)) if $@;
    return fail("useradd: $user: user already exists") if $known;
    my ($pw, $rc);
    unless ($o{'no-password'}) {
        ($pw, $rc) = new_password($o{'password-stdin'});
        return $rc unless defined $pw;
    }
    my $ok = eval {
        $db->user_add($user, password => $pw, method => $o{method}, cost => $o{cost},
                      disabled => $o{disabled} ? 1 : 0, force_change => $o{'force-change'} ? 1 : 0,
                      attrs => $attrs, %f);
        1;
    };
    TRex::PAM::DB::wipe($pw) if defined $pw;
    return fail("useradd: " . reason($@)) unless $ok;          # (a misuse croak leaves error as it was)
    print "trex-pam: user $user added", ($o{'no-password'} ? ' without a password' : ''), "\n";
    return EXIT_OK;
}

# passwd [--db FILE | --store URI] USER [--password-stdin] [--method M] [--cost N]
#        [--no-revoke-sessions | --sessions LOCATION]
sub cmd_passwd {
    my @args = @_;
    my %o = ('revoke-sessions' => 1);
    options(\@args, \%o, 'db|store=s', 'sessions=s', 'password-stdin', 'method=s', 'cost=s',
            'revoke-sessions!');
    my $user = one_user('passwd', \@args);
    check_policy(\%o);
    bad_usage('passwd: --sessions and --no-revoke-sessions exclude each other')
        if defined $o{sessions} && !$o{'revoke-sessions'};
    my $db = open_db($o{db}, sessions => $o{sessions}) or return EXIT_FAIL;
    my $known = eval { $db->user($user) };
    return fail("passwd: " . reason($@)) if $@;
    return fail("passwd: $user: no such user") unless $known;
    my ($pw, $rc) = new_password($o{'password-stdin'});
    return $rc unless defined $pw;
    my $ok = eval { $db->set_password($user, $pw, method => $o{method}, cost => $o{cost}); 1 };
    TRex::PAM::DB::wipe($pw);
    return fail("passwd: " . reason($@)) unless $ok;           # (a misuse croak leaves error as it was)
    # after the change, so that no session can be opened with the old password meanwhile
    return changed('passwd', "password of $user", $user, \%o, $db);
}

# " at WHERE" when --sessions named the sessions' store, else "".
sub sessions_at {
    my ($o, $db) = @_;
    return defined $o->{sessions} ? ' at ' . $db->sessions_where : '';
}

# usermod [--db FILE | --store URI] USER [--disable|--enable] [--expires DATE|never] ...
#         [--revoke-sessions [--sessions LOCATION]]
sub cmd_usermod {
    my @args = @_;
    my %o = (attr => [], 'delete-attr' => []);
    options(\@args, \%o, 'db|store=s', 'disable', 'enable', 'expires=s', 'max-days=s', 'min-days=s',
            'warn-days=s', 'force-change!', 'attr=s@', 'delete-attr=s@', 'revoke-sessions',
            'sessions=s');
    my $user = one_user('usermod', \@args);
    bad_usage('usermod: --sessions wants --revoke-sessions')
        if defined $o{sessions} && !$o{'revoke-sessions'};
    bad_usage('usermod: --disable and --enable exclude each other') if $o{disable} && $o{enable};
    my %f = field_options(\%o);
    $f{disabled} = 1 if $o{disable};
    $f{disabled} = 0 if $o{enable};
    $f{force_change} = $o{'force-change'} ? 1 : 0 if defined $o{'force-change'};
    my $attrs = checked(sub { parse_attrs($o{attr}) });
    bad_usage('usermod: nothing to change (see trex-pam --help)')
        unless %f || %$attrs || @{ $o{'delete-attr'} } || $o{'revoke-sessions'};
    my $db = open_db($o{db}, sessions => $o{sessions}) or return EXIT_FAIL;
    my $ok = eval {
        die "usermod: $user: no such user\n" unless $db->user($user);
        $db->user_set($user, %f) if %f;
        $db->attr_set($user, $_, $attrs->{$_}) for sort keys %$attrs;
        $db->attr_set($user, $_, undef) for @{ $o{'delete-attr'} };
        1;
    };
    return fail($@ =~ /^usermod: / ? reason($@) : "usermod: " . $db->error) unless $ok;
    # after the change, as passwd does
    return changed('usermod', "user $user", $user, \%o, $db);
}

# After a change to $user ($what: "user alice"): its sessions ended with
# --revoke-sessions, and one line saying what was done.
sub changed {
    my ($cmd, $what, $user, $o, $db) = @_;
    my $ended = $o->{'revoke-sessions'} ? eval { $db->session_revoke_all($user) } : undef;
    return fail("$cmd: $what changed, but its sessions were not ended: " . $db->error)
        if $o->{'revoke-sessions'} && !defined $ended;
    print "trex-pam: $what changed",
          (defined $ended ? '; ' . ($ended ? plural($ended, 'session') . ' ended' : 'no session to end') : ''),
          sessions_at($o, $db), "\n";
    return EXIT_OK;
}

# userdel [--db FILE | --store URI] [--sessions LOCATION] USER
sub cmd_userdel {
    my @args = @_;
    my %o;
    options(\@args, \%o, 'db|store=s', 'sessions=s');
    my $user = one_user('userdel', \@args);
    my $db = open_db($o{db}, sessions => $o{sessions}) or return EXIT_FAIL;
    eval { $db->user_delete($user); 1 } or return fail("userdel: " . $db->error);
    print "trex-pam: user $user deleted",
          (defined $o{sessions} ? ', with its sessions at ' . $db->sessions_where : ''), "\n";
    return EXIT_OK;
}

sub account_state {
    my ($u) = @_;
    return 'disabled' if $u->{disabled};
    return 'expired' if $u->{expires} && $u->{expires} <= time;
    return 'enabled';
}

# list [--db FILE | --store URI] [--hashes]
sub cmd_list {
    my @args = @_;
    my %o;
    options(\@args, \%o, 'db|store=s', 'hashes');
    bad_usage("list: unexpected argument \"$args[0]\"") if @args;
    my $db = open_db($o{db}, readonly => 1) or return EXIT_FAIL;
    my @users = eval { $db->users(with_hash => $o{hashes}) };
    return fail("list: " . $db->error) if $@;
    my $fmt = "%-20s %-13s %-9s %-10s %-12s %s\n";
    printf $fmt, 'USER', 'PASSWORD', 'ACCOUNT', 'EXPIRES', 'CHANGED', 'MAX-DAYS' . ($o{hashes} ? '  HASH' : '');
    for my $u (@users) {
        my $changed = $u->{force_change} ? 'must change' : $u->{changed} ? show_date($u->{changed}) : '-';
        printf $fmt, $u->{name}, $u->{method}, account_state($u), show_date($u->{expires}), $changed,
               ($u->{max_days} < 0 ? '-' : $u->{max_days}) . ($o{hashes} ? "  $u->{hash}" : '');
        TRex::PAM::DB::wipe($u->{hash}) if defined $u->{hash};
    }
    return EXIT_OK;
}

# show [--db FILE | --store URI] USER [--hashes]
sub cmd_show {
    my @args = @_;
    my %o;
    options(\@args, \%o, 'db|store=s', 'hashes');
    my $user = one_user('show', \@args);
    my $db = open_db($o{db}, readonly => 1) or return EXIT_FAIL;
    my $u = eval { $db->user($user, with_hash => $o{hashes}) };
    return fail("show: " . $db->error) if $@;
    return fail("show: $user: no such user") unless $u;
    my @rows = (
        [user => $u->{name}],
        [password => $u->{method}],
        ($o{hashes} ? [hash => $u->{hash}] : ()),
        [account => account_state($u)],
        [expires => show_date($u->{expires})],
        ['password changed' => $u->{changed} ? show_date($u->{changed}) : 'unknown'],
        ['must change' => $u->{force_change} ? 'yes' : 'no'],
        ['min days' => $u->{min_days}],
        ['max days' => $u->{max_days} < 0 ? 'no limit' : $u->{max_days}],
        ['warn days' => $u->{warn_days}],
        [created => $u->{created} ? show_date($u->{created}) : 'unknown'],
        map { ["attr $_" => $u->{attrs}{$_}] } sort keys %{ $u->{attrs} },
    );
    printf "%-18s %s\n", "$_->[0]:", $_->[1] for @rows;
    TRex::PAM::DB::wipe($u->{hash}) if defined $u->{hash};
    return EXIT_OK;
}

# import [--db FILE | --store URI] [--format shadow|htpasswd|dovecot] [--update] FILE
sub cmd_import {
    my @args = @_;
    my %o;
    options(\@args, \%o, 'db|store=s', 'format|f=s', 'update');
    bad_usage('import: want one file (or - for standard input)') unless @args == 1;
    my ($file) = @args;
    require TRex::PAM::Import;
    my @formats = TRex::PAM::Import::formats();
    bad_usage("import: unknown format \"$o{format}\" (one of: @formats)")
        if defined $o{format} && !grep { $_ eq $o{format} } @formats;
    my $fh;
    if ($file eq '-') {
        $fh = \*STDIN;
        binmode $fh;
    } else {
        open $fh, '<:raw', $file or return fail("$file: $!");
    }
    my $db = open_db($o{db}) or return EXIT_FAIL;
    return fail("import: " . $db->where . ": this store keeps no users (a path, sqlite:PATH or"
                . " postgresql:... does)") unless $db->keeps('users');
    my ($format, @entries) = TRex::PAM::Import::read_file($o{format}, $fh);
    close $fh unless $file eq '-';
    my ($added, $updated, $skipped) = (0, 0, 0);
    for my $e (@entries) {
        my $where = "$file:$e->{line}";
        if ($e->{error}) {
            print STDERR "trex-pam: $where: $e->{error}; skipped\n";
            $skipped++;
            next;
        }
        my %r = %{ $e->{record} };
        my $name = delete $r{name};
        my $ok = eval { $db->user_add($name, %r); 1 };
        if (!$ok && $db->status == TRex::PAM::DB::EXISTS() && $o{update}) {
            my %set = (hash => $r{hash}, changed => $r{changed});
            %set = (%set, expires => undef, force_change => 0, min_days => 0, max_days => -1,
                    warn_days => 0, %r) if $format eq 'shadow';
            $ok = eval { $db->user_set($name, %set); 1 } and $updated++;
        } elsif ($ok) {
            $added++;
        }
        TRex::PAM::DB::wipe($r{hash}, $e->{record}{hash});
        next if $ok;
        my $why = $db->error;
        $why .= ' (--update replaces it)' if $db->status == TRex::PAM::DB::EXISTS();
        print STDERR "trex-pam: $where: $why; skipped\n";
        $skipped++;
    }
    printf "trex-pam: %s (%s): %d added, %d updated, %d skipped\n", $file, $format, $added,
           $updated, $skipped;
    return $skipped ? EXIT_FAIL : EXIT_OK;
}

1;
__END__

=head1 NAME

TRex::PAM::Command::Users - the user commands of trex-pam

=head1 DESCRIPTION

The implementation of the C<init>, C<useradd>, C<passwd>, C<usermod>,
C<userdel>, C<list>, C<show> and C<import> commands of
L<trex-pam(1)|trex-pam>, which documents their use. Not a public API.

=cut
