/**
 * `GET /v1/ticks`: a WebSocket stream of one JSON tick event per tick (or one in `every`). The
 * token (header or `?token=`) and the query are checked before the upgrade, so a bad one is a
 * plain HTTP 401 or 400 and never an open socket; a GET without `Upgrade: websocket` is told what
 * the route is (426, `MXW_ERR_API_VALIDATION`) in the API's error shape.
 */
import type { WebSocket } from '@fastify/websocket';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { DaemonControl, TickEvent } from './control.js';
import { routeSchema } from './openapi.js';
import { parseRequest, serialise, ticksQuerySchema, type ErrorBody } from './wire.js';

/** A tick-stream client with more than this unsent is skipped until it catches up, bytes. */
const MAX_WS_BUFFERED_BYTES = 1_048_576;

export function registerTickStream(app: FastifyInstance, { control, prefix: p }: { readonly control: DaemonControl; readonly prefix: string }): void {
  const notUpgraded: ErrorBody = { error: { code: 'MXW_ERR_API_VALIDATION', message: `GET ${p}/ticks is a WebSocket stream: connect with Upgrade: websocket` } };
  app.route({
    method: 'GET',
    url: `${p}/ticks`,
    config: { tokenInQuery: true },
    schema: routeSchema({ summary: 'WebSocket: one JSON tick event per tick (or one in `every`); the token may be `?token=`', tags: ['daemon'], read: true, querystring: ticksQuerySchema }),
    // Runs before the upgrade: a bad query is an HTTP 400, never an open socket.
    preValidation: (request, _reply, done) => {
      try {
        parseRequest(ticksQuerySchema, request.query, 'query');
        done();
      } catch (err) {
        done(err as FastifyError);
      }
    },
    handler: (_request, reply) => reply.code(426).header('upgrade', 'websocket').send(notUpgraded),
    wsHandler: (socket, request) => {
      sendTicks(control, socket, parseRequest(ticksQuerySchema, request.query, 'query').every ?? 1);
    },
  });
}

/** Sends one tick in `every` to `socket` until it closes. The stream is one-way; anything a client sends is ignored. */
function sendTicks(control: DaemonControl, socket: WebSocket, every: number): void {
  let seen = 0;
  const unsubscribe = control.onTick((event: TickEvent) => {
    seen += 1;
    if (seen % every !== 0) return;
    // A client that does not read is skipped (the tick numbers show the gap), never buffered without bound.
    if (socket.readyState !== socket.OPEN || socket.bufferedAmount > MAX_WS_BUFFERED_BYTES) return;
    socket.send(serialise(event));
  });
  socket.on('close', unsubscribe);
  socket.on('error', unsubscribe);
}
