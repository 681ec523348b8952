/**
 * What an outbound message gets before it is spooled (the edits that drop forged verdict fields
 * come from gateway/added-headers.ts; these come on top):
 *  - the Received: fields the LAN added are dropped (hideInternalReceived): from the top of the
 *    header section down, every Received: that names only internal addresses (trustedNetworks and
 *    the private, loopback and link-local ranges) or none, up to the first that names an outside
 *    address (a forwarded message keeps its internet trace);
 *  - our own Received: without the from-clause (the LAN client's name and address), or the full one;
 *  - a DKIM-Signature over the final form: our prepended fields plus the edited content.
 * Outbound mail gets no Authentication-Results: or verdict fields: they are for the LAN server.
 * Trusts: nothing in the message. Fails: as the DKIM signer (throws: the message is deferred).
 */
import { domainToASCII } from 'node:url';
import type { HeaderField, MessageView } from '../pipeline/message.js';
import type { ContentEdit } from '../queue/record.js';
import { applyEdits } from '../queue/outgoing.js';
import { receivedHeader, type ReceivedInfo } from '../gateway/received.js';
import { NetworkList } from '../checks/match/networks.js';
import type { DkimSigner } from './dkim.js';

export interface OutboundContentInput {
  readonly view: MessageView;
  readonly trace: ReceivedInfo;
  readonly authenticated: boolean;
  /** Edits already decided (forged verdict fields dropped), sorted. */
  readonly edits: readonly ContentEdit[];
  /** The whole content as stored. */
  readonly content: () => AsyncIterable<Buffer>;
}

/** Addresses that never identify a host on the internet (RFC 1918, 6598, 4193, loopback, link-local). */
const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '::1/128', 'fc00::/7', 'fe80::/10'];

const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/g;
const IPV6 = /(?:IPv6:)?((?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4})/g;

function addressesIn(value: string): string[] {
  const v4 = value.match(IPV4) ?? [];
  const v6 = [...value.matchAll(IPV6)].map((m) => m[1] as string).filter((a) => a.includes('::') || a.split(':').length === 8);
  return [...v4, ...v6];
}

/** The domain of the first address in the From: field (RFC 5322 §3.6.2), IDNA-ASCII, or null. */
export function fromDomain(view: MessageView): string | null {
  const from = view.header('from')?.value;
  if (!from) return null;
  const noComments = from.replace(/\((?:[^()\\]|\\.)*\)/g, ' ');
  const angle = /<([^<>]*)>/.exec(noComments);
  const addr = (angle ? angle[1] : noComments.split(',')[0]) ?? '';
  const at = addr.lastIndexOf('@');
  if (at < 0) return null;
  const domain = domainToASCII(addr.slice(at + 1).trim().replace(/[>;\s].*$/, '').toLowerCase());
  return domain === '' ? null : domain;
}

export class OutboundContent {
  private readonly internal: NetworkList;

  constructor(
    private readonly o: { readonly hideInternalReceived: boolean; readonly trustedNetworks: readonly string[]; readonly signer: DkimSigner | null },
  ) {
    this.internal = new NetworkList([...PRIVATE, ...o.trustedNetworks]);
  }

  /** Edits that drop the LAN's own Received: fields (see the header). */
  internalReceivedEdits(view: MessageView): ContentEdit[] {
    const out: ContentEdit[] = [];
    for (const h of view.headers) {
      if (h.key !== 'received') continue;
      if (!this.isInternal(h)) break;
      out.push({ at: h.start, remove: h.end - h.start, insert: '' });
    }
    return out;
  }

  private isInternal(h: HeaderField): boolean {
    return addressesIn(h.value).every((a) => this.internal.contains(a));
  }

  async prepare(input: OutboundContentInput): Promise<{ prepend: string; edits: ContentEdit[] }> {
    const hide = this.o.hideInternalReceived;
    const edits = [...input.edits, ...(hide ? this.internalReceivedEdits(input.view) : [])].sort((a, b) => a.at - b.at);
    const trace = receivedHeader({ ...input.trace, authenticated: input.authenticated, hideClient: hide });
    const signer = this.o.signer;
    if (!signer) return { prepend: trace, edits };
    const whole = async function* (content: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
      yield Buffer.from(trace, 'utf8');
      yield* applyEdits(content, edits);
    };
    const signature = await signer.sign(fromDomain(input.view), whole(input.content()));
    return { prepend: signature + trace, edits };
  }
}
