// How a CLI command on the host reaches a running `mcpcp serve` on this machine: plain HTTP on
// 127.0.0.1, or, when the instance itself serves HTTPS (team mode with `team.tls`), HTTPS to
// 127.0.0.1 checked against the instance's own certificate under its public host name. The
// instance records what is needed in its instance file (see data-dir.ts).

import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, rootCertificates, type PeerCertificate } from 'node:tls';
import { ControlPlaneError, errorMessage } from '../core/errors';
import type { InstanceRecord } from './data-dir';

/** The base URL a person would recognise for the instance (used in messages). */
export function instanceBase(instance: InstanceRecord): string {
  return `${instance.tls ? 'https' : 'http'}://127.0.0.1:${instance.port}`;
}

/**
 * What node:https needs to reach the instance (undefined when it serves plain HTTP): the system
 * roots plus the instance's certificate file, and its public host name for the certificate check.
 */
export function instanceTlsOptions(instance: InstanceRecord): { ca: string[]; servername?: string; checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined } | undefined {
  if (!instance.tls) return undefined;
  const { certFile, servername } = instance.tls;
  let ca: string[];
  try {
    ca = [...rootCertificates, readFileSync(certFile, 'utf8')];
  } catch (err) {
    throw new ControlPlaneError('INSTANCE_UNREACHABLE', `the instance on port ${instance.port} serves HTTPS with ${certFile}, which cannot be read here: ${errorMessage(err)}; run this command as the user that runs mcpcp serve`);
  }
  // The connection goes to 127.0.0.1; the certificate is checked for the public name (SNI only
  // for a host name: TLS has no server name for an IP address).
  return { ca, ...(isIP(servername) === 0 ? { servername } : {}), checkServerIdentity: (_host, cert) => checkServerIdentity(servername, cert) };
}

/**
 * `fetch` to `path` (starting with `/`) of a local instance. Over HTTPS the certificate must be
 * the instance's (its certificate file's chain, or one a system root signed) for its public host
 * name: a process that took the port cannot answer in its place.
 */
export async function instanceFetch(instance: InstanceRecord, path: string, init: RequestInit = {}): Promise<Response> {
  const tls = instanceTlsOptions(instance);
  if (tls === undefined) return fetch(`${instanceBase(instance)}${path}`, init);
  const { certFile, servername } = instance.tls!;
  const headers = new Headers(init.headers);
  const body = init.body === undefined || init.body === null ? undefined : typeof init.body === 'string' ? Buffer.from(init.body) : Buffer.from(await new Response(init.body).arrayBuffer());
  if (body !== undefined) headers.set('content-length', String(body.length));
  return await new Promise<Response>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: instance.port, path, method: init.method ?? 'GET', headers: Object.fromEntries(headers), ...tls, ...(init.signal ? { signal: init.signal } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) out.set(name, Array.isArray(value) ? value.join(', ') : value);
          const status = res.statusCode ?? 502;
          resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: out }));
        });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError' || err.name === 'TimeoutError') return reject(err);
      const tlsRefused = typeof err.code === 'string' && /CERT|SELF_SIGNED|ERR_TLS|HOSTNAME|ALTNAME|UNABLE_TO/.test(err.code);
      reject(
        tlsRefused
          ? new ControlPlaneError('INSTANCE_UNREACHABLE', `the HTTPS instance on port ${instance.port} did not present a certificate for ${servername} that ${certFile} or a system root vouches for (${err.code}): another process may hold the port, or the certificate file was replaced after the instance started (restart it)`)
          : err,
      );
    });
    req.end(body);
  });
}
