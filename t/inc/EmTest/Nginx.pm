package EmTest::Nginx;

# An nginx of the test's own, for suites that need what a Test::Nginx block
# cannot express: signals (reload, graceful quit) while requests are in
# flight.  It runs with a master and workers from a temporary prefix, is
# found through its pid file and stopped by PID.  The binary and the module
# come from the same variables as the Test::Nginx suites
# (TEST_NGINX_BINARY, TEST_NGINX_LOAD_MODULES, TEST_NGINX_LD_PRELOAD).
#
#   my $ngx = EmTest::Nginx->start(http => '...', server => '...',
#                                  workers => 2, main => '...');
#   $ngx->port; $ngx->reload; $ngx->quit; $ngx->wait_exit(5);

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes qw(sleep time);

my @Running;

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

sub start {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;

    $self->{dir} = tempdir('em-nginx-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    $self->{port} = _free_port();
    mkdir "$self->{dir}/$_" for qw(conf logs tmp);

    my $modules = join '', map { "load_module $_;\n" }
                  grep { length } split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '');
    my $user = $> == 0 ? "user root;\n" : '';
    my $workers = $o{workers} // 2;
    my $level = $o{log_level} // 'info';

    open my $fh, '>', "$self->{dir}/conf/nginx.conf" or croak $!;
    print {$fh} <<"_EOC_";
$modules$user
daemon on;
master_process on;
worker_processes $workers;
pid logs/nginx.pid;
error_log logs/error.log $level;
@{[ $o{main} // '' ]}
events { worker_connections 1024; }
http {
    access_log logs/access.log;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
@{[ $o{http} // '' ]}
    server {
        listen 127.0.0.1:$self->{port};
@{[ $o{server} // '' ]}
    }
}
_EOC_
    close $fh;

    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    local $ENV{LD_PRELOAD} = join ' ', grep { defined && length }
        $ENV{TEST_NGINX_LD_PRELOAD}, $ENV{LD_PRELOAD};
    my $out = `$bin -p $self->{dir}/ -c conf/nginx.conf 2>&1`;
    croak "nginx did not start: $out" if $?;

    my $deadline = time + 5;
    until ($self->{pid} = $self->_read_pid) {
        croak 'nginx wrote no pid file' if time > $deadline;
        sleep 0.02;
    }
    push @Running, $self;

    until (IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $self->{port})) {
        croak 'nginx does not listen' if time > $deadline;
        sleep 0.02;
    }
    # the master listens before it forks: a test that records the worker
    # pids (to tell later that none was replaced) must see all of them
    until ($self->workers >= $workers) {
        croak "nginx has fewer than $workers workers" if time > $deadline;
        sleep 0.02;
    }
    return $self;
}

# The ingress the fault suites send through: "workers" (2) workers
# publishing /events to default/default through the NATS servers given
# ("host:port" each), event_mesh_status on /status, "http" added to the
# http block; it returns once a worker is connected to NATS, unless
# wait => 0.
sub ingress {
    my ($class, %o) = @_;
    my $ngx = $class->start(
        workers => $o{workers} // 2,
        http    => "event_mesh_nats @{ $o{servers} };\n"
                   . "event_mesh_ack_timeout " . ($o{ack_timeout} // '30s')
                   . ";\n" . ($o{http} // ''),
        server  => "location = /events { event_mesh_publish default/default; }\n"
                   . "location = /status { event_mesh_status; }\n",
    );
    if ($o{wait} // 1) {
        require EmTest::HTTP;
        EmTest::HTTP::wait_nats_connected('/status', port => $ngx->port,
                                          timeout => 10);
    }
    return $ngx;
}

sub _read_pid {
    my $self = shift;
    open my $fh, '<', "$self->{dir}/logs/nginx.pid" or return;
    my $pid = <$fh>;
    return $pid && $pid =~ /^(\d+)/ ? $1 : undef;
}

sub port { $_[0]{port} }
sub pid  { $_[0]{pid} }
sub dir  { $_[0]{dir} }

sub alive {
    my $self = shift;
    return 0 unless $self->{pid};
    # a zombie counts as gone: init may reap a daemon late
    if (open my $fh, '<', "/proc/$self->{pid}/stat") {
        my $st = <$fh>;
        return 0 if $st && $st =~ /^\d+ \(.*\) Z/;
        return 1;
    }
    return 0;
}

sub signal {
    my ($self, $sig) = @_;
    kill $sig, $self->{pid} or croak "kill $sig $self->{pid}: $!";
}

sub reload { $_[0]->signal('HUP') }
sub quit   { $_[0]->signal('QUIT') }

# Waits until the master has exited; true when it did within $timeout.
sub wait_exit {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while ($self->alive) {
        return 0 if time > $deadline;
        sleep 0.02;
    }
    return 1;
}

sub error_log {
    my $self = shift;
    open my $fh, '<', "$self->{dir}/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

# Worker pids of the master, as the kernel lists its children.
sub workers {
    my $self = shift;
    my @pids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        push @pids, $1 if $line =~ /^(\d+) \(.*\) \S (\d+) / && $2 == $self->{pid};
    }
    return @pids;
}

sub stop {
    my $self = shift;
    return unless $self->{pid} && $self->alive;
    my @workers = $self->workers;
    kill 'QUIT', $self->{pid};
    return if $self->wait_exit(5);
    kill 'KILL', $self->{pid}, @workers;
    $self->wait_exit(2);
}

END {
    local $?;
    $_->stop for @Running;
}

1;
