// What the core needs from OVSDB: a read view of the Open_vSwitch database (the replica) and raw RFC 7047
// transactions. Operations are built here as plain data (RFC 7047 §5.2) and sent in ONE transact per
// change, so each change is atomic; the view is the plugin's only memory (PROTOCOLS.md §2: the updates a
// transaction causes arrive before its reply, so the view already shows them when transact resolves).

/** A Bridge row, decoded (only the columns the core uses). */
export interface BridgeRow {
  readonly uuid: string;
  readonly name: string;
  readonly datapathType: string;
  readonly externalIds: Readonly<Record<string, string>>;
  readonly ports: readonly string[];
}

export interface PortRow {
  readonly uuid: string;
  readonly name: string;
  readonly tag: number | undefined;
  readonly trunks: readonly number[];
  readonly externalIds: Readonly<Record<string, string>>;
  readonly interfaces: readonly string[];
}

export interface InterfaceRow {
  readonly uuid: string;
  readonly name: string;
  readonly type: string;
  readonly externalIds: Readonly<Record<string, string>>;
  readonly ofport: number | undefined;
  readonly error: string | undefined;
}

/** The replica as the core reads it. All lookups are synchronous and see every committed transaction. */
export interface OvsView {
  readonly connected: boolean;
  rootUuid(): string | undefined;
  /** external_ids of the Open_vSwitch root row. */
  rootExternalIds(): Readonly<Record<string, string>>;
  bridges(): Iterable<BridgeRow>;
  bridge(uuid: string): BridgeRow | undefined;
  bridgeByName(name: string): BridgeRow | undefined;
  ports(): Iterable<PortRow>;
  port(uuid: string): PortRow | undefined;
  portByName(name: string): PortRow | undefined;
  iface(uuid: string): InterfaceRow | undefined;
  ifaceByName(name: string): InterfaceRow | undefined;
  /** The bridge holding a port. */
  bridgeOfPort(portUuid: string): BridgeRow | undefined;
  /** Called after any change to Bridge, Port or Interface rows; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** Sends raw RFC 7047 operations to the Open_vSwitch database in one transaction; returns the results. */
export interface OvsTransactor {
  transact(operations: readonly OvsOp[]): Promise<unknown[]>;
}

export type OvsBackend = OvsView & OvsTransactor & { close?(): Promise<void> };

export type OvsOp = Readonly<Record<string, unknown>>;
export type Atom = string | number | boolean | readonly ['uuid' | 'named-uuid', string];

// ---- RFC 7047 §5.1 notation ----------------------------------------------------------------------------

export const uuid = (u: string) => ['uuid', u] as const;
export const named = (n: string) => ['named-uuid', n] as const;
/** A set: a bare atom when it has exactly one element, otherwise ["set", [...]] (RFC 7047 §5.1). */
export function set(atoms: readonly Atom[]): unknown {
  return atoms.length === 1 ? atoms[0] : ['set', atoms];
}
export function map(obj: Readonly<Record<string, string>>): unknown {
  return ['map', Object.entries(obj)];
}

// ---- operations (RFC 7047 §5.2) ---------------------------------------------------------------------------

const byUuid = (u: string) => [['_uuid', '==', uuid(u)]];

export function insert(table: string, row: Record<string, unknown>, uuidName: string): OvsOp {
  return { op: 'insert', table, row, 'uuid-name': uuidName };
}

export function update(table: string, rowUuid: string, row: Record<string, unknown>): OvsOp {
  return { op: 'update', table, where: byUuid(rowUuid), row };
}

export function mutate(
  table: string,
  rowUuid: string,
  column: string,
  mutator: 'insert' | 'delete',
  value: unknown,
): OvsOp {
  return { op: 'mutate', table, where: byUuid(rowUuid), mutations: [[column, mutator, value]] };
}

/**
 * Optimistic concurrency: the transaction aborts ("timed out" with timeout 0) unless `column` of the row
 * still equals `value` — so two writers deciding from the same view (e.g. picking a free VLAN) cannot both
 * commit (RFC 7047 §5.2.6).
 */
export function waitUnchanged(table: string, rowUuid: string, column: string, value: unknown): OvsOp {
  return {
    op: 'wait',
    table,
    where: byUuid(rowUuid),
    columns: [column],
    until: '==',
    rows: [{ [column]: value }],
    timeout: 0,
  };
}

export function comment(text: string): OvsOp {
  return { op: 'comment', comment: text };
}

/** The error of the first failed operation in a transact result, or undefined when all succeeded. */
export function transactionFailure(
  results: readonly unknown[],
  ops: readonly OvsOp[],
): { index: number; error: string; details: string | undefined; op: OvsOp | undefined } | undefined {
  for (let i = 0; i < results.length; i++) {
    const r = results[i] as { error?: unknown; details?: unknown } | null;
    if (r && typeof r === 'object' && typeof r.error === 'string') {
      return {
        index: i,
        error: r.error,
        details: typeof r.details === 'string' ? r.details : undefined,
        op: ops[i],
      };
    }
  }
  return undefined;
}

/** The uuid an insert produced, from its result element. */
export function insertedUuid(results: readonly unknown[], index: number): string | undefined {
  const r = results[index] as { uuid?: unknown } | undefined;
  return Array.isArray(r?.uuid) && typeof r.uuid[1] === 'string' ? r.uuid[1] : undefined;
}
