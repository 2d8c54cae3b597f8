# Kyma's legacy endpoint, POST /{application}/v1/events: Kyma's validation
# order and answers byte for byte (reference/kyma-publisher.md sections
# 2-3), the conversion to a CloudEvent read back from the stream, Kyma 2's
# type naming, and the backend failures.

use lib 't/inc';
use EmTest::NATS;
use EmTest::HTTP;
use EmTest::Stored;
use Test::Nginx::Socket 'no_plan';

my $nats = EmTest::NATS->start;
$nats->create_broker('default', 'default');
$nats->create_broker('default', 'full', max_msgs => 1);
$nats->js_publish('em.default.full.filler', 'x');

EmTest::Stored::watch($nats, 'default', 'default');

our $HttpConfig = <<'_EOC_';
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
_EOC_

our $Config = <<'_EOC_';
    location ~ ^/(?<app>[^/]+)/v1/events$ {
        event_mesh_legacy default/default;
        event_mesh_source $app;
    }
    location = /status { event_mesh_status; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    my $init = $block->init // '';
    $block->set_value('init',
        "EmTest::HTTP::wait_nats_connected('/status');\n$init");
});

sub missing { qq({"status":400,"type":"validation_violation","message":"Missing field","details":[{"field":"$_[0]","type":"missing_field","message":"Missing field"}]}\n) }
sub invalid { qq({"status":400,"type":"validation_violation","message":"Invalid field","details":[{"field":"$_[0]","type":"invalid_field","message":"Invalid field"}]}\n) }

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a legacy event becomes a CloudEvent; 200 with Kyma's body
--- request
POST /mock/v1/events
{"event-type":"user.created","event-type-version":"v1","event-id":"8954ad1c-78ed-4c58-a639-68bd44031de0","event-time":"2018-11-02T22:08:41+00:00","data":{"userId": "42",  "x":[1]}}
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body
{"event-id":"8954ad1c-78ed-4c58-a639-68bd44031de0","status":"","reason":""}
--- stored eval
[{ subject => 'em.default.default.user.created',
   data => '{"userId": "42",  "x":[1]}',
   'ce-specversion' => '1.0',
   'ce-id' => '8954ad1c-78ed-4c58-a639-68bd44031de0',
   'ce-source' => 'mock', 'ce-type' => 'user.created',
   'ce-eventtypeversion' => 'v1',
   'ce-datacontenttype' => 'application/json',
   'ce-time' => '2018-11-02T22:08:41+00:00' }]



=== TEST 2: without event-id a UUIDv4 is made, and answered
--- request
POST /mock/v1/events
{"event-type":"order.paid","event-type-version":"v2","event-time":"2024-01-01T10:00:00Z","data":"a string stays a JSON string"}
--- error_code: 200
--- response_body_like eval
qr/^\{"event-id":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","status":"","reason":""\}\n\z/
--- stored eval
[{ subject => 'em.default.default.order.paid',
   data => '"a string stays a JSON string"', 'ce-eventtypeversion' => 'v2' }]



=== TEST 3: keys match case-insensitively, unknown keys are ignored, Content-Type is not checked
--- more_headers
Content-Type: text/plain
--- request
POST /mock/v1/events
{"Event-Type":"a.b","EVENT-TYPE-VERSION":"v1","event-time":"2024-01-01T10:00:00Z","data":0,"extra":true}
--- error_code: 200
--- stored eval
[{ subject => 'em.default.default.a.b', data => '0' }]



=== TEST 4: an unanchored version regex: v1.0 passes
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1.0","event-time":"2024-01-01T10:00:00Z","data":{}}
--- error_code: 200
--- stored eval
[{ 'ce-eventtypeversion' => 'v1.0' }]



=== TEST 5: an uppercase UUID is a valid event-id
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1","event-id":"8954AD1C-78ED-4C58-A639-68BD44031DE0","event-time":"2024-01-01T10:00:00Z","data":false}
--- error_code: 200
--- response_body
{"event-id":"8954AD1C-78ED-4C58-A639-68BD44031DE0","status":"","reason":""}
--- stored eval
[{ 'ce-id' => '8954AD1C-78ED-4C58-A639-68BD44031DE0', data => 'false' }]



=== TEST 6: an empty body is bad payload syntax
--- request
POST /mock/v1/events
--- error_code: 400
--- response_body
{"status":400,"type":"bad_payload_syntax","message":"Bad payload syntax","moreInfo":"Bad payload syntax"}



=== TEST 7: bad JSON names Go's error
--- request
POST /mock/v1/events
{"event-type": tru}
--- error_code: 400
--- response_body_like eval
qr/^\{"status":400,"type":"bad_payload_syntax","message":"Bad payload syntax","moreInfo":"invalid character [^"]*"\}\n\z/



=== TEST 8: missing event-type
--- request
POST /mock/v1/events
{"event-type-version":"v1","event-time":"2024-01-01T10:00:00Z","data":1}
--- error_code: 400
--- response_body eval
main::missing('event-type')



=== TEST 9: missing event-type-version comes before a bad event-time
--- request
POST /mock/v1/events
{"event-type":"a","event-time":"yesterday","data":1}
--- error_code: 400
--- response_body eval
main::missing('event-type-version')



=== TEST 10: an event-type-version without any letter or digit is invalid
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"..","event-time":"2024-01-01T10:00:00Z","data":1}
--- error_code: 400
--- response_body eval
main::invalid('event-type-version')



