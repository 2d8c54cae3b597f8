# event-mesh-dispatcher, delivery basics, end to end with real processes on
# loopback: nats-server -js, the dispatcher, recording subscribers and (for
# the volume test) nginx with the module as the ingress.
#
# Covers: binary and structured delivery (headers and bytes), each rule
# of filter.attributes through real delivery, 1000 events through one
# trigger (all delivered, none twice), two dispatchers sharing the work,
# replies and the hop limit that stops reply loops, the admin endpoints.

use strict;
use warnings;

use lib 't/inc';

use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use Test::More;
use Time::HiRes qw(sleep time);

use EmTest::Dispatcher;
use EmTest::HTTP;
use EmTest::NATS;
use EmTest::Subscriber;

if (my $why = EmTest::Dispatcher::missing()) {
    plan skip_all => $why;
}

my $Json = JSON::PP->new->canonical(1);
my $nats = EmTest::NATS->start;
my $Stream = EmTest::NATS::stream_name('default', 'default');

sub publish {
    my ($attrs, $data) = @_;
    return EmTest::Dispatcher::publish($nats, 'default', 'default', $attrs,
                                       $data);
}

# Requests whose ce-id (binary mode) is one of @ids.
sub ids_of {
    my ($reqs) = @_;
    return [ map { $_->{headers}{'ce-id'} // '' } @$reqs ];
}

my $sub_bin = EmTest::Subscriber->start;
my $sub_json = EmTest::Subscriber->start;
my $sub_filter = EmTest::Subscriber->start;
my $sub_any = EmTest::Subscriber->start;
my $sub_src = EmTest::Subscriber->start;

my $d = EmTest::Dispatcher->new(nats => $nats);

$d->write_trigger('binary', name => 'binary', type => 'test.binary',
                  uri => $sub_bin->url('/in/binary?x=1'));
$d->write_trigger('structured', name => 'structured',
                  type => 'test.structured', uri => $sub_json->url('/json'),
                  delivery => { format => 'json' });

# Kyma's shape: type, eventtypeversion and source, ANDed
$d->write_trigger('kyma', name => 'kyma', api => 'v1alpha1',
                  filter => { type => 'order.created',
                              eventtypeversion => 'v1', source => 'shop' },
                  uri => $sub_filter->url('/kyma'));

# "" means present and non-empty; no type: every type of the broker
$d->write_trigger('any', name => 'any',
                  filter => { region => '' }, uri => $sub_any->url('/any'));

# a core attribute other than type: the consumer takes every subject
$d->write_trigger('src', name => 'src', filter => { source => 'Inventory' },
                  uri => $sub_src->url('/src'));

$d->start;
my $ts = $d->wait_ready(15);

# --- admin endpoints -------------------------------------------------------

subtest 'admin: /healthz /readyz /triggers' => sub {
    my $r = $d->get('/healthz');
    is($r->code, 200, '/healthz 200');
    is($r->content, "ok\n", '/healthz body');

    $r = $d->get('/readyz');
    is($r->code, 200, '/readyz 200 (NATS connected, configuration loaded)');

    is(scalar @$ts, 5, '/triggers lists the 5 triggers');
    my ($k) = grep { $_->{name} eq 'kyma' } @$ts;
    ok($k->{ready}, 'kyma is ready');
    is($k->{reason}, 'Ready', 'reason Ready');
    is($k->{broker}, 'default', 'broker');
    is($k->{subscriber}, $sub_filter->url('/kyma'), 'subscriber');
    is($k->{consumer}, 'em_default_kyma', 'durable consumer name');
    is($k->{stream}, $Stream, 'stream');
    is($k->{filterSubject}, 'em.default.default.order.created',
       'the exact type is pushed down as the filter subject');
    is_deeply($k->{filter}, { type => 'order.created',
                              eventtypeversion => 'v1', source => 'shop' },
              'filter attributes');

    my ($any) = grep { $_->{name} eq 'any' } @$ts;
    is($any->{filterSubject}, 'em.default.default.>',
       'no type in the filter: the broker wildcard');

    my $ci = $nats->js_api("CONSUMER.INFO.$Stream.em_default_kyma");
    is($ci->{config}{ack_policy}, 'explicit', 'consumer: explicit ack');
    is($ci->{config}{deliver_policy}, 'new', 'consumer: deliver new');
    is($ci->{config}{max_ack_pending}, 64,
       'consumer: max_ack_pending = the in-flight bound');
    is($ci->{config}{inactive_threshold}, 48 * 3600 * 1e9,
       'consumer: inactive threshold = maxInactivity (48h)');
    ok($ci->{config}{ack_wait} >= 5e9, 'consumer: ack wait >= 5 s');
};

subtest 'admin: strict HTTP, 404, 405, HEAD, subscribed' => sub {
    my $r = $d->get('/nope');
    is($r->code, 404, 'unknown path 404');
    like($r->content, qr{/healthz, /readyz, /metrics, /triggers}, 'says which');

    $r = EmTest::HTTP::request('POST', '/metrics', port => $d->admin_port,
                               body => 'x');
    is($r->code, 405, 'POST 405');
    is($r->header('Allow'), 'GET, HEAD', 'Allow header');

    $r = EmTest::HTTP::request('HEAD', '/healthz', port => $d->admin_port);
    is($r->code, 200, 'HEAD 200');
    is($r->content, '', 'HEAD: no body');
    is($r->header('Content-Length'), 3, 'HEAD: the length of the body');

    $r = $d->get('/v1/subscribed/shop');
    is($r->code, 200, '/v1/subscribed/shop 200');
    is_deeply($Json->decode($r->content),
              { eventsInfo => [{ name => 'order.created', version => 'v1' }] },
              "Kyma's eventsInfo for the application");

    $r = $d->get('/v1/subscribed/nobody');
    is($r->content, '{"eventsInfo":[]}', 'no trigger: empty list');

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $d->admin_port);
    print {$s} "GET /healthz HTTP/1.1\r\n\r\n";
    my $raw = do { local $/; <$s> };
    like($raw, qr{^HTTP/1\.1 400 }, 'HTTP/1.1 without Host: 400');
    like($raw, qr/Host header/, 'says why');

    # two requests on one connection, sent back to back
    $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                               PeerPort => $d->admin_port);
    print {$s} "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
             . "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    $raw = do { local $/; <$s> };
    my @answers = $raw =~ m{HTTP/1\.1 (\d+)}g;
    is_deeply(\@answers, [200, 200], 'pipelined requests answered in order');
};

