// The JSON-RPC 1.0 dialect ovsdb-server speaks, and a codec to the JSON-RPC 2.0 objects of the
// `json-rpc-2.0` package. Pure: no I/O.
//
// Wire facts (RFC 7047 §4, JSON-RPC 1.0; OVS lib/jsonrpc.c `jsonrpc_msg_from_json`):
// - A message has only the members method, params, result, error, id. Any other member (e.g.
//   "jsonrpc":"2.0") makes ovsdb-server drop the connection.
// - A request has method, params (always an array) and a non-null id.
// - A notification has method, params and id null.
// - A reply has result or error (the other null or, from OVS, absent) and the request's id. A reply with result null is read
//   by the server as a request without a method: never send one.
// - Error values are strings or objects {error, details?, syntax?} (RFC 7047 §3.1), not {code, message}.

import type { JSONRPCRequest, JSONRPCResponse } from 'json-rpc-2.0';
import { ProtocolError } from './errors.js';

export type WireId = string | number;

export interface WireRequest {
  method: string;
  params: unknown[];
  id: WireId;
}
export interface WireNotification {
  method: string;
  params: unknown[];
  id: null;
}
export interface WireReply {
  result: unknown;
  error: unknown;
  id: WireId | null;
}
export type WireMessage = WireRequest | WireNotification | WireReply;

/** The `error` member of an OVSDB reply, normalised: RFC 7047 §3.1 `{error, details?, syntax?}`. */
export interface WireError {
  error: string;
  details?: string;
  syntax?: unknown;
}

/** The json-rpc-2.0 error code carried on translated error replies (its `data` holds the WireError). */
export const OVSDB_ERROR_CODE = -32000;

const ALLOWED = new Set(['method', 'params', 'result', 'error', 'id']);

/**
 * Checks a parsed wire value against the JSON-RPC 1.0 envelope rules and classifies it.
 * Throws ProtocolError for anything ovsdb-server would not send.
 */
export function parseWireMessage(value: unknown): WireMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(`JSON-RPC message must be an object, got ${describe(value)}`);
  }
  const msg = value as Record<string, unknown>;
  for (const k in msg) {
    if (!ALLOWED.has(k)) throw new ProtocolError(`JSON-RPC 1.0 message has unknown member "${k}"`);
  }
  const id = msg.id;
  if (id !== undefined && id !== null && typeof id !== 'string' && typeof id !== 'number') {
    throw new ProtocolError(`JSON-RPC id must be a string, number or null, got ${describe(id)}`);
  }
  if (typeof msg.method === 'string') {
    if (!Array.isArray(msg.params)) {
      throw new ProtocolError(
        `JSON-RPC "${msg.method}" params must be an array, got ${describe(msg.params)}`,
      );
    }
    if (id === undefined || id === null) {
      return { method: msg.method, params: msg.params, id: null };
    }
    return { method: msg.method, params: msg.params, id };
  }
  if (msg.method !== undefined) throw new ProtocolError(`JSON-RPC method must be a string`);
  // OVS writes "error":null on success replies but omits "result" on error replies (lib/jsonrpc.c
  // jsonrpc_msg_to_json writes only the members it has): accept either member missing, not both.
  const hasResult = msg.result !== undefined && msg.result !== null;
  const hasError = msg.error !== undefined && msg.error !== null;
  if (hasResult && hasError) throw new ProtocolError('JSON-RPC reply carries both a "result" and an "error"');
  if (!('result' in msg) && !('error' in msg))
    throw new ProtocolError('JSON-RPC message has no method, result or error');
  return { result: hasResult ? msg.result : null, error: hasError ? msg.error : null, id: id ?? null };
}

export function isWireReply(m: WireMessage): m is WireReply {
  return !('method' in m);
}

/** Normalises an OVSDB error value (a string or `{error, details?, syntax?}`). */
export function toWireError(error: unknown): WireError {
  if (typeof error === 'string') return { error };
  if (typeof error === 'object' && error !== null) {
    const e = error as Record<string, unknown>;
    const out: WireError = { error: typeof e.error === 'string' ? e.error : JSON.stringify(error) };
    if (typeof e.details === 'string') out.details = e.details;
    if (e.syntax !== undefined) out.syntax = e.syntax;
    return out;
  }
  return { error: JSON.stringify(error) ?? String(error) };
}

