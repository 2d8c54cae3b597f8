package EmTest::HTTP;

# Plain HTTP calls to the nginx under test from Perl code inside a .t file
# or a block's "--- init" (say, waiting until the module has connected to
# NATS again after the server was restarted).  Works under either harness:
# both export the port as $ENV{TEST_NGINX_SERVER_PORT} once run_tests runs.

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EINTR);
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use Time::HiRes qw(sleep time);

our $VERSION = '0.01';

sub server_port {
    return $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
}

# request($method, $path, body => $bytes, headers => {..}, timeout => s,
#         port => N) -> HTTP::Response (code 599 with the reason in the
# message when nginx could not be reached or did not answer in time)
sub request {
    my ($method, $path, %opt) = @_;
    my $h = send_request($method, $path, %opt);
    return $h if ref $h eq 'HTTP::Response';
    return read_response($h, $opt{timeout});
}

# The two halves of request(), for requests kept in flight together:
# send_request returns a handle (or a 599 HTTP::Response when it could not
# connect) that read_response($handle, $timeout) completes.
sub send_request {
    my ($method, $path, %opt) = @_;
    my $port = $opt{port} || server_port();
    my $timeout = $opt{timeout} || 3;
    my $body = $opt{body} // '';

    my $sock = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $port,
        Proto    => 'tcp',
        Timeout  => $timeout,
    ) or return HTTP::Response->new(599, "connect to 127.0.0.1:$port: $!");

    my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\n"
              . "Connection: close\r\n";
    my %h = %{ $opt{headers} || {} };
    $req .= "$_: $h{$_}\r\n" for sort keys %h;
    $req .= 'Content-Length: ' . length($body) . "\r\n"
        if length $body || $method eq 'POST' || $method eq 'PUT';
    $req .= "\r\n$body";

    local $SIG{PIPE} = 'IGNORE';
    print {$sock} $req;

    return { sock => $sock };
}

sub read_response {
    my ($h, $timeout) = @_;
    return $h if ref $h eq 'HTTP::Response';
    $timeout ||= 3;
    my $sock = $h->{sock};

    my ($raw, $deadline) = ('', time + $timeout);
    my $sel = IO::Select->new($sock);
    while (1) {
        my $left = $deadline - time;
        if ($left <= 0) {
            close $sock;
            return HTTP::Response->new(599, "no answer within ${timeout}s");
        }
        next unless $sel->can_read($left);
        my $n = sysread $sock, my $buf, 65536;
        next if !defined $n && $! == EINTR;
        last unless $n;
        $raw .= $buf;
    }
    close $sock;

    my $res = HTTP::Response->parse($raw);
    return HTTP::Response->new(599, 'no HTTP answer') unless $res->code;
    if (lc($res->header('Transfer-Encoding') // '') eq 'chunked') {
        my ($in, $out) = ($res->content, '');
        while ($in =~ s/^([0-9A-Fa-f]+)[^\r\n]*\r\n//) {
            my $size = hex $1;
            last if $size == 0;
            $out .= substr $in, 0, $size, '';
            $in =~ s/^\r\n//;
        }
        $res->content($out);
    }
    return $res;
}

sub get { my ($path, %opt) = @_; return request('GET', $path, %opt) }

# Polls the event_mesh_status location until it reports a NATS connection
# (to port $opt{nats_port} when given), asking nginx on $opt{port} (the
# suite's server port by default); croaks with the last answer after
# $opt{timeout} seconds (default 5).  Returns the decoded status.
sub wait_nats_connected {
    my ($path, %opt) = @_;
    $path //= '/status';
    my $deadline = time + ($opt{timeout} || 5);
    my $want = defined $opt{nats_port} ? ":$opt{nats_port}" : undef;
    my $last;
    while (1) {
        my $res = get($path, timeout => 1,
                      $opt{port} ? (port => $opt{port}) : ());
        $last = $res->code . ' ' . ($res->content // $res->message);
        if ($res->code == 200) {
            my $st = eval { JSON::PP->new->decode($res->content) };
            if ($st && $st->{nats} && $st->{nats}{connected}
                && (!defined $want
                    || ($st->{nats}{server} // '') =~ /\Q$want\E$/))
            {
                return $st;
            }
        }
        croak "nginx did not report a NATS connection on $path: $last"
            if time > $deadline;
        sleep 0.02;
    }
}

1;
