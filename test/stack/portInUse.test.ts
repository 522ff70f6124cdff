// Whether a service's port is free: a listener makes it taken; a server that just stopped, leaving its
// closed connections in TIME_WAIT, does not (`npm run down && npm run up` failed on PostgreSQL's port).
import { createConnection, createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { portInUse } from '../../stack/processes.ts';

async function listen(port = 0): Promise<Server> {
  const server = createServer((socket) => socket.end()); // the server closes first: its side goes to TIME_WAIT
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

describe('portInUse', () => {
  it('is true while something listens, and false once it stopped, TIME_WAIT connections or not', async () => {
    const server = await listen();
    const port = (server.address() as { port: number }).port;
    expect(await portInUse(port)).toBe(true);
    for (let i = 0; i < 3; i++) {
      const c = createConnection({ host: '127.0.0.1', port });
      await once(c, 'close');
    }
    server.close();
    await once(server, 'close');
    expect(await portInUse(port)).toBe(false);
    // And a server can take it again at once (SO_REUSEADDR, as PostgreSQL, Kafka and Node set it).
    const again = await listen(port);
    expect(await portInUse(port)).toBe(true);
    again.close();
  });
});
