package Test::Nginx::Socket;

# The client side of the project's stand-in for openresty's Test::Nginx:
# builds the requests of a block, sends them over a plain TCP socket,
# parses the answers and runs the checks, emitting as many tests per block
# as the real Test::Nginx::Socket does, so that `plan tests => ...` lines
# written for the real one hold here too.
#
# Sections: config, http_config, main_config, post_main_config,
# server_name, init, user_files, log_level, request (string, eval'd list of
# requests or of packets), more_headers, raw_request,
# raw_request_middle_delay, pipelined_requests, shutdown, timeout, abort,
# wait, ignore_response, error_code, error_code_like,
# raw_response_headers_like/_unlike, response_headers (!Name = absent),
# response_headers_like, response_body (+ response_body_eval),
# response_body_like/_unlike, response_body_filters, error_log,
# no_error_log, grep_error_log + grep_error_log_out, access_log,
# no_access_log, must_die, skip_eval, skip_nginx, ONLY, SKIP, LAST
# (no_check_leak is accepted and ignored).
#
# Spiffy (under Test::Base -Base) adds "my $self = shift;" to every
# prototype-less named sub of this file, hence the prototypes below.

use v5.10.1;
use Test::Base -Base;

our $VERSION = '0.01';

use Digest::MD5 ();
use Digest::SHA ();
use HTTP::Response ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX qw(EAGAIN EINTR);
use Time::HiRes ();

use Test::Nginx::Util;

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location use_hup
    server_name server_addr server_root html_dir server_port
    server_port_for_client timeout check_accum_error_log
    add_block_preprocessor bail_out add_test_cleanup_handler
    add_cleanup_handler add_response_body_check
);

our @ResponseBodyChecks;

sub mentions ($$);

sub add_response_body_check ($) {
    push @ResponseBodyChecks, shift;
}

$Test::Nginx::Util::RunTestHelper = \&run_test_helper;
$Test::Nginx::Util::CheckErrorLog = \&check_error_log;

# ---- building requests -------------------------------------------------------

# A failure outside the block's counted checks (the real harness has the
# same ones).  Unlike the real one we leave Test::Builder's ending checks
# on, so that the exit status says the file failed even without a plan.
sub tb_fail ($) {
    Test::More::fail(shift);
}

