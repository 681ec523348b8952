#!/usr/bin/env bash
# Install the system programs the tests start as real peers (Debian 12).
# Idempotent and fast when everything is present: each probe below is checked first, and apt
# runs only if one fails. It never starts a daemon: /usr/sbin/policy-rc.d (exit 101) stops
# maintainer scripts from starting postfix on :25, dnsmasq on :53, slapd on :389 and so on (slapd's
# own default database is left unused: the tests run private instances with `slapd -f`).
# Not root and something missing: prints what is missing and exits 1.
set -euo pipefail

# One line per requirement: "package|probe command". A probe succeeds when the program is usable.
# To add a peer, add its line (e.g. "clamav-daemon|test -x /usr/sbin/clamd").
REQUIREMENTS=(
  "postfix|test -x /usr/sbin/postfix"
  "postfix|test -x /usr/sbin/smtp-sink"
  "postfix|test -x /usr/sbin/smtp-source"
  "swaks|test -x /usr/bin/swaks"
  "dnsmasq-base|test -x /usr/sbin/dnsmasq"
  "bind9-dnsutils|test -x /usr/bin/dig"
  "openssl|test -x /usr/bin/openssl"
  "libnet-ssleay-perl|/usr/bin/perl -MNet::SSLeay -e 1"
  "python3-aiosmtpd|/usr/bin/python3 -c 'import aiosmtpd'"
  "haproxy|test -x /usr/sbin/haproxy"
  "testssl.sh|test -x /usr/bin/testssl"
  "nmap|test -x /usr/bin/nmap"
  "slapd|test -x /usr/sbin/slapd"
  "ldap-utils|test -x /usr/bin/ldapadd"
  "ldap-utils|test -x /usr/bin/ldapwhoami"
  "clamav-daemon|test -x /usr/sbin/clamd"
  "clamav|test -x /usr/bin/clamscan"
  "clamav-testfiles|test -f /usr/share/clamav-testfiles/clam.exe"
  "spamd|test -x /usr/sbin/spamd"
  "spamassassin|test -x /usr/bin/spamassassin"
  "spamc|test -x /usr/bin/spamc"
  "rspamd|test -x /usr/bin/rspamd"
  "zip|test -x /usr/bin/zip"
  "libmail-dkim-perl|/usr/bin/perl -MMail::DKIM::Verifier -e 1"
  "libnet-dns-perl|/usr/bin/perl -MNet::DNS -e 1"
  "redis-server|test -x /usr/bin/redis-server"
  "postgresql-15|test -x /usr/lib/postgresql/15/bin/postgres"
  "postgresql-15|test -x /usr/lib/postgresql/15/bin/initdb"
  "chromium|test -x /usr/bin/chromium"
  "unbound|test -x /usr/sbin/unbound"
  "bind9-utils|test -x /usr/bin/dnssec-keygen"
  "bind9-utils|test -x /usr/bin/dnssec-signzone"
)

# As root, make sure apt will start no daemon (now and in any later install).
if [ "$(id -u)" -eq 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
fi

missing_pkgs=()
missing_desc=()
for req in "${REQUIREMENTS[@]}"; do
  pkg=${req%%|*}
  probe=${req#*|}
  if ! bash -c "$probe" >/dev/null 2>&1; then
    missing_desc+=("$pkg (probe failed: $probe)")
    # keep the package list unique
    case " ${missing_pkgs[*]-} " in *" $pkg "*) ;; *) missing_pkgs+=("$pkg") ;; esac
  fi
done

if [ "${#missing_pkgs[@]}" -eq 0 ]; then
  echo "install-test-deps: all test programs present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: missing, and not root so cannot install:" >&2
  printf '  %s\n' "${missing_desc[@]}" >&2
  echo "run as root, or: apt-get install --no-install-recommends ${missing_pkgs[*]}" >&2
  exit 1
fi

echo "install-test-deps: installing ${missing_pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing_pkgs[@]}" </dev/null

still=()
for req in "${REQUIREMENTS[@]}"; do
  probe=${req#*|}
  bash -c "$probe" >/dev/null 2>&1 || still+=("${req%%|*} (probe failed: $probe)")
done
if [ "${#still[@]}" -gt 0 ]; then
  echo "install-test-deps: still missing after apt-get install:" >&2
  printf '  %s\n' "${still[@]}" >&2
  exit 1
fi
echo "install-test-deps: done"
