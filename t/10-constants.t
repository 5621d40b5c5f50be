# Constants: Linux-PAM's values, constant subs (no AUTOLOAD), Authen::PAM's
# export tags and defaults.
use strict;
use warnings;
use Test::More;

my %want = (
    # return codes (_pam_types.h)
    PAM_SUCCESS => 0, PAM_OPEN_ERR => 1, PAM_SYMBOL_ERR => 2, PAM_SERVICE_ERR => 3,
    PAM_SYSTEM_ERR => 4, PAM_BUF_ERR => 5, PAM_PERM_DENIED => 6, PAM_AUTH_ERR => 7,
    PAM_CRED_INSUFFICIENT => 8, PAM_AUTHINFO_UNAVAIL => 9, PAM_USER_UNKNOWN => 10,
    PAM_MAXTRIES => 11, PAM_NEW_AUTHTOK_REQD => 12, PAM_ACCT_EXPIRED => 13,
    PAM_SESSION_ERR => 14, PAM_CRED_UNAVAIL => 15, PAM_CRED_EXPIRED => 16, PAM_CRED_ERR => 17,
    PAM_NO_MODULE_DATA => 18, PAM_CONV_ERR => 19, PAM_AUTHTOK_ERR => 20,
    PAM_AUTHTOK_RECOVERY_ERR => 21, PAM_AUTHTOK_RECOVER_ERR => 21, PAM_AUTHTOK_LOCK_BUSY => 22,
    PAM_AUTHTOK_DISABLE_AGING => 23, PAM_TRY_AGAIN => 24, PAM_IGNORE => 25, PAM_ABORT => 26,
    PAM_AUTHTOK_EXPIRED => 27, PAM_MODULE_UNKNOWN => 28, PAM_BAD_ITEM => 29,
    PAM_CONV_AGAIN => 30, PAM_INCOMPLETE => 31,
    # items
    PAM_SERVICE => 1, PAM_USER => 2, PAM_TTY => 3, PAM_RHOST => 4, PAM_CONV => 5,
    PAM_AUTHTOK => 6, PAM_OLDAUTHTOK => 7, PAM_RUSER => 8, PAM_USER_PROMPT => 9,
    PAM_FAIL_DELAY => 10, PAM_XDISPLAY => 11, PAM_XAUTHDATA => 12, PAM_AUTHTOK_TYPE => 13,
    # flags
    PAM_SILENT => 0x8000, PAM_DISALLOW_NULL_AUTHTOK => 1, PAM_ESTABLISH_CRED => 2,
    PAM_DELETE_CRED => 4, PAM_REINITIALIZE_CRED => 8, PAM_REFRESH_CRED => 16,
    PAM_CHANGE_EXPIRED_AUTHTOK => 32, PAM_PRELIM_CHECK => 0x4000, PAM_UPDATE_AUTHTOK => 0x2000,
    PAM_DATA_REPLACE => 0x20000000, PAM_DATA_SILENT => 0x40000000,
    # message styles, limits
    PAM_PROMPT_ECHO_OFF => 1, PAM_PROMPT_ECHO_ON => 2, PAM_ERROR_MSG => 3, PAM_TEXT_INFO => 4,
    PAM_RADIO_TYPE => 5, PAM_BINARY_PROMPT => 7,
    PAM_MAX_NUM_MSG => 32, PAM_MAX_MSG_SIZE => 512, PAM_MAX_RESP_SIZE => 512,
    # compatibility
    PAM_SUCESS => 0, PAM_AUTHTOKEN_REQD => 12, PAM_CRED_ESTABLISH => 2, PAM_CRED_DELETE => 4,
    PAM_CRED_REINITIALIZE => 8, PAM_CRED_REFRESH => 16,
    HAVE_PAM_FAIL_DELAY => 1, HAVE_PAM_ENV_FUNCTIONS => 1,
);

require TRex::PAM;
for my $name (sort keys %want) {
    my $code = TRex::PAM->can($name);
    ok($code, "$name is defined") or next;
    is($code->(), $want{$name}, "$name == $want{$name}");
    is(prototype($code), '', "$name is a constant sub");
}
ok(!TRex::PAM->can('AUTOLOAD'), 'no AUTOLOAD');
ok(!TRex::PAM->can('constant'), 'no constant() lookup function');

