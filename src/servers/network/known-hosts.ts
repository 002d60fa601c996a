/**
 * Trust on first use into the control plane's own known-hosts file (OpenSSH format,
 * `[host]:port type base64`). The first key a host presents is recorded; a different key later is
 * a hard error naming the device, never a prompt and never an overwrite. Writes are serialised and
 * atomic (temp file + rename), so concurrent first connections cannot lose entries.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ControlPlaneError } from '../../core/errors';
import { NetworkErrorCode } from './client';

export function fingerprint(keyBase64: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

interface Entry {
  readonly type: string;
  readonly key: string;
}

export class KnownHosts {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  /**
   * Accepts the key when recorded for this host, records it when the host is new; throws
   * HOST_KEY_CHANGED when the host has a different key on record.
   */
  async verify(device: string, host: string, port: number, type: string, keyBase64: string): Promise<'known' | 'added'> {
    return this.serial(async () => {
      const entries = await this.load();
      const pattern = hostPattern(host, port);
      const recorded = entries.get(pattern) ?? [];
      if (recorded.some((e) => e.type === type && e.key === keyBase64)) return 'known';
      if (recorded.length > 0) {
        const was = recorded.map((e) => `${e.type} ${fingerprint(e.key)}`).join(', ');
        throw new ControlPlaneError(
          NetworkErrorCode.hostKeyChanged,
          `HOST KEY CHANGED for device ${device} (${pattern}): it presented ${type} ${fingerprint(keyBase64)}, but ${was} is on record. Nothing was sent to it.`,
          {
            details: {
              device,
              hint: `This can be an attack (someone in the middle) or a replaced device. If the change is expected, remove the line for ${pattern} from ${this.file} and connect again.`,
            },
          },
        );
      }
      entries.set(pattern, [{ type, key: keyBase64 }]);
      await this.save(entries);
      return 'added';
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Read on every check, so that removing a line takes effect without a restart. */
  private async load(): Promise<Map<string, Entry[]>> {
    const map = new Map<string, Entry[]>();
    let text = '';
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) continue;
      const [hosts = '', type = '', key = ''] = t.split(/\s+/);
      for (const h of hosts.split(',')) {
        const list = map.get(h) ?? [];
        list.push({ type, key });
        map.set(h, list);
      }
    }
    return map;
  }

  private async save(entries: Map<string, Entry[]>): Promise<void> {
    const lines = [...entries].flatMap(([h, list]) => list.map((e) => `${h} ${e.type} ${e.key}`));
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, `${lines.join('\n')}\n`, { mode: 0o600 });
    await rename(tmp, this.file);
  }
}
