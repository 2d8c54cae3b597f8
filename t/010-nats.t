# The module's NATS client under real and hostile servers: publishes are
# acked and land in the stream; a stopped server answers 503 at once, a
# paused one 504 after the ack timeout, and publishing resumes when the
# server comes back without touching nginx; a server that accepts TCP and
# never speaks, refuses the credentials, requires TLS or talks garbage never
# stalls the worker; every byte split of the server's stream is parsed.
#
# Blocks may stop or pause the server ("--- nats_down: stop|pause"); it is
# brought back after the block's response, and "--- stored eval" (or
# "--- stored_count") then checks what the block left in the stream.

use strict;
use warnings;

use lib 't/inc';
use EmTest::NATS;
use EmTest::HTTP;
use EmTest::Mute;
use File::Temp qw(tempdir);
use JSON::PP ();
use Time::HiRes qw(sleep time);
use Test::Nginx::Socket 'no_plan';

our $Nats = EmTest::NATS->start;
$Nats->create_broker('default', 'default');

our $Stream = EmTest::NATS::stream_name('default', 'default');

our $Auth = EmTest::NATS->start(env => 'TEST_NGINX_AUTH_PORT',
                                user => 'mesh', pass => 'right-pass');
$Auth->create_broker('default', 'default');

my $tmp = tempdir('em-nats-t-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# the fake servers live as long as the file runs
our $Pinger = EmTest::Mute->start(mode => 'raw',
    env => 'TEST_NGINX_PINGER_PORT', record => "$tmp/pinger.log",
    reply => "PING\r\n");

our @Fakes = (
    $Pinger,
    EmTest::Mute->start(mode => 'raw', env => 'TEST_NGINX_GARBAGE_PORT',
                        reply => "NOPE 1 2\r\n"),
    EmTest::Mute->start(mode => 'mute', env => 'TEST_NGINX_MUTE_PORT'),
    EmTest::Mute->start(mode => 'raw', env => 'TEST_NGINX_BADMSG_PORT',
                        reply => "MSG _INBOX.x.1 1 3\r\nabcXY\r\n"),
    EmTest::Mute->start(mode => 'info', env => 'TEST_NGINX_TLS_PORT',
                        info => { tls_required => JSON::PP::true }),
    EmTest::Mute->start(mode => 'chop', env => 'TEST_NGINX_CHOP_PORT',
                        upstream => $Nats->port),
    EmTest::Mute->start(mode => 'late', env => 'TEST_NGINX_LATE_PORT',
                        upstream => $Nats->port),
    EmTest::Mute->start(mode => 'mute', env => 'TEST_NGINX_ONCE_PORT',
                        accepts => 1),
    EmTest::Mute->start(mode => 'late', env => 'TEST_NGINX_STALL_PORT',
                        upstream => $Nats->port, late_info => 1),
);

our ($Mark, $Held) = (0);

sub last_seq { $Nats->last_seq($Stream) }

sub mark { $Mark = last_seq() }

# An event that was in flight when the server was paused is stored once it
# runs again; wait for that so the next block counts only its own.
sub settle {
    my ($seq, $since) = (last_seq(), time);
    my $deadline = time + 3;
    while (time < $deadline && time - $since < 0.3) {
        sleep 0.05;
        my $now = last_seq();
        ($seq, $since) = ($now, time) if $now != $seq;
    }
}

sub restore_nats {
    if (!$Nats->is_running) {
        $Nats->start;

    } elsif ($Nats->is_paused) {
        $Nats->resume;
        settle();
    }
}

sub nats_down {
    my $how = shift;
    if ($how eq 'stop') {
        $Nats->stop;
    } elsif ($how eq 'pause') {
        $Nats->pause;
    } else {
        die "unknown --- nats_down \"$how\" (stop or pause)\n";
    }
}

sub stored_since_mark {
    my ($want, $timeout) = @_;
    return $Nats->messages_after($Stream, $Mark, $want, $timeout);
}

our $HttpConfig = <<'_EOC_';
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    my $own = defined $block->http_config;
    $block->set_value('http_config', $HttpConfig) unless $own;

    my $init = "main::restore_nats();\n";
    $init .= "EmTest::HTTP::wait_nats_connected('/status');\n" unless $own;
    $init .= "main::mark();\n";
    $init .= $block->init // '';
    $init .= "\nmain::nats_down('" . $block->nats_down . "');\n"
        if defined $block->nats_down;

    $block->set_value('init', $init);
});