# --- binary mode -------------------------------------------------------------

subtest 'binary mode: headers and bytes' => sub {
    my $data = join '', map { chr } 0 .. 255;
    publish({ id => 'b-1', source => 'my source/ü', type => 'test.binary',
              time => '2024-05-01T10:00:00Z',
              datacontenttype => 'application/octet-stream',
              eventtypeversion => 'v1', knativebrokerttl => '7',
              comexampleextension => 'a "quoted" value' }, $data);

    my $reqs = $sub_bin->wait_requests(1, 5);
    is(scalar @$reqs, 1, 'one POST');
    my $r = $reqs->[0];
    is($r->{method}, 'POST', 'POST');
    is($r->{path}, '/in/binary?x=1', 'the subscriber URI as is');
    my $h = $r->{headers};
    is($h->{'ce-specversion'}, '1.0', 'ce-specversion');
    is($h->{'ce-id'}, 'b-1', 'ce-id');
    is($h->{'ce-source'}, 'my%20source/%C3%BC',
       'ce-source percent-encoded (space, non-ASCII)');
    is($h->{'ce-type'}, 'test.binary', 'ce-type');
    is($h->{'ce-time'}, '2024-05-01T10:00:00Z', 'ce-time');
    is($h->{'ce-eventtypeversion'}, 'v1', 'extension as ce- header');
    is($h->{'ce-comexampleextension'}, 'a%20%22quoted%22%20value',
       'extension value percent-encoded');
    is($h->{'content-type'}, 'application/octet-stream',
       'Content-Type from datacontenttype');
    ok(!exists $h->{'ce-datacontenttype'}, 'no ce-datacontenttype header');
    ok(!exists $h->{'ce-knativebrokerttl'},
       'knativebrokerttl is not shown to subscribers');
    is($h->{prefer}, 'reply', 'Prefer: reply');
    is($h->{'kn-namespace'}, 'default', 'Kn-Namespace');
    is($r->{body}, $data, 'body: the 256 data bytes, unchanged');

    # an empty extension value: cnats 3.4.1 misreads it, the dispatcher
    # puts the header back together
    publish({ id => 'b-2', source => 'mock', type => 'test.binary',
              note => '', zone => '' });
    $reqs = $sub_bin->wait_requests(2, 5);
    my $r2 = $reqs->[1];
    is($r2->{headers}{'ce-id'}, 'b-2', 'second event');
    is($r2->{body}, '', 'event without data: empty body');
    ok(!exists $r2->{headers}{'content-type'},
       'event without datacontenttype: no Content-Type');
    is($r2->{headers}{'ce-note'}, '', 'empty extension: an empty header');
    is($r2->{headers}{'ce-zone'}, '', 'two in a row');
    is($r2->{headers}{'ce-type'}, 'test.binary', 'the next header intact');

    ok(EmTest::Dispatcher::wait_for(
           sub { $d->metric('em_events_delivered_total', 'binary') == 2 }),
       'delivered counted');
};

