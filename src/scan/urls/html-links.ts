/**
 * Links out of HTML with htmlparser2 (entities decoded as a browser decodes them): a/href and
 * area/href with their visible text (area: its alt), form/action, img/src and the other
 * elements that load something (iframe, frame, embed, script, source, input type=image, link,
 * video/poster, background attributes, url(...) in style attributes), meta refresh targets,
 * and <base href> for resolving relative links (HTML §4.2.3; reset at </html>, since a message
 * may carry several HTML parts). Notes an href whose host was written with numeric character
 * references (&#x65;vil.example), and a form that asks for credentials (a password field, or a
 * field named for a password, PIN, card number, CVV, expiry, account, routing number or login).
 * Trusts nothing; bounded by the caller's input size and `maxLinks`; never throws.
 */
import { Parser } from 'htmlparser2';

export type HtmlLinkKind = 'html-href' | 'html-src';

export interface HtmlLink {
  readonly value: string;
  readonly kind: HtmlLinkKind;
  /** Lower-case element name. */
  readonly element: string;
  /** Visible text of an a (or alt of an area), whitespace collapsed; null for other elements. */
  readonly linkText: string | null;
  /** The base in force for this link (absolute), or null. */
  readonly base: string | null;
  /** The host part of the attribute was written with character references. */
  readonly entityHost: boolean;
  /** A form with a password, PIN, card, account or login field. */
  readonly credentials: boolean;
}

