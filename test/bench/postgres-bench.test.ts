// `npm run bench -- --storage postgres --instances N`: its options and the round-robin TCP
// balancer in front of the server processes (the full run is `npm run bench`).
import { connect, createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBenchOptions } from '../../bench/options.js';
import { startBalancer } from '../../bench/postgres.js';

describe('bench on PostgreSQL', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it('parses --storage and --instances', () => {
    expect(parseBenchOptions(['--storage', 'postgres', '--instances', '3'])).toMatchObject({
      storage: 'postgres',
      instances: 3,
    });
    expect(parseBenchOptions([])).toMatchObject({ storage: 'sqlite', instances: 1 });
    expect(() => parseBenchOptions(['--storage', 'mysql'])).toThrow(/unknown storage mysql/);
    expect(() => parseBenchOptions(['--instances', '0'])).toThrow(/--instances/);
  });

  it('hands each new connection to the next backend in turn and relays both ways', async () => {
    const backends = await Promise.all(
      ['a', 'b'].map(
        (name) =>
          new Promise<{ host: string; port: number }>((resolve) => {
            const s = createServer((sock) => sock.on('data', (d) => sock.end(`${name}:${d}`)));
            servers.push(s);
            s.listen(0, '127.0.0.1', () =>
              resolve({ host: '127.0.0.1', port: (s.address() as { port: number }).port }),
            );
          }),
      ),
    );
    const balancer = await startBalancer(backends);
    servers.push(balancer.server);
    const ask = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const c = connect(balancer.target.port, '127.0.0.1', () => c.write(text));
        let got = '';
        c.on('data', (d) => (got += d));
        c.on('end', () => resolve(got));
        c.on('error', reject);
      });
    const answers: string[] = [];
    for (const n of [1, 2, 3, 4]) answers.push(await ask(`hello ${n}`));
    expect(answers).toEqual(['a:hello 1', 'b:hello 2', 'a:hello 3', 'b:hello 4']);
  });
});
