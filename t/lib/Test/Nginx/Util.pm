package Test::Nginx::Util;

# The server side of the project's stand-in for openresty's Test::Nginx:
# settings from the environment, the nginx.conf template, the server root,
# starting, reloading and stopping nginx, and the per-block driver.  The
# client side (requests and checks) lives in Test::Nginx::Socket.
#
# It is only put on @INC when the real Test::Nginx is not installed, so it
# follows the real one's observable behaviour (section names, environment
# variables, how many tests a block emits) and nothing more; sections it
# does not implement stop the run (see @Unsupported).
#
# Environment: TEST_NGINX_BINARY (default: nginx in PATH), TEST_NGINX_PORT
# or TEST_NGINX_SERVER_PORT (default 1984, or a free port when 1984 is taken
# by something else), TEST_NGINX_CLIENT_PORT, TEST_NGINX_RANDOMIZE (free port
# and t/servroot_<port>, for prove -jN), TEST_NGINX_SERVROOT (t/servroot),
# TEST_NGINX_LOAD_MODULES, TEST_NGINX_MASTER_PROCESS, TEST_NGINX_USE_HUP,
# TEST_NGINX_USE_VALGRIND (1 = memcheck with t/valgrind.suppress and our
# valgrind.suppress; any report fails the block), TEST_NGINX_LOG_LEVEL,
# TEST_NGINX_TIMEOUT, TEST_NGINX_NO_CLEAN, TEST_NGINX_SLEEP,
# TEST_NGINX_VERBOSE, TEST_NGINX_NO_SHUFFLE, TEST_NGINX_LD_PRELOAD,
# TEST_NGINX_EVENT_TYPE, TEST_NGINX_WORKER_USER,
# TEST_NGINX_CHECK_ACCUM_ERR_LOG.

use strict;
use warnings;

use base 'Exporter';

use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(WNOHANG SIGQUIT SIGKILL SIGHUP SIGUSR1);
use Test::More ();
use Time::HiRes qw(sleep time);

our $VERSION = '0.01';

our @EXPORT = qw(
    $ServerAddr $ServerName $ServerPort $ServerPortForClient
    $ServRoot $ConfFile $PidFile $ErrLogFile $AccLogFile $HtmlDir
    $NoLongString $RepeatEach $NginxVersion
    $RunTestHelper $CheckErrorLog
    add_block_preprocessor add_cleanup_handler add_test_cleanup_handler
    bail_out check_accum_error_log config_preamble env_to_nginx
    error_log_data access_log_data expand_env_in_text html_dir is_running
    is_str log_level master_off master_on master_process_enabled
    no_long_string no_root_location no_shuffle parse_headers parse_time
    repeat_each run_tests run_test server_addr server_name server_port
    server_port_for_client server_root sleep_time timeout trim use_hup
    verbose worker_connections workers
);

sub bail_out (@);
sub expand_env_in_text ($$$);
sub leftover_nginx_running ();

our $Verbose      = $ENV{TEST_NGINX_VERBOSE};
our $UseHup       = $ENV{TEST_NGINX_USE_HUP};
our $UseValgrind  = $ENV{TEST_NGINX_USE_VALGRIND};
our $Randomize    = $ENV{TEST_NGINX_RANDOMIZE};
our $NoShuffle    = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $LoadModules  = $ENV{TEST_NGINX_LOAD_MODULES};
our $EventType    = $ENV{TEST_NGINX_EVENT_TYPE};
our $WorkerUser   = $ENV{TEST_NGINX_WORKER_USER};
our $NginxBinary  = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $Timeout      = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $LogLevel     = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $DaemonEnabled = $UseValgrind ? 'off' : 'on';

our $ServerAddr   = '127.0.0.1';
our $ServerName   = 'localhost';
our $Workers      = 1;
our $WorkerConnections = 64;
our $RepeatEach   = 1;
our $NoRootLocation = 0;
our $NoLongString;
our $ConfigPreamble = '';
our $NginxVersion;
our $NginxRawVersion;

