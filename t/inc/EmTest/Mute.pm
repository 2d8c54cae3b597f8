package EmTest::Mute;

# A fake NATS server for outage tests, on a free loopback port.
#
#   our $Mute = EmTest::Mute->start(mode => 'mute',
#                                   env => 'TEST_NGINX_MUTE_PORT');
#
# Keep the object: the server stops when it is destroyed.
#
# Modes:
#   mute  accepts TCP and never speaks (a hung server, or a firewall that
#         lets SYNs through): the client must time out its handshake.
#   info  sends INFO, then reads what the client sends and never answers
#         (the handshake stalls after CONNECT).
#   err   sends INFO with auth_required, waits for the client's CONNECT and
#         answers with the scripted error line (default
#         "-ERR 'Authorization Violation'"), then closes, as nats-server does
#         when credentials are wrong.
#   raw   sends INFO, waits for CONNECT, then sends the scripted bytes
#         (option "reply") and keeps the connection open: protocol error
#         tests.
#   chop  a proxy to a real server (option "upstream", its port) that
#         passes the client's bytes through and delivers the server's one
#         byte per TCP segment: the client's parser sees every possible
#         split of every operation.
#   late  the first "late" connections (default 1) are mute (with option
#         "late_info", they get INFO and then silence: the handshake stalls
#         after CONNECT), the next ones are proxied to the real server
#         (option "upstream") as they are: a server too slow for the
#         client's first handshake.
#
# Options: mode, err, reply, upstream, late, accepts (stop listening after
# that many connections: later attempts are refused), info (hash merged
# into the INFO object), env (name of an environment variable that
# receives the port), record (file that receives every line the clients
# send, for checking CONNECT; read it back with ->recorded).
#
# The server runs in a child process that is stopped by PID in stop(), on
# DESTROY and at END.  The child leaves with POSIX::_exit so that the test
# harness's END blocks never run twice.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use JSON::PP ();
use POSIX ();

my @servers;

sub start {
    my ($class, %opt) = @_;

    my $mode = $opt{mode} || 'mute';

    die "EmTest::Mute: unknown mode \"$mode\"\n"
        unless $mode =~ /^(?:mute|info|err|raw|chop|late)$/;

    die "EmTest::Mute: mode \"$mode\" needs \"upstream\"\n"
        if $mode =~ /^(?:chop|late)$/ && !$opt{upstream};

    my $listen = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1',
        LocalPort => 0,
        Proto     => 'tcp',
        Listen    => 64,
        ReuseAddr => 1,
    ) or die "EmTest::Mute: cannot listen on 127.0.0.1: $!\n";

    my $self = bless {
        mode   => $mode,
        port   => $listen->sockport,
        err    => defined $opt{err} ? $opt{err}
                                    : "-ERR 'Authorization Violation'",
        reply  => defined $opt{reply} ? $opt{reply} : '',
        info   => $opt{info} || {},
        upstream => $opt{upstream},
        late   => $opt{late} // 1,
        late_info => $opt{late_info},
        accepts => $opt{accepts},
        record => $opt{record},
        owner  => $$,
    }, $class;

    if (defined $self->{record}) {
        open my $fh, '>', $self->{record}
            or die "EmTest::Mute: cannot write $self->{record}: $!\n";
        close $fh;
    }

    my $pid = fork;
    die "EmTest::Mute: fork failed: $!\n" unless defined $pid;

    if ($pid == 0) {
        my $rc = eval { $self->_serve($listen); 0 } // 1;
        warn $@ if $@;
        POSIX::_exit($rc);
    }

    close $listen;

    $self->{pid} = $pid;
    $ENV{ $opt{env} } = $self->{port} if $opt{env};

    push @servers, $self;

    return $self;
}

sub port { $_[0]{port} }
sub pid  { $_[0]{pid} }

# Lines the clients sent so far (needs the "record" option).
sub recorded {
    my ($self) = @_;

    return () unless defined $self->{record};

    open my $fh, '<', $self->{record} or return ();
    my @lines = map { s/\r?\n\z//r } <$fh>;
    close $fh;

    return @lines;
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid};
    return unless $pid && $self->{owner} == $$;

    kill 'TERM', $pid;

    for (1 .. 50) {
        return if waitpid($pid, POSIX::WNOHANG()) != 0;
        select undef, undef, undef, 0.05;
    }

    kill 'KILL', $pid;
    waitpid $pid, 0;
}

