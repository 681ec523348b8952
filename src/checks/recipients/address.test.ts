import { describe, expect, it } from 'vitest';
import { parseMailbox, type Mailbox } from '../../smtp/address.js';
import { baseAddress, entryKey, escapeFilterValue, fillFilter, isPostmaster, lookupAddress, unquoteLocal } from './address.js';

const mb = (s: string): Mailbox => {
  const r = parseMailbox(s);
  if (!r.ok) throw new Error(s);
  return r.value;
};
const folded = { caseSensitive: false };
const exact = { caseSensitive: true };

describe('recipient address forms', () => {
  it('folds the local part unless case-sensitive, and always the domain', () => {
    expect(lookupAddress(mb('Bob.Smith@Example.TEST'), folded).key).toBe('bob.smith@example.test');
    expect(lookupAddress(mb('Bob.Smith@Example.TEST'), exact).key).toBe('Bob.Smith@example.test');
    expect(lookupAddress(mb('Bob.Smith@Example.TEST'), exact).asSent).toBe('Bob.Smith@Example.TEST');
  });

  it('treats a quoted local part as its text (RFC 5321 §4.1.2)', () => {
    expect(unquoteLocal('"bob"')).toBe('bob');
    expect(unquoteLocal('"a\\"b c"')).toBe('a"b c');
    expect(lookupAddress(mb('"Bob"@example.test'), folded).key).toBe('bob@example.test');
  });

  it('finds the base of a subaddress only with a delimiter, and not for a leading one', () => {
    const rules = { caseSensitive: false, recipientDelimiter: '+' };
    expect(baseAddress(lookupAddress(mb('bob+news@example.test'), rules), rules)?.key).toBe('bob@example.test');
    expect(baseAddress(lookupAddress(mb('+news@example.test'), rules), rules)).toBeNull();
    expect(baseAddress(lookupAddress(mb('bob+news@example.test'), folded), folded)).toBeNull();
  });

  it('knows postmaster in any case', () => {
    expect(isPostmaster(lookupAddress(mb('PostMaster@example.test'), exact))).toBe(true);
    expect(isPostmaster(lookupAddress(mb('postmasters@example.test'), exact))).toBe(false);
  });

  it('reads list entries: addresses, catch-alls, and refuses the rest', () => {
    expect(entryKey('Bob@Example.test', folded)).toBe('bob@example.test');
    expect(entryKey('@Example.test', folded)).toBe('@example.test');
    expect(entryKey('bob', folded)).toBeNull();
    expect(entryKey('bob@[10.0.0.1]', folded)).toBeNull();
    expect(entryKey('a b@example.test', folded)).toBeNull();
  });
});

describe('LDAP filter values (RFC 4515 §3)', () => {
  it('escapes the five specials, control characters and non-ASCII octets', () => {
    expect(escapeFilterValue('a*b(c)d\\e\0f')).toBe('a\\2ab\\28c\\29d\\5ce\\00f');
    expect(escapeFilterValue('é\n')).toBe('\\c3\\a9\\0a');
    expect(escapeFilterValue("bob.o'neil+x=y@example.test")).toBe("bob.o'neil+x=y@example.test");
  });

  it('fills %s, %u, %d and %% with escaped values', () => {
    const a = lookupAddress(mb('"x)(uid=*"@example.test'), exact);
    expect(fillFilter('(&(objectClass=person)(|(mail=%s)(uid=%u))(o=%d)(x=100%%))', a)).toBe(
      '(&(objectClass=person)(|(mail=x\\29\\28uid=\\2a@example.test)(uid=x\\29\\28uid=\\2a))(o=example.test)(x=100%))',
    );
  });
});