our @EnvToNginx;
our @BlockPreprocessors;
our @CleanupHandlers;
our @TestCleanupHandlers;

# Hooks filled in by Test::Nginx::Socket.
our $RunTestHelper;
our $CheckErrorLog;

# Where the current block's error log checks start reading.
our $ErrLogFilePos = 0;

# Set while a must_die block runs: nginx's stderr, read when the error log
# itself stayed empty (nginx could not even open it).
our $StartupStderrFile;

# The nginx we run in the foreground (valgrind mode) is our child; a
# daemonized one is found through its pid file.
our $ChildPid;

our $RandPorts = {};

# nginx's own known valgrind reports, kept next to this file.
our $OwnSuppressions = File::Spec->catfile(
    (File::Spec->splitpath(File::Spec->rel2abs(__FILE__)))[0, 1],
    'valgrind.suppress');

if (defined $WorkerUser && $WorkerUser !~ /^\w[-\w]*(?:\s+\w[-\w]*)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

# Below the usual ephemeral range (32768+), so that a port we picked is not
# handed to some outgoing connection before nginx binds it.
sub port_is_free ($) {
    my $port = shift;
    my $sock = IO::Socket::INET->new(
        LocalAddr => $ServerAddr,
        LocalPort => $port,
        Proto     => 'tcp',
        Listen    => 1,
        ReuseAddr => 1,
    );
    return 0 unless $sock;
    close $sock;
    return 1;
}

sub pick_free_port (;$) {
    my $used = shift || {};
    for (1 .. 1000) {
        my $port = 10000 + int rand 22000;
        next if $used->{$port};
        return $port if port_is_free($port);
    }
    return undef;
}

srand($$ ^ int(time * 1000));

our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT};
our $ServerPortForClient;
our $ServRoot;

if ($Randomize) {
    $ServerPort = pick_free_port()
        or die "Cannot find a free loopback port after 1000 attempts\n";
    $ServRoot = File::Spec->rel2abs("t/servroot_$ServerPort");

} else {
    $ServRoot = $ENV{TEST_NGINX_SERVROOT}
                ? File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT})
                : File::Spec->rel2abs('t/servroot');
}

our $LogDir     = File::Spec->catfile($ServRoot, 'logs');
our $ErrLogFile = File::Spec->catfile($LogDir, 'error.log');
our $AccLogFile = File::Spec->catfile($LogDir, 'access.log');
our $PidFile    = File::Spec->catfile($LogDir, 'nginx.pid');
our $StderrFile = File::Spec->catfile($LogDir, 'nginx.stderr');
our $ValgrindLog = File::Spec->catfile($LogDir, 'valgrind.log');
our $HtmlDir    = File::Spec->catfile($ServRoot, 'html');
our $ConfDir    = File::Spec->catfile($ServRoot, 'conf');
our $ConfFile   = File::Spec->catfile($ConfDir, 'nginx.conf');

if (!defined $ServerPort) {
    # The real harness always uses 1984.  We do too, unless something that
    # is not our own leftover nginx holds it: then any free port beats a
    # run that fails on "address already in use".
    $ServerPort = 1984;
    if (!port_is_free(1984) && !leftover_nginx_running()) {
        $ServerPort = pick_free_port()
            or die "Port 1984 is busy and no free port was found\n";
    }
}

$ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $ConfigVersion = '';
our $PrevConfig;
my $FirstBlock = 1;
my $Owner = $$;

# nginx runs as a daemon in its own session: an interrupted or killed
# test run would leave it behind unless the END block below gets to run.
# Forked helpers (mock servers) keep the default behaviour.
for my $sig (qw(INT TERM)) {
    next if defined $SIG{$sig} && $SIG{$sig} ne '' && $SIG{$sig} ne 'DEFAULT';
    $SIG{$sig} = sub {
        if ($$ != $Owner) {
            $SIG{$sig} = 'DEFAULT';
            kill $sig, $$;
            return;
        }
        warn "caught SIG$sig, cleaning up\n";
        exit 1;
    };
}

# ---- settings a .t file may change -----------------------------------------

