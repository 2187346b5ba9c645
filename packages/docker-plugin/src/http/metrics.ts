// Prometheus metrics of the plugin: calls, errors and latency per Docker API call, and gauges read from
// the driver's state when scraped.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DriverStats } from '../core/types.js';

export class PluginMetrics {
  readonly registry = new Registry();
  readonly calls: Counter<'call'>;
  readonly errors: Counter<'call'>;
  readonly latency: Histogram<'call'>;

  /** `ovnRemoteWaits`: in OVN mode, how many remote waits ended through the SB reports and through NB. */
  constructor(stats?: () => DriverStats, ovnRemoteWaits?: () => { sb: number; nb: number }) {
    this.calls = new Counter({
      name: 'ocn_plugin_calls_total',
      help: 'Docker plugin API calls served, by call',
      labelNames: ['call'],
      registers: [this.registry],
    });
    this.errors = new Counter({
      name: 'ocn_plugin_call_errors_total',
      help: 'Docker plugin API calls answered with an error, by call',
      labelNames: ['call'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'ocn_plugin_call_duration_seconds',
      help: 'Latency of Docker plugin API calls, by call',
      labelNames: ['call'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [this.registry],
    });
    if (stats) {
      const gauge = (name: string, help: string, pick: (s: DriverStats) => number) =>
        new Gauge({
          name,
          help,
          registers: [this.registry],
          collect() {
            this.set(pick(stats()));
          },
        });
      gauge('ocn_plugin_networks', 'Networks of this driver recorded in OVS', (s) => s.networks);
      gauge('ocn_plugin_endpoints', 'Endpoints of this driver recorded in OVS', (s) => s.endpoints);
      gauge('ocn_plugin_ovsdb_connected', '1 when the OVSDB connection is up', (s) =>
        s.ovsdbConnected ? 1 : 0,
      );
    }
    if (ovnRemoteWaits)
      new Gauge({
        name: 'ocn_plugin_ovn_remote_waits',
        help: 'OVN remote waits (every chassis applied the port) ended, by what showed it first: sb (the chassis reports) or nb (hv_cfg)',
        labelNames: ['via'],
        registers: [this.registry],
        collect() {
          const w = ovnRemoteWaits();
          this.set({ via: 'sb' }, w.sb);
          this.set({ via: 'nb' }, w.nb);
        },
      });
  }

  observe(call: string, seconds: number, ok: boolean): void {
    this.calls.inc({ call });
    if (!ok) this.errors.inc({ call });
    this.latency.observe({ call }, seconds);
  }
}