add_response_body_check(sub {
    my ($block, $body, $idx, $rep, $dry) = @_;
    return if $dry;

    restore_nats();

    my $name = $block->name;

    if (defined(my $n = $block->stored_count)) {
        my $got = stored_since_mark($n, 5);
        is(scalar @$got, $n, "$name - stored $n message(s)");
    }

    my $want = $block->stored or return;
    EmTest::NATS::check_stored($name, stored_since_mark(scalar @$want, 3),
                               $want);
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an event is acked by the stream and stored as sent
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- more_headers
Content-Type: text/plain
ce-specversion: 1.0
ce-id: nats-1
ce-source: urn:test:nats
ce-type: nats.hello
--- request
POST /events
hello NATS
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.nats.hello', data => 'hello NATS',
   'ce-id' => 'nats-1', 'ce-source' => 'urn:test:nats' }]
--- error_log
connected to NATS, max_payload 1048576
--- no_error_log
[error]



=== TEST 2: the status reports the connection and the server's limits
--- config
    location = /status { event_mesh_status; }
--- request
GET /status
--- error_code: 200
--- response_body_like eval
qr/"connected":true,"server":"127\.0\.0\.1:$ENV{TEST_NGINX_NATS_PORT}","pending":0,"buffered":0,.*"max_payload":1048576/



=== TEST 3: 404 at once when no stream takes the broker's subjects
--- config
    location = /events { event_mesh_publish default/nowhere; }
    location = /status { event_mesh_status; }
--- more_headers
ce-specversion: 1.0
ce-id: nats-nowhere
ce-source: urn:test:nats
ce-type: t
--- request
POST /events
--- timeout: 1
--- error_code: 404
--- response_body_like: "error":"unknown broker"
--- stored_count: 0
--- no_error_log
[error]



=== TEST 4: a stopped server: 503 with Retry-After at once, no waiting
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- nats_down: stop
--- more_headers
ce-specversion: 1.0
ce-id: nats-stopped
ce-source: urn:test:nats
ce-type: t
--- request
POST /events
--- timeout: 1
--- error_code: 503
--- response_headers
Retry-After: 1
--- response_body_like: "error":"channel unavailable"
--- stored_count: 0
--- error_log
NATS server closed the connection
--- no_error_log
[alert]



=== TEST 5: the server restarts: publishing resumes with the same nginx
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- init
my $pid = EmTest::HTTP::wait_nats_connected('/status')->{pid};
$main::Nats->stop;
Time::HiRes::sleep(0.3);
my $r = EmTest::HTTP::request('POST', '/events', headers => {
    'ce-specversion' => '1.0', 'ce-id' => 'nats-down',
    'ce-source' => 'urn:test:nats', 'ce-type' => 't' });
die "while NATS is down: want 503, got ", $r->code, "\n"
    unless $r->code == 503;
$main::Nats->start;
my $st = EmTest::HTTP::wait_nats_connected('/status', timeout => 10);
die "nginx was restarted: pid $pid is now $st->{pid}\n"
    unless $st->{pid} == $pid;
--- more_headers
ce-specversion: 1.0
ce-id: nats-back
ce-source: urn:test:nats
ce-type: nats.back
--- request
POST /events
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.nats.back', 'ce-id' => 'nats-back' }]
--- error_log
no NATS server is reachable (1 tried)
reconnected to NATS
--- no_error_log
[alert]



=== TEST 6: a paused server: 504 after the ack timeout; the late ack is ignored
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_ack_timeout 1s;
    }
    location = /status { event_mesh_status; }
--- nats_down: pause
--- more_headers
ce-specversion: 1.0
ce-id: nats-paused
ce-source: urn:test:nats
ce-type: nats.late
--- request
POST /events
--- timeout: 3
--- error_code: 504
--- response_body_like: "error":"channel ack timeout"
--- stored eval
[{ subject => 'em.default.default.nats.late', 'ce-id' => 'nats-paused' }]
--- wait: 0.3
--- error_log eval
qr/nats: late ack for publish \d+ ignored/
--- no_error_log
[error]



=== TEST 7: unanswered PINGs: a stale connection fails its publishes with 503
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
    event_mesh_nats_ping_interval 200ms;
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_ack_timeout 10s;
    }
    location = /status { event_mesh_status; }
