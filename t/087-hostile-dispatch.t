# Hostile attribute values on the delivery side: events whose attributes
# hold CR/LF, NUL, DEL, '%', '"' or non-ASCII bytes, stored in JetStream as
# another producer may store them (the ingress refuses control characters,
# see t/086; the NATS binding percent-encodes, so a stored "%0D%0A"
# decodes to a raw CR/LF).  Whatever the value, the recording subscriber
# must never see it as raw bytes in an HTTP header: no injected header, no
# header line broken in two, every ce- value printable US-ASCII that
# percent-decodes back to the attribute.  Checked for binary delivery,
# structured delivery, the dead-letter sink, and a reply that carries such
# values back into the broker.

use strict;
use warnings;

use lib 't/inc';

use JSON::PP ();
use Test::More;
use Time::HiRes qw(sleep time);

use EmTest::Dispatcher;
use EmTest::NATS;
use EmTest::Subscriber;

if (my $why = EmTest::Dispatcher::missing()) {
    plan skip_all => $why;
}

my $Json = JSON::PP->new->canonical(1);
my $nats = EmTest::NATS->start;

sub pct_decode {
    my $s = shift;
    $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $s;
}

# The values under test, as attribute values (bytes).
my @Cases = (
    [crlf    => "a\r\nX-Injected: yes"],
    [lf      => "a\nX-Injected: yes"],
    [cr      => "a\rX-Injected: yes"],
    [crlf2   => "a\r\n\r\nGET /smuggled HTTP/1.1"],
    [nul     => "nul\x00byte"],
    [del     => "del\x7f"],
    [pct     => '%0D%0A stays %0D%0A'],
    [quote   => 'say "hi"'],
    [utf8    => "caf\xc3\xa9 \xe2\x82\xac"],
    [spaces  => '  lead and trail  '],
);

my %sub = map { $_ => EmTest::Subscriber->start }
          qw(bin json dls replied);
$sub{fail} = EmTest::Subscriber->start(default => { status => 400,
                                                    body => "no\r\nthanks" });

