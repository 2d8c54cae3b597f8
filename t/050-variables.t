# The $event_mesh_* variables, as an access log sees them: the first event's
# id, type and source, its sequence number in the stream, and why a request
# was refused.

use strict;
use warnings;

use lib 't/inc';
use EmTest::NATS;
use EmTest::HTTP;
use EmTest::Nginx;
use Test::More;

my $nats = EmTest::NATS->start;
$nats->create_broker('default', 'default');
my $stream = EmTest::NATS::stream_name('default', 'default');
my $nport = $nats->port;

my $ngx = EmTest::Nginx->start(
    workers => 1,
    http    => "event_mesh_nats 127.0.0.1:$nport;\n"
               . "log_format em 'status=\$status id=\$event_mesh_id "
               . "type=\$event_mesh_type source=\$event_mesh_source "
               . "seq=\$event_mesh_stream_seq error=\$event_mesh_error';\n",
    server  => "access_log logs/em.log em;\n"
               . "location = /events { event_mesh_publish default/default; }\n"
               . "location = /status { event_mesh_status; }\n",
);
EmTest::HTTP::wait_nats_connected('/status', port => $ngx->port);

$nats->js_publish('em.default.default.filler', 'x') for 1 .. 3;

my %ce = ('ce-specversion' => '1.0', 'ce-source' => 'urn:t:vars',
          'ce-type' => 'var.check');
is(EmTest::HTTP::request('POST', '/events', port => $ngx->port,
       headers => { %ce, 'ce-id' => 'v-1' })->code, 202, 'stored');
is(EmTest::HTTP::request('POST', '/events', port => $ngx->port,
       headers => { %ce, 'ce-id' => '' })->code, 400, 'refused');
is(EmTest::HTTP::request('POST', '/events', port => $ngx->port,
       headers => { 'Content-Type' => 'application/cloudevents-batch+json' },
       body => '[{"specversion":"1.0","id":"b-1","source":"urn:t:b",'
             . '"type":"first"},{"specversion":"1.0","id":"b-2",'
             . '"source":"urn:t:b","type":"second"}]')->code, 202,
   'batch stored');

$ngx->stop;

open my $fh, '<', $ngx->dir . '/logs/em.log' or die "em.log: $!";
my @lines = grep { !/status=200/ } <$fh>;
chomp @lines;

is($lines[0], 'status=202 id=v-1 type=var.check source=urn:t:vars seq=4 '
              . 'error=-', 'a stored event: id, type, source, sequence');
like($lines[1], qr/^status=400 id=- type=- source=- seq=- error=invalid CloudEvent$/,
     'a refused event: the error, nothing else');
is($lines[2], 'status=202 id=b-1 type=first source=urn:t:b seq=5 error=-',
   'a batch: the first event');

done_testing();
