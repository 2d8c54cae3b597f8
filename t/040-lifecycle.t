# Worker lifecycle with requests in flight: a reload or a graceful quit lets
# every waiting request finish with its real answer once the channel acks,
# and worker_shutdown_timeout ends the ones that cannot finish with a 503.
# nginx runs with a master and two workers here; the channel is held back
# with SIGSTOP so that requests are really waiting when the signal lands.

use strict;
use warnings;

use lib 't/inc';
use EmTest::NATS;
use EmTest::HTTP;
use EmTest::Nginx;
use Test::More;
use Time::HiRes qw(sleep time);

my $nats = EmTest::NATS->start;
$nats->create_broker('default', 'default');
my $stream = EmTest::NATS::stream_name('default', 'default');
my $nport = $nats->port;

my $run = 0;

sub start_nginx {
    my (%o) = @_;
    my $ngx = EmTest::Nginx->start(
        workers => 2,
        main    => $o{main} // '',
        http    => "event_mesh_nats 127.0.0.1:$nport;\n"
                   . "event_mesh_ack_timeout 10s;\n",
        server  => "location = /events { event_mesh_publish default/default; }\n"
                   . "location = /status { event_mesh_status; }\n",
    );
    wait_workers_connected($ngx);
    return $ngx;
}

# Each worker connects by itself: ask often enough to hear from both.
sub wait_workers_connected {
    my $ngx = shift;
    my %seen;
    my $deadline = time + 10;
    while (keys %seen < 2 && time < $deadline) {
        my $st = eval {
            EmTest::HTTP::wait_nats_connected('/status', port => $ngx->port)
        };
        $seen{ $st->{pid} } = 1 if $st;
        sleep 0.01;
    }
    return keys %seen;
}

sub send_events {
    my ($ngx, $n, $tag) = @_;
    $run++;
    return map {
        EmTest::HTTP::send_request('POST', '/events',
            port    => $ngx->port,
            headers => { 'ce-specversion' => '1.0',
                         'ce-id'          => "$tag-$run-$_",
                         'ce-source'      => 'urn:t:lifecycle',
                         'ce-type'        => 'life.cycle',
                         'Content-Type'   => 'text/plain' },
            body    => "event $_",
            timeout => 20);
    } 1 .. $n;
}

sub codes {
    my ($handles, $timeout) = @_;
    my %count;
    $count{ EmTest::HTTP::read_response($_, $timeout)->code }++ for @$handles;
    return join ' ', map { "$_=$count{$_}" } sort keys %count;
}

# 1. reload while 20 events wait for the channel
{
    my $ngx = start_nginx();
    my $before = $nats->msg_count($stream);

    $nats->pause;
    my @h = send_events($ngx, 20, 'reload');
    sleep 0.3;
    $ngx->reload;
    sleep 0.5;
    $nats->resume;

    is(codes(\@h, 15), '202=20', 'reload: every waiting request got its 202');
    is($nats->msg_count($stream) - $before, 20,
       'reload: all 20 events are in the stream');

    ok(wait_workers_connected($ngx) >= 1, 'reload: new workers connect');
    my $res = EmTest::HTTP::request('POST', '/events', port => $ngx->port,
        headers => { 'ce-specversion' => '1.0', 'ce-id' => 'after-reload',
                     'ce-source' => 'urn:t:lifecycle', 'ce-type' => 'x' });
    is($res->code, 202, 'reload: the new workers publish');
    unlike($ngx->error_log, qr/\[(?:alert|crit|emerg)\]/,
           'reload: no alert in the error log');
    $ngx->stop;
}

# 2. graceful quit while 10 events wait: answered, then nginx exits
{
    my $ngx = start_nginx();
    my $before = $nats->msg_count($stream);

    $nats->pause;
    my @h = send_events($ngx, 10, 'quit');
    sleep 0.3;
    $ngx->quit;
    sleep 0.5;
    ok($ngx->alive, 'quit: nginx waits for the pending acks');
    $nats->resume;

    is(codes(\@h, 15), '202=10', 'quit: every waiting request got its 202');
    is($nats->msg_count($stream) - $before, 10,
       'quit: all 10 events are in the stream');
    ok($ngx->wait_exit(10), 'quit: nginx exits once they are answered');
    unlike($ngx->error_log, qr/\[(?:alert|crit|emerg)\]/,
           'quit: no alert in the error log');
}

# 3. worker_shutdown_timeout: the channel never answers, requests get 503
{
    my $ngx = start_nginx(main => 'worker_shutdown_timeout 1s;');

    $nats->pause;
    my @h = send_events($ngx, 5, 'shutdown');
    sleep 0.3;
    my $t0 = time;
    $ngx->quit;

    my @res = map { EmTest::HTTP::read_response($_, 15) } @h;
    my $took = time - $t0;
    is(join(' ', map { $_->code } @res), '503 503 503 503 503',
       'shutdown timeout: every waiting request got 503');
    like($res[0]->header('Retry-After') // '', qr/^\d+$/,
         'shutdown timeout: 503 carries Retry-After');
    like($res[0]->content, qr/"error":"channel unavailable".*shutting down/,
         'shutdown timeout: the body says why');
    cmp_ok($took, '<', 5, 'shutdown timeout: answered at the timeout, '
                          . 'not at the 10 s ack timeout');
    ok($ngx->wait_exit(10), 'shutdown timeout: nginx exits');
    $nats->resume;
}

done_testing();
