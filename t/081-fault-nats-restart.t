# Fault: nats-server (JetStream, file storage) goes away twice while a
# numbered stream of events flows through the ingress: first a stop
# (SIGTERM), then a crash (SIGKILL), each time started again on the same
# port with the same store.  While it is down the ingress answers 503
# (with Retry-After) at once; it reconnects by itself and 2xx resume, with
# the same nginx processes.  The dispatcher reconnects by itself too.
# Every event answered 2xx must reach the subscriber at least once.
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
my $Down = 2;                  # seconds NATS stays away each time

my $nats = EmTest::NATS->start;
my $Stream = EmTest::NATS::stream_name('default', 'default');

my $sub = EmTest::Subscriber->start;
my $d = EmTest::Dispatcher->new(nats => $nats,
    brokers => [['default', 'default', { storage => 'file' }]]);
$d->write_trigger('n', name => 'n', type => 'fault.nats',
                  uri => $sub->url('/n'), delivery => { timeout => 'PT2S' });
$d->start;
$d->wait_ready(30);
is($nats->stream_info($Stream)->{config}{storage}, 'file',
   'the broker\'s stream uses file storage');

my $ngx = EmTest::Nginx->ingress(
    servers     => ["127.0.0.1:" . $nats->port],
    ack_timeout => '10s',
    http        => "event_mesh_nats_reconnect_max_wait 500ms;\n",
);
my @workers = sort $ngx->workers;

my $load = EmTest::Load->start(port => $ngx->port, count => $N, rate => $Rate,
                               prefix => 'nats', type => 'fault.nats');

my @outages;
for my $how (qw(stop kill9)) {
    my $mark = int($N * (@outages ? 0.5 : 0.2));
    $load->wait_answered($mark, 300);
    my %o = (how => $how, answered => $load->answered);
    $o{down} = time;
    $how eq 'stop' ? $nats->stop : $nats->kill9;

    # a request while it is away: 503 with Retry-After, at once
    my $t = time;
    my $res = EmTest::HTTP::request('POST', '/events', port => $ngx->port,
        timeout => 5, headers => { 'ce-specversion' => '1.0',
            'ce-id' => "probe-$how", 'ce-source' => 'urn:emtest:probe',
            'ce-type' => 'fault.probe' });
    $o{probe} = [$res->code, $res->header('Retry-After'), time - $t];

    sleep $Down - (time - $o{down}) if time - $o{down} < $Down;
    $o{up} = time;
    $nats->start;
    push @outages, \%o;
}
ok($load->wait(600), 'the sender finished');
my $r = $load->results;

for my $o (@outages) {
    my ($code, $ra, $took) = @{ $o->{probe} };
    is($code, 503, "$o->{how}: a request while NATS is away gets 503");
    like($ra // '', qr/^\d+$/, "$o->{how}: with Retry-After");
    cmp_ok($took, '<', 2, "$o->{how}: at once (no wait for a timeout)");
    ok($o->{answered} < $N, "$o->{how}: it happened while events were sent");

    # the stream's own answers while it was away
    my @in = grep { $_->{t0} > $o->{down} + 0.2 && $_->{t1} < $o->{up} }
             values %{ $r->{by_id} };
    ok(@in && !grep({ $_->{code} != 503 } @in),
       "$o->{how}: the " . scalar(@in) . ' events sent while it was away '
       . 'were all answered 503')
        or diag join ' ', map { "$_->{i}=$_->{code}" } EmTest::Load::first(10, @in);
}

my @bad = grep { $_->{code} !~ /^(?:202|503|504)$/ }
          values %{ $r->{by_id} };
is(scalar @bad, 0, 'every answer was 202, 503 or 504')
    or diag join ' ', map { "$_->{i}=$_->{code} $_->{why}" } EmTest::Load::first(10, @bad);

# Right after a restart the server takes connections before its streams
# are back and NATS answers "no responders"; the module asks JetStream,
# which does not deny the stream, so the answer is 503 + Retry-After, never
# 404 "unknown broker" (which tells a client not to retry).
my @e404 = grep { $_->{code} == 404 } values %{ $r->{by_id} };
is(scalar @e404, 0, 'no 404 while the server recovers its streams')
    or diag join ' ', map { sprintf '%d=404 +%.2fs', $_->{i},
        $_->{t0} - ((grep { $_->{up} <= $_->{t0} + 0.1 } @outages)[-1]
                    // { up => 0 })->{up} }
        EmTest::Load::first(10, @e404);

# resumed by itself: from 2 s after each restart on, every event stored
for my $o (@outages) {
    my @after = sort { $a->{i} <=> $b->{i} }
                grep { $_->{t0} > $o->{up} } values %{ $r->{by_id} };
    my ($first) = grep { $_->{code} == 202 } @after;
    $o->{resumed} = $first ? $first->{t1} - $o->{up} : undef;
    my $until = $o == $outages[0] ? $outages[1]{down} : 9e9;
    my @late = grep { $_->{t0} > $o->{up} + 2 && $_->{t1} < $until
                      && $_->{code} != 202 } @after;
    ok($first && !@late, "$o->{how}: the ingress answers 202 again after "
       . 'the restart, by itself')
        or diag scalar(@late) . ' non-202 answers more than 2 s after it';
}
my @tail = grep { $_->{t0} > $outages[-1]{up} + 2 } values %{ $r->{by_id} };
ok(@tail > 0, scalar(@tail) . ' events were sent more than 2 s after the '
   . 'last restart');
is_deeply([sort $ngx->workers], \@workers,
          'the same nginx workers throughout: no restart, no reload');

my $got = EmTest::Load::wait_delivered($sub, $r->{ok}, 120);
my ($lost, $dup) = EmTest::Load::tally($r->{ok}, $got);
is(scalar @$lost, 0, 'every event answered 2xx was delivered at least once')
    or diag "lost: @$lost[0 .. ($#$lost < 19 ? $#$lost : 19)]";

# 503s to publishes in flight at the disconnect may have been stored
my @not2xx_delivered = grep { $got->{$_} && $r->{by_id}{$_}{code} != 202 }
                       keys %{ $r->{by_id} };
my $ci = EmTest::Dispatcher::wait_for(sub {
    my $ci = $nats->js_api("CONSUMER.INFO.$Stream.em_default_n");
    return !$ci->{error} && $ci->{num_ack_pending} == 0
           && $ci->{num_pending} == 0 ? $ci : undef;
}, 30);
ok($ci, 'the consumer has nothing pending and nothing unacked');
my @lost_back = $d->log =~ /(NATS connection lost|NATS connection back)/g;
is("@lost_back", join(' ', ('NATS connection lost', 'NATS connection back')
                            x 2),
   'the dispatcher logged each loss and each reconnect');
ok($d->alive, 'the dispatcher ran through both outages');

diag sprintf 'NATS stop + kill -9: sent %d, 2xx %d, delivered %d, '
     . 'duplicates %d, lost %d (%s); %d not-2xx events were stored anyway '
     . '(in flight at the disconnect)', $N, scalar @{ $r->{ok} },
     scalar(grep { $got->{$_} } @{ $r->{ok} }), $dup, scalar @$lost,
     EmTest::Load::codes_text($r), scalar @not2xx_delivered;
diag sprintf '%s: NATS away %.1f s, first 202 %.2f s after the restart',
     $_->{how}, $_->{up} - $_->{down}, $_->{resumed} // -1 for @outages;

is($d->stop, 0, 'the dispatcher stops gracefully');
unlike($ngx->error_log, qr/\[(?:alert|crit|emerg)\]/,
       'no alert in nginx\'s error log');
$ngx->stop;

done_testing;
