# event-mesh-dispatcher, retries and dead letters, end to end: each backoff
# policy with its spacing measured at the subscriber, which statuses are
# retried, Retry-After (delta-seconds, HTTP-date, capped, ignored), the
# per-attempt timeout, the dead-letter sink with knativeerrordest,
# knativeerrorcode and knativeerrordata, undeliverable events, and a
# subscriber that is down for a while and comes back within the budget.
#
# Every trigger has its own recording subscriber, so the scenarios run at
# the same time.

use strict;
use warnings;

use lib 't/inc';

use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(sleep time);

use EmTest::Dispatcher;
use EmTest::NATS;
use EmTest::Subscriber;

if (my $why = EmTest::Dispatcher::missing()) {
    plan skip_all => $why;
}

my $nats = EmTest::NATS->start;
my $Stream = EmTest::NATS::stream_name('default', 'default');
my $d = EmTest::Dispatcher->new(nats => $nats);

sub publish {
    my ($attrs, $data) = @_;
    return EmTest::Dispatcher::publish($nats, 'default', 'default',
        { source => 'retry-test', %$attrs }, $data);
}

# Seconds between consecutive requests.
sub gaps {
    my $reqs = shift;
    return [ map { $reqs->[$_]{time} - $reqs->[$_ - 1]{time} } 1 .. $#$reqs ];
}

# Each gap within [want - 0.03, want + slack].
sub gaps_ok {
    my ($got, $want, $name, $slack) = @_;
    $slack //= 0.25;
    my $ok = @$got == @$want;
    for my $i (0 .. $#$want) {
        $ok &&= defined $got->[$i] && $got->[$i] >= $want->[$i] - 0.03
                && $got->[$i] <= $want->[$i] + $slack;
    }
    ok($ok, $name) or diag 'gaps: '
        . join(', ', map { sprintf '%.3f', $_ } @$got)
        . '; wanted ' . join(', ', @$want);
}

sub closed_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp');
    my $port = $s->sockport;
    close $s;
    return $port;
}

my %sub;
my $body1k = '0123456789abcdef' x 64;

$sub{linear} = EmTest::Subscriber->start(
    responses => [map { { status => 500 } } 1 .. 3], default => { status => 200 });
$sub{exponential} = EmTest::Subscriber->start(
    responses => [map { { status => 503 } } 1 .. 3], default => { status => 200 });
$sub{nopolicy} = EmTest::Subscriber->start(
    responses => [map { { status => 500 } } 1 .. 2], default => { status => 200 });

# first attempt of each event answers the status in its id, then 200
my %first;
$sub{codes} = EmTest::Subscriber->start(respond => sub {
    my ($req) = @_;
    my ($code) = $req->{headers}{'ce-id'} =~ /^code-(\d+)$/;
    return { status => 200 } if $first{ $req->{headers}{'ce-id'} }++;
    return { status => $code, body => "status $code" };
});
$sub{codes_dls} = EmTest::Subscriber->start;

my %ra_seen;
$sub{ra} = EmTest::Subscriber->start(respond => sub {
    my ($req) = @_;
    my $id = $req->{headers}{'ce-id'};
    return { status => 200 } if $ra_seen{$id}++;
    return { status => 429, headers => { 'Retry-After' => '1' } }
        if $id eq 'ra-delta';
    return { status => 503, headers => { 'Retry-After' =>
        strftime('%a, %d %b %Y %H:%M:%S GMT', gmtime(time + 2)) } }
        if $id eq 'ra-date';
    return { status => 500, headers => { 'Retry-After' => '1' } };
});
$sub{ra_cap} = EmTest::Subscriber->start(
    responses => [{ status => 429, headers => { 'Retry-After' => '10' } }],
    default => { status => 200 });
$sub{ra_off} = EmTest::Subscriber->start(
    responses => [{ status => 503, headers => { 'Retry-After' => '5' } }],
    default => { status => 200 });

$sub{fail} = EmTest::Subscriber->start(
    default => { status => 500, body => $body1k });
$sub{dls} = EmTest::Subscriber->start;
$sub{slow} = EmTest::Subscriber->start(default => { status => 200,
                                                    delay => 2 });
