/**
 * Config slice `listen[].tls`: the certificate a listener offers with STARTTLS (RFC 3207) and the
 * protocol floor and cipher list it accepts. The defaults follow Mozilla's "intermediate" server
 * profile (TLS 1.2 AEAD suites with forward secrecy, plus the TLS 1.3 suites); DHE suites are left
 * out because they would need a DH parameter file and add nothing over ECDHE.
 */
import { z } from 'zod';

/** TLS 1.3 suites (OpenSSL's defaults) first, then Mozilla intermediate's ECDHE suites for TLS 1.2. */
export const DEFAULT_SERVER_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const serverTlsSchema = z
  .object({
    cert: z.string().min(1).describe('PEM file: our certificate, optionally followed by its intermediate chain'),
    key: z.string().min(1).describe('PEM file: the private key of the certificate (readable by the user Moat runs as)'),
    ca: z.string().min(1).optional().describe('PEM file of intermediate certificates sent after ours (e.g. certbot\'s chain.pem), when cert holds only the leaf'),
    minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2').describe('Oldest TLS version accepted'),
    ciphers: z
      .string()
      .min(1)
      .default(DEFAULT_SERVER_CIPHERS)
      .describe('OpenSSL cipher list, TLS 1.3 suites (TLS_…) included; the server\'s order wins'),
  })
  .strict();

export type ServerTlsConfig = z.infer<typeof serverTlsSchema>;
