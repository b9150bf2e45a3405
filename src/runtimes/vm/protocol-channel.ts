/**
 * The agent protocol for VM agents: the guest speaks the same frames as a process agent
 * (docs/PROTOCOL.md) on its third serial port (`/dev/ttyS2`), and QEMU bridges that port to
 * the daemon's Unix socket for the agent as a socket *client*, so every byte reaches
 * `ProtocolServer` unchanged and its authentication and limits apply as they are.
 *
 * ```
 * guest ttyS2 ──(QEMU chardev "proto", socket client)──> <runtimeDir>/<agentId>.sock
 * guest ttyS1 <──(QEMU chardev "agent", socket server)── VmRuntime: READY / TOKEN / stop / EXIT
 * ```
 *
 * Two choices, and why:
 * - The port starts as a `null` chardev and is switched to the socket with QMP
 *   `chardev-change` only when the guest says `READY <mode> protocol`. A socket named on the
 *   command line would connect when QEMU starts, and the server's hello timeout (5 s) runs
 *   from then, while a TCG boot takes 1.5–6 s; it would also connect guests that never speak
 *   the protocol, each ending in a rejection. No `reconnect`: a session the daemon closes is
 *   final, as for a process agent, and a reconnecting chardev would cycle a rejected guest
 *   through a hello timeout every few seconds. The connect is synchronous (QMP answers after
 *   it), so the socket is up before the guest gets its token. Going through QMP (JSON) also
 *   means no path needs QEMU's comma-separated option syntax.
 * - The token reaches the guest over the control channel (`TOKEN <agentId> <token>`), a socket
 *   in the VM's 0700 directory, never the kernel command line or QEMU's argv (both readable by
 *   every user through `/proc/<pid>/cmdline`). QEMU's environment does not carry it either.
 */
import { isAbsolute } from 'node:path';
import { AgentSpecError } from '../../errors.js';
import { AGENT_ID_PATTERN } from '../../agent-id.js';
import { AGENT_ENV } from '../../protocol/server.js';
import type { AgentSpec } from '../runtime.js';
import type { QmpClient } from './qmp.js';

/** Where a VM agent's protocol channel connects and how the guest authenticates. */
export interface VmProtocolEndpoint {
  readonly socketPath: string;
  readonly agentId: string;
  readonly token: string;
}

/** QEMU's id of the protocol port's chardev. */
export const PROTOCOL_CHARDEV_ID = 'proto';

/** Longest Unix socket path Linux accepts (sun_path is 108 bytes with the NUL). */
const MAX_SOCKET_PATH_BYTES = 107;
/** The server's limit on tokens (`helloSchema`). */
const MAX_TOKEN_CHARS = 256;

/**
 * Reads `MAXWELL_SOCKET`, `MAXWELL_TOKEN` and `MAXWELL_AGENT_ID` from the spec's env: null
 * when none is set (no protocol channel), else all three, checked. Throws
 * `MXW_ERR_AGENT_SPEC` for a partial or unusable set.
 */
export function protocolEndpointOf(spec: AgentSpec): VmProtocolEndpoint | null {
  const env = spec.env ?? {};
  const socketPath = env[AGENT_ENV.socket];
  const token = env[AGENT_ENV.token];
  const agentId = env[AGENT_ENV.agentId];
  if (socketPath === undefined && token === undefined && agentId === undefined) return null;
  const bad = (why: string): Error => new AgentSpecError(`agent "${spec.id}": ${why}`);
  if (socketPath === undefined || token === undefined || agentId === undefined) {
    const missing = Object.values(AGENT_ENV).filter((name) => env[name] === undefined);
    throw bad(`the protocol channel needs ${Object.values(AGENT_ENV).join(', ')}; missing ${missing.join(', ')}`);
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (!isAbsolute(socketPath) || /[\u0000-\u001f\u007f]/.test(socketPath) || Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw bad(`${AGENT_ENV.socket} must be an absolute socket path of at most ${MAX_SOCKET_PATH_BYTES} bytes without control characters`);
  }
  if (!AGENT_ID_PATTERN.test(agentId)) throw bad(`${AGENT_ENV.agentId} ${JSON.stringify(agentId)} is not an agent id`);
  if (token.length === 0 || token.length > MAX_TOKEN_CHARS) throw bad(`${AGENT_ENV.token} must have 1 to ${MAX_TOKEN_CHARS} characters`);
  return { socketPath, agentId, token };
}

/**
 * QEMU arguments of the protocol port: the guest's third serial port (I/O 0x3e8), unconnected
 * until the guest asks. It gets IRQ 5 instead of the legacy 4, which ttyS0 (the console)
 * already drives: two emulated UARTs on one edge-triggered ISA line can hide each other's
 * interrupts. The guest kernel takes the IRQ from the ACPI table QEMU writes
 * (`/proc/tty/driver/serial` shows `irq:5`).
 */
export function protocolPortArgs(): string[] {
  return ['-chardev', `null,id=${PROTOCOL_CHARDEV_ID}`, '-device', `isa-serial,chardev=${PROTOCOL_CHARDEV_ID},index=2,irq=5`];
}

/** Switches the protocol port to a client of the agent's socket; resolves once connected (QMP fails otherwise). */
export async function connectProtocolPort(qmp: QmpClient, endpoint: VmProtocolEndpoint): Promise<void> {
  await qmp.execute('chardev-change', {
    id: PROTOCOL_CHARDEV_ID,
    backend: { type: 'socket', data: { addr: { type: 'unix', data: { path: endpoint.socketPath } }, server: false } },
  });
}

/**
 * The control-channel line that gives the guest its identity: `TOKEN <agentId> <token>\n`,
 * the token written as the inside of a JSON string with everything outside `!`–`~` as
 * `\uXXXX`, so the guest pastes it into its `hello` as is and the line has no space in it.
 */
export function tokenLine(endpoint: VmProtocolEndpoint): string {
  const escaped = JSON.stringify(endpoint.token)
    .slice(1, -1)
    .replace(/[^!-~]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `TOKEN ${endpoint.agentId} ${escaped}\n`;
}
