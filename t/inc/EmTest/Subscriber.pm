package EmTest::Subscriber;

# A recording HTTP subscriber for the dispatcher suites: a forked server on
# a free loopback port that records every request (method, path, headers,
# body, arrival time) and answers with a scripted sequence of responses.
# It serves many connections at once with keep-alive, and a delayed
# answer holds up only its own connection.
#
#   use lib 't/inc';
#   use EmTest::Subscriber;
#   my $sub = EmTest::Subscriber->start(
#       responses => [{ status => 503, headers => { 'Retry-After' => 1 } },
#                     { status => 200 }],       # in order, one per request
#       default   => { status => 202 },         # after the script
#   );
#   ... $sub->url('/path') ...
#   my $reqs = $sub->wait_requests(3, 5);     # at least 3 within 5 s
#   $reqs->[0]{headers}{'ce-id'}; $reqs->[0]{body}; $reqs->[0]{time}
#   $sub->stop; ... $sub->start;              # down for a while, same port
#
# A response is { status, headers => {..}, body, delay => seconds,
# close => 1 (close after answering), drop => 1 (close without an answer) }.
# respond => sub { my ($req, $n) = @_; return {...} } computes it instead
# (it runs in the server process; $n counts requests from 1).
#
# As a program it prints what it receives (a sample subscriber):
#   perl t/inc/EmTest/Subscriber.pm --print [--port 8090] [--status 200]

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use File::Temp qw(tempdir);
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 qw(decode_base64 encode_base64);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $VERSION = '0.01';

my $Json = JSON::PP->new->canonical(1);
my @Running;

my %Reason = (
    200 => 'OK', 201 => 'Created', 202 => 'Accepted', 204 => 'No Content',
    400 => 'Bad Request', 401 => 'Unauthorized', 403 => 'Forbidden',
    404 => 'Not Found', 408 => 'Request Timeout', 409 => 'Conflict',
    413 => 'Payload Too Large', 422 => 'Unprocessable Entity',
    429 => 'Too Many Requests', 500 => 'Internal Server Error',
    502 => 'Bad Gateway', 503 => 'Service Unavailable',
    504 => 'Gateway Timeout',
);

sub _free_port {
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp',
                                      ReuseAddr => 1) or next;
        my $port = $s->sockport;
        close $s;
        return $port;
    }
    croak 'EmTest::Subscriber: no free port on 127.0.0.1';
}

# EmTest::Subscriber->start(%opt) starts a new one; $sub->start starts a
# stopped one again on the same port with the same script state reset and
# the record kept.
sub start {
    my ($class_or_self, %opt) = @_;
    my $self;
    if (ref $class_or_self) {
        $self = $class_or_self;
        croak "EmTest::Subscriber: already running" if $self->{pid};
        $self->{$_} = $opt{$_} for keys %opt;
    } else {
        my $dir = tempdir('em-sub-XXXXXX', TMPDIR => 1, CLEANUP => 1);
        $self = bless {
            responses => [],
            default   => { status => 200 },
            %opt,
            dir       => $dir,
            record    => "$dir/requests.jsonl",
            owner     => $$,
        }, $class_or_self;
        $self->{port} //= _free_port();
        open my $fh, '>', $self->{record} or croak "$self->{record}: $!";
        close $fh;
        push @Running, $self;
    }

    # the old socket of a restarted subscriber may linger for a moment
    my ($listen, $deadline) = (undef, time + 5);
    until ($listen = IO::Socket::INET->new(
               Listen => 128, LocalAddr => '127.0.0.1',
               LocalPort => $self->{port}, Proto => 'tcp', ReuseAddr => 1))
    {
        croak "EmTest::Subscriber: cannot listen on 127.0.0.1:"
              . "$self->{port}: $!" if time > $deadline;
        sleep 0.05;
    }

    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        $SIG{INT} = 'DEFAULT';
        eval { $self->_serve($listen); };
        print STDERR "EmTest::Subscriber: $@" if $@;
        POSIX::_exit(0);
    }
    close $listen;
    $self->{pid} = $pid;
    return $self;
}