sub repeat_each (@) {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub workers (@) {
    $Workers = shift if @_;
    return $Workers;
}

sub worker_connections (@) {
    $WorkerConnections = shift if @_;
    return $WorkerConnections;
}

sub log_level (@) {
    $LogLevel = shift if @_;
    return $LogLevel;
}

sub master_on ()  { $MasterProcessEnabled = 'on'; }
sub master_off () { $MasterProcessEnabled = 'off'; }

sub master_process_enabled (@) {
    $MasterProcessEnabled = shift() ? 'on' : 'off' if @_;
    return $MasterProcessEnabled;
}

sub no_shuffle ()          { $NoShuffle = 1; }
sub no_root_location ()    { $NoRootLocation = 1; }
sub no_long_string ()      { $NoLongString = 1; }
sub use_hup ()             { $UseHup = 1; }
sub check_accum_error_log () { $CheckAccumErrLog = 1; }
sub config_preamble ($)    { $ConfigPreamble = shift; }
sub verbose ()             { return $Verbose; }
sub sleep_time ()          { return $TestNginxSleep; }
sub html_dir ()            { return $HtmlDir; }
sub server_root ()         { return $ServRoot; }

sub timeout (@) {
    $Timeout = shift if @_;
    return $Timeout;
}

sub server_name (@) {
    $ServerName = shift if @_;
    return $ServerName;
}

sub server_addr (@) {
    $ServerAddr = shift if @_;
    return $ServerAddr;
}

sub server_port (@) {
    $ServerPort = shift if @_;
    return $ServerPort;
}

sub server_port_for_client (@) {
    $ServerPortForClient = shift if @_;
    return $ServerPortForClient;
}

sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift; }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift; }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift; }

sub env_to_nginx (@) {
    die "env_to_nginx: no arguments specified\n" unless @_;
    for my $v (@_) {
        if ($v !~ /^[A-Za-z_]/ || $v =~ /\n/) {
            die "env_to_nginx: bad argument value: $v\n";
        }
        push @EnvToNginx, $v;
    }
}

# ---- small helpers ----------------------------------------------------------

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    if ($NoLongString || !eval { require Test::LongString; 1 }) {
        return Test::More::is($got, $expected, $desc);
    }
    return Test::LongString::is_string($got, $expected, $desc);
}

sub parse_time ($) {
    my $tm = shift;
    return undef unless defined $tm;
    $tm =~ s/^\s+|\s+$//g;
    if ($tm =~ s/(?<=[0-9.])ms$//) {
        return $tm / 1000;
    }
    $tm =~ s/(?<=[0-9.])s$//;
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\s+/ /g;
    return $s;
}

# "Name: value" per line; "!Name" means the header must be absent.  Keeps
# the written order, and like the real harness a repeated name counts once.
sub parse_headers ($) {
    my $text = shift;
    my (@order, %val);
    for my $line (split /\n/, $text // '') {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        my ($key, $v);
        if ($line =~ s/^!\s*//) {
            $key = $line;
        } else {
            ($key, $v) = split /\s*:\s*/, $line, 2;
            $v = '' unless defined $v;
        }
        push @order, $key unless exists $val{$key};
        $val{$key} = $v;
    }
    return [map { [$_, $val{$_}] } @order];
}

sub is_running ($) {
    my $pid = shift;
    return 0 unless $pid;
    if (defined $ChildPid && $pid == $ChildPid) {
        # our own child: reap it, or kill 0 keeps succeeding on the zombie
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid || $r == -1) {
            undef $ChildPid;
            return 0;
        }
    }
    return 0 unless kill 0, $pid;
    # A daemon's zombie lingers until init reaps it, which some inits do
    # only every second or so; it holds no socket and counts as gone.
    if (open my $st, '<', "/proc/$pid/stat") {
        my $line = <$st> // '';
        close $st;
        return 0 if $line =~ /\)\s+Z\s/;
    }
    return 1;
}

