package EmTest::NATS;

# A real nats-server with JetStream for the test suites, plus the
# JetStream calls the tests need (streams, reading stored messages back).
#
#   use lib 't/inc';
#   use EmTest::NATS;
#   my $nats = EmTest::NATS->start;     # sets $ENV{TEST_NGINX_NATS_PORT}
#   $nats->create_broker('default', 'default');
#   ... nginx talks to 127.0.0.1:$TEST_NGINX_NATS_PORT ...
#   my $msg = $nats->stream_msg_get('EM_default_default', 1);
#   $nats->pause; ... $nats->resume;     # SIGSTOP / SIGCONT
#   $nats->stop;  ... $nats->start;      # same port, same store
#   $nats->kill9; ... $nats->start;      # a crash: SIGKILL, no shutdown
#
# A JetStream cluster of three on loopback (see EmTest::NATS::Cluster):
#   my $c = EmTest::NATS->start_cluster(nodes => 3);
#   $c->urls; $c->node(1)->kill9; $c->node(1)->start; $c->js_api(...)
#
# The store lives in a temporary directory removed at the end (kept when
# EM_KEEP_NATS_STORE is set, for a look after a failure).
#
# Inside a block's "--- init" (which the real Test::Nginx evaluates in its
# own package) reach the server as EmTest::NATS->instance.  Servers are
# stopped by pid when the process that started them ends.

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(decode_base64);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

use EmTest::NATS::Client;

our $VERSION = '0.01';

my $Json = JSON::PP->new->canonical(1)->allow_nonref(1);
my $Instance;

# Make an interrupted run reach the END block that stops the servers;
# forked helpers keep the default behaviour.
my $Owner = $$;
for my $sig (qw(INT TERM)) {
    next if defined $SIG{$sig} && $SIG{$sig} ne '' && $SIG{$sig} ne 'DEFAULT';
    $SIG{$sig} = sub {
        if ($$ != $Owner) {
            $SIG{$sig} = 'DEFAULT';
            kill $sig, $$;
            return;
        }
        warn "caught SIG$sig, cleaning up\n";
        exit 1;
    };
}
my @Servers;

# JetStream API error codes we turn into undef / idempotent successes.
use constant {
    JS_STREAM_NOT_FOUND => 10059,
    JS_NO_MESSAGE_FOUND => 10037,
};

# ---- naming (DESIGN section 3; must agree with core/subject.c) ----------------

# Bytes outside [A-Za-z0-9-] become "~XX": '_' separates the two parts.
sub stream_name {
    my ($ns, $broker) = @_;
    my $enc = sub {
        my $s = shift;
        $s =~ s/([^A-Za-z0-9-])/sprintf('~%02X', ord $1)/ge;
        return $s;
    };
    return 'EM_' . $enc->($ns) . '_' . $enc->($broker);
}

# One subject token: bytes outside [A-Za-z0-9_-] become "~XX", an empty
# token becomes "~".
sub subject_token {
    my $s = shift;
    return '~' if $s eq '';
    $s =~ s/([^A-Za-z0-9_-])/sprintf('~%02X', ord $1)/ge;
    return $s;
}

sub subject_for {
    my ($ns, $broker, $type) = @_;
    return join '.', 'em', subject_token($ns), subject_token($broker),
                map { subject_token($_) } split /\./, $type, -1;
}

sub subject_wildcard {
    my ($ns, $broker) = @_;
    return join '.', 'em', subject_token($ns), subject_token($broker), '>';
}

# "2m", "24h", "500ms", "1.5s" or a plain number of nanoseconds -> ns
sub duration_ns {
    my $d = shift;
    return $d if $d =~ /^\d+$/;
    my %unit = (ns => 1, us => 1e3, ms => 1e6, s => 1e9, m => 60e9,
                h => 3600e9, d => 86400e9);
    my $total = 0;
    my $rest = $d;
    while ($rest =~ s/^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d)//) {
        $total += $1 * $unit{$2};
    }
    croak "bad duration \"$d\" (use e.g. 500ms, 2m, 24h)"
        if $rest ne '' || $d eq '';
    return int $total;
}

# "1Gi", "64Ki", "10M", "1048576" -> bytes
sub size_bytes {
    my $s = shift;
    my %unit = ('' => 1, K => 1e3, M => 1e6, G => 1e9,
                Ki => 1024, Mi => 1024**2, Gi => 1024**3);
    $s =~ /^(\d+)(|K|M|G|Ki|Mi|Gi)$/
        or croak "bad size \"$s\" (use e.g. 1048576, 64Ki, 1Gi)";
    return $1 * $unit{$2};
}

