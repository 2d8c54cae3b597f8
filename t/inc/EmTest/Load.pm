package EmTest::Load;

# A numbered stream of CloudEvents sent through the ingress while a fault
# happens, for the fault suites: a forked sender keeps a few requests in
# flight at once (one connection each, "Connection: close", so nothing a
# reload or a restart does can be blamed on a stale keep-alive connection)
# and writes every answer to a file as it comes in; the test reads the
# progress and, at the end, which events were answered what.
#
#   use EmTest::Load;
#   my $load = EmTest::Load->start(port => $ngx->port, count => 3000,
#                                  prefix => 'kill', type => 'fault.item',
#                                  rate => 300, concurrency => 8);
#   $load->wait_answered(500, 30);       # progress: 500 answers so far
#   $load->wait(120);                    # the sender has finished
#   my $r = $load->results;  # { sent, answered, codes => {202 => n, ..},
#                            #   ok => [ids answered 2xx], by_id => {...} }
#
# Event i (1..count) has ce-id "<prefix>-<i>", ce-source "urn:emtest:load",
# the given ce-type and the body "<prefix> <i>" padded to "size" bytes.
# An answer of code 0 means there was none: the reason (connect error,
# closed without an answer, timeout) is in by_id->{$id}{why}; for an error
# answer, "why" holds the "rule" of its JSON body (spaces as "_").
#
# EmTest::Load::delivered($subscriber) reads what a recording subscriber
# (EmTest::Subscriber) received and counts each ce-id: { id => n }.  It
# reads the record incrementally, so polling it during a long run is cheap.

use strict;
use warnings;

use Carp qw(croak);
use Errno qw(EAGAIN EINPROGRESS EINTR EWOULDBLOCK);
use File::Temp qw(tempdir);
use IO::Select ();
use IO::Socket::INET ();
use POSIX qw(WNOHANG);
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(sleep time);

our $VERSION = '0.01';

my @Running;

# start(port => N, path => '/events', count => N, prefix => 'ev',
#       type => 'fault.item', size => bytes of body (default: as is),
#       rate => events per second (default: as fast as it goes),
#       concurrency => requests in flight (default 8),
#       timeout => seconds per request (default 30),
#       headers => { extra headers })
sub start {
    my ($class, %o) = @_;
    croak 'EmTest::Load: port is required' unless $o{port};
    my $dir = tempdir('em-load-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $self = bless {
        port        => $o{port},
        path        => $o{path} // '/events',
        count       => $o{count} // 1000,
        prefix      => $o{prefix} // 'ev',
        type        => $o{type} // 'fault.item',
        size        => $o{size},
        rate        => $o{rate},
        concurrency => $o{concurrency} // 8,
        timeout     => $o{timeout} // 30,
        headers     => $o{headers} || {},
        file        => "$dir/answers",
        owner       => $$,
        t0          => time,
    }, $class;
    open my $fh, '>', $self->{file} or croak "$self->{file}: $!";
    close $fh;

    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        $SIG{INT} = 'DEFAULT';
        eval { $self->_run; 1 } or print STDERR "EmTest::Load: $@";
        POSIX::_exit(0);
    }
    $self->{pid} = $pid;
    push @Running, $self;
    return $self;
}

sub count  { $_[0]{count} }
sub prefix { $_[0]{prefix} }
sub id     { "$_[0]{prefix}-$_[1]" }

sub running {
    my $self = shift;
    return 0 unless $self->{pid};
    if (waitpid($self->{pid}, WNOHANG) == $self->{pid}) {
        delete $self->{pid};
        $self->{t_end} = time;
        return 0;
    }
    return 1;
}

