#!/usr/bin/env node
/**
 * The `moat` command (DESIGN.md §7). Thin commands over the same services; a cluster worker process
 * comes through here too and is handed to the worker runtime.
 */
import cluster from 'node:cluster';
import { readdirSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';

/**
 * A command's implementation, imported when the command runs: `moat queue list` or `moat --help`
 * need not load the gateway, its checks and their libraries (seconds of start-up on a busy host),
 * nor does a worker process load the CLI's commands.
 */
const lazy =
  <F extends (...a: never[]) => Promise<unknown>>(load: () => Promise<F>): F =>
  (async (...a: Parameters<F>) => (await load())(...a)) as F;

const queueCommand = lazy(async () => (await import('./queue-command.js')).queueCommand);
const passwdCommand = lazy(async () => (await import('./outbound-commands.js')).passwdCommand);
const dkimKeygenCommand = lazy(async () => (await import('./outbound-commands.js')).dkimKeygenCommand);
const quarantineCommand = lazy(async () => (await import('./quarantine-command.js')).quarantineCommand);
const scanCommand = lazy(async () => (await import('./scan-command.js')).scanCommand);
const learnCommand = lazy(async () => (await import('./learn-command.js')).learnCommand);
const explainCommand = lazy(async () => (await import('./explain-command.js')).explainCommand);
const logCommand = lazy(async () => (await import('./explain-command.js')).logCommand);
const adminCommand = lazy(async () => (await import('./admin-command.js')).adminCommand);
const sendersCommand = lazy(async () => (await import('./senders-command.js')).sendersCommand);
const migrateStore = lazy(async () => (await import('./store-migrate.js')).migrateStore);
const spoolMoveCommand = lazy(async () => (await import('./spool-move.js')).spoolMoveCommand);

async function load(file: string): Promise<Config> {
  const { formatConfigErrors, loadConfig } = await import('../config/load.js');
  const r = await loadConfig(file);
  if (!r.ok) {
    process.stderr.write(`${file}: invalid configuration\n${formatConfigErrors(r.errors)}\n`);
    process.exit(1);
  }
  return r.config;
}

function cli(): Command {
  const program = new Command('moat').description('Moat: an SMTP spam gateway in front of your LAN mail server').version('0.1.0');
  program
    .command('start')
    .description('start the gateway')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .action(async (o: { config: string }) => {
      const config = await load(o.config);
      const [{ createLogger }, { nodeName }, { runSupervisor }, { StartupError }] = await Promise.all([
        import('../platform/logger.js'),
        import('../main-stores.js'),
        import('./supervisor.js'),
        import('./privileges.js'),
      ]);
      const logger = createLogger({ level: config.log.level, format: config.log.format }).child({ node: nodeName(config) });
      try {
        process.exit(await runSupervisor(o.config, config, logger));
      } catch (e) {
        if (!(e instanceof StartupError)) throw e;
        logger.error('gateway.start-refused', { error: e.message });
        process.stderr.write(`moat: ${e.message}\n`);
        process.exit(1);
      }
    });
  program
    .command('check-config')
    .description('check a configuration file; prints every error with its path')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .action(async (o: { config: string }) => {
      const { formatConfigErrors, loadConfig } = await import('../config/load.js');
      const r = await loadConfig(o.config);
      if (!r.ok) {
        process.stderr.write(`${formatConfigErrors(r.errors)}\n`);
        process.exit(1);
      }
      // Rule file problems do not stop the gateway (the rule is skipped): shown, not fatal.
      for (const w of r.warnings) process.stdout.write(`warning: ${w.path}: ${w.message}\n`);
      process.stdout.write(`${o.config}: ok (${Object.keys(r.config.domains).length} domain(s), ${r.config.listen.length} listener(s))\n`);
    });
  program
    .command('symbols')
    .description('list every symbol the configured checks can report, with its score, action and description')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('--json', 'machine-readable output')
    .action(async (o: { config: string; json?: boolean }) => {
      const config = await load(o.config);
      const [{ checksForValidation }, { createPolicy }] = await Promise.all([import('../checks/index.js'), import('../pipeline/runner.js')]);
      const policy = createPolicy(checksForValidation(config.checks, config.domains, config, config.outbound, { read: (p) => readFileSync(p), list: (d) => readdirSync(d) }), config.policy, config.outbound.policy);
      const rows = policy.allSymbols().map((s) => {
        const { score, action } = policy.defaultProfile.score({ symbol: s.name }, s);
        return { name: s.name, score, action, description: s.description };
      });
      if (o.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
      else for (const r of rows) process.stdout.write(`${r.name.padEnd(32)} ${String(r.score).padStart(7)}  ${(r.action ?? '').padEnd(10)} ${r.description}\n`);
    });
  program
    .command('passwd <user>')
    .description('print a password-file line for SMTP AUTH (outbound.auth.passwordFile); the password is read from standard input')
    .action(async (user: string) => process.exit(await passwdCommand(user)));
  const dkim = program.command('dkim').description('DKIM keys for outbound signing');
  dkim
    .command('keygen <domain> <selector>')
    .description('write a new private key (mode 0600) and print the DNS TXT record to publish')
    .option('--algorithm <rsa|ed25519>', 'key type', 'rsa')
    .option('--bits <n>', 'RSA modulus length', '2048')
    .option('--out <file>', 'key file (default DOMAIN.SELECTOR.key)')
    .action(async (domain: string, selector: string, o: { algorithm: string; bits: string; out?: string }) => process.exit(await dkimKeygenCommand(domain, selector, o)));
  program
    .command('scan')
    .description('offline verdict of message files, directories, Maildirs and mbox files through the configured content checks')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('--json', 'one JSON object per message and line')
    .argument('<path...>', 'message files, directories, Maildirs or mbox files')
    .action(async (paths: string[], o: { config: string; json?: boolean }) => {
      const config = await load(o.config);
      // A Bayes database learned by another tokenizer version scores worse: said once, on stderr.
      const stale = await (await import('./learn-command.js')).bayesTokenizerNotice(config);
      if (stale !== null) process.stderr.write(`moat: ${stale}\n`);
      process.exit(await scanCommand(config, paths, { json: o.json === true }));
    });
  program
    .command('learn')
    .description('train Bayes: learn messages as spam or ham (files, directories, Maildirs, mbox), or forget them')
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('--forget', 'unlearn the messages under the paths')
    .option('--expire', 'remove old rare tokens now (checks.bayes.expiry)')
    .argument('[args...]', 'spam|ham PATH…, or PATH… with --forget')
    .action(async (args: string[], o: { config: string; forget?: boolean; expire?: boolean }) => {
      const [first, ...rest] = args;
      const usage = (): never => {
        process.stderr.write('usage: moat learn --config FILE spam|ham PATH…  |  --forget PATH…  |  --expire\n');
        return process.exit(2);
      };
      const config = await load(o.config);
      if (o.expire === true) process.exit(await learnCommand(config, { op: 'expire' }));
      if (o.forget === true) process.exit(args.length > 0 ? await learnCommand(config, { op: 'forget', paths: args }) : usage());
      if ((first !== 'spam' && first !== 'ham') || rest.length === 0) return usage();
      process.exit(await learnCommand(config, { op: 'learn', as: first, paths: rest }));
    });
  const queue = program.command('queue').description('inspect and act on the delivery queue (live or offline)');
  const withConfig = (c: Command): Command => c.requiredOption('-c, --config <file>', 'configuration file (YAML)').option('--json', 'machine-readable output');
  withConfig(queue.command('list').description('list queued messages')).action(async (o: { config: string; json?: boolean }) =>
    process.exit(await queueCommand(await load(o.config), { op: 'list' }, o.json === true)),
  );
  withConfig(queue.command('show <id>').description('show one message and its recipients')).action(async (id: string, o: { config: string; json?: boolean }) =>
    process.exit(await queueCommand(await load(o.config), { op: 'show', id }, o.json === true)),
  );
  withConfig(queue.command('flush').description('attempt every queued message now')).action(async (o: { config: string; json?: boolean }) =>
    process.exit(await queueCommand(await load(o.config), { op: 'flush' }, o.json === true)),
  );
  withConfig(queue.command('retry <id>').description('attempt one message now')).action(async (id: string, o: { config: string; json?: boolean }) =>
    process.exit(await queueCommand(await load(o.config), { op: 'retry', id }, o.json === true)),
  );
  withConfig(queue.command('delete <id>').description('delete one message without notice')).action(async (id: string, o: { config: string; json?: boolean }) =>
    process.exit(await queueCommand(await load(o.config), { op: 'delete', id }, o.json === true)),
  );
  program
    .command('spool')
    .description("this node's delivery spool")
    .command('move')
    .description("move a dead node's spool (a spool root or one shard directory) into this node's spool; delivered from the gateway's next start (docs/scaling.md)")
    .requiredOption('-c, --config <file>', 'configuration file (YAML) of this node')
    .requiredOption('--from <dir>', "the other node's spool, e.g. /mnt/mx1/var/lib/moat/spool")
    .action(async (o: { config: string; from: string }) => {
      const config = await load(o.config);
      try {
        process.exit(await spoolMoveCommand(o.from, join(config.dataDir, 'spool'), (line) => process.stdout.write(`${line}\n`)));
      } catch (e) {
        process.stderr.write(`moat: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      }
    });
  const quarantine = program.command('quarantine').description('review quarantined messages (live or offline)');
  withConfig(quarantine.command('list').description('list quarantined messages, newest first')).action(async (o: { config: string; json?: boolean }) =>
    process.exit(await quarantineCommand(await load(o.config), { op: 'quarantine-list' }, o.json === true)),
  );
  withConfig(quarantine.command('show <id>').description('show one message: envelope, verdict, headers')).action(async (id: string, o: { config: string; json?: boolean }) =>
    process.exit(await quarantineCommand(await load(o.config), { op: 'quarantine-show', id }, o.json === true)),
  );
  withConfig(quarantine.command('release <id>').description('deliver a quarantined message without filtering it again'))
    .option('--learn-ham', 'first learn it as ham (Bayes)')
    .action(async (id: string, o: { config: string; json?: boolean; learnHam?: boolean }) =>
      process.exit(await quarantineCommand(await load(o.config), { op: 'quarantine-release', id }, o.json === true, o.learnHam === true ? 'ham' : undefined)),
    );
  withConfig(quarantine.command('delete <id>').description('delete a quarantined message'))
    .option('--learn-spam', 'first learn it as spam (Bayes)')
    .action(async (id: string, o: { config: string; json?: boolean; learnSpam?: boolean }) =>
      process.exit(await quarantineCommand(await load(o.config), { op: 'quarantine-delete', id }, o.json === true, o.learnSpam === true ? 'spam' : undefined)),
    );
  program
    .command('store')
    .description('the state and message stores')
    .command('migrate')
    .description('copy a node\'s embedded SQLite stores into the cluster stores (gateway stopped; see docs/scaling.md)')
    .requiredOption('--from <store>', '"sqlite:/var/lib/moat/state.db", "sqlite:/var/lib/moat/bayes.db" or "sqlite:/var/lib/moat/store.db" (message log and console users)')
    .requiredOption('--to <url>', 'redis://HOST:PORT/DB (for state.db and bayes.db) or postgres://USER@HOST:PORT/DB (for store.db)')
    .option('--prefix <prefix>', 'Redis key prefix (as redis.keyPrefix)', 'moat:')
    .option('--node <name>', 'node name written with the copied log entries', hostname())
    .option('--quarantine <dir>', 'with --to postgres://: also copy this quarantine directory (dataDir/quarantine)')
    .action(async (o: { from: string; to: string; prefix: string; node: string; quarantine?: string }) => {
      try {
        await migrateStore(
          { from: o.from, to: o.to, keyPrefix: o.prefix, node: o.node, stagingDir: join(tmpdir(), 'moat-migrate'), ...(o.quarantine !== undefined ? { quarantine: o.quarantine } : {}) },
          (line) => process.stdout.write(`${line}\n`),
        );
        process.exit(0);
      } catch (e) {
        process.stderr.write(`moat: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      }
    });
  const admin = program.command('admin').description('console users (in the configured store: store.db or PostgreSQL); passwords are read from the terminal or standard input, never from arguments');
  withConfig(admin.command('add-user <name>').description('add a console user; asks for the password (or reads its first line from stdin)'))
    .requiredOption('--role <role>', 'admin (everything), readonly (sees, changes nothing) or helpdesk (quarantine only)')
    .action(async (name: string, o: { config: string; json?: boolean; role: string }) => process.exit(await adminCommand(await load(o.config), { op: 'add-user', name, role: o.role }, o.json === true)));
  withConfig(admin.command('set-password <name>').description('change a user\'s password (ends its sessions)')).action(async (name: string, o: { config: string; json?: boolean }) =>
    process.exit(await adminCommand(await load(o.config), { op: 'set-password', name }, o.json === true)),
  );
  withConfig(admin.command('delete-user <name>').description('delete a console user (ends its sessions)')).action(async (name: string, o: { config: string; json?: boolean }) =>
    process.exit(await adminCommand(await load(o.config), { op: 'delete-user', name }, o.json === true)),
  );
  withConfig(admin.command('list-users').description('list the console users and their roles')).action(async (o: { config: string; json?: boolean }) =>
    process.exit(await adminCommand(await load(o.config), { op: 'list-users' }, o.json === true)),
  );
  const senders = program.command('senders').description('run-time sender allow/block lists (beside checks.senderLists in the config; the console\'s "Sender lists")');
  withConfig(senders.command('list').description('list the entries with who added them and when')).action(async (o: { config: string; json?: boolean }) =>
    process.exit(await sendersCommand(await load(o.config), { op: 'list' }, o.json === true)),
  );
  for (const list of ['allow', 'block'] as const) {
    withConfig(senders.command(`${list} <value>`).description(`${list === 'allow' ? 'accept mail from' : 'refuse mail from (550 5.7.1 at MAIL)'} an address ("user@example.com") or a domain ("example.com", ".example.com" its subdomains)`))
      .option('--note <text>', 'why (shown in the list)')
      .action(async (value: string, o: { config: string; json?: boolean; note?: string }) => process.exit(await sendersCommand(await load(o.config), { op: 'put', list, value, note: o.note ?? '' }, o.json === true)));
  }
  withConfig(senders.command('remove <idOrValue>').description('remove an entry by its id or value')).action(async (what: string, o: { config: string; json?: boolean }) =>
    process.exit(await sendersCommand(await load(o.config), { op: 'remove', what }, o.json === true)),
  );
  withConfig(program.command('explain <queueId>').description('the whole story of one message from the message log: envelope, verdict, delivery')).action(
    async (id: string, o: { config: string; json?: boolean }) => process.exit(await explainCommand(await load(o.config), id, o.json === true)),
  );
  const when = (v: string): number => {
    const ago = parseDuration(v);
    const t = ago !== null ? Date.now() - ago : Date.parse(v);
    if (Number.isNaN(t)) throw new Error(`expected a duration ("1h") or a date, got ${v}`);
    return t;
  };
  withConfig(program.command('log').description('search the message log, newest first'))
    .option('--since <when>', 'entries from this long ago ("2h") or this date on')
    .option('--until <when>', 'entries before this long ago or this date')
    .option('--sender <address>', 'envelope sender (case ignored); "@domain" for a whole domain')
    .option('--recipient <address>', 'a recipient (case ignored); "@domain" for a whole domain')
    .option('--client <ip>', 'client IP address')
    .option('--subject <text>', 'subject starts with this (case ignored)')
    .option('--contains', 'with --subject: subject contains it anywhere')
    .option('--action <action>', 'accept, tag, quarantine, reject, defer or abandoned')
    .option('--limit <n>', 'entries per page (1-1000)', '50')
    .option('--cursor <cursor>', 'the next page, as printed after the previous one')
    .action(async (o: { config: string; json?: boolean; since?: string; until?: string; sender?: string; recipient?: string; client?: string; subject?: string; contains?: boolean; action?: string; limit: string; cursor?: string }) => {
      const config = await load(o.config);
      const { since, until, json, limit, config: _file, ...rest } = o;
      let range: { since?: number; until?: number };
      try {
        range = { ...(since !== undefined ? { since: when(since) } : {}), ...(until !== undefined ? { until: when(until) } : {}) };
      } catch (e) {
        process.stderr.write(`moat: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      }
      process.exit(await logCommand(config, { ...rest, ...range, limit: Math.max(1, Math.min(1000, Number(limit) || 50)) }, json === true));
    });
  return program;
}

if (cluster.isWorker) {
  void (await import('./worker-process.js')).runWorkerProcess();
} else {
  await cli().parseAsync(process.argv);
}
