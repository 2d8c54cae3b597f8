# event-mesh-dispatcher: the command line, --check on good and broken
# configuration files, and provision against a real nats-server -js (the
# streams are read back through the JetStream API).

use strict;
use warnings;

use lib 't/inc';

use File::Temp qw(tempdir);
use IO::Socket::INET ();
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);

use EmTest::Mute;
use EmTest::NATS;

my $Bin = $ENV{EM_DISPATCHER} || 'build/event-mesh-dispatcher';
plan skip_all => "$Bin is not built (make dispatcher)" unless -x $Bin;

my $Dir = tempdir('em-provision-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Runs the dispatcher; a run that does not end within $limit seconds is
# killed and reported as status -1, so a hang fails instead of hanging.
sub dispatcher {
    my (@args) = @_;
    my $limit = 30;
    my ($out, $err) = ("$Dir/stdout", "$Dir/stderr");
    my $start = time;

    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or POSIX::_exit(126);
        open STDERR, '>', $err or POSIX::_exit(126);
        { exec { $Bin } $Bin, @args; }
        POSIX::_exit(127);
    }

    my $status;
    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $status = $? & 127 ? 128 + ($? & 127) : $? >> 8;
            last;
        }
        if (time - $start > $limit) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            $status = -1;
            last;
        }
        sleep 0.01;
    }

    return {
        status  => $status,
        stdout  => slurp($out),
        stderr  => slurp($err),
        seconds => time - $start,
    };
}

sub slurp {
    my $f = shift;
    open my $in, '<', $f or return '';
    local $/;
    my $s = <$in>;
    return defined $s ? $s : '';
}

my $Files = 0;