sub port { $_[0]{port} }
sub pid  { $_[0]{pid} }
sub url  { my ($self, $path) = @_; "http://127.0.0.1:$self->{port}" . ($path // '/') }

sub stop {
    my $self = shift;
    my $pid = delete $self->{pid} or return $self;
    kill 'TERM', $pid;
    my $deadline = time + 5;
    while (time < $deadline) {
        return $self if waitpid($pid, WNOHANG) == $pid;
        sleep 0.01;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return $self;
}

# Every request recorded so far, oldest first:
#   { n, time, method, path, headers => { lc name => value },
#     header_list => [[name, value], ...], body }
sub requests {
    my $self = shift;
    open my $fh, '<', $self->{record} or croak "$self->{record}: $!";
    my @out;
    while (my $line = <$fh>) {
        next unless $line =~ /\n\z/;      # a line being written
        my $r = $Json->decode($line);
        $r->{body} = decode_base64($r->{body_b64});
        delete $r->{body_b64};
        my %h;
        for my $p (@{ $r->{header_list} }) {
            $h{ lc $p->[0] } = $p->[1];
        }
        $r->{headers} = \%h;
        push @out, $r;
    }
    close $fh;
    return \@out;
}

sub count { scalar @{ $_[0]->requests } }

# Waits until at least $n requests were recorded; returns them all (fewer
# when $timeout seconds passed first).
sub wait_requests {
    my ($self, $n, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    my $reqs;
    while (1) {
        $reqs = $self->requests;
        return $reqs if @$reqs >= $n || time > $deadline;
        sleep 0.02;
    }
}

# Forgets what was recorded.
sub clear {
    my $self = shift;
    open my $fh, '>', $self->{record} or croak "$self->{record}: $!";
    close $fh;
}

# ---- the server process -------------------------------------------------

sub _serve {
    my ($self, $listen) = @_;
    $listen->blocking(0);
    open my $rec, '>>', $self->{record} or die "$self->{record}: $!";
    $rec->autoflush(1);

    my $sel = IO::Select->new($listen);
    my (%conn, @timers);
    my $n = 0;
    my @script = @{ $self->{responses} || [] };

    while (1) {
        my $now = time;
        my $wait = 0.5;
        @timers = sort { $a->[0] <=> $b->[0] } @timers;
        while (@timers && $timers[0][0] <= $now) {
            my $t = shift @timers;
            $t->[1]->();
        }
        $wait = $timers[0][0] - $now if @timers && $timers[0][0] - $now < $wait;
        $wait = 0 if $wait < 0;

        my @w = grep { $conn{$_}{out} ne '' } keys %conn;
        my $wsel = IO::Select->new(map { $conn{$_}{sock} } @w);
        my ($r, $wr) = IO::Select->select($sel, $wsel, undef, $wait);

        for my $s (@{ $wr || [] }) {
            my $c = $conn{ fileno $s } or next;
            my $k = syswrite $s, $c->{out};
            if (!defined $k) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                _close(\%conn, $sel, $s);
                next;
            }
            substr $c->{out}, 0, $k, '';
            if ($c->{out} eq '' && $c->{close_after}) {
                _close(\%conn, $sel, $s);
            }
        }

        for my $s (@{ $r || [] }) {
            if ($s == $listen) {
                while (my $c = $listen->accept) {
                    $c->blocking(0);
                    $sel->add($c);
                    $conn{ fileno $c } = { sock => $c, in => '', out => '',
                                           busy => 0 };
                }
                next;
            }

            my $c = $conn{ fileno $s } or next;
            my $k = sysread $s, my $buf, 65536;
            if (!defined $k) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                _close(\%conn, $sel, $s);
                next;
            }
            if ($k == 0) {
                _close(\%conn, $sel, $s);
                next;
            }
            $c->{in} .= $buf;
        }

        # complete requests, one at a time per connection
        for my $fd (keys %conn) {
            my $c = $conn{$fd};
            next if $c->{busy};
            my $req = _parse(\$c->{in}) or next;
            if (!ref $req) {
                $c->{out} .= "HTTP/1.1 400 Bad Request\r\nContent-Length: 0"
                           . "\r\nConnection: close\r\n\r\n";
                $c->{close_after} = 1;
                $c->{busy} = 1;
                next;
            }
            $n++;
            $req->{n} = $n;
            $req->{time} = time;
            my $line = $Json->encode({
                n => $n, time => $req->{time}, method => $req->{method},
                path => $req->{path}, header_list => $req->{header_list},
                body_b64 => encode_base64($req->{body}, ''),
            });
            syswrite $rec, "$line\n";
            $self->_print($req) if $self->{print};

            my $res = $self->{respond} ? $self->{respond}->($req, $n)
                    : @script ? shift @script
                    : $self->{default};
            $res ||= { status => 200 };

            my $sock = $c->{sock};
            my $answer = sub {
                my $fd = fileno $sock;
                return unless defined $fd;
                my $cc = $conn{$fd} or return;
                return unless $cc->{sock} == $sock;
                if ($res->{drop}) {
                    _close(\%conn, $sel, $sock);
                    return;
                }
                $cc->{out} .= _response($res, $req);
                $cc->{close_after} = 1 if $res->{close}
                    || lc($req->{headers}{connection} // '') eq 'close';
                $cc->{busy} = 0;
            };
            $c->{busy} = 1;
            if ($res->{delay}) {
                push @timers, [time + $res->{delay}, $answer];
            } else {
                $answer->();
            }
        }
    }
}

sub _close {
    my ($conn, $sel, $s) = @_;
    delete $conn->{ fileno $s };
    $sel->remove($s);
    close $s;
}

# One request from the front of $$in: a hash, '' when incomplete, or 0
# when malformed.
sub _parse {
    my $in = shift;
    my $end = index $$in, "\r\n\r\n";
    return '' if $end < 0;
    my $head = substr $$in, 0, $end;
    my ($line, @lines) = split /\r\n/, $head;
    my ($method, $path) = $line =~ m{^([A-Z]+) (\S+) HTTP/1\.[01]$}
        or return 0;
    my (@list, %h);
    for my $l (@lines) {
        my ($k, $v) = $l =~ /^([^:\s]+):[ \t]*(.*?)[ \t]*$/ or return 0;
        push @list, [$k, $v];
        $h{ lc $k } = $v;
    }
    my $len = $h{'content-length'} // 0;
    return 0 if $len !~ /^\d+$/ || exists $h{'transfer-encoding'};
    return '' if length($$in) < $end + 4 + $len;
    my $body = substr $$in, $end + 4, $len;
    substr $$in, 0, $end + 4 + $len, '';
    return { method => $method, path => $path, header_list => \@list,
             headers => \%h, body => $body };
}

sub _response {
    my ($res, $req) = @_;
    my $status = $res->{status} // 200;
    my $body = $res->{body} // '';
    my %h = %{ $res->{headers} || {} };
    my $out = "HTTP/1.1 $status " . ($Reason{$status} // 'Status') . "\r\n";
    $out .= "$_: $h{$_}\r\n" for sort keys %h;
    $out .= 'Content-Length: ' . length($body) . "\r\n"
        unless grep { lc eq 'content-length' } keys %h;
    $out .= "Connection: close\r\n" if $res->{close};
    return "$out\r\n" . ($req->{method} eq 'HEAD' ? '' : $body);
}

sub _print {
    my ($self, $req) = @_;
    my @t = localtime $req->{time};
    my $out = sprintf "--- %02d:%02d:%02d #%d %s %s\n", @t[2, 1, 0],
              $req->{n}, $req->{method}, $req->{path};
    $out .= "$_->[0]: $_->[1]\n" for @{ $req->{header_list} };
    $out .= "\n$req->{body}\n" if length $req->{body};
    local $| = 1;
    print $out;
}

END {
    for my $s (@Running) {
        next unless $s->{owner} == $$;
        local $?;
        $s->stop;
    }
}

# ---- as a program ----------------------------------------------------------

sub main {
    my ($class, @args) = @_;
    my %o = (port => 8090, status => 200);
    while (@args) {
        my $a = shift @args;
        if ($a eq '--print') { $o{print} = 1 }
        elsif ($a eq '--port' && @args) { $o{port} = shift @args }
        elsif ($a eq '--status' && @args) { $o{status} = shift @args }
        else {
            print STDERR "usage: perl $0 --print [--port N] [--status N]\n";
            exit 64;
        }
    }
    $| = 1;
    my $sub = EmTest::Subscriber->start(print => 1, port => $o{port},
                                        default => { status => $o{status} });
    print "subscriber listening on http://127.0.0.1:$o{port}/ "
          . "(answers $o{status}); Ctrl-C stops it\n";
    $SIG{INT} = $SIG{TERM} = sub { $sub->stop; exit 0 };
    waitpid $sub->pid, 0;
    exit 0;
}

__PACKAGE__->main(@ARGV) unless caller;

1;
