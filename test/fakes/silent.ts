import { createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A peer that accepts TCP connections and then never says a word: a hung SMTP server (no
 * greeting) or a hung HTTP API (no response). Closing it drops every open connection.
 */
export class SilentServer {
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly port: number,
  ) {}

  static async start(): Promise<SilentServer> {
    const server = createServer((socket) => {
      silent.sockets.add(socket);
      socket.on('close', () => silent.sockets.delete(socket));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const silent = new SilentServer(server, (server.address() as AddressInfo).port);
    return silent;
  }

  /** How many connections were opened so far and are still open. */
  get openConnections(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A local port nothing listens on (a peer that is down). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
