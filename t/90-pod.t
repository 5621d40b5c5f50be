use strict;
use warnings;
use Test::More;

plan skip_all => 'Test::Pod 1.22 required' unless eval { require Test::Pod; Test::Pod->VERSION(1.22); 1 };
Test::Pod::all_pod_files_ok(grep { -e } qw(lib bin));
