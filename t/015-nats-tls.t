# TLS and credentials towards NATS, for the module and the dispatcher.
#
# A PKI is made for the run (EmTest::TLS): a CA, a server certificate for
# localhost and 127.0.0.1, a client certificate, and a CA that signed
# neither.  Three nats-servers require TLS: one plain, one that also
# requires client certificates, one that also requires a token.  The
# module publishes over TLS and the event is stored; a wrong CA, a wrong
# name, a missing client certificate and a wrong token each give 503 with
# an error line that says why; a server demanding TLS from a module that
# has it off, or the reverse, is refused clearly; secrets never reach the
# log, at the debug level included.  Requests that auth_request or a
# client-certificate check turns away never reach NATS.  Then the
# dispatcher consumes over TLS with a client certificate and delivers.
#
# "--- stored_on: tls|mtls|token" and "--- stored eval" check what the
# block left in that server's stream.

use strict;
use warnings;

use lib 't/inc';
use EmTest::Dispatcher;
use EmTest::HTTP;
use EmTest::Mute;
use EmTest::NATS;
use EmTest::Subscriber;
use EmTest::TLS;
use IO::Socket::INET ();
use Time::HiRes qw(sleep time);
use Test::Nginx::Socket 'no_plan';

our $Pki = EmTest::TLS->make;

our $Token = 'T0ken-0f-the-Mesh';

our %Nats = (
    tls => EmTest::NATS->start(env => 'TEST_NGINX_TLS_PORT',
                               tls => $Pki->server_opts),
    mtls => EmTest::NATS->start(env => 'TEST_NGINX_MTLS_PORT',
                                tls => $Pki->server_opts(verify => 1)),
    token => EmTest::NATS->start(env => 'TEST_NGINX_TOKEN_PORT',
                                 token => $Token,
                                 tls => $Pki->server_opts),
);

$_->create_broker('default', 'default') for values %Nats;

our $Stream = EmTest::NATS::stream_name('default', 'default');

# speaks NATS without TLS: for a module that insists on it
our $Plain = EmTest::Mute->start(mode => 'info',
                                 env => 'TEST_NGINX_PLAIN_PORT',
                                 record => "$Pki->{dir}/plain.log");

# nginx's own HTTPS port for the client-certificate block
{
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "no free port: $!\n";
    $ENV{TEST_NGINX_HTTPS_PORT} = $s->sockport;
    close $s;
}

# POSTs an event to nginx over HTTPS; the status code, or 0 when the
# connection failed.  cert => 1 presents the client certificate.
sub https_post {
    my (%o) = @_;
    require IO::Socket::SSL;
    my $s = IO::Socket::SSL->new(
        PeerAddr            => '127.0.0.1',
        PeerPort            => $ENV{TEST_NGINX_HTTPS_PORT},
        SSL_ca_file         => $Pki->file('ca.pem'),
        SSL_verifycn_name   => '127.0.0.1',
        SSL_verifycn_scheme => 'default',
        Timeout             => 5,
        $o{cert} ? (SSL_cert_file => $Pki->file('client.pem'),
                    SSL_key_file  => $Pki->file('client.key')) : (),
    ) or return 0;
    print {$s} "POST /events HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\nce-specversion: 1.0\r\n"
             . "ce-id: $o{id}\r\nce-source: urn:test:tls\r\n"
             . "ce-type: tls.https\r\nContent-Length: 0\r\n\r\n";
    local $/;
    my $res = <$s> // '';
    close $s;
    return $res =~ m{^HTTP/1\.[01] (\d{3})} ? $1 : 0;
}

our %Mark;

sub mark { $Mark{$_} = $Nats{$_}->last_seq($Stream) for keys %Nats }

sub stored_since_mark {
    my ($n, $want, $timeout) = @_;
    return $Nats{$n}->messages_after($Stream, $Mark{$n}, $want, $timeout);
}

