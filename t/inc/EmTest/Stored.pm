package EmTest::Stored;

# Checks, after each block of a Test::Nginx suite, what the block stored in
# one broker's stream: exactly the messages its "--- stored" section lists
# (an eval'ed array of hashes), or nothing at all when the section is
# absent.  Every 2xx must leave its events in the stream and no error may
# leave any.
#
#   use EmTest::Stored;
#   EmTest::Stored::watch($nats, 'default', 'default');
#
#   --- stored eval
#   [{ subject => 'em.default.default.a', data => 'x',
#      'ce-id' => '1', 'ce-type' => 'a' }]
#
# Keys other than subject and data name headers (lowercased); a value of
# undef means the header must be absent.
#
# A block's "--- after_request" section (Perl code, run as is when the
# answer has been checked) can put the server back after an outage test
# before the stream is read: Test::Base runs "eval" filters when it loads
# the file, so code with side effects cannot live in "--- stored eval".

use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use Test::More ();
use Test::Nginx::Socket ();
use EmTest::NATS ();

my ($Nats, $Stream, $Last);

sub watch {
    my ($nats, $ns, $broker, %opt) = @_;
    ($Nats, $Stream) = ($nats, EmTest::NATS::stream_name($ns, $broker));

    Test::Nginx::Socket::add_block_preprocessor(sub {
        my $block = shift;
        my $init = $block->init // '';
        $block->set_value('init', "EmTest::Stored::mark();\n$init");
    });

    Test::Nginx::Socket::add_response_body_check(\&check);
}

sub last_seq {
    my $info = $Nats->stream_info($Stream) or return 0;
    return $info->{state}{last_seq} || 0;
}

sub mark {
    $Last = last_seq();
}

# The Nats-Msg-Id the core derives from source and id (core/msgid.c).
sub msg_id {
    my ($source, $id) = @_;
    return sha256_hex(pack('Q>', length $source) . $source
                      . pack('Q>', length $id) . $id);
}

sub check {
    my ($block, $body, $idx, $rep, $dry) = @_;
    my $reqs = $block->pipelined_requests;
    my $n = ref $reqs eq 'ARRAY' ? @$reqs : 1;
    return if $dry || $idx != $n - 1;

    my $name = $block->name;
    if (defined(my $code = $block->after_request)) {
        eval "package main; $code; 1"
            or Test::More::fail("$name - after_request: $@");
    }
    my $want = $block->stored // [];
    my @got;
    my $last = last_seq();
    for my $seq (($Last // 0) + 1 .. $last) {
        my $m = $Nats->stream_msg_get($Stream, $seq);
        push @got, $m if $m;
    }
    $Last = $last;

    EmTest::NATS::check_stored($name, \@got, $want);

    for my $i (0 .. $#$want) {
        my $g = $got[$i] or last;
        if (defined $g->{header}{'ce-source'}) {
            Test::More::is($g->{header}{'nats-msg-id'},
                msg_id(pct_decode($g->{header}{'ce-source'}),
                       pct_decode($g->{header}{'ce-id'} // '')),
                "$name - message $i: Nats-Msg-Id from source and id");
        }
    }
}

sub pct_decode {
    my $s = shift;
    $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $s;
}

1;
