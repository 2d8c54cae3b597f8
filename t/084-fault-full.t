# Fault: the broker's stream fills up (a small "size", discard new) while a
# numbered stream of events flows through the ingress.  The events that
# fit are answered 202 and delivered; the rest are answered 507 "channel
# full" and never delivered, and nothing answered 2xx is dropped.  Room
# made by the operator (a purge) is used again at once.
#
# EM_FAULT_EVENTS sets the number of events (default 2000; make soak runs
# 20000); the stream holds about half of them.

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
my $Size = 1000;                      # bytes of data per event
my $Bytes = int($N / 2) * ($Size + 400);
my $Stream = EmTest::NATS::stream_name('default', 'default');

my $nats = EmTest::NATS->start;
my $sub = EmTest::Subscriber->start;
my $d = EmTest::Dispatcher->new(nats => $nats,
    brokers => [['default', 'default', { size => $Bytes }]]);
$d->write_trigger('f', name => 'f', type => 'fault.full',
                  uri => $sub->url('/f'));
$d->start;
$d->wait_ready(30);

my $cfg = $nats->stream_info($Stream)->{config};
is($cfg->{max_bytes}, $Bytes, "the stream holds at most $Bytes bytes");
is($cfg->{discard}, 'new', 'and discards new events when full');

my $ngx = EmTest::Nginx->ingress(servers => ["127.0.0.1:" . $nats->port]);

my $load = EmTest::Load->start(port => $ngx->port, count => $N,
                               prefix => 'full', type => 'fault.full',
                               size => $Size, concurrency => 8);
ok($load->wait(600), 'the sender finished');
my $r = $load->results;
my %by = %{ $r->{by_id} };
my @ok = @{ $r->{ok} };
my @full = grep { $by{$_}{code} == 507 } keys %by;

is($r->{answered}, $N, "all $N requests were answered");
is(scalar(@ok) + scalar(@full), $N, 'every answer was 202 or 507')
    or diag EmTest::Load::codes_text($r);
ok(@ok > $N / 4 && @full > $N / 4,
   scalar(@ok) . ' accepted until the stream was full, then '
   . scalar(@full) . ' refused');
ok(!grep({ $by{$_}{why} !~ /channel_full/ } @full),
   '507 says "channel full"');
is($nats->msg_count($Stream), scalar @ok,
   'the stream holds exactly the events answered 2xx');

my $got = EmTest::Load::wait_delivered($sub, \@ok, 120);
sleep 1;                         # anything more would show up now
$got = EmTest::Load::delivered($sub);
my ($lost, $dup) = EmTest::Load::tally(\@ok, $got);
is(scalar @$lost, 0, 'every event answered 2xx was delivered at least once')
    or diag "lost: @$lost[0 .. ($#$lost < 19 ? $#$lost : 19)]";
my @ghosts = grep { $got->{$_} } @full;
is(scalar @ghosts, 0, 'no event answered 507 was ever delivered')
    or diag "delivered anyway: @ghosts[0 .. ($#ghosts < 9 ? $#ghosts : 9)]";

# room again: the next event is stored
$nats->stream_purge($Stream);
my $res = EmTest::HTTP::request('POST', '/events', port => $ngx->port,
    headers => { 'ce-specversion' => '1.0', 'ce-id' => 'full-after-purge',
                 'ce-source' => 'urn:emtest:load', 'ce-type' => 'fault.full' },
    body => 'x' x $Size);
is($res->code, 202, 'after a purge the stream takes events again (202)');
ok(EmTest::Load::wait_delivered($sub, ['full-after-purge'], 30)
       ->{'full-after-purge'}, 'and it is delivered');

diag sprintf 'stream full (%d bytes): sent %d, 2xx %d, 507 %d, delivered '
     . '%d, duplicates %d, lost %d, 507 delivered %d', $Bytes, $N,
     scalar @ok, scalar @full, scalar(grep { $got->{$_} } @ok), $dup,
     scalar @$lost, scalar @ghosts;

is($d->stop, 0, 'the dispatcher stops gracefully');
unlike($ngx->error_log, qr/\[(?:alert|crit|emerg)\]/,
       'no alert in nginx\'s error log');
$ngx->stop;

done_testing;