$sub{slow_dls} = EmTest::Subscriber->start;
$sub{refused_dls} = EmTest::Subscriber->start;
$sub{nodls} = EmTest::Subscriber->start(default => { status => 503 });
$sub{dls_fails} = EmTest::Subscriber->start(default => { status => 500 });
$sub{bad_dls} = EmTest::Subscriber->start(default => { status => 400 });
$sub{down} = EmTest::Subscriber->start;
$sub{down}->stop;

my $refused = closed_port();

my %t = (
    linear      => { retry => 3, backoffPolicy => 'linear',
                     backoffDelay => 'PT0.2S' },
    exponential => { retry => 3, backoffPolicy => 'exponential',
                     backoffDelay => 'PT0.1S' },
    nopolicy    => { retry => 2 },
    codes       => { retry => 1, deadLetterSink => $sub{codes_dls}->url('/dls') },
    ra          => { retry => 1, backoffPolicy => 'linear',
                     backoffDelay => 'PT0.05S', retryAfterMax => 'PT3S' },
    ra_cap      => { retry => 1, retryAfterMax => 'PT0.3S' },
    ra_off      => { retry => 1 },
    fail        => { retry => 1, deadLetterSink => $sub{dls}->url('/dead') },
    slow        => { retry => 1, timeout => 'PT0.3S',
                     deadLetterSink => $sub{slow_dls}->url('/dead') },
    refused     => { retry => 1,
                     deadLetterSink => $sub{refused_dls}->url('/dead') },
    nodls       => { retry => 1 },
    dls_fails   => { retry => 0, deadLetterSink => $sub{bad_dls}->url('/x') },
    down        => { retry => 6, backoffPolicy => 'exponential',
                     backoffDelay => 'PT0.1S' },
);

for my $name (sort keys %t) {
    my $uri = $name eq 'refused' ? "http://127.0.0.1:$refused/nobody"
            : $sub{$name}->url("/$name");
    (my $tn = $name) =~ tr/_/-/;
    $d->write_trigger($tn, name => $tn, type => "retry.$name",
                      uri => $uri, delivery => $t{$name});
}

$d->start;
$d->wait_ready(15);

my $t0 = time;
publish({ id => "$_-1", type => "retry.$_" })
    for qw(linear exponential nopolicy ra_cap ra_off fail slow refused nodls
           dls_fails down);
publish({ id => "code-$_", type => 'retry.codes' }, "payload $_")
    for qw(404 408 409 429 500 502 503 504 400 401 403 405 413 418 422 301);
publish({ id => $_, type => 'retry.ra' }) for qw(ra-delta ra-date ra-other);

# --- backoff policies ---------------------------------------------------------

subtest 'linear: delay * (k - 1)' => sub {
    my $r = $sub{linear}->wait_requests(4, 5);
    is(scalar @$r, 4, 'four attempts (retry: 3)');
    gaps_ok(gaps($r), [0, 0.2, 0.4], 'waits 0, 0.2, 0.4 s');
};

subtest 'exponential: delay * 2^(k - 1)' => sub {
    my $r = $sub{exponential}->wait_requests(4, 5);
    is(scalar @$r, 4, 'four attempts');
    gaps_ok(gaps($r), [0.1, 0.2, 0.4], 'waits 0.1, 0.2, 0.4 s');
};

subtest 'no backoff policy: retries at once' => sub {
    my $r = $sub{nopolicy}->wait_requests(3, 5);
    is(scalar @$r, 3, 'three attempts (retry: 2)');
    gaps_ok(gaps($r), [0, 0], 'no waits', 0.2);
};

# --- which statuses are retried -------------------------------------------------