// ---- wire → json-rpc-2.0 -------------------------------------------------------------------------------

/**
 * A request or notification from the server, as the json-rpc-2.0 server part expects it. Notifications
 * lose their `id: null`: the library would treat `id: null` as a request to answer.
 */
export function wireToLibraryRequest(m: WireRequest | WireNotification): JSONRPCRequest {
  if (m.id === null) return { jsonrpc: '2.0', method: m.method, params: m.params };
  return { jsonrpc: '2.0', method: m.method, params: m.params, id: m.id };
}

/** A reply from the server, as the json-rpc-2.0 client part expects it. */
export function wireToLibraryResponse(m: WireReply): JSONRPCResponse {
  if (m.error === null) return { jsonrpc: '2.0', id: m.id, result: m.result };
  const e = toWireError(m.error);
  return { jsonrpc: '2.0', id: m.id, error: { code: OVSDB_ERROR_CODE, message: e.error, data: e } };
}

// ---- json-rpc-2.0 → wire -------------------------------------------------------------------------------

/**
 * Translates whatever the json-rpc-2.0 package emits (a request, a notification or a response; never a
 * batch, we do not send batches) into the JSON-RPC 1.0 wire form. Throws ProtocolError for messages the
 * server would reject; the caller must not send them.
 */
export function libraryToWire(payload: unknown): WireMessage {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ProtocolError(`cannot send ${describe(payload)}: OVSDB speaks no JSON-RPC batches`);
  }
  const p = payload as Record<string, unknown>;
  if (typeof p.method === 'string') {
    const params = p.params === undefined ? [] : p.params;
    if (!Array.isArray(params)) {
      throw new ProtocolError(`"${p.method}" params must be an array (RFC 7047 §4), got ${describe(params)}`);
    }
    // The library marks a notification by omitting id; JSON-RPC 1.0 marks it with id null.
    if (p.id === undefined || p.id === null) return { method: p.method, params, id: null };
    if (typeof p.id !== 'string' && typeof p.id !== 'number') {
      throw new ProtocolError(`JSON-RPC id must be a string or number, got ${describe(p.id)}`);
    }
    return { method: p.method, params, id: p.id };
  }
  const id = p.id;
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new ProtocolError(`cannot reply to a request with id ${describe(id)}`);
  }
  if (p.error !== undefined && p.error !== null) {
    const e = p.error as Record<string, unknown>;
    const data = e.data as WireError | undefined;
    const error: WireError =
      data && typeof data.error === 'string'
        ? data
        : { error: typeof e.message === 'string' ? e.message : 'error' };
    return { result: null, error, id };
  }
  if (p.result === undefined || p.result === null) {
    // A null result would be read as a request without a method (see above).
    throw new ProtocolError(`refusing to send a reply with a null result (id ${JSON.stringify(id)})`);
  }
  return { result: p.result, error: null, id };
}

/**
 * Serialises a wire message with exactly the JSON-RPC 1.0 members, in a fixed order. One JSON.stringify
 * of the whole envelope gives a flat string; pieces joined by a template make a rope that the socket write
 * must flatten first (writeUtf8String showed up in profiles of bench/add-port.ts).
 */
export function encodeWireMessage(m: WireMessage): string {
  if ('method' in m) return stringify({ method: m.method, params: m.params, id: m.id });
  return stringify({ result: m.result, error: m.error, id: m.id });
}

// OVSDB integers are 64-bit (RFC 7047 §5.1); JSON.stringify cannot write a BigInt, so a value holding one
// is written with a marker that is then replaced by the bare digits. ovsdb-server refuses NUL bytes in
// strings (OVS lib/json.c), so the marker cannot clash with a legitimate string.
const BIGINT_MARK = '\u0000ocn-bigint:';
const BIGINT_RE = /"\\u0000ocn-bigint:(-?[0-9]+)"/g;

function stringify(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${BIGINT_MARK}${x}` : x)).replace(
      BIGINT_RE,
      '$1',
    );
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}