subtest 'structured mode (delivery.format: json)' => sub {
    publish({ id => 's-1', source => 'mock', type => 'test.structured',
              datacontenttype => 'application/json',
              count => '5' }, '{"n":[1,2,{"x":"y"}]}');
    publish({ id => 's-2', source => 'mock', type => 'test.structured',
              datacontenttype => 'application/octet-stream' }, "\xff\x00\x01");

    my $reqs = $sub_json->wait_requests(2, 5);
    is(scalar @$reqs, 2, 'two POSTs');
    my %by = map { $Json->decode($_->{body})->{id} => $_ } @$reqs;

    my $r = $by{'s-1'};
    like($r->{headers}{'content-type'}, qr{^application/cloudevents\+json},
         'Content-Type application/cloudevents+json');
    ok(!grep({ /^ce-/ } keys %{ $r->{headers} }), 'no ce- headers');
    is($r->{headers}{prefer}, 'reply', 'Prefer: reply');
    my $ev = $Json->decode($r->{body});
    is($ev->{specversion}, '1.0', 'specversion');
    is($ev->{source}, 'mock', 'source');
    is($ev->{type}, 'test.structured', 'type');
    is($ev->{datacontenttype}, 'application/json', 'datacontenttype');
    is($ev->{count}, '5', 'extension');
    is_deeply($ev->{data}, { n => [1, 2, { x => 'y' }] },
              'JSON data as a JSON value');

    $ev = $Json->decode($by{'s-2'}{body});
    is(decode_base64($ev->{data_base64}), "\xff\x00\x01",
       'binary data as data_base64');
    ok(!exists $ev->{data}, 'no data member then');
};

# --- filters --------------------------------------------------------------------

