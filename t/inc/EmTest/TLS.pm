package EmTest::TLS;

# A throw-away PKI for the TLS suites, made with the openssl command in a
# temporary directory: a CA, a server certificate for localhost and
# 127.0.0.1, a client certificate, and a second CA that signed neither.
#
#   use lib 't/inc';
#   use EmTest::TLS;
#   my $pki = EmTest::TLS->make;       # sets $ENV{TEST_NGINX_PKI}
#   $pki->file('ca.pem');              # ca.pem ca.key server.pem server.key
#                                      # client.pem client.key other-ca.pem
#
# EC keys keep it fast; the certificates are valid for two days.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);

our $VERSION = '0.01';

sub _run {
    my ($dir, @cmd) = @_;
    my $out = `cd '$dir' && @cmd 2>&1`;
    croak "EmTest::TLS: \"@cmd\" failed ($?):\n$out" if $?;
}

sub _spew {
    my ($path, $text) = @_;
    open my $fh, '>', $path or croak "$path: $!";
    print {$fh} $text;
    close $fh;
}

my $Key = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';

sub _ca {
    my ($dir, $name, $cn) = @_;
    _run($dir, "openssl req -x509 $Key -keyout $name.key -out $name.pem"
               . " -days 2 -subj '/CN=$cn'"
               . " -addext basicConstraints=critical,CA:TRUE"
               . " -addext keyUsage=critical,keyCertSign,cRLSign");
}

sub _leaf {
    my ($dir, $name, $cn, $ext) = @_;
    _spew("$dir/$name.ext", $ext);
    _run($dir, "openssl req $Key -keyout $name.key -out $name.csr"
               . " -subj '/CN=$cn'");
    _run($dir, "openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key"
               . " -set_serial " . (1000 + int rand 1e6)
               . " -days 2 -out $name.pem -extfile $name.ext");
}

# make(env => 'TEST_NGINX_PKI' or undef)
sub make {
    my ($class, %opt) = @_;
    my $dir = tempdir('em-pki-XXXXXX', TMPDIR => 1, CLEANUP => 1);

    _ca($dir, 'ca', 'EmTest CA');
    _ca($dir, 'other-ca', 'EmTest Other CA');
    _leaf($dir, 'server', 'localhost',
          "basicConstraints=CA:FALSE\n"
          . "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
          . "extendedKeyUsage=serverAuth\n");
    _leaf($dir, 'client', 'em-client',
          "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");

    my $env = exists $opt{env} ? $opt{env} : 'TEST_NGINX_PKI';
    $ENV{$env} = $dir if defined $env;

    return bless { dir => $dir }, $class;
}

sub dir  { $_[0]{dir} }
sub file { "$_[0]{dir}/$_[1]" }

# The options EmTest::NATS->start(tls => ...) takes for a server with
# this PKI; verify => 1 requires client certificates.
sub server_opts {
    my ($self, %opt) = @_;
    return {
        cert        => $self->file('server.pem'),
        key         => $self->file('server.key'),
        ca          => $self->file('ca.pem'),
        verify      => $opt{verify} ? 1 : 0,
        client_cert => $self->file('client.pem'),
        client_key  => $self->file('client.key'),
    };
}

1;
