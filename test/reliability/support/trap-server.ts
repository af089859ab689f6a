import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A server no request should ever reach: its URL is planted in every field and header a client controls
 * (`base_url`, `api_base`, `X-Forwarded-Host`, the model name, …). Tollgate may only call the upstreams
 * an admin configured, so `hits` must stay empty.
 */
export class TrapServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly hits: string[],
  ) {}

  static async start(): Promise<TrapServer> {
    const hits: string[] = [];
    const server = createServer((request, response) => {
      hits.push(`${request.method} ${request.url}`);
      response.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return new TrapServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits);
  }

  get host(): string {
    return new URL(this.url).host;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
