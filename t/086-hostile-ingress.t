# Hostile input on the CloudEvents ingress, with a real nats-server behind
# it: oversize bodies and headers, 10 000 ce- headers, deeply nested JSON,
# invalid UTF-8, NUL bytes, CR/LF in attribute values, batches far over
# event_mesh_max_batch_events, slow clients and pipelined garbage.  Each
# gets its precise 4xx (the module's JSON body naming the attribute and the
# rule where it gives one) or a closed connection; never a crash, a hung
# worker or a stored event: EmTest::Stored reads the stream after every
# block, every block starts by asking the worker for its status, and no
# block may log [alert], [crit] or [emerg].

use strict;
use warnings;

use lib 't/inc';
use EmTest::NATS;
use EmTest::HTTP;
use EmTest::Stored;
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep time);
use Test::Nginx::Socket 'no_plan';

my $nats = EmTest::NATS->start;
$nats->create_broker('default', 'default');
EmTest::Stored::watch($nats, 'default', 'default');

# Debian's nginx refuses more than max_headers (1000) header lines before
# any module sees them; with the directive the limit can be raised.
our $MaxHeaders = do {
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    ($bin) = grep { -x } map { "$_/$bin" } split /:/, $ENV{PATH}
        unless $bin =~ m{/};
    my $found = 0;
    if ($bin && open my $fh, '<:raw', $bin) {
        local $/;
        my $bytes = <$fh>;
        $found = index($bytes, "max_headers\0") >= 0;
    }
    $found;
};

our $HttpConfig = <<'_EOC_';
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
_EOC_

our $Config = <<'_EOC_';
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    # the worker still answers: nothing before hung it
    my $init = $block->init // '';
    $block->set_value('init',
        "EmTest::HTTP::wait_nats_connected('/status');\n$init");
    $block->set_value('no_error_log', "[alert]\n[crit]\n[emerg]\n")
        unless defined $block->no_error_log;
});

# ---- helpers for what a block cannot say itself -----------------------------

# Sends raw bytes on a connection of its own; returns { code, type, body,
# closed (nginx closed the connection), secs }.
sub raw_exchange {
    my ($bytes, $timeout) = @_;
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => EmTest::HTTP::server_port(), Proto => 'tcp')
        or return { code => 0, body => "connect: $!" };
    local $SIG{PIPE} = 'IGNORE';
    syswrite $s, $bytes;
    my ($in, $closed, $sel) = ('', 0, IO::Select->new($s));
    my $deadline = time + ($timeout // 5);
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread $s, my $buf, 65536;
        if (!$n) { $closed = 1; last }
        $in .= $buf;
    }
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $in, 2;
    my ($code) = ($head // '') =~ m{^HTTP/1\.\d (\d+)};
    my ($type) = ($head // '') =~ m{^Content-Type: *(\S+)}mi;
    return { code => $code // 0, type => $type // '', body => $body // '',
             closed => $closed, secs => time - $t0, raw => $in };
}

# Slow clients: connections that send a part of a request and stall.
our @Slow;

sub slow_open {
    my ($bytes) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => EmTest::HTTP::server_port(), Proto => 'tcp')
        or die "connect: $!\n";
    syswrite $s, $bytes;
    push @Slow, { sock => $s, t0 => time };
}

# Each slow connection must be closed by nginx within $within seconds of
# being opened, with no answer or a 408; then they are forgotten.
sub slow_check {
    my ($name, $within) = @_;
    my $i = 0;
    for my $c (@Slow) {
        $i++;
        my ($in, $closed, $sel) = ('', 0, IO::Select->new($c->{sock}));
        my $deadline = $c->{t0} + $within + 6;
        while (time < $deadline) {
            last unless $sel->can_read($deadline - time);
            my $n = sysread $c->{sock}, my $buf, 65536;
            if (!$n) { $closed = 1; last }
            $in .= $buf;
        }
        my $took = time - $c->{t0};
        Test::More::ok($closed && $took < $within + 4,
            sprintf "%s - slow connection %d closed after %.1f s", $name, $i,
            $took);
        Test::More::like($in, qr{^(?:|HTTP/1\.1 408 .*)\z}s,
            "$name - slow connection $i: no answer, or 408");
        close $c->{sock};
    }
    @Slow = ();
}