# Writes a configuration file and returns its path.
sub conf {
    my ($text, $name) = @_;
    my $path = "$Dir/" . ($name // 'dispatcher-' . ++$Files . '.yaml');
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
    return $path;
}

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# --check of a broken file: fails with exactly these "file:line: reason"
# lines (regexes, in order) on stderr and nothing on stdout.
sub check_fails {
    my ($name, $text, @want) = @_;
    my $path = conf($text);
    my $r = dispatcher('--check', '-c', $path);

    subtest "--check refuses: $name" => sub {
        is($r->{status}, 1, 'exit status 1');
        is($r->{stdout}, '', 'nothing on stdout');
        my @lines = grep { /^\Q$path\E:/ } split /\n/, $r->{stderr};
        is(scalar @lines, scalar @want, scalar(@want) . ' problem(s) listed')
            or diag $r->{stderr};
        for my $i (0 .. $#want) {
            like($lines[$i] // '', qr/^\Q$path\E:$want[$i]/,
                 "problem " . ($i + 1));
        }
        my $n = @want;
        like($r->{stderr},
             qr/error: \Q$path\E: $n problems? found/, 'count');
    };
}


# --- command line ----------------------------------------------------------

{
    my $r = dispatcher('--version');
    is($r->{status}, 0, '--version exits 0');
    like($r->{stdout}, qr/^event-mesh-dispatcher \d+\.\d+\.\d+ \(cnats /,
         '--version names the version and cnats');

    $r = dispatcher('--help');
    is($r->{status}, 0, '--help exits 0');
    like($r->{stdout}, qr/provision.*--check/s, '--help shows the commands');

    $r = dispatcher('provision');
    is($r->{status}, 64, 'no -c: usage error 64');
    like($r->{stderr}, qr/missing -c FILE/, 'no -c: says what is missing');

    $r = dispatcher('--frobnicate', '-c', 'conf/dispatcher.yaml');
    is($r->{status}, 64, 'unknown option: usage error');
    like($r->{stderr}, qr/unknown argument "--frobnicate"/,
         'unknown option named');

    $r = dispatcher('provision', '--check', '-c', 'conf/dispatcher.yaml');
    is($r->{status}, 64, 'provision and --check together: usage error');
}


# --- --check ---------------------------------------------------------------

{
    my $r = dispatcher('--check', '-c', 'conf/dispatcher.yaml');
    is($r->{status}, 0, 'the sample conf/dispatcher.yaml is valid');
    like($r->{stdout},
         qr{^conf/dispatcher\.yaml: configuration OK \(1 broker: default/default\)$}m,
         '--check names the brokers');
    like($r->{stdout}, qr{^conf/triggers: 1 trigger OK$}m,
         '--check checks the Trigger files too');

    # a minimal file: every default applies, and --check never connects
    mkdir "$Dir/triggers";
    my $port = free_port();
    my $path = conf(<<"EOF");
nats:
  servers: nats://127.0.0.1:$port
brokers:
  - namespace: default
    name: default
EOF
    $r = dispatcher('--check', '-c', $path);
    is($r->{status}, 0, 'minimal file with an unreachable server is valid')
        or diag $r->{stderr};
}

check_fails('unknown key', <<'EOF',
brokers:
  - namespace: default
    name: default
    channel:
      storage: file
      foo: 1
EOF
    qr/6: unknown key 'foo' in brokers\[0\]\.channel \(expected storage, maxAge, size, maxInactivity, replicas or duplicateWindow\)$/);

check_fails('unknown top-level key', <<'EOF',
brokers:
  - namespace: default
    name: default
broker: x
EOF
    qr/4: unknown key 'broker' at the top level /);

check_fails('bad duration', <<'EOF',
brokers:
  - namespace: default
    name: default
    channel:
      maxAge: 1d
EOF
    qr/5: brokers\[0\]\.channel\.maxAge: "1d" is not a duration \(use 24h, 90m, 2m30s or 500ms\)$/);

check_fails('bad size', <<'EOF',
brokers:
  - namespace: default
    name: default
    channel:
      size: 1Xi
EOF
    qr/5: brokers\[0\]\.channel\.size: "1Xi" is not a size \(use 1Gi, 512Mi, 100M or bytes\)$/);

check_fails('bad namespace', <<'EOF',
brokers:
  - namespace: Team_A
    name: orders
EOF
    qr/2: brokers\[0\]\.namespace: "Team_A" is not a valid name: names may only use lowercase letters, digits and '-'$/);

check_fails('duplicate broker', <<'EOF',
brokers:
  - namespace: default
    name: default
  - namespace: team-a
    name: default
  - name: default
    namespace: default
EOF
    qr/6: brokers\[2\]: duplicate broker default\/default \(first at line 2\)$/);

check_fails('tab in the indentation', <<"EOF",
brokers:
\t- namespace: default
EOF
    qr/2: YAML syntax error: .*this line holds a tab: YAML indentation must use spaces$/);

check_fails('YAML syntax error', <<'EOF',
brokers:
  - namespace: default
   name: default
EOF
    qr/3: YAML syntax error: /);

check_fails('duplicateWindow longer than maxAge', <<'EOF',
brokers:
  - namespace: default
    name: default
    channel:
      maxAge: 1m
      duplicateWindow: 90s
EOF
    qr/6: brokers\[0\]\.channel\.duplicateWindow: 1m30s is longer than maxAge 1m \(JetStream requires duplicateWindow <= maxAge\)$/);

check_fails('every problem of a file, not only the first', <<'EOF',
nats:
  servers: [nats://127.0.0.1:4222, "http://example.com"]
admin:
  listen: "9090"
subscriberTemplate: "http://{name}.{ns}"
brokers:
  - namespace: default
    name: default-
    channel:
      storage: disk
      replicas: 7
      maxInactivity: 0
  - {}
EOF
    qr/2: nats\.servers\[1\]: "http:\/\/example\.com" is not a NATS URL \(use nats:\/\/host:port or tls:\/\/host:port\)$/,
    qr/4: admin\.listen: "9090" is not host:port /,
    qr/5: subscriberTemplate: unknown placeholder "\{ns\}" \(use \{name\} and \{namespace\}\)$/,
    qr/8: brokers\[0\]\.name: "default-" is not a valid name: a name must start and end with a letter or digit$/,
    qr/10: brokers\[0\]\.channel\.storage: "disk" is not a storage type \(use file or memory\)$/,
    qr/11: brokers\[0\]\.channel\.replicas: "7" is not a number of replicas from 1 to 5$/,
    qr/12: brokers\[0\]\.channel\.maxInactivity: must be longer than 0$/,
    qr/13: brokers\[1\]: namespace is missing$/,
    qr/13: brokers\[1\]: name is missing$/);

check_fails('no brokers', <<'EOF',
nats:
  servers: [nats://127.0.0.1:4222]
brokers: []
EOF
    qr/3: brokers: expected a list of brokers, found an empty list$/);

check_fails('duplicate key', <<'EOF',
brokers:
  - namespace: default
    name: default
    namespace: other
EOF
    qr/4: duplicate key 'namespace' \(first at line 2\)$/);

{
    # a password in a URL must not be repeated back
    my $path = conf(<<'EOF');
nats:
  servers: [nats://bob:hunter2@127.0.0.1:4222]
brokers:
  - namespace: default
    name: default
EOF
    my $r = dispatcher('--check', '-c', $path);
    is($r->{status}, 1, 'credentials in a server URL are refused');
    like($r->{stderr},
         qr/:2: nats\.servers\[0\]: do not put credentials in the URL: use nats\.user and nats\.password, or nats\.token$/m,
         'and the user is told where they go');
    unlike($r->{stderr} . $r->{stdout}, qr/hunter2/, 'the password is not echoed');

    $r = dispatcher('--check', '-c', "$Dir/no-such-file.yaml");
    is($r->{status}, 1, 'a missing file fails');
    like($r->{stderr}, qr/^\Q$Dir\E\/no-such-file\.yaml: cannot open: No such file or directory$/m,
         'and names the file and reason');
}


# --- provision against a real nats-server ----------------------------------

my $nats = EmTest::NATS->start(env => undef);
my $url = $nats->url;

my $two_brokers = sub {
    my (%o) = @_;
    my $storage = $o{storage} // 'memory';
    my $age = $o{maxAge} // '1h';
    my $size = $o{size} // '1Gi';
    return conf(<<"EOF", 'provision.yaml');
# streams for the provision test
nats:
  servers: [$url]
brokers:
  - namespace: default
    name: default
    channel:
      size: $size
  - namespace: team-a
    name: orders
    channel:
      storage: $storage
      maxAge: $age
      size: 64Mi
      replicas: 1
      duplicateWindow: 30s
EOF
};

{
    my $path = $two_brokers->();
    my $r = dispatcher('provision', '-c', $path);
    is($r->{status}, 0, 'provision: exit 0') or diag $r->{stderr};
    like($r->{stdout},
         qr{^default/default: created stream EM_default_default \(file storage, maxAge 24h, size 1Gi, replicas 1, duplicateWindow 2m, subjects em\.default\.default\.>\)$}m,
         'provision: default/default created, with its settings');
    like($r->{stdout},
         qr{^team-a/orders: created stream EM_team-a_orders \(memory storage, maxAge 1h, size 64Mi, replicas 1, duplicateWindow 30s, subjects em\.team-a\.orders\.>\)$}m,
         'provision: team-a/orders created');

    my $c = $nats->stream_info('EM_default_default')->{config};
    is_deeply($c->{subjects}, ['em.default.default.>'], 'default: subjects');
    is($c->{storage}, 'file', 'default: file storage');
    is($c->{retention}, 'limits', 'default: limits retention');
    is($c->{discard}, 'new', 'default: discard new');
    is($c->{max_age}, 24 * 3600 * 1e9, 'default: max_age 24h');
    is($c->{max_bytes}, 1024**3, 'default: max_bytes 1Gi');
    is($c->{num_replicas}, 1, 'default: one replica');
    is($c->{duplicate_window}, 120 * 1e9, 'default: duplicate window 2m');

    $c = $nats->stream_info('EM_team-a_orders')->{config};
    is_deeply($c->{subjects}, ['em.team-a.orders.>'], 'team-a: subjects');
    is($c->{storage}, 'memory', 'team-a: memory storage');
    is($c->{max_age}, 3600 * 1e9, 'team-a: max_age 1h');
    is($c->{max_bytes}, 64 * 1024**2, 'team-a: max_bytes 64Mi');
    is($c->{duplicate_window}, 30 * 1e9, 'team-a: duplicate window 30s');

    $r = dispatcher('provision', '-c', $path);
    is($r->{status}, 0, 'second provision: exit 0');
    is($r->{stdout},
       "default/default: stream EM_default_default unchanged\n"
       . "team-a/orders: stream EM_team-a_orders unchanged\n",
       'second provision: both unchanged');

    $path = $two_brokers->(maxAge => '2h');
    $r = dispatcher('provision', '-c', $path);
    is($r->{status}, 0, 'changed maxAge: exit 0') or diag $r->{stderr};
    is($r->{stdout},
       "default/default: stream EM_default_default unchanged\n"
       . "team-a/orders: updated stream EM_team-a_orders: maxAge 1h -> 2h\n",
       'changed maxAge: updated, saying what changed');
    is($nats->stream_info('EM_team-a_orders')->{config}{max_age},
       7200 * 1e9, 'changed maxAge: stored');

    # an operator's own setting survives; drifted ones are put back
    $nats->stream_update('EM_default_default',
                         subjects => ['em.default.default.>'],
                         max_age => '24h', max_bytes => '1Gi',
                         duplicate_window => '2m', discard => 'old',
                         max_msg_size => 4096);
    $path = $two_brokers->(maxAge => '2h', size => '2Gi');
    $r = dispatcher('provision', '-c', $path);
    is($r->{status}, 0, 'drift: exit 0') or diag $r->{stderr};
    like($r->{stdout},
         qr{^default/default: updated stream EM_default_default: size 1Gi -> 2Gi, discard old -> new$}m,
         'drift: size and discard policy brought back in line');
    $c = $nats->stream_info('EM_default_default')->{config};
    is($c->{max_bytes}, 2 * 1024**3, 'drift: new size stored');
    is($c->{discard}, 'new', 'drift: discard new again');
    is($c->{max_msg_size}, 4096, "drift: the operator's max_msg_size kept");

    # storage cannot change in place: refused, nothing touched
    $path = $two_brokers->(maxAge => '2h', size => '2Gi', storage => 'file');
    $r = dispatcher('provision', '-c', $path);
    is($r->{status}, 1, 'storage change: exit 1');
    like($r->{stderr},
         qr{error: team-a/orders: stream EM_team-a_orders has memory storage and JetStream cannot change the storage type in place; to switch to file, delete the stream \(nats stream rm EM_team-a_orders; its stored events are lost\) and run provision again, or set channel\.storage back to memory$}m,
         'storage change: says why and what to do');
    like($r->{stderr}, qr/1 of 2 brokers could not be provisioned/,
         'storage change: counted');
    like($r->{stdout}, qr{^default/default: stream EM_default_default unchanged$}m,
         'storage change: the other broker is still handled');
    is($nats->stream_info('EM_team-a_orders')->{config}{storage}, 'memory',
       'storage change: the stream was left alone');

    # a stream of ours deleted behind our back is created again
    ok($nats->stream_delete('EM_team-a_orders'), 'stream deleted by hand');
    $r = dispatcher('provision', '-c', $path);
    is($r->{status}, 0, 'recreate: exit 0') or diag $r->{stderr};
    like($r->{stdout}, qr{^team-a/orders: created stream EM_team-a_orders \(file storage}m,
         'recreate: created with the configured storage');
}

{
    # JetStream's own limits come back as the server's reason
    my $path = conf(<<"EOF");
nats:
  servers: [$url]
brokers:
  - namespace: big
    name: broker
    channel:
      storage: memory
      size: 8000Pi
EOF
    my $r = dispatcher('provision', '-c', $path);
    is($r->{status}, 1, 'a stream larger than JetStream allows: exit 1');
    like($r->{stderr},
         qr{error: big/broker: cannot create stream EM_big_broker: .+ \(lower channel\.size, or give JetStream more room}m,
         "JetStream's refusal is passed on with advice")
        or diag $r->{stderr};
}


# --- provision failures that must end in bounded time ------------------------

{
    my $port = free_port();
    my $path = conf(<<"EOF");
nats:
  servers: [nats://127.0.0.1:$port]
brokers:
  - namespace: default
    name: default
EOF
    my $r = dispatcher('provision', '-c', $path);
    is($r->{status}, 1, 'closed port: exit 1');
    like($r->{stderr},
         qr{error: cannot connect to NATS at nats://127\.0\.0\.1:$port: no server answered},
         'closed port: clear message');
    cmp_ok($r->{seconds}, '<', 5, 'closed port: fails fast');

    my $mute = EmTest::Mute->start(mode => 'mute');
    my $mport = $mute->port;
    $path = conf(<<"EOF");
nats:
  servers: [nats://127.0.0.1:$mport]
brokers:
  - namespace: default
    name: default
EOF
    $r = dispatcher('provision', '-c', $path);
    is($r->{status}, 1, 'silent server: exit 1');
    like($r->{stderr},
         qr{error: cannot connect to NATS at nats://127\.0\.0\.1:$mport: no NATS answer within 2000 ms},
         'silent server: clear message');
    cmp_ok($r->{seconds}, '<', 10, 'silent server: bounded by the connect timeout');
    $mute->stop;
}

{
    # credentials are used, and never shown
    my $auth = EmTest::NATS->start(env => undef, user => 'dispatcher',
                                   pass => 'pa55-w0rd');
    my $aurl = $auth->url;
    my $conf = sub {
        my $pass = shift;
        return conf(<<"EOF");
nats:
  servers: [$aurl]
  user: dispatcher
  password: $pass
brokers:
  - namespace: default
    name: default
EOF
    };

    my $r = dispatcher('provision', '-c', $conf->('wrong-pa55'));
    is($r->{status}, 1, 'wrong password: exit 1');
    like($r->{stderr}, qr/refused the credentials .*check nats\.user and nats\.password/,
         'wrong password: clear message');
    unlike($r->{stderr} . $r->{stdout}, qr/wrong-pa55/, 'wrong password: not shown');

    $r = dispatcher('provision', '-c', $conf->('pa55-w0rd'));
    is($r->{status}, 0, 'right password: exit 0') or diag $r->{stderr};
    ok($auth->stream_info('EM_default_default'), 'right password: stream created');
    unlike($r->{stderr} . $r->{stdout}, qr/pa55-w0rd/, 'right password: not shown');
    $auth->stop;
}

$nats->stop;

done_testing();
