/**
 * A stand-in for Firecracker's API server (no Firecracker binary exists for these machines):
 * it answers on a Unix socket like Firecracker does and checks each request against the
 * constraints of Firecracker's published OpenAPI description (swagger 2.0,
 * src/firecracker/swagger/firecracker.yaml, API 1.17.0-dev): required fields, types, enums,
 * ranges, and which paths and methods exist. Constraints are restated here, not copied.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { z } from 'zod';

const BootSource = z.object({ kernel_image_path: z.string(), boot_args: z.string().optional(), initrd_path: z.string().optional() }).strict();
const MachineConfiguration = z
  .object({
    vcpu_count: z.number().int().min(1).max(32),
    mem_size_mib: z.number().int(),
    smt: z.boolean().optional(),
    track_dirty_pages: z.boolean().optional(),
    huge_pages: z.enum(['None', 'Transparent', '2M']).optional(),
    cpu_template: z.string().optional(),
  })
  .strict();
const Drive = z
  .object({
    drive_id: z.string(),
    is_root_device: z.boolean(),
    partuuid: z.string().optional(),
    cache_type: z.enum(['Unsafe', 'Writeback']).optional(),
    is_read_only: z.boolean().optional(),
    path_on_host: z.string().optional(),
    io_engine: z.enum(['Sync', 'Async']).optional(),
    socket: z.string().optional(),
  })
  .strict();
const Vsock = z.object({ guest_cid: z.number().int().min(3), uds_path: z.string(), vsock_id: z.string().optional() }).strict();
const InstanceActionInfo = z.object({ action_type: z.enum(['FlushMetrics', 'InstanceStart', 'SendCtrlAltDel']) }).strict();
const Vm = z.object({ state: z.enum(['Paused', 'Resumed']) }).strict();

export interface FakeFirecracker {
  readonly server: Server;
  readonly requests: { method: string; path: string; body: unknown }[];
  state: 'Not started' | 'Running' | 'Paused';
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      try {
        resolve(text === '' ? undefined : JSON.parse(text));
      } catch {
        resolve(Symbol('invalid json'));
      }
    });
  });
}

export async function startFakeFirecracker(socketPath: string): Promise<FakeFirecracker> {
  const fake: FakeFirecracker = {
    server: createServer(),
    requests: [],
    state: 'Not started',
    close: () => new Promise((resolve) => fake.server.close(() => { resolve(); })),
  };
  const routes: Record<string, z.ZodType> = {
    'PUT /boot-source': BootSource,
    'PUT /machine-config': MachineConfiguration,
    'PUT /vsock': Vsock,
    'PUT /actions': InstanceActionInfo,
    'PATCH /vm': Vm,
  };
  fake.server.on('request', (req, res) => {
    void (async () => {
      const method = req.method ?? '';
      const path = req.url ?? '';
      const payload = await body(req);
      fake.requests.push({ method, path, body: payload });
      const reply = (status: number, content?: unknown): void => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(content === undefined ? '' : JSON.stringify(content));
      };
      if (method === 'GET' && path === '/') {
        reply(200, { app_name: 'Firecracker', id: 'anonymous-instance', state: fake.state, vmm_version: '1.17.0-dev' });
        return;
      }
      const driveMatch = /^\/drives\/([^/]+)$/.exec(path);
      const schema = method === 'PUT' && driveMatch !== null ? Drive : routes[`${method} ${path}`];
      if (schema === undefined) {
        reply(400, { fault_message: `Invalid request method and/or path: ${method} ${path}` });
        return;
      }
      if (req.headers['content-type'] !== 'application/json') {
        reply(400, { fault_message: 'expected Content-Type: application/json' });
        return;
      }
      const parsed = schema.safeParse(payload);
      if (!parsed.success) {
        reply(400, { fault_message: `bad request body: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
        return;
      }
      if (driveMatch !== null && (payload as { drive_id: string }).drive_id !== decodeURIComponent(driveMatch[1] ?? '')) {
        reply(400, { fault_message: 'drive_id in the path and the body differ' });
        return;
      }
      if (path === '/actions' && (payload as { action_type: string }).action_type === 'InstanceStart') fake.state = 'Running';
      if (path === '/vm') {
        if (fake.state === 'Not started') {
          reply(400, { fault_message: 'the microVM is not started' });
          return;
        }
        fake.state = (payload as { state: string }).state === 'Paused' ? 'Paused' : 'Running';
      }
      reply(204);
    })();
  });
  await new Promise<void>((resolve) => fake.server.listen(socketPath, resolve));
  return fake;
}
