# Fault: a node of a three-node JetStream cluster crashes (SIGKILL) while a
# numbered stream of events flows through the ingress, and comes back a
# few seconds later.  The broker's stream has three replicas (created by
# the dispatcher's "provision" with replicas: 3); the killed node is the
# stream's leader, and the ingress and the dispatcher are connected to it
# (its URL comes first in their server lists), so both must fail over to
# another node by themselves, without a restart.  Every event answered 2xx
# must reach the subscriber at least once.
#
# EM_FAULT_EVENTS sets the number of events (default 2000; make soak runs
# 20000), EM_FAULT_RATE the events per second (default 200, lowered so that
# the run lasts at least 30 s: a leader election takes several seconds).

use strict;
use warnings;

use lib 't/inc';

use Test::More;
use Time::HiRes qw(sleep time);

use EmTest::Dispatcher;
use EmTest::HTTP;
use EmTest::Load;
use EmTest::NATS;
use EmTest::Subscriber;

if (my $why = EmTest::Dispatcher::missing(nginx => 1)) {
    plan skip_all => $why;
}
require EmTest::Nginx;

my $N = $ENV{EM_FAULT_EVENTS} || 2000;
my $Rate = $ENV{EM_FAULT_RATE} || 200;
$Rate = $N / 30 if $N / $Rate < 30;
my $Stream = EmTest::NATS::stream_name('default', 'default');

my $t0 = time;
my $cluster = EmTest::NATS->start_cluster(nodes => 3);
diag sprintf 'cluster of 3 formed in %.1f s', time - $t0;

# provision: the stream with 3 replicas
my $pd = EmTest::Dispatcher->new(nats => $cluster->node(1),
    servers => [$cluster->urls],
    brokers => [['default', 'default', { replicas => 3, storage => 'file' }]]);
my ($rc, $out);
for (1 .. 10) {         # the cluster may still be placing its peers
    ($rc, $out) = $pd->provision;
    last if $rc == 0;
    sleep 1;
}
is($rc, 0, 'provision: exit status 0') or diag $out;
like($out, qr/created/, 'provision: the stream was created');
my $info = $cluster->wait_stream_current($Stream);
is($info->{config}{num_replicas}, 3, 'the stream has 3 replicas');
my $leader = $cluster->stream_leader($Stream);
ok($leader, "node n$leader leads the stream");

# the leader first in every client's list: both start on the node that dies
my @urls = ($cluster->node($leader)->url,
            map { $_->url } grep { $_ != $cluster->node($leader) }
                                 $cluster->nodes);

my $sub = EmTest::Subscriber->start;
my $d = EmTest::Dispatcher->new(nats => $cluster->node($leader),
    servers => \@urls,
    brokers => [['default', 'default', { replicas => 3, storage => 'file' }]]);
$d->write_trigger('c', name => 'c', type => 'fault.cluster',
                  uri => $sub->url('/c'), delivery => { timeout => 'PT2S' });
$d->start;
$d->wait_ready(30);
my $dpid = $d->pid;

my $ngx = EmTest::Nginx->ingress(
    servers     => \@urls,
    ack_timeout => '10s',
    http        => "event_mesh_nats_reconnect_max_wait 500ms;\n",
    wait        => 0,
);
# NATS server of each worker (they start on different servers of the list)
sub worker_servers {
    my %srv;
    my $deadline = time + 20;
    while (keys %srv < 2 && time < $deadline) {
        my $st = eval {
            EmTest::HTTP::wait_nats_connected('/status', port => $ngx->port,
                                              timeout => 1)
        };
        $srv{ $st->{pid} } = $st->{nats}{server} if $st;
    }
    return \%srv;
}
my $leader_addr = '127.0.0.1:' . $cluster->node($leader)->port;
my @workers = sort $ngx->workers;
my $srv = worker_servers();
ok(grep({ $_ eq $leader_addr } values %$srv),
   'an ingress worker is connected to the stream leader')
    or diag explain $srv;

my $load = EmTest::Load->start(port => $ngx->port, count => $N, rate => $Rate,
                               prefix => 'cl', type => 'fault.cluster');

$load->wait_answered(int($N / 5), 300);
my $answered = $load->answered;
my $down = time;
$cluster->node($leader)->kill9;