# ---- the server process ----------------------------------------------------------

sub _port_free {
    my $port = shift;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $port, Proto => 'tcp',
                                  Listen => 1, ReuseAddr => 1)
        or return 0;
    close $s;
    return 1;
}

# Below the usual ephemeral range, like the nginx harness does.
sub _free_port {
    for (1 .. 1000) {
        my $port = 10000 + int rand 22000;
        return $port if _port_free($port);
    }
    croak "EmTest::NATS: no free loopback port found";
}

# EmTest::NATS->start(%opts) starts a new server; $server->start restarts a
# stopped one on the same port with the same store.
#   env     => name of the variable that gets the port
#              (default TEST_NGINX_NATS_PORT; undef for none)
#   binary  => nats-server to run (default $ENV{EM_NATS_SERVER} or PATH)
#   user, pass, token => require these credentials (the helper's own
#              client uses them too)
#   tls     => { cert, key, ca, verify, client_cert, client_key }: require
#              TLS with this server certificate; verify => 1 also requires
#              client certificates signed by ca.  The helper's own client
#              trusts ca and presents client_cert (see EmTest::TLS).
#   args    => [extra nats-server arguments]
#   timeout => seconds for every wait (default 10)
#   port    => the client port to use (default: a free one)
#   wait    => 'js' (default: until JetStream answers) or 'connect' (until
#              the server answers a PING: a cluster node has no JetStream
#              before its cluster elects a meta leader)
sub start {
    my ($class_or_self, %opt) = @_;
    return $class_or_self->_restart if ref $class_or_self;

    my $dir = tempdir('em-nats-XXXXXX', TMPDIR => 1);
    my $self = bless {
        binary  => $opt{binary} || $ENV{EM_NATS_SERVER} || 'nats-server',
        env     => exists $opt{env} ? $opt{env} : 'TEST_NGINX_NATS_PORT',
        user    => $opt{user},
        pass    => $opt{pass},
        token   => $opt{token},
        tls     => $opt{tls},
        args    => $opt{args} || [],
        timeout => $opt{timeout} || 10,
        wait    => $opt{wait} || 'js',
        dir     => $dir,
        store   => "$dir/store",
        log     => "$dir/nats-server.log",
        owner   => $$,
        generation => 0,
    }, $class_or_self;

    # Another process may take a port between our probe and the server's
    # bind; a few fresh ports make that harmless.
    my $err;
    for (1 .. 5) {
        $self->{port} = $opt{port} || _free_port();
        last if eval { $self->_spawn; 1 };
        $err = $@;
        die $err unless $err =~ /address already in use/i && !$opt{port};
    }
    croak $err unless $self->{pid};

    $ENV{ $self->{env} } = $self->{port} if defined $self->{env};
    $Instance ||= $self;
    push @Servers, $self;
    return $self;
}

sub instance {
    return $Instance if $Instance;
    croak "EmTest::NATS->instance: no server was started "
          . "(call EmTest::NATS->start first)";
}

sub port      { $_[0]{port} }
sub pid       { $_[0]{pid} }
sub store_dir { $_[0]{store} }
sub log_file  { $_[0]{log} }
sub url       { "nats://127.0.0.1:$_[0]{port}" }
sub is_running { defined $_[0]{pid} }
sub is_paused  { $_[0]{paused} ? 1 : 0 }

sub _log_tail {
    my $self = shift;
    open my $in, '<', $self->{log} or return '';
    my @lines = <$in>;
    close $in;
    splice @lines, 0, @lines - 15 if @lines > 15;
    return join '', @lines;
}

sub _spawn {
    my $self = shift;
    my @cmd = ($self->{binary}, '-js', '-a', '127.0.0.1',
               '-p', $self->{port}, '-sd', $self->{store});
    push @cmd, '--user', $self->{user} if defined $self->{user};
    push @cmd, '--pass', $self->{pass} if defined $self->{pass};
    push @cmd, '--auth', $self->{token} if defined $self->{token};
    push @cmd, '-c', $self->_tls_config if $self->{tls};
    push @cmd, @{ $self->{args} };

    my $pid = fork;
    croak "fork failed: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log} or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        { exec { $cmd[0] } @cmd; }
        print STDERR "exec $cmd[0] failed: $!\n";
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    $self->{generation}++;
    delete $self->{client};

    # Ready means: accepts, speaks the protocol, and JetStream answers.
    my $deadline = time + $self->{timeout};
    my $why = 'no connection';
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{pid};
            croak "nats-server exited at start (status $?):\n"
                  . $self->_log_tail;
        }
        my $ok = eval {
            my $c = $self->_new_client(1);
            if ($self->{wait} eq 'connect') {
                $c->flush;
                $c->timeout($self->{timeout});
                $self->{client} = $c;
                return 1;
            }
            my $r = $c->request('$JS.API.INFO', '', timeout => 1);
            die "JetStream not ready (status $r->{status})\n"
                if defined $r->{status};
            my $info = $Json->decode($r->{data});
            die "JetStream not ready: $info->{error}{description}\n"
                if $info->{error};
            $c->timeout($self->{timeout});
            $self->{client} = $c;
            1;
        };
        return if $ok;
        $why = $@;
        sleep 0.05;
    }

    $self->_kill;
    croak "nats-server on port $self->{port} was not ready within "
          . "$self->{timeout}s ($why):\n" . $self->_log_tail;
}