sub read_pid_file () {
    open my $in, '<', $PidFile or return undef;
    my $pid = <$in>;
    close $in;
    return undef unless defined $pid && $pid =~ /^\s*(\d+)\s*$/;
    return $1;
}

sub leftover_nginx_running () {
    my $pid = read_pid_file();
    return $pid && is_running($pid);
}

sub slurp ($) {
    my $file = shift;
    open my $in, '<', $file or return undef;
    local $/;
    my $data = <$in>;
    close $in;
    return $data;
}

sub tail_of ($$) {
    my ($file, $n) = @_;
    my $data = slurp($file);
    return '' unless defined $data && $data ne '';
    my @lines = split /\n/, $data;
    splice @lines, 0, @lines - $n if @lines > $n;
    return join("\n", @lines) . "\n";
}

sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;

    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $v;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $rand_ports ||= $RandPorts;
            if (!defined $rand_ports->{$var}) {
                my %used = ($ServerPort => 1,
                            map { $_ => 1 } values %$rand_ports);
                my $p = pick_free_port(\%used);
                bail_out("$name - Cannot find a free port for \$$var")
                    unless defined $p;
                $rand_ports->{$var} = $p;
            }
            $v = $rand_ports->{$var};
        } else {
            if (!defined $ENV{$var}) {
                bail_out("$name - No environment $var defined.");
            }
            $v = $ENV{$var};
        }
        $v;
    }ge;

    return $text;
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# Log lines since the last read of this block (all of them with
# check_accum_error_log), after a short pause for log-phase writes that
# happen once the client connection is closed.
sub error_log_data () {
    sleep $TestNginxSleep * 3;

    my @lines;
    if (open my $in, '<', $ErrLogFile) {
        if (!$CheckAccumErrLog && $ErrLogFilePos > 0) {
            seek $in, $ErrLogFilePos, 0;
        }
        @lines = <$in>;
        $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
        close $in;
    }

    if (!@lines && defined $StartupStderrFile
        && open my $err, '<', $StartupStderrFile)
    {
        @lines = <$err>;
        close $err;
    }

    return \@lines;
}

sub access_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or return [];
    my @lines = <$in>;
    close $in;
    return \@lines;
}

# ---- nginx -----------------------------------------------------------------

sub find_binary ($) {
    my $cmd = shift;
    if ($cmd =~ m{/}) {
        return -f $cmd && -x _ ? $cmd : undef;
    }
    for my $dir (split /:/, $ENV{PATH} // '') {
        next if $dir eq '';
        my $abs = File::Spec->catfile($dir, $cmd);
        return $abs if -f $abs && -x _;
    }
    return undef;
}

sub get_nginx_version () {
    my $bin = find_binary($NginxBinary)
        or bail_out("Cannot find the nginx executable \"$NginxBinary\" "
                    . "(set TEST_NGINX_BINARY or PATH)");
    my $out = `'$bin' -V 2>&1`;
    if ($? != 0 || $out !~ m{nginx/(\d+)\.(\d+)\.(\d+)}) {
        bail_out("Failed to get the version of $bin: $out");
    }
    $NginxRawVersion = "$1.$2.$3";
    return sprintf("%d.%03d%03d", $1, $2, $3);
}

