import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (scripts/testkit/dist/paths.js → ../../..). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SCRIPTS = resolve(REPO_ROOT, 'scripts');
/** Debian's docker client; it matches dockerd 20.10 (the preinstalled 28.x client needs API 1.44). */
export const DOCKER = '/usr/bin/docker';
/** Debian's python3, which has python3-openvswitch (the pyenv python3 first on PATH does not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
export const OVN_NB_SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
export const OVN_SB_SCHEMA = '/usr/share/ovn/ovn-sb.ovsschema';