# --- more_headers: one "Name: value" a line, "#" lines ignored.
sub parse_more_headers ($) {
    my $text = shift;
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $text // '') {
        next if $line =~ /^\s*(?:#|$)/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $chunked);
}

# "METHOD [URI [VERSION]]\nbody" -> a full HTTP request, split back into
# the block's packets.  As in the real harness, a body whose length is not
# given gets its surrounding whitespace trimmed and a Content-Length.
sub build_request ($$$$$) {
    my ($name, $packets, $more, $chunked, $conn) = @_;

    my $raw = join '', map { $_->{value} // '' } @$packets;
    my $nl = index $raw, "\n";
    my ($line, $rest) = $nl < 0 ? ($raw, '')
                                : (substr($raw, 0, $nl), substr($raw, $nl + 1));
    $nl = length $raw if $nl < 0;

    if ($line !~ /^(\s*)(\S+)(?:[ \t]+(\S+))?(?:[ \t]+(\S+))?\s*$/) {
        bail_out("$name - Request line is not valid. Should be "
                 . "'meth [url [version]]' but got \"$line\".");
    }
    my ($lead, $meth, $url, $ver) = (length $1, $2, $3 // '/',
                                     $4 // 'HTTP/1.1');

    my ($body, $body_skip, $len_header) = ($rest, 0, '');
    if (!$chunked && $body ne '' && $more !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^(\s*)//;
        $body_skip = length $1;
        $body =~ s/\s+\z//;
        $len_header = 'Content-Length: ' . length($body) . "\r\n";
    }

    my $reqline = "$meth $url $ver";
    my $head = "$reqline\r\n";
    $head .= "Host: $ServerName\r\n" if $more !~ /(?:^|\n)Host:/i;
    $head .= "Connection: $conn\r\n" if $more !~ /(?:^|\n)Connection/i;
    $head .= "$more$len_header\r\n";
    my $req = $head . $body;

    return [{ %{ $packets->[0] }, value => $req }] if @$packets == 1;

    # Map each packet boundary of the block onto the rebuilt request: in
    # the request line by offset, in the body by body offset.
    my (@cuts, $orig);
    for my $p (@$packets[0 .. $#$packets - 1]) {
        $orig += length($p->{value} // '');
        my $cut;
        if ($orig <= $nl) {
            $cut = $orig - $lead;
            $cut = 0 if $cut < 0;
            $cut = length $reqline if $cut > length $reqline;
        } else {
            my $off = $orig - ($nl + 1) - $body_skip;
            $off = 0 if $off < 0;
            $off = length $body if $off > length $body;
            $cut = length($head) + $off;
        }
        $cut = $cuts[-1] if @cuts && $cut < $cuts[-1];
        push @cuts, $cut;
    }

    my ($from, @out) = (0);
    for my $i (0 .. $#$packets) {
        my $to = $i < @cuts ? $cuts[$i] : length $req;
        push @out, { %{ $packets->[$i] },
                     value => substr($req, $from, $to - $from) };
        $from = $to;
    }
    return \@out;
}

sub as_packets ($) {
    my $r = shift;
    return [map { ref $_ eq 'HASH' ? { %$_ } : { value => $_ } } @$r]
        if ref $r eq 'ARRAY';
    return [{ value => $r }];
}

sub headers_for ($$$) {
    my ($name, $more, $i) = @_;
    if (ref $more eq 'ARRAY') {
        my $h = $more->[$i];
        bail_out("$name - --- more_headers lacks data for request $i")
            unless defined $h;
        return parse_more_headers($h);
    }
    return parse_more_headers($more);
}

sub warn_unexpanded ($$) {
    my ($name, $text) = @_;
    return unless defined $text && !ref $text && $text =~ /\$TEST_NGINX_\w+/;
    Test::More::diag("$name - \$TEST_NGINX_* in --- request is not expanded "
                     . "(nor by the real Test::Nginx); use --- request eval "
                     . "with \$ENV{...}");
}

# A list of requests, each a list of packets ({value, delay_before}).
sub get_requests ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        return [as_packets($raw)];
    }

    my $more = $block->more_headers // '';

    if (my $reqs = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $reqs eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$reqs) {
            my $text = expand_env_in_text($reqs->[$i], $name,
                                          $Test::Nginx::Util::RandPorts);
            my ($hdr, $chunked) = headers_for($name, $more, $i);
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            my $built = build_request($name, [{ value => $text }], $hdr,
                                      $chunked, $conn);
            $all .= $built->[0]{value};
        }
        return [[{ value => $all }]];
    }

    my $request = $block->request;
    return [] unless defined $request;

    if (!ref $request) {
        warn_unexpanded($name, $request);
        1 while $request =~ s/^\s*#[^\n]*\n|^\s+//;
        my ($hdr, $chunked) = headers_for($name, $more, 0);
        return [build_request($name, [{ value => $request }], $hdr, $chunked,
                              'close')];
    }

    bail_out("$name - --- request must be a string or an array of requests")
        unless ref $request eq 'ARRAY';

    my @list;
    for my $i (0 .. $#$request) {
        my $one = $request->[$i];
        bail_out("$name - request $i must be a string or an array of packets")
            if ref $one && ref $one ne 'ARRAY';
        my ($hdr, $chunked) = headers_for($name, $more, $i);
        push @list, build_request($name, as_packets($one), $hdr, $chunked,
                                  'close');
    }
    return \@list;
}

# ---- talking to nginx ------------------------------------------------------------

sub connect_nginx ($$) {
    my ($name, $timeout) = @_;
    my $addr = $ServerAddr;
    my $port = $ServerPortForClient;

    my $deadline = Time::HiRes::time() + ($timeout > 3 ? $timeout : 3);
    my $err;
    while (1) {
        my $sock = IO::Socket::INET->new(
            PeerAddr => $addr,
            PeerPort => $port,
            Proto    => 'tcp',
            Timeout  => $timeout,
        );
        return $sock if $sock;
        $err = "$!";
        last if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
    tb_fail("$name - Can't connect to $addr:$port: $err");
    return undef;
}

# Sends the packets (sleeping delay_before, or raw_request_middle_delay,
# between them) while reading the answer until nginx closes or nothing
# moves for $timeout seconds.
sub send_request ($$$$) {
    my ($packets, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;

    my $sock = connect_nginx($name, $timeout) or return (undef, 0);
    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my @queue = @$packets;
    my $head_req = (join '', map { $_->{value} } @queue) =~ /^\s*HEAD\s/;
    my $cur = shift @queue;
    my ($off, $resp, $writing) = (0, '', 1);

    while (1) {
        my $rsel = IO::Select->new($sock);
        my $wsel = $writing ? IO::Select->new($sock) : undef;
        my ($r, $w) = IO::Select->select($rsel, $wsel, undef, $timeout);

        if (!$r && !$w) {
            next if $! == EINTR;
            if (!defined $block->abort) {
                tb_fail("ERROR: client socket timed out - $name");
            }
            last;
        }

        if ($w && @$w) {
            my $buf = $cur->{value} // '';
            if ($off < length $buf) {
                my $n = syswrite $sock, $buf, length($buf) - $off, $off;
                if (defined $n) {
                    $off += $n;
                } elsif ($! != EAGAIN) {
                    # nginx may answer (413, 400) and close before it has
                    # read everything: keep reading its answer
                    warn "$name - write failed: $!\n" if verbose();
                    $writing = 0;
                }
            }
            if ($writing && $off >= length $buf) {
                if (@queue) {
                    $cur = shift @queue;
                    $off = 0;
                    my $delay = $cur->{delay_before} // $middle_delay;
                    Time::HiRes::sleep($delay) if $delay;
                } else {
                    $writing = 0;
                    if (defined(my $how = $block->shutdown)) {
                        $how = 1 if $how !~ /\d/;
                        shutdown $sock, $how;
                    }
                }
            }
        }

        if ($r && @$r) {
            my $n = sysread $sock, my $buf, 65536;
            if (defined $n) {
                last if $n == 0;
                $resp .= $buf;
            } elsif ($! != EAGAIN) {
                warn "WARNING: $name - HTTP response read failure: $!\n";
                last;
            }
        }
    }

    close $sock;
    return ($resp, $head_req);
}

# ---- parsing answers ---------------------------------------------------------

sub decode_chunked ($$$) {
    my ($name, $data, $trailers) = @_;
    my ($out, $pos) = ('', 0);

    while (1) {
        pos($data) = $pos;
        if ($data !~ /\G[ \t]*([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?\r\n/gc) {
            my $what = substr($data, $pos) eq '' ? 'no last chunk found'
                     : 'invalid chunk size line';
            tb_fail("$name - invalid chunked body received: $what");
            return;
        }
        my $size = hex $1;
        $pos = pos $data;

        if ($size == 0) {
            # trailer fields, then the empty line
            while ($data =~ /\G([^\r\n]+)\r\n/gc) { }
            if ($data !~ /\G\r\n/gc) {
                tb_fail("$name - invalid chunked body received (expected "
                        . "CRLF after the last chunk)");
                return;
            }
            return ($out, substr($data, pos $data));
        }

        if (length($data) - $pos < $size + 2) {
            tb_fail("$name - invalid chunked body received (not enough "
                    . "octets for the data section)");
            return;
        }
        $out .= substr $data, $pos, $size;
        if (substr($data, $pos + $size, 2) ne "\r\n") {
            tb_fail("$name - invalid chunked body received (expected CRLF)");
            return;
        }
        $pos += $size + 2;
    }
}

# Returns the HTTP::Response (undef when nothing usable came back), the raw
# header block and any bytes past the end of this response.
sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /^(.*?\r\n)\r\n/s ? $1 : '';
    my $res = HTTP::Response->parse($raw);

    my $code = $res->code;
    if (defined $code && $code !~ /^\d+$/) {
        $res->code(undef);
        $code = undef;
    }
    return ($res, $raw_headers, undef) unless $code;

    my $content = $res->content // '';
    my $left;

    if ($head_req || $code =~ /^1/ || $code == 204 || $code == 304) {
        $left = $content;
        $res->content('');

    } elsif (lc($res->header('Transfer-Encoding') // '') eq 'chunked') {
        my ($body, $rest) = decode_chunked($name, $content,
                                           [$res->header('Trailer')]);
        return (undef, $raw_headers, undef) unless defined $body;
        $res->content($body);
        $left = $rest;

    } elsif (defined(my $len = $res->header('Content-Length'))) {
        if ($len =~ /^\d+$/ && length($content) > $len) {
            $left = substr $content, $len;
            $res->content(substr $content, 0, $len);
        } elsif ($len =~ /^\d+$/ && length($content) < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got " . length($content) . "\n";
        }
    }

    return ($res, $raw_headers, $left);
}

# ---- checks ---------------------------------------------------------------------

sub indexed ($$$$) {
    my ($name, $value, $idx, $need_array) = @_;
    if (ref $value eq 'ARRAY') {
        return $value->[$idx] if $need_array;
        bail_out("$name - SHOULD NOT HAPPEN: idx != 0") if $idx;
        return $value->[0];
    }
    if ($need_array) {
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }
    return $value;
}

sub check_error_code ($$$$) {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';

    if (defined $block->error_code_like) {
        my $pat = indexed($name, $block->error_code_like, $idx, $need_array);
        Test::More::like($got, qr/$pat/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        Test::More::is($got, indexed($name, $block->error_code, $idx,
                                     $need_array), "$name - status code ok");
    } else {
        Test::More::is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$) {
    my ($block, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->raw_response_headers_like) {
        my $pat = indexed($name, $block->raw_response_headers_like, $idx,
                          $need_array);
        Test::More::like($raw_headers, qr/$pat/s,
                         "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $pat = indexed($name, $block->raw_response_headers_unlike, $idx,
                          $need_array);
        Test::More::unlike($raw_headers, qr/$pat/s,
                           "$name - raw resp headers unlike");
    }
}

sub check_response_headers ($$$$$) {
    my ($block, $res, $raw_headers, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->response_headers) {
        my $list = parse_headers(indexed($name, $block->response_headers,
                                         $idx, $need_array));
        for my $h (@$list) {
            my ($key, $want) = @$h;
            if (!defined $want) {
                Test::More::unlike($raw_headers // '',
                                   qr/^\s*\Q$key\E\s*:/mi,
                                   "$name - header $key not present");
                next;
            }
            $want =~ s/\$ServerPort\b/$ServerPort/g;
            $want =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $got = $res ? $res->header($key) : undef;
            Test::More::is($got // '', $want, "$name - header $key ok");
        }

    } elsif (defined $block->response_headers_like) {
        my $list = parse_headers(indexed($name, $block->response_headers_like,
                                         $idx, $need_array));
        for my $h (@$list) {
            my ($key, $pat) = @$h;
            my $got = $res ? $res->header($key) : undef;
            Test::More::like($got // '', qr/^$pat$/,
                             "$name - header $key like ok");
        }
    }
}

sub run_body_filter ($$$) {
    my ($name, $filter, $content) = @_;
    return $filter->($content) if ref $filter eq 'CODE';
    bail_out("$name - --- response_body_filters takes names or code refs")
        if ref $filter;

    my %named = (
        md5_hex  => sub { Digest::MD5::md5_hex($_[0]) },
        sha1_hex => sub { Digest::SHA::sha1_hex($_[0]) },
        uc       => sub { uc $_[0] },
        lc       => sub { lc $_[0] },
        ucfirst  => sub { ucfirst $_[0] },
        lcfirst  => sub { lcfirst $_[0] },
        length   => sub { length $_[0] },
    );
    my $f = $named{$filter}
        or bail_out("$name - unknown filter, \"$filter\", specified in the "
                    . "--- response_body_filters section");
    return $f->($content);
}

sub transform_response_body ($$$) {
    my ($block, $res, $idx) = @_;
    my $filters = $block->response_body_filters;
    return unless $res && defined $filters && defined $res->content;
    my $name = $block->name;

    if (!ref $filters) {
        $filters =~ s/^\s+|\s+$//g;
        $filters = [split /\s+/, $filters];
    } elsif (ref $filters ne 'ARRAY') {
        $filters = [$filters];
    }

    if (@$filters && ref $filters->[0] eq 'ARRAY') {
        $filters = $filters->[$idx];
        bail_out("$name - no --- response_body_filters for request $idx")
            unless defined $filters;
    }
    $filters = [$filters] unless ref $filters eq 'ARRAY';

    my $content = $res->content;
    $content = run_body_filter($name, $_, $content) for @$filters;
    $res->content($content);
}

sub check_response_body ($$$$$) {
    my ($block, $res, $idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $content = $res ? $res->content : undef;

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $expected;
        if (defined $block->response_body_eval) {
            $expected = eval indexed($name, $block->response_body_eval, $idx,
                                     $need_array);
            warn $@ if $@;
        } else {
            $expected = indexed($name, $block->response_body, $idx,
                                $need_array);
        }

        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            $expected = expand_env_in_text($expected, $name,
                                           $Test::Nginx::Util::RandPorts);
        }

        my $desc = "$name - response_body - response is expected "
                   . "(repeated req $rep, req $idx)";
        if (ref $expected) {
            Test::More::like($content, $expected, $desc);
        } else {
            is_str($content, $expected, $desc);
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $like = defined $block->response_body_like;
        my $type = $like ? 'like' : 'unlike';
        my $pat = indexed($name, $like ? $block->response_body_like
                                       : $block->response_body_unlike,
                          $idx, $need_array);
        if (!ref $pat) {
            $pat =~ s/\$ServerPort\b/$ServerPort/g;
            $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        my $summary = trim($content) // '';
        $summary = substr($summary, 0, 200) . '...' if length $summary > 200;
        my $desc = "$name - response_body_$type - response is expected "
                   . "($summary)";
        if ($like) {
            Test::More::like($content, qr/$pat/s, $desc);
        } else {
            Test::More::unlike($content, qr/$pat/s, $desc);
        }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $content, $idx, $rep, 0);
    }
}

# Section value -> list of patterns: a string holds one per line, an eval
# gives a qr// or an array of strings and qr//s.
sub patterns_of ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [split /\n+/, $pats];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub pattern_matches ($$) {
    my ($pat, $line) = @_;
    return ref $pat ? $line =~ /$pat/ : index($line, $pat) >= 0;
}

sub mentions ($$) {
    my ($val, $what) = @_;
    return 0 unless defined $val;
    return index("$val", $what) >= 0 if !ref $val || ref $val eq 'Regexp';
    if (ref $val eq 'ARRAY') {
        for (@$val) { return 1 if mentions($_, $what); }
    }
    return 0;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# One test per pattern: it passes at the first line it matches.
sub check_log_has ($$$$) {
    my ($name, $pats, $lines, $what) = @_;
    my @pending = @{ patterns_of($pats) };
    for my $line (@$lines) {
        for my $pat (@pending) {
            next unless defined $pat && pattern_matches($pat, $line);
            Test::More::pass("$name - pattern \"" . fmt_str($pat)
                             . "\" matches a line in $what");
            undef $pat;
        }
    }
    for my $pat (grep { defined } @pending) {
        Test::More::fail("$name - pattern \"" . fmt_str($pat)
                         . "\" should match a line in $what");
    }
}

# One test per pattern, plus one more failure for every further line it
# matches (as in the real harness).
sub check_log_lacks ($$$$) {
    my ($name, $pats, $lines, $what) = @_;
    my @list = @{ patterns_of($pats) };
    my %found;
    for my $i (0 .. $#$lines) {
        for my $k (0 .. $#list) {
            my $pat = $list[$k];
            next unless defined $pat && pattern_matches($pat, $lines->[$i]);
            $found{$k}++;
            my $ctx = join '', @$lines[$i + 1 .. ($i + 9 < $#$lines
                                                  ? $i + 9 : $#$lines)];
            Test::More::fail("$name - pattern \"" . fmt_str($pat)
                             . "\" should not match any line in $what but "
                             . "matches line \"" . fmt_str($lines->[$i])
                             . "\"\n$ctx");
        }
    }
    for my $k (0 .. $#list) {
        next if $found{$k} || !defined $list[$k];
        Test::More::pass("$name - pattern \"" . fmt_str($list[$k])
                         . "\" does not match a line in $what");
    }
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $rep, $need_array) = @_;
    my $name = $block->name;
    my $lines;

    my $grep = $block->grep_error_log;
    if (defined $grep) {
        $grep = $grep->[$rep] if ref $grep eq 'ARRAY';
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but "
                 . "--- grep_error_log is defined") unless defined $expected;
        $expected = $expected->[$rep] if ref $expected eq 'ARRAY';
        $expected = expand_env_in_text($expected, $name,
                                       $Test::Nginx::Util::RandPorts)
            unless ref $expected;

        $lines ||= error_log_data();
        my $matched = '';
        for my $line (@$lines) {
            my $m;
            if (ref $grep) {
                $m = $& if $line =~ $grep;
            } elsif (index($line, $grep) >= 0) {
                $m = $grep;
            }
            $matched .= "$m\n" if defined $m && $m !~ /\n/;
        }

        my $desc = "$name - grep_error_log_out (req $rep)";
        if (ref $expected eq 'Regexp') {
            Test::More::like($matched, $expected, $desc);
        } else {
            is_str($matched, $expected, $desc);
        }

    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but "
                 . "--- grep_error_log_out is defined");
    }

    my $has = $block->error_log;
    my $lacks = $block->no_error_log;

    if (defined $has) {
        $lines ||= error_log_data();
        check_log_has($name, $has, $lines, "error.log (req $rep)");
    }

    if (defined $lacks) {
        $lines ||= error_log_data();
        check_log_lacks($name, $lacks, $lines, "error.log (req $rep)");
    }

    # Serious log lines nobody asked about are worth a warning, as in the
    # real harness; an assertion failure is a failure.
    $lines ||= error_log_data();
    for my $level (qw(alert crit emerg)) {
        next if mentions($has, "[$level") || mentions($lacks, "[$level");
        for my $line (grep { /\[$level\]/ } @$lines) {
            warn "WARNING: $name - " . fmt_str($line) . "\n";
        }
    }
    for my $line (grep { /\bAssertion .*?failed\b/ } @$lines) {
        tb_fail("$name - " . fmt_str($line));
    }
}

sub check_access_log ($$) {
    my ($block, $rep) = @_;
    my $name = $block->name;
    if (defined $block->access_log) {
        check_log_has($name, $block->access_log, access_log_data(),
                      "access.log (req $rep)");
    }
    if (defined $block->no_access_log) {
        check_log_lacks($name, $block->no_access_log, access_log_data(),
                        "access.log (req $rep)");
    }
}

# ---- one block, one repetition ---------------------------------------------------

sub run_test_helper ($$$) {
    my ($block, $dry_run, $rep) = @_;
    my $name = $block->name;

    my $reqs = get_requests($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout) // timeout();
    my $pipelined = $block->pipelined_requests;
    my $per_req = $pipelined ? scalar @$pipelined : 1;
    my $need_array = $pipelined ? 1 : @$reqs > 1;
    my $total = @$reqs * $per_req;
    my $idx = 0;
    my $res;

    for my $req (@$reqs) {
        my ($raw, $head_req) = send_request($req,
            parse_time($block->raw_request_middle_delay), $timeout, $block);
        warn "!!! resp: [" . ($raw // '') . "]\n" if verbose();
        $raw //= '';

        for my $k (1 .. $per_req) {
            if (!defined $block->ignore_response) {
                my ($raw_headers, $left);
                ($res, $raw_headers, $left) = parse_response($name, $raw,
                                                             $head_req);
                check_error_code($block, $res, $idx, $need_array);
                check_raw_response_headers($block, $raw_headers // '', $idx,
                                           $need_array);
                check_response_headers($block, $res, $raw_headers // '', $idx,
                                       $need_array);
                transform_response_body($block, $res, $idx);
                check_response_body($block, $res, $idx, $rep, $need_array);

                $raw = $left // '';
                if ($k == $per_req && $raw ne '') {
                    warn "WARNING: $name - unexpected extra bytes after the "
                         . "response: \"" . fmt_str($raw) . "\"\n";
                }
            }

            $idx++;
            if ($idx < $total) {
                Time::HiRes::sleep(parse_time($block->wait)) if $block->wait;
                check_error_log($block, $res, $dry_run, $rep, $need_array);
                check_access_log($block, $rep)
                    unless defined $block->ignore_response;
            }
        }
    }

    Time::HiRes::sleep(parse_time($block->wait)) if $block->wait;
    check_error_log($block, $res, $dry_run, $rep, $need_array);
    check_access_log($block, $rep) unless defined $block->ignore_response;
}

1;