const SRC_ATTRS: Readonly<Record<string, readonly string[]>> = {
  img: ['src', 'lowsrc', 'dynsrc'],
  iframe: ['src'],
  frame: ['src'],
  embed: ['src'],
  script: ['src'],
  source: ['src'],
  video: ['src', 'poster'],
  audio: ['src'],
  track: ['src'],
  link: ['href'],
  input: ['src'],
  object: ['data'],
};
const BACKGROUND = new Set(['body', 'table', 'td', 'th', 'tr']);
const MAX_LINK_TEXT = 300;
const STYLE_URL = /url\(\s*(['"]?)([^'")\s]+)\1\s*\)/gi;
const FIELDS = new Set(['input', 'select', 'textarea']);
const CREDENTIAL_NAME = /pass|pwd|pin\b|ssn|cvv|cvc|card|ccn|creditc|expir|account|routing|login|otp\b/i;

/** The raw value of `attr` in a start tag's source (for the character-reference test). */
function rawAttr(tag: string, attr: string): string | null {
  const m = new RegExp(`\\s${attr}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? (m[1] ?? m[2] ?? m[3] ?? '') : null;
}

function entityInHost(raw: string | null): boolean {
  if (raw === null || !raw.includes('&#')) return false;
  // Scheme and authority (up to the first "/" after "//"); references elsewhere are common (&#38;).
  const m = /^(?:[^/]*?:)?(?:\/|&#0*47;|&#x0*2f;){2}([^/?]*)/i.exec(raw.trim());
  const authority = m ? (m[1] ?? '') : raw.split('/')[0] ?? '';
  return /&#/.test(authority) || /^(?:&#[\dx]+;?)+/i.test(raw.trim());
}

/** The target of a meta refresh content ("5; url=https://..."), HTML §4.2.5.3. */
export function refreshTarget(content: string): string | null {
  const m = /^\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?(['"]?)(.+?)\1\s*$/i.exec(content);
  const target = m?.[2]?.trim() ?? '';
  return target === '' || /^\d+$/.test(target) ? null : target;
}

/** Every link of `html`, at most `maxLinks`, in document order. */
export function htmlLinks(html: string, maxLinks: number): HtmlLink[] {
  const links: HtmlLink[] = [];
  let base: string | null = null;
  let anchor: { value: string; base: string | null; entityHost: boolean; text: string; index: number } | null = null;
  let form: { index: number; value: string } | null = null;
  const push = (l: Omit<HtmlLink, 'credentials'>): void => {
    if (links.length < maxLinks) links.push({ ...l, credentials: false });
  };
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const tag = html.slice(parser.startIndex, parser.endIndex + 1);
        const attr = (a: string): string | undefined => {
          const v = attribs[a];
          return v === undefined || v.trim() === '' ? undefined : v.trim();
        };
        if (name === 'base') {
          const href = attr('href');
          if (href !== undefined && base === null) {
            try {
              base = new URL(href).href;
            } catch {
              // A relative or broken base is ignored, as browsers do for a base without a document URL.
            }
          }
          return;
        }
        if (name === 'a' || name === 'area') {
          const href = attr('href');
          if (href === undefined) return;
          const entityHost = entityInHost(rawAttr(tag, 'href'));
          if (name === 'area') {
            push({ value: href, kind: 'html-href', element: 'area', linkText: (attribs['alt'] ?? '').trim().slice(0, MAX_LINK_TEXT), base, entityHost });
            return;
          }
          anchor = { value: href, base, entityHost, text: '', index: links.length };
          // Reserve the slot so links keep document order; its text is filled at </a>.
          push({ value: href, kind: 'html-href', element: 'a', linkText: '', base, entityHost });
          return;
        }
        if (name === 'form') {
          const action = attr('action');
          form = action !== undefined && links.length < maxLinks ? { index: links.length, value: action } : null;
          if (action !== undefined) push({ value: action, kind: 'html-href', element: 'form', linkText: null, base, entityHost: entityInHost(rawAttr(tag, 'action')) });
        }
        if (FIELDS.has(name) && form !== null) {
          const type = (attribs['type'] ?? '').toLowerCase();
          const names = `${attribs['name'] ?? ''} ${attribs['id'] ?? ''} ${attribs['autocomplete'] ?? ''}`;
          if (type === 'password' || (type !== 'hidden' && type !== 'submit' && CREDENTIAL_NAME.test(names))) {
            const slot = links[form.index];
            if (slot !== undefined && slot.element === 'form' && slot.value === form.value) links[form.index] = { ...slot, credentials: true };
          }
        }
        if (name === 'meta' && (attribs['http-equiv'] ?? '').toLowerCase() === 'refresh') {
          const target = refreshTarget(attribs['content'] ?? '');
          if (target !== null) push({ value: target, kind: 'html-href', element: 'meta', linkText: null, base, entityHost: false });
        }
        for (const a of SRC_ATTRS[name] ?? []) {
          const v = attr(a);
          if (v !== undefined && !(name === 'input' && (attribs['type'] ?? '').toLowerCase() !== 'image')) {
            push({ value: v, kind: 'html-src', element: name, linkText: null, base, entityHost: entityInHost(rawAttr(tag, a)) });
          }
        }
        if (BACKGROUND.has(name)) {
          const v = attr('background');
          if (v !== undefined) push({ value: v, kind: 'html-src', element: name, linkText: null, base, entityHost: false });
        }
        const style = attribs['style'];
        if (style !== undefined && style.includes('url(')) {
          for (const m of style.matchAll(STYLE_URL)) {
            if (m[2] !== undefined) push({ value: m[2], kind: 'html-src', element: name, linkText: null, base, entityHost: false });
          }
        }
      },
      ontext(text) {
        if (anchor !== null && anchor.text.length < MAX_LINK_TEXT * 2) anchor.text += text;
      },
      onclosetag(name) {
        if (name === 'a' && anchor !== null) {
          const a = anchor;
          const slot = links[a.index];
          if (slot !== undefined && slot.element === 'a' && slot.value === a.value) {
            links[a.index] = { ...slot, linkText: a.text.replace(/\s+/g, ' ').trim().slice(0, MAX_LINK_TEXT) };
          }
          anchor = null;
        }
        if (name === 'form') form = null;
        if (name === 'html') base = null;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  try {
    parser.write(html);
    parser.end();
  } catch {
    // htmlparser2 does not throw on bad markup; keep what was found if it ever does.
  }
  return links;
}