# TEST 8: what a block cannot say about two answers at once.
sub test8_many_headers {
    my $head = "POST /events HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\nce-specversion: 1.0\r\n"
             . "ce-source: urn:hostile\r\nce-type: t\r\n";
    my $r = raw_exchange($head . "ce-id: nats-headers\r\n"
        . join('', map { "ce-x$_: v\r\n" } 1 .. 10000) . "\r\n", 10);
    Test::More::is($r->{code}, 413,
                   'TEST 8 - over 64 KiB of NATS headers: 413')
        or Test::More::diag("$r->{code} $r->{body}");
    Test::More::like($r->{body},
        qr/^\{"error":"event too large",.*"rule":"the event's attributes take more than the 64 KiB of headers JetStream stores with a message"\}$/,
        'TEST 8 - the rule names JetStream\'s header limit');
    $r = raw_exchange($head
        . join('', map { "ce-id: v$_\r\n" } 1 .. 10000) . "\r\n", 10);
    Test::More::is($r->{code}, 400, 'TEST 8 - 10 000 ce-id headers: 400');
    Test::More::cmp_ok(length $r->{body}, '<', 65536,
                       'TEST 8 - the 400 body stays under 64 kB')
        or Test::More::diag(length($r->{body}) . ' bytes');
    Test::More::like($r->{body}, qr/"violations_omitted":9\d\d\d\b/,
                     'TEST 8 - the violations past the first 100 are counted');
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a Content-Length of 100 MB: refused before a byte of it is read
--- raw_request eval
"POST /events HTTP/1.1\r
Host: localhost\r
Connection: close\r
ce-specversion: 1.0\r
ce-id: huge-cl\r
ce-source: urn:hostile\r
ce-type: t\r
Content-Length: 100000000\r
\r
only a little"
--- timeout: 10
--- error_code: 413



=== TEST 2: the same under a raised client_max_body_size: the module's 413, at once
--- config
    location = /events {
        event_mesh_publish default/default;
        client_max_body_size 200m;
    }
    location = /status { event_mesh_status; }
--- raw_request eval
"POST /events HTTP/1.1\r
Host: localhost\r
Connection: close\r
ce-specversion: 1.0\r
ce-id: huge-cl-2\r
ce-source: urn:hostile\r
ce-type: t\r
Content-Length: 100000000\r
\r
only a little"
--- timeout: 10
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"error":"request body too large","rule":"the body is larger than event_mesh_max_event_size



=== TEST 3: a body of 70 000 bytes, over the 64k event limit
--- more_headers
Content-Type: application/octet-stream
ce-specversion: 1.0
ce-id: big-body
ce-source: urn:hostile
ce-type: t
--- request eval
"POST /events\n" . ('b' x 70000)
--- error_code: 413
--- response_body_like: "error":"request body too large"



=== TEST 4: a chunked body that goes on past the limit: 413 once over it
--- raw_request eval
"POST /events HTTP/1.1\r
Host: localhost\r
Connection: close\r
Content-Type: text/plain\r
ce-specversion: 1.0\r
ce-id: endless-chunks\r
ce-source: urn:hostile\r
ce-type: t\r
Transfer-Encoding: chunked\r
\r
" . CORE::join('', map { "1000\r\n" . ('c' x 4096) . "\r\n" } 1 .. 256) . "0\r\n\r\n"
--- timeout: 10
--- error_code: 413
--- response_body_like: "error":"request body too large"



=== TEST 5: one header of 20 000 bytes: nginx refuses it, the module never sees it
--- more_headers eval
"ce-specversion: 1.0
ce-id: big-header
ce-source: urn:hostile
ce-type: t
ce-big: " . ('h' x 20000)
--- request
POST /events
--- error_code: 400
--- response_body_like: Request Header Or Cookie Too Large



=== TEST 6: 10 000 ce- headers: nginx refuses them under its default limits
--- more_headers eval
"ce-specversion: 1.0
ce-id: ten-thousand
ce-source: urn:hostile
ce-type: t
" . CORE::join("\n", map { "ce-x$_: v" } 1 .. 10000)
--- request
POST /events
--- error_code: 400



=== TEST 7: 10 000 ce- headers past nginx's limits: the event is too large (413)
--- skip_eval: 3: !$main::MaxHeaders
--- http_config eval
"    event_mesh_nats 127.0.0.1:\$TEST_NGINX_NATS_PORT;
    large_client_header_buffers 8 256k;
    " . ($main::MaxHeaders ? 'max_headers 20000;' : '')
--- more_headers eval
"ce-specversion: 1.0
ce-id: ten-thousand-2
ce-source: urn:hostile
ce-type: t
" . CORE::join("\n", map { "ce-x$_: v" } 1 .. 10000)
--- request
POST /events
--- error_code: 413
--- response_body_like eval
qr/^\{"error":"event too large","mode":"binary","violations":\[\{"attribute":"","location":"headers and body","rule":"the event is \d+ bytes \(body plus ce- headers\), over the limit of 65536 bytes"\}\]\}$/



=== TEST 8: 10 000 ce- headers under a 1m event limit
The event passes event_mesh_max_event_size but its NATS headers are over
the 64 KiB JetStream stores: 413 naming that limit (it was a 502 "channel
error").  10 000 repeated ce-id headers get a 400 whose list of violations
is capped (it was 1.4 MB).
--- skip_eval: 5: !$main::MaxHeaders
--- http_config eval
"    event_mesh_nats 127.0.0.1:\$TEST_NGINX_NATS_PORT;
    large_client_header_buffers 8 256k;
    " . ($main::MaxHeaders ? 'max_headers 20000;' : '')
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_max_event_size 1m;
    }
    location = /status { event_mesh_status; }
--- init
main::test8_many_headers();
--- request
GET /status
--- error_code: 200



=== TEST 9: structured mode, data nested 10 000 deep: 400 at the parser's depth limit
--- more_headers
Content-Type: application/cloudevents+json
--- request eval
"POST /events\n" . '{"specversion":"1.0","id":"deep","source":"urn:hostile","type":"t","data":'
    . ('[' x 10000) . (']' x 10000) . '}'
--- error_code: 400
--- response_body_like eval
qr/^\{"error":"invalid CloudEvent","mode":"structured","violations":\[\{"attribute":"","location":"body","rule":"the body is not valid JSON: maximum parsing depth reached/



=== TEST 10: nested 100 000 deep under a 1m limit: the same 400, no stack overflow
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_max_event_size 1m;
    }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents+json
--- request eval
"POST /events\n" . '{"specversion":"1.0","id":"deeper","source":"urn:hostile","type":"t","data":'
    . ('{"a":' x 100000) . '1' . ('}' x 100000) . '}'
--- error_code: 400
--- response_body_like: maximum parsing depth reached



=== TEST 11: a batch nested 5 000 deep
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request eval
"POST /events\n" . ('[' x 5000) . (']' x 5000)
--- error_code: 400
--- response_body_like: "mode":"batch".*maximum parsing depth reached



=== TEST 12: binary mode, a JSON body nested 10 000 deep
--- more_headers
Content-Type: application/json
ce-specversion: 1.0
ce-id: deep-binary
ce-source: urn:hostile
ce-type: t
--- request eval
"POST /events\n" . ('[' x 10000) . (']' x 10000)
--- error_code: 400
--- response_body_like: "attribute":"data","location":"body","rule":"Content-Type application/json says JSON but the body is not valid JSON: objects and arrays nested too deeply



=== TEST 13: invalid UTF-8 percent-encoded in a ce- header
--- more_headers
ce-specversion: 1.0
ce-id: bad-utf8
ce-source: urn:hostile
ce-type: t
ce-subject: caf%C3%28
--- request
POST /events
--- error_code: 400
--- response_body_like: "attribute":"subject","location":"header ce-subject","rule":"the percent-decoded value is not valid UTF-8



=== TEST 14: a raw byte over 0x7F in a ce- header
--- raw_request eval
"POST /events HTTP/1.1\r
Host: localhost\r
Connection: close\r
ce-specversion: 1.0\r
ce-id: raw-high\r
ce-source: urn:hostile\r
ce-type: t\r
ce-subject: caf\xc3\xa9\r
\r
"
--- error_code: 400
--- response_body_like: "attribute":"subject","location":"header ce-subject","rule":"header values must be printable US-ASCII



=== TEST 15: invalid UTF-8 in a structured event
--- more_headers
Content-Type: application/cloudevents+json
--- request eval
"POST /events\n" . qq({"specversion":"1.0","id":"u\xff","source":"urn:hostile","type":"t"})
--- error_code: 400
--- response_body_like: "location":"body","rule":"the body is not valid JSON: unable to decode byte 0xff



=== TEST 16: a UTF-8 encoded surrogate (ED A0 80) in structured data
--- more_headers
Content-Type: application/cloudevents+json
--- request eval
"POST /events\n" . qq({"specversion":"1.0","id":"sur","source":"urn:hostile","type":"t","data":"\xed\xa0\x80"})
--- error_code: 400
--- response_body_like: the body is not valid JSON: unable to decode byte 0xed



=== TEST 17: an escaped lone surrogate \ud800 in an attribute
--- more_headers
Content-Type: application/cloudevents+json
--- request eval
"POST /events\n" . '{"specversion":"1.0","id":"\ud800","source":"urn:hostile","type":"t"}'
--- error_code: 400
--- response_body_like: the body is not valid JSON: invalid Unicode



=== TEST 18: a raw NUL in a header: nginx refuses the request
--- raw_request eval
"POST /events HTTP/1.1\r
Host: localhost\r
Connection: close\r
ce-specversion: 1.0\r
ce-id: nul\x00byte\r
ce-source: urn:hostile\r
ce-type: t\r
\r
"
--- error_code: 400



=== TEST 19: %00 in ce-id: a control character
--- more_headers
ce-specversion: 1.0
ce-id: nul%00id
ce-source: urn:hostile
ce-type: t
--- request
POST /events
--- error_code: 400
--- response_body_like: "attribute":"id","location":"header ce-id","rule":"id must not contain control characters \(U\+0000-U\+001F, U\+007F-U\+009F\)","value":"nul\\\\x00id"



=== TEST 20: \u0000 in a structured event's id
--- more_headers
Content-Type: application/cloudevents+json
--- request eval
"POST /events\n" . '{"specversion":"1.0","id":"nul\u0000id","source":"urn:hostile","type":"t"}'
--- error_code: 400
--- response_body_like: "attribute":"id","location":"body.id","rule":"id must not contain control characters



=== TEST 21: a raw NUL inside a structured event's JSON
--- more_headers
Content-Type: application/cloudevents+json
--- request eval
"POST /events\n" . qq({"specversion":"1.0","id":"nul\x00raw","source":"urn:hostile","type":"t"})
--- error_code: 400
--- response_body_like: the body is not valid JSON: control character 0x0



=== TEST 22: NUL bytes in binary data are data: stored byte for byte
--- more_headers
Content-Type: application/octet-stream
ce-specversion: 1.0
ce-id: nul-data
ce-source: urn:hostile
ce-type: nul.data
--- request eval
"POST /events\n\x00\x00nul\x00data\x00\x00"
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.nul.data', data => "\x00\x00nul\x00data\x00\x00",
   'ce-id' => 'nul-data' }]



=== TEST 23: CR/LF percent-encoded in an extension: refused, never stored
--- more_headers
ce-specversion: 1.0
ce-id: crlf-header
ce-source: urn:hostile
ce-type: t
ce-note: a%0D%0AX-Injected:%20yes
--- request
POST /events
--- error_code: 400
--- response_body_like: "attribute":"note","location":"header ce-note","rule":"note must not contain control characters



=== TEST 24: CR/LF in a structured event's datacontenttype
--- more_headers
Content-Type: application/cloudevents+json
--- request eval
"POST /events\n" . '{"specversion":"1.0","id":"crlf-dct","source":"urn:hostile","type":"t","datacontenttype":"text/plain\r\nX-Injected: yes","data":"x"}'
--- error_code: 400
--- response_body_like: "attribute":"datacontenttype","location":"body.datacontenttype","rule":"datacontenttype must not contain control characters



=== TEST 25: a batch of 1 000 events over event_mesh_max_batch_events 10
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_max_batch_events 10;
    }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request eval
