# Fault: "nginx -s reload" ten times (SIGHUP to the master) while a
# numbered stream of events flows through the ingress.  No request may
# fail because of it: every event is answered 202, whether it reached an
# old worker that is finishing or a new one that has just started, and
# every one is delivered by the dispatcher at least once.
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
my $Reloads = 10;

my $nats = EmTest::NATS->start;
my $sub = EmTest::Subscriber->start;
my $d = EmTest::Dispatcher->new(nats => $nats);
$d->write_trigger('r', name => 'r', type => 'fault.reload',
                  uri => $sub->url('/r'));
$d->start;
$d->wait_ready(30);

my $ngx = EmTest::Nginx->ingress(servers => ["127.0.0.1:" . $nats->port]);

my $load = EmTest::Load->start(port => $ngx->port, count => $N, rate => $Rate,
                               prefix => 'hup', type => 'fault.reload');

my @reloads;
my %old = map { $_ => 1 } $ngx->workers;
for my $k (1 .. $Reloads) {
    $load->wait_answered(int($N * $k / ($Reloads + 1)), 300);
    push @reloads, { answered => $load->answered, at => time };
    $ngx->reload;
    # the new generation is up: two workers that were not there before
    my $new = EmTest::Dispatcher::wait_for(sub {
        my @w = grep { !$old{$_} } $ngx->workers;
        return @w >= 2 ? \@w : undef;
    }, 30);
    $reloads[-1]{new} = $new ? scalar @$new : 0;
    %old = (%old, map { $_ => 1 } @{ $new || [] });
}
ok($load->wait(600), 'the sender finished');
my $r = $load->results;

is(scalar(grep { $_->{new} >= 2 } @reloads), $Reloads,
   "$Reloads reloads, each started a new generation of workers");
ok(!grep({ $_->{answered} >= $N } @reloads),
   'every reload happened while events were being sent');
is($r->{answered}, $N, "all $N requests were answered");
my @bad = sort { $a->{i} <=> $b->{i} }
          grep { $_->{code} != 202 } values %{ $r->{by_id} };

# A new worker takes requests at once and its NATS handshake needs a few
# milliseconds more: a request in between is held until CONNECT is out,
# never refused with 503 "not connected to the channel".
my $after_reload = sub {
    my $e = shift;
    return grep { $e->{t0} >= $_->{at} && $e->{t0} < $_->{at} + 2 } @reloads;
};
my @early = grep { $_->{code} == 503 && $_->{why} =~ /not_connected/
                   && $after_reload->($_) } @bad;
my %early = map { $_->{i} => 1 } @early;
my @other = grep { !$early{ $_->{i} } } @bad;
is(scalar @other, 0, 'no request failed (but for the case below)')
    or diag 'answers: ' . EmTest::Load::codes_text($r) . '; '
            . join ' ', map { "$_->{i}=$_->{code} $_->{why}" }
                        EmTest::Load::first(10, @other);
is(scalar @early, 0, 'no 503 "not connected" from a new worker')
    or diag join(' ', map { sprintf '%d=%d %s +%.3fs', $_->{i},
        $_->{code}, $_->{why}, $_->{t0} - ($after_reload->($_))[0]{at} }
        EmTest::Load::first(10, @early)),
        "\nwhat the workers' NATS clients said:\n",
        join "\n", EmTest::Load::first(100,
            grep { /NATS|nats/ && !/\[debug\]/ } split /\n/, $ngx->error_log);

my $got = EmTest::Load::wait_delivered($sub, $r->{ok}, 120);
my ($lost, $dup) = EmTest::Load::tally($r->{ok}, $got);
is(scalar @$lost, 0, 'every event answered 2xx was delivered at least once')
    or diag "lost: @$lost[0 .. ($#$lost < 19 ? $#$lost : 19)]";

my $log = $ngx->error_log;
unlike($log, qr/\[(?:alert|crit|emerg)\]/, 'no alert in nginx\'s error log')
    or diag join "\n", ($log =~ /^.*\[(?:alert|crit|emerg)\].*$/mg)[0 .. 4];

diag sprintf 'nginx reload x%d: sent %d, 2xx %d, delivered %d, duplicates '
     . '%d, lost %d (%s; sending took %.1f s)', $Reloads, $N,
     scalar @{ $r->{ok} }, scalar(grep { $got->{$_} } @{ $r->{ok} }), $dup,
     scalar @$lost, EmTest::Load::codes_text($r), $load->elapsed;

is($d->stop, 0, 'the dispatcher stops gracefully');
$ngx->stop;

done_testing;
