// Listens on the plugin's unix socket. Docker discovers legacy plugins by the socket's name in
// /run/docker/plugins (moby pkg/plugins/discovery.go); a managed plugin's socket is the config.json
// `interface.socket` under /run/docker/plugins inside its rootfs.
import { chmod, mkdir, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';

export const PLUGIN_DIR = '/run/docker/plugins';

export function defaultSocketPath(name: string): string {
  return `${PLUGIN_DIR}/${name}.sock`;
}

/** Listens on `path` (mode 0660): a stale socket left by a crash is removed first; anything else there is refused. */
export async function listenUnix(app: FastifyInstance, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const st = await stat(path).catch(() => undefined);
  if (st) {
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
    await rm(path, { force: true });
  }
  await app.listen({ path });
  await chmod(path, 0o660);
}
