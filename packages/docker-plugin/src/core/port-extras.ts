// What a port may carry besides its Port/Interface rows — a QoS (root rows: never garbage-collected) and
// the mirrors of its traffic — removed with the port. Ports are marked in their own external_ids (the
// replica has them), so removing a port that has neither costs no extra transaction.
import { MIRROR_EXT, removeMirrors } from './mirror.js';
import { QOS_EXT, releasePortQos, type TypedOvs } from './qos.js';

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
  t: TypedOvs,
  port: { name: string; external_ids: Readonly<Record<string, string>> },
): Promise<void> {
  if (!hasPortExtras(port.external_ids)) return;
  const owner = port.external_ids[MIRROR_EXT.owner] ?? '';
  if (port.external_ids[QOS_EXT.ingress] !== undefined || port.external_ids[QOS_EXT.egress] !== undefined)
    await releasePortQos(t, port.name, owner);
  if (port.external_ids[MIRRORED_KEY] !== undefined)
    await removeMirrors(t, { owner, source: { port: port.name } });
}
