import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MSR, MsrRaplReader, type MsrAccess } from '../../../src/telemetry/sysfs/msr.js';
import { telemetryReaderCompliance } from '../../compliance/telemetry-reader.js';
import { emptyRoot } from '../../helpers/fixtures.js';

/**
 * /dev/cpu/N/msr reads MSR R at file offset R. A sparse file with 8 bytes written at each
 * register's offset behaves the same for pread, so the tree is built here rather than stored
 * (AMD's registers sit at offsets above 3 GB).
 */
function msrTree(vendor: 'intel' | 'amd', cpus: { pkg: number; core: number }[], registers: Record<number, bigint>): { root: string; set: (cpu: number, address: number, value: bigint) => void } {
  const root = mkdtempSync(join(tmpdir(), 'maxwell-msr-'));
  mkdirSync(join(root, 'proc'), { recursive: true });
  writeFileSync(join(root, 'proc/cpuinfo'), `processor\t: 0\nvendor_id\t: ${vendor === 'intel' ? 'GenuineIntel' : 'AuthenticAMD'}\n`);
  const set = (cpu: number, address: number, value: bigint): void => {
    const fd = openSync(join(root, 'dev/cpu', String(cpu), 'msr'), 'r+');
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(value);
    writeSync(fd, bytes, 0, 8, address);
    closeSync(fd);
  };
  cpus.forEach(({ pkg, core }, cpu) => {
    mkdirSync(join(root, 'dev/cpu', String(cpu)), { recursive: true });
    writeFileSync(join(root, 'dev/cpu', String(cpu), 'msr'), '');
    const topo = join(root, 'sys/devices/system/cpu', `cpu${cpu}`, 'topology');
    mkdirSync(topo, { recursive: true });
    writeFileSync(join(topo, 'physical_package_id'), `${pkg}\n`);
    writeFileSync(join(topo, 'core_id'), `${core}\n`);
    for (const [address, value] of Object.entries(registers)) set(cpu, Number(address), value);
  });
  return { root, set };
}

/** AMD's registers are adjacent numbers: an in-memory register file stands in for the device. */
function amdTree(): { root: string; access: MsrAccess; set: (cpu: number, address: number, value: number) => void } {
  const tree = msrTree('amd', [{ pkg: 0, core: 0 }, { pkg: 0, core: 0 }, { pkg: 0, core: 1 }], {});
  const files = new Map<number, Map<number, number>>();
  const paths = new Map<string, number>();
  const cpuOf = (path: string): number => Number(/cpu\/(\d+)\/msr$/.exec(path)?.[1]);
  for (const cpu of [0, 1, 2]) files.set(cpu, new Map([[MSR.amd.unit, 0x000a1003], [MSR.amd.package, 7], [MSR.amd.core, 3]]));
  const access: MsrAccess = {
    open: (path) => {
      const cpu = cpuOf(path);
      paths.set(path, cpu);
      return cpu;
    },
    read: (cpu, address) => files.get(cpu)?.get(address) ?? Number.NaN,
    close: () => undefined,
  };
  return { root: tree.root, access, set: (cpu, address, value) => files.get(cpu)?.set(address, value) };
}

// Energy status unit 14 → 1/2^14 J ≈ 61 µJ (bits 12:8 of 0x000A0E03, a typical Intel value).
const INTEL_UNIT = 0x000a0e03n;
const intel = () => msrTree('intel', [{ pkg: 0, core: 0 }, { pkg: 0, core: 1 }], { [MSR.intel.unit]: INTEL_UNIT, [MSR.intel.package]: 1000n, [MSR.intel.core]: 500n, [MSR.intel.dram]: 0n });

telemetryReaderCompliance({ name: 'rapl-msr (Intel)', present: () => new MsrRaplReader({ root: intel().root }), absent: () => new MsrRaplReader({ root: emptyRoot() }) });
telemetryReaderCompliance({ name: 'rapl-msr (AMD, in-memory registers)', present: () => { const t = amdTree(); return new MsrRaplReader({ root: t.root, access: t.access }); } });

test('Intel: one register set per package; energy in units of 1/2^ESU J; 32-bit wrap handled', async () => {
  const tree = intel();
  const reader = new MsrRaplReader({ root: tree.root });
  const probe = await reader.probe();
  assert.deepEqual(probe.state === 'present' ? probe.channels.map((c) => c.id) : [], ['msr/package-0', 'msr/package-0/core', 'msr/package-0/dram']);
  await reader.start();
  tree.set(0, MSR.intel.package, 1000n + 16384n);
  assert.ok(Math.abs(reader.sample()[0]!.value - 1) < 1e-12, '16384 units of 2^-14 J = 1 J');
  tree.set(0, MSR.intel.package, 0xffff_ff00n);
  reader.sample();
  tree.set(0, MSR.intel.package, 0x100n); // wrapped: 0x200 units further
  const [pkg] = reader.sample();
  const expected = (0xffff_ff00 - 1000 + 0x200) / 16384;
  assert.ok(Math.abs(pkg!.value - expected) < 1e-9, `${pkg!.value} vs ${expected}`);
  assert.ok(pkg!.trusted);
  // Only the low 32 bits count: high bits (reserved) are ignored.
  tree.set(0, MSR.intel.package, 0x1234_0000_0200n);
  assert.ok(Math.abs(reader.sample()[0]!.value - (expected + 0x100 / 16384)) < 1e-9);
  await reader.stop();
});

test('AMD: package counter plus one counter per physical core (SMT siblings share)', async () => {
  const tree = amdTree();
  const reader = new MsrRaplReader({ root: tree.root, access: tree.access });
  const probe = await reader.probe();
  assert.deepEqual(probe.state === 'present' ? probe.channels.map((c) => c.id) : [], ['msr/package-0', 'msr/package-0/core-0', 'msr/package-0/core-1']);
  await reader.start();
  tree.set(2, MSR.amd.core, 3 + 65536); // ESU 16 → 1 J
  const readings = new Map(reader.sample().map((r) => [r.channel, r.value]));
  assert.ok(Math.abs(readings.get('msr/package-0/core-1')! - 1) < 1e-12);
  assert.equal(readings.get('msr/package-0/core-0'), 0);
  await reader.stop();
});

test('without the msr driver (as on the development VMs) the reader says why', async () => {
  const root = emptyRoot();
  mkdirSync(join(root, 'proc'));
  writeFileSync(join(root, 'proc/cpuinfo'), 'vendor_id\t: AuthenticAMD\n');
  const probe = await new MsrRaplReader({ root }).probe();
  assert.ok(probe.state === 'absent' && /msr driver/.test(probe.reason));
});