subtest 'retryable and final statuses' => sub {
    my @retry = qw(404 408 409 429 500 502 503 504);
    my @final = qw(400 401 403 405 413 418 422 301);
    my $want = 2 * @retry + @final;
    $sub{codes}->wait_requests($want, 5);
    my $dls = $sub{codes_dls}->wait_requests(scalar @final, 5);
    sleep 0.3;

    my %n;
    $n{ $_->{headers}{'ce-id'} }++ for @{ $sub{codes}->requests };
    is($n{"code-$_"}, 2, "$_ is retried") for @retry;
    is($n{"code-$_"}, 1, "$_ is not retried") for @final;

    my %dl = map { $_->{headers}{'ce-id'} => $_ } @{ $sub{codes_dls}->requests };
    is_deeply([sort keys %dl], [sort map { "code-$_" } @final],
              'the final failures go to the dead-letter sink at once');
    is($dl{'code-422'}{headers}{'ce-knativeerrorcode'}, '422',
       'knativeerrorcode: the status');
    is(decode_base64($dl{'code-422'}{headers}{'ce-knativeerrordata'}),
       'status 422', 'knativeerrordata: the body');
    is($dl{'code-301'}{headers}{'ce-knativeerrorcode'}, '301',
       'a redirect is not followed: a failure');
    is($dl{'code-422'}{body}, 'payload 422', 'the original data');
};

# --- Retry-After ---------------------------------------------------------------------

subtest 'Retry-After on 429 and 503, within retryAfterMax' => sub {
    my $r = $sub{ra}->wait_requests(6, 6);
    my %at;
    push @{ $at{ $_->{headers}{'ce-id'} } }, $_ for @$r;

    gaps_ok(gaps($at{'ra-delta'}), [1], '429 + Retry-After: 1 waits 1 s');
    my $g = gaps($at{'ra-date'})->[0] // -1;
    ok($g >= 0.97 && $g <= 2.3, 'an HTTP-date: waits until then')
        or diag "gap $g";
    gaps_ok(gaps($at{'ra-other'}), [0],
            'a 500 with Retry-After: the header is not considered', 0.5);

    $r = $sub{ra_cap}->wait_requests(2, 5);
    gaps_ok(gaps($r), [0.3], 'Retry-After: 10 is capped at retryAfterMax');

    $r = $sub{ra_off}->wait_requests(2, 5);
    gaps_ok(gaps($r), [0], 'no retryAfterMax: Retry-After is ignored', 0.5);
};

# --- dead letters ----------------------------------------------------------------------

subtest 'dead-letter sink: extensions, data, headers' => sub {
    my $r = $sub{dls}->wait_requests(1, 5);
    is(scalar @{ $sub{fail}->requests }, 2, 'the subscriber got 2 attempts');
    is(scalar @$r, 1, 'then the sink got the event');
    my $h = $r->[0]{headers};
    is($h->{'ce-id'}, 'fail-1', 'the original event');
    is($h->{'ce-type'}, 'retry.fail', 'its type');
    is($h->{'ce-knativeerrordest'}, $sub{fail}->url('/fail'),
       'knativeerrordest: the subscriber');
    is($h->{'ce-knativeerrorcode'}, '500', 'knativeerrorcode: the last status');
    is($h->{'ce-knativeerrordata'}, encode_base64(substr($body1k, 0, 768), ''),
       'knativeerrordata: base64 of the first 768 bytes of the body');
    is(length $h->{'ce-knativeerrordata'}, 1024, '1024 characters');
    ok(!exists $h->{prefer}, 'no Prefer: reply to a sink');
    is($h->{'kn-namespace'}, 'default', 'Kn-Namespace');

    ok(EmTest::Dispatcher::wait_for(sub {
           $d->metric('em_events_dead_lettered_total', 'fail') == 1 }),
       'counted as dead-lettered');
    my $re = 'trigger default/fail: event id=fail-1 .* not delivered to \S+ '
           . 'after 2 attempts \(last: HTTP 500\): sending it to the '
           . 'dead-letter sink';
    like($d->log, qr/$re/,
         'one log line says so');
};

