// Identifier rules: Docker's network and endpoint ids, tenant ids and owner names as they are recorded in
// OVS external_ids. Docker's ids are 64 hex characters (moby pkg/stringid); tools and tests use shorter
// ones, so any short printable token is accepted — never bytes that would make a log line or an
// `ovs-vsctl find` ambiguous.

export const ID_ALLOWED = '1 to 128 characters from [A-Za-z0-9_.-] (Docker sends 64 hex digits)';
const ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

export function idProblem(value: unknown): string | undefined {
  return typeof value === 'string' && ID_RE.test(value) ? undefined : ID_ALLOWED;
}

export const TENANT_ALLOWED = '1 to 64 characters from [A-Za-z0-9_.:@-]';
const TENANT_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

export function tenantProblem(value: unknown): string | undefined {
  return typeof value === 'string' && TENANT_RE.test(value) ? undefined : TENANT_ALLOWED;
}

/** The owner recorded in `ocn-owner` (a driver name, or the Orchestrator's id). */
export const OWNER_ALLOWED = '1 to 63 characters from [A-Za-z0-9_.:-], starting with a letter or digit';
const OWNER_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/;

export function ownerProblem(value: unknown): string | undefined {
  return typeof value === 'string' && OWNER_RE.test(value) ? undefined : OWNER_ALLOWED;
}

/** VLAN ids a network may use (802.1Q: 0 and 4095 are reserved). */
export function vlanProblem(value: unknown): string | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 4094
    ? undefined
    : 'a VLAN id: an integer from 1 to 4094';
}