subtest 'filter.attributes: exact, AND, missing fails, case-sensitive' => sub {
    my %base = (type => 'order.created', source => 'shop');
    publish({ %base, id => 'k-match', eventtypeversion => 'v1' });
    publish({ %base, id => 'k-version', eventtypeversion => 'v2' });
    publish({ %base, id => 'k-missing' });
    publish({ %base, id => 'k-source', source => 'Shop',
              eventtypeversion => 'v1' });
    publish({ %base, id => 'k-type', type => 'order.created.v2',
              eventtypeversion => 'v1' });
    publish({ %base, id => 'k-match2', eventtypeversion => 'v1' });

    my $reqs = $sub_filter->wait_requests(2, 5);
    sleep 0.3;
    $reqs = $sub_filter->requests;
    is_deeply([sort @{ ids_of($reqs) }], ['k-match', 'k-match2'],
              'only the events matching every attribute, exactly');

    # the other type never reached the trigger: its subject is filtered
    ok(EmTest::Dispatcher::wait_for(
           sub { $d->metric('em_events_filtered_total', 'kyma') == 3 }),
       'three fetched and filtered out (version, missing, case)')
        or diag $d->metric('em_events_filtered_total', 'kyma');
    is($d->metric('em_events_received_total', 'kyma'), 5,
       'the other type was never fetched (filter subject)');
};

subtest 'filter: "" = present and non-empty; any type' => sub {
    publish({ id => 'a-1', source => 'x', type => 'one', region => 'eu' });
    publish({ id => 'a-2', source => 'x', type => 'two.three',
              region => 'us' });
    publish({ id => 'a-3', source => 'x', type => 'one' });
    publish({ id => 'a-4', source => 'x', type => 'one', region => '' });

    my $reqs = $sub_any->wait_requests(2, 5);
    sleep 0.3;
    is_deeply([sort @{ ids_of($sub_any->requests) }], ["a-1", "a-2"],
              'events of any type with a non-empty region');
};

subtest 'filter: source only' => sub {
    publish({ id => 'src-1', source => 'Inventory', type => 'p' });
    publish({ id => 'src-2', source => 'inventory', type => 'p' });
    publish({ id => 'src-3', source => 'Inventory', type => 'q.r' });

    $sub_src->wait_requests(2, 5);
    sleep 0.3;
    is_deeply([sort @{ ids_of($sub_src->requests) }], ['src-1', 'src-3'],
              'by source, case-sensitive, every type');
};

$d->stop;
is($d->{status}, 0, 'SIGTERM: graceful stop, exit status 0');

# --- volume through the ingress ----------------------------------------------

SKIP: {
    my $why = EmTest::Dispatcher::missing(nginx => 1);
    skip $why, 3 if $why;
    require EmTest::Nginx;

    my $sub = EmTest::Subscriber->start;
    my $dv = EmTest::Dispatcher->new(nats => $nats);
    $dv->write_trigger('volume', name => 'volume', type => 'bulk.item',
                       uri => $sub->url('/bulk'),
                       delivery => { timeout => 'PT5S' });
    $dv->start;
    $dv->wait_ready(15);

    my $nport = $nats->port;
    my $ngx = EmTest::Nginx->start(
        workers => 1,
        http    => "event_mesh_nats 127.0.0.1:$nport;\n",
        server  => "location = /events { event_mesh_publish default/default; }\n"
                   . "location = /status { event_mesh_status; }\n",
    );
    EmTest::HTTP::wait_nats_connected('/status', port => $ngx->port,
                                      timeout => 10);

    my $n = 1000;
    my $t0 = time;
    my $accepted = 0;
    for (my $i = 0; $i < $n; $i += 50) {
        my @h = map {
            EmTest::HTTP::send_request('POST', '/events', port => $ngx->port,
                headers => { 'ce-specversion' => '1.0', 'ce-id' => "v-$_",
                             'ce-source' => 'bulk', 'ce-type' => 'bulk.item',
                             'Content-Type' => 'application/json' },
                body => qq({"i":$_}))
        } $i .. $i + 49;
        $accepted += grep { $_->code == 202 }
                     map { EmTest::HTTP::read_response($_, 10) } @h;
    }
    is($accepted, $n, "the ingress accepted all $n events (202)");

    my $reqs = $sub->wait_requests($n, 30);
    my $secs = time - $t0;
    my %seen;
    $seen{ $_->{headers}{'ce-id'} }++ for @$reqs;
    my @twice = grep { $seen{$_} > 1 } keys %seen;
    is(scalar(keys %seen), $n, "all $n events delivered")
        or diag scalar(keys %seen) . " delivered";
    is(scalar @twice, 0, 'none twice');
    diag sprintf '%d events ingress -> subscriber in %.2f s (%.0f/s)', $n,
         $secs, $n / $secs;

    $ngx->stop;
    $dv->stop;
    $sub->stop;
}

