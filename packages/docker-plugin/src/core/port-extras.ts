// What a port may carry besides its Port/Interface rows — a QoS (root rows: never garbage-collected) and
// the mirrors of its traffic — removed with the port. Ports are marked in their own external_ids (the
// replica has them), so removing a port that has neither costs no extra transaction.
import { MIRROR_EXT, removeMirrors } from './mirror.js';
import type { OvsTransactor } from './ovs.js';
import { asTransactor, QOS_EXT, releasePortQos } from './qos.js';

const MIRRORED_KEY = MIRROR_EXT.mirrored;

export function hasPortExtras(externalIds: Readonly<Record<string, string>>): boolean {
  return (
    externalIds[QOS_EXT.ingress] !== undefined ||
    externalIds[QOS_EXT.egress] !== undefined ||
    externalIds[MIRRORED_KEY] !== undefined
  );
}

/** Drops the QoS and the mirrors of a port that is being removed. Idempotent. */
export async function releasePortExtras(
  ovs: OvsTransactor,
  port: { name: string; externalIds: Readonly<Record<string, string>> },
): Promise<void> {
  if (!hasPortExtras(port.externalIds)) return;
  const t = asTransactor(ovs);
  const owner = port.externalIds[MIRROR_EXT.owner] ?? '';
  if (port.externalIds[QOS_EXT.ingress] !== undefined || port.externalIds[QOS_EXT.egress] !== undefined)
    await releasePortQos(t, port.name, owner);
  if (port.externalIds[MIRRORED_KEY] !== undefined)
    await removeMirrors(t, { owner, source: { port: port.name } });
}
