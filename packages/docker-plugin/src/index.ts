// @ovs-container-network/docker-plugin: the Docker network + IPAM driver on Open vSwitch.
// The HTTP app (Fastify) and server; the core (no Fastify) is also exported on its own as './core'.
export * from './core/index.js';
export { type BuildOptions, build, PLUGIN_CONTENT_TYPE } from './http/app.js';
export { PluginMetrics } from './http/metrics.js';
export { defaultSocketPath, listenUnix, PLUGIN_DIR } from './http/server.js';
export { type PluginOptions, type RunningPlugin, startPlugin } from './plugin.js';
export const VERSION = '0.1.0';
