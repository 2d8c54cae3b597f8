# Fault: misbehaving subscribers next to a healthy one.  Four Triggers take
# the same events from one broker: a healthy subscriber, one that hangs
# (takes the request and never answers), one that answers 500 forever and
# a slow one.  While a numbered stream of events flows through the
# ingress:
#   - the healthy Trigger receives every event within a bound: the others
#     do not starve it;
#   - the dispatcher's memory stays bounded (VmRSS before and after, and
#     its peak), however much work the failing Triggers have backed up;
#   - the failed events reach the dead-letter sink with knativeerrordest,
#     knativeerrorcode and knativeerrordata, every one of the 500s.
#
# EM_FAULT_EVENTS sets the number of events (default 2000; make soak runs
# 20000).

use strict;
use warnings;

use lib 't/inc';

use List::Util ();
use MIME::Base64 qw(decode_base64);
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
my $Stream = EmTest::NATS::stream_name('default', 'default');

sub rss_kb {
    my $pid = shift;
    open my $fh, '<', "/proc/$pid/status" or return 0;
    while (<$fh>) {
        return $1 if /^VmRSS:\s+(\d+)\s+kB/;
    }
    return 0;
}

my $nats = EmTest::NATS->start;

my %sub = (
    healthy => EmTest::Subscriber->start,
    hang    => EmTest::Subscriber->start(default => { status => 200,
                                                      delay => 3600 }),
    err500  => EmTest::Subscriber->start(default => {
                   status => 500, body => 'backend exploded' }),
    slow    => EmTest::Subscriber->start(default => { status => 200,
                                                      delay => 0.2 }),
    dls500  => EmTest::Subscriber->start,
    dlshang => EmTest::Subscriber->start,
);

my $d = EmTest::Dispatcher->new(nats => $nats);
$d->write_trigger('healthy', name => 'healthy', type => 'fault.sub',
                  uri => $sub{healthy}->url('/healthy'));
$d->write_trigger('hang', name => 'hang', type => 'fault.sub',
                  uri => $sub{hang}->url('/hang'),
                  delivery => { retry => 1, timeout => 'PT1S',
                                deadLetterSink => $sub{dlshang}->url('/dl') });
$d->write_trigger('err500', name => 'err500', type => 'fault.sub',
                  uri => $sub{err500}->url('/err500'),
                  delivery => { retry => 2, backoffPolicy => 'exponential',
                                backoffDelay => 'PT0.05S',
                                deadLetterSink => $sub{dls500}->url('/dl') });
$d->write_trigger('slow', name => 'slow', type => 'fault.sub',
                  uri => $sub{slow}->url('/slow'));
$d->start;
$d->wait_ready(30);

my $ngx = EmTest::Nginx->ingress(servers => ["127.0.0.1:" . $nats->port]);

# warm: one event through every Trigger before the first measurement
my $res = EmTest::HTTP::request('POST', '/events', port => $ngx->port,
    headers => { 'ce-specversion' => '1.0', 'ce-id' => 'warm',
                 'ce-source' => 'urn:emtest:load', 'ce-type' => 'fault.sub' });
is($res->code, 202, 'a first event is accepted');
$sub{$_}->wait_requests(1, 10) for qw(healthy hang err500 slow);
sleep 0.5;
my $rss0 = rss_kb($d->pid);
ok($rss0 > 0, "dispatcher VmRSS before: $rss0 kB");

my $t0 = time;
my $load = EmTest::Load->start(port => $ngx->port, count => $N,
                               prefix => 'sub', type => 'fault.sub',
                               concurrency => 8, size => 200);
my $peak = $rss0;
my $healthy_done;
my $deadline = time + 60 + $N / 50;
while (time < $deadline) {
    my $rss = rss_kb($d->pid);
    $peak = $rss if $rss > $peak;
    if (!$load->running && !$healthy_done) {
        my $ok = $load->results->{ok};
        my $got = EmTest::Load::delivered($sub{healthy});
        $healthy_done = time if !grep { !$got->{$_} } @$ok;
    }
    last if $healthy_done;
    sleep 0.25;
}
my $r = $load->results;
my $send_s = $load->elapsed;
is(scalar @{ $r->{ok} }, $N, "all $N events accepted")
    or diag EmTest::Load::codes_text($r);

# --- the healthy Trigger -------------------------------------------------------

my $healthy = EmTest::Load::delivered($sub{healthy});
my ($lost, $dup) = EmTest::Load::tally($r->{ok}, $healthy);
is(scalar @$lost, 0, 'the healthy Trigger received every event')
    or diag scalar(@$lost) . ' missing';