--- init
EmTest::HTTP::wait_nats_connected('/status');
--- nats_down: pause
--- more_headers
ce-specversion: 1.0
ce-id: nats-stale
ce-source: urn:test:nats
ce-type: t
--- request
POST /events
--- timeout: 3
--- error_code: 503
--- response_body_like: "rule":"not connected to the channel"
--- error_log
NATS connection is stale: 2 PINGs unanswered
disconnected from NATS, 1 publish(es) awaiting an ack failed



=== TEST 8: many publishes in flight on the one connection, each acked
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- init
my @h = map {
    EmTest::HTTP::send_request('POST', '/events', body => "event $_",
        headers => { 'ce-specversion' => '1.0', 'ce-id' => "many-$_",
                     'ce-source' => 'urn:test:nats', 'ce-type' => 'many',
                     'Content-Type' => 'text/plain' })
} 1 .. 40;
my @bad = grep { $_->code != 202 }
          map { EmTest::HTTP::read_response($_, 5) } @h;
die "in-flight publishes: ", scalar(@bad), " of 40 not 202: ",
    $bad[0]->code, " ", $bad[0]->content, "\n" if @bad;
--- request
GET /status
--- response_body_like: "pending":0,"buffered":0,"published":40,"acked":40,"failed":0,"timeouts":0
--- stored_count: 40
--- no_error_log
[error]



=== TEST 9: the in-flight limit: a publish over it is refused at once
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_NATS_PORT;
    event_mesh_max_inflight 1;
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_ack_timeout 5s;
    }
    location = /status { event_mesh_status; }
--- init
EmTest::HTTP::wait_nats_connected('/status');
$main::Nats->pause;
# held open: its publish waits for an ack that cannot come yet
$main::Held = EmTest::HTTP::send_request('POST', '/events', headers => {
    'ce-specversion' => '1.0', 'ce-id' => 'nats-held',
    'ce-source' => 'urn:test:nats', 'ce-type' => 'held' });
my $deadline = Time::HiRes::time() + 3;
while (Time::HiRes::time() < $deadline) {
    last if EmTest::HTTP::get('/status')->content =~ /"pending":1,/;
    Time::HiRes::sleep(0.02);
}
--- more_headers
ce-specversion: 1.0
ce-id: nats-over
ce-source: urn:test:nats
ce-type: over
--- request
POST /events
--- timeout: 1
--- error_code: 503
--- response_headers
Retry-After: 1
--- response_body_like: "rule":"too many events in flight"
--- stored eval
[{ subject => 'em.default.default.held', 'ce-id' => 'nats-held' }]



=== TEST 10: the held publish is answered once the server runs again
--- config
    location = /status { event_mesh_status; }
--- init
my $r = EmTest::HTTP::read_response($main::Held, 5);
die "the held publish: want 202, got ", $r->code, "\n" unless $r->code == 202;
--- request
GET /status
--- response_body_like: "pending":0



=== TEST 11: a server that accepts TCP and never speaks: a publish held for the handshake gets 503 at its ack timeout, not the 10 s handshake limit
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_MUTE_PORT;
    event_mesh_nats_connect_timeout 10s;
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_ack_timeout 300ms;
    }
--- more_headers
ce-specversion: 1.0
ce-id: nats-mute
ce-source: urn:test:nats
ce-type: t
--- request
POST /events
--- timeout: 1
--- error_code: 503
--- response_body_like: "rule":"not connected to the channel"



=== TEST 12: the worker serves other locations while NATS hangs
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_MUTE_PORT;
    event_mesh_nats_connect_timeout 10s;
--- config
    location = /events { event_mesh_publish default/default; }
    location = /hello { return 200 "still here\n"; }
--- request
GET /hello
--- timeout: 1
--- error_code: 200
--- response_body
still here



=== TEST 13: the silent server times out its handshake and is retried
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_MUTE_PORT;
    event_mesh_nats_connect_timeout 200ms;
    event_mesh_nats_reconnect_max_wait 200ms;
--- config
    location = /hello { return 200 "still here\n"; }
--- request
GET /hello
--- error_code: 200
--- wait: 1
--- error_log eval
[qr/\[error\] .*NATS server did not complete the handshake within 200 ms .* while waiting for INFO from NATS, NATS server: 127\.0\.0\.1:\d+/,
 qr/\[info\] .*NATS server did not complete the handshake/]