sub setup_server_root ($) {
    my $keep_pid = shift;

    if (-d $ServRoot) {
        # Remove only what we create, so that a TEST_NGINX_SERVROOT
        # pointing at real data fails loudly instead of erasing it.
        remove_tree($ConfDir, $HtmlDir, glob("$ServRoot/*_temp"),
                    glob("$ServRoot/*_cache"));
        if ($keep_pid) {
            for my $f (glob("$LogDir/*")) {
                next if $f eq $PidFile;
                unlink $f;
            }
        } else {
            remove_tree($LogDir);
            rmdir $ServRoot
                or bail_out("Can't remove $ServRoot (not empty?): $!");
        }
    }

    for my $dir ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $dir;
        mkdir $dir or bail_out("Failed to mkdir $dir: $!");
    }

    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index or bail_out("Can't write $index: $!");
    print $out '<html><head><title>It works!</title></head>'
              . '<body>It works!</body></html>';
    close $out;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my (@list, $cur);
        for my $line (split /^/, $files) {
            if ($line =~ /^>>> (\S+)(?:\s+(.+))?/) {
                $cur = [$1, '', $2];
                push @list, $cur;
            } elsif ($cur) {
                $cur->[1] .= $line;
            }
        }
        $files = \@list;

    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - --- user_files must be a string or an array");
    }

    for my $f (@$files) {
        my ($fname, $body, $date) = @$f;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{^(.*)/}) {
            make_path($1) unless -d $1;
        }
        $body = expand_env_in_text($body // '', $name, $rand_ports);
        open my $out, '>', $path or bail_out("$name - Cannot write $path: $!");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            # accepts touch -t's [[CC]YY]MMDDhhmm[.ss]
            system('touch', '-t', $date, $path) == 0
                or bail_out("$name - touch -t '$date' $path failed");
        }
    }
}

sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config // '', $name,
                                         $rand_ports);
    my $main_config = expand_env_in_text($block->main_config // '', $name,
                                         $rand_ports);
    my $post_main = expand_env_in_text($block->post_main_config // '', $name,
                                       $rand_ports);
    my $server_name = $block->server_name // $ServerName;
    $server_name =~ s/^\s+|\s+$//g;
    $server_name =~ s/(['\\])/\\$1/g;

    my $level = $block->log_level // $LogLevel;
    $level =~ s/^\s+|\s+$//g;

    my $load = '';
    if ($LoadModules) {
        $load = join '', map { "load_module $_;\n" } grep { $_ ne '' }
                         split /\s+/, $LoadModules;
    }

    my $env = '';
    for my $v (qw(ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS LD_PRELOAD
                  LD_LIBRARY_PATH), @EnvToNginx)
    {
        my $q = $v =~ /\s/ ? "'$v'" : $v;
        $env .= "env $q;\n";
    }

    my $temp = '';
    for my $kind (qw(client_body proxy fastcgi uwsgi scgi)) {
        next if $http_config =~ /\b${kind}_temp_path\b/;
        $temp .= "    ${kind}_temp_path $ServRoot/${kind}_temp;\n";
    }

    my $master = $MasterProcessEnabled;
    $master = 'on' if $UseHup;

    my $root_location = $NoRootLocation ? '' : <<_EOC_;
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $ver_server = !$UseHup ? '' : <<_EOC_;
    server {
        listen          $ServerAddr:$ServerPort;
        server_name     'Test-Nginx';

        location = /ver {
            return 200 '$ConfigVersion';
        }
    }
_EOC_

    my $user = '';
    if (defined $WorkerUser) {
        $user = "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $user = "user root;\n";
    }

    my $use = $EventType ? "    use $EventType;\n" : '';

    open my $out, '>', $ConfFile or bail_out("Can't write $ConfFile: $!");
    print $out <<_EOC_;
# $name
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $master;
error_log $ErrLogFile $level;
pid       $PidFile;
$env
$load$main_config

http {
    access_log $AccLogFile;
$temp
    default_type text/plain;
    keepalive_timeout  68;

$http_config

    server {
        listen          $ServerAddr:$ServerPort;
        server_name     '$server_name';

        client_max_body_size 30M;

$ConfigPreamble
        # Begin test case config...
$config
        # End test case config.

$root_location    }

$ver_server}

$post_main

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
$use}

$user
_EOC_
    close $out;
}

sub nginx_command () {
    my @cmd = (find_binary($NginxBinary) // $NginxBinary,
               '-p', "$ServRoot/", '-c', $ConfFile, '-e', $ErrLogFile);

    return @cmd unless $UseValgrind;

    my @vg = ('valgrind', '-q', "--log-file=$ValgrindLog");
    if ($UseValgrind =~ /^\d+$/) {
        push @vg, qw(--tool=memcheck --leak-check=full --show-possibly-lost=no
                     --num-callers=50 --gen-suppressions=all);
        for my $s ($OwnSuppressions, 't/valgrind.suppress',
                   'valgrind.suppress')
        {
            push @vg, '--suppressions=' . File::Spec->rel2abs($s) if -f $s;
        }
    } else {
        push @vg, split ' ', $UseValgrind;
    }
    return (@vg, @cmd);
}