# a new leader among the two left, then the node comes back
my $new = EmTest::Dispatcher::wait_for(sub {
    my $l = $cluster->stream_leader($Stream);
    return defined $l && $l != $leader ? $l : undef;
}, 60);
my $elected = time - $down;
ok($new, sprintf 'n%s leads the stream %.1f s after n%d was killed',
   $new // '?', $elected, $leader);
my $srv2 = worker_servers();
ok(keys %$srv2 == 2 && !grep({ $_ eq $leader_addr } values %$srv2),
   'both ingress workers are connected to the nodes left')
    or diag explain $srv2;
sleep 2;
my $up = time;
$cluster->node($leader)->start;
$cluster->wait_node_ready($leader);
$cluster->wait_stream_current($Stream, 60);
my $caught_up = time - $up;

ok($load->wait(600), 'the sender finished');
my $r = $load->results;
ok($answered < $N && $up < $load->{t_end},
   'the node died and came back while events were being sent');

my @bad = grep { $_->{code} !~ /^(?:202|503|504)$/ }
          values %{ $r->{by_id} };
is(scalar @bad, 0, 'every answer was 202, 503 or 504')
    or diag join ' ', map { "$_->{i}=$_->{code} $_->{why}" } EmTest::Load::first(10, @bad);

# While the stream elects a new leader nothing answers its subjects and
# NATS says "no responders"; the module asks JetStream, which does not
# deny the stream, so the answer is 503 + Retry-After, never 404 "unknown
# broker" (which tells a client not to retry).
my @e404 = grep { $_->{code} == 404 } values %{ $r->{by_id} };
is(scalar @e404, 0, 'no 404 while the stream elects a new leader')
    or diag join ' ', map { sprintf '%d=404@+%.1fs', $_->{i},
                            $_->{t0} - $down } EmTest::Load::first(10, @e404);

# failed over: everything sent once a new leader was there is stored
my @late = grep { $_->{t0} > $down + $elected + 2 && $_->{code} != 202 }
           values %{ $r->{by_id} };
is(scalar @late, 0, 'the ingress answers 202 again once a new leader is '
   . 'elected, by itself')
    or diag join ' ', map { sprintf '%d=%d@+%.1fs', $_->{i}, $_->{code},
                            $_->{t0} - $down } EmTest::Load::first(10, @late);
my @after_up = grep { $_->{t0} > $up } values %{ $r->{by_id} };
ok(@after_up > 0, scalar(@after_up) . ' events were sent after the node '
   . 'was back');
is_deeply([sort $ngx->workers], \@workers,
          'the same nginx workers throughout: no restart, no reload');

my $got = EmTest::Load::wait_delivered($sub, $r->{ok}, 120);
my ($lost, $dup) = EmTest::Load::tally($r->{ok}, $got);
is(scalar @$lost, 0, 'every event answered 2xx was delivered at least once')
    or diag "lost: @$lost[0 .. ($#$lost < 19 ? $#$lost : 19)]";
ok($d->alive && $d->pid == $dpid, 'the same dispatcher process throughout');
like($d->log, qr/NATS connection lost.*NATS connection back/s,
     'the dispatcher lost its node and reconnected to another');

my $ci = EmTest::Dispatcher::wait_for(sub {
    my $ci = $cluster->js_api("CONSUMER.INFO.$Stream.em_default_c");
    return !$ci->{error} && $ci->{num_ack_pending} == 0
           && $ci->{num_pending} == 0 ? $ci : undef;
}, 30);
ok($ci, 'the consumer has nothing pending and nothing unacked');
is($ci && $ci->{config}{num_replicas} // 0, 0,
   'the consumer follows the stream\'s replicas') if 0;

diag sprintf 'cluster, leader n%d killed: sent %d, 2xx %d, delivered %d, '
     . 'duplicates %d, lost %d (%s)', $leader, $N, scalar @{ $r->{ok} },
     scalar(grep { $got->{$_} } @{ $r->{ok} }), $dup, scalar @$lost,
     EmTest::Load::codes_text($r);
diag sprintf 'new leader after %.1f s; the node was back after %.1f s and '
     . 'caught up %.1f s later', $elected, $up - $down, $caught_up;

is($d->stop, 0, 'the dispatcher stops gracefully');
unlike($ngx->error_log, qr/\[(?:alert|crit|emerg)\]/,
       'no alert in nginx\'s error log');
$ngx->stop;

done_testing;
