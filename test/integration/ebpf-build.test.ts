/**
 * The committed eBPF build (native/ebpf/generated/) and the loader built from it with gcc and
 * libbpf.so.1 alone: what the README's first command gets on a machine without clang.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoPath } from '../helpers/repo.js';

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

test('the committed BPF object was built from the sources as they are now', () => {
  const digest = createHash('sha256')
    .update(readFileSync(repoPath('native/ebpf/erase.bpf.c')))
    .update(readFileSync(repoPath('native/ebpf/erase.h')))
    .digest('hex');
  const committed = readFileSync(repoPath('native/ebpf/generated/SOURCES.sha256'), 'utf8').split(' ')[0];
  assert.equal(committed, digest, 'erase.bpf.c or erase.h changed without bash scripts/build-ebpf.sh --update');
  const skeleton = readFileSync(repoPath('native/ebpf/generated/erase.skel.h'), 'utf8');
  const object = readFileSync(repoPath('native/ebpf/generated/erase.bpf.o'));
  assert.match(skeleton, new RegExp(`\\*sz = ${object.length};`), 'the skeleton embeds the committed object');
});

const noGcc = process.platform !== 'linux' ? 'needs Linux' : has('gcc') ? false : 'gcc is not installed';

test('the loader builds with gcc and libbpf.so.1 alone, from a copy of the tree', { skip: noGcc }, (t) => {
  const ldconfig = spawnSync('sh', ['-c', '{ ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null | grep -q "libbpf.so.1 "']);
  if (ldconfig.status !== 0) {
    t.skip('libbpf.so.1 is not installed');
    return;
  }
  const copy = mkdtempSync(join(tmpdir(), 'mxw-ebpf-build-'));
  try {
    cpSync(repoPath('native/ebpf'), join(copy, 'native/ebpf'), { recursive: true });
    cpSync(repoPath('scripts/build-ebpf-loader.sh'), join(copy, 'scripts/build-ebpf-loader.sh'));
    // No -I for libbpf-dev's headers: the copy builds against native/ebpf/abi/ whether or not they exist.
    const out = execFileSync('bash', [join(copy, 'scripts/build-ebpf-loader.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(out, /built \.maxwell\/ebpf\/erase-loader/);
    const loader = join(copy, '.maxwell/ebpf/erase-loader');
    assert.ok(existsSync(loader));
    const libs = execFileSync('ldd', [loader], { encoding: 'utf8' });
    assert.match(libs, /libbpf\.so\.1 =>/);
    const help = spawnSync(loader, ['--help'], { encoding: 'utf8' });
    assert.match(`${help.stdout}${help.stderr}`, /usage/i);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

const noLibbpfDev = noGcc || (existsSync('/usr/include/bpf/libbpf.h') ? false : 'libbpf-dev is not installed (the ABI check compares against its headers)');

test('native/ebpf/abi agrees with libbpf-dev, and the check catches a prototype that does not', { skip: noLibbpfDev }, () => {
  const check = (dir: string) => spawnSync('gcc', ['-Wall', '-Wextra', '-Werror', '-fsyntax-only', join(dir, 'check-abi.c')], { encoding: 'utf8' });
  const good = check(repoPath('native/ebpf'));
  assert.equal(good.status, 0, good.stderr);
  const copy = mkdtempSync(join(tmpdir(), 'mxw-ebpf-abi-'));
  try {
    cpSync(repoPath('native/ebpf'), copy, { recursive: true });
    const shim = join(copy, 'abi/bpf/libbpf.h');
    writeFileSync(shim, readFileSync(shim, 'utf8').replace('int ring_buffer__consume(struct ring_buffer *rb);', 'long ring_buffer__consume(struct ring_buffer *rb);'));
    const bad = check(copy);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /conflicting types for .ring_buffer__consume/);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
