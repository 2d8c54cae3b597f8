package EmTest::NATS::Client;

# Just enough of the NATS client protocol for tests to talk to JetStream
# synchronously: INFO/CONNECT/PING/PONG, PUB/HPUB, SUB/UNSUB, MSG/HMSG.
# Every wait is bounded by the client's timeout; a server that is gone or
# paused (SIGSTOP) gives an error naming what was awaited, never a hang.

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EAGAIN EINTR);
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use Time::HiRes qw(time);

my $Json = JSON::PP->new->canonical(1)->allow_nonref(1);

# new(port => N, host => '127.0.0.1', timeout => 5, user, pass, token, name,
#     tls => { ca, client_cert, client_key, verify }): with tls, the
#     connection turns to TLS after INFO, as NATS does; the server's
#     certificate must be signed by ca and name 127.0.0.1, and with verify
#     the client presents client_cert.
sub new {
    my ($class, %opt) = @_;
    croak "EmTest::NATS::Client->new: port is required" unless $opt{port};

    my $self = bless {
        host    => $opt{host} || '127.0.0.1',
        port    => $opt{port},
        timeout => $opt{timeout} || 5,
        buf     => '',
        queue   => {},       # sid -> [messages that arrived while waiting]
        next_sid => 2,       # sid 1 is the request inbox
        next_req => 1,
        inbox   => '_INBOX.emtest' . join('', map { int rand 10 } 1 .. 12),
    }, $class;

    my $sock = IO::Socket::INET->new(
        PeerAddr => $self->{host},
        PeerPort => $self->{port},
        Proto    => 'tcp',
        Timeout  => $self->{timeout},
    ) or croak "cannot connect to NATS at $self->{host}:$self->{port}: $!";
    $sock->blocking(0);
    $self->{sock} = $sock;

    my $line = $self->_read_line(time + $self->{timeout}, 'the server INFO');
    $line =~ /^INFO\s+(\{.*\})\s*$/
        or croak "NATS server did not start with INFO but sent \"$line\"";
    $self->{info} = $Json->decode($1);

    $self->_start_tls($opt{tls}) if $opt{tls};

    my %connect = (
        verbose       => JSON::PP::false,
        pedantic      => JSON::PP::false,
        tls_required  => $opt{tls} ? JSON::PP::true : JSON::PP::false,
        headers       => JSON::PP::true,
        no_responders => JSON::PP::true,
        lang          => 'perl',
        version       => '1.0',
        protocol      => 1,
        name          => $opt{name} || 'em-test',
    );
    $connect{user} = $opt{user} if defined $opt{user};
    $connect{pass} = $opt{pass} if defined $opt{pass};
    $connect{auth_token} = $opt{token} if defined $opt{token};

    $self->_write('CONNECT ' . $Json->encode(\%connect) . "\r\n"
                  . "SUB $self->{inbox}.* 1\r\nPING\r\n");
    $self->_wait_pong('the CONNECT answer');
    return $self;
}

sub _start_tls {
    my ($self, $tls) = @_;
    require IO::Socket::SSL;
    my $sock = $self->{sock};
    $sock->blocking(1);
    IO::Socket::SSL->start_SSL($sock,
        SSL_verify_mode     => IO::Socket::SSL::SSL_VERIFY_PEER(),
        SSL_ca_file         => $tls->{ca},
        SSL_verifycn_name   => $self->{host},
        SSL_verifycn_scheme => 'default',
        Timeout             => $self->{timeout},
        $tls->{verify} ? (SSL_cert_file => $tls->{client_cert},
                          SSL_key_file  => $tls->{client_key}) : (),
    ) or croak "TLS with NATS at $self->{host}:$self->{port} failed: "
               . IO::Socket::SSL::errstr();
    $sock->blocking(0);
}

sub info    { $_[0]{info} }
sub timeout { my $self = shift; $self->{timeout} = shift if @_; $self->{timeout} }

sub close {
    my $self = shift;
    if ($self->{sock}) {
        close $self->{sock};
        delete $self->{sock};
    }
}

sub DESTROY { $_[0]->close }

# ---- wire level ---------------------------------------------------------------

