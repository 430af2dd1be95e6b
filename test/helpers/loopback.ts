/** Servers on 127.0.0.1 for the tests that read over http:// (or tcp://), and the processes such suites start. */
import type { ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';

/** Starts `server` (HTTP or plain TCP) on a free port of 127.0.0.1; resolves to the port. */
export async function loopbackPort(server: NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

/** Starts `server` on a free port of 127.0.0.1; resolves to its base URL, `http://127.0.0.1:PORT`. */
export async function listenOnLoopback(server: Server): Promise<string> {
  return `http://127.0.0.1:${await loopbackPort(server)}`;
}

/** Closes `server` now, its open connections too (a live stream's never end of themselves). */
export function closeNow(server: Server): void {
  server.closeAllConnections();
  server.close();
}

/** An array the suite's tests push the processes they start onto: each killed after its test, passed or failed. */
export function killedAfterEachTest(): ChildProcess[] {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  return children;
}