# The TLS block goes in a configuration file: the command line has no
# handshake timeout, and a loaded machine needs more than the default.
sub _tls_config {
    my $self = shift;
    my $t = $self->{tls};
    my $q = sub { JSON::PP->new->allow_nonref->encode("$_[0]") };
    my $conf = "tls {\n  cert_file: " . $q->($t->{cert}) . "\n"
             . "  key_file: " . $q->($t->{key}) . "\n"
             . "  timeout: 5\n";
    $conf .= "  ca_file: " . $q->($t->{ca}) . "\n" if $t->{ca};
    $conf .= "  verify: true\n" if $t->{verify};
    $conf .= "}\n";
    my $path = "$self->{dir}/tls.conf";
    open my $fh, '>', $path or croak "$path: $!";
    print {$fh} $conf;
    close $fh;
    return $path;
}

sub _new_client {
    my ($self, $timeout) = @_;
    my $c = EmTest::NATS::Client->new(
        port    => $self->{port},
        timeout => $timeout || $self->{timeout},
        user    => $self->{user},
        pass    => $self->{pass},
        token   => $self->{token},
        $self->{tls} ? (tls => $self->{tls}) : (),
    );
    $c->{generation} = $self->{generation};
    return $c;
}

sub _kill {
    my ($self, $grace) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'CONT', $pid if delete $self->{paused};
    kill 'TERM', $pid;
    my $deadline = time + ($grace // 5);
    while (time < $deadline) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.02;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

# Stops the server (TERM, then KILL after 5 s); the store stays for start.
sub stop {
    my $self = shift;
    if ($self->{client}) {
        $self->{client}->close;
        delete $self->{client};
    }
    $self->_kill;
    return $self;
}

sub _restart {
    my $self = shift;
    croak "EmTest::NATS: server on port $self->{port} is already running"
        if $self->{pid};
    # the old listener may linger for a moment after the process is gone
    my $deadline = time + $self->{timeout};
    while (!_port_free($self->{port})) {
        croak "EmTest::NATS: port $self->{port} stays busy after stop"
            if time > $deadline;
        sleep 0.05;
    }
    $self->_spawn;
    return $self;
}

sub restart { my $self = shift; $self->stop; $self->start }

# A crash: SIGKILL, no shutdown of any kind; the store stays for start.
sub kill9 {
    my $self = shift;
    my $pid = delete $self->{pid} or return $self;
    if ($self->{client}) {
        $self->{client}->close;
        delete $self->{client};
    }
    delete $self->{paused};
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return $self;
}

# EmTest::NATS->start_cluster(%opt): see EmTest::NATS::Cluster.
sub start_cluster {
    my ($class, %opt) = @_;
    require EmTest::NATS::Cluster;
    return EmTest::NATS::Cluster->start(%opt);
}

# SIGSTOP: the server keeps its sockets but answers nothing.
sub pause {
    my $self = shift;
    croak "EmTest::NATS: server is not running" unless $self->{pid};
    kill 'STOP', $self->{pid};
    $self->{paused} = 1;

    # kill() only queues the signal: on a loaded machine the server's
    # threads can go on serving for a moment.  Wait until every one of
    # them is stopped, so that nothing sent after pause() is answered.
    my $deadline = time + 5;
    while (time < $deadline) {
        my @states;
        for my $stat (glob "/proc/$self->{pid}/task/*/stat") {
            open my $fh, '<', $stat or next;
            my $line = <$fh> // next;
            push @states, $1 if $line =~ /^\d+ \(.*\) (\S)/;
        }
        last if @states && !grep { $_ ne 'T' && $_ ne 't' } @states;
        sleep 0.005;
    }
    return $self;
}

sub resume {
    my $self = shift;
    croak "EmTest::NATS: server is not running" unless $self->{pid};
    kill 'CONT', $self->{pid};
    delete $self->{paused};
    return $self;
}

# A connected protocol client, renewed after a restart.
sub client {
    my $self = shift;
    croak "EmTest::NATS: server on port $self->{port} is stopped"
        unless $self->{pid};
    my $c = $self->{client};
    if (!$c || !$c->{sock} || $c->{generation} != $self->{generation}) {
        $c = $self->{client} = $self->_new_client;
    }
    return $c;
}

# ---- JetStream ----------------------------------------------------------------------

# js_api('STREAM.INFO.X', \%request) -> decoded answer (may hold {error})
sub js_api {
    my ($self, $api, $req) = @_;
    my $subject = "\$JS.API.$api";
    my $payload = defined $req ? $Json->encode($req) : '';
    my $msg = $self->client->request($subject, $payload);
    if (defined $msg->{status}) {
        croak "JetStream API $subject answered status $msg->{status}"
              . ($msg->{status} eq '503' ? ' (no responders: JetStream off?)'
                                         : '');
    }
    my $res = eval { $Json->decode($msg->{data}) };
    croak "JetStream API $subject answered non-JSON \"$msg->{data}\""
        unless ref $res;
    return $res;
}

sub _js_ok {
    my ($self, $api, $req) = @_;
    my $res = $self->js_api($api, $req);
    if (my $e = $res->{error}) {
        croak "JetStream $api failed: $e->{description} "
              . "(code $e->{code}, err_code " . ($e->{err_code} // '?') . ')';
    }
    return $res;
}

sub _stream_config {
    my ($name, %opt) = @_;
    my %cfg = (
        name      => $name,
        retention => 'limits',
        storage   => 'file',
        discard   => 'new',
        num_replicas => 1,
    );
    for my $k (keys %opt) {
        my $v = $opt{$k};
        if ($k =~ /^(?:max_age|duplicate_window)$/) {
            $v = duration_ns($v);
        } elsif ($k eq 'max_bytes' && $v !~ /^-?\d+$/) {
            $v = size_bytes($v);
        }
        $cfg{$k} = $v;
    }
    return \%cfg;
}

# stream_create($name, subjects => [...], storage => 'memory', ...): any
# JetStream stream setting; durations as "2m"/"24h", sizes as "1Gi".
sub stream_create {
    my ($self, $name, %opt) = @_;
    my $res = $self->_js_ok("STREAM.CREATE.$name",
                            _stream_config($name, %opt));
    return $res;
}

sub stream_update {
    my ($self, $name, %opt) = @_;
    return $self->_js_ok("STREAM.UPDATE.$name", _stream_config($name, %opt));
}

# Stream info, or undef when there is no such stream.
sub stream_info {
    my ($self, $name) = @_;
    my $res = $self->js_api("STREAM.INFO.$name");
    if (my $e = $res->{error}) {
        return undef if ($e->{err_code} // 0) == JS_STREAM_NOT_FOUND;
        croak "JetStream STREAM.INFO.$name failed: $e->{description}";
    }
    return $res;
}

# True when deleted, false when there was no such stream.
sub stream_delete {
    my ($self, $name) = @_;
    my $res = $self->js_api("STREAM.DELETE.$name");
    if (my $e = $res->{error}) {
        return 0 if ($e->{err_code} // 0) == JS_STREAM_NOT_FOUND;
        croak "JetStream STREAM.DELETE.$name failed: $e->{description}";
    }
    return 1;
}

sub stream_purge {
    my ($self, $name) = @_;
    return $self->_js_ok("STREAM.PURGE.$name")->{purged};
}

sub stream_names {
    my $self = shift;
    return $self->_js_ok('STREAM.NAMES')->{streams} || [];
}

# Number of messages in the stream (croaks when there is no such stream).
sub msg_count {
    my ($self, $name) = @_;
    my $info = $self->stream_info($name)
        or croak "msg_count: no stream \"$name\"";
    return $info->{state}{messages};
}

# Polls until the stream holds at least $n messages; returns the count.
sub wait_msg_count {
    my ($self, $name, $n, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    my $count;
    while (1) {
        $count = $self->msg_count($name);
        return $count if $count >= $n || time > $deadline;
        sleep 0.02;
    }
}

# Message $seq of the stream, or undef when there is none:
#   { subject, seq, time, data,
#     headers => [[name, value], ...] in stored order,
#     header  => { lc name => first value } }
sub stream_msg_get {
    my ($self, $name, $seq) = @_;
    my $res = $self->js_api("STREAM.MSG.GET.$name", { seq => $seq + 0 });
    if (my $e = $res->{error}) {
        my $code = $e->{err_code} // 0;
        return undef if $code == JS_NO_MESSAGE_FOUND;
        croak "JetStream STREAM.MSG.GET.$name seq $seq failed: "
              . "$e->{description}";
    }
    my $m = $res->{message};
    my $headers = [];
    if (defined $m->{hdrs} && $m->{hdrs} ne '') {
        $headers = EmTest::NATS::Client::parse_headers(
            decode_base64($m->{hdrs}))->{headers};
    }
    my %first;
    for my $p (@$headers) {
        $first{ lc $p->[0] } //= $p->[1];
    }
    return {
        subject => $m->{subject},
        seq     => $m->{seq},
        time    => $m->{time},
        data    => defined $m->{data} ? decode_base64($m->{data}) : '',
        headers => $headers,
        header  => \%first,
    };
}

# Every stored message, oldest first.
sub stream_messages {
    my ($self, $name) = @_;
    my $info = $self->stream_info($name)
        or croak "stream_messages: no stream \"$name\"";
    my ($first, $last) = @{ $info->{state} }{qw(first_seq last_seq)};
    my @out;
    for my $seq ($first .. $last) {
        next unless $seq;
        my $m = $self->stream_msg_get($name, $seq);
        push @out, $m if $m;
    }
    return \@out;
}

# The stream's last sequence number (0 while it is empty or missing).
sub last_seq {
    my ($self, $name) = @_;
    my $info = $self->stream_info($name) or return 0;
    return $info->{state}{last_seq} || 0;
}

# The messages stored after sequence $mark, once there are $want of them
# or $timeout seconds have passed, oldest first.
sub messages_after {
    my ($self, $name, $mark, $want, $timeout) = @_;
    my $deadline = time + $timeout;
    while ($self->last_seq($name) - $mark < $want && time < $deadline) {
        sleep 0.02;
    }
    my @got;
    for my $seq ($mark + 1 .. $self->last_seq($name)) {
        my $m = $self->stream_msg_get($name, $seq);
        push @got, $m if $m;
    }
    return \@got;
}

# Test::More checks of stored messages ($got, from messages_after) against
# what a block wants: a list of { subject, data, <header> => value }; $on
# names the server when there are several.  EmTest::Stored's check after
# every block uses it too.
sub check_stored {
    my ($label, $got, $want, $on) = @_;
    Test::More::is(scalar @$got, scalar @$want,
                   "$label - stored " . scalar(@$want) . ' message(s)'
                   . (defined $on ? " on $on" : ''));
    for my $i (0 .. $#$want) {
        my ($w, $g) = ($want->[$i], $got->[$i]);
        last unless $g;
        for my $k (sort keys %$w) {
            my $v = $k eq 'subject' ? $g->{subject}
                  : $k eq 'data'    ? $g->{data}
                  : $g->{header}{lc $k};
            Test::More::is($v, $w->{$k}, "$label - message $i: $k");
        }
    }
}

# Publishes into JetStream and returns the PubAck ({stream, seq,
# duplicate}) or croaks with the JetStream error.
sub js_publish {
    my ($self, $subject, $data, %headers) = @_;
    my $msg = $self->client->request($subject, $data,
        %headers ? (headers => \%headers) : ());
    croak "js_publish $subject: no stream takes this subject"
        if defined $msg->{status} && $msg->{status} eq '503';
    my $ack = $Json->decode($msg->{data});
    if (my $e = $ack->{error}) {
        croak "js_publish $subject failed: $e->{description}";
    }
    return $ack;
}

# The stream of broker <ns>/<broker> (DESIGN section 3): file storage,
# discard new, duplicate window 2m, subjects em.<ns>.<broker>.>.  %opts
# override or add stream settings (storage => 'memory', max_bytes => '1Mi',
# max_age => '24h', max_msgs => 10, ...).  Creating it again with the same
# settings succeeds.  Returns the stream info.
sub create_broker {
    my ($self, $ns, $broker, %opt) = @_;
    croak "create_broker: namespace and broker are required"
        unless defined $ns && defined $broker && $ns ne '' && $broker ne '';
    my $name = stream_name($ns, $broker);
    return $self->stream_create($name,
        subjects         => [subject_wildcard($ns, $broker)],
        duplicate_window => '2m',
        %opt,
    );
}

sub delete_broker {
    my ($self, $ns, $broker) = @_;
    return $self->stream_delete(stream_name($ns, $broker));
}

END {
    for my $s (@Servers) {
        next unless $s->{owner} == $$;
        local $?;
        $s->stop;
        remove_tree($s->{dir}) if $s->{dir} && !$ENV{EM_KEEP_NATS_STORE};
    }
}

1;
