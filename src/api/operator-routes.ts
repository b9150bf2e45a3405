/**
 * The operator's routes: Prometheus metrics (`GET /metrics`), what a token allows
 * (`GET /v1/access`), and the live dashboard (`GET /dashboard`, its script and style, and the
 * charting library it draws with). The dashboard's files are public — they hold no data; the page
 * asks for a token and reads the API with it like any other client (docs/OPERATIONS.md).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DaemonControl } from './control.js';
import { ApiNotFoundError } from '../errors.js';
import { createDaemonMetrics } from './metrics.js';
import { routeSchema } from './openapi.js';
import { emptyQuerySchema, parseRequest } from './wire.js';

/** The dashboard's files, shipped as they are (no build step). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../web/dashboard/', import.meta.url));
const DASHBOARD_FILES: Readonly<Record<string, string>> = {
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};
const ECHARTS_PATH = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
/** The page loads nothing from elsewhere and runs only its own scripts. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export interface AccessBody { readonly access: 'read' | 'write' }

export function registerOperatorRoutes(app: FastifyInstance, options: { readonly control: DaemonControl; readonly prefix: string }): void {
  const { control, prefix } = options;
  const metrics = createDaemonMetrics(control);
  app.addHook('onClose', () => {
    metrics.close();
  });
  const noQuery = (query: unknown): void => {
    parseRequest(emptyQuerySchema, query, 'query');
  };

  app.get('/metrics', { schema: routeSchema({ summary: 'Prometheus metrics (text exposition format); every temperature and energy says measured or modelled', tags: ['operator'], read: true, querystring: emptyQuerySchema }) }, async (request, reply) => {
    noQuery(request.query);
    void reply.type(metrics.contentType);
    return metrics.render();
  });

  app.get(`${prefix}/access`, { schema: routeSchema({ summary: 'What the presented token allows: read or write', tags: ['operator'], read: true, querystring: emptyQuerySchema }) }, (request): AccessBody => {
    noQuery(request.query);
    return { access: request.access ?? 'read' };
  });

  // Read per request: a page edited in place shows on reload, and nothing is cached that could go stale.
  const send = (path: string, type: string) => (_request: unknown, reply: { type(t: string): unknown; header(k: string, v: string): unknown }) => {
    reply.type(type);
    reply.header('cache-control', 'no-store');
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    return readFileSync(path);
  };
  const page = { config: { public: true }, schema: routeSchema({ summary: 'The live dashboard (HTML; it asks for a token)', tags: ['operator'], public: true }) } as const;
  app.get('/dashboard', page, send(`${DASHBOARD_DIR}index.html`, 'text/html; charset=utf-8'));
  app.get('/dashboard/echarts.min.js', { config: { public: true }, schema: routeSchema({ summary: 'The charting library the dashboard draws with (Apache ECharts)', tags: ['operator'], public: true }) }, send(ECHARTS_PATH, 'text/javascript; charset=utf-8'));
  const fileParams = z.strictObject({ file: z.string().max(64) });
  app.get('/dashboard/:file', { config: { public: true }, schema: routeSchema({ summary: 'The dashboard’s script and style', tags: ['operator'], public: true, params: fileParams }) }, (request, reply) => {
    const { file } = parseRequest(fileParams, request.params, 'params');
    const type = Object.hasOwn(DASHBOARD_FILES, file) ? DASHBOARD_FILES[file] : undefined;
    if (type === undefined) throw new ApiNotFoundError(`no dashboard file ${file}`);
    return send(`${DASHBOARD_DIR}${file}`, type)(request, reply);
  });
}
