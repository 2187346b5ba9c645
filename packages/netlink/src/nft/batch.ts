// A batch of nf_tables changes, built as data (pure): each method appends one request and a description
// for error messages. Nothing is sent until NftHandle.commit(batch), which applies it as one transaction.
import { NetlinkInvalidArgumentError } from '../errors.js';
import { NLM_F } from '../wire.js';
import type { Expr } from './expr.js';
import {
  chainAttrs,
  commentUserdata,
  elementsAttrs,
  NFPROTO,
  NFT_FAMILIES,
  NFT_MSG,
  NFT_USERDATA_MAXLEN,
  type NftBaseChainSpec,
  type NftFamily,
  type NftRequest,
  type NftSet,
  type NftSetElement,
  NLM_F_APPEND,
  ruleAttrs,
  setAttrs,
  setSelectorAttrs,
  tableAttrs,
} from './wire.js';

/** One request of a batch and what it does, in `nft` words (`add rule inet t c`). */
export interface NftOp {
  request: NftRequest;
  describe: string;
}

export interface AddRuleSpec {
  family: NftFamily;
  table: string;
  chain: string;
  expressions: readonly Expr[];
  /** Stored as libnftnl's comment TLV in NFTA_RULE_USERDATA, shown by `nft list` as `comment "…"`. */
  comment?: string | undefined;
  /** Raw NFTA_RULE_USERDATA instead of a comment. */
  userdata?: Buffer | undefined;
  /**
   * Where: by default appended at the end of the chain. `{after: handle}` / `{before: handle}` place it next
   * to an existing rule; `'start'` inserts it first (nf_tables_newrule: NLM_F_APPEND and NFTA_RULE_POSITION).
   */
  at?: 'end' | 'start' | { after: number } | { before: number } | undefined;
}

/** What a name may be: NFT_NAME_MAXLEN is 256 including the NUL (nf_tables.h). */
const NAME_ALLOWED = '1..255 bytes without NUL';

export function validateNftName(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > 255 || v.includes('\0')) {
    throw new NetlinkInvalidArgumentError(field, v, NAME_ALLOWED);
  }
  return v;
}

export function validateFamily(v: unknown, field = 'family'): NftFamily {
  if (typeof v !== 'string' || !(NFT_FAMILIES as string[]).includes(v)) {
    throw new NetlinkInvalidArgumentError(field, v, NFT_FAMILIES.join(', '));
  }
  return v as NftFamily;
}

export function validateHandle(v: unknown, field = 'handle'): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new NetlinkInvalidArgumentError(field, v, 'a rule/chain/set handle (integer > 0)');
  }
  return v;
}

export class NftBatch {
  readonly ops: NftOp[] = [];
  #setIds = 0;

  get length(): number {
    return this.ops.length;
  }

