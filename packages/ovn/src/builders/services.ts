// DHCP options and DNS records (ovn-nb(5) DHCP_Options, DNS). Neither table has a name: a row is
// identified by the `external_ids` its owner gives it (plus the cidr for DHCP_Options), the way
// ovn-kubernetes and neutron find theirs.

import { checkIp, checkMac, checkPrefix } from '../address.js';
import { OvnInvalidArgumentError } from '../errors.js';
import type { Entry, NbPlanCore, Ref } from '../plan.js';
import { checkKeys, checkList, checkMapEdit, checkName, checkSpec, checkString } from '../validate.js';
import { dropWeakRefs, need } from './common.js';

/** The identifying `external_ids` of a nameless row: non-empty, string values only. */
function identity(f: string, v: unknown, required: boolean): Record<string, string> {
  if (v === undefined && !required) return {};
  const m = checkMapEdit(f, v);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(m)) {
    if (x === null)
      throw new OvnInvalidArgumentError(`${f}.${k}`, x, 'a string (identifying keys cannot be removed)');
    out[k] = x;
  }
  if (required && Object.keys(out).length === 0) {
    throw new OvnInvalidArgumentError(
      f,
      v,
      'at least one key that identifies the row (e.g. {owner: "me", network: "n1"})',
    );
  }
  return out;
}

function includes(row: Record<string, string>, keys: Record<string, string>): boolean {
  return Object.entries(keys).every(([k, v]) => row[k] === v);
}

function uniqueMatch<T extends 'DHCP_Options' | 'DNS'>(
  table: T,
  rows: Entry<T>[],
  what: string,
): Entry<T> | undefined {
  if (rows.length > 1) {
    throw new OvnInvalidArgumentError(
      'externalIds',
      what,
      `keys that identify one ${table} row; ${rows.length} rows match (${rows.map((r) => r.uuid).join(', ')})`,
    );
  }
  return rows[0];
}

// ---- DHCP_Options ----------------------------------------------------------------------------------------

export interface DhcpOptionsSpec {
  /** The network served: IPv4 (DHCPv4) or IPv6 (DHCPv6). */
  readonly cidr: string;
  /**
   * `options` as ovn-nb(5) lists them (`server_id`, `server_mac`, `router`, `lease_time`, `dns_server`, …
   * for v4; `server_id`, `dns_server`, … for v6); replaces the column as a whole.
   */
  readonly options: Readonly<Record<string, string>>;
  /** Identifies the row together with the cidr (all keys must match); stored in `external_ids`. */
  readonly externalIds?: Readonly<Record<string, string>>;
}

function dhcpRows(plan: NbPlanCore, cidr: string, ids: Record<string, string>): Entry<'DHCP_Options'>[] {
  return plan
    .all('DHCP_Options')
    .filter((d) => d.row.cidr === cidr && includes(d.row.external_ids as Record<string, string>, ids));
}

function dhcpKey(f: string, spec: { cidr: unknown; externalIds?: unknown }) {
  const p = checkPrefix(`${f}.cidr`, spec.cidr, { network: true });
  return { cidr: p.cidr, family: p.family, ids: identity(`${f}.externalIds`, spec.externalIds, false) };
}

const DHCP_ADDRESS_OPTIONS = ['server_id', 'router'];

export function ensureDhcpOptions(plan: NbPlanCore, spec: DhcpOptionsSpec): Ref<'DHCP_Options'> {
  const f = 'DhcpOptions';
  checkKeys(f, checkSpec(f, spec), ['cidr', 'options', 'externalIds']);
  const { cidr, family, ids } = dhcpKey(f, spec);
  const options = checkMapEdit(`${f}.options`, spec.options) as Record<string, string>;
  for (const [k, v] of Object.entries(options)) {
    if (v === null)
      throw new OvnInvalidArgumentError(`${f}.options.${k}`, v, 'a string (options replace the column)');
    // DHCPv4 server_id and router are IPv4 addresses; DHCPv6 server_id is the server's MAC (ovn-nb(5)).
    if (family === 4 && DHCP_ADDRESS_OPTIONS.includes(k)) checkIp(`${f}.options.${k}`, v, 4);
    if ((family === 4 && k === 'server_mac') || (family === 6 && k === 'server_id'))
      checkMac(`${f}.options.${k}`, v);
  }
  if (family === 4) {
    for (const k of ['server_id', 'server_mac', 'lease_time']) {
      if (!(k in options))
        throw new OvnInvalidArgumentError(
          `${f}.options`,
          options,
          `DHCPv4 options with "${k}" (ovn-northd needs server_id, server_mac and lease_time)`,
        );
    }
  }
  const cur = uniqueMatch('DHCP_Options', dhcpRows(plan, cidr, ids), JSON.stringify(ids));
  if (cur) {
    plan.set(cur, { options });
    return cur.ref;
  }
  // No index: guard against a concurrent writer inserting the same cidr and keys.
  plan.guardAbsent('DHCP_Options', [
    ['cidr', '==', cidr],
    ['external_ids', 'includes', ids],
  ]);
  return plan.insert('DHCP_Options', { cidr, options, external_ids: ids }).ref;
}