# Runs the nginx command line.  In daemon mode it returns nginx's exit
# status once the daemon has detached; in valgrind (foreground) mode it
# leaves the child running and returns 0.
sub spawn_nginx () {
    my @cmd = nginx_command();
    warn "command: @cmd\n" if $Verbose;

    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;

    if ($pid == 0) {
        # Own process group, so a hung nginx and its workers can be
        # killed as one group by this pid, and a Ctrl-C of prove does not
        # reach a daemon that the END block will stop anyway.
        setpgrp(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $StderrFile or POSIX::_exit(127);
        if (defined $ENV{TEST_NGINX_LD_PRELOAD}) {
            $ENV{LD_PRELOAD} = join ' ', grep { defined && $_ ne '' }
                               $ENV{TEST_NGINX_LD_PRELOAD}, $ENV{LD_PRELOAD};
        }
        { exec { $cmd[0] } @cmd; }
        print STDERR "exec $cmd[0] failed: $!\n";
        POSIX::_exit(127);
    }

    if ($DaemonEnabled eq 'off') {
        $ChildPid = $pid;
        return 0;
    }

    # nginx detaches right after opening its sockets; a start that takes
    # longer than this is hung, not slow.
    my $deadline = time + 30;
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        return $? if $r == $pid;
        return -1 if $r == -1;
        if (time > $deadline) {
            kill SIGKILL, -$pid;
            waitpid($pid, 0);
            return -1;
        }
        sleep 0.01;
    }
}

sub wait_for_port ($) {
    my $limit = shift;
    my $deadline = time + $limit;
    while (time < $deadline) {
        my $sock = IO::Socket::INET->new(
            PeerAddr => $ServerAddr,
            PeerPort => $ServerPortForClient,
            Proto    => 'tcp',
            Timeout  => 1,
        );
        if ($sock) {
            close $sock;
            return 1;
        }
        return 0 if defined $ChildPid && !is_running($ChildPid);
        sleep 0.02;
    }
    return 0;
}

sub nginx_pid () {
    return $ChildPid if defined $ChildPid;
    return read_pid_file();
}

sub stop_nginx ($) {
    my $name = shift;
    my $pid = nginx_pid();

    if ($pid && is_running($pid)) {
        warn "sending QUIT to $pid\n" if $Verbose;
        kill SIGQUIT, $pid;

        my $deadline = time + $Timeout + ($UseValgrind ? 10 : 0);
        while (time < $deadline && is_running($pid)) {
            sleep 0.02;
        }

        if (is_running($pid)) {
            warn "$name - nginx $pid did not quit in time; killing it\n";
            # a master started by us leads its own process group
            if (getpgrp($pid) == $pid) {
                kill SIGKILL, -$pid;
            } else {
                kill SIGKILL, $pid;
            }
            my $until = time + 5;
            while (time < $until && is_running($pid)) {
                sleep 0.02;
            }
        }
    }

    undef $ChildPid;
    unlink $PidFile if -f $PidFile && !leftover_nginx_running();
}

