/**
 * Agents' cgroups inside the systemd service that runs Maxwell, on a pure cgroup v2 machine
 * (`daemon.cgroupParent: delegated`, set by deploy/systemd/maxwell.service with `Delegate=yes`).
 *
 * systemd owns the cgroup tree; a service may manage only the subtree systemd delegated to it
 * (systemd.io/CGROUP_DELEGATION). Inside it, the no-internal-processes rule holds: a cgroup that
 * hands controllers to its children may hold no process itself. So the daemon moves itself
 * into a leaf, `<unit>/daemon`, before it enables cpu, cpuset and memory for `<unit>`'s
 * children, and the agents live in `<unit>/maxwell/<instance>/<agent>`. (systemd itself runs a
 * delegated unit's ExecStopPost in `<unit>/.control` for the same reason.) See docs/RUNTIMES.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeSetupError } from '../../errors.js';
import type { CgroupLayout } from './cgroups.js';

/** The leaf the daemon moves itself into. */
export const DAEMON_LEAF = 'daemon';
/** Controllers the process runtime needs handed down to the agents. */
const NEEDED = ['cpu', 'cpuset', 'memory'] as const;

/** A process's cgroup2 path (`/system.slice/maxwell.service/daemon`), from /proc/PID/cgroup; undefined without one. */
export function ownCgroup2Path(pid: number | 'self' = 'self', procRoot = '/proc'): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(procRoot, String(pid), 'cgroup'), 'utf8');
  } catch {
    return undefined;
  }
  return text.split('\n').find((l) => l.startsWith('0::'))?.slice(3);
}

/**
 * The systemd unit cgroup that contains `path` (itself or its nearest ancestor named
 * `*.service` or `*.scope`: units that can be delegated), or undefined outside any.
 */
export function enclosingUnit(path: string): string | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  for (let i = parts.length; i > 0; i--) {
    const name = parts[i - 1] ?? '';
    if (name.endsWith('.service') || name.endsWith('.scope')) return `/${parts.slice(0, i).join('/')}`;
  }
  return undefined;
}

/** This process's cgroup v2 path and the unit enclosing it, each undefined where there is none. */
function unitOfSelf(procRoot: string): { readonly own: string | undefined; readonly unit: string | undefined } {
  const own = ownCgroup2Path('self', procRoot);
  return { own, unit: own === undefined ? undefined : enclosingUnit(own) };
}

function controllersOf(dir: string): Set<string> {
  try {
    return new Set(readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter((c) => c !== ''));
  } catch {
    return new Set();
  }
}

/**
 * Takes over this process's delegated unit cgroup and returns it (an absolute directory), ready
 * to hold `maxwell/<instance>/<agent>` groups with cpu, cpuset and memory. Idempotent: a second
 * runtime in the same daemon finds itself already in the leaf. Throws `MXW_ERR_RUNTIME_SETUP`
 * saying what is missing: a pure cgroup v2 tree, a unit, `Delegate=yes`, an empty unit cgroup.
 */
export function takeOverDelegatedUnit(layout: CgroupLayout, cgroupRoot: string, procRoot = '/proc'): string {
  if (layout.v2 === undefined || layout.v2 !== cgroupRoot || layout.v2Controllers.size === 0) {
    throw new RuntimeSetupError(`daemon.cgroupParent is "delegated", but ${cgroupRoot} is not a pure cgroup v2 hierarchy with controllers: use "root" on this machine`);
  }
  const { own, unit } = unitOfSelf(procRoot);
  if (own === undefined || unit === undefined) {
    throw new RuntimeSetupError(`daemon.cgroupParent is "delegated", but this process (cgroup ${own ?? 'unknown'}) is not in a systemd service or scope: run it from deploy/systemd/maxwell.service (Delegate=yes), or use "root"`);
  }
  const unitDir = join(layout.v2, unit);
  const missing = NEEDED.filter((c) => !controllersOf(unitDir).has(c));
  if (missing.length > 0) {
    throw new RuntimeSetupError(`daemon.cgroupParent is "delegated", but the unit's cgroup ${unitDir} lacks the ${missing.join(', ')} controller(s): set Delegate=yes in the unit (systemd delegates every controller with it)`);
  }
  const leaf = join(unitDir, DAEMON_LEAF);
  if (own === unit) {
    if (!existsSync(leaf)) mkdirSync(leaf);
    try {
      writeFileSync(join(leaf, 'cgroup.procs'), String(process.pid));
    } catch (err) {
      throw new RuntimeSetupError(`cannot move the daemon into ${leaf}: ${(err as Error).message}`, { cause: err });
    }
  } else if (own !== `${unit}/${DAEMON_LEAF}`) {
    throw new RuntimeSetupError(`daemon.cgroupParent is "delegated", but this process is in ${own}, inside ${unit} yet not its ${DAEMON_LEAF} leaf: start it as the unit's main process`);
  }
  const enable = NEEDED.map((c) => `+${c}`).join(' ');
  try {
    writeFileSync(join(unitDir, 'cgroup.subtree_control'), enable);
  } catch (err) {
    // EBUSY: another process still sits in the unit's own cgroup (an ExecStartPre= child, a
    // helper started beside the daemon): the no-internal-processes rule forbids handing down.
    const stray = readFileSync(join(unitDir, 'cgroup.procs'), 'utf8').trim().split('\n').filter((p) => p !== '');
    throw new RuntimeSetupError(
      `cannot enable ${enable} in ${unitDir}: ${(err as Error).message}${stray.length > 0 ? ` (processes ${stray.join(', ')} are still in the unit's own cgroup)` : ''}`,
      { cause: err },
    );
  }
  return unitDir;
}

/** Where a sweep run by the unit (its ExecStopPost, in `<unit>/.control`) finds a dead daemon's delegated groups, if anywhere. */
export function delegatedParentOfSelf(layout: CgroupLayout, procRoot = '/proc'): string | undefined {
  if (layout.v2 === undefined) return undefined;
  const { unit } = unitOfSelf(procRoot);
  return unit === undefined ? undefined : join(layout.v2, unit);
}
