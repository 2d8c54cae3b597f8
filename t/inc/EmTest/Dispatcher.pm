package EmTest::Dispatcher;

# event-mesh-dispatcher as a daemon for the dispatcher suites: its own
# dispatcher.yaml and triggers directory in a temporary directory, the
# process started and stopped by PID, its admin endpoints, and events
# published into JetStream the way the ingress module stores them.
#
#   use lib 't/inc';
#   use EmTest::Dispatcher;
#   my $d = EmTest::Dispatcher->new(nats => $nats);
#   $d->write_trigger('t1', name => 't1', type => 'user.created',
#                     uri => $sub->url('/'), delivery => { retry => 2 });
#   $d->start; $d->wait_ready;
#   EmTest::Dispatcher::publish($nats, 'default', 'default',
#       { id => 1, source => 'mock', type => 'user.created' }, $data);
#   $d->metric('em_events_delivered_total', 't1');
#   $d->reload; $d->stop;     # SIGHUP; SIGTERM and wait
#
# The binary is $ENV{EM_DISPATCHER} (make test sets it) or the build's.

use strict;
use warnings;

use Carp qw(croak);
use Digest::SHA qw(sha256_hex);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use EmTest::HTTP ();
use EmTest::NATS ();

our $VERSION = '0.01';

my $Json = JSON::PP->new->canonical(1);
my @Running;

sub binary { $ENV{EM_DISPATCHER} || 'build/event-mesh-dispatcher' }

# Why a test cannot run here (undef when it can): the dispatcher is not
# built, or, with nginx => 1, the nginx module (TEST_NGINX_LOAD_MODULES).
#
#   if (my $why = EmTest::Dispatcher::missing(nginx => 1)) {
#       plan skip_all => $why;
#   }
sub missing {
    my %o = @_;
    my $bin = binary();
    return "$bin is not built (make dispatcher)" unless -x $bin;
    return undef unless $o{nginx};
    my $module = (grep { /\S/ } split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '')[0];
    return 'the nginx module is not built (TEST_NGINX_LOAD_MODULES)'
        unless $module && -f $module;
    return undef;
}

sub _free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      ReuseAddr => 1) or next;
        my $port = $s->sockport;
        close $s;
        return $port;
    }
    croak 'no free port on 127.0.0.1';
}

# new(nats => $nats, brokers => [[ns, name, { channel key => value }], ...],
#     log_level => 'info', extra => "yaml appended to dispatcher.yaml",
#     servers => [nats URLs] (default: $nats's only; a cluster's urls))
sub new {
    my ($class, %o) = @_;
    my $dir = tempdir('em-disp-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $self = bless {
        nats      => $o{nats},
        brokers   => $o{brokers} || [['default', 'default']],
        log_level => $o{log_level} // 'info',
        extra     => $o{extra} // '',
        servers   => $o{servers},
        dir       => $dir,
        tdir      => "$dir/triggers",
        admin     => $o{admin_port} || _free_port(),
        log       => "$dir/dispatcher.log",
        owner     => $$,
    }, $class;
    make_path($self->{tdir});
    $self->write_config;
    push @Running, $self;
    return $self;
}

sub dir          { $_[0]{dir} }
sub config_path  { "$_[0]{dir}/dispatcher.yaml" }
sub triggers_dir { $_[0]{tdir} }
sub admin_port   { $_[0]{admin} }
sub pid          { $_[0]{pid} }

sub write_config {
    my ($self, $text) = @_;
    if (!defined $text) {
        my $servers = $self->{servers}
            ? join(', ', @{ $self->{servers} })
            : 'nats://127.0.0.1:' . $self->{nats}->port;
        $text = "nats:\n  servers: [$servers]\n"
              . "admin:\n  listen: 127.0.0.1:$self->{admin}\n"
              . "triggers: triggers\n"
              . "subscriberTemplate: \"http://127.0.0.1:1/{namespace}/{name}\"\n"
              . "brokers:\n";
        for my $b (@{ $self->{brokers} }) {
            $text .= "  - namespace: $b->[0]\n    name: $b->[1]\n";
            my $ch = $b->[2] or next;
            $text .= "    channel:\n";
            $text .= "      $_: $ch->{$_}\n" for sort keys %$ch;
        }
        $text .= $self->{extra};
    }
    _spew($self->config_path, $text);
}

sub _spew {
    my ($path, $text) = @_;
    # written aside and renamed, so a reload never reads half a file
    open my $fh, '>', "$path.tmp" or croak "$path.tmp: $!";
    print {$fh} $text;
    close $fh;
    rename "$path.tmp", $path or croak "rename $path: $!";
}

sub _q { $Json->encode("$_[0]") }