# ---- exports, as Authen::PAM 0.16 --------------------------------------------
my @functions = qw(pam_start pam_end pam_authenticate pam_setcred pam_acct_mgmt pam_chauthtok
                   pam_open_session pam_close_session pam_set_item pam_get_item pam_strerror
                   pam_getenv pam_putenv pam_getenvlist pam_fail_delay);
my @constants = qw(
    PAM_SUCCESS PAM_OPEN_ERR PAM_SYMBOL_ERR PAM_SERVICE_ERR PAM_SYSTEM_ERR PAM_BUF_ERR
    PAM_CONV_ERR PAM_PERM_DENIED PAM_AUTH_ERR PAM_CRED_INSUFFICIENT PAM_AUTHINFO_UNAVAIL
    PAM_USER_UNKNOWN PAM_MAXTRIES PAM_NEW_AUTHTOK_REQD PAM_ACCT_EXPIRED PAM_SESSION_ERR
    PAM_CRED_UNAVAIL PAM_CRED_EXPIRED PAM_CRED_ERR PAM_NO_MODULE_DATA PAM_AUTHTOK_ERR
    PAM_AUTHTOK_RECOVER_ERR PAM_AUTHTOK_RECOVERY_ERR PAM_AUTHTOK_LOCK_BUSY
    PAM_AUTHTOK_DISABLE_AGING PAM_TRY_AGAIN PAM_IGNORE PAM_ABORT PAM_AUTHTOK_EXPIRED
    PAM_MODULE_UNKNOWN PAM_BAD_ITEM PAM_CONV_AGAIN PAM_INCOMPLETE PAM_SERVICE PAM_USER PAM_TTY
    PAM_RHOST PAM_CONV PAM_RUSER PAM_USER_PROMPT PAM_FAIL_DELAY PAM_SILENT
    PAM_DISALLOW_NULL_AUTHTOK PAM_ESTABLISH_CRED PAM_DELETE_CRED PAM_REINITIALIZE_CRED
    PAM_REFRESH_CRED PAM_CHANGE_EXPIRED_AUTHTOK PAM_PROMPT_ECHO_OFF PAM_PROMPT_ECHO_ON
    PAM_ERROR_MSG PAM_TEXT_INFO PAM_RADIO_TYPE PAM_BINARY_PROMPT HAVE_PAM_FAIL_DELAY
    HAVE_PAM_ENV_FUNCTIONS);
my @old = qw(PAM_AUTHTOKEN_REQD PAM_CRED_ESTABLISH PAM_CRED_DELETE PAM_CRED_REINITIALIZE
             PAM_CRED_REFRESH);

is_deeply([sort @{ $TRex::PAM::EXPORT_TAGS{functions} }], [sort @functions], ':functions');
is_deeply([sort @{ $TRex::PAM::EXPORT_TAGS{constants} }], [sort @constants], ':constants');
is_deeply([sort @{ $TRex::PAM::EXPORT_TAGS{old} }], [sort @old], ':old');
is_deeply([sort @TRex::PAM::EXPORT], [sort @functions, @constants, 'PAM_SUCESS'],
          'default exports: :functions, :constants and PAM_SUCESS');
for my $name (@functions, @constants, @old) {
    ok(TRex::PAM->can($name), "$name exists");
}