sub DESTROY { $_[0]->stop }

END { $_->stop for @servers }

sub _info_line {
    my ($self) = @_;

    my %info = (
        server_id   => 'EMTEST_MUTE',
        server_name => 'emtest-mute',
        version     => '2.9.10',
        proto       => 1,
        host        => '127.0.0.1',
        port        => $self->{port},
        headers     => JSON::PP::true,
        max_payload => 1048576,
    );

    $info{auth_required} = JSON::PP::true if $self->{mode} eq 'err';

    %info = (%info, %{ $self->{info} });

    return 'INFO ' . JSON::PP->new->canonical->encode(\%info) . "\r\n";
}

sub _serve {
    my ($self, $listen) = @_;

    local $SIG{TERM} = sub { POSIX::_exit(0) };
    local $SIG{PIPE} = 'IGNORE';

    my $sel = IO::Select->new($listen);
    my %in;        # socket => unparsed input
    my %peer;      # chop, late: client <=> upstream
    my $accepted = 0;

    for (;;) {

        # orphaned (the test died without END): do not outlive it
        POSIX::_exit(0) if getppid() != $self->{owner};

        for my $fh ($sel->can_read(0.5)) {

            if ($fh == $listen) {
                my $c = $listen->accept or next;
                $c->autoflush(1);
                $accepted++;

                if (defined $self->{accepts}
                    && $accepted >= $self->{accepts})
                {
                    $sel->remove($listen);
                    close $listen;
                }

                if ($self->{mode} eq 'chop'
                    || ($self->{mode} eq 'late' && $accepted > $self->{late}))
                {
                    my $u = IO::Socket::INET->new(
                        PeerAddr => '127.0.0.1',
                        PeerPort => $self->{upstream},
                        Proto    => 'tcp',
                    );

                    if (!$u) {
                        close $c;
                        next;
                    }

                    setsockopt $c, IPPROTO_TCP, TCP_NODELAY, 1;
                    $peer{$c} = $u;
                    $peer{$u} = $c;
                    $sel->add($c, $u);
                    next;
                }

                if ($self->{mode} !~ /^(?:mute|late)$/
                    || ($self->{mode} eq 'late' && $self->{late_info}))
                {
                    syswrite $c, $self->_info_line;
                }

                # a mute server still reads, so the client never blocks
                $sel->add($c);
                $in{$c} = '';
                next;
            }

            my $n = sysread $fh, my $buf, 65536;

            if ($peer{$fh} || $self->{mode} eq 'chop') {
                my $to = $peer{$fh} or next;

                if (!$n) {
                    $sel->remove($fh, $to);
                    delete @peer{$fh, $to};
                    close $fh;
                    close $to;
                    next;
                }

                if ($self->{mode} eq 'late') {
                    syswrite $to, $buf;

                } elsif ($to->sockport == $self->{port}) {
                    # towards the client: one byte per segment
                    for my $byte (split //, $buf) {
                        syswrite $to, $byte;
                        select undef, undef, undef, 0.0005;
                    }

                } else {
                    $self->_record($_) for split /\r?\n/, $buf;
                    syswrite $to, $buf;
                }

                next;
            }

            if (!$n) {
                $sel->remove($fh);
                delete $in{$fh};
                close $fh;
                next;
            }

            $in{$fh} .= $buf;

            while ($in{$fh} =~ s/\A([^\n]*)\n//) {
                my $line = $1;
                $line =~ s/\r\z//;

                $self->_record($line);

                next unless $line =~ /\ACONNECT /i;

                if ($self->{mode} eq 'err') {
                    syswrite $fh, $self->{err} . "\r\n";
                    $sel->remove($fh);
                    delete $in{$fh};
                    close $fh;
                    last;
                }

                if ($self->{mode} eq 'raw') {
                    syswrite $fh, $self->{reply};
                }
            }
        }
    }
}

sub _record {
    my ($self, $line) = @_;

    return unless defined $self->{record};

    open my $fh, '>>', $self->{record} or return;
    print $fh "$line\n";
    close $fh;
}

1;