add_block_preprocessor(sub {
    my $block = shift;
    my $init = "main::mark();\n";
    $init .= "EmTest::HTTP::wait_nats_connected('/status', timeout => 10);\n"
        if $block->wait_connected;
    $block->set_value('init', $init . ($block->init // ''));
});

add_response_body_check(sub {
    my ($block, $body, $idx, $rep, $dry) = @_;
    return if $dry;

    my $name = $block->name;
    my $on = $block->stored_on or return;

    if (defined(my $n = $block->published)) {
        my $st = EmTest::HTTP::get('/status')->content;
        like($st, qr/"published":$n,/,
             "$name - $n publish(es) reached NATS");
    }

    if (defined(my $n = $block->stored_count)) {
        # a refused publish must not be stored late either
        sleep 0.3 if $n == 0;
        my $got = stored_since_mark($on, $n, 5);
        is(scalar @$got, $n, "$name - stored $n message(s) on $on");
    }

    my $want = $block->stored or return;
    EmTest::NATS::check_stored($name,
        stored_since_mark($on, scalar @$want, 5), $want, $on);
});

no_shuffle();
run_tests();

ok(!grep({ /CONNECT|Pl41n-T0ken/ } $Plain->recorded),
   'a module that wants TLS sends nothing to a server without it');

# --- the dispatcher over TLS with a client certificate ---------------------

my $Bin = EmTest::Dispatcher::binary();

SKIP: {
    skip "$Bin is not built (make dispatcher)", 1 unless -x $Bin;

    my $nats = $Nats{mtls};
    my $sub = EmTest::Subscriber->start;
    my $d = EmTest::Dispatcher->new(nats => $nats);
    my $pki = $Pki->dir;
    my $port = $nats->port;
    my $admin = $d->admin_port;

    my $yaml = sub {
        my ($tls) = @_;
        return "nats:\n  servers: [tls://127.0.0.1:$port]\n$tls"
             . "admin:\n  listen: 127.0.0.1:$admin\n"
             . "triggers: triggers\n"
             . "brokers:\n  - namespace: default\n    name: default\n";
    };

    my $good = "  tls:\n    ca: $pki/ca.pem\n    cert: $pki/client.pem\n"
             . "    key: $pki/client.key\n    name: localhost\n";

    $d->write_trigger('tls', name => 'tls', type => 'tls.delivered',
                      uri => $sub->url('/tls'));

    Test::More::subtest 'dispatcher --check: the TLS files must be readable' => sub {
        $d->write_config($yaml->("  token: $Token\n"
                                 . "  tls:\n    ca: $pki/nope.pem\n"
                                 . "    cert: $pki/client.pem\n"));
        my $out = `'$Bin' --check -c '${\ $d->config_path}' 2>&1`;
        isnt($? >> 8, 0, '--check fails');
        like($out, qr/nats\.tls\.ca: cannot read .*nope\.pem/,
             'names the unreadable CA file');
        like($out, qr/nats\.tls\.cert: .*needs nats\.tls\.key/,
             'a certificate needs its key');
        unlike($out, qr/$Token/, 'no secret in the output');

        $d->write_config($yaml->($good));
        $out = `'$Bin' --check -c '${\ $d->config_path}' 2>&1`;
        is($? >> 8, 0, '--check passes with readable files')
            or diag($out);
    };

    Test::More::subtest 'dispatcher without its client certificate: not ready' => sub {
        $d->write_config($yaml->("  tls:\n    ca: $pki/ca.pem\n"));
        $d->start;
        my $log = EmTest::Dispatcher::wait_for(sub {
            my $l = $d->log;
            $l =~ /dropped the TLS connection at login .*set nats\.tls\.cert/
                ? $l : undef;
        }, 30);     # the reason comes with the second attempt (~10 s under ASan)
        ok($log, 'the log says the login failed and what to set')
            or diag($d->log);
        is($d->get('/readyz')->code, 503, '/readyz 503');
        $d->stop;
    };

    Test::More::subtest 'dispatcher provision: the name is checked unless verify is false' => sub {
        my $client = "    cert: $pki/client.pem\n    key: $pki/client.key\n";

        $d->write_config($yaml->("  tls:\n    ca: $pki/ca.pem\n$client"
                                 . "    name: nats.example.com\n"));
        my $out = `'$Bin' provision -c '${\ $d->config_path}' 2>&1`;
        isnt($? >> 8, 0, 'a name the certificate does not hold: fails');
        like($out, qr/TLS with NATS at tls:\/\/127\.0\.0\.1:\d+ failed .*check nats\.tls/,
             'says TLS failed and what to check');

        $d->write_config($yaml->("  tls:\n    ca: $pki/ca.pem\n$client"));
        $out = `'$Bin' provision -c '${\ $d->config_path}' 2>&1`;
        is($? >> 8, 0, 'no name: the servers\' host, 127.0.0.1, matches')
            or diag($out);

        $d->write_config($yaml->("  tls:\n    verify: false\n$client"));
        $out = `'$Bin' provision -c '${\ $d->config_path}' 2>&1`;
        is($? >> 8, 0, 'verify false: no CA needed') or diag($out);
    };

    Test::More::subtest 'dispatcher over TLS with a client certificate delivers' => sub {
        $d->write_config($yaml->($good));
        $d->start;
        $d->wait_ready(15);

        EmTest::Dispatcher::publish($nats, 'default', 'default',
            { id => 'tls-1', source => 'urn:test:tls',
              type => 'tls.delivered' }, 'over TLS');

        my $reqs = EmTest::Dispatcher::wait_for(sub {
            my $r = $sub->requests;
            @$r ? $r : undef;
        }, 10);
        ok($reqs, 'delivered') or diag($d->log);
        is($reqs->[0]{headers}{'ce-id'}, 'tls-1', 'the event') if $reqs;
        is($reqs->[0]{body}, 'over TLS', 'its data') if $reqs;

        # cnats and OpenSSL both freed one list at exit: SIGSEGV, at times
        is($d->stop, 0, 'stops with status 0');
    };
}

__DATA__

=== TEST 1: publishing over TLS (a tls:// URL): acked and stored
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_TLS_PORT;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- wait_connected: 1
--- more_headers
Content-Type: text/plain
ce-specversion: 1.0
ce-id: tls-1
ce-source: urn:test:tls
ce-type: tls.hello
--- request
POST /events
hello over TLS
--- error_code: 202
--- stored_on: tls
--- stored eval
[{ subject => 'em.default.default.tls.hello', data => 'hello over TLS',
   'ce-id' => 'tls-1' }]
--- error_log
connected to NATS
--- no_error_log
[error]



=== TEST 2: "event_mesh_nats_tls on" with a nats:// URL, the name checked as a DNS name
--- http_config
    event_mesh_nats nats://127.0.0.1:$TEST_NGINX_TLS_PORT;
    event_mesh_nats_tls on;
    event_mesh_nats_tls_name localhost;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;
    event_mesh_nats_tls_protocols TLSv1.3;
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- wait_connected: 1
--- more_headers
ce-specversion: 1.0
ce-id: tls-2
ce-source: urn:test:tls
ce-type: tls.named
--- request
POST /events
--- error_code: 202
--- stored_on: tls
--- stored_count: 1
--- no_error_log
[error]



=== TEST 3: a CA that did not sign the server's certificate: 503, the verify error logged
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_TLS_PORT;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/other-ca.pem;
--- config
    location = /events { event_mesh_publish default/default; }
--- more_headers
ce-specversion: 1.0
ce-id: tls-3
ce-source: urn:test:tls
ce-type: t
--- request
POST /events
--- error_code: 503
--- response_body_like: "rule":"not connected to the channel"
--- stored_on: tls
--- stored_count: 0
--- wait: 0.3
--- error_log eval
qr/\[error\] .*NATS server certificate verify error: \((?:20:unable to get local issuer certificate|21:unable to verify the first certificate)\) while TLS handshaking with NATS, NATS server: 127\.0\.0\.1:\d+/



=== TEST 4: a name the certificate does not hold: 503, the mismatch logged
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_TLS_PORT;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;
    event_mesh_nats_tls_name nats.example.com;
--- config
    location = /events { event_mesh_publish default/default; }
--- more_headers
ce-specversion: 1.0
ce-id: tls-4
ce-source: urn:test:tls
ce-type: t
--- request
POST /events
--- error_code: 503
--- wait: 0.3
--- error_log eval
qr/\[error\] .*NATS server certificate does not match "nats\.example\.com"/



=== TEST 5: verification off: the wrong CA does not matter
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_TLS_PORT;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/other-ca.pem;
    event_mesh_nats_tls_verify off;
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- wait_connected: 1
--- more_headers
ce-specversion: 1.0
ce-id: tls-5
ce-source: urn:test:tls
ce-type: t
--- request
POST /events
--- error_code: 202
--- stored_on: tls
--- stored_count: 1
--- no_error_log
[error]



=== TEST 6: a server that requires client certificates, none presented: 503
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_MTLS_PORT;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;
--- config
    location = /events { event_mesh_publish default/default; }
--- more_headers
ce-specversion: 1.0
ce-id: tls-6
ce-source: urn:test:tls
ce-type: t
--- request
POST /events
--- error_code: 503
--- stored_on: mtls
--- stored_count: 0
--- wait: 0.3
--- error_log eval
qr/\[error\] .*(?:alert bad certificate|alert certificate required|NATS server closed the connection).* NATS server: 127\.0\.0\.1:\d+/



=== TEST 7: the same server with the client certificate: 202
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_MTLS_PORT;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;
    event_mesh_nats_tls_certificate $TEST_NGINX_PKI/client.pem;
    event_mesh_nats_tls_certificate_key $TEST_NGINX_PKI/client.key;
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- wait_connected: 1
--- more_headers
ce-specversion: 1.0
ce-id: tls-7
ce-source: urn:test:tls
ce-type: tls.mutual
--- request
POST /events
--- error_code: 202
--- stored_on: mtls
--- stored eval
[{ subject => 'em.default.default.tls.mutual', 'ce-id' => 'tls-7' }]
--- no_error_log
[error]



=== TEST 8: a server that requires TLS, the module's TLS off: 503 and a clear message
--- http_config
    event_mesh_nats 127.0.0.1:$TEST_NGINX_TLS_PORT;
--- config
    location = /events { event_mesh_publish default/default; }
--- more_headers
ce-specversion: 1.0
ce-id: tls-8
ce-source: urn:test:tls
ce-type: t
--- request
POST /events
--- error_code: 503
--- wait: 0.3
--- error_log
NATS server requires TLS: turn it on with "event_mesh_nats_tls on" or a tls:// URL



=== TEST 9: the module's TLS on, a server without TLS: refused before CONNECT
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_PLAIN_PORT token=Pl41n-T0ken;
--- config
    location = /events { event_mesh_publish default/default; }
--- more_headers
ce-specversion: 1.0
ce-id: tls-9
ce-source: urn:test:tls
ce-type: t
--- request
POST /events
--- error_code: 503
--- wait: 0.3
--- error_log
NATS server does not offer TLS, but "event_mesh_nats_tls" is on
--- no_error_log
Pl41n-T0ken



=== TEST 10: a token over TLS: accepted, and never in the log at the debug level
--- http_config eval
"event_mesh_nats tls://127.0.0.1:\$TEST_NGINX_TOKEN_PORT token=$main::Token;
event_mesh_nats_tls_trusted_certificate \$TEST_NGINX_PKI/ca.pem;"
--- config
    location = /events { event_mesh_publish default/default; }
    location = /status { event_mesh_status; }
--- log_level: debug
--- wait_connected: 1
--- more_headers
ce-specversion: 1.0
ce-id: tls-10
ce-source: urn:test:tls
ce-type: t
--- request
POST /events
--- error_code: 202
--- stored_on: token
--- stored_count: 1
--- error_log
SSL_do_handshake: 1
--- no_error_log eval
[qr/\[error\]/, qr/\Q$main::Token\E/, qr/T0ken/]



=== TEST 11: a wrong token over TLS: 503, and neither token in the log
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_TOKEN_PORT token=Wr0ng-T0ken-Value;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;
--- config
    location = /events { event_mesh_publish default/default; }
--- log_level: debug
--- more_headers
ce-specversion: 1.0
ce-id: tls-11
ce-source: urn:test:tls
ce-type: t
--- request
POST /events
--- error_code: 503
--- wait: 0.3
--- error_log eval
qr/\[error\] .*NATS server error: 'Authorization Violation' while logging in to NATS/
--- no_error_log eval
[qr/Wr0ng-T0ken/, qr/T0ken-0f-the-Mesh/]



=== TEST 12: a TLS file that cannot be read is refused with its directive
--- http_config
    event_mesh_nats tls://127.0.0.1:4222;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/nope.pem;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log eval
qr/cannot read ".*nope\.pem" in "event_mesh_nats_tls_trusted_certificate" directive/



=== TEST 13: a client certificate needs its key
--- http_config
    event_mesh_nats tls://127.0.0.1:4222;
    event_mesh_nats_tls_certificate $TEST_NGINX_PKI/client.pem;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log eval
qr/no "event_mesh_nats_tls_certificate_key" for "event_mesh_nats_tls_certificate" ".*client\.pem"/



=== TEST 14: a key that is not the certificate's is refused
--- http_config
    event_mesh_nats tls://127.0.0.1:4222;
    event_mesh_nats_tls_certificate $TEST_NGINX_PKI/client.pem;
    event_mesh_nats_tls_certificate_key $TEST_NGINX_PKI/server.key;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log eval
qr/cannot use "event_mesh_nats_tls_certificate" ".*client\.pem" with its key ".*server\.key"/



=== TEST 15: TLS settings without TLS are a mistake
--- http_config
    event_mesh_nats nats://127.0.0.1:4222;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log
"event_mesh_nats_tls_trusted_certificate" needs "event_mesh_nats_tls on"



=== TEST 16: a tls:// server with TLS turned off
--- http_config
    event_mesh_nats tls://127.0.0.1:4222;
    event_mesh_nats_tls off;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log
NATS server "tls://127.0.0.1:4222" asks for TLS, but "event_mesh_nats_tls" is off



=== TEST 17: an unknown protocol names the directive
--- http_config
    event_mesh_nats tls://127.0.0.1:4222;
    event_mesh_nats_tls_protocols TLSv1.3 SSLv9;
--- config
    location = /hello { return 200; }
--- must_die
--- error_log
invalid value in "event_mesh_nats_tls_protocols" directive



=== TEST 18: an empty TLS name is refused
--- http_config
    event_mesh_nats tls://127.0.0.1:4222;
    event_mesh_nats_tls_name "";
--- config
    location = /hello { return 200; }
--- must_die
--- error_log
empty name in "event_mesh_nats_tls_name" directive



=== TEST 19: auth_request turns a request away before it reaches NATS
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_TLS_PORT;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;
--- config
    location = /events {
        auth_request /auth;
        event_mesh_publish default/default;
    }
    location = /auth {
        internal;
        if ($http_authorization = "Bearer let-me-in") {
            return 204;
        }
        return 401;
    }
    location = /status { event_mesh_status; }
--- wait_connected: 1
--- more_headers
Authorization: Bearer guess
ce-specversion: 1.0
ce-id: auth-no
ce-source: urn:test:tls
ce-type: t
--- request
POST /events
--- error_code: 401
--- stored_on: tls
--- stored_count: 0
--- published: 0



=== TEST 20: auth_request lets the right credentials through
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_TLS_PORT;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;
--- config
    location = /events {
        auth_request /auth;
        event_mesh_publish default/default;
    }
    location = /auth {
        internal;
        if ($http_authorization = "Bearer let-me-in") {
            return 204;
        }
        return 401;
    }
    location = /status { event_mesh_status; }
--- wait_connected: 1
--- more_headers
Authorization: Bearer let-me-in
ce-specversion: 1.0
ce-id: auth-yes
ce-source: urn:test:tls
ce-type: tls.authorized
--- request
POST /events
--- error_code: 202
--- stored_on: tls
--- stored eval
[{ subject => 'em.default.default.tls.authorized', 'ce-id' => 'auth-yes' }]
--- published: 1



=== TEST 21: ssl_verify_client: without a client certificate nothing reaches NATS
--- http_config
    event_mesh_nats tls://127.0.0.1:$TEST_NGINX_TLS_PORT;
    event_mesh_nats_tls_trusted_certificate $TEST_NGINX_PKI/ca.pem;

    server {
        listen 127.0.0.1:$TEST_NGINX_HTTPS_PORT ssl;
        ssl_certificate        $TEST_NGINX_PKI/server.pem;
        ssl_certificate_key    $TEST_NGINX_PKI/server.key;
        ssl_client_certificate $TEST_NGINX_PKI/ca.pem;
        ssl_verify_client      on;

        location = /events { event_mesh_publish default/default; }
    }
--- config
    location = /status { event_mesh_status; }
--- wait_connected: 1
--- init
my $no = main::https_post(id => 'https-no-cert');
die "HTTPS without a client certificate: want 400, got $no\n"
    unless $no == 400;
my $yes = main::https_post(id => 'https-cert', cert => 1);
die "HTTPS with the client certificate: want 202, got $yes\n"
    unless $yes == 202;
--- request
GET /status
--- error_code: 200
--- response_body_like: "published":1,"acked":1,
--- stored_on: tls
--- stored eval
[{ subject => 'em.default.default.tls.https', 'ce-id' => 'https-cert' }]
