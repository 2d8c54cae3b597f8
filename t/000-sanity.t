# The module loads, its publish directive is checked at start-up, and the
# test helpers wire a real JetStream server into the configuration.

use lib 't/inc';
use EmTest::NATS;
use EmTest::HTTP;
use Test::Nginx::Socket;

my $nats = EmTest::NATS->start;

plan tests => repeat_each() * (5 + 2 + 2 + 3 + 3) + 5;

run_tests();

# TEST 5 stored its event: read it back from the broker's stream.  Its
# repetitions carry the same source and id, so the stream's duplicate
# window keeps exactly one copy.
my $stream = EmTest::NATS::stream_name('default', 'default');
my $msg = $nats->stream_msg_get($stream, 1);
is($msg && $msg->{subject}, 'em.default.default.sanity.check',
   'TEST 5 - stored under the subject of its type');
is($msg && $msg->{header}{'ce-id'}, 'sanity-1', 'TEST 5 - ce-id header');
is($msg && $msg->{header}{'ce-source'}, '/t/sanity',
   'TEST 5 - ce-source header');
is($msg && $msg->{data}, 'hello mesh', 'TEST 5 - data stored unchanged');
is($nats->msg_count($stream), 1, 'TEST 5 - stored once');

__DATA__

=== TEST 1: the module loads and a publish location refuses GET
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
--- config
    location = /events {
        event_mesh_publish default/default;
    }
--- request
GET /events
--- error_code: 405
--- response_headers
Content-Type: application/json
Allow: POST
--- response_body_like: "method"\s*:\s*"GET"
--- no_error_log
[error]



=== TEST 2: a broker name that is not a Kubernetes name stops start-up
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
--- config
    location = /events {
        event_mesh_publish Bad_Name;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid broker "Bad_Name" in "event_mesh_publish" directive: \S/



=== TEST 3: event_mesh_publish without its argument
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
--- config
    location = /events {
        event_mesh_publish;
    }
--- must_die
--- error_log eval
qr/\[emerg\] .*invalid number of arguments in "event_mesh_publish" directive/



=== TEST 4: event_mesh_nats gets the helper's port and the worker connects
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
--- config
    location = /status {
        event_mesh_status;
    }
--- init
EmTest::HTTP::wait_nats_connected('/status');
--- request
GET /status
--- response_body_like eval
qr/"connected":true,"server":"127\.0\.0\.1:$ENV{TEST_NGINX_NATS_PORT}"/
--- no_error_log
[error]



=== TEST 5: an event goes through the module into the broker's stream
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
--- config
    location = /events {
        event_mesh_publish default/default;
    }
    location = /status {
        event_mesh_status;
    }
--- init
EmTest::NATS->instance->create_broker('default', 'default');
EmTest::HTTP::wait_nats_connected('/status');
--- more_headers
Content-Type: text/plain
ce-specversion: 1.0
ce-id: sanity-1
ce-source: /t/sanity
ce-type: sanity.check
--- request
POST /events
hello mesh
--- error_code: 202
--- response_body:
--- no_error_log
[error]
