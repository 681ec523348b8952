import { describe, expect, it } from 'vitest';
import { splitMbox, toCrlf } from './scan-input.js';

describe('scan input', () => {
  it('turns LF line ends into CRLF and leaves CRLF alone', () => {
    expect(toCrlf(Buffer.from('a\nb\r\nc\n')).toString()).toBe('a\r\nb\r\nc\r\n');
    expect(toCrlf(Buffer.from('a\r\nb')).toString()).toBe('a\r\nb');
  });

  it('splits an mbox on From lines and unquotes >From lines (mboxrd)', () => {
    const m = splitMbox(Buffer.from('From a@b Mon Jun  2 10:00:00 2025\nSubject: one\n\n>From here\n>>From there\n\nFrom c@d Mon Jun  2 11:00:00 2025\nSubject: two\n\nbody\n'));
    expect(m.map((b) => b.toString())).toEqual(['Subject: one\n\nFrom here\n>From there\n', 'Subject: two\n\nbody\n']);
  });
});
