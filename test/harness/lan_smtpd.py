#!/usr/bin/python3
# Scriptable "LAN server" for Moat's tests, on aiosmtpd (Debian python3-aiosmtpd 1.4.3).
# What it does: listens on HOST:PORT; advertises the Exchange-style XEXCH50 and X-LINK2STATE
# keywords (to prove the gateway never uses them); RCPT to a local part starting with "reject"
# gets 550 5.1.1, "defer" gets 451 4.3.0; DATA fails with 554 if a recipient starts with
# "datareject", 451 if one starts with "datadefer"; saves each message as <id>.eml (raw bytes)
# plus <id>.json (envelope, MAIL/RCPT parameters); appends every command line received to
# commands.jsonl; prints "READY host:port" when listening.
# Trusts: aiosmtpd's parser. Options --dsn (advertise DSN and accept RET/ENVID/NOTIFY/ORCPT),
# --tls-cert/--tls-key (STARTTLS), --require-tls, --data-reply, --data-delay.
# Fails: bind errors go to stderr and exit 1. It dies with its parent (PR_SET_PDEATHSIG).
import argparse, asyncio, ctypes, json, os, re, signal, ssl, sys, time, uuid

try:  # kill me when the test process dies (Linux prctl PR_SET_PDEATHSIG = 1)
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
except Exception:
    pass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

ap = argparse.ArgumentParser()
ap.add_argument('host')
ap.add_argument('port', type=int)
ap.add_argument('outdir')
ap.add_argument('--hostname', default='lan.test')
ap.add_argument('--dsn', action='store_true')
ap.add_argument('--tls-cert')
ap.add_argument('--tls-key')
ap.add_argument('--require-tls', action='store_true')
ap.add_argument('--data-reply', help='reply to every DATA instead of 250, e.g. "451 4.3.0 Busy"')
ap.add_argument('--data-delay', type=float, default=0.0, help='seconds to wait before the DATA reply')
ap.add_argument('--size', type=int, default=33554432)
opts = ap.parse_args()

COMMANDS = os.path.join(opts.outdir, 'commands.jsonl')
DSN_PARAM = re.compile(r'^(NOTIFY|ORCPT|RET|ENVID)=', re.I)
conn_seq = 0


def record(conn, verb, arg):
    with open(COMMANDS, 'a', encoding='utf-8', errors='surrogateescape') as f:
        f.write(json.dumps({'conn': conn, 'verb': verb, 'arg': arg}) + '\n')


class RecordingMethods(dict):
    """The server's verb -> method table: every lookup is one received command line, so wrap
    each lookup to record the verb and its argument (unknown verbs such as XEXCH50 included)."""
    def __init__(self, methods, server):
        super().__init__(methods)
        self.server = server

    def get(self, key, default=None):
        method = super().get(key, default)
        conn = self.server.conn_id
        if method is None:
            record(conn, key, None)
            return None

        async def recorded(arg):
            record(conn, key, arg)
            return await method(arg)
        return recorded


class LanSMTP(SMTP):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        global conn_seq
        conn_seq += 1
        self.conn_id = conn_seq
        self._smtp_methods = RecordingMethods(self._smtp_methods, self)
        self.dsn_mail = []
        self.dsn_rcpt = []

    def _strip_dsn(self, arg):
        """Removes DSN parameters (aiosmtpd rejects unknown ones) and returns (arg, params)."""
        if not opts.dsn or arg is None:
            return arg, []
        m = re.match(r'^(\S+:\s*<[^>]*>)(.*)$', arg) or re.match(r'^(\S+:\S*)(.*)$', arg)
        if not m:
            return arg, []
        kept, dsn = [], []
        for p in m.group(2).split():
            (dsn if DSN_PARAM.match(p) else kept).append(p)
        return ' '.join([m.group(1)] + kept), dsn

    async def smtp_MAIL(self, arg):
        arg, self.dsn_mail = self._strip_dsn(arg)
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        arg, self.dsn_rcpt = self._strip_dsn(arg)
        await super().smtp_RCPT(arg)


class Handler:
    def __init__(self):
        self.rcpt_params = {}

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        lines = [r for r in responses[:-1] if not r.startswith('250-AUTH')]
        if opts.dsn:
            lines.append('250-DSN')
        lines += ['250-XEXCH50', '250-X-LINK2STATE']
        return lines + [responses[-1]]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        envelope.dsn_mail = list(server.dsn_mail)
        envelope.rcpts = []
        return '250 2.1.0 OK'

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split('@')[0].lower()
        if local.startswith('reject'):
            return '550 5.1.1 User unknown'
        if local.startswith('defer'):
            return '451 4.3.0 Try again later'
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        if not hasattr(envelope, 'rcpts'):
            envelope.rcpts = []
        envelope.rcpts.append({'address': address, 'params': list(rcpt_options) + list(server.dsn_rcpt)})
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        if opts.data_delay > 0:
            await asyncio.sleep(opts.data_delay)
        locals_ = [a.split('@')[0].lower() for a in envelope.rcpt_tos]
        if any(l.startswith('datareject') for l in locals_):
            return '554 5.6.0 Message rejected by test server'
        if any(l.startswith('datadefer') for l in locals_):
            return '451 4.3.0 Message deferred by test server'
        if opts.data_reply:
            return opts.data_reply
        mid = '%019d-%s' % (time.time_ns(), uuid.uuid4().hex[:8])
        eml = os.path.join(opts.outdir, mid + '.eml')
        with open(eml, 'wb') as f:
            f.write(envelope.original_content)
        meta = {
            'id': mid,
            'conn': server.conn_id,
            'peer': list(session.peer) if session.peer else None,
            'helo': session.host_name,
            'tls': server._tls_protocol is not None,
            'mailFrom': envelope.mail_from,
            'mailParams': list(envelope.mail_options) + list(getattr(envelope, 'dsn_mail', [])),
            'recipients': getattr(envelope, 'rcpts', [{'address': a, 'params': []} for a in envelope.rcpt_tos]),
            'size': len(envelope.original_content),
        }
        tmp = os.path.join(opts.outdir, mid + '.json.tmp')
        with open(tmp, 'w') as f:
            json.dump(meta, f)
        os.rename(tmp, os.path.join(opts.outdir, mid + '.json'))
        return '250 2.0.0 Queued as ' + mid


class LanController(Controller):
    def factory(self):
        return LanSMTP(self.handler, **self.SMTP_kwargs)


def main():
    kw = dict(hostname=opts.host, port=opts.port, server_hostname=opts.hostname,
              decode_data=False, data_size_limit=opts.size, ident='LAN test server')
    if opts.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(opts.tls_cert, opts.tls_key)
        kw['tls_context'] = ctx
        kw['require_starttls'] = opts.require_tls
    c = LanController(Handler(), **kw)
    try:
        c.start()
    except Exception as e:  # e.g. [Errno 98] address already in use
        print(f'ERROR {e}', file=sys.stderr, flush=True)
        sys.exit(1)
    print(f'READY {opts.host}:{opts.port}', flush=True)
    stop = asyncio.Event()
    loop = asyncio.new_event_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    loop.run_until_complete(stop.wait())
    c.stop()


main()
