# Self-test of the project's Test::Nginx stand-in (t/lib): sample test
# files run through it against plain nginx, and the TAP they print must
# hold exactly the passes, failures and test counts expected.  Run it with
# `prove t/lib/t/`; it tests this harness only, whichever one `make test`
# uses.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Test::More;

my $lib = abs_path(dirname(__FILE__) . '/..');
my $nginx = $ENV{TEST_NGINX_BINARY}
            || (grep { -x } map { "$_/nginx" } split(/:/, $ENV{PATH}),
                '/usr/sbin')[0];
plan skip_all => 'no nginx binary found' unless $nginx;

# Runs one sample file; returns (tap text, exit status).
sub run_sample {
    my ($name, $text, %env) = @_;
    my $dir = tempdir(CLEANUP => 1);
    mkdir "$dir/t";
    open my $out, '>', "$dir/t/$name.t" or die "$dir/t/$name.t: $!";
    print $out $text;
    close $out;

    local %ENV = %ENV;
    delete @ENV{grep { /^TEST_NGINX_/ } keys %ENV};
    @ENV{keys %env} = values %env;
    $ENV{PERL5LIB} = $lib;
    $ENV{TEST_NGINX_BINARY} = $nginx;
    $ENV{TEST_NGINX_RANDOMIZE} = 1;

    my $tap = `cd '$dir' && '$^X' t/$name.t 2>&1`;
    my $status = $? >> 8;

    # the randomized server root goes away with its nginx
    my @left = glob("$dir/t/servroot_*");
    ok(!@left, "$name - server root removed at the end");
    return ($tap, $status);
}

sub results {
    my $tap = shift;
    my @r = $tap =~ /^((?:not )?ok) \d+/mg;
    return (scalar(grep { $_ eq 'ok' } @r), scalar(grep { $_ ne 'ok' } @r));
}

my $header = <<'EOF';
use Test::Nginx::Socket;
repeat_each(2);
no_shuffle();
plan tests => repeat_each() * PLAN;
run_tests();
__DATA__
EOF

# ---- everything right: the exact count, all passing ------------------------

my $good = <<'EOF';
=== TEST 1: body, headers, logs
--- config
    location = /t {
        add_header X-A a;
        add_header X-B b;
        return 200 "hi\n";
    }
--- request
GET /t
--- response_headers
X-A: a
X-B: b
!X-Absent
--- response_body
hi
--- error_log
http finalize request
GET /t
--- no_error_log
[error]
[alert]

=== TEST 2: several requests, expectations per request
--- config
    location = /a { return 200 "a"; }
    location = /b { return 404; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 404]
--- response_body_like eval
["^a\$", "Not Found"]

=== TEST 3: pipelined
--- config
    location = /a { return 200 "a"; }
    location = /bb { return 200 "bb"; }
--- pipelined_requests eval
["GET /a", "GET /bb"]
--- response_body eval
["a", "bb"]

=== TEST 4: chunked answer decoded
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "from upstream"; }
    }
--- config
    location = /c {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/;
        sub_filter "upstream" "UPSTREAM";
        sub_filter_types *;
    }
--- request
GET /c
--- response_headers
Transfer-Encoding: chunked
--- response_body: from UPSTREAM

=== TEST 5: must_die with the error log of the failed start
--- config
    location = /x { no_such_directive; }
--- must_die
--- error_log
unknown directive "no_such_directive"

=== TEST 6: skip_eval skips the given number of tests
--- skip_eval: 3: 1
--- config
    location = /s { return 200; }
--- request
GET /s
--- response_body:
--- no_error_log
[error]
EOF

# per repetition: T1 1+3+1+2+2 = 9, T2 2+2 = 4, T3 2+2 = 4, T4 3,
# T5 2, T6 3 skipped
(my $good_t = $header) =~ s/PLAN/25/;
my ($tap, $status) = run_sample('good', $good_t . $good);
my ($pass, $fail) = results($tap);
is($status, 0, 'good - exit status 0') or diag($tap);
is($fail, 0, 'good - no failure');
is($pass, 50, 'good - 50 tests, as the real harness counts them');
like($tap, qr/^ok \d+ # skip/m, 'good - skip_eval emits skips');

# ---- every kind of wrong expectation fails ------------------------------------

my %wrong = (
    error_code => <<'EOF',
--- request
GET /w
--- error_code: 404
EOF
    response_body => <<'EOF',
--- request
GET /w
--- response_body: nope
EOF
    response_body_like => <<'EOF',
--- request
GET /w
--- response_body_like: ^nope$
EOF
    response_body_unlike => <<'EOF',
--- request
GET /w
--- response_body_unlike: wrong
EOF
    response_headers => <<'EOF',
--- request
GET /w
--- response_headers
X-W: other
EOF
    absent_header => <<'EOF',
--- request
GET /w
--- response_headers
!X-W
EOF
    response_headers_like => <<'EOF',
--- request
GET /w
--- response_headers_like
X-W: \d+
EOF
    error_log => <<'EOF',
--- request
GET /w
--- error_log
a line nginx never writes
EOF
    no_error_log => <<'EOF',
--- request
GET /w
--- no_error_log
http finalize request
EOF
    grep_error_log => <<'EOF',
--- request
GET /w
--- grep_error_log eval: qr/http finalize request: \d+/
--- grep_error_log_out
http finalize request: 404
EOF
    timeout => <<'EOF',
--- request
GET /slow
--- timeout: 300ms
EOF
);

for my $what (sort keys %wrong) {
    my $t = <<"EOF" . $wrong{$what};
use Test::Nginx::Socket 'no_plan';
run_tests();
__DATA__
=== TEST 1: wrong $what
--- config
    location = /w { add_header X-W wrong; return 200 "wrong"; }
    location = /slow { limit_rate 1; return 200 "slow answer"; }
EOF
    my ($tap, $status) = run_sample("wrong_$what", $t);
    my ($p, $f) = results($tap);
    ok($f >= 1, "wrong $what - reported as not ok") or diag($tap);
    isnt($status, 0, "wrong $what - non-zero exit status");
}

my $alive = <<'EOF';
use Test::Nginx::Socket 'no_plan';
run_tests();
__DATA__
=== TEST 1: a good config must not pass as must_die
--- config
    location = /x { return 200; }
--- must_die
EOF
($tap, $status) = run_sample('must_die_alive', $alive);
($pass, $fail) = results($tap);
is($fail, 1, 'must_die on a good config - fails') or diag($tap);

# ---- a plan written for a different count fails --------------------------------

(my $miscount = $header) =~ s/PLAN/24/;
($tap, $status) = run_sample('miscount', $miscount . $good);
isnt($status, 0, 'a wrong plan makes the file fail') or diag($tap);

done_testing();
