// The shared flag parser of the suites (bench/lib/options.ts): every suite takes --quick and --out,
// overrides its preset flag by flag, refuses unknown flags and positionals, and its checks fail
// with the suite's name, the option and the bad value.
import { describe, expect, it } from 'vitest';
import { checkConnectionsOptions, connectionsOptionsFromArgs, CONNECTIONS_QUICK_PRESET } from '../connections/options.js';
import { checkFilterOptions, filterOptionsFromArgs, FILTER_FULL_PRESET } from '../filter/options.js';
import { checkOptions, QUICK_PRESET, relayOptionsFromArgs } from '../relay/options.js';
import { checkSoakOptions, soakOptionsFromArgs, SOAK_FULL_PRESET } from '../soak/options.js';
import { checks, parseFlags, seconds } from './options.js';

describe('bench options', () => {
  it('parses --quick, --out and the spec, and refuses the rest', () => {
    expect(parseFlags(['--quick', '--out', 'x.json', '--n', '3'], { n: 'string' })).toMatchObject({ quick: true, out: 'x.json', n: '3' });
    expect(parseFlags([], { n: 'string' }).quick).toBe(false);
    expect(() => parseFlags(['--nope'], { n: 'string' })).toThrow(/Unknown option '--nope'/);
    expect(() => parseFlags(['extra'], {})).toThrow(/positional/);
  });

  it('overrides each preset flag by flag', () => {
    const relay = relayOptionsFromArgs(['--quick', '--sizes', '100, 200', '--modes', 'reuse', '--systems', 'moat', '--out', 'r.json']);
    expect(relay.out).toBe('r.json');
    expect(relay.options).toMatchObject({ sizes: [100, 200], modes: ['reuse'], systems: ['moat'], messages: QUICK_PRESET.messages });
    expect(connectionsOptionsFromArgs(['--quick', '--idle', '50', '--systems', 'moat']).options).toMatchObject({ idleSessions: 50, slowClients: CONNECTIONS_QUICK_PRESET.slowClients });
    expect(filterOptionsFromArgs(['--moat-spamassassin', '--mixes', 'synthetic']).options).toMatchObject({ moatSpamassassin: true, mixes: ['synthetic'], messages: FILTER_FULL_PRESET.messages });
    expect(soakOptionsFromArgs(['--duration', '5m', '--down', '15s', '--rate', '5']).options).toMatchObject({ durationSec: 300, downSec: 15, ratePerSec: 5, flapEverySec: SOAK_FULL_PRESET.flapEverySec });
  });

  it('fails naming the suite, the option and the value', () => {
    expect(() => checkOptions(relayOptionsFromArgs(['--sessions', '0', '--systems', 'moat']).options)).toThrow('relay bench: sessions must be an integer in 1..1000, got 0');
    expect(() => checkOptions(relayOptionsFromArgs(['--systems', 'exim']).options)).toThrow('relay bench: unknown system exim');
    expect(() => checkOptions(relayOptionsFromArgs(['--modes', 'both', '--systems', 'moat']).options)).toThrow('relay bench: unknown connection mode both (new, reuse)');
    expect(() => checkConnectionsOptions(connectionsOptionsFromArgs(['--idle', 'many', '--systems', 'moat']).options)).toThrow('connections bench: idleSessions must be an integer in 1..20000, got NaN');
    expect(() => checkFilterOptions(filterOptionsFromArgs(['--mixes', 'odd']).options)).toThrow('filter bench: unknown mix odd (synthetic, corpus)');
    expect(() => checkSoakOptions(soakOptionsFromArgs(['--rate', '0']).options)).toThrow('soak bench: ratePerSec must be in 0.1..2000, got 0');
    expect(() => soakOptionsFromArgs(['--duration', 'an hour'])).toThrow('soak bench: --duration must be a duration such as 30s, 5m or 1h, got an hour');
    expect(seconds('soak', 'down', '1h')).toBe(3600);
    expect(() => checks('scan').int('repeats', 11, 1, 10)).toThrow('scan bench: repeats must be an integer in 1..10, got 11');
    expect(() => checks('filter').nonEmpty('systems', [])).toThrow('filter bench: no systems');
  });
});
