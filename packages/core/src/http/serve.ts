/**
 * Start a Hono app on @hono/node-server and close it gracefully: stop accepting, let in-flight
 * requests finish (bounded), then drop idle keep-alive sockets.
 */
import { type ServerType, serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trackResource } from '../resources.ts';

export interface RunningServer {
  readonly port: number;
  readonly url: string;
  readonly server: ServerType;
  /** From now on every answer carries `Connection: close`, so clients stop reusing connections. */
  endKeepAlive(): void;
  /** Stop accepting; wait up to `timeoutMs` for in-flight requests, then force-close sockets. */
  close(timeoutMs?: number): Promise<void>;
}

export interface ServeOptions {
  host: string;
  port: number;
  name: string;
  /** Node server timeouts (slow-body protection). */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

export function startServer(app: Hono<any>, options: ServeOptions): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch: app.fetch,
        hostname: options.host,
        port: options.port,
        // Node enforces requestTimeout/headersTimeout only when it sweeps connections, every 30 s
        // by default: a slowloris client would hold a socket 30 s whatever the timeout says.
        serverOptions: { connectionsCheckingInterval: 1_000 },
      },
      (info: AddressInfo) => {
        const release = trackResource('server', options.name);
        const http = server as Server;
        let closing: Promise<void> | undefined;
        let keepAliveEnded = false;
        const endKeepAlive = () => {
          if (keepAliveEnded) return;
          keepAliveEnded = true;
          http.on('request', (_req, res) => res.setHeader('connection', 'close'));
        };
        const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
        resolve({
          port: info.port,
          url: `http://${host}:${info.port}`,
          server,
          endKeepAlive,
          close(timeoutMs = 10_000) {
            closing ??= new Promise<void>((done) => {
              const timer = setTimeout(() => http.closeAllConnections(), timeoutMs);
              // Keep-alive sockets become idle as their last request finishes: close them as they do,
              // and ask clients not to reuse connections from now on.
              const sweep = setInterval(() => http.closeIdleConnections(), 50);
              endKeepAlive();
              http.close(() => {
                clearTimeout(timer);
                clearInterval(sweep);
                release();
                done();
              });
              http.closeIdleConnections();
            });
            return closing;
          },
        });
      },
    ) as Server;
    if (options.requestTimeoutMs !== undefined) server.requestTimeout = options.requestTimeoutMs;
    if (options.headersTimeoutMs !== undefined) server.headersTimeout = options.headersTimeoutMs;
    if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
    server.once('error', reject);
  });
}
