#!/usr/bin/env node
// Boots the Debian guest built by scripts/build-linux-guest.sh (systemd as PID 1, pure cgroup v2)
// under QEMU (TCG), runs ONE shell command in it as root once systemd has finished starting up,
// and gives back its stdout, stderr and exit code. See docs/RUNTIMES.md.
//
//   node scripts/guest-run.mjs [--guest guest.json] [--timeout SECONDS] [--console FILE] [--reboots] -- 'shell command'
//
// Prints the command's stdout and stderr on its own, timings on stderr, and exits with the
// command's exit code (125 when the guest could not run it, 124 on timeout). Also a module:
// `guestRun({ command, timeoutMs })` resolves to { code, stdout, stderr, state, timings, consoleTail }.
//
// A plain Node script with no dependencies (not a TS module under test/helpers) so that it runs
// before and without `npm run build`, from a shell or a CI step, like the other scripts/; a test
// can import it by path.
//
// How the command travels: a third NVMe drive (serial mxio) holds a tar with command.sh; the
// guest's maxwell-guest-run.service (baked into the image) runs it with the project drive
// (serial mxproject) mounted at /opt/maxwell as cwd, writes a tar of exit, times, stdout,
// stderr back over the same drive (fsynced), says DONE on the serial console (where the host
// kills QEMU: the power-off that follows only costs time). The root and
// project drives are attached with snapshot=on, so the images never change and runs are independent.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, existsSync, rmSync, truncateSync, appendFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..'));
const CACHE = process.env.MXW_GUEST_CACHE ?? '/var/cache/maxwell/linux-guest';
const MARK = 'MAXWELL-GUEST ';
/** QEMU processes this module started and that have not exited (killed on SIGINT/SIGTERM by the CLI). */
const live = new Set();
const CMDLINE = 'root=/dev/nvme0n1 rw console=ttyS0 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 panic=-1';

/** The guest.json build-linux-guest.sh wrote for this clone (same id: sha256 of the clone's real path). */
export function defaultGuestJson(repo = REPO) {
  const id = createHash('sha256').update(repo).digest('hex').slice(0, 16);
  return join(CACHE, 'clones', id, 'guest.json');
}