# --- two dispatchers share a trigger --------------------------------------------

subtest 'two dispatchers on the same configuration share the work' => sub {
    my $sub = EmTest::Subscriber->start(default => { status => 200,
                                                     delay => 0.005 });
    my @ds;
    my $first = EmTest::Dispatcher->new(nats => $nats);
    $first->write_trigger('shared', name => 'shared', type => 'shared.item',
                          uri => $sub->url('/shared'));
    $first->start;
    $first->wait_ready(15);

    # the same files, its own admin port
    my $second = EmTest::Dispatcher->new(nats => $nats);
    $second->write_trigger('shared', name => 'shared', type => 'shared.item',
                           uri => $sub->url('/shared'));
    $second->start;
    $second->wait_ready(15);

    my $n = 300;
    publish({ id => "sh-$_", source => 'x', type => 'shared.item' }) for 1 .. $n;

    my $reqs = $sub->wait_requests($n, 20);
    my %seen;
    $seen{ $_->{headers}{'ce-id'} }++ for @$reqs;
    is(scalar(keys %seen), $n, "all $n delivered");
    is(scalar(grep { $seen{$_} > 1 } keys %seen), 0, 'none twice');

    my $a = $first->metric('em_events_delivered_total', 'shared');
    my $b = $second->metric('em_events_delivered_total', 'shared');
    is($a + $b, $n, "the two delivered $n together ($a + $b)");
    ok($a > 0 && $b > 0, 'both took a share');

    $_->stop for $first, $second;
    $sub->stop;
};

# --- replies ----------------------------------------------------------------------