sub _write {
    my ($self, $data) = @_;
    my $sock = $self->{sock} or croak "NATS connection is closed";
    local $SIG{PIPE} = 'IGNORE';
    my $deadline = time + $self->{timeout};
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite $sock, $data, length($data) - $off, $off;
        if (defined $n) {
            $off += $n;
            next;
        }
        croak "NATS write failed: $!" unless $! == EAGAIN || $! == EINTR;
        my $left = $deadline - time;
        croak "NATS write timed out after $self->{timeout}s" if $left <= 0;
        IO::Select->new($sock)->can_write($left);
    }
}

# Reads more bytes into the buffer; false when the deadline passed.
sub _fill {
    my ($self, $deadline, $what) = @_;
    my $sock = $self->{sock} or croak "NATS connection is closed";
    while (1) {
        my $left = $deadline - time;
        return 0 if $left <= 0;
        # TLS may hold decrypted bytes that select() cannot see
        next unless ($sock->can('pending') && $sock->pending)
            || IO::Select->new($sock)->can_read($left);
        my $n = sysread $sock, my $chunk, 65536;
        if (!defined $n) {
            next if $! == EAGAIN || $! == EINTR;
            croak "NATS read failed while waiting for $what: $!";
        }
        if ($n == 0) {
            $self->close;
            croak "NATS server closed the connection while waiting for $what";
        }
        $self->{buf} .= $chunk;
        return 1;
    }
}

sub _read_line {
    my ($self, $deadline, $what) = @_;
    while ((my $i = index $self->{buf}, "\r\n") < 0) {
        $self->_fill($deadline, $what)
            or croak "timed out waiting for $what";
    }
    my $i = index $self->{buf}, "\r\n";
    my $line = substr $self->{buf}, 0, $i;
    substr($self->{buf}, 0, $i + 2) = '';
    return $line;
}

sub _read_bytes {
    my ($self, $n, $deadline, $what) = @_;
    while (length $self->{buf} < $n + 2) {
        $self->_fill($deadline, $what)
            or croak "timed out waiting for $what";
    }
    my $data = substr $self->{buf}, 0, $n;
    substr($self->{buf}, 0, $n + 2) eq "$data\r\n"
        or croak "NATS protocol error: payload of $what not followed by CRLF";
    substr($self->{buf}, 0, $n + 2) = '';
    return $data;
}

