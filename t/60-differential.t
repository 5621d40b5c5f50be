#!perl
# Differential test: every case in t/diff/cases runs through Debian's
# Linux-PAM (t/diff/oracle.c linked with -lpam, pam_start_confdir) and
# through TRex::PAM's Perl API; the event transcripts (return codes of every
# call, conversation messages in order, items, environment) must be equal.
# Format and tools: t/diff/README.
#   TREX_PAM_DIFF_CASES=regex   run only matching cases
#   TREX_PAM_DIFF_KEEP=1        keep the temporary confdirs
#   TREX_PAM_DIFF_REQUIRE_ORACLE=1   fail (not fall back) without libpam0g-dev
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/diff";
use Test::More;
use DiffCase;

BEGIN {
    eval { require TRex::PAM; 1 }
        or plan skip_all => "TRex::PAM is not built (perl Makefile.PL && make): $@";
}

DiffCase->run_suite(
    label        => 'TRex::PAM (Perl API)',
    sort_envlist => 1,
    run          => sub {
        my ($confdir, $script) = @_;
        DiffCase->run_perl($confdir, $script, 'trex',
                           TREX_PAM_LOG => $ENV{TREX_PAM_DIFF_LOG} // 'stderr');
    },
);
done_testing;
