# The filters dialect end to end: nats-server -js, the dispatcher with one
# Trigger of each kind on one broker, nginx with the module as the ingress,
# and a recording subscriber per Trigger.  Every Trigger receives exactly
# the events its filter selects, an exact type is pushed down to JetStream,
# /triggers shows each filter, and a changed filter takes effect on SIGHUP.

use strict;
use warnings;

use lib 't/inc';

use Test::More;
use Time::HiRes qw(sleep);

use EmTest::Dispatcher;
use EmTest::HTTP;
use EmTest::NATS;
use EmTest::Subscriber;

if (my $why = EmTest::Dispatcher::missing(nginx => 1)) {
    plan skip_all => $why;
}
require EmTest::Nginx;

my $nats = EmTest::NATS->start;

# name => [filters under spec, apiVersion]
my %Spec = (
    exact => <<'EOF',
  filters:
    - exact: {type: order.created, source: shop}
EOF
    prefix => <<'EOF',
  filters:
    - prefix: {type: order.}
EOF
    suffix => <<'EOF',
  filters:
    - suffix:
        type: .deleted
EOF
    all => <<'EOF',
  filters:
    - all:
        - exact: {type: order.created}
        - prefix: {subject: vip/}
EOF
    # Kyma's form takes the dialect too
    any => <<'EOF',
  filters:
    - any:
        - exact: {type: user.created}
        - exact: {type: user.deleted}
EOF
    not => <<'EOF',
  filters:
    - exact: {source: shop}
    - not:
        prefix: {type: order.}
EOF
    # top-level entries are ANDed
    multi => <<'EOF',
  filters:
    - prefix: {type: order.}
    - suffix: {subject: .pdf}
EOF
    # filters replaces filter.attributes (with a warning)
    override => <<'EOF',
  filter:
    attributes: {type: user.created}
  filters:
    - exact: {type: order.paid}
EOF
    attrs => <<'EOF',
  filter:
    attributes: {type: order.created}
EOF
    # a missing subject is an error, and an error is no match
    cesql => <<'EOF',
  filters:
    - cesql: >-
        source = 'shop' AND
        (subject LIKE '%.pdf' OR type IN ('user.created', 'invoice.sent'))
EOF
);
my %Api = (any => 'v1alpha1');

# Which Triggers each event reaches.
my @Events = (
    [{ id => 'e1', type => 'order.created', source => 'shop',
       subject => 'vip/1' }, [qw(exact prefix all attrs)]],
    [{ id => 'e2', type => 'order.created', source => 'shop',
       subject => 'std/2' }, [qw(exact prefix attrs)]],
    [{ id => 'e3', type => 'order.created', source => 'other',
       subject => 'vip/3' }, [qw(prefix all attrs)]],
    [{ id => 'e4', type => 'order.paid', source => 'shop',
       subject => 'inv.pdf' }, [qw(prefix multi override cesql)]],
    [{ id => 'e5', type => 'user.created', source => 'shop',
       subject => 'u/5' }, [qw(any not cesql)]],
    [{ id => 'e6', type => 'user.deleted', source => 'crm' },
     [qw(suffix any)]],
    [{ id => 'e7', type => 'order.deleted', source => 'shop',
       subject => 'x.pdf' }, [qw(prefix suffix multi cesql)]],
    [{ id => 'e8', type => 'invoice.sent', source => 'shop' }, ['not']],
    [{ id => 'e9', type => 'Order.created', source => 'x' }, []],
    [{ id => 'e10', type => 'other', source => 'shop/eu',
       subject => 'vip/.pdf' }, []],
);

sub trigger_yaml {
    my ($name, $uri) = @_;
    my $api = $Api{$name} // 'v1';
    return "apiVersion: eventing.knative.dev/$api\nkind: Trigger\n"
         . "metadata:\n  name: $name\n"
         . "spec:\n  broker: default\n"
         . "  subscriber:\n    uri: $uri\n"
         . $Spec{$name};
}

my %Sub = map { $_ => EmTest::Subscriber->start } keys %Spec;
my @Names = sort keys %Spec;

my $d = EmTest::Dispatcher->new(nats => $nats);
$d->write_trigger($_, trigger_yaml($_, $Sub{$_}->url("/$_"))) for @Names;
$d->start;
my $ts = $d->wait_ready(15, @Names);

my $ngx = EmTest::Nginx->start(
    workers => 1,
    http    => 'event_mesh_nats 127.0.0.1:' . $nats->port . ";\n",
    server  => "location = /events { event_mesh_publish default/default; }\n"
               . "location = /status { event_mesh_status; }\n",
);
EmTest::HTTP::wait_nats_connected('/status', port => $ngx->port,
                                  timeout => 10);

# An event through the ingress, in binary mode.
sub send_event {
    my ($ev) = @_;
    my %h = ('ce-specversion' => '1.0',
             'Content-Type' => 'application/json');
    $h{"ce-$_"} = $ev->{$_} for keys %$ev;
    my $r = EmTest::HTTP::request('POST', '/events', port => $ngx->port,
                                  headers => \%h, body => '{"x":1}',
                                  timeout => 10);
    return $r->code;
}

