import { randomBytes } from 'node:crypto';

/**
 * Every namespace, link, bridge, container and Docker network a test makes starts with this prefix, so
 * scripts/cleanup.sh can sweep whatever a crashed test left behind and nothing else.
 */
export const TEST_PREFIX = 'ocnt';

/** A unique name `ocnt<tag><hex>`, at most 15 bytes (IFNAMSIZ - 1) so it is valid as an interface name. */
export function uniqueName(tag = '', maxLen = 15): string {
  const head = `${TEST_PREFIX}${tag}`;
  const room = maxLen - head.length;
  if (room < 4) throw new Error(`uniqueName: tag '${tag}' leaves fewer than 4 characters of randomness`);
  return head + randomBytes(8).toString('hex').slice(0, Math.min(room, 8));
}