subtest 'dead letter after a transport error' => sub {
    my $r = $sub{refused_dls}->wait_requests(1, 5);
    my $h = $r->[0]{headers} || {};
    is($h->{'ce-knativeerrorcode'}, '500', 'no HTTP answer: code 500');
    like(decode_base64($h->{'ce-knativeerrordata'} // ''),
         qr/^dispatch error: .*(?:connect|refused)/i,
         'data: "dispatch error: " and the reason');
    is($h->{'ce-knativeerrordest'}, "http://127.0.0.1:$refused/nobody",
       'knativeerrordest');
};

subtest 'per-attempt timeout' => sub {
    my $r = $sub{slow_dls}->wait_requests(1, 5);
    my $att = $sub{slow}->requests;
    is(scalar @$att, 2, 'two attempts, each cut after 0.3 s');
    # the 0.3 s count from each transfer's start, connect included, the
    # gap from one arrival to the next: a slow first connect (a sanitizer
    # build on a busy machine) shortens it
    my $g = gaps($att)->[0] // -1;
    ok($g >= 0.1 && $g <= 0.6, 'the retry follows the timeout')
        or diag "gap $g";
    my $h = $r->[0]{headers} || {};
    is($h->{'ce-knativeerrorcode'}, '500', 'timeout: code 500');
    like(decode_base64($h->{'ce-knativeerrordata'} // ''),
         qr/^dispatch error: .*timed out/i, 'data says it timed out');
};

subtest 'undeliverable: no sink, or the sink fails too' => sub {
    ok(EmTest::Dispatcher::wait_for(sub {
           $d->metric('em_events_undeliverable_total', 'nodls') == 1
           && $d->metric('em_events_undeliverable_total', 'dls-fails') == 1 }),
       'both counted as undeliverable');
    is(scalar @{ $sub{nodls}->requests }, 2, 'no sink: 2 attempts');
    is(scalar @{ $sub{bad_dls}->requests }, 1,
       'the sink was tried (400 is final)');
    my $log = $d->log;
    my $re = 'warn trigger default/nodls: event id=nodls-1 .* not '
           . 'delivered to \S+ after 2 attempts \(last: HTTP 503\) and the '
           . 'trigger has no dead-letter sink; dropped \(undeliverable\)';
    like($log, qr/$re/, 'one warn line: no sink');
    $re = 'warn trigger default/dls-fails: .* refused by the dead-letter '
        . 'sink \S+ too, after 1 attempt \(last: HTTP 400\); dropped '
        . '\(undeliverable\)';
    like($log, qr/$re/,
         'one warn line: the sink failed');

    # termed: JetStream will not deliver them again
    my $ci = $nats->js_api("CONSUMER.INFO.$Stream.em_default_nodls");
    is($ci->{num_ack_pending}, 0, 'nothing left pending on the consumer');
    is($ci->{num_redelivered}, 0, 'nothing redelivered');
};

# --- subscriber down for a while -------------------------------------------------

subtest 'subscriber down for a while, back within the retry budget' => sub {
    my $unreachable = EmTest::Dispatcher::wait_for(sub {
        my ($t) = grep { $_->{name} eq 'down' } @{ $d->triggers || [] };
        return $t && !$t->{ready} && $t->{reason} eq 'SubscriberUnreachable'
               ? $t : undef;
    }, 3);
    ok($unreachable, '/triggers: SubscriberUnreachable after 3 failures');
    like($unreachable->{message} // '', qr/attempts in a row got no HTTP answer/,
         'with a message');

    # attempts at 0, 0.1, 0.3, 0.7, 1.5, 3.1 s after the first
    sleep 0.9 - (time - $t0) if time - $t0 < 0.9;
    $sub{down}->start;
    my $r = $sub{down}->wait_requests(1, 5);
    is(scalar @$r, 1, 'delivered once it is back');
    is($r->[0]{headers}{'ce-id'}, 'down-1', 'the event');
    ok(EmTest::Dispatcher::wait_for(sub {
           my ($t) = grep { $_->{name} eq 'down' } @{ $d->triggers || [] };
           $t && $t->{ready} }),
       'ready again after an answer');
    is($d->metric('em_events_delivered_total', 'down'), 1, 'delivered counted');
    ok($d->metric('em_events_retried_total', 'down') >= 3, 'after retries');
};

is($d->stop, 0, 'graceful stop');
diag sprintf 'retry scenarios took %.1f s', time - $t0;

done_testing;
