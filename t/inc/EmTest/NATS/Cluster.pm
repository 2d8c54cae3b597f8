package EmTest::NATS::Cluster;

# A JetStream cluster on loopback for the fault suites: N nats-server
# processes (3 by default) with routes to each other, one cluster name,
# each with its own client port, cluster port and store.  Every node is an
# EmTest::NATS, so it can be stopped, killed (kill9), paused and started
# again on the same ports with the same store; all are stopped by PID when
# the test ends.
#
#   use EmTest::NATS;
#   my $c = EmTest::NATS->start_cluster(nodes => 3);   # waits for a leader
#   $c->urls;                      # nats://127.0.0.1:P1 ... for clients
#   $c->create_broker('default', 'default', num_replicas => 3);
#   $c->wait_stream_current('EM_default_default');
#   my $i = $c->stream_leader('EM_default_default');   # node index, 1..N
#   $c->node($i)->kill9; ... $c->node($i)->start; $c->wait_node_ready($i);
#
# Cluster formation and leader elections take seconds: every wait here
# polls the JetStream API until it answers, never sleeps a fixed time.

use strict;
use warnings;

use Carp qw(croak);
use IO::Socket::INET ();
use JSON::PP ();
use Time::HiRes qw(sleep time);

use EmTest::NATS ();

our $VERSION = '0.01';

my $Json = JSON::PP->new->canonical(1)->allow_nonref(1);

# JetStream's "system temporarily unavailable" (no meta leader yet),
# "no suitable peers for placement" (the peers are not all known yet) and
# "cluster not available" / "stream leader unknown" while electing.
my %Transient = map { $_ => 1 } (10005, 10008, 10074, 10075, 10076);

sub _free_ports {
    my $n = shift;
    my (@socks, @ports);
    # keep them open until all are chosen, so that no two are the same
    for (1 .. $n) {
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      ReuseAddr => 1)
            or croak "EmTest::NATS::Cluster: no free port: $!";
        push @socks, $s;
        push @ports, $s->sockport;
    }
    close $_ for @socks;
    return @ports;
}

# start(nodes => 3, name => 'emtest-...', timeout => 60 (cluster
# formation), node_timeout => 10 (one server's start), args => [...])
sub start {
    my ($class, %opt) = @_;
    my $n = $opt{nodes} || 3;
    my $name = $opt{name} || 'emtest-' . join('', map { int rand 10 } 1 .. 8);
    my $self = bless {
        name    => $name,
        timeout => $opt{timeout} || 60,
        nodes   => [],
    }, $class;

    my $err;
    for my $try (1 .. 3) {
        my @ports = _free_ports(2 * $n);
        my @client = @ports[0 .. $n - 1];
        my @route = @ports[$n .. 2 * $n - 1];
        my @nodes;
        my $ok = eval {
            for my $i (1 .. $n) {
                my $routes = join ',', map { "nats://127.0.0.1:$route[$_ - 1]" }
                                       grep { $_ != $i } 1 .. $n;
                push @nodes, EmTest::NATS->start(
                    port    => $client[$i - 1],
                    env     => undef,
                    wait    => 'connect',
                    timeout => $opt{node_timeout} || 10,
                    args    => [
                        '--server_name', "n$i",
                        '--cluster_name', $name,
                        '--cluster', "nats://127.0.0.1:$route[$i - 1]",
                        '--routes', $routes,
                        @{ $opt{args} || [] },
                    ],
                );
            }
            1;
        };
        if ($ok) {
            $self->{nodes} = \@nodes;
            $self->{route_ports} = \@route;
            last;
        }
        $err = $@;
        $_->stop for @nodes;
        croak $err unless $err =~ /address already in use/i && $try < 3;
    }

    $self->wait_meta_leader;
    return $self;
}

sub name  { $_[0]{name} }
sub size  { scalar @{ $_[0]{nodes} } }
sub nodes { @{ $_[0]{nodes} } }

# node(1) .. node(N)
sub node {
    my ($self, $i) = @_;
    return $self->{nodes}[$i - 1] || croak "EmTest::NATS::Cluster: no node $i";
}

sub ports { map { $_->port } $_[0]->nodes }
sub urls  { map { $_->url } $_[0]->nodes }

# "n2" -> 2
sub index_of {
    my ($self, $server_name) = @_;
    return $server_name =~ /^n(\d+)$/ ? $1 : undef;
}

sub _running { grep { $_->is_running && !$_->is_paused } $_[0]->nodes }

