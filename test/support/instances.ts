// Several server processes on one database, for the multi-instance and fault tests: each instance
// is a real `node` process (test/support/instance-process.ts through the tsx loader) with its own
// listener on a free port, sharing the database, the certificates folder and the token secret.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AdminCommandRequest } from '../../src/dm/admin.js';
import type { HttpRequestOut, SendOptions, TlsOptions, Transport } from '../../src/simulator/transport.js';
import { httpTransport } from '../../src/simulator/transport.js';

const CHILD = fileURLToPath(new URL('./instance-process.ts', import.meta.url));

export interface Instance {
  readonly url: string;
  readonly port: number;
  readonly tlsCertPem: string | undefined;
  readonly process: ChildProcess;
  /** Queues an admin command in this instance's process (its own storage and pool). */
  enqueue(request: AdminCommandRequest): Promise<string>;
  /** Graceful stop (SIGTERM-like: closes the listener and the pool). */
  stop(): Promise<void>;
  /** SIGKILL: the process dies wherever it is. */
  kill(): Promise<void>;
}

/** Starts one instance with these config flags (camelCase, as `mdm serve` flags). */
export async function startInstance(flags: Record<string, unknown>): Promise<Instance> {
  const child = fork(CHILD, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, MDM_TEST_INSTANCE: JSON.stringify({ host: '127.0.0.1', port: 0, ...flags }) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; port: number; tlsCertPem?: string }>((resolve, reject) => {
    const onMessage = (msg: {
      type: string;
      message?: string;
      url: string;
      port: number;
      tlsCertPem?: string;
    }) => {
      if (msg.type === 'ready') resolve(msg);
      else if (msg.type === 'error') reject(new Error(`instance failed to start: ${msg.message}`));
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`instance exited with ${code} before it was ready`)));
  });
  let next = 0;
  return {
    url: ready.url,
    port: ready.port,
    tlsCertPem: ready.tlsCertPem,
    process: child,
    enqueue(request) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        const onMessage = (msg: { type: string; id: number; commandId?: string; error?: string }) => {
          if (msg.type !== 'enqueued' || msg.id !== id) return;
          child.off('message', onMessage);
          if (msg.commandId) resolve(msg.commandId);
          else reject(new Error(msg.error));
        };
        child.on('message', onMessage);
        child.send({ type: 'enqueue', id, request });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.send({ type: 'stop' });
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A device transport that sends each request to the next of `origins` in turn (a round-robin load
 * balancer with no affinity), keeping the path and query the server handed out. `origins` may be
 * changed while it runs (an instance taken out of the rotation); `hits[origin]` counts requests.
 */
export function roundRobinTransport(
  origins: string[],
  onSend?: (origin: string) => void,
): {
  factory: (tls: TlsOptions) => Transport;
  hits: number[];
  byOrigin: Map<string, number>;
} {
  let turn = 0;
  const byOrigin = new Map<string, number>();
  const hits = origins.map(() => 0);
  return {
    hits,
    byOrigin,
    factory(tls) {
      const inner = new Map<string, Transport>();
      return {
        send(request: HttpRequestOut, options?: SendOptions) {
          const i = turn++ % origins.length;
          const origin = origins[i]!;
          if (hits[i] !== undefined) hits[i]++;
          byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + 1);
          onSend?.(origin);
          let transport = inner.get(origin);
          if (!transport) {
            transport = httpTransport(tls);
            inner.set(origin, transport);
          }
          const url = new URL(request.url);
          const target = new URL(origin);
          url.protocol = target.protocol;
          url.host = target.host;
          return transport.send({ ...request, url: url.toString() }, options);
        },
        close() {
          for (const t of inner.values()) t.close();
          inner.clear();
        },
      };
    },
  };
}
