# The CloudEvents ingress: every answer of DESIGN section 2, and what each
# one leaves in the broker's stream (read back through the JetStream API
# after every block: the events of a 2xx, byte for byte, and nothing for an
# error).

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
    underscores_in_headers on;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    my $init = $block->init // '';
    $block->set_value('init',
        "EmTest::HTTP::wait_nats_connected('/status');\n$init");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: binary mode: 202 after the ack, headers and data stored as sent
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/json
ce-specversion: 1.0
ce-id: A234-1234-1234
ce-source: https://example.com/shop
ce-type: com.example.order.created
ce-time: 2018-04-05T17:31:00Z
ce-subject: order-1
ce-comexampleext: value
--- request
POST /events
{"order": 1,  "items": [1, 2]}
--- error_code: 202
--- response_body:
--- stored eval
[{ subject => 'em.default.default.com.example.order.created',
   data => qq({"order": 1,  "items": [1, 2]}),
   'ce-specversion' => '1.0', 'ce-id' => 'A234-1234-1234',
   'ce-source' => 'https://example.com/shop',
   'ce-type' => 'com.example.order.created',
   'ce-time' => '2018-04-05T17:31:00Z', 'ce-subject' => 'order-1',
   'ce-comexampleext' => 'value',
   'ce-datacontenttype' => 'application/json' }]
--- no_error_log
[error]



=== TEST 2: binary mode: percent-encoded and quoted header values
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: text/plain; charset=utf-8
ce-specversion: 1%2E0
ce-id: "quoted id"
ce-source: urn:example:shop
ce-type: t
ce-subject: caf%C3%A9%20au%20lait
--- request
POST /events
hello
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.t', data => 'hello',
   'ce-specversion' => '1.0', 'ce-id' => 'quoted%20id',
   'ce-subject' => 'caf%C3%A9%20au%20lait',
   'ce-datacontenttype' => 'text/plain;%20charset=utf-8' }]



=== TEST 3: binary mode without a body: no data, no datacontenttype
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
ce-specversion: 1.0
ce-id: empty-1
ce-source: urn:example:shop
ce-type: ping
--- request
POST /events
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.ping', data => '',
   'ce-datacontenttype' => undef }]



=== TEST 4: structured mode: data stored as the bytes that were sent
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents+json; charset=UTF-8
--- request
POST /events
{"specversion":"1.0","id":"s-1","source":"urn:example:shop","type":"order.paid","datacontenttype":"application/json","data": {"total" : 12.50, "currency":"EUR"}}
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.order.paid',
   data => '{"total" : 12.50, "currency":"EUR"}',
   'ce-id' => 's-1', 'ce-datacontenttype' => 'application/json' }]



=== TEST 5: structured mode: data_base64 is stored decoded
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents+json
--- request
POST /events
{"specversion":"1.0","id":"s-2","source":"urn:example:shop","type":"blob","datacontenttype":"application/octet-stream","data_base64":"AAECAw=="}
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.blob', data => "\x00\x01\x02\x03",
   'ce-datacontenttype' => 'application/octet-stream' }]



=== TEST 6: batch mode: every event stored, in order, 202 after the last ack
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request
POST /events
[{"specversion":"1.0","id":"b-1","source":"urn:a","type":"x.one","data":1},
 {"specversion":"1.0","id":"b-2","source":"urn:a","type":"x.two","data":"two"},
 {"specversion":"1.0","id":"b-3","source":"urn:a","type":"x.three"}]
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.x.one', data => '1', 'ce-id' => 'b-1' },
 { subject => 'em.default.default.x.two', data => '"two"', 'ce-id' => 'b-2' },
 { subject => 'em.default.default.x.three', data => '', 'ce-id' => 'b-3' }]



=== TEST 7: an empty batch is valid and stores nothing
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request
POST /events
[]
--- error_code: 202
--- response_body:



=== TEST 8: 400 lists every violation of a binary event
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/json
ce-specversion: 1.0
ce-source: urn:example:shop
ce-type: t
ce-time: 2025-03-09T08:15:30
--- request
POST /events
{"a":1}
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body_like eval
qr/^\{"error":"invalid CloudEvent","mode":"binary","violations":\[\{"attribute":"id","location":"header ce-id".*\{"attribute":"time","location":"header ce-time","rule":"[^"]*offset[^"]*","value":"2025-03-09T08:15:30"\}/



=== TEST 9: 400 for a batch names the index; nothing of the batch is stored
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request
POST /events
[{"specversion":"1.0","id":"ok","source":"urn:a","type":"fine"},
 {"specversion":"1.0","id":"","source":"urn:a","type":"bad"}]
--- error_code: 400
--- response_body_like eval
qr/"mode":"batch".*"attribute":"id","location":"body\[1\]\.id".*"index":1/



=== TEST 10: 415 for a CloudEvents format the ingress does not speak
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents+xml
--- request
POST /events
<event/>
--- error_code: 415
--- response_body_like: "error":"unsupported media type"



=== TEST 11: 415 for a structured event in another charset than UTF-8
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents+json; charset=iso-8859-1
--- request
POST /events
{"specversion":"1.0","id":"c","source":"urn:a","type":"t"}
--- error_code: 415
--- response_body_like: charset



=== TEST 12: 415 for a batch where batch mode is turned off
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_batch off;
    }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request
POST /events
[]
--- error_code: 415
--- response_body_like: batch



=== TEST 13: 413 when Content-Length is over the limit, before reading it
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_max_event_size 1k;
    }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/json
ce-specversion: 1.0
ce-id: big
ce-source: urn:a
ce-type: t
--- request eval
"POST /events\n" . ('"' . ('x' x 2000) . '"')
--- error_code: 413
--- response_body_like: "error":"request body too large"



=== TEST 14: 413 for a chunked body that grows over the limit
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_max_event_size 1k;
    }
    location = /status { event_mesh_status; }
--- raw_request eval
"POST /events HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: text/plain\r
ce-specversion: 1.0\r
ce-id: chunked\r
ce-source: urn:a\r
ce-type: t\r
Transfer-Encoding: chunked\r
\r
400\r
" . ('y' x 1024) . "\r
400\r
" . ('y' x 1024) . "\r
0\r
\r
"
--- error_code: 413
--- response_body_like: "error":"request body too large"



=== TEST 15: an event just under the 64 KiB default is stored intact
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/octet-stream
ce-specversion: 1.0
ce-id: near-limit
ce-source: urn:a
ce-type: big
--- request eval
"POST /events\n" . ('z' x 65000)
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.big', data => 'z' x 65000 }]



=== TEST 16: 413 for an event whose headers push it over the limit
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers eval
"Content-Type: application/octet-stream
ce-specversion: 1.0
ce-id: over-limit
ce-source: urn:a
ce-type: big
ce-padding: " . ('p' x 1000)
--- request eval
"POST /events\n" . ('z' x 65000)
--- error_code: 413
--- response_body_like: "error":"event too large"



=== TEST 17: 413 for a batch with more events than allowed
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_max_batch_events 2;
    }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request
POST /events
[{"specversion":"1.0","id":"1","source":"urn:a","type":"t"},
 {"specversion":"1.0","id":"2","source":"urn:a","type":"t"},
 {"specversion":"1.0","id":"3","source":"urn:a","type":"t"}]
--- error_code: 413



=== TEST 17a: a batch over client_max_body_size but within the module's limits is stored
nginx's own Content-Length check (an HTML 413) must not answer for the
module, whose limits here allow 100 events of 1k.
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_max_event_size 1k;
        client_max_body_size 1k;
    }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request eval
