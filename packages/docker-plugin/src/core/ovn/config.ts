// The plugin's OVN-mode configuration (flags `--ovn-*`, env `OCN_OVN_*`), validated at start. OVN mode is on
// when NB remotes are given; the remotes take the same endpoint syntax as `--ovsdb` (unix:/tcp:/ssl:,
// several for a Raft cluster), TLS files only with ssl:.
import { accessSync, constants as fsConstants } from 'node:fs';
import type { TlsOptions } from '@ovs-container-network/ovsdb';
import { InvalidOptionError } from '../errors.js';

export const DEFAULT_OVN_BRIDGE = 'br-int';
export const DEFAULT_INSTALL_TIMEOUT_MS = 8000;
/** How long CreateEndpoint waits, after ovn-installed here, for the other chassis (see `remoteWaitMs`). */
export const DEFAULT_REMOTE_WAIT_MS = 3000;

export interface OvnConfig {
  /** OVN_Northbound remotes (one, or every member of a cluster). */
  nb: readonly string[];
  tls?: TlsOptions;
  /** The integration bridge (ovn-controller's), default br-int. */
  bridge: string;
  /** Underlay MTU; undefined: read the OVS Interface br-phy's mtu, else 1500. */
  underlayMtu: number | undefined;
  /** How long CreateEndpoint waits for ovn-installed. */
  installTimeoutMs: number;
  /**
   * Join (and the Orchestrator's attach) waits, after ovn-installed here, up to this long until every
   * chassis applied the port (NB nb_cfg → hv_cfg, as `ovn-nbctl --wait=hv`; concurrent endpoints share one
   * nb_cfg bump). Until the other chassis have processed the new port they do not know which tunnel leads
   * to it, and the peer's first ARP for it (or the reply) is dropped there: a 1 s ARP retry. Not reaching
   * it is not an error: Join answers, a warning is logged, and while hv_cfg stays behind (a chassis down)
   * later endpoints do not wait. 0: off.
   */
  remoteWaitMs: number;
  /**
   * Where that wait reads the chassis' reports: SB remotes (`--ovn-sb`), 'off' (NB `hv_cfg` only), or
   * undefined: this chassis' own `external_ids:ovn-remote`, what ovn-controller uses. Read from the SB, the
   * wait ends one ovn-northd run sooner than through NB `hv_cfg`; NB `hv_cfg` is awaited beside it either way.
   */
  sb?: readonly string[] | 'off' | undefined;
}

export interface OvnFlagValues {
  nb: string | undefined;
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  checkHostname: boolean;
  bridge: string | undefined;
  underlayMtu: string | undefined;
  installTimeout: string | undefined;
  /** Seconds (`--ovn-remote-wait`); 0 turns the wait for the other chassis off. */
  remoteWait?: string | undefined;
  /** SB remotes for the remote wait, 'off', or unset (the chassis' ovn-remote). */
  sb?: string | undefined;
}

const ENDPOINT = /^(unix:\/.+|tcp:\[?[0-9A-Za-z.:-]+\]?:[0-9]{1,5}|ssl:\[?[0-9A-Za-z.:-]+\]?:[0-9]{1,5})$/;