=== TEST 13a: a server too slow for the first handshake is no outage: the publish waits for the next attempt
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_LATE_PORT;
    event_mesh_nats_connect_timeout 1s;
    event_mesh_nats_reconnect_wait 100ms;
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_ack_timeout 5s;
    }
--- more_headers
ce-specversion: 1.0
ce-id: nats-late
ce-source: urn:test:nats
ce-type: late
--- request
POST /events
--- timeout: 6
--- error_code: 202
--- error_log eval
qr/\[error\] .*NATS server did not complete the handshake within 1000 ms/
--- no_error_log
no NATS server is reachable
--- stored eval
[{ subject => 'em.default.default.late', 'ce-id' => 'nats-late' }]



=== TEST 13b: slow, then refused: the publish held over the slow attempt gets 503 at the refusal, not at its ack timeout
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_ONCE_PORT;
    event_mesh_nats_connect_timeout 500ms;
    event_mesh_nats_reconnect_wait 100ms;
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_ack_timeout 20s;
    }
--- more_headers
ce-specversion: 1.0
ce-id: nats-once
ce-source: urn:test:nats
ce-type: once
--- request
POST /events
--- timeout: 4
--- error_code: 503
--- response_body_like: "rule":"not connected to the channel"
--- error_log eval
[qr/\[error\] .*NATS server did not complete the handshake within 500 ms/,
 qr/\[error\] .*no NATS server is reachable \(1 tried\)/]



=== TEST 13c: a publish sent right behind CONNECT when the handshake then times out goes out again on the next connection, stored once
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_STALL_PORT;
    event_mesh_nats_connect_timeout 1s;
    event_mesh_nats_reconnect_wait 100ms;
--- config
    location = /events {
        event_mesh_publish default/default;
        event_mesh_ack_timeout 5s;
    }
--- more_headers
ce-specversion: 1.0
ce-id: nats-stall
ce-source: urn:test:nats
ce-type: stall
--- request
POST /events
--- timeout: 6
--- error_code: 202
--- error_log eval
qr/\[error\] .*NATS server did not complete the handshake within 1000 ms .* while logging in to NATS/
--- stored eval
[{ subject => 'em.default.default.stall', 'ce-id' => 'nats-stall' }]



=== TEST 14: wrong credentials: -ERR 'Authorization Violation', 503, no password in the log
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_AUTH_PORT user=mesh password=Wr0ng-Secret;
--- config
    location = /events { event_mesh_publish default/default; }
--- more_headers
ce-specversion: 1.0
ce-id: nats-auth
ce-source: urn:test:nats
ce-type: t
--- request
POST /events
--- error_code: 503
--- wait: 0.3
--- error_log eval
qr/\[error\] .*NATS server error: 'Authorization Violation' while logging in to NATS/
--- no_error_log
Wr0ng-Secret



=== TEST 15: the right credentials connect and publish
--- http_config
    event_mesh_nats nats://127.0.0.1:$TEST_NGINX_AUTH_PORT user=mesh password=right-pass;
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- init
EmTest::HTTP::wait_nats_connected('/status');
--- more_headers
ce-specversion: 1.0
ce-id: nats-auth-ok
ce-source: urn:test:nats
ce-type: t
--- request
POST /events
--- error_code: 202
--- no_error_log
[error]
right-pass



=== TEST 16: a server that requires TLS, TLS off: refused with a clear error
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- config
    location = /events { event_mesh_publish default/default; }
--- more_headers
ce-specversion: 1.0
ce-id: nats-tls
ce-source: urn:test:nats
ce-type: t
--- request
POST /events
--- error_code: 503
--- wait: 0.3
--- error_log
NATS server requires TLS: turn it on with "event_mesh_nats_tls on" or a tls:// URL



=== TEST 17: the handshake as sent: CONNECT, SUB, PING; the server's PING gets PONG
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_PINGER_PORT;
    event_mesh_nats_connect_timeout 10s;
--- config
    location = /hello { return 200 "still here\n"; }
