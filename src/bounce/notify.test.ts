import { describe, expect, it } from 'vitest';
import { isBounceable, returnedContent, shouldNotify } from './notify.js';

describe('shouldNotify (RFC 3461 §4.1)', () => {
  it('without NOTIFY, reports failures and delays but not success', () => {
    expect(shouldNotify(null, 'failed')).toBe(true);
    expect(shouldNotify(null, 'delayed')).toBe(true);
    expect(shouldNotify(null, 'delivered')).toBe(false);
    expect(shouldNotify(null, 'relayed')).toBe(false);
  });

  it('with NOTIFY=NEVER, reports nothing', () => {
    for (const kind of ['failed', 'delayed', 'delivered', 'relayed'] as const) expect(shouldNotify([], kind)).toBe(false);
  });

  it('with a list, reports exactly what was asked', () => {
    expect(shouldNotify(['SUCCESS'], 'delivered')).toBe(true);
    expect(shouldNotify(['SUCCESS'], 'relayed')).toBe(true);
    expect(shouldNotify(['SUCCESS'], 'failed')).toBe(false);
    expect(shouldNotify(['FAILURE'], 'delayed')).toBe(false);
    expect(shouldNotify(['DELAY'], 'delayed')).toBe(true);
    expect(shouldNotify(['FAILURE', 'DELAY'], 'failed')).toBe(true);
  });
});

describe('isBounceable (RFC 5321 §6.1, §4.5.5)', () => {
  it('never bounces to the null reverse path', () => {
    expect(isBounceable('')).toBe(false);
    expect(isBounceable('<>')).toBe(false);
    expect(isBounceable(' ')).toBe(false);
  });
  it('bounces to a real sender', () => {
    expect(isBounceable('alice@example.org')).toBe(true);
  });
});

describe('returnedContent (RFC 3461 §4.3)', () => {
  it('returns the whole message only for a failure with RET=FULL', () => {
    expect(returnedContent('FULL', 'failed')).toBe('FULL');
    expect(returnedContent(null, 'failed')).toBe('HDRS');
    expect(returnedContent('HDRS', 'failed')).toBe('HDRS');
    expect(returnedContent('FULL', 'delayed')).toBe('HDRS');
    expect(returnedContent('FULL', 'delivered')).toBe('HDRS');
  });
});