"POST /events\n[" . CORE::join(',', map { qq({"specversion":"1.0","id":"b$_","source":"urn:hostile","type":"t"}) } 1 .. 1000) . ']'
--- error_code: 413
--- response_body_like eval
qr/^\{"error":"event too large","mode":"batch","violations":\[\{"attribute":"","location":"body","rule":"the batch holds 1000 events, over the limit of 10 events"\}\]\}$/



=== TEST 26: a batch of 100 000 events (5.8 MB) under a raised client_max_body_size
--- config
    location = /events {
        event_mesh_publish default/default;
        client_max_body_size 10m;
    }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request eval
"POST /events\n[" . CORE::join(',', map { qq({"specversion":"1.0","id":"b$_","source":"s","type":"t"}) } 1 .. 100000) . ']'
--- timeout: 120
--- error_code: 413
--- response_body_like: "rule":"the batch holds 100000 events, over the limit of 100 events"



=== TEST 27: the same batch under nginx's default client_max_body_size (1m)
--- config
    location = /events {
        event_mesh_publish default/default;
        client_max_body_size 1m;
    }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: application/cloudevents-batch+json
--- request eval
"POST /events\n[" . CORE::join(',', map { qq({"specversion":"1.0","id":"b$_","source":"urn:hostile","type":"t"}) } 1 .. 100000) . ']'
--- timeout: 120
--- error_code: 413



