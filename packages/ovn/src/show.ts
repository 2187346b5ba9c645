// A read-only "show", rendered from replicas in the format `ovn-nbctl show` and `ovn-sbctl show` print
// (OVN 23.03 utilities/ovn-nbctl.c print_ls/print_lr; ovn-sbctl's cmd_show_tables rendered by OVS
// lib/db-ctl-base.c cmd_show_row, values by lib/ovsdb-data.c ovsdb_datum_to_string).
//
// One difference, on purpose: the tools print switches, routers, chassis and a chassis' port bindings in
// the order of their in-memory hash tables, which is not reproducible; here they come sorted by name. The
// rows inside a switch or router (ports, NAT) come in uuid order, as the tools print them (OVSDB sets are
// sorted by uuid, and the hex string order is the numeric order). Gateway chassis are listed by priority
// (highest first), then name, as compare_chassis_prio_ intends; ovn-nbctl 23.03 itself does not monitor
// Gateway_Chassis priority or name in `show` (nbctl_pre_show), so it prints them in uuid order.

import type { Replica } from '@ovs-container-network/ovsdb';
import type * as NB from '@ovs-container-network/ovsdb/models/ovn-northbound';
import type * as SB from '@ovs-container-network/ovsdb/models/ovn-southbound';

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** ovsdb-data.c string_needs_quotes: bare only for [A-Za-z_][A-Za-z0-9_.-]* that is not a keyword or uuid. */
function needsQuotes(s: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(s)) return true;
  return s === 'true' || s === 'false' || UUID_RE.test(s);
}

/** One string atom as ovsdb_atom_to_string writes it (quoted with JSON escapes when needed). */
export function ovsdbString(s: string): string {
  return needsQuotes(s) ? JSON.stringify(s) : s;
}

/** A string→string map as ovsdb_datum_to_string writes it: `{k=v, …}`, keys sorted. */
function ovsdbMap(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m).sort(byteCompare);
  return `{${keys.map((k) => `${ovsdbString(k)}=${ovsdbString(m[k] as string)}`).join(', ')}}`;
}

/** strcmp order (UTF-16 code units equal bytes for ASCII; the names here are ASCII in practice). */
function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const quoted = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(', ');

type NbShowRows = {
  Logical_Switch: NB.Logical_Switch;
  Logical_Switch_Port: NB.Logical_Switch_Port;
  Logical_Router: NB.Logical_Router;
  Logical_Router_Port: NB.Logical_Router_Port;
  Gateway_Chassis: NB.Gateway_Chassis;
  NAT: NB.NAT;
};

/** `ovn-nbctl show`, from an NB replica with the tables above (all their columns, or those print_ls/lr read). */
export function renderNbShow<M extends NbShowRows>(nb: Replica<M>): string {
  const r = nb as unknown as Replica<NbShowRows>;
  const lsps = r.table('Logical_Switch_Port');
  const lrps = r.table('Logical_Router_Port');
  const gcs = r.table('Gateway_Chassis');
  const nats = r.table('NAT');
  const alias = (ids: Readonly<Record<string, string>>, key: string) =>
    ids[key] ? ` (aka ${ids[key]})` : '';
  const out: string[] = [];
  const byName = <T extends { name: string; _uuid: string }>(rows: T[]) =>
    rows.sort((a, b) => byteCompare(a.name, b.name) || byteCompare(a._uuid, b._uuid));
  const inUuidOrder = (uuids: readonly string[]) => [...uuids].sort(byteCompare);

  for (const ls of byName(r.table('Logical_Switch').filter(() => true))) {
    out.push(`switch ${ls._uuid} (${ls.name})${alias(ls.external_ids, 'neutron:network_name')}`);
    for (const u of inUuidOrder(ls.ports)) {
      const p = lsps.get(u);
      if (!p) continue;
      out.push(`    port ${p.name}${alias(p.external_ids, 'neutron:port_name')}`);
      if (p.type) out.push(`        type: ${p.type}`);
      if (p.parent_name !== null) out.push(`        parent: ${p.parent_name}`);
      if (p.tag !== null) out.push(`        tag: ${p.tag}`);
      // "but not if there's just a single "router" address because that's just clutter"
      if (p.addresses.length && !(p.addresses.length === 1 && p.addresses[0] === 'router'))
        out.push(`        addresses: [${quoted([...p.addresses].sort(byteCompare))}]`);
      const rp = p.options['router-port'];
      if (rp !== undefined) out.push(`        router-port: ${rp}`);
    }
  }
  for (const lr of byName(r.table('Logical_Router').filter(() => true))) {
    out.push(`router ${lr._uuid} (${lr.name})${alias(lr.external_ids, 'neutron:router_name')}`);
    for (const u of inUuidOrder(lr.ports)) {
      const p = lrps.get(u);
      if (!p) continue;
      out.push(`    port ${p.name}`);
      out.push(`        mac: "${p.mac}"`);
      if (p.networks.length) out.push(`        networks: [${quoted([...p.networks].sort(byteCompare))}]`);
      const rt = p.options.route_table;
      if (rt !== undefined) out.push(`        route-table: ${rt}`);
      if (p.gateway_chassis.length) {
        // compare_chassis_prio_: priority descending, then name descending.
        const list = p.gateway_chassis
          .map((g) => gcs.get(g))
          .filter((g): g is NB.Gateway_Chassis & { _uuid: string } => g !== undefined)
          .sort((a, b) => Number(b.priority) - Number(a.priority) || byteCompare(b.name, a.name));
        out.push(`        gateway chassis: [${list.map((g) => g.chassis_name).join(' ')}]`);
      }
    }
    for (const u of inUuidOrder(lr.nat)) {
      const n = nats.get(u);
      if (!n) continue;
      out.push(`    nat ${n._uuid}`);
      out.push(`        external ip: "${n.external_ip}"`);
      if (n.external_port_range) out.push(`        external port(s): "${n.external_port_range}"`);
      out.push(`        logical ip: "${n.logical_ip}"`);
      out.push(`        type: "${n.type}"`);
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

type SbShowRows = { Chassis: SB.Chassis; Encap: SB.Encap; Port_Binding: SB.Port_Binding };

/** `ovn-sbctl show`, from an SB replica with Chassis (name, hostname, encaps), Encap, Port_Binding. */
export function renderSbShow<M extends SbShowRows>(sb: Replica<M>): string {
  const r = sb as unknown as Replica<SbShowRows>;
  const encaps = r.table('Encap');
  const bound = new Map<string, string[]>();
  for (const b of r.table('Port_Binding').values()) {
    if (!b.chassis) continue;
    const list = bound.get(b.chassis) ?? [];
    list.push(b.logical_port);
    bound.set(b.chassis, list);
  }
  const out: string[] = [];
  const chassis = r.table('Chassis').filter(() => true);
  chassis.sort((a, b) => byteCompare(a.name, b.name) || byteCompare(a._uuid, b._uuid));
  for (const c of chassis) {
    out.push(`Chassis ${ovsdbString(c.name)}`);
    if (c.hostname !== '') out.push(`    hostname: ${ovsdbString(c.hostname)}`);
    for (const u of [...c.encaps].sort(byteCompare)) {
      const e = encaps.get(u);
      if (!e) continue;
      out.push(`    Encap ${ovsdbString(e.type)}`);
      if (e.ip !== '') out.push(`        ip: ${ovsdbString(e.ip)}`);
      if (Object.keys(e.options).length) out.push(`        options: ${ovsdbMap(e.options)}`);
    }
    for (const lp of (bound.get(c._uuid) ?? []).sort(byteCompare))
      out.push(`    Port_Binding ${ovsdbString(lp)}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