sub start_nginx ($$) {
    my ($name, $block) = @_;

    my $tries = 0;
    while (1) {
        unlink $StderrFile;
        my $status = spawn_nginx();

        if ($status == 0) {
            my $limit = $UseValgrind ? 60 : 10;
            return if wait_for_port($limit);
            my $why = "nginx did not accept connections on "
                      . "$ServerAddr:$ServerPortForClient within ${limit}s";
            stop_nginx($name);
            Test::More::diag(tail_of($ErrLogFile, 20)
                             . tail_of($StderrFile, 20));
            bail_out("$name - $why");
        }

        my $err = (slurp($StderrFile) // '') . (slurp($ErrLogFile) // '');

        # The previous nginx's listening socket can linger for a moment.
        if ($err =~ /Address already in use/ && ++$tries < 20) {
            sleep 0.25;
            next;
        }

        my $out = tail_of($StderrFile, 20);
        Test::More::diag($out) if $out ne '';
        my ($why) = reverse grep { /\S/ } split /\n/, $out;
        bail_out("$name - Cannot start nginx using \""
                 . join(' ', nginx_command()) . "\" (status $status)"
                 . (defined $why ? ": $why" : ''));
    }
}

# TEST_NGINX_USE_HUP: reload the running master instead of restarting.
# Returns true when the new configuration is in force.
sub reload_nginx ($$$$) {
    my ($name, $block, $config, $rand_ports) = @_;
    my $pid = read_pid_file();
    return 0 unless $pid && is_running($pid);

    $ConfigVersion = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 10;
    setup_server_root(1);
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports);

    # USR1 first so that nginx reopens the error log we just removed
    kill SIGUSR1, $pid or return 0;
    sleep $TestNginxSleep;
    kill SIGHUP, $pid or return 0;

    # A version check that passes several times in a row means that the
    # old workers are gone and no request can still land on them.
    my ($ok, $deadline) = (0, time + 10);
    while (time < $deadline) {
        my $ver = http_get_version();
        if (defined $ver && $ver eq $ConfigVersion) {
            return 1 if ++$ok >= 10;
        } else {
            $ok = 0;
        }
        sleep 0.02;
    }

    Test::More::fail("$name - nginx did not reload the configuration:\n"
                     . tail_of($ErrLogFile, 10));
    return 1;
}

sub http_get_version () {
    my $sock = IO::Socket::INET->new(
        PeerAddr => $ServerAddr,
        PeerPort => $ServerPortForClient,
        Proto    => 'tcp',
        Timeout  => 2,
    ) or return undef;
    print $sock "GET /ver HTTP/1.0\r\nHost: Test-Nginx\r\n\r\n";
    my $sel = IO::Select->new($sock);
    my $resp = '';
    while ($sel->can_read(2)) {
        my $n = sysread $sock, my $buf, 4096;
        last unless $n;
        $resp .= $buf;
    }
    close $sock;
    return $resp =~ /\r\n\r\n(.*)\z/s ? $1 : undef;
}

sub check_valgrind_log ($) {
    my $name = shift;
    my $log = slurp($ValgrindLog);
    return unless defined $log && $log =~ /\S/;
    Test::More::fail("$name - valgrind reported errors:\n$log");
}

# ---- the per-block driver ----------------------------------------------------

sub run_tests () {
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value('name', "$0 " . $block->name);
        run_test($block);
        $_->($block) for @TestCleanupHandlers;
    }

    cleanup();
}

sub skip_spec ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $spec = $block->skip_eval)) {
        $spec =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out("$name - Invalid --- skip_eval spec: $spec");
        my ($n, $code) = ($1, $2);
        my $skip = eval $code;
        bail_out("$name - skip_eval: failed to eval \"$code\": $@") if $@;
        return ($n, 'skip_eval') if $skip;
    }

    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                  (?:\s*:\s*(.*?))?\s*$/x
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($n, $op) = ($1, $2);
        my $ver = sprintf("%d.%03d%03d", $3, $4, $5);
        my $reason = $6 || "nginx version $op $3.$4.$5";
        return ($n, $reason) if eval "$NginxVersion $op $ver";
    }

    return ();
}

# Sections of the real harness this one does not implement: a block using
# them stops the run instead of passing without its checks.
my @Unsupported = qw(
    tcp_listen tcp_reply tcp_query tcp_query_len udp_listen udp_reply
    udp_query http2 http3 stap stap_out stap_out_like stap_out_unlike
    shutdown_error_log no_shutdown_error_log response_body_json_sort charset
    server_addr_for_client error_log_file post_setup_server_root
    reload_fails todo todo_nginx skip_nginx2 skip_openssl skip_slave curl_error
);

