/** Config slice `admin`: the admin listener (metrics, health, the console) and the console's sessions and login limits. */
import { z } from 'zod';
import { hostPort } from '../config/address.js';
import { duration } from '../config/duration.js';

const publicUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u) && !/[?#]/.test(u), { message: 'expected an http(s) URL without query or fragment, e.g. "https://moat.example.com"' })
  .transform((u) => u.replace(/\/+$/, ''));

export const adminSchema = z
  .object({
    listen: hostPort(
      'Address of the admin HTTP listener (GET /metrics, GET /healthz and the console). Loopback by default: any other address is served only when written here',
    ).default('127.0.0.1:8025'),
    tls: z
      .object({
        cert: z.string().min(1).describe('PEM file: the certificate (and chain) of the console'),
        key: z.string().min(1).describe('PEM file: its private key'),
      })
      .strict()
      .optional()
      .describe('Serve HTTPS instead of HTTP (session cookies then get the Secure flag); read at start'),
    publicUrl: publicUrl
      .optional()
      .describe('How users reach the console (e.g. "https://moat.example.com" through a reverse proxy): the base of the links in quarantine digests; requests with this Origin are accepted too'),
    session: z
      .object({
        idle: duration('A session not used for this long ends').prefault('30m'),
        lifetime: duration('A session ends this long after the login, used or not').prefault('12h'),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        interval: duration('How often the live dashboard (GET /api/events, server-sent events) looks for changes while a stream is open').prefault('1s'),
        heartbeat: duration('A comment line this often keeps an idle stream open through proxies; each stream\'s session is checked again then').prefault('15s'),
        maxStreamsPerUser: z.number().int().min(1).max(100).default(4).describe('Live streams one console user may hold open (one per tab); beyond: 429 and the page polls'),
      })
      .strict()
      .prefault({})
      .describe('The live dashboard (server-sent events); the page falls back to polling every 5 s'),
    loginLimit: z
      .object({
        perIp: z.number().int().min(1).max(10_000).default(10).describe('Failed logins from one client IP per window before logins from it are refused (429)'),
        perUser: z.number().int().min(1).max(10_000).default(5).describe('Failed logins for one user name per window before logins for it are refused (429)'),
        window: duration('The window the failures are counted in').prefault('15m'),
      })
      .strict()
      .prefault({})
      .describe('Login rate limits, counted in the state store'),
    scannerProbeInterval: duration(
      'How often the supervisor pings each configured external scanner (clamd PING, spamd PING, Rspamd GET /ping) for /healthz, the dashboard and moat_scanner_up; 0 turns the probes off',
    ).prefault('30s'),
  })
  .strict()
  .prefault({});

export type AdminConfig = z.infer<typeof adminSchema>;
