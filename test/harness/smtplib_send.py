#!/usr/bin/python3
# One SMTP transaction with Python's smtplib, step by step, for end-to-end tests.
# Input (stdin, JSON): host, port, source (local IP to bind, optional), helo, mail_from ("" for <>),
# rcpt_to (list), data (message text, CRLF or LF). Output (stdout, JSON): the reply of each step
# as [code, text]: banner, ehlo, mail, rcpt (one per recipient), data (null when not sent: MAIL
# refused or no recipient accepted), error (a disconnect or timeout, else null).
import json
import smtplib
import sys

req = json.load(sys.stdin)
out = {'banner': None, 'ehlo': None, 'mail': None, 'rcpt': [], 'data': None, 'error': None}


def pair(reply):
    code, text = reply
    return [code, text.decode('utf-8', 'replace') if isinstance(text, bytes) else str(text)]


try:
    source = (req['source'], 0) if req.get('source') else None
    s = smtplib.SMTP(timeout=30, source_address=source)
    out['banner'] = pair(s.connect(req['host'], req['port']))
    out['ehlo'] = pair(s.ehlo(req.get('helo', 'client.test')))
    out['mail'] = pair(s.mail(req['mail_from']))
    if out['mail'][0] == 250:
        for rcpt in req['rcpt_to']:
            out['rcpt'].append(pair(s.rcpt(rcpt)))
        if any(r[0] in (250, 251) for r in out['rcpt']):
            out['data'] = pair(s.data(req['data'].encode('utf-8')))
    try:
        s.quit()
    except smtplib.SMTPServerDisconnected:
        pass
except (smtplib.SMTPException, OSError) as e:
    out['error'] = f'{type(e).__name__}: {e}'

print(json.dumps(out), flush=True)
