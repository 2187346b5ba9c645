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

/** A rule comment: `nft` limits them to 128 bytes with the NUL (NFTNL_UDATA_COMMENT_MAXLEN). */
export function validateComment(v: unknown, field = 'comment'): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || Buffer.byteLength(v) > 127 || v.includes('\0')) {
    throw new NetlinkInvalidArgumentError(field, v, 'a string of at most 127 bytes without NUL');
  }
  return v;
}

/** A table, and optionally an object in it, validated: family, table name, object name. */
function place(o: { family: NftFamily; table: string }, kind?: 'chain' | 'set', name?: string) {
  if (typeof o !== 'object' || o === null)
    throw new NetlinkInvalidArgumentError('target', o, '{family, table, …}');
  const family = validateFamily(o.family);
  const table = validateNftName(o.table, 'table');
  const obj = kind === undefined ? '' : validateNftName(name, kind);
  return { family, table, name: obj, where: `${family} ${table}${obj === '' ? '' : ` ${obj}`}` };
}

const createFlags = (options: { exclusive?: boolean }): number =>
  NLM_F.CREATE | (options.exclusive === true ? NLM_F.EXCL : 0);

export class NftBatch {
  readonly ops: NftOp[] = [];
  #setIds = 0;

  get length(): number {
    return this.ops.length;
  }

