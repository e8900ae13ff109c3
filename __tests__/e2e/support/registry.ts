import { request } from 'http';
import { gunzipSync } from 'zlib';

/**
 * Reads the registry through its HTTP API (Distribution v2), as a client on
 * another node would: nothing here asks the Docker engine what it pushed.
 */

/** The pushed manifests are Docker schema 2; asking for OCI only gets a converted schema 1 with another digest. */
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** GET over plain HTTP, no proxy (the registry is on loopback), following redirects. */
export function httpGet(url: string, headers: Record<string, string> = {}, redirects = 3): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location && redirects > 0) {
          resolve(httpGet(new URL(res.headers.location, url).toString(), headers, redirects - 1));
          return;
        }
        resolve({ status, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Any method, plain HTTP, no redirects followed: for what the auth proxy answers. `body`: what a write sends. */
export function httpRequest(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface PushedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly manifest: any;
}

/** What BuildKit pushes: OCI or Docker schema 2, either way with a Docker-Content-Digest. */
export const IMAGE_MANIFESTS = ['application/vnd.oci.image.manifest.v1+json', DOCKER_MANIFEST_V2];

export class RegistryClient {
  /** @param accept the manifest types to ask for; default Docker schema 2 (what podman pushes) */
  constructor(readonly url: string, readonly accept: readonly string[] = [DOCKER_MANIFEST_V2]) {}

  async catalog(): Promise<string[]> {
    const res = await httpGet(`${this.url}/v2/_catalog?n=1000`);
    if (res.status !== 200) throw new Error(`GET /v2/_catalog: HTTP ${res.status} ${res.body.toString()}`);
    return JSON.parse(res.body.toString()).repositories ?? [];
  }

  /** Tags of a repository; [] when the registry has never heard of it. */
  async tags(name: string): Promise<string[]> {
    const res = await httpGet(`${this.url}/v2/${name}/tags/list`);
    if (res.status === 404) return [];
    if (res.status !== 200) throw new Error(`GET /v2/${name}/tags/list: HTTP ${res.status} ${res.body.toString()}`);
    return JSON.parse(res.body.toString()).tags ?? [];
  }

  async manifest(name: string, reference: string): Promise<PushedManifest> {
    const res = await httpGet(`${this.url}/v2/${name}/manifests/${reference}`, { Accept: this.accept.join(', ') });
    if (res.status !== 200) throw new Error(`GET /v2/${name}/manifests/${reference}: HTTP ${res.status} ${res.body.toString()}`);
    const digest = res.headers['docker-content-digest'];
    if (typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest)) {
      throw new Error(`GET /v2/${name}/manifests/${reference}: no Docker-Content-Digest header (got ${JSON.stringify(digest)})`);
    }
    return { digest, mediaType: String(res.headers['content-type']), manifest: JSON.parse(res.body.toString()) };
  }

  async blob(name: string, digest: string): Promise<Buffer> {
    const res = await httpGet(`${this.url}/v2/${name}/blobs/${digest}`);
    if (res.status !== 200) throw new Error(`GET /v2/${name}/blobs/${digest}: HTTP ${res.status}`);
    return res.body;
  }

  /** The image config (Env, Labels, ...) of name:reference. */
  async config(name: string, reference: string): Promise<any> {
    const { manifest } = await this.manifest(name, reference);
    return JSON.parse((await this.blob(name, manifest.config.digest)).toString());
  }

  /** Every regular file of every layer of name:reference, path → content (later layers win). */
  async files(name: string, reference: string): Promise<Map<string, Buffer>> {
    const { manifest } = await this.manifest(name, reference);
    const files = new Map<string, Buffer>();
    for (const layer of manifest.layers as Array<{ digest: string }>) {
      for (const [path, content] of untar(await this.blob(name, layer.digest))) {
        files.set(path, content);
      }
    }
    return files;
  }
}

/** Regular files of a (possibly gzipped) ustar/pax archive; just enough for image layers. */
export function untar(archive: Buffer): Map<string, Buffer> {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const files = new Map<string, Buffer>();
  const str = (b: Buffer) => b.toString('utf-8').replace(/\0.*$/s, '');
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(str(header.subarray(124, 136)).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = str(header.subarray(345, 500));
    const name = paxPath ?? (prefix ? `${prefix}/${str(header.subarray(0, 100))}` : str(header.subarray(0, 100)));
    const data = tar.subarray(offset + 512, offset + 512 + size);
    paxPath = undefined;
    if (type === 'x') {
      const match = /\d+ path=([^\n]*)\n/.exec(data.toString('utf-8'));
      paxPath = match?.[1];
    } else if (type === '0' || type === '\0') {
      files.set(name.replace(/^\.?\//, ''), Buffer.from(data));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