# replies carrying the hostile values back, percent-encoded as the
# binding says; the dispatcher decodes them and stores them in the broker
my %reply_of = map { ("rp-$_->[0]" => $_->[1]) } @Cases;
$sub{reply} = EmTest::Subscriber->start(respond => sub {
    my ($req) = @_;
    my $id = $req->{headers}{'ce-id'} // '';
    my $v = $reply_of{$id} // 'none';
    (my $enc = $v) =~ s/([^\x21-\x7e]|[%"])/sprintf '%%%02X', ord $1/ge;
    return { status => 200, body => 'reply data', headers => {
        'ce-specversion' => '1.0', 'ce-id' => "re-$id",
        'ce-source' => '/replier', 'ce-type' => 'hostile.replied',
        'ce-note' => $enc, 'Content-Type' => 'text/plain' } };
});

my $d = EmTest::Dispatcher->new(nats => $nats);
$d->write_trigger('bin', name => 'bin', type => 'hostile.bin',
                  uri => $sub{bin}->url('/bin'));
$d->write_trigger('json', name => 'json', type => 'hostile.json',
                  uri => $sub{json}->url('/json'),
                  delivery => { format => 'json' });
$d->write_trigger('dl', name => 'dl', type => 'hostile.dl',
                  uri => $sub{fail}->url('/fail'),
                  delivery => { deadLetterSink => $sub{dls}->url('/dls') });
$d->write_trigger('reply', name => 'reply', type => 'hostile.reply',
                  uri => $sub{reply}->url('/reply'));
$d->write_trigger('replied', name => 'replied', type => 'hostile.replied',
                  uri => $sub{replied}->url('/replied'));
$d->start;
$d->wait_ready(30);

for my $c (@Cases) {
    my ($k, $v) = @$c;
    for my $t (qw(bin json dl)) {
        EmTest::Dispatcher::publish($nats, 'default', 'default',
            { id => "$t-$k", source => 'urn:hostile', type => "hostile.$t",
              note => $v, datacontenttype => 'text/plain' }, "data $k");
    }
    # the value in the core attributes too
    EmTest::Dispatcher::publish($nats, 'default', 'default',
        { id => "id-$k $v", source => "src-$k $v", type => 'hostile.bin',
          subject => $v }, "core $k");
    EmTest::Dispatcher::publish($nats, 'default', 'default',
        { id => "rp-$k", source => 'urn:hostile', type => 'hostile.reply' });
}
# datacontenttype becomes Content-Type: the one header that is not ce-
EmTest::Dispatcher::publish($nats, 'default', 'default',
    { id => "dct-$_->[0]", source => 'urn:hostile', type => 'hostile.bin',
      datacontenttype => "text/plain; x=$_->[1]" }, "dct $_->[0]")
    for @Cases;

# A control character cannot go into Content-Type, nor into a reply (it is
# validated as the ingress validates): those are refused, and said so.
my @ctl = grep { $_->[1] =~ /[\x00-\x1f\x7f]/ } @Cases;
my $n = @Cases;
my %want = (bin => 3 * $n - @ctl, json => $n, dls => $n,
            replied => $n - @ctl);
my %got;
for my $s (sort keys %want) {
    $got{$s} = $sub{$s}->wait_requests($want{$s}, 5);
    is(scalar @{ $got{$s} }, $want{$s}, "$s: all $want{$s} requests arrived");
}
sleep 0.5;
$got{$_} = $sub{$_}->requests for keys %want;

my %allowed = map { $_ => 1 } qw(host accept user-agent content-type
    content-length prefer kn-namespace traceparent tracestate);

# Every header of every request: a known name, a printable US-ASCII value.
sub headers_clean {
    my ($what, $reqs) = @_;
    my @bad;
    for my $r (@$reqs) {
        for my $h (@{ $r->{header_list} }) {
            my ($k, $v) = @$h;
            push @bad, "$k: $v" if !$allowed{ lc $k } && $k !~ /^ce-[a-z0-9]+$/i;
            # Content-Type is datacontenttype as is: UTF-8 may pass
            my $ok = lc $k eq 'content-type' ? qr/[\x00-\x1f\x7f]/
                                              : qr/[^\x20-\x7e]/;
            push @bad, "$k: $v" if $v =~ $ok;
        }
        push @bad, "$r->{method} $r->{path}" if $r->{path} =~ /smuggled/;
    }
    is(scalar @bad, 0, "$what: no injected or raw header")
        or diag explain [@bad[0 .. ($#bad < 9 ? $#bad : 9)]];
}

headers_clean($_, $got{$_}) for sort keys %want;
is(scalar @{ $sub{fail}->requests }, $n, 'the failing subscriber got each '
   . 'dl- event once (400 is final)');
headers_clean('fail', $sub{fail}->requests);

my %bin = map { $_->{headers}{'ce-id'} => $_ } @{ $got{bin} };
my %dls = map { $_->{headers}{'ce-id'} => $_ } @{ $got{dls} };
my %rep = map { $_->{headers}{'ce-id'} => $_ } @{ $got{replied} };
my %json = map { my $e = eval { $Json->decode($_->{body}) } || {};
                 ($e->{id} // '') => [$_, $e] } @{ $got{json} };

for my $c (@Cases) {
    my ($k, $v) = @$c;
    my $r = $bin{"bin-$k"};
    ok($r, "binary $k: delivered") or next;
    is(pct_decode($r->{headers}{'ce-note'} // ''), $v,
       "binary $k: ce-note percent-decodes to the value");
    is($r->{body}, "data $k", "binary $k: the data intact");

    my ($core) = grep { pct_decode($_) eq "id-$k $v" } keys %bin;
    ok($core, "binary $k: ce-id percent-decodes to the value") or next;
    my $h = $bin{$core}{headers};
    is(pct_decode($h->{'ce-source'}), "src-$k $v",
       "binary $k: ce-source percent-decodes to the value");
    is(pct_decode($h->{'ce-subject'} // ''), $v,
       "binary $k: ce-subject percent-decodes to the value");

    my $control = $v =~ /[\x00-\x1f\x7f]/;
    my ($dct) = grep { pct_decode($_) eq "dct-$k" } keys %bin;
    if ($control) {
        ok(!$dct, "binary $k: datacontenttype with a control character is "
           . 'not put on HTTP');
        like($d->log, qr/event id=dct-$k .* cannot be put on HTTP .*; dropped \(undeliverable\)/,
             "binary $k: the drop is logged");
    } else {
        my $ct = $dct ? $bin{$dct}{headers}{'content-type'} : '';
        # (a field value's surrounding spaces are not part of it)
        is($ct, "text/plain; x=$v" =~ s/\s+\z//r,
           "binary $k: Content-Type is datacontenttype, on one line");
    }

    my ($jr, $ev) = @{ $json{"json-$k"} || [] };
    ok($jr, "structured $k: delivered") or next;
    is($ev->{note}, $v, "structured $k: note is the value, JSON-escaped");

    my $dl = $dls{"dl-$k"};
    ok($dl, "dead letter $k: delivered to the sink") or next;
    is(pct_decode($dl->{headers}{'ce-note'} // ''), $v,
       "dead letter $k: ce-note percent-decodes to the value");
    is(pct_decode($dl->{headers}{'ce-knativeerrordest'} // ''),
       $sub{fail}->url('/fail'), "dead letter $k: knativeerrordest");
    is($dl->{headers}{'ce-knativeerrorcode'}, '400',
       "dead letter $k: knativeerrorcode");

    my $rp = $rep{"re-rp-$k"};
    if ($control) {
        ok(!$rp, "reply $k: a reply with a control character is refused");
        next;
    }
    ok($rp, "reply $k: stored and delivered to its trigger") or next;
    is(pct_decode($rp->{headers}{'ce-note'} // ''), $v,
       "reply $k: ce-note percent-decodes to the value");
}

is($d->metric('em_events_undeliverable_total', 'bin'), scalar @ctl,
   'the events that cannot be put on HTTP are counted undeliverable');
is($d->metric('em_replies_invalid_total', 'reply'), scalar @ctl,
   'the refused replies are counted invalid');

diag sprintf '%d hostile values; delivered %d binary, %d structured, %d dead '
     . 'letters, %d replies; no raw header', $n, scalar @{ $got{bin} },
     scalar @{ $got{json} }, scalar @{ $got{dls} },
     scalar @{ $got{replied} };

is($d->stop, 0, 'the dispatcher stops gracefully');

done_testing;
