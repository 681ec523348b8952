/** A data-phase context for the rules' unit tests: a local session, unknown envelope. */
import type { DataContext, PhaseContext } from '../../pipeline/types.js';

const session = { id: 'test', clientIp: '192.0.2.1', clientPort: 1, localIp: '127.0.0.1', localPort: 25 };
export const SESSION_FOR_TESTS: PhaseContext & DataContext = { session, facts: {}, tx: { authResults: [] }, isLocal: () => true, from: null, recipients: [] };
