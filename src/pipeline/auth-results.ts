/**
 * One RFC 8601 method result for the `authResults` transaction fact: the text between the semicolons
 * of our Authentication-Results: field, e.g. `dkim=pass header.d=example.org header.s=sel1` or
 * `dmarc=fail (p=reject) header.from=example.org` (RFC 8601 §2.2: resinfo = methodspec [reasonspec]
 * *propspec). Trusts nothing it is given: property values that are not RFC 2045 tokens become
 * quoted-strings, comments are escaped, and anything outside printable US-ASCII becomes "?", so a
 * sender's domain, selector or HELO name can never break out of its slot or the header field.
 */

/** RFC 2045 §5.1 tspecials, plus SPACE and CTLs: what a token may not hold. */
const NOT_TOKEN = /[()<>@,;:\\"/[\]?=\s\x00-\x1f\x7f]/;

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?');
}

/** A property value: the token itself, or a quoted-string (RFC 5322 §3.2.4). */
export function propValue(v: string): string {
  const p = printable(v);
  if (p.length > 0 && !NOT_TOKEN.test(p)) return p;
  return `"${p.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A comment (RFC 5322 §3.2.2), parentheses and backslashes escaped. */
export function comment(text: string): string {
  return `(${printable(text).replace(/[()\\]/g, (c) => `\\${c}`)})`;
}

/**
 * "method=result (comment) ptype.prop=value ..."; properties with an empty value are left out.
 * `props` keep their order (e.g. header.d before header.s).
 */
export function methodResult(method: string, result: string, props: readonly (readonly [string, string])[], note?: string): string {
  const parts = [`${method}=${result}`];
  if (note !== undefined && note !== '') parts.push(comment(note));
  for (const [name, value] of props) if (value !== '') parts.push(`${name}=${propValue(value)}`);
  return parts.join(' ');
}
