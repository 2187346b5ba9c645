// The datapath-type rule for every layer (the `datapath_type` option, `--datapath-type`, the Orchestrator's
// `datapathType`, records read back from OVS): the two datapaths ovs-vswitchd runs bridges on.

export const DATAPATH_TYPES = ['system', 'netdev'] as const;
export type DatapathType = (typeof DATAPATH_TYPES)[number];

export const DATAPATH_ALLOWED = '"system" (kernel datapath) or "netdev" (userspace datapath)';

export function isDatapathType(value: unknown): value is DatapathType {
  return value === 'system' || value === 'netdev';
}

/** undefined for a datapath type, else what is allowed. */
export function datapathTypeProblem(value: unknown): string | undefined {
  return isDatapathType(value) ? undefined : DATAPATH_ALLOWED;
}
