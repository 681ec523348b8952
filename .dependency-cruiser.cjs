/** Import boundaries (CONVENTIONS.md 1) and no cycles. */
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