my $took = ($healthy_done // time) - $t0;
my $bound = $send_s + 30;
cmp_ok($took, '<', $bound, sprintf 'within %.0f s of the start: sending took '
       . '%.1f s, the healthy Trigger finished after %.1f s', $bound,
       $send_s, $took);

# --- dead letters of the 500s: every one of them -------------------------------

my $dl = EmTest::Load::wait_delivered($sub{dls500}, $r->{ok}, 60 + $N / 50);
my ($dl_lost) = EmTest::Load::tally($r->{ok}, $dl);
is(scalar @$dl_lost, 0, 'every event the 500 subscriber refused reached the '
   . 'dead-letter sink') or diag scalar(@$dl_lost) . ' missing';
my $rss_peak_500 = $peak = List::Util::max($peak, rss_kb($d->pid));

my ($one) = grep { ($_->{headers}{'ce-id'} // '') =~ /^sub-/ }
            @{ $sub{dls500}->requests };
my $h = $one->{headers} || {};
is($h->{'ce-knativeerrordest'}, $sub{err500}->url('/err500'),
   '500: knativeerrordest is the subscriber');
is($h->{'ce-knativeerrorcode'}, '500', '500: knativeerrorcode 500');
is(decode_base64($h->{'ce-knativeerrordata'} // ''), 'backend exploded',
   '500: knativeerrordata is the base64 of the answer\'s body');
is($h->{'ce-type'}, 'fault.sub', '500: the original event\'s attributes');
like($one->{body} // '', qr/^sub \d+ +$/, '500: the original data');
my $tries = grep { ($_->{headers}{'ce-id'} // '') eq $h->{'ce-id'} }
            @{ $sub{err500}->requests };
is($tries, 3, '500: retry 2: three attempts before the dead letter');

# --- dead letters of the hanging subscriber -----------------------------------

my $dlh = $sub{dlshang}->wait_requests(2, 30);
my ($hone) = grep { ($_->{headers}{'ce-id'} // '') =~ /^(?:sub-|warm)/ }
             @$dlh;
$h = $hone->{headers} || {};
is($h->{'ce-knativeerrordest'}, $sub{hang}->url('/hang'),
   'hang: knativeerrordest is the subscriber');
is($h->{'ce-knativeerrorcode'}, '500', 'hang: no answer is code 500');
like(decode_base64($h->{'ce-knativeerrordata'} // ''),
     qr/^dispatch error: .*tim(?:ed|e) ?out/i,
     'hang: knativeerrordata says the attempt timed out');

# --- the slow one gets there too, and the hanging one is bounded --------------

my $slow = EmTest::Load::wait_delivered($sub{slow}, $r->{ok}, 60 + $N / 20);
my ($slow_lost) = EmTest::Load::tally($r->{ok}, $slow);
is(scalar @$slow_lost, 0, 'the slow Trigger received every event too');

my $rss1 = rss_kb($d->pid);
$peak = $rss1 if $rss1 > $peak;
# under AddressSanitizer (make test-asan) freed memory waits in its
# quarantine (256 MB by default) before it is reused: allow for it there
my $limit = 2 * $rss0 + 64 * 1024
            + (defined $ENV{ASAN_OPTIONS} ? 320 * 1024 : 0);
cmp_ok($rss1, '<', $limit, "dispatcher VmRSS after: $rss1 kB (before "
       . "$rss0 kB, bound $limit kB)");
cmp_ok($peak, '<', $limit, "dispatcher VmRSS peak: $peak kB");

my $hang_in = scalar @{ $sub{hang}->requests };
my $ci = $nats->js_api("CONSUMER.INFO.$Stream.em_default_hang");
ok($ci->{num_ack_pending} <= 64, 'the hanging Trigger holds at most its '
   . "in-flight bound unacked ($ci->{num_ack_pending})");
ok($ci->{num_pending} > 0, "its backlog waits in the stream "
   . "($ci->{num_pending} events), not in the dispatcher");

my %dm = map { $_ => $d->metric('em_events_dead_lettered_total', $_) }
         qw(hang err500);
diag sprintf 'misbehaving subscribers: sent %d, 2xx %d; healthy delivered '
     . '%d (duplicates %d) in %.1f s; slow %d; 500 dead-lettered %d; hang '
     . 'took %d requests, dead-lettered %d, %d waiting', $N,
     scalar @{ $r->{ok} }, scalar(grep { $healthy->{$_} } @{ $r->{ok} }),
     $dup, $took, scalar(grep { $slow->{$_} } @{ $r->{ok} }), $dm{err500},
     $hang_in, $dm{hang}, $ci->{num_pending};
diag "dispatcher VmRSS: $rss0 kB before, $peak kB peak, $rss1 kB after";

my $t = time;
is($d->stop(30), 0, 'the dispatcher stops gracefully, hanging requests and '
   . 'all');
diag sprintf 'stopped in %.1f s', time - $t;
$ngx->stop;

done_testing;
