/**
 * Where process agents' cgroups live on cgroup v2 (config `daemon.cgroupParent`; docs/RUNTIMES.md):
 * `root` (<hierarchy>/maxwell/…, any machine) or `delegated` (inside the systemd service running the
 * daemon, which must have Delegate=yes). Its own module so the configuration schema can name the
 * values without loading the runtime.
 */
export const CGROUP_PARENTS = ['root', 'delegated'] as const;
export type CgroupParent = (typeof CGROUP_PARENTS)[number];