--- init
my @sent;
my $deadline = Time::HiRes::time() + 3;
while (Time::HiRes::time() < $deadline) {
    @sent = $main::Pinger->recorded;
    last if grep { $_ eq 'PONG' } @sent;
    Time::HiRes::sleep(0.02);
}
my ($connect) = grep { /^CONNECT / } @sent;
my $c = JSON::PP->new->decode(($connect // 'CONNECT {}') =~ s/^CONNECT //r);
Test::More::is_deeply(
    [ @{$c}{qw(verbose pedantic headers no_responders lang protocol name)} ],
    [ JSON::PP::false, JSON::PP::false, JSON::PP::true, JSON::PP::true,
      'c-nginx', 1, 'nginx-event-mesh' ],
    'TEST 17 - CONNECT asks for headers and no-responders answers');
Test::More::ok(!exists $c->{user} && !exists $c->{pass}
               && !exists $c->{auth_token},
               'TEST 17 - no credentials configured, none sent');
Test::More::ok((grep { /^SUB _INBOX\.[0-9A-Za-z]{22}\.\* 1$/ } @sent),
               'TEST 17 - one wildcard inbox subscription');
Test::More::is_deeply([ (grep { /^(?:PING|PONG)$/ } @sent)[0, 1] ],
                      ['PING', 'PONG'],
                      'TEST 17 - PING to finish the handshake, PONG to '
                      . "the server's PING");
--- request
GET /hello
--- error_code: 200
--- no_error_log
[error]



=== TEST 18: an unknown operation is a protocol error
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_GARBAGE_PORT;
--- config
    location = /hello { return 200 "still here\n"; }
--- request
GET /hello
--- error_code: 200
--- wait: 0.3
--- error_log
NATS protocol error: unexpected "NOPE 1 2"
--- no_error_log
[alert]
[crit]



=== TEST 19: a message whose payload overruns its size is a protocol error
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_BADMSG_PORT;
--- config
    location = /hello { return 200 "still here\n"; }
--- request
GET /hello
--- error_code: 200
--- wait: 0.3
--- error_log
NATS protocol error: message payload of "_INBOX.x.1" is not followed by CRLF
--- no_error_log
[alert]
[crit]



=== TEST 20: the server's bytes arrive one per segment: every split is parsed
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_CHOP_PORT;
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- init
EmTest::HTTP::wait_nats_connected('/status', timeout => 10);
--- more_headers
Content-Type: application/json
ce-specversion: 1.0
ce-id: nats-chopped
ce-source: urn:test:nats
ce-type: nats.chopped
--- request
POST /events
{"split":"everywhere"}
--- timeout: 5
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.nats.chopped',
   data => '{"split":"everywhere"}', 'ce-id' => 'nats-chopped' }]
--- no_error_log
[error]



=== TEST 21: event_mesh_nats refuses URLs it cannot serve
--- http_config
    event_mesh_nats ws://127.0.0.1:4222;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log
invalid NATS server "ws://127.0.0.1:4222" in "event_mesh_nats" directive: only "nats://" and "tls://" URLs are supported



=== TEST 22: credentials in a URL are refused without echoing them
--- http_config
    event_mesh_nats nats://alice:Pa55word@127.0.0.1:4222;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log eval
qr/invalid NATS server "\.\.\.\@127\.0\.0\.1:4222" in "event_mesh_nats" directive: credentials in the URL are not supported/



=== TEST 23: a bad port names the server
--- http_config
    event_mesh_nats 127.0.0.1:4222 nats://127.0.0.1:99999;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log
invalid NATS server "nats://127.0.0.1:99999" in "event_mesh_nats" directive: invalid port



=== TEST 24: a password needs a user
--- http_config
    event_mesh_nats 127.0.0.1:4222 password=secret;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log
"password=" needs "user=" in "event_mesh_nats" directive



=== TEST 25: a token excludes user and password
--- http_config
    event_mesh_nats 127.0.0.1:4222 user=u password=p token=t;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log
"token=" and "user=" exclude each other in "event_mesh_nats" directive



=== TEST 26: the backoff ceiling cannot be below its first step
--- http_config
    event_mesh_nats 127.0.0.1:4222;
    event_mesh_nats_reconnect_wait 1s;
    event_mesh_nats_reconnect_max_wait 500ms;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log
"event_mesh_nats_reconnect_max_wait" (500 ms) must not be less than "event_mesh_nats_reconnect_wait" (1000 ms)



=== TEST 27: a publish that comes with the first handshake is held, sent after CONNECT, and stored
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_CHOP_PORT;
--- config
    location = /events { event_mesh_publish default/default; }
--- more_headers
ce-specversion: 1.0
ce-id: nats-early
ce-source: urn:test:nats
ce-type: nats.early
--- request
POST /events
--- timeout: 5
--- error_code: 202
--- stored eval
[{ subject => 'em.default.default.nats.early', 'ce-id' => 'nats-early' }]
--- no_error_log
[error]