=== TEST 11: missing event-time
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1","data":1}
--- error_code: 400
--- response_body eval
main::missing('event-time')



=== TEST 12: event-time without an offset is invalid
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1","event-time":"2024-01-01T10:00:00","data":1}
--- error_code: 400
--- response_body eval
main::invalid('event-time')



=== TEST 13: an event-id that is not a UUID is invalid
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1","event-id":"42","event-time":"2024-01-01T10:00:00Z","data":1}
--- error_code: 400
--- response_body eval
main::invalid('event-id')



=== TEST 14: data "" counts as missing
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1","event-time":"2024-01-01T10:00:00Z","data":""}
--- error_code: 400
--- response_body eval
main::missing('data')



=== TEST 15: data null counts as missing
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1","event-time":"2024-01-01T10:00:00Z","data":null}
--- error_code: 400
--- response_body eval
main::missing('data')



=== TEST 16: a body over the limit is 413 with Kyma's body
--- config
    location ~ ^/(?<app>[^/]+)/v1/events$ {
        event_mesh_legacy default/default;
        event_mesh_source $app;
        event_mesh_max_event_size 100;
    }
    location = /status { event_mesh_status; }
--- request eval
"POST /mock/v1/events\n" . '{"event-type":"a","event-type-version":"v1","event-time":"2024-01-01T10:00:00Z","data":"' . ('x' x 200) . '"}'
--- error_code: 413
--- response_body
{"status":413,"type":"request_body_too_large","message":"Request body too large","moreInfo":"http: request body too large"}



=== TEST 17: GET on the endpoint is 405 with an empty body
--- request
GET /mock/v1/events
--- error_code: 405
--- response_body:



=== TEST 18: Kyma 2's type naming with event_mesh_legacy_type_prefix
--- config
    location ~ ^/(?<app>[^/]+)/v1/events$ {
        event_mesh_legacy default/default;
        event_mesh_source $app;
        event_mesh_legacy_type_prefix sap.kyma.custom;
    }
    location = /status { event_mesh_status; }
--- request
POST /my-app/v1/events
{"event-type":"Account.Root-x.Created","event-type-version":"v1","event-time":"2024-01-01T10:00:00Z","data":{}}
--- error_code: 200
--- stored eval
[{ subject => 'em.default.default.sap.kyma.custom.myapp.AccountRootx.Created.v1',
   'ce-type' => 'sap.kyma.custom.myapp.AccountRootx.Created.v1',
   'ce-source' => 'my-app', 'ce-eventtypeversion' => 'v1' }]



=== TEST 19: no stream for the broker: 504 "cannot send to stream"
--- config
    location ~ ^/(?<app>[^/]+)/v1/events$ {
        event_mesh_legacy default/missing;
        event_mesh_source $app;
    }
    location = /status { event_mesh_status; }
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1","event-time":"2024-01-01T10:00:00Z","data":1}
--- error_code: 504
--- response_body
{"status":504,"message":"cannot send to stream"}



=== TEST 20: a full stream: 507 "insufficient resources on target stream"
--- config
    location ~ ^/(?<app>[^/]+)/v1/events$ {
        event_mesh_legacy default/full;
        event_mesh_source $app;
    }
    location = /status { event_mesh_status; }
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1","event-time":"2024-01-01T10:00:00Z","data":1}
--- error_code: 507
--- response_body
{"status":507,"message":"insufficient resources on target stream"}



=== TEST 21: the channel does not answer in time: 504
--- config
    location ~ ^/(?<app>[^/]+)/v1/events$ {
        event_mesh_legacy default/default;
        event_mesh_source $app;
        event_mesh_ack_timeout 300ms;
    }
    location = /status { event_mesh_status; }
--- init
EmTest::NATS->instance->pause;
--- request
POST /mock/v1/events
{"event-type":"late","event-type-version":"v1","event-id":"11111111-2222-4333-8444-555555555555","event-time":"2024-01-01T10:00:00Z","data":1}
--- error_code: 504
--- response_body
{"status":504,"message":"cannot send to stream"}
--- after_request
# the event reached the server before it paused: it is stored once resumed,
# so the client's retry (safe, the id is the same) would be de-duplicated
my $nats = EmTest::NATS->instance;
my $s = EmTest::NATS::stream_name('default', 'default');
$nats->resume;
for (1 .. 250) {
    my $last = $nats->stream_info($s)->{state}{last_seq};
    my $m = $last && $nats->stream_msg_get($s, $last);
    last if $m && ($m->{header}{'ce-id'} // '')
                  eq '11111111-2222-4333-8444-555555555555';
    select undef, undef, undef, 0.02;
}
--- stored eval
[{ 'ce-id' => '11111111-2222-4333-8444-555555555555' }]



=== TEST 22: not connected to NATS: 502 "no connection to NATS JetStream server"
--- init
EmTest::NATS->instance->stop;
--- request
POST /mock/v1/events
{"event-type":"a","event-type-version":"v1","event-time":"2024-01-01T10:00:00Z","data":1}
--- error_code: 502
--- response_body
{"status":502,"message":"no connection to NATS JetStream server"}
--- after_request
EmTest::NATS->instance->start;