# js_api('STREAM.INFO.X', \%req) through the first running node that
# answers; retried while the cluster elects a leader, up to $timeout.
sub js_api {
    my ($self, $api, $req, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    my $last;
    while (1) {
        for my $node ($self->_running) {
            # short: a request that only the dead leader would answer
            my $res = eval {
                my $m = $node->client->request("\$JS.API.$api",
                    defined $req ? $Json->encode($req) : '', timeout => 2);
                die "status $m->{status}\n" if defined $m->{status};
                $Json->decode($m->{data});
            };
            if (!$res) {
                $last = $@;
                next;
            }
            my $code = $res->{error} ? $res->{error}{err_code} // 0 : 0;
            return $res unless $Transient{$code};
            $last = "$res->{error}{description} (err_code $code)";
        }
        croak "EmTest::NATS::Cluster: \$JS.API.$api: no answer within "
              . "the deadline: " . ($last // 'no node running')
            if time > $deadline;
        sleep 0.1;
    }
}

# True when $node's JetStream answers (the cluster has a meta leader and
# the node knows it).
sub _js_ready {
    my ($node) = @_;
    my $res = eval {
        $node->client->request('$JS.API.INFO', '', timeout => 2);
    } or return 0;
    return 0 if defined $res->{status};
    my $info = eval { JSON::PP->new->decode($res->{data}) } or return 0;
    return $info->{error} ? 0 : 1;
}

# Waits until JetStream answers on every running node.
sub wait_meta_leader {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    while (1) {
        my @not = grep { !_js_ready($_) } $self->_running;
        return 1 unless @not;
        if (time > $deadline) {
            croak "EmTest::NATS::Cluster $self->{name}: JetStream not "
                  . "ready on " . join(', ', map { $_->url } @not)
                  . " within the deadline; last log lines of the first:\n"
                  . $not[0]->_log_tail;
        }
        sleep 0.1;
    }
}

# After $c->node($i)->start: waits until that node's JetStream answers.
sub wait_node_ready {
    my ($self, $i, $timeout) = @_;
    my $node = $self->node($i);
    my $deadline = time + ($timeout // $self->{timeout});
    until (_js_ready($node)) {
        croak "EmTest::NATS::Cluster: node $i not ready:\n" . $node->_log_tail
            if time > $deadline;
        sleep 0.1;
    }
    return 1;
}

# Stream create as EmTest::NATS::create_broker does it, retried while the
# cluster settles.  Returns the stream info.
sub create_broker {
    my ($self, $ns, $broker, %opt) = @_;
    my $name = EmTest::NATS::stream_name($ns, $broker);
    my $cfg = EmTest::NATS::_stream_config($name,
        subjects         => [EmTest::NATS::subject_wildcard($ns, $broker)],
        duplicate_window => '2m',
        num_replicas     => $self->size,
        %opt);
    my $res = $self->js_api("STREAM.CREATE.$name", $cfg);
    croak "STREAM.CREATE.$name: $res->{error}{description}" if $res->{error};
    return $res;
}

# Stream info or undef (no such stream).
sub stream_info {
    my ($self, $name) = @_;
    my $res = $self->js_api("STREAM.INFO.$name");
    return undef if $res->{error}
                    && ($res->{error}{err_code} // 0) == 10059;
    croak "STREAM.INFO.$name: $res->{error}{description}" if $res->{error};
    return $res;
}

# Index (1..N) of the node leading the stream, or undef while there is
# none.
sub stream_leader {
    my ($self, $name) = @_;
    my $info = eval { $self->stream_info($name) } or return undef;
    my $leader = $info->{cluster}{leader} // return undef;
    return $self->index_of($leader);
}

# Waits until the stream has a leader and every other replica is current
# (caught up); returns the info.  $want: the number of peers (default N).
sub wait_stream_current {
    my ($self, $name, $timeout, $want) = @_;
    $want //= $self->size;
    my $deadline = time + ($timeout // $self->{timeout});
    my $last = 'no answer';
    while (1) {
        my $info = eval { $self->stream_info($name) };
        if ($info && (my $cl = $info->{cluster})) {
            my @r = @{ $cl->{replicas} || [] };
            my @behind = grep { !$_->{current} || $_->{offline} } @r;
            return $info if defined $cl->{leader} && @r == $want - 1
                            && !@behind;
            $last = 'leader ' . ($cl->{leader} // 'none') . '; replicas: '
                  . join(', ', map { "$_->{name} current="
                                     . ($_->{current} ? 1 : 0)
                                     . " lag=" . ($_->{lag} // 0) } @r);
        } elsif ($@) {
            $last = $@;
        }
        croak "EmTest::NATS::Cluster: stream $name not current within the "
              . "deadline ($last)" if time > $deadline;
        sleep 0.1;
    }
}

sub stop {
    my $self = shift;
    $_->stop for $self->nodes;
    return $self;
}

1;