"POST /events\n["
. join(',', map { qq({"specversion":"1.0","id":"cm$_","source":"urn:a",)
                  . qq("type":"cmbs","data":") . ('d' x 600) . '"}' } 1 .. 3)
. "]"
--- error_code: 202
--- stored eval
[map { { subject => 'em.default.default.cmbs', 'ce-id' => "cm$_",
         data => '"' . ('d' x 600) . '"' } } 1 .. 3]



=== TEST 17b: chunked, the same batch is stored too
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_max_event_size 1k;
        client_max_body_size 1k;
    }
    location = /status { event_mesh_status; }
--- raw_request eval
my $body = "["
    . join(',', map { qq({"specversion":"1.0","id":"ch$_","source":"urn:a",)
                      . qq("type":"cmbs","data":") . ('d' x 600) . '"}' }
               1 .. 3)
    . "]";
"POST /events HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: application/cloudevents-batch+json\r
Transfer-Encoding: chunked\r
\r
" . sprintf("%x", length $body) . "\r
$body\r
0\r
\r
"
--- error_code: 202
--- stored eval
[map { { subject => 'em.default.default.cmbs', 'ce-id' => "ch$_" } } 1 .. 3]



=== TEST 17c: over the module's limit, the 413 is still the module's JSON
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_max_event_size 1k;
        event_mesh_max_batch_events 2;
        client_max_body_size 1k;
    }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request eval
"POST /events\n[" . ('"' . ('x' x 3000) . '"') . "]"
--- error_code: 413
--- response_body_like: "error":"request body too large"



=== TEST 18: 403 when the event claims another application's source
--- config
    location ~ ^/(?<app>[a-z]+)/events$ {
        event_mesh_publish default/default;
        event_mesh_source $app;
    }
    location = /status { event_mesh_status; }
--- more_headers
ce-specversion: 1.0
ce-id: spoof
ce-source: billing
ce-type: t
--- request
POST /shop/events
--- error_code: 403
--- response_body_like eval
qr/"error":"source not allowed".*"attribute":"source".*only events whose source is \\"shop\\".*"value":"billing"/



=== TEST 19: the application's own source passes event_mesh_source
--- config
    location ~ ^/(?<app>[a-z]+)/events$ {
        event_mesh_publish default/default;
        event_mesh_source $app;
    }
    location = /status { event_mesh_status; }
--- more_headers
ce-specversion: 1.0
ce-id: own
ce-source: shop
ce-type: t
--- request
POST /shop/events
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.t', 'ce-source' => 'shop' }]



=== TEST 20: 404 when no stream takes the broker's subjects
--- config
    location = /events { event_mesh_publish default/missing; }
    location = /status { event_mesh_status; }
--- more_headers
ce-specversion: 1.0
ce-id: nowhere
ce-source: urn:a
ce-type: t
--- request
POST /events
--- error_code: 404
--- response_body_like: "error":"unknown broker"



=== TEST 21: 507 when the stream is full (it discards new events)
--- config
    location = /events { event_mesh_publish default/full; }
    location = /status { event_mesh_status; }
--- more_headers
ce-specversion: 1.0
ce-id: no-room
ce-source: urn:a
ce-type: t
--- request
POST /events
--- error_code: 507
--- response_body_like: "error":"channel full","reason":"maximum messages exceeded"



=== TEST 22: the same source and id twice: both 202, stored once
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents+json
--- pipelined_requests eval
["POST /events\n" . '{"specversion":"1.0","id":"dup-1","source":"urn:dedupe","type":"d"}',
 "POST /events\n" . '{"specversion":"1.0","id":"dup-1","source":"urn:dedupe","type":"d"}']
--- error_code eval
[202, 202]
--- stored eval
[{ subject => 'em.default.default.d', 'ce-id' => 'dup-1' }]



=== TEST 23: an HTTP traceparent becomes the event's when it has none
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
ce-specversion: 1.0
ce-id: traced
ce-source: urn:a
ce-type: t
--- request
POST /events
--- error_code: 202
--- stored eval
[{ 'ce-traceparent' => '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }]



=== TEST 24: a structured event with a type that needs encoding in the subject
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents+json
--- request
POST /events
{"specversion":"1.0","id":"w","source":"urn:a","type":"a.*.>.b c"}
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.a.~2A.~3E.b~20c' }]