/** The OVN config from flag/env values; undefined when no NB remote is given (OVN mode off). */
export function parseOvnFlags(v: OvnFlagValues, callTimeoutMs: number): OvnConfig | undefined {
  const given = [v.ca, v.cert, v.key, v.bridge, v.underlayMtu, v.installTimeout, v.remoteWait, v.sb].some(
    (x) => x !== undefined && x !== '',
  );
  if (v.nb === undefined || v.nb === '') {
    if (given) throw new InvalidOptionError('--ovn-*', '', 'only together with --ovn-nb (OVN mode)');
    return undefined;
  }
  const nb = v.nb.split(',').map((s) => s.trim());
  for (const e of nb) {
    if (!ENDPOINT.test(e))
      throw new InvalidOptionError(
        '--ovn-nb',
        e,
        'unix:/PATH, tcp:HOST:PORT or ssl:HOST:PORT, comma-separated',
      );
  }
  const ssl = nb.some((e) => e.startsWith('ssl:'));
  let tls: TlsOptions | undefined;
  if (ssl) {
    for (const [flag, f] of [
      ['--ovn-ca', v.ca],
      ['--ovn-cert', v.cert],
      ['--ovn-key', v.key],
    ] as const) {
      if (f === undefined || f === '')
        throw new InvalidOptionError(
          flag,
          f ?? '',
          `a PEM file: --ovn-nb ${v.nb} needs --ovn-ca, --ovn-cert and --ovn-key`,
        );
      try {
        accessSync(f, fsConstants.R_OK);
      } catch (err) {
        throw new InvalidOptionError(flag, f, `a readable PEM file (${(err as NodeJS.ErrnoException).code})`);
      }
    }
    tls = { caFile: v.ca, certFile: v.cert, keyFile: v.key, checkHostname: v.checkHostname } as TlsOptions;
  } else if ([v.ca, v.cert, v.key].some((x) => x !== undefined && x !== '')) {
    throw new InvalidOptionError('--ovn-ca/--ovn-cert/--ovn-key', v.nb, 'an ssl:HOST:PORT --ovn-nb remote');
  }
  const bridge = v.bridge === undefined || v.bridge === '' ? DEFAULT_OVN_BRIDGE : v.bridge;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge))
    throw new InvalidOptionError(
      '--ovn-bridge',
      bridge,
      'an OVS bridge name of 1..15 characters [A-Za-z0-9_.-]',
    );
  let underlayMtu: number | undefined;
  if (v.underlayMtu !== undefined && v.underlayMtu !== '') {
    underlayMtu = Number(v.underlayMtu);
    if (!/^[0-9]+$/.test(v.underlayMtu) || underlayMtu < 1280 || underlayMtu > 65535)
      throw new InvalidOptionError('--ovn-underlay-mtu', v.underlayMtu, 'an integer from 1280 to 65535');
  }
  let installTimeoutMs = DEFAULT_INSTALL_TIMEOUT_MS;
  if (v.installTimeout !== undefined && v.installTimeout !== '') {
    const s = Number(v.installTimeout);
    if (!Number.isFinite(s) || s <= 0 || s * 1000 >= callTimeoutMs)
      throw new InvalidOptionError(
        '--ovn-install-timeout',
        v.installTimeout,
        `a number of seconds > 0 and below --call-timeout (${callTimeoutMs / 1000})`,
      );
    installTimeoutMs = Math.round(s * 1000);
  } else if (installTimeoutMs >= callTimeoutMs) {
    installTimeoutMs = Math.max(100, Math.round(callTimeoutMs * 0.8));
  }
  let remoteWaitMs = Math.min(DEFAULT_REMOTE_WAIT_MS, installTimeoutMs);
  if (v.remoteWait !== undefined && v.remoteWait !== '') {
    const s = Number(v.remoteWait);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(v.remoteWait) || s * 1000 > installTimeoutMs)
      throw new InvalidOptionError(
        '--ovn-remote-wait',
        v.remoteWait,
        `a number of seconds from 0 (off) to --ovn-install-timeout (${installTimeoutMs / 1000})`,
      );
    remoteWaitMs = Math.round(s * 1000);
  }
  let sb: OvnConfig['sb'];
  if (v.sb === 'off') sb = 'off';
  else if (v.sb !== undefined && v.sb !== '') sb = parseSbRemotes('--ovn-sb', v.sb, tls !== undefined);
  return {
    nb,
    ...(tls ? { tls } : {}),
    bridge,
    underlayMtu,
    installTimeoutMs,
    remoteWaitMs,
    ...(sb ? { sb } : {}),
  };
}

/**
 * SB remotes, comma-separated, from `--ovn-sb` or a chassis' `external_ids:ovn-remote` (read back from OVS:
 * input like any other). ssl: remotes need the `--ovn-ca/cert/key` TLS files (`haveTls`): the same PKI as NB.
 */
export function parseSbRemotes(field: string, value: string, haveTls: boolean): readonly string[] {
  const list = value.split(',').map((s) => s.trim());
  for (const e of list) {
    if (!ENDPOINT.test(e))
      throw new InvalidOptionError(
        field,
        e,
        "unix:/PATH, tcp:HOST:PORT or ssl:HOST:PORT, comma-separated, or 'off'",
      );
    if (e.startsWith('ssl:') && !haveTls)
      throw new InvalidOptionError(
        field,
        e,
        'tcp: or unix: (ssl: SB remotes need an ssl: --ovn-nb with --ovn-ca/--ovn-cert/--ovn-key)',
      );
  }
  return list;
}