=== TEST 28: slow bodies (client_body_timeout 1s): closed, and the worker serves meanwhile
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
    client_body_timeout 1s;
--- init
my $h = "POST /events HTTP/1.1\r\nHost: localhost\r\nce-specversion: 1.0\r\n"
      . "ce-source: urn:hostile\r\nce-type: t\r\n";
main::slow_open("${h}ce-id: slow-1\r\nContent-Length: 100\r\n\r\nonly ten b");
main::slow_open("${h}ce-id: slow-2\r\nContent-Type: application/cloudevents-batch+json\r\n"
                . "Content-Length: 1000\r\n\r\n[{\"a\":");
main::slow_open("${h}ce-id: slow-3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
--- more_headers
ce-specversion: 1.0
ce-id: while-slow-bodies
ce-source: urn:hostile
ce-type: busy
--- request
POST /events
--- error_code: 202
--- after_request
main::slow_check('TEST 28', 1);
--- stored eval
[{ subject => 'em.default.default.busy', 'ce-id' => 'while-slow-bodies' }]



=== TEST 29: slow headers (client_header_timeout 1s): closed, the worker serves meanwhile
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
    client_header_timeout 1s;
--- init
main::slow_open("POST /events HTTP/1.1\r\nHost: localhost\r\nce-specversion: 1.0\r\n")
    for 1 .. 3;
main::slow_open("POST /ev");
--- more_headers
ce-specversion: 1.0
ce-id: while-slow-headers
ce-source: urn:hostile
ce-type: busy
--- request
POST /events
--- error_code: 202
--- after_request
main::slow_check('TEST 29', 1);
--- stored eval
[{ subject => 'em.default.default.busy', 'ce-id' => 'while-slow-headers' }]



=== TEST 30: an event, then pipelined garbage: the event is stored, the garbage gets 400
--- init
my $r = main::raw_exchange("POST /events HTTP/1.1\r\nHost: localhost\r\n"
    . "ce-specversion: 1.0\r\nce-id: before-garbage\r\nce-source: urn:hostile\r\n"
    . "ce-type: piped\r\nContent-Length: 0\r\n\r\n"
    . "\x00\x01GARBAGE \xff\xfe\r\n\r\n"
    . "POST /events HTTP/1.1\r\nHost: localhost\r\nce-specversion: 1.0\r\n"
    . "ce-id: after-garbage\r\nce-source: urn:hostile\r\nce-type: piped\r\n\r\n");
my @codes = $r->{raw} =~ m{^HTTP/1\.1 (\d+)}mg;
Test::More::is("@codes", '202 400', 'TEST 30 - 202 for the event, 400 for the garbage');
Test::More::ok($r->{closed}, 'TEST 30 - then the connection is closed');
--- request
GET /status
--- error_code: 200
--- stored eval
[{ subject => 'em.default.default.piped', 'ce-id' => 'before-garbage' }]
--- error_log
client sent invalid method



=== TEST 31: garbage first: 400 and closed; the event behind it is never read
--- raw_request eval
"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not HTTP at all\r\n\r\nPOST /events HTTP/1.1\r
Host: localhost\r
ce-specversion: 1.0\r
ce-id: behind-garbage\r
ce-source: urn:hostile\r
ce-type: t\r
\r
"
--- error_code: 400



=== TEST 32: Content-Length and Transfer-Encoding together: 400, nothing smuggled
--- raw_request eval
"POST /events HTTP/1.1\r
Host: localhost\r
ce-specversion: 1.0\r
ce-id: smuggle-1\r
ce-source: urn:hostile\r
ce-type: t\r
Content-Length: 5\r
Transfer-Encoding: chunked\r
\r
0\r
\r
POST /events HTTP/1.1\r
Host: localhost\r
ce-specversion: 1.0\r
ce-id: smuggle-2\r
ce-source: urn:hostile\r
ce-type: t\r
Connection: close\r
\r
"
--- error_code: 400



=== TEST 33: a negative Content-Length
--- raw_request eval
"POST /events HTTP/1.1\r
Host: localhost\r
Connection: close\r
ce-specversion: 1.0\r
ce-id: negative\r
ce-source: urn:hostile\r
ce-type: t\r
Content-Length: -1\r
\r
"
--- error_code: 400



=== TEST 34: ce-specversion twice, with different values
--- more_headers
ce-specversion: 1.0
ce-specversion: 0.3
ce-id: twice
ce-source: urn:hostile
ce-type: t
--- request
POST /events
--- error_code: 400
--- response_body_like: "attribute":"specversion","location":"header ce-specversion","rule":"header ce-specversion appears more than once



=== TEST 35: a request line of 100 kB
--- raw_request eval
"POST /events?" . ('q' x 100000) . " HTTP/1.1\r
Host: localhost\r
Connection: close\r
\r
"
--- error_code: 414



=== TEST 36: after all that, the worker stores events as ever
--- more_headers
ce-specversion: 1.0
ce-id: still-fine
ce-source: urn:hostile
ce-type: fine
--- request
POST /events
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.fine', 'ce-id' => 'still-fine' }]
