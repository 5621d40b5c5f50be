package TRexTest::Syntax;
# Does not compile: the line gives PAM_MODULE_UNKNOWN.
sub authenticate { 0
1;