  #push(msg: number, flags: number, family: NftFamily | 'unspec', attrs: Buffer, describe: string): this {
    this.ops.push({ request: { msg, flags, family: NFPROTO[family], attrs }, describe });
    return this;
  }

  /** NEWTABLE. Without `exclusive` an existing table is kept as it is (no EEXIST), like `nft add table`. */
  addTable(
    t: { family: NftFamily; name: string; flags?: number },
    options: { exclusive?: boolean } = {},
  ): this {
    const family = validateFamily(t.family);
    const name = validateNftName(t.name, 'table');
    const flags = NLM_F.CREATE | (options.exclusive === true ? NLM_F.EXCL : 0);
    return this.#push(
      NFT_MSG.NEWTABLE,
      flags,
      family,
      tableAttrs({ name, flags: t.flags }, true),
      `add table ${family} ${name}`,
    );
  }

  /** DELTABLE: the table with every chain, rule and set in it. ENOENT if it does not exist. */
  deleteTable(t: { family: NftFamily; name: string }): this {
    const family = validateFamily(t.family);
    const name = validateNftName(t.name, 'table');
    return this.#push(
      NFT_MSG.DELTABLE,
      0,
      family,
      tableAttrs({ name }, false),
      `delete table ${family} ${name}`,
    );
  }

  /** NEWCHAIN: a regular chain, or with `base` a base chain on a hook. Idempotent unless `exclusive`. */
  addChain(
    c: { family: NftFamily; table: string; name: string; base?: NftBaseChainSpec | undefined },
    options: { exclusive?: boolean } = {},
  ): this {
    const family = validateFamily(c.family);
    const table = validateNftName(c.table, 'table');
    const name = validateNftName(c.name, 'chain');
    const flags = NLM_F.CREATE | (options.exclusive === true ? NLM_F.EXCL : 0);
    const base = c.base === undefined ? undefined : validateBase(c.base);
    return this.#push(
      NFT_MSG.NEWCHAIN,
      flags,
      family,
      chainAttrs({ table, name, base }),
      `add chain ${family} ${table} ${name}`,
    );
  }

  deleteChain(c: { family: NftFamily; table: string; name: string }): this {
    const family = validateFamily(c.family);
    const table = validateNftName(c.table, 'table');
    const name = validateNftName(c.name, 'chain');
    return this.#push(
      NFT_MSG.DELCHAIN,
      0,
      family,
      chainAttrs({ table, name }),
      `delete chain ${family} ${table} ${name}`,
    );
  }

  /** DELRULE without a handle: every rule of the chain (`nft flush chain`). */
  flushChain(c: { family: NftFamily; table: string; name: string }): this {
    const family = validateFamily(c.family);
    const table = validateNftName(c.table, 'table');
    const chain = validateNftName(c.name, 'chain');
    return this.#push(
      NFT_MSG.DELRULE,
      0,
      family,
      ruleAttrs({ table, chain }),
      `flush chain ${family} ${table} ${chain}`,
    );
  }

  /** NEWRULE (NLM_F_CREATE, and NLM_F_APPEND unless inserting before). */
  addRule(r: AddRuleSpec): this {
    const family = validateFamily(r.family);
    const table = validateNftName(r.table, 'table');
    const chain = validateNftName(r.chain, 'chain');
    if (!Array.isArray(r.expressions)) {
      throw new NetlinkInvalidArgumentError('expressions', r.expressions, 'an array of expressions');
    }
    let userdata = r.userdata;
    if (r.comment !== undefined) {
      if (typeof r.comment !== 'string' || Buffer.byteLength(r.comment) > 127 || r.comment.includes('\0')) {
        // nft limits comments to 128 bytes with the NUL (NFTNL_UDATA_COMMENT_MAXLEN).
        throw new NetlinkInvalidArgumentError(
          'comment',
          r.comment,
          'a string of at most 127 bytes without NUL',
        );
      }
      userdata = commentUserdata(r.comment);
    }
    if (userdata !== undefined && userdata.length > NFT_USERDATA_MAXLEN) {
      throw new NetlinkInvalidArgumentError(
        'userdata',
        `${userdata.length} bytes`,
        `at most ${NFT_USERDATA_MAXLEN} bytes`,
      );
    }
    const at = r.at ?? 'end';
    let flags = NLM_F.CREATE | NLM_F_APPEND;
    let position: number | undefined;
    if (at === 'start') flags = NLM_F.CREATE;
    else if (typeof at === 'object' && at !== null && 'after' in at)
      position = validateHandle(at.after, 'at.after');
    else if (typeof at === 'object' && at !== null && 'before' in at) {
      position = validateHandle(at.before, 'at.before');
      flags = NLM_F.CREATE;
    } else if (at !== 'end')
      throw new NetlinkInvalidArgumentError('at', at, "'end', 'start', {after: handle} or {before: handle}");
    const attrs = ruleAttrs({ table, chain, position, expressions: r.expressions, userdata });
    return this.#push(NFT_MSG.NEWRULE, flags, family, attrs, `add rule ${family} ${table} ${chain}`);
  }

  /** NEWRULE with NLM_F_REPLACE and the handle: the rule's expressions change in place. */
  replaceRule(r: Omit<AddRuleSpec, 'at'> & { handle: number }): this {
    const family = validateFamily(r.family);
    const table = validateNftName(r.table, 'table');
    const chain = validateNftName(r.chain, 'chain');
    const handle = validateHandle(r.handle);
    const userdata = r.comment === undefined ? r.userdata : commentUserdata(r.comment);
    const attrs = ruleAttrs({ table, chain, handle, expressions: r.expressions, userdata });
    return this.#push(
      NFT_MSG.NEWRULE,
      NLM_F.REPLACE,
      family,
      attrs,
      `replace rule ${family} ${table} ${chain} handle ${handle}`,
    );
  }

  deleteRule(r: { family: NftFamily; table: string; chain: string; handle: number }): this {
    const family = validateFamily(r.family);
    const table = validateNftName(r.table, 'table');
    const chain = validateNftName(r.chain, 'chain');
    const handle = validateHandle(r.handle);
    return this.#push(
      NFT_MSG.DELRULE,
      0,
      family,
      ruleAttrs({ table, chain, handle }),
      `delete rule ${family} ${table} ${chain} handle ${handle}`,
    );
  }

  /** NEWSET (a set, or with `map` in flags a map). Key/data lengths in bytes. */
  addSet(s: Omit<NftSet, 'handle'>, options: { exclusive?: boolean } = {}): this {
    const family = validateFamily(s.family);
    const table = validateNftName(s.table, 'table');
    const name = validateNftName(s.name, 'set');
    const flags = NLM_F.CREATE | (options.exclusive === true ? NLM_F.EXCL : 0);
    // NFTA_SET_ID is mandatory in NEWSET (nf_tables_newset returns EINVAL without it): it names the set
    // within the transaction. One per set of the batch, as nft does.
    const id = s.id ?? ++this.#setIds;
    return this.#push(
      NFT_MSG.NEWSET,
      flags,
      family,
      setAttrs({ ...s, table, name, id }),
      `add set ${family} ${table} ${name}`,
    );
  }

  deleteSet(s: { family: NftFamily; table: string; name: string }): this {
    const family = validateFamily(s.family);
    const table = validateNftName(s.table, 'table');
    const name = validateNftName(s.name, 'set');
    return this.#push(
      NFT_MSG.DELSET,
      0,
      family,
      setSelectorAttrs(table, name),
      `delete set ${family} ${table} ${name}`,
    );
  }

  addElements(
    s: { family: NftFamily; table: string; set: string },
    elements: readonly NftSetElement[],
  ): this {
    const family = validateFamily(s.family);
    const table = validateNftName(s.table, 'table');
    const set = validateNftName(s.set, 'set');
    const attrs = elementsAttrs({ table, name: set }, elements);
    return this.#push(
      NFT_MSG.NEWSETELEM,
      NLM_F.CREATE,
      family,
      attrs,
      `add element ${family} ${table} ${set} (${elements.length})`,
    );
  }

  deleteElements(
    s: { family: NftFamily; table: string; set: string },
    elements: readonly NftSetElement[],
  ): this {
    const family = validateFamily(s.family);
    const table = validateNftName(s.table, 'table');
    const set = validateNftName(s.set, 'set');
    const attrs = elementsAttrs({ table, name: set }, elements);
    return this.#push(
      NFT_MSG.DELSETELEM,
      0,
      family,
      attrs,
      `delete element ${family} ${table} ${set} (${elements.length})`,
    );
  }
}

function validateBase(b: NftBaseChainSpec): NftBaseChainSpec {
  if (typeof b !== 'object' || b === null) {
    throw new NetlinkInvalidArgumentError('base', b, '{type, hook, priority, policy?}');
  }
  if (!['filter', 'nat', 'route'].includes(b.type))
    throw new NetlinkInvalidArgumentError('base.type', b.type, 'filter, nat, route');
  if (!['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress'].includes(b.hook)) {
    throw new NetlinkInvalidArgumentError(
      'base.hook',
      b.hook,
      'prerouting, input, forward, output, postrouting, ingress',
    );
  }
  if (!Number.isInteger(b.priority) || b.priority < -0x80000000 || b.priority > 0x7fffffff) {
    throw new NetlinkInvalidArgumentError('base.priority', b.priority, 'a 32-bit signed integer');
  }
  if (b.policy !== undefined && b.policy !== 'accept' && b.policy !== 'drop') {
    throw new NetlinkInvalidArgumentError('base.policy', b.policy, 'accept or drop');
  }
  return b;
}
