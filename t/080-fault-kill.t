# Fault: the dispatcher is killed with SIGKILL five times while a numbered
# stream of events flows through the ingress (nginx with the module) into
# JetStream, and started again each time.  Every event the ingress
# answered 2xx must reach the subscriber at least once; the events that
# were in delivery at a crash may arrive twice (reported, not failed).
#
# EM_FAULT_EVENTS sets the number of events (default 2000; make soak runs
# 20000), EM_FAULT_RATE the events per second (default 200).

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
my $Kills = 5;

my $nats = EmTest::NATS->start;
my $Stream = EmTest::NATS::stream_name('default', 'default');

my $sub = EmTest::Subscriber->start(default => { status => 200,
                                                 delay => 0.01 });
my $d = EmTest::Dispatcher->new(nats => $nats);
$d->write_trigger('k', name => 'k', type => 'fault.kill',
                  uri => $sub->url('/k'), delivery => { timeout => 'PT2S' });
$d->start;
$d->wait_ready(30);          # it provisions the broker's stream too

my $ngx = EmTest::Nginx->ingress(servers => ["127.0.0.1:" . $nats->port]);

my $t0 = time;
my $load = EmTest::Load->start(port => $ngx->port, count => $N, rate => $Rate,
                               prefix => 'kill', type => 'fault.kill',
                               concurrency => 8);

# A kill at each sixth of the run: the dispatcher is down for a moment,
# then started again, and it must be delivering again before the next.
my @kills;
for my $k (1 .. $Kills) {
    my $mark = int($N * $k / ($Kills + 1));
    $load->wait_answered($mark, 300);
    my $answered = $load->answered;
    my $before = scalar keys %{ EmTest::Load::delivered($sub) };
    my $st = $d->kill9;
    push @kills, { answered => $answered, delivered => $before,
                   signal => defined $st ? $st & 127 : -1 };
    sleep 0.1 + rand 0.4;
    $d->start;
    $d->wait_ready(30);
    # delivering again: something new arrives (not waited for long: the
    # events the killed one held count against the consumer's in-flight
    # bound until their ack wait ends, and the run goes on meanwhile)
    EmTest::Dispatcher::wait_for(sub {
        scalar keys %{ EmTest::Load::delivered($sub) } > $before
    }, 3);
}
ok($load->wait(600), 'the sender finished');
my $r = $load->results;
my $sent_s = time - $t0;

is(scalar(grep { $_->{signal} == 9 } @kills), $Kills,
   "the dispatcher was killed with SIGKILL $Kills times");
ok(!grep({ $_->{answered} >= $N } @kills),
   'every kill happened while events were still being sent')
    or diag explain \@kills;
is($r->{answered}, $N, "all $N requests were answered");
is(scalar @{ $r->{ok} }, $N, 'every event was accepted (2xx): the '
   . 'dispatcher is not on the ingress path')
    or diag 'answers: ' . EmTest::Load::codes_text($r);

my $got = EmTest::Load::wait_delivered($sub, $r->{ok}, 120);
my ($lost, $dup) = EmTest::Load::tally($r->{ok}, $got);
is(scalar @$lost, 0, 'every event answered 2xx was delivered at least once')
    or diag "lost: @$lost[0 .. ($#$lost < 19 ? $#$lost : 19)]";

my $ci = EmTest::Dispatcher::wait_for(sub {
    my $ci = $nats->js_api("CONSUMER.INFO.$Stream.em_default_k");
    return !$ci->{error} && $ci->{num_ack_pending} == 0
           && $ci->{num_pending} == 0 ? $ci : undef;
}, 30);
ok($ci, 'the consumer has nothing pending and nothing unacked');

diag sprintf 'kill -9 x%d: sent %d, 2xx %d, delivered %d, duplicates %d, '
     . 'lost %d (%s; sending took %.1f s)', $Kills, $N, scalar @{ $r->{ok} },
     scalar(grep { $got->{$_} } @{ $r->{ok} }), $dup, scalar @$lost,
     EmTest::Load::codes_text($r), $load->elapsed;
diag 'kills at ' . join(', ', map { "$_->{answered} sent/$_->{delivered} "
                                    . 'delivered' } @kills);

is($d->stop, 0, 'the last dispatcher stops gracefully');
unlike($ngx->error_log, qr/\[(?:alert|crit|emerg)\]/,
       'no alert in nginx\'s error log');
$ngx->stop;

done_testing;
