// The public surface of @ovs-container-network/ovn. Each block names what is public; nothing else is
// importable. Blocks: errors, builders (typed NB operations on a Transaction), then the runtime
// (propagation waits, chassis setup, show) appended at the end.

export const VERSION = '0.1.0';

// --- errors ---
export {
  OvnAbortError,
  OvnConflictError,
  OvnError,
  type OvnErrorCode,
  OvnInvalidArgumentError,
  OvnNotFoundError,
  OvnTimeoutError,
  OvnTransactionError,
} from './errors.js';

// --- builders ---

// --- runtime (propagation, chassis, show) ---
