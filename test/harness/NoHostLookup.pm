# Loaded into swaks by test/harness/swaks.ts (PERL5OPT=-MNoHostLookup).
# swaks always calls gethostbyname(hostname()) to build its default HELO/From/Message-Id; on a
# machine whose host name is not in /etc/hosts that is a DNS query to the system resolver, which
# is off loopback. This makes every gethostbyname return "not found" without asking anyone.
package NoHostLookup;
BEGIN { *CORE::GLOBAL::gethostbyname = sub { return; }; }
1;
