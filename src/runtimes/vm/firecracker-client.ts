/**
 * The Firecracker backend's control path: its REST API over the Unix socket Firecracker
 * listens on (`--api-sock`). Pause and resume are `PATCH /vm {"state": "Paused"|"Resumed"}`;
 * a microVM is configured with `PUT /boot-source`, `/machine-config`, `/drives/{id}`,
 * `/vsock` (the guest ↔ host channel) and started with `PUT /actions {"action_type":
 * "InstanceStart"}`. Success is 204 No Content; errors carry `{"fault_message"}`.
 *
 * Firecracker cannot run on the development machines (no binary; `/dev/kvm` there runs only
 * PVM guests), so this client is tested against a local server that checks every request
 * against the constraints of Firecracker's published OpenAPI description (swagger 2.0,
 * `src/firecracker/swagger/firecracker.yaml`, API version 1.17.0-dev).
 */
import { request } from 'node:http';
import { RuntimeSetupError } from '../../errors.js';

export interface BootSource {
  readonly kernel_image_path: string;
  readonly boot_args?: string;
  readonly initrd_path?: string;
}

export interface MachineConfiguration {
  /** 1–32; 1 or even with SMT. */
  readonly vcpu_count: number;
  readonly mem_size_mib: number;
  readonly smt?: boolean;
  readonly track_dirty_pages?: boolean;
}

export interface Drive {
  readonly drive_id: string;
  readonly is_root_device: boolean;
  readonly path_on_host?: string;
  readonly is_read_only?: boolean;
}

export interface Vsock {
  /** Guest context id, ≥ 3. */
  readonly guest_cid: number;
  readonly uds_path: string;
}

export interface InstanceInfo {
  readonly app_name: string;
  readonly id: string;
  readonly state: 'Not started' | 'Running' | 'Paused';
  readonly vmm_version: string;
}

/** Largest response body read from the API, bytes. */
const MAX_RESPONSE_BYTES = 1 << 20;

export class FirecrackerClient {
  readonly #socketPath: string;
  readonly #timeoutMs: number;

  constructor(socketPath: string, timeoutMs = 5000) {
    this.#socketPath = socketPath;
    this.#timeoutMs = timeoutMs;
  }

  #call(method: 'GET' | 'PUT' | 'PATCH', path: string, body?: object): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.#socketPath,
          method,
          path,
          timeout: this.#timeoutMs,
          headers: { Accept: 'application/json', ...(payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if (text.length > MAX_RESPONSE_BYTES) req.destroy(new RuntimeSetupError(`Firecracker ${method} ${path}: response too large`));
          });
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              parsed = text;
            }
            if (status >= 200 && status < 300) {
              resolve(parsed);
              return;
            }
            const fault = (parsed as { fault_message?: string } | undefined)?.fault_message ?? text;
            reject(new RuntimeSetupError(`Firecracker ${method} ${path} → ${status}: ${fault}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new RuntimeSetupError(`Firecracker ${method} ${path}: no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (err) => {
        reject(err instanceof RuntimeSetupError ? err : new RuntimeSetupError(`Firecracker ${method} ${path}: ${err.message} (is firecracker running with --api-sock ${this.#socketPath}?)`, { cause: err }));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  describe(): Promise<InstanceInfo> {
    return this.#call('GET', '/') as Promise<InstanceInfo>;
  }

  async putBootSource(source: BootSource): Promise<void> {
    await this.#call('PUT', '/boot-source', source);
  }

  async putMachineConfig(config: MachineConfiguration): Promise<void> {
    await this.#call('PUT', '/machine-config', config);
  }

  async putDrive(drive: Drive): Promise<void> {
    await this.#call('PUT', `/drives/${encodeURIComponent(drive.drive_id)}`, drive);
  }

  async putVsock(vsock: Vsock): Promise<void> {
    await this.#call('PUT', '/vsock', vsock);
  }

  async start(): Promise<void> {
    await this.#call('PUT', '/actions', { action_type: 'InstanceStart' });
  }

  /** Pauses the microVM; resolves once Firecracker reports it paused (confirmed by GET /). */
  async pause(): Promise<boolean> {
    await this.#call('PATCH', '/vm', { state: 'Paused' });
    return (await this.describe()).state === 'Paused';
  }

  async resume(): Promise<void> {
    await this.#call('PATCH', '/vm', { state: 'Resumed' });
  }

  /** Asks the guest to shut down (x86 only). */
  async sendCtrlAltDel(): Promise<void> {
    await this.#call('PUT', '/actions', { action_type: 'SendCtrlAltDel' });
  }
}