{
    package Default;
    TRex::PAM->import;
    ::ok(defined &Default::pam_start, 'default import: pam_start');
    ::ok(defined &Default::PAM_SUCCESS, 'default import: PAM_SUCCESS');
    ::ok(defined &Default::PAM_SUCESS, 'default import: PAM_SUCESS');
    ::ok(!defined &Default::PAM_AUTHTOK, 'PAM_AUTHTOK is not exported by default');
    ::ok(!defined &Default::PAM_OLDAUTHTOK, 'PAM_OLDAUTHTOK is not exported by default');
    ::ok(!defined &Default::PAM_CRED_ESTABLISH, ':old is not exported by default');
}
{
    package Old;
    TRex::PAM->import(qw(:DEFAULT :old));
    ::ok(defined &Old::PAM_CRED_ESTABLISH, ':old on request');
    ::ok(defined &Old::pam_end, ':DEFAULT still there');
}
{
    package Extra;
    TRex::PAM->import(qw(PAM_AUTHTOK PAM_OLDAUTHTOK PAM_XDISPLAY PAM_XAUTHDATA
                         PAM_AUTHTOK_TYPE PAM_DATA_SILENT PAM_DATA_REPLACE
                         PAM_PRELIM_CHECK PAM_UPDATE_AUTHTOK
                         PAM_MAX_NUM_MSG PAM_MAX_MSG_SIZE PAM_MAX_RESP_SIZE));
    ::is(PAM_AUTHTOK(), 6, 'PAM_AUTHTOK on request');
    ::is(PAM_XAUTHDATA(), 12, 'PAM_XAUTHDATA on request');
    ::is(PAM_DATA_SILENT(), 0x40000000, 'PAM_DATA_SILENT on request');
}
{
    package Consts;
    TRex::PAM->import(':constants');
    ::ok(defined &Consts::PAM_SUCCESS && !defined &Consts::pam_start, ':constants alone');
}
ok(!eval { TRex::PAM->import('PAM_NO_SUCH_THING'); 1 }, 'an unknown name is refused');
like($@, qr/"PAM_NO_SUCH_THING" is not exported by the TRex::PAM module.*Can't continue after import errors/s,
     "... with Exporter's message");
{
    local $SIG{__WARN__} = sub {};
    ok(!eval { TRex::PAM->import(':no_such_tag'); 1 }, 'an unknown tag is refused');
}

# TRex::PAM's import does the default list; Exporter does the others
{
    package Forms;
    TRex::PAM->import(qw(&pam_end !pam_start /^PAM_DATA_/));
    ::ok(defined &Forms::pam_end && defined &Forms::PAM_DATA_SILENT && defined &Forms::PAM_DATA_REPLACE,
         '&name, /pattern/');
    ::ok(!defined &Forms::pam_start && !defined &Forms::PAM_SUCCESS, '... and nothing else');
}
{
    package Neg;
    TRex::PAM->import(qw(!pam_start));
    ::ok(!defined &Neg::pam_start && defined &Neg::pam_end && defined &Neg::PAM_SUCCESS,
         '!name: the default list without it');
}
{
    package Reexport;
    sub import { TRex::PAM->export_to_level(1, @_) }
    package Level;
    Reexport->import(qw(PAM_XDISPLAY));
    ::is(PAM_XDISPLAY(), 11, 'export_to_level');
}
ok(TRex::PAM->isa('Exporter'), 'TRex::PAM is an Exporter');
ok(eval { TRex::PAM->require_version(0.01); 1 }, 'require_version');
ok(!eval { TRex::PAM->require_version(99); 1 }, '... refuses a newer version');

# ---- the same names and values as Authen::PAM, when it is installed ----------
SKIP: {
    my $ok = eval { local $SIG{__WARN__} = sub {}; require Authen::PAM; 1 };
    skip 'Authen::PAM is not installed', 4 unless $ok;
    for my $tag (qw(functions constants old)) {
        is_deeply([sort @{ $TRex::PAM::EXPORT_TAGS{$tag} }],
                  [sort @{ $Authen::PAM::EXPORT_TAGS{$tag} }], ":$tag as Authen::PAM's");
    }
    my @diff;
    for my $name (@constants, @old) {
        my $a = eval { no strict 'refs'; &{"Authen::PAM::$name"}() };
        # Debian's build of Authen::PAM croaks "not supported" for the two
        # AUTHTOK_RECOVER(Y)_ERR names; TRex::PAM gives Linux-PAM's 21.
        next if !defined $a && $@ =~ /not supported by your PAM library/;
        push @diff, "$name: Authen::PAM " . ($a // 'undef') . ", TRex::PAM " . TRex::PAM->can($name)->()
            if !defined $a || $a != TRex::PAM->can($name)->();
    }
    is_deeply(\@diff, [], 'every constant has Authen::PAM\'s value');
}

done_testing;
