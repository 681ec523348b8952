#!/usr/bin/perl
# Verifies the DKIM signatures of the message on stdin with Mail::DKIM (the verifier SpamAssassin and
# amavis use), asking only the DNS server given as HOST PORT (the test's dnsmasq), never the system's.
# Prints one line per signature: "RESULT DOMAIN SELECTOR ALGORITHM DETAIL", then "overall RESULT".
use strict;
use warnings;
use Net::DNS::Resolver;
use Mail::DKIM::DNS;
use Mail::DKIM::Verifier;

my ($host, $port) = @ARGV;
die "usage: dkim_verify.pl DNS-HOST DNS-PORT < message\n" unless $host && $port;
my $res = Net::DNS::Resolver->new(nameservers => [$host], port => $port, recurse => 1, udp_timeout => 3, tcp_timeout => 3, retry => 1);
$res->srcport(0);
Mail::DKIM::DNS::resolver($res);
binmode STDIN;
my $v = Mail::DKIM::Verifier->new();
while (my $line = <STDIN>) {
  $line =~ s/\015?\012\z/\015\012/;
  $v->PRINT($line);
}
$v->CLOSE;
foreach my $sig ($v->signatures) {
  printf "%s %s %s %s %s\n", $sig->result, $sig->domain, $sig->selector, $sig->algorithm, ($sig->result_detail // '');
}
printf "overall %s\n", $v->result;