# Number of answers written so far (lines of the file).
sub answered {
    my $self = shift;
    open my $fh, '<', $self->{file} or return 0;
    my $n = 0;
    while (sysread $fh, my $buf, 1 << 16) {
        $n += ($buf =~ tr/\n//);
    }
    return $n;
}

# Waits until $n answers are in (or the sender ended); returns the count.
sub wait_answered {
    my ($self, $n, $timeout) = @_;
    my $deadline = time + ($timeout // 60);
    while (1) {
        my $got = $self->answered;
        return $got if $got >= $n || !$self->running || time > $deadline;
        sleep 0.05;
    }
}

# Waits for the sender to end; true when it did within $timeout.
sub wait {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 120);
    while ($self->running) {
        return 0 if time > $deadline;
        sleep 0.05;
    }
    return 1;
}

# Seconds the sender ran (so far).
sub elapsed {
    my $self = shift;
    return ($self->{t_end} // time) - $self->{t0};
}

sub stop {
    my $self = shift;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    waitpid $pid, 0;
    $self->{t_end} //= time;
}

# { sent => count, answered, codes => { code => n }, ok => [ids],
#   by_id => { id => { code, why, t0, t1 } } }
sub results {
    my $self = shift;
    my (%by, %codes, @ok);
    open my $fh, '<', $self->{file} or croak "$self->{file}: $!";
    while (my $line = <$fh>) {
        next unless $line =~ /\n\z/;
        chomp $line;
        my ($i, $code, $t0, $t1, $why) = split / /, $line, 5;
        my $id = $self->id($i);
        $by{$id} = { i => $i, code => $code, t0 => $t0, t1 => $t1,
                     why => $why // '' };
    }
    close $fh;
    for my $id (keys %by) {
        my $c = $by{$id}{code};
        $codes{$c}++;
        push @ok, $id if $c =~ /^2/;
    }
    @ok = sort { $by{$a}{i} <=> $by{$b}{i} } @ok;
    return { sent => $self->{count}, answered => scalar keys %by,
             codes => \%codes, ok => \@ok, by_id => \%by };
}

# The first $n of a list (for diag lines).
sub first {
    my ($n, @list) = @_;
    return @list > $n ? @list[0 .. $n - 1] : @list;
}

# "202=2990 503=10"
sub codes_text {
    my ($r) = @_;
    my $c = $r->{codes};
    return join ' ', map { "$_=$c->{$_}" } sort { $a <=> $b } keys %$c;
}

# ---- the sender ------------------------------------------------------------

sub _request {
    my ($self, $i) = @_;
    my $id = $self->id($i);
    my $body = "$self->{prefix} $i";
    $body .= ' ' x ($self->{size} - length $body)
        if $self->{size} && $self->{size} > length $body;
    my $h = $self->{headers};
    my $req = "POST $self->{path} HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\n"
            . "ce-specversion: 1.0\r\nce-id: $id\r\n"
            . "ce-source: urn:emtest:load\r\nce-type: $self->{type}\r\n"
            . "Content-Type: text/plain\r\n";
    $req .= "$_: $h->{$_}\r\n" for sort keys %$h;
    $req .= 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    return $req;
}

sub _run {
    my $self = shift;
    local $SIG{PIPE} = 'IGNORE';
    open my $out, '>>', $self->{file} or die "$self->{file}: $!";

    my $t0 = time;
    my $next = 1;
    my $n = $self->{count};
    my %slot;                 # fileno -> { sock, i, out, in, t0 }
    my $rsel = IO::Select->new;
    my $wsel = IO::Select->new;

    my $record = sub {
        my ($c, $code, $why) = @_;
        my $line = join(' ', $c->{i}, $code, sprintf('%.4f', $c->{t0}),
                        sprintf('%.4f', time)) . ($why ? " $why" : '') . "\n";
        syswrite $out, $line;
    };
    my $finish = sub {
        my ($fd) = @_;
        my $c = delete $slot{$fd};
        $rsel->remove($c->{sock});
        $wsel->remove($c->{sock});
        close $c->{sock};
        my ($code) = $c->{in} =~ m{^HTTP/1\.[01] (\d{3}) };
        if (defined $code) {
            # an error's body says why: its "rule" (or its start)
            my $why = '';
            if ($code !~ /^2/) {
                my ($body) = $c->{in} =~ /\r\n\r\n(.*)\z/s;
                ($why) = ($body // '') =~ /"rule":"((?:[^"\\]|\\.)*)"/;
                $why //= substr $body // '', 0, 80;
                $why =~ s/\s+/_/g;
            }
            $record->($c, $code, $why);
        } else {
            my $why = $c->{err} || ($c->{in} eq '' ? 'closed without an answer'
                                                   : 'not an HTTP answer');
            $why =~ s/\s+/_/g;
            $record->($c, 0, $why);
        }
    };

    while ($next <= $n || %slot) {
        my $now = time;

        # open new requests: within the concurrency and the rate
        while ($next <= $n && keys %slot < $self->{concurrency}
               && (!$self->{rate} || $now >= $t0 + ($next - 1) / $self->{rate}))
        {
            my $c = { i => $next, t0 => $now, in => '',
                      out => $self->_request($next) };
            $next++;
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $self->{port},
                                          Proto => 'tcp', Blocking => 0);
            if (!$s) {
                $record->($c, 0, "connect:_$!" =~ s/\s+/_/gr);
                next;
            }
            setsockopt $s, IPPROTO_TCP, TCP_NODELAY, 1;
            $c->{sock} = $s;
            $slot{ fileno $s } = $c;
            $wsel->add($s);
        }

        my $wait = 0.05;
        if ($self->{rate} && $next <= $n) {
            my $due = $t0 + ($next - 1) / $self->{rate} - $now;
            $wait = $due if $due < $wait;
            $wait = 0 if $wait < 0;
        }
        my ($r, $w) = IO::Select->select($rsel, $wsel, undef, $wait);

        for my $s (@{ $w || [] }) {
            my $fd = fileno $s;
            my $c = $slot{$fd} or next;
            my $k = syswrite $s, $c->{out};
            if (!defined $k) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR
                        || $! == EINPROGRESS;
                $c->{err} = "write:_$!";
                $finish->($fd);
                next;
            }
            substr $c->{out}, 0, $k, '';
            if ($c->{out} eq '') {
                $wsel->remove($s);
                $rsel->add($s);
            }
        }

        for my $s (@{ $r || [] }) {
            my $fd = fileno $s;
            my $c = $slot{$fd} or next;
            my $k = sysread $s, my $buf, 65536;
            if (!defined $k) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
                $c->{err} = "read:_$!" if $c->{in} eq '';
                $finish->($fd);
                next;
            }
            if ($k == 0) {
                $finish->($fd);
                next;
            }
            $c->{in} .= $buf;
        }

        # timeouts
        $now = time;
        for my $fd (keys %slot) {
            next if $now - $slot{$fd}{t0} < $self->{timeout};
            $slot{$fd}{err} = 'timeout';
            $slot{$fd}{in} = '';
            $finish->($fd);
        }
    }
    close $out;
}

# ---- what subscribers received ---------------------------------------------

my %Seen;    # record file -> { offset, ids => { id => n } }

# { ce-id => times received } of an EmTest::Subscriber (binary mode).
sub delivered {
    my ($sub) = @_;
    my $file = $sub->{record};
    my $st = $Seen{$file} ||= { offset => 0, ids => {}, rest => '' };
    open my $fh, '<', $file or croak "$file: $!";
    seek $fh, $st->{offset}, 0;
    local $/;
    my $chunk = <$fh> // '';
    close $fh;
    $st->{offset} += length $chunk;
    $chunk = $st->{rest} . $chunk;
    my $cut = rindex $chunk, "\n";
    $st->{rest} = $cut < 0 ? $chunk : substr $chunk, $cut + 1;
    $chunk = $cut < 0 ? '' : substr $chunk, 0, $cut + 1;
    # the record is canonical JSON: ["ce-id","<id>"] in header_list
    while ($chunk =~ /\["ce-id","((?:[^"\\]|\\.)*)"\]/gi) {
        $st->{ids}{$1}++;
    }
    return $st->{ids};
}

# Waits until every id of @$want was delivered at least once to $sub;
# returns the counts (check them: the deadline may have passed).
sub wait_delivered {
    my ($sub, $want, $timeout) = @_;
    my $deadline = time + ($timeout // 60);
    while (1) {
        my $got = delivered($sub);
        return $got if !grep({ !$got->{$_} } @$want) || time > $deadline;
        sleep 0.25;
    }
}

# (lost ids, duplicated count) of @$ok against the counts $got.
sub tally {
    my ($ok, $got) = @_;
    my @lost = grep { !$got->{$_} } @$ok;
    my $dup = grep { $_ > 1 } values %$got;
    return (\@lost, $dup);
}

END {
    for my $l (@Running) {
        next unless $l->{owner} == $$;
        local $?;
        $l->stop;
    }
}

1;