subtest 'replies: binary and structured, stored in the broker' => sub {
    my $ping = EmTest::Subscriber->start(respond => sub {
        my ($req, $n) = @_;
        my $id = $req->{headers}{'ce-id'};
        if ($id eq 'ping-1') {
            return { status => 200, body => '{"pong":1}', headers => {
                'ce-specversion' => '1.0', 'ce-id' => "pong-of-$id",
                'ce-source' => '/ponger', 'ce-type' => 'test.pong',
                'Content-Type' => 'application/json' } };
        }
        if ($id eq 'ping-2') {
            return { status => 200, body => $Json->encode({
                specversion => '1.0', id => "pong-of-$id",
                source => '/ponger', type => 'test.pong',
                data => { pong => 2 } }),
                headers => { 'Content-Type' =>
                             'application/cloudevents+json' } };
        }
        if ($id eq 'ping-3') {
            # 202 is never a reply (the spec), even with a CloudEvent
            return { status => 202, headers => {
                'ce-specversion' => '1.0', 'ce-id' => 'not-a-reply',
                'ce-source' => '/ponger', 'ce-type' => 'test.pong' } };
        }
        if ($id eq 'ping-4') {
            return { status => 200, body => 'OK, thanks' };
        }
        # claims to be a CloudEvent, has no id
        return { status => 200, headers => {
            'ce-specversion' => '1.0', 'ce-source' => '/p',
            'ce-type' => 'test.pong' } };
    });
    my $pong = EmTest::Subscriber->start;

    my $dr = EmTest::Dispatcher->new(nats => $nats);
    $dr->write_trigger('ping', name => 'ping', type => 'test.ping',
                       uri => $ping->url('/ping'));
    $dr->write_trigger('pong', name => 'pong', type => 'test.pong',
                       uri => $pong->url('/pong'));
    $dr->start;
    $dr->wait_ready(15);

    publish({ id => "ping-$_", source => 'x', type => 'test.ping' }) for 1 .. 5;

    my $got = $pong->wait_requests(2, 5);
    sleep 0.5;
    $got = $pong->requests;
    is(scalar @$got, 2, 'the two 200 replies reached the pong trigger');
    my %by = map { $_->{headers}{'ce-id'} => $_ } @$got;
    ok($by{'pong-of-ping-1'}, 'binary reply delivered');
    is($by{'pong-of-ping-1'}{body}, '{"pong":1}', 'its data');
    is($by{'pong-of-ping-1'}{headers}{'ce-source'}, '/ponger', 'its source');
    ok($by{'pong-of-ping-2'}, 'structured reply delivered (as binary)');
    is($by{'pong-of-ping-2'}{body}, '{"pong":2}', 'its data');
    ok(!exists $by{'pong-of-ping-1'}{headers}{'ce-knativebrokerttl'},
       'the hop count stays hidden');

    # what the broker stored
    my ($stored) = grep { ($_->{header}{'ce-id'} // '') eq 'pong-of-ping-1' }
                   @{ $nats->stream_messages($Stream) };
    ok($stored, 'the reply is in the stream');
    is($stored->{subject}, 'em.default.default.test.pong', 'on its subject');
    is($stored->{header}{'ce-knativebrokerttl'}, '254',
       'knativebrokerttl 254 (255 - 1) on a reply to an event without one');
    is($stored->{header}{'nats-msg-id'},
       EmTest::Dispatcher::msg_id('/ponger', 'pong-of-ping-1'),
       'Nats-Msg-Id from source and id');

    ok(EmTest::Dispatcher::wait_for(sub {
           $dr->metric('em_events_delivered_total', 'ping') == 5 }),
       'all five pings count as delivered');
    is($dr->metric('em_replies_published_total', 'ping'), 2,
       'two replies published');
    is($dr->metric('em_replies_invalid_total', 'ping'), 1,
       'the invalid one counted');
    is($dr->metric('em_replies_ignored_total', 'ping'), 1,
       'the 200 with a plain body counted: delivered, no reply');
    is($dr->metric('em_events_retried_total', 'ping'), 0,
       'no retry for any of them');
    like($dr->log, qr/answered 200 with an invalid CloudEvent/,
         'the invalid reply is logged');

    $dr->stop;
    $_->stop for $ping, $pong;
};

subtest 'reply loop: the hop limit stops it' => sub {
    my $n = 0;
    my $echo = EmTest::Subscriber->start(respond => sub {
        my ($req, $k) = @_;
        return { status => 200, headers => {
            'ce-specversion' => '1.0', 'ce-id' => "loop-reply-$k",
            'ce-source' => '/loop', 'ce-type' => 'test.loop',
            # a subscriber cannot reset the count
            'ce-knativebrokerttl' => '255' } };
    });
    my $dl = EmTest::Dispatcher->new(nats => $nats);
    $dl->write_trigger('loop', name => 'loop', type => 'test.loop',
                       uri => $echo->url('/loop'));
    $dl->start;
    $dl->wait_ready(15);

    publish({ id => 'loop-0', source => 'x', type => 'test.loop',
              knativebrokerttl => '5' });

    ok(EmTest::Dispatcher::wait_for(sub {
           $dl->metric('em_replies_dropped_total', 'loop') == 1 }, 10),
       'the reply at the limit was dropped');
    sleep 0.5;
    my $reqs = $echo->requests;
    is(scalar @$reqs, 5, 'knativebrokerttl 5: five deliveries, then stop');
    is($dl->metric('em_replies_published_total', 'loop'), 4,
       'four replies stored');
    ok(!grep({ exists $_->{headers}{'ce-knativebrokerttl'} } @$reqs),
       'no delivery showed the hop count');
    like($dl->log, qr/hop limit reached/, 'the drop is logged');

    $dl->stop;
    $echo->stop;
};

done_testing;