  #push(msg: number, flags: number, family: NftFamily, attrs: Buffer, describe: string): this {
    this.ops.push({ request: { msg, flags, family: NFPROTO[family], attrs }, describe });
    return this;
  }

  /** NEWTABLE. Without `exclusive` an existing table is kept as it is (no EEXIST), like `nft add table`. */
  addTable(
    t: { family: NftFamily; name: string; flags?: number },
    options: { exclusive?: boolean } = {},
  ): this {
    const p = place({ family: t?.family, table: t?.name });
    const attrs = tableAttrs({ name: p.table, flags: t.flags }, true);
    return this.#push(NFT_MSG.NEWTABLE, createFlags(options), p.family, attrs, `add table ${p.where}`);
  }

  /** DELTABLE: the table with every chain, rule and set in it. ENOENT if it does not exist. */
  deleteTable(t: { family: NftFamily; name: string }): this {
    const p = place({ family: t?.family, table: t?.name });
    return this.#push(
      NFT_MSG.DELTABLE,
      0,
      p.family,
      tableAttrs({ name: p.table }, false),
      `delete table ${p.where}`,
    );
  }

  /** NEWCHAIN: a regular chain, or with `base` a base chain on a hook. Idempotent unless `exclusive`. */
  addChain(
    c: { family: NftFamily; table: string; name: string; base?: NftBaseChainSpec | undefined },
    options: { exclusive?: boolean } = {},
  ): this {
    const p = place(c, 'chain', c?.name);
    const base = c.base === undefined ? undefined : validateBase(c.base);
    const attrs = chainAttrs({ table: p.table, name: p.name, base, family: p.family });
    return this.#push(NFT_MSG.NEWCHAIN, createFlags(options), p.family, attrs, `add chain ${p.where}`);
  }

  deleteChain(c: { family: NftFamily; table: string; name: string }): this {
    const p = place(c, 'chain', c?.name);
    const attrs = chainAttrs({ table: p.table, name: p.name });
    return this.#push(NFT_MSG.DELCHAIN, 0, p.family, attrs, `delete chain ${p.where}`);
  }

  /** DELRULE without a handle: every rule of the chain (`nft flush chain`). */
  flushChain(c: { family: NftFamily; table: string; name: string }): this {
    const p = place(c, 'chain', c?.name);
    return this.#push(
      NFT_MSG.DELRULE,
      0,
      p.family,
      ruleAttrs({ table: p.table, chain: p.name }),
      `flush chain ${p.where}`,
    );
  }

  /** NEWRULE (NLM_F_CREATE, and NLM_F_APPEND unless inserting before). */
  addRule(r: AddRuleSpec): this {
    const p = place(r, 'chain', r?.chain);
    const userdata = ruleUserdata(r);
    const at = r.at ?? 'end';
    let flags = NLM_F.CREATE | NLM_F_APPEND;
    let position: number | undefined;
    if (at === 'start') flags = NLM_F.CREATE;
    else if (typeof at === 'object' && at !== null && 'after' in at)
      position = validateHandle(at.after, 'at.after');
    else if (typeof at === 'object' && at !== null && 'before' in at) {
      position = validateHandle(at.before, 'at.before');
      flags = NLM_F.CREATE;
    } else if (at !== 'end') {
      throw new NetlinkInvalidArgumentError('at', at, "'end', 'start', {after: handle} or {before: handle}");
    }
    const attrs = ruleAttrs({
      table: p.table,
      chain: p.name,
      position,
      expressions: r.expressions,
      userdata,
    });
    return this.#push(NFT_MSG.NEWRULE, flags, p.family, attrs, `add rule ${p.where}`);
  }

  /** NEWRULE with NLM_F_REPLACE and the handle: the rule's expressions change in place. */
  replaceRule(r: Omit<AddRuleSpec, 'at'> & { handle: number }): this {
    const p = place(r, 'chain', r?.chain);
    const handle = validateHandle(r.handle);
    const attrs = ruleAttrs({
      table: p.table,
      chain: p.name,
      handle,
      expressions: r.expressions,
      userdata: ruleUserdata(r),
    });
    return this.#push(
      NFT_MSG.NEWRULE,
      NLM_F.REPLACE,
      p.family,
      attrs,
      `replace rule ${p.where} handle ${handle}`,
    );
  }

  deleteRule(r: { family: NftFamily; table: string; chain: string; handle: number }): this {
    const p = place(r, 'chain', r?.chain);
    const handle = validateHandle(r.handle);
    const attrs = ruleAttrs({ table: p.table, chain: p.name, handle });
    return this.#push(NFT_MSG.DELRULE, 0, p.family, attrs, `delete rule ${p.where} handle ${handle}`);
  }

  /** NEWSET (a set, or with `map` in flags a map). Key/data lengths in bytes. */
  addSet(s: Omit<NftSet, 'handle'>, options: { exclusive?: boolean } = {}): this {
    const p = place(s, 'set', s?.name);
    // NFTA_SET_ID is mandatory in NEWSET (nf_tables_newset returns EINVAL without it): it names the set
    // within the transaction. One per set of the batch, as nft does.
    const id = s.id ?? ++this.#setIds;
    const attrs = setAttrs({ ...s, table: p.table, name: p.name, id });
    return this.#push(NFT_MSG.NEWSET, createFlags(options), p.family, attrs, `add set ${p.where}`);
  }

  deleteSet(s: { family: NftFamily; table: string; name: string }): this {
    const p = place(s, 'set', s?.name);
    return this.#push(
      NFT_MSG.DELSET,
      0,
      p.family,
      setSelectorAttrs(p.table, p.name),
      `delete set ${p.where}`,
    );
  }

  addElements(
    s: { family: NftFamily; table: string; set: string },
    elements: readonly NftSetElement[],
  ): this {
    return this.#elements(NFT_MSG.NEWSETELEM, NLM_F.CREATE, 'add', s, elements);
  }

  deleteElements(
    s: { family: NftFamily; table: string; set: string },
    elements: readonly NftSetElement[],
  ): this {
    return this.#elements(NFT_MSG.DELSETELEM, 0, 'delete', s, elements);
  }

  #elements(
    msg: number,
    flags: number,
    verb: string,
    s: { family: NftFamily; table: string; set: string },
    elements: readonly NftSetElement[],
  ): this {
    const p = place(s, 'set', s?.set);
    if (!Array.isArray(elements))
      throw new NetlinkInvalidArgumentError('elements', elements, 'an array of elements');
    const attrs = elementsAttrs({ table: p.table, name: p.name }, elements);
    return this.#push(msg, flags, p.family, attrs, `${verb} element ${p.where} (${elements.length})`);
  }
}

/** NFTA_RULE_USERDATA from a comment (libnftnl's TLV) or raw bytes, within the kernel's limits. */
function ruleUserdata(r: {
  expressions: readonly Expr[];
  comment?: string | undefined;
  userdata?: Buffer | undefined;
}): Buffer | undefined {
  if (!Array.isArray(r.expressions)) {
    throw new NetlinkInvalidArgumentError('expressions', r.expressions, 'an array of expressions');
  }
  let userdata = r.userdata;
  if (r.comment !== undefined) {
    validateComment(r.comment);
    userdata = commentUserdata(r.comment);
  }
  if (userdata !== undefined && userdata.length > NFT_USERDATA_MAXLEN) {
    throw new NetlinkInvalidArgumentError(
      'userdata',
      `${userdata.length} bytes`,
      `at most ${NFT_USERDATA_MAXLEN} bytes`,
    );
  }
  return userdata;
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
