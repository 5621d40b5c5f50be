# Runs every C test binary (c/tests/t_*) through TAP::Parser (STYLE.md
# section 7): a segfault can leave $? >> 8 at 0, so the parser's view of the
# plan, the exit and the wait status decides. TREX_PAM_VALGRIND=1 runs them
# under valgrind.
use strict;
use warnings;
use Test::More;
use TAP::Parser;

use Cwd ();
my $dir = Cwd::getcwd() . '/c/tests';
plan skip_all => 'c/tests not built' unless $dir && -d $dir;
my @bins = grep { -f && -x && !/\.(?:c|h|o|so)$/ } sort glob("$dir/t_*");
plan skip_all => 'no C test binaries' unless @bins;

my @wrap = $ENV{TREX_PAM_VALGRIND}
    ? qw(valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99)
    : ();

local $ENV{TREX_PAM_TESTDIR} = $dir;
chdir $dir or die "chdir $dir: $!";
for my $bin (@bins) {
    my $name = (split m{/}, $bin)[-1];
    my $p = TAP::Parser->new({ exec => [@wrap, $bin] });
    my $n = 0;
    while (my $r = $p->next) {
        next unless $r->is_test;
        $n++;
        ok($r->is_ok, "$name: " . $r->description);
    }
    ok($n > 0, "$name: ran some tests");
    ok(!$p->has_problems, "$name: exit " . ($p->exit // 'undef') . ", wait " . ($p->wait // 'undef'));
}

done_testing;