sub ids_of {
    my ($sub) = @_;
    return [ sort map { $_->{headers}{'ce-id'} // '' } @{ $sub->requests } ];
}

# Waits until every Trigger has decided on all the events it fetched:
# delivered + filtered out = fetched, and the wildcard ones fetched $n.
sub settle {
    my ($n, @wild) = @_;
    return EmTest::Dispatcher::wait_for(sub {
        my $m = $d->metrics;
        for my $t (@Names) {
            my $k = "{namespace=\"default\",trigger=\"$t\"}";
            my $got = $m->{"em_events_received_total$k"} // 0;
            my $done = ($m->{"em_events_delivered_total$k"} // 0)
                     + ($m->{"em_events_filtered_total$k"} // 0);
            return 0 if $done != $got;
        }
        for my $t (@wild) {
            return 0 if $d->metric('em_events_received_total', $t) < $n;
        }
        return 1;
    }, 15);
}

# --- what the dispatcher made of the filters ------------------------------------

subtest '/triggers: filters and pushed-down types' => sub {
    my %t = map { $_->{name} => $_ } @$ts;
    is(scalar(keys %t), scalar(@Names), 'every trigger listed');
    ok($t{$_}{ready}, "$_ ready") for @Names;

    my %subject = (exact => 'order.created', all => 'order.created',
                   override => 'order.paid', attrs => 'order.created');
    for my $name (@Names) {
        my $want = $subject{$name} ? "em.default.default.$subject{$name}"
                                   : 'em.default.default.>';
        is($t{$name}{filterSubject}, $want, "$name: filter subject $want");
    }

    is($t{exact}{filters}, 'exact(source="shop", type="order.created")',
       'exact: the canonical text');
    is($t{not}{filters},
       'all(exact(source="shop"), not(prefix(type="order.")))',
       'two entries: an all');
    is($t{override}{filters}, 'exact(type="order.paid")',
       'override: the filters, not the attributes');
    is_deeply($t{override}{filter}, {}, 'and no attributes');
    is($t{cesql}{filters},
       q{cesql("(source = 'shop') AND ((subject LIKE '%.pdf') OR (type IN }
       . q{('user.created', 'invoice.sent')))")},
       'cesql: its canonical text');
    is_deeply($t{attrs}{filter}, { type => 'order.created' },
              'attributes as before');
    ok(!exists $t{attrs}{filters}, 'no "filters" for filter.attributes');

    like($d->log, qr/spec\.filter is ignored: spec\.filters is given/,
         'the override is warned about at start');
};

# --- delivery ----------------------------------------------------------------------

subtest 'each trigger receives exactly the events it selects' => sub {
    my @codes = map { send_event($_->[0]) } @Events;
    is_deeply(\@codes, [(202) x @Events], 'the ingress accepted every event');

    my %want;
    for my $e (@Events) {
        push @{ $want{$_} }, $e->[0]{id} for @{ $e->[1] };
    }

    for my $name (@Names) {
        $Sub{$name}->wait_requests(scalar @{ $want{$name} // [] }, 10);
    }
    ok(settle(scalar @Events, qw(prefix suffix any not multi cesql)),
       'every trigger has decided on every event it fetched')
        or diag explain $d->metrics;

    for my $name (@Names) {
        is_deeply(ids_of($Sub{$name}), [sort @{ $want{$name} // [] }],
                  "$name: @{ $want{$name} // ['nothing'] }");
    }

    is($d->metric('em_events_received_total', 'exact'), 3,
       'exact: only the three order.created events were fetched');
    is($d->metric('em_events_received_total', 'override'), 1,
       'override: only order.paid was fetched');
    is($d->metric('em_events_received_total', 'prefix'), scalar @Events,
       'prefix: every event fetched (no push-down)');
};

# --- reload ------------------------------------------------------------------------

subtest 'SIGHUP: a changed filter takes effect' => sub {
    my $mark = $d->log_size;
    $Spec{prefix} = "  filters:\n    - prefix: {type: user.}\n";
    $d->write_trigger('prefix', trigger_yaml('prefix',
                                             $Sub{prefix}->url('/prefix')));
    $d->reload;
    ok(EmTest::Dispatcher::wait_for(sub {
           $d->log_since($mark) =~ /reloaded: \d+ triggers: 0 added, 1 changed, 0 removed/ }, 10),
       'the prefix trigger changed, nothing else')
        or diag $d->log_since($mark);
    my $ts2 = $d->wait_ready(15, @Names);
    my ($p) = grep { $_->{name} eq 'prefix' } @$ts2;
    is($p->{filters}, 'prefix(type="user.")', '/triggers shows the new one');

    my $decided = sub {
        $d->metric('em_events_filtered_total', 'prefix')
        + $d->metric('em_events_delivered_total', 'prefix');
    };
    # the old runtime finishes the fetch it is in with the old filter
    # (about a second): what it fetches then is still judged by it
    sleep 2;
    my $before = $decided->();
    $Sub{prefix}->clear;
    send_event({ id => 'r1', type => 'order.created', source => 'x' });
    send_event({ id => 'r2', type => 'user.updated', source => 'x' });
    $Sub{prefix}->wait_requests(1, 10);
    ok(EmTest::Dispatcher::wait_for(sub { $decided->() >= $before + 2 }, 10),
       'both events decided');
    is_deeply(ids_of($Sub{prefix}), ['r2'], 'user.* now, not order.*')
        or diag explain ids_of($Sub{prefix});
};

$ngx->stop;
$d->stop;
is($d->{status}, 0, 'the dispatcher stops cleanly');
$_->stop for values %Sub;

done_testing;
