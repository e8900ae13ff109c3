import { readFileSync, writeFileSync } from 'fs';
import { connect, createServer, Socket } from 'net';

/**
 * A TCP relay in front of a real server (the API server: TLS passes through untouched), to give
 * its clients the network's real failures: `down()` closes the port (new connections are
 * refused, open ones reset), `delayMs` holds every chunk a client sends for that long (a slow
 * API server).
 */
export class TcpProxy {
  /** Each chunk from a client waits this long before it is forwarded. */
  delayMs = 0;
  /** Where clients connect (127.0.0.1). */
  port = 0;
  private server = createServer((client) => this.relay(client));
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', r));
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  private relay(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(client).add(upstream);
    let queue = Promise.resolve();
    client.on('data', (chunk) => {
      if (this.delayMs <= 0) {
        upstream.write(chunk);
        return;
      }
      const delay = this.delayMs;
      client.pause();
      queue = queue.then(() => new Promise<void>((r) => setTimeout(() => { upstream.write(chunk); client.resume(); r(); }, delay)));
    });
    upstream.pipe(client);
    const end = () => { client.destroy(); upstream.destroy(); this.sockets.delete(client); this.sockets.delete(upstream); };
    for (const s of [client, upstream]) { s.on('error', end); s.on('close', end); }
  }

  /** Refuses new connections and resets the open ones. */
  async down(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    this.server = createServer((client) => this.relay(client));
    await new Promise<void>((r) => this.server.listen(this.port, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    if (this.server.listening) await this.down();
  }
}

/** The API server's address in a kubeconfig (its first `server:`). */
export function kubeconfigServer(kubeconfig: string): { host: string; port: number } {
  const m = /server: https:\/\/([^:\s]+):(\d+)/.exec(readFileSync(kubeconfig, 'utf-8'));
  if (!m) throw new Error(`no https server address in ${kubeconfig}`);
  return { host: m[1], port: Number(m[2]) };
}

/** A copy of `kubeconfig` whose server is the proxy (same host, so the certificate still matches). */
export function kubeconfigThrough(kubeconfig: string, proxy: TcpProxy, out: string): string {
  writeFileSync(out, readFileSync(kubeconfig, 'utf-8').replace(/(server: https:\/\/[^:\s]+:)\d+/, `$1${proxy.port}`));
  return out;
}