# "NATS/1.0 503 No Responders\r\nName: value\r\n...\r\n\r\n"
sub parse_headers {
    my ($block) = @_;
    my @lines = split /\r\n/, $block;
    my $first = shift(@lines) // '';
    $first =~ m{^NATS/1\.0(?:\s+(\d{3}))?(?:\s+(.*?))?\s*$}
        or croak "bad NATS header block starting with \"$first\"";
    my %h = (status => $1, description => $2, headers => []);
    for my $line (@lines) {
        next if $line eq '';
        my ($k, $v) = split /:\s*/, $line, 2;
        push @{ $h{headers} }, [$k, $v // ''];
    }
    return \%h;
}

# Handles one protocol item.  Returns a message hash for MSG/HMSG, 'PONG'
# for PONG, '' for anything else.
sub _read_item {
    my ($self, $deadline, $what) = @_;
    my $line = $self->_read_line($deadline, $what);

    if ($line =~ /^PING\b/) {
        $self->_write("PONG\r\n");
        return '';
    }
    return 'PONG' if $line =~ /^PONG\b/;
    return '' if $line =~ /^\+OK\b/ || $line =~ /^INFO\b/;
    croak "NATS server error while waiting for $what: $line"
        if $line =~ /^-ERR\b/;

    if ($line =~ /^MSG\s+(\S+)\s+(\S+)\s+(?:(\S+)\s+)?(\d+)\s*$/) {
        my ($subject, $sid, $reply, $len) = ($1, $2, $3, $4);
        my $data = $self->_read_bytes($len, $deadline, $what);
        return { subject => $subject, sid => $sid, reply => $reply,
                 headers => [], status => undef, data => $data };
    }

    if ($line =~ /^HMSG\s+(\S+)\s+(\S+)\s+(?:(\S+)\s+)?(\d+)\s+(\d+)\s*$/) {
        my ($subject, $sid, $reply, $hlen, $total) = ($1, $2, $3, $4, $5);
        croak "NATS protocol error: header length $hlen > total $total"
            if $hlen > $total;
        my $all = $self->_read_bytes($total, $deadline, $what);
        my $h = parse_headers(substr $all, 0, $hlen);
        return { subject => $subject, sid => $sid, reply => $reply,
                 headers => $h->{headers}, status => $h->{status},
                 description => $h->{description},
                 data => substr($all, $hlen) };
    }

    croak "NATS protocol error: unexpected \"$line\" while waiting for $what";
}

sub _wait_pong {
    my ($self, $what) = @_;
    my $deadline = time + $self->{timeout};
    while (1) {
        my $item = $self->_read_item($deadline, $what);
        return if !ref $item && $item eq 'PONG';
        push @{ $self->{queue}{ $item->{sid} } }, $item if ref $item;
    }
}

sub _header_block {
    my ($headers) = @_;
    my @pairs = ref $headers eq 'HASH'
              ? map { [$_, $headers->{$_}] } sort keys %$headers
              : @{ $headers || [] };
    my $block = "NATS/1.0\r\n";
    for my $p (@pairs) {
        my ($k, $v) = @$p;
        croak "bad NATS header name \"$k\"" if $k !~ /^[!-9;-~]+$/;
        croak "NATS header $k holds a line break" if $v =~ /[\r\n]/;
        $block .= "$k: $v\r\n";
    }
    return "$block\r\n";
}

# ---- API ------------------------------------------------------------------------

# publish($subject, $data, headers => {..} or [[k, v], ...], reply => $r)
sub publish {
    my ($self, $subject, $data, %opt) = @_;
    $data //= '';
    my $reply = defined $opt{reply} ? " $opt{reply}" : '';
    if (defined $opt{headers}) {
        my $h = _header_block($opt{headers});
        $self->_write("HPUB $subject$reply " . length($h) . ' '
                      . (length($h) + length $data) . "\r\n$h$data\r\n");
    } else {
        $self->_write("PUB $subject$reply " . length($data)
                      . "\r\n$data\r\n");
    }
}

# Round trip to the server: everything written before is processed.
sub flush {
    my $self = shift;
    $self->_write("PING\r\n");
    $self->_wait_pong('PONG');
}

# request($subject, $data, headers => ..., timeout => s) -> message hash
# (subject, headers [[k, v], ...], status, description, data).  Croaks on
# timeout; a "no responders" answer comes back with status 503.
sub request {
    my ($self, $subject, $data, %opt) = @_;
    my $reply = "$self->{inbox}." . $self->{next_req}++;
    $self->publish($subject, $data, %opt, reply => $reply);

    my $timeout = $opt{timeout} || $self->{timeout};
    my $deadline = time + $timeout;
    my $what = "the reply to $subject";
    while (1) {
        my $item = $self->_read_item($deadline, "$what (${timeout}s)");
        next unless ref $item;
        return $item if $item->{sid} eq '1' && $item->{subject} eq $reply;
        next if $item->{sid} eq '1';     # a late reply to an earlier request
        push @{ $self->{queue}{ $item->{sid} } }, $item;
    }
}

sub subscribe {
    my ($self, $subject, $queue_group) = @_;
    my $sid = $self->{next_sid}++;
    my $q = defined $queue_group ? " $queue_group" : '';
    $self->_write("SUB $subject$q $sid\r\n");
    $self->flush;
    $self->{queue}{$sid} = [];
    return $sid;
}

sub unsubscribe {
    my ($self, $sid) = @_;
    $self->_write("UNSUB $sid\r\n");
    delete $self->{queue}{$sid};
}

# next_msg($sid, $timeout) -> message hash or undef when none came in time
sub next_msg {
    my ($self, $sid, $timeout) = @_;
    my $q = $self->{queue}{$sid} //= [];
    return shift @$q if @$q;

    my $deadline = time + ($timeout // $self->{timeout});
    while (1) {
        my $item = eval { $self->_read_item($deadline, "a message on $sid") };
        if (!defined $item) {
            return undef if $@ =~ /^timed out/;
            die $@;
        }
        next unless ref $item;
        return $item if $item->{sid} eq $sid;
        next if $item->{sid} eq '1';
        push @{ $self->{queue}{ $item->{sid} } }, $item;
    }
}

# First value of a header in a message (names compared case-insensitively).
sub header_value {
    my ($msg, $name) = @_;
    for my $p (@{ $msg->{headers} || [] }) {
        return $p->[1] if lc $p->[0] eq lc $name;
    }
    return undef;
}

1;
