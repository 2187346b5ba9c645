// The `_Server` database every ovsdb-server ≥ 2.9 serves. Its `Database` table has one row per database:
// name, model ("standalone" | "clustered" | "relay"), connected, leader, schema, cid, sid, index. A clustered
// client checks that row before trusting a server (ovsdb-cs.c, ovsdb_cs_check_server_db__): the database
// must exist, be connected to its cluster, be the leader unless reading from followers is allowed, and its
// Raft `index` must not be older than one already seen (a server that was partitioned away and still
// serves an old log must not roll a replica back in time).

export type DatabaseModel = 'standalone' | 'clustered' | 'relay';

/** One row of `_Server.Database`, decoded. */
export interface ServerDatabaseRow {
  readonly name: string;
  readonly model: DatabaseModel;
  readonly connected: boolean;
  readonly leader: boolean;
  /** Cluster id (clustered only). */
  readonly cid: string | undefined;
  /** Server id (clustered only). */
  readonly sid: string | undefined;
  /** Last committed Raft log index this server has applied (clustered only). */
  readonly index: number | undefined;
  /** Whether the `schema` column is set: a clustered database joining a cluster has none yet. */
  readonly hasSchema: boolean;
}

export type ServerCheck =
  | { readonly ok: true; readonly row: ServerDatabaseRow }
  | {
      readonly ok: false;
      readonly reason: 'no-database' | 'no-schema' | 'not-connected' | 'not-leader' | 'stale';
      readonly message: string;
    };

/**
 * Tracks what has been seen across servers: the highest index per cluster id. Pure: feed it rows, it
 * answers whether the server is usable.
 */
export class ServerTracker {
  #minIndex = 0;
  #cid: string | undefined;

  constructor(
    readonly database: string,
    readonly leaderOnly: boolean,
  ) {}

  /** The highest Raft index accepted so far (0 when none or when the cluster changed). */
  get minIndex(): number {
    return this.#minIndex;
  }

  check(rows: readonly ServerDatabaseRow[]): ServerCheck {
    const row = rows.find((r) => r.name === this.database);
    if (!row)
      return {
        ok: false,
        reason: 'no-database',
        message: `the server has no database "${this.database}"`,
      };
    if (row.model === 'standalone') return { ok: true, row };
    if (!row.hasSchema)
      return { ok: false, reason: 'no-schema', message: `database "${this.database}" has no schema yet` };
    if (row.model === 'relay') {
      // A relay forwards to its source; it is never the leader but it is a valid place to read and write.
      return { ok: true, row };
    }
    if (!row.connected)
      return {
        ok: false,
        reason: 'not-connected',
        message: `the server is not connected to the cluster of "${this.database}"`,
      };
    if (this.leaderOnly && !row.leader)
      return {
        ok: false,
        reason: 'not-leader',
        message: `the server is not the leader of "${this.database}"`,
      };
    if (row.cid !== undefined && this.#cid !== undefined && row.cid !== this.#cid) {
      // A different cluster (the database was re-created): indexes are not comparable.
      this.#minIndex = 0;
    }
    if (row.index !== undefined && row.index < this.#minIndex)
      return {
        ok: false,
        reason: 'stale',
        message: `the server's index ${row.index} is older than ${this.#minIndex}, already seen`,
      };
    if (row.cid !== undefined) this.#cid = row.cid;
    if (row.index !== undefined && row.index > this.#minIndex) this.#minIndex = row.index;
    return { ok: true, row };
  }

  /** Called while monitoring `_Server`: a newer index raises the floor. */
  observe(row: ServerDatabaseRow): void {
    if (row.name !== this.database) return;
    if (row.cid !== undefined) this.#cid = row.cid;
    if (row.index !== undefined && row.index > this.#minIndex) this.#minIndex = row.index;
  }
}

/**
 * Decodes a `_Server.Database` row from its wire form (select result or update2 row; optional columns are
 * `["set",[]]` when empty or absent when at their default).
 */
export function decodeServerDatabaseRow(wire: Record<string, unknown>): ServerDatabaseRow {
  const opt = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      if (v[0] === 'set') {
        const first = (v[1] as unknown[])[0];
        return first === undefined ? undefined : opt(first);
      }
      if (v[0] === 'uuid') return v[1];
    }
    return v;
  };
  const cid = opt(wire.cid);
  const sid = opt(wire.sid);
  const index = opt(wire.index);
  const schema = opt(wire.schema);
  return {
    name: typeof wire.name === 'string' ? wire.name : '',
    model: (typeof wire.model === 'string' ? wire.model : 'standalone') as DatabaseModel,
    connected: wire.connected === true,
    leader: wire.leader === true,
    cid: typeof cid === 'string' ? cid : undefined,
    sid: typeof sid === 'string' ? sid : undefined,
    index: typeof index === 'number' ? index : undefined,
    hasSchema: typeof schema === 'string' && schema !== '',
  };
}
