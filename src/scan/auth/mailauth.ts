/**
 * mailauth, loaded on first use. Its module graph is the heaviest of the program (a third of the
 * start-up time of every process): the supervisor, the CLI commands and a worker that never sees
 * a message need not pay for it.
 */
type Mailauth = typeof import('mailauth');

let loading: Promise<Mailauth> | null = null;

export function mailauth(): Promise<Mailauth> {
  loading ??= import('mailauth');
  return loading;
}