/** Deletes the DHCP_Options row; ports referencing it drop it (weak references). */
export function deleteDhcpOptions(
  plan: NbPlanCore,
  spec: Pick<DhcpOptionsSpec, 'cidr' | 'externalIds'>,
): boolean {
  const { cidr, ids } = dhcpKey('DhcpOptions', spec);
  const cur = uniqueMatch('DHCP_Options', dhcpRows(plan, cidr, ids), JSON.stringify(ids));
  if (!cur) return false;
  dropWeakRefs(plan, 'Logical_Switch_Port', 'dhcpv4_options', cur);
  dropWeakRefs(plan, 'Logical_Switch_Port', 'dhcpv6_options', cur);
  plan.deleteRow(cur);
  return true;
}

// ---- DNS ---------------------------------------------------------------------------------------------------

export interface DnsSpec {
  /** Identifies the row (all keys must match); at least one key. */
  readonly externalIds: Readonly<Record<string, string>>;
  /** Host name → addresses (`records`: "IP IP …"; lower-case names, as ovn-controller compares them). */
  readonly records: Readonly<Record<string, readonly string[]>>;
  /** Switches (by name) whose `dns_records` should include this row. */
  readonly switches?: readonly string[];
}

function dnsRecords(f: string, v: unknown): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new OvnInvalidArgumentError(f, v, 'an object host name → array of IP addresses');
  }
  const out: Record<string, string> = {};
  for (const [host, ips] of Object.entries(v)) {
    const h = checkString(`${f} key`, host);
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(h) || h.length > 253) {
      throw new OvnInvalidArgumentError(
        `${f} key`,
        host,
        'a lower-case DNS name (letters, digits, "-", ".")',
      );
    }
    const list = checkList(`${f}[${JSON.stringify(host)}]`, ips, (fl, x) => checkIp(fl, x).text);
    if (list.length === 0)
      throw new OvnInvalidArgumentError(`${f}[${JSON.stringify(host)}]`, ips, 'at least one address');
    out[h] = list.join(' ');
  }
  return out;
}

export function ensureDns(plan: NbPlanCore, spec: DnsSpec): Ref<'DNS'> {
  const f = 'Dns';
  checkKeys(f, checkSpec(f, spec), ['externalIds', 'records', 'switches']);
  const ids = identity(`${f}.externalIds`, spec.externalIds, true);
  const records = dnsRecords(`${f}.records`, spec.records);
  const switches = checkList(`${f}.switches`, spec.switches ?? [], (fl, x) =>
    need(plan, 'Logical_Switch', fl, checkName(fl, x)),
  );
  const found = plan.all('DNS').filter((d) => includes(d.row.external_ids as Record<string, string>, ids));
  let dns = uniqueMatch('DNS', found, JSON.stringify(ids));
  if (dns) plan.set(dns, { records });
  else {
    plan.guardAbsent('DNS', [['external_ids', 'includes', ids]]);
    dns = plan.insert('DNS', { records, external_ids: ids });
  }
  for (const s of switches) {
    plan.guardExists(dns, 'external_ids');
    plan.addToSet(s, 'dns_records', [dns.ref]);
  }
  return dns.ref;
}

/** Deletes the DNS row; switches drop it (weak references). */
export function deleteDns(plan: NbPlanCore, spec: Pick<DnsSpec, 'externalIds'>): boolean {
  const ids = identity('Dns.externalIds', spec.externalIds, true);
  const dns = uniqueMatch(
    'DNS',
    plan.all('DNS').filter((d) => includes(d.row.external_ids as Record<string, string>, ids)),
    JSON.stringify(ids),
  );
  if (!dns) return false;
  dropWeakRefs(plan, 'Logical_Switch', 'dns_records', dns);
  plan.deleteRow(dns);
  return true;
}