# A Trigger document.  %t: name, namespace (default), broker (default),
# api (v1 | v1alpha1), filter => { attr => value } (or type => ... for
# the common case), uri, ref => { name, namespace }, delivery => { retry,
# backoffPolicy, backoffDelay, timeout, retryAfterMax, deadLetterSink =>
# uri, format }, annotations => {..}
sub trigger_yaml {
    my (%t) = @_;
    my $api = $t{api} // 'v1';
    my $y = "apiVersion: eventing.knative.dev/$api\nkind: Trigger\n"
          . "metadata:\n  name: " . _q($t{name}) . "\n"
          . "  namespace: " . _q($t{namespace} // 'default') . "\n";
    if (my $a = $t{annotations}) {
        $y .= "  annotations:\n";
        $y .= "    " . _q($_) . ": " . _q($a->{$_}) . "\n" for sort keys %$a;
    }
    $y .= "spec:\n  broker: " . _q($t{broker} // 'default') . "\n";
    my %f = %{ $t{filter} || {} };
    $f{type} = $t{type} if defined $t{type};
    if (%f) {
        $y .= "  filter:\n    attributes:\n";
        $y .= "      $_: " . _q($f{$_}) . "\n" for sort keys %f;
    }
    $y .= "  subscriber:\n";
    if (my $r = $t{ref}) {
        $y .= "    ref:\n      apiVersion: v1\n      kind: Service\n"
            . "      name: " . _q($r->{name}) . "\n";
        $y .= "      namespace: " . _q($r->{namespace}) . "\n"
            if $r->{namespace};
    } else {
        $y .= "    uri: " . _q($t{uri}) . "\n";
    }
    if (my $d = $t{delivery}) {
        $y .= "  delivery:\n";
        for my $k (sort keys %$d) {
            if ($k eq 'deadLetterSink') {
                $y .= "    deadLetterSink:\n      uri: " . _q($d->{$k}) . "\n";
            } elsif ($k eq 'retry') {
                $y .= "    retry: $d->{$k}\n";
            } else {
                $y .= "    $k: " . _q($d->{$k}) . "\n";
            }
        }
    }
    return $y;
}

# write_trigger($file, %trigger) or write_trigger($file, $yaml_text)
sub write_trigger {
    my ($self, $file, @t) = @_;
    my $text = @t == 1 ? $t[0] : trigger_yaml(@t);
    $file .= '.yaml' unless $file =~ /\.ya?ml$/;
    _spew("$self->{tdir}/$file", $text);
    my %t = @t == 1 ? () : @t;
    $self->{expect}{$file} = $t{name} if defined $t{name};
    return "$self->{tdir}/$file";
}

sub remove_trigger {
    my ($self, $file) = @_;
    $file .= '.yaml' unless $file =~ /\.ya?ml$/;
    unlink "$self->{tdir}/$file" or croak "unlink $file: $!";
    delete $self->{expect}{$file};
}

# Names of the triggers written with write_trigger(%trigger).
sub expected { sort values %{ $_[0]{expect} || {} } }

sub start {
    my ($self, @args) = @_;
    croak 'EmTest::Dispatcher: already running' if $self->{pid};
    my $bin = binary();
    croak "$bin is not built (make dispatcher)" unless -x $bin;
    my @cmd = ($bin, '-c', $self->config_path, '--log-level',
               $self->{log_level}, @args);
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log} or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        { exec { $cmd[0] } @cmd; }
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    delete $self->{status};
    return $self;
}

# Runs "event-mesh-dispatcher provision -c FILE" (or another command
# with its arguments); returns (exit status, output).
sub run_command {
    my ($self, @args) = @_;
    my $bin = binary();
    my @cmd = ($bin, @args, '-c', $self->config_path);
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

sub provision { $_[0]->run_command('provision') }

sub alive {
    my $self = shift;
    return 0 unless $self->{pid};
    if (waitpid($self->{pid}, WNOHANG) == $self->{pid}) {
        $self->{status} = $?;
        delete $self->{pid};
        return 0;
    }
    return 1;
}

sub log {
    my $self = shift;
    open my $fh, '<', $self->{log} or return '';
    local $/;
    my $s = <$fh>;
    return $s // '';
}

# The log from byte $from on (for "what did this step log").
sub log_since {
    my ($self, $from) = @_;
    return substr $self->log, $from // 0;
}

sub log_size { -s $_[0]{log} // 0 }

sub get {
    my ($self, $path) = @_;
    return EmTest::HTTP::request('GET', $path, port => $self->{admin},
                                 timeout => 3);
}

sub triggers {
    my $self = shift;
    my $res = $self->get('/triggers');
    return undef unless $res->code == 200;
    return $Json->decode($res->content);
}

# Waits until /readyz answers 200 and every trigger written with
# write_trigger(%trigger) (or the named ones) is listed and ready; croaks
# with the last state and the log after $timeout s.
sub wait_ready {
    my ($self, $timeout, @names) = @_;
    @names = $self->expected unless @names;
    my $deadline = time + ($timeout // 10);
    my $last = 'no answer';
    while (time < $deadline) {
        croak "dispatcher exited (status " . ($self->{status} // '?')
              . "):\n" . $self->log unless $self->alive;
        my $r = $self->get('/readyz');
        if ($r->code == 200) {
            my $ts = $self->triggers;
            my %want = map { $_ => 1 } @names;
            my @not = grep { !$_->{ready} && $want{ $_->{name} } }
                      @{ $ts || [] };
            my %have = map { $_->{name} => 1 } @{ $ts || [] };
            my @missing = grep { !$have{$_} } @names;
            return $ts if $ts && !@not && !@missing;
            $last = 'not ready: '
                  . join(', ', map { "$_->{name} $_->{reason}" } @not)
                  . (@missing ? " missing: @missing" : '');
        } else {
            $last = $r->code . ' ' . ($r->content // '');
        }
        sleep 0.05;
    }
    croak "dispatcher not ready within ${\($timeout // 10)}s ($last):\n"
          . $self->log;
}

# Polls until $cond->() is true; returns its value, or undef at $timeout.
sub wait_for {
    my ($cond, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return undef if time > $deadline;
        sleep 0.05;
    }
}

# { 'name{labels}' => value }
sub metrics {
    my $self = shift;
    my $res = $self->get('/metrics');
    croak "/metrics answered " . $res->code unless $res->code == 200;
    my %m;
    for my $line (split /\n/, $res->content) {
        next if $line =~ /^#/ || $line !~ /\S/;
        my ($k, $v) = $line =~ /^(\S+(?:\{.*\})?) (\S+)$/ or next;
        $m{$k} = $v;
    }
    return \%m;
}

# A per-trigger counter or gauge (namespace default unless given).
sub metric {
    my ($self, $name, $trigger, $ns) = @_;
    my $m = $self->metrics;
    my $key = defined $trigger
        ? $name . '{namespace="' . ($ns // 'default') . "\",trigger=\"$trigger\"}"
        : $name;
    return $m->{$key} // 0;
}

sub signal {
    my ($self, $sig) = @_;
    croak 'EmTest::Dispatcher: not running' unless $self->{pid};
    kill $sig, $self->{pid};
}

sub reload { $_[0]->signal('HUP') }

# Waits for the process to end; its wait status, or undef at $timeout.
sub wait_exit {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 15);
    while ($self->{pid}) {
        return $self->{status} unless $self->alive;
        return undef if time > $deadline;
        sleep 0.02;
    }
    return $self->{status};
}

# SIGTERM and wait (SIGKILL after $timeout); returns the wait status.
sub stop {
    my ($self, $timeout) = @_;
    return $self->{status} unless $self->{pid};
    kill 'TERM', $self->{pid};
    my $st = $self->wait_exit($timeout // 15);
    return $st if defined $st;
    kill 'KILL', $self->{pid};
    return $self->wait_exit(5);
}

sub kill9 {
    my $self = shift;
    kill 'KILL', $self->{pid};
    return $self->wait_exit(5);
}

# ---- events ------------------------------------------------------------------

# The Nats-Msg-Id the core derives from source and id (core/msgid.c).
sub msg_id {
    my ($source, $id) = @_;
    return sha256_hex(pack('Q>', length $source) . $source
                      . pack('Q>', length $id) . $id);
}

sub _pct {
    my $s = shift;
    utf8::encode($s) if utf8::is_utf8($s);
    $s =~ s/([^\x21-\x7e]|[%"])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# Stores one event in broker ns/broker as the ingress module does: ce-*
# headers percent-encoded, datacontenttype included, Nats-Msg-Id, the
# data as payload.  $attrs holds every attribute (specversion defaults to
# 1.0).  Returns the PubAck.
sub publish {
    my ($nats, $ns, $broker, $attrs, $data) = @_;
    my %a = (specversion => '1.0', %$attrs);
    my @h;
    for my $k (qw(specversion id source type), sort grep {
                   !/^(?:specversion|id|source|type)$/ } keys %a)
    {
        push @h, ["ce-$k", _pct($a{$k})];
    }
    push @h, ['Nats-Msg-Id', msg_id($a{source}, $a{id})];
    my $subject = EmTest::NATS::subject_for($ns, $broker, $a{type});
    my $msg = $nats->client->request($subject, $data // '', headers => \@h);
    croak "publish $subject: no stream takes this subject"
        if defined $msg->{status} && $msg->{status} eq '503';
    my $ack = $Json->decode($msg->{data});
    croak "publish $subject failed: $ack->{error}{description}"
        if $ack->{error};
    return $ack;
}

END {
    for my $d (@Running) {
        next unless $d->{owner} == $$ && $d->{pid};
        local $?;
        $d->stop(5);
    }
}

1;
