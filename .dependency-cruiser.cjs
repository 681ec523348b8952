/** Import boundaries (CONVENTIONS.md 1) and no cycles. */

/** The config schema and what it may import: config slices and pure parsing helpers (see config-loads-no-implementation). */
const CONFIG_CLOSURE = [
  '^src/config/(?!load\\.ts$)[^/]+\\.ts$',
  '/config\\.ts$',
  '^src/platform/tls-config\\.ts$',
  '^src/smtp/address\\.ts$',
  '^src/smtp/server/ip\\.ts$',
  '^src/checks/options\\.ts$',
  '^src/checks/client-ip\\.ts$',
  '^src/checks/match/(domains|networks)\\.ts$',
  '^src/checks/dnsbl/sites\\.ts$',
  '^src/checks/rdns/dynamic\\.ts$',
  '^src/scan/options\\.ts$',
  '^src/scan/urls/zones\\.ts$',
  '^src/scan/attachments/names\\.ts$',
].join('|');

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'smtp-knows-no-policy',
      comment: 'The protocol engine never imports checks, scanning, the queue or the relay.',
      severity: 'error',
      from: { path: '^src/smtp/' },
      to: { path: '^src/(pipeline|checks|scan|queue|relay|bounce|quarantine|store|admin|gateway|cli|config)/' },
    },
    {
      name: 'policy-knows-no-sockets',
      comment: 'Checks and the pipeline see typed context objects, never sockets.',
      severity: 'error',
      from: { path: '^src/(pipeline|checks|scan)/' },
      to: { path: '^(node:)?(net|tls|dgram)$' },
    },
    {
      name: 'only-main-wires-adapters',
      comment: 'Nothing imports the composition root (src/main*.ts) or the CLI, but the composition root and the CLI.',
      severity: 'error',
      from: { pathNot: '^src/(cli/|main[^/]*\\.ts$)' },
      to: { path: '^src/(main|cli/)' },
    },
    {
      name: 'config-loads-no-implementation',
      comment:
        'The config schema (src/config, every config.ts slice) and the few pure parsing helpers it uses load no implementation: ' +
        'parsing a config (check-config, every CLI command, each worker) must not pull in mailauth, the scanners, the stores or their libraries. ' +
        'A new helper a slice needs goes into CONFIG_CLOSURE only if it is pure parsing too. src/config/load.ts is not a schema: ' +
        'it also builds the checks to validate the policy against their symbols.',
      severity: 'error',
      from: { path: CONFIG_CLOSURE, pathNot: '^src/config/load\\.ts$' },
      to: { dependencyTypesNot: ['type-only', 'core'], pathNot: [CONFIG_CLOSURE, '^node_modules/(zod|ipaddr\\.js)/'] },
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      from: { path: '^src/', pathNot: '\\.test\\.ts$' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    exclude: { path: '\\.test\\.ts$' },
  },
};