/** Why the guest cannot run here, or null when it can (for tests that must skip cleanly). */
export function guestUnavailable(guestJson = defaultGuestJson()) {
  if (!existsSync(guestJson)) return `no guest image (${guestJson}): run sudo bash scripts/build-linux-guest.sh`;
  const g = JSON.parse(readFileSync(guestJson, 'utf8'));
  for (const k of ['kernel', 'rootfs', 'project']) if (!existsSync(g[k])) return `guest ${k} image missing: ${g[k]}`;
  try { execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' }); } catch { return 'no qemu-system-x86_64'; }
  return null;
}

export class GuestError extends Error {
  constructor(message, consoleTail, code = 'GUEST_FAILED') { super(message); this.consoleTail = consoleTail; this.code = code; }
}

/**
 * `reboots: true` lets the command reboot the guest: it touches $GUEST_REBOOT_FLAG and exits, and
 * runs again after the boot with $GUEST_BOOT one higher (1 on the first); stdout and stderr
 * are those of every run, in order, and `boots` lists each boot's systemd state.
 * @param {{ command: string, guestJson?: string, timeoutMs?: number, memoryMiB?: number, cpus?: number,
 *           ioMiB?: number, consoleLog?: string, reboots?: boolean, onConsole?: (line: string) => void }} o
 */
export async function guestRun(o) {
  const guestJson = o.guestJson ?? defaultGuestJson();
  const why = guestUnavailable(guestJson);
  if (why) throw new GuestError(why, '', 'GUEST_UNAVAILABLE');
  const g = JSON.parse(readFileSync(guestJson, 'utf8'));
  const timeoutMs = o.timeoutMs ?? 300_000;
  const dir = mkdtempSync(join(tmpdir(), 'maxwell-guest-'));
  let qemu;
  try {
    // The I/O drive: a tar with command.sh, padded to ioMiB so the results tar fits on the way back.
    writeFileSync(join(dir, 'command.sh'), o.command + '\n');
    const io = join(dir, 'io.img');
    execFileSync('tar', ['-cf', io, '-C', dir, 'command.sh']);
    truncateSync(io, (o.ioMiB ?? 64) * 1024 * 1024);
    const drive = (file, id, serial, extra = '') =>
      ['-drive', `file=${file},if=none,id=${id},format=raw${extra}`, '-device', `nvme,serial=${serial},drive=${id}`];
    const args = [
      '-accel', 'tcg', '-cpu', 'max', '-m', String(o.memoryMiB ?? 2048), '-smp', String(o.cpus ?? 2),
      // -no-reboot: a reboot (or a panic, panic=-1) ends QEMU, unless the command asked to reboot.
      '-nographic', ...(o.reboots === true ? [] : ['-no-reboot']), '-nic', 'none',
      '-kernel', g.kernel, '-append', CMDLINE,
      // The root drive first: with no initramfs the kernel mounts /dev/nvme0n1 by name.
      ...drive(g.rootfs, 'd0', 'root', ',snapshot=on'),
      ...drive(g.project, 'd1', 'mxproject', ',snapshot=on'),
      ...drive(io, 'd2', 'mxio'),
    ];
    const t0 = performance.now();
    const timings = { bootMs: NaN, commandMs: NaN, totalMs: NaN, guestUptimeAtBootS: NaN };
    let state = '', done = false, tail = '', buf = '';
    const boots = [];
    qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const proc = qemu;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    const onText = (chunk) => {
      const s = chunk.toString('utf8');
      if (o.consoleLog) appendFileSync(o.consoleLog, s);
      tail = (tail + s).slice(-8000);
      buf += s;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, '');
        buf = buf.slice(i + 1);
        o.onConsole?.(line);
        const at = line.indexOf(MARK);
        if (at < 0) continue;
        const [word, ...rest] = line.slice(at + MARK.length).trim().split(/\s+/);
        if (word === 'BOOTED' && Number.isNaN(timings.bootMs)) { timings.bootMs = performance.now() - t0; state = rest[0]; timings.guestUptimeAtBootS = Number(rest[1]); }
        if (word === 'BOOTED') boots.push({ state: rest[0], uptimeS: Number(rest[1]) });
        // The results are on the I/O drive (written with fsync) before DONE: stop QEMU now
        // instead of waiting out systemd's power-off (~6 s under TCG), which adds nothing.
        if (word === 'DONE') { done = true; qemu.kill('SIGKILL'); }
        if (word === 'ERROR') tail += `\n[guest-run: ${line}]`;
      }
    };
    qemu.stdout.on('data', onText);
    qemu.stderr.on('data', onText);
    const exited = new Promise((resolve, reject) => {
      qemu.on('error', reject);
      qemu.on('exit', (code, signal) => resolve({ code, signal }));
    });
    let timer;
    const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    const r = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    timings.totalMs = performance.now() - t0;
    if (r === 'timeout') {
      throw new GuestError(`guest-run: timed out after ${timeoutMs / 1000} s (${done ? 'command done, power-off hung'
        : Number.isNaN(timings.bootMs) ? 'systemd never finished starting up' : 'the command was still running'})`, tail, 'GUEST_TIMEOUT');
    }
    const out = join(dir, 'out');
    execFileSync('mkdir', ['-p', out]);
    try { execFileSync('tar', ['-xf', io, '-C', out], { stdio: 'ignore' }); } catch { /* judged below */ }
    if (!existsSync(join(out, 'exit'))) {
      throw new GuestError(`guest-run: the guest powered off without a result (qemu exit ${r.code ?? r.signal}; ` +
        `${Number.isNaN(timings.bootMs) ? 'it never reported BOOTED' : 'see the console tail'})`, tail);
    }
    const read = (f) => (existsSync(join(out, f)) ? readFileSync(join(out, f), 'utf8') : '');
    const [s, e] = read('times').trim().split(/\s+/).map(Number);
    timings.commandMs = (e - s) * 1000;
    return {
      code: Number(read('exit').trim()), stdout: read('stdout'), stderr: read('stderr'), state,
      systemdAnalyze: read('systemd-analyze').trim(), timings, boots, consoleTail: tail,
    };
  } finally {
    // Always: the QEMU process never outlives the call (a timeout, a throw, a hung power-off).
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
      qemu.kill('SIGKILL');
      await new Promise((resolve) => qemu.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv) {
  let guestJson, timeoutS = 300, consoleLog, reboots = false;
  const i = argv.indexOf('--');
  const opts = i >= 0 ? argv.slice(0, i) : argv.slice(0, -1);
  const command = (i >= 0 ? argv.slice(i + 1) : argv.slice(-1)).join(' ');
  for (let k = 0; k < opts.length; k++) {
    if (opts[k] === '--guest') guestJson = opts[++k];
    else if (opts[k] === '--timeout') timeoutS = Number(opts[++k]);
    else if (opts[k] === '--console') consoleLog = opts[++k];
    else if (opts[k] === '--reboots') reboots = true;
    else { console.error(`guest-run: unknown option ${opts[k]}`); return 125; }
  }
  if (!command) { console.error("usage: node scripts/guest-run.mjs [--guest FILE] [--timeout S] [--console FILE] [--reboots] -- 'command'"); return 125; }
  try {
    const r = await guestRun({ command, guestJson, timeoutMs: timeoutS * 1000, consoleLog, reboots });
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    const f = (ms) => `${(ms / 1000).toFixed(1)} s`;
    console.error(`guest-run: exit ${r.code}; systemd ${r.state}; boot to startup finished ${f(r.timings.bootMs)} ` +
      `(guest uptime ${r.timings.guestUptimeAtBootS} s), command ${f(r.timings.commandMs)}, total ${f(r.timings.totalMs)}`);
    if (r.systemdAnalyze) console.error(`guest-run: ${r.systemdAnalyze.split('\n')[0]}`);
    return r.code;
  } catch (err) {
    console.error(err.message);
    if (err.consoleTail) console.error(`--- console tail ---\n${err.consoleTail.slice(-3000)}`);
    return err.code === 'GUEST_TIMEOUT' ? 124 : 125;
  }
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Ctrl-C or a SIGTERM from CI: exit through main's finally so QEMU is killed, not orphaned.
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => { for (const p of live) p.kill('SIGKILL'); process.exit(130); });
  }
  process.exitCode = await main(process.argv.slice(2));
}