sub run_test ($) {
    my $block = shift;
    return if defined $block->SKIP;

    my $name = $block->name;

    for my $section (@Unsupported) {
        next unless defined $block->$section;
        bail_out("$name - \"--- $section\" is not supported by the "
                 . "project's Test::Nginx stand-in (t/lib); install the real "
                 . "Test::Nginx or extend t/lib");
    }
    my $rand_ports = {};
    $RandPorts = $rand_ports;

    my $config = expand_env_in_text($block->config, $name, $rand_ports);
    my ($skip_n, $skip_reason) = skip_spec($block);

    if (defined $block->must_die) {
        run_must_die($block, $config // '', $rand_ports);
        undef $PrevConfig;
        return;
    }

    # As in the real harness, a block without --- config talks to the
    # nginx of the block before it.
    my $keep = 0;
    if (!defined $config) {
        bail_out("$name - No '--- config' section specified and could not "
                 . "get previous one.") unless defined $PrevConfig;
        $config = $PrevConfig;
        $keep = !$UseValgrind;
    }
    $PrevConfig = $config;

    if (!defined $skip_n && !$keep) {
        my $reloaded = 0;

        if ($UseHup && !$FirstBlock && !$UseValgrind) {
            $reloaded = reload_nginx($name, $block, $config, $rand_ports);
        }

        if (!$reloaded) {
            stop_nginx($name);
            $ConfigVersion = join '', map { ('a' .. 'z')[rand 26] } 1 .. 10;
            setup_server_root(0);
            write_user_files($block, $rand_ports);
            write_config_file($block, $config, $rand_ports);
            start_nginx($name, $block);
        }

        $FirstBlock = 0;
        sleep $TestNginxSleep;
    }

    if (defined(my $init = $block->init)) {
        eval $init;
        bail_out("$name - init failed: $@") if $@;
    }

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        if (defined $skip_n) {
            SKIP: {
                Test::More::skip("$name - $skip_reason", $skip_n);
            }
            next;
        }

        write_user_files($block, $rand_ports) if $i > 0;
        $RunTestHelper->($block, 0, $i);
    }

    if ($UseValgrind && !defined $skip_n) {
        # valgrind reports leaks only when nginx exits
        stop_nginx($name);
        check_valgrind_log($name);
    }
}

# The block's nginx must fail to start: one test on the exit status, then
# the log checks against what nginx wrote while dying.
sub run_must_die ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;
    my $must_die = $block->must_die;
    $must_die =~ s/^\s+|\s+$//g;

    local $UseValgrind;
    local $DaemonEnabled = 'on';
    local $StartupStderrFile = $StderrFile;

    stop_nginx($name);
    setup_server_root(0);
    write_user_files($block, $rand_ports);
    write_config_file($block, $config, $rand_ports);
    $FirstBlock = 1;

    for my $i (0 .. $RepeatEach - 1) {
        $ErrLogFilePos = 0;
        unlink $ErrLogFile;
        unlink $StderrFile;

        my $status = spawn_nginx();
        my $code = $status == -1 ? undef : $status >> 8;

        if ($status == -1) {
            Test::More::fail("$name - failed to execute the nginx command line");
        } elsif ($status & 127) {
            Test::More::fail("$name - nginx died of signal " . ($status & 127));
        } elsif ($must_die =~ /^\d+$/) {
            Test::More::is($code, $must_die,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        $CheckErrorLog->($block, undef, 0, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; "
                 . "killing it\n";
            my $until = time + 2;
            sleep 0.02 while !-f $PidFile && time < $until;
            stop_nginx($name);
        }
    }
}

sub cleanup () {
    return unless $$ == $Owner;
    $_->() for @CleanupHandlers;
    @CleanupHandlers = ();
}

END {
    if ($$ == $Owner) {
        local $?;
        cleanup();

        if ($UseValgrind || !$ENV{TEST_NGINX_NO_CLEAN}) {
            stop_nginx('END');
        }

        if ($Randomize && !$ENV{TEST_NGINX_NO_CLEAN}
            && defined $ServRoot && $ServRoot =~ m{/t/servroot_\d+$})
        {
            remove_tree($ServRoot);
        }
    }
}

1;
