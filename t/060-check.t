# event-mesh-dispatcher --check on Trigger directories: what a good
# directory prints, the warnings that do not fail it, and each kind of
# error as "file:line: reason" with exit status 1.  --check never
# connects anywhere, so no server is started.

use strict;
use warnings;

use File::Path qw(make_path);
use File::Temp qw(tempdir);
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);

my $Bin = $ENV{EM_DISPATCHER} || 'build/event-mesh-dispatcher';
plan skip_all => "$Bin is not built (make dispatcher)" unless -x $Bin;

my $Dir = tempdir('em-check-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Runs the dispatcher; a run that does not end within 30 s is killed and
# reported as status -1, so a hang fails instead of hanging.
sub dispatcher {
    my (@args) = @_;
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
        if (time - $start > 30) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            $status = -1;
            last;
        }
        sleep 0.01;
    }

    return { status => $status, stdout => slurp($out),
             stderr => slurp($err) };
}

sub slurp {
    my $f = shift;
    open my $in, '<', $f or return '';
    local $/;
    my $s = <$in>;
    return defined $s ? $s : '';
}

sub spew {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

my $Cases = 0;

# A configuration directory: dispatcher.yaml (two brokers) and triggers/
# with the given files.  Returns (dispatcher.yaml, triggers dir).
sub setup {
    my (%files) = @_;
    my $d = "$Dir/case-" . ++$Cases;
    make_path("$d/triggers");
    spew("$d/dispatcher.yaml", <<'EOF');
triggers: triggers
brokers:
  - namespace: default
    name: default
  - namespace: shop
    name: orders
EOF
    spew("$d/triggers/$_", $files{$_}) for keys %files;
    return ("$d/dispatcher.yaml", "$d/triggers");
}

# A good v1 Trigger named $name with extra lines under spec.
sub v1 {
    my ($name, $extra) = @_;
    $extra //= '';
    return <<"EOF";
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: $name
spec:
  broker: default
  subscriber:
    uri: http://127.0.0.1:8090/
$extra
EOF
}

# --check of a broken directory: exit 1, exactly these problems (pairs of
# file name and regex for what follows "file:"), in order, and the count.
sub check_fails {
    my ($name, $files, @want) = @_;
    my ($conf, $tdir) = setup(%$files);
    my $r = dispatcher('--check', '-c', $conf);

    subtest "--check refuses: $name" => sub {
        is($r->{status}, 1, 'exit status 1');
        my @lines = grep { /^\Q$tdir\E[\/:]/ && !/: warning: / }
                    split /\n/, $r->{stderr};
        my $n = @want / 2;
        is(scalar @lines, $n, "$n problem(s) listed") or diag $r->{stderr};
        for my $i (0 .. $n - 1) {
            my ($file, $re) = @want[2 * $i, 2 * $i + 1];
            my $prefix = $file eq '' ? "$tdir: " : "$tdir/$file:";
            like($lines[$i] // '', qr/^\Q$prefix\E$re/, "problem " . ($i + 1));
        }
        like($r->{stderr}, qr/error: \Q$tdir\E: $n problems? found/, 'count');
        unlike($r->{stdout}, qr/trigger.* OK/, 'no trigger claimed OK');
    };
}


# --- the sample configuration ----------------------------------------------

{
    my $r = dispatcher('--check', '-c', 'conf/dispatcher.yaml');
    is($r->{status}, 0, 'the sample configuration and conf/triggers are valid')
        or diag $r->{stderr};
    like($r->{stdout}, qr{^conf/triggers: 1 trigger OK$}m,
         'one trigger in conf/triggers');
    like($r->{stdout},
         qr{^conf/triggers/user-created\.yaml:\d+: default/user-created -> http://127\.0\.0\.1:8090/$}m,
         'the seed\'s example Trigger, with its subscriber');
    unlike($r->{stderr}, qr/warning|error/, 'no warnings');
}


# --- a good directory -------------------------------------------------------

{
    my ($conf, $tdir) = setup(
        'a.yaml' => <<'EOF',
# Kyma's form
apiVersion: eventing.knative.dev/v1alpha1
kind: Trigger
metadata:
  name: kyma
spec:
  filter:
    attributes:
      type: user.created
      eventtypeversion: v1
      source: mock
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: test-function
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: orders.audit
  namespace: shop
  annotations:
    eventmesh.io/max-in-flight: "8"
spec:
  broker: orders
  filter:
    attributes: {type: order.created}
  subscriber:
    ref: {kind: Service, name: audit}
    uri: /orders
  delivery:
    retry: 3
    backoffPolicy: exponential
    backoffDelay: PT0.2S
    timeout: PT30S
    deadLetterSink:
      uri: http://127.0.0.1:8091/dead
    format: json
EOF
        'b.yml' => v1('plain'),
        'README.md' => "not read\n",
        '.b.yaml.swp' => "not read either: [\n",
    );

    my $r = dispatcher('--check', '-c', $conf);
    is($r->{status}, 0, 'a good directory: exit 0') or diag $r->{stderr};
    like($r->{stdout}, qr{^\Q$tdir\E: 3 triggers OK$}m, 'three triggers');
    like($r->{stdout},
         qr{^\Q$tdir\E/a\.yaml:2: default/kyma -> http://test-function\.default\.svc\.cluster\.local/$}m,
         'v1alpha1: broker defaulted, ref through the template');
    like($r->{stdout},
         qr{^\Q$tdir\E/a\.yaml:18: shop/orders\.audit -> http://audit\.shop\.svc\.cluster\.local/orders$}m,
         'v1, second document: ref plus relative uri');
    like($r->{stdout},
         qr{^\Q$tdir\E/b\.yml:1: default/plain -> http://127\.0\.0\.1:8090/$}m,
         '.yml files are read');
    is($r->{stderr}, '', 'nothing on stderr');
}


# --- warnings do not fail the check ---------------------------------------

{
    my ($conf, $tdir) = setup(
        'w.yaml' => <<'EOF',
apiVersion: eventing.knative.dev/v1alpha1
kind: Trigger
metadata:
  name: old
spec:
  broker: nosuch
  filter:
    sourceAndType:
      type: user.created
      source: mock
  subscriber:
    uri: http://127.0.0.1:8090/
  delivery:
    retry: 2
    backoffDelay: PT1S
EOF
    );

    my $r = dispatcher('--check', '-c', $conf);
    is($r->{status}, 0, 'warnings only: exit 0') or diag $r->{stderr};
    like($r->{stderr},
         qr{^\Q$tdir\E/w\.yaml:1: warning: Trigger default/old: broker default/nosuch is not in \Q$conf\E, so the Trigger receives nothing \(BrokerNotFound\)$}m,
         'a broker missing from dispatcher.yaml: BrokerNotFound warning');
    like($r->{stderr},
         qr{^\Q$tdir\E/w\.yaml:8: warning: spec\.filter\.sourceAndType is deprecated: write spec\.filter\.attributes with type and source$}m,
         'sourceAndType: deprecated');
    like($r->{stderr},
         qr{^\Q$tdir\E/w\.yaml:15: warning: spec\.delivery\.backoffDelay without backoffPolicy: retries follow each other without waiting}m,
         'a backoffDelay that has no effect');
    like($r->{stdout}, qr{default/old -> http://127\.0\.0\.1:8090/ \(BrokerNotFound\)$}m,
         'the trigger is listed as BrokerNotFound');
}

{
    my ($conf, $tdir) = setup();
    my $r = dispatcher('--check', '-c', $conf);
    is($r->{status}, 0, 'an empty triggers directory: exit 0');
    like($r->{stdout}, qr{^\Q$tdir\E: 0 triggers OK$}m, '0 triggers');
    like($r->{stderr}, qr{warn: \Q$tdir\E holds no Trigger files},
         'and a warning that nothing will be delivered');
}


# --- each kind of error -----------------------------------------------------

check_fails('apiVersion',
    { 't.yaml' => v1('t') =~ s{/v1$}{/v1beta1}mr },
    't.yaml', qr/1: apiVersion: "eventing\.knative\.dev\/v1beta1" is not supported \(use eventing\.knative\.dev\/v1, or eventing\.knative\.dev\/v1alpha1 for Kyma's form\)$/);

check_fails('kind',
    { 't.yaml' => v1('t') =~ s/^kind: Trigger$/kind: Broker/mr },
    't.yaml', qr/2: kind: "Broker": only Trigger objects belong in the triggers directory/);

check_fails('name',
    { 't.yaml' => v1('My_Trigger') },
    't.yaml', qr/4: metadata\.name: "My_Trigger" is not a valid name: must consist of lower-case letters, digits, '-' and '\.'$/);

check_fails('no name',
    { 't.yaml' => v1('t') =~ s/^  name: t$/  namespace: default/mr },
    't.yaml', qr/3: metadata\.name: missing/);

check_fails('unknown spec key',
    { 't.yaml' => v1('t', "  subscribers: {}\n") },
    't.yaml', qr/9: unknown key 'subscribers' in spec \(expected broker, filter, subscriber, delivery, brokerRef or filters\)$/);

check_fails('v1 without broker',
    { 't.yaml' => v1('t') =~ s/^  broker: default\n//mr },
    't.yaml', qr/5: spec\.broker: missing/);

check_fails('brokerRef to another namespace',
    { 't.yaml' => v1('t') =~ s/^  broker: default$/  brokerRef: {kind: Broker, name: orders, namespace: shop}/mr },
    't.yaml', qr/6: spec\.brokerRef\.namespace: a broker in another namespace \(shop\) is not supported/);

check_fails('attribute name',
    { 't.yaml' => v1('t', "  filter:\n    attributes:\n      eventType: x\n") },
    't.yaml', qr/11: spec\.filter\.attributes: 'eventType' is not a valid attribute name/);

check_fails('filters: two dialects, an empty all, an empty value',
    { 't.yaml' => v1('t', "  filters:\n"
                          . "    - exact: {type: a}\n"
                          . "      prefix: {type: b}\n"
                          . "    - all: []\n"
                          . "    - suffix: {source: \"\"}\n") },
    't.yaml', qr/11: spec\.filters\[0\]: more than one dialect \(exact and prefix\): a filter holds exactly one; combine several with all$/,
    't.yaml', qr/12: spec\.filters\[1\]\.all: empty: give at least one filter \(Knative would pass every event\)$/,
    't.yaml', qr/13: spec\.filters\[2\]\.suffix\.source: empty value: Knative would skip this suffix and pass every event$/);

check_fails('filters: a CESQL parse error',
    { 't.yaml' => v1('t', "  filters:\n"
                          . "    - cesql: \"source = 'shop' AND type LIKE\"\n") },
    't.yaml', qr/10: spec\.filters\[0\]\.cesql: "source = 'shop' AND type LIKE" is not valid CESQL: unexpected end of expression at column 30 \(the pattern of LIKE at column 26 must be a string literal\)$/);

{
    my ($conf, $tdir) = setup('f.yaml' => v1('f',
        "  filter:\n    attributes: {type: a}\n"
        . "  filters:\n"
        . "    - any:\n"
        . "        - exact: {type: order.created}\n"
        . "        - prefix: {type: 'user.'}\n"
        . "    - not: {suffix: {source: /test}}\n"
        . "    - cesql: \"subject LIKE 'a%'\"\n"));
    my $r = dispatcher('--check', '-c', $conf);
    is($r->{status}, 0, 'filters: a good dialect filter passes --check')
        or diag $r->{stderr};
    like($r->{stdout}, qr{^\Q$tdir\E: 1 trigger OK$}m, 'one trigger');
    like($r->{stderr},
         qr{^\Q$tdir\E/f\.yaml:9: warning: spec\.filter is ignored: spec\.filters is given and replaces it}m,
         'filter beside filters: a warning at spec.filter');
}

check_fails('relative subscriber',
    { 't.yaml' => v1('t') =~ s{http://127\.0\.0\.1:8090/}{/in}r },
    't.yaml', qr/8: spec\.subscriber\.uri: "\/in" is not an absolute URL/);

check_fails('subscriber scheme',
    { 't.yaml' => v1('t') =~ s{http://}{ftp://}r },
    't.yaml', qr/8: spec\.subscriber\.uri: "ftp:\/\/127\.0\.0\.1:8090\/" must be an http:\/\/ or https:\/\/ URL$/);

check_fails('ref without name',
    { 't.yaml' => v1('t') =~ s{    uri: .*}{    ref: {kind: Service}}r },
    't.yaml', qr/8: spec\.subscriber\.ref\.name: missing/);

check_fails('retry out of range',
    { 't.yaml' => v1('t', "  delivery:\n    retry: 1000\n") },
    't.yaml', qr/10: spec\.delivery\.retry: "1000" is out of range \(0 to 100\)$/);

check_fails('backoffPolicy',
    { 't.yaml' => v1('t', "  delivery:\n    backoffPolicy: fibonacci\n") },
    't.yaml', qr/10: spec\.delivery\.backoffPolicy: "fibonacci" is not linear or exponential$/);

check_fails('a Go duration',
    { 't.yaml' => v1('t', "  delivery:\n    timeout: 30s\n") },
    't.yaml', qr/10: spec\.delivery\.timeout: "30s" is not an ISO 8601 duration: Trigger files use Knative's form, write PT30S$/);

check_fails('months',
    { 't.yaml' => v1('t', "  delivery:\n    backoffDelay: P1M\n") },
    't.yaml', qr/10: spec\.delivery\.backoffDelay: "P1M" uses years or months, which have no fixed length/);

check_fails('format',
    { 't.yaml' => v1('t', "  delivery:\n    format: structured\n") },
    't.yaml', qr/10: spec\.delivery\.format: "structured" is not json \(structured mode\) or binary$/);

check_fails('dead-letter sink',
    { 't.yaml' => v1('t', "  delivery:\n    deadLetterSink:\n      uri: dead\n") },
    't.yaml', qr/11: spec\.delivery\.deadLetterSink\.uri: "dead" is not an absolute URL/);

check_fails('in-flight annotation',
    { 't.yaml' => v1('t') =~ s/^  name: t$/  name: t\n  annotations: {eventmesh.io\/max-in-flight: "0"}/mr },
    't.yaml', qr/5: metadata\.annotations\.eventmesh\.io\/max-in-flight: "0" is not a whole number from 1 to 10000/);

check_fails('YAML syntax',
    { 't.yaml' => "apiVersion: eventing.knative.dev/v1\nkind: [Trigger\n" },
    't.yaml', qr/3: YAML syntax error/);

check_fails('every problem of every file, in file and line order',
    { 'a.yaml' => v1('a', "  delivery:\n    retry: x\n    format: xml\n"),
      'b.yaml' => v1('b') . "---\n" . v1('b2', "  bogus: 1\n") },
    'a.yaml', qr/10: spec\.delivery\.retry: "x" is not a whole number/,
    'a.yaml', qr/11: spec\.delivery\.format: "xml"/,
    'b.yaml', qr/19: unknown key 'bogus' in spec/);

check_fails('duplicate across files',
    { 'a.yaml' => v1('same'), 'b.yaml' => "---\n" . v1('same') },
    'b.yaml', qr/2: Trigger default\/same is defined twice: first at .*\/a\.yaml:1$/);

# hostile files: refused in bounded time and memory, named with the reason
{
    # "billion laughs": nine levels of aliases that would expand to 10^9
    my $bomb = "a: &a [\"lol\"]\n";
    for my $i (1 .. 9) {
        my ($p, $n) = (chr(96 + $i), chr(97 + $i));
        $bomb .= "$n: &$n [" . join(',', ("*$p") x 10) . "]\n";
    }
    my $t = time;
    check_fails('a YAML alias bomb', { 'bomb.yaml' => $bomb },
        'bomb.yaml', qr/2: YAML aliases \(\*'?a'?\) are not supported/);
    ok(time - $t < 10, sprintf 'the alias bomb is refused in %.1f s',
       time - $t);

    # a Trigger file over the 1 MiB limit, a long comment making it so
    check_fails('a file over 1 MiB',
        { 'big.yaml' => v1('big') . ('# ' . ('x' x 98) . "\n") x 11000 },
        'big.yaml', qr/ file is larger than 1048576 bytes$/);

    # 5 000 documents in one file (just under the limit), each a good
    # Trigger: all read
    my ($conf) = setup('many.yaml' => join("---\n", map { v1("t$_") }
                                                   1 .. 5000));
    $t = time;
    my $r = dispatcher('--check', '-c', $conf);
    is($r->{status}, 0, '5 000 Triggers in one file: valid')
        or diag substr($r->{stderr}, 0, 2000);
    like($r->{stdout}, qr/: 5000 triggers OK$/m, 'all 5 000 counted');
    ok(time - $t < 20, sprintf '... checked in %.1f s', time - $t);
}

{
    # a missing directory
    my ($conf, $tdir) = setup();
    rmdir $tdir or die "rmdir $tdir: $!";
    my $r = dispatcher('--check', '-c', $conf);
    is($r->{status}, 1, 'a missing triggers directory: exit 1');
    like($r->{stderr},
         qr{^\Q$tdir\E: cannot read the triggers directory: No such file or directory}m,
         'named, with the reason');
}

{
    # a broken dispatcher.yaml stops before the triggers
    my ($conf, $tdir) = setup('t.yaml' => "kind: [\n");
    spew($conf, "brokers: nope\n");
    my $r = dispatcher('--check', '-c', $conf);
    is($r->{status}, 1, 'a broken dispatcher.yaml: exit 1');
    unlike($r->{stderr}, qr/\Q$tdir\E/, 'the triggers are not read');
}

done_testing();
