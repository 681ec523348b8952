import { describe, expect, it } from 'vitest';
import { Glob } from './glob.js';

describe('sender globs', () => {
  it('matches the whole address with * and ?, ignoring the pattern case', () => {
    const g = new Glob('Bounce-*@*.Example.com');
    expect(g.matches('bounce-123@mail.example.com')).toBe(true);
    expect(g.matches('bounce-@x.example.com')).toBe(true);
    expect(g.matches('bounce-1@example.com')).toBe(false);
    expect(g.matches('xbounce-1@mail.example.com')).toBe(false);
    expect(new Glob('user?@example.com').matches('user1@example.com')).toBe(true);
    expect(new Glob('user?@example.com').matches('user@example.com')).toBe(false);
    expect(new Glob('*').matches('')).toBe(true);
    expect(new Glob('a*b*c').matches('abxbxc')).toBe(true);
    expect(new Glob('a*b*c').matches('abxbx')).toBe(false);
    expect(new Glob('ü?@x').matches('üä@x')).toBe(true);
  });

  it('stays fast on patterns that make a backtracking regex explode', () => {
    const g = new Glob(`${'*a'.repeat(20)}*b`);
    const s = 'a'.repeat(300);
    const t0 = performance.now();
    expect(g.matches(s)).toBe(false);
    // A backtracking matcher takes minutes here; linear matching takes microseconds (margin for a busy CI).
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
