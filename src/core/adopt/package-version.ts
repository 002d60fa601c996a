import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The version of a package that a launcher currently resolves, or undefined when unknown. Used to
 * pin `npx pkg` to `pkg@<version>`; injectable so tests and offline machines need no registry.
 */
export type VersionResolver = (ecosystem: 'npm' | 'pypi', name: string) => Promise<string | undefined>;

/** The version installed in `<dir>/node_modules/<name>` for the first dir that has it. */
export function nodeModulesResolver(dirs: readonly string[]): VersionResolver {
  return async (ecosystem, name) => {
    if (ecosystem !== 'npm') return undefined;
    for (const dir of dirs) {
      const version = await packageJsonVersion(join(dir, 'node_modules', name, 'package.json'));
      if (version) return version;
    }
    return undefined;
  };
}

/**
 * What `npx` itself ran last: the newest copy of the package in npm's npx cache
 * (`~/.npm/_npx/<hash>/node_modules/<name>`).
 */
export function npxCacheResolver(npmCacheDir: string = join(homedir(), '.npm')): VersionResolver {
  return async (ecosystem, name) => {
    if (ecosystem !== 'npm') return undefined;
    const root = join(npmCacheDir, '_npx');
    let entries: string[];
    try {
      entries = await readdir(root);
    } catch {
      return undefined;
    }
    let best: { version: string; mtime: number } | undefined;
    for (const entry of entries) {
      const file = join(root, entry, 'node_modules', name, 'package.json');
      const version = await packageJsonVersion(file);
      if (!version) continue;
      const mtime = (await stat(file)).mtimeMs;
      if (!best || mtime > best.mtime) best = { version, mtime };
    }
    return best?.version;
  };
}

/** `npm view <name> version`: the registry's latest (what `npx -y name` would fetch now). */
export function npmViewResolver(options: { npm?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): VersionResolver {
  return (ecosystem, name) =>
    new Promise((resolve) => {
      if (ecosystem !== 'npm' || !/^(?:@[a-z0-9._~-]+\/)?[a-z0-9._~-]+$/i.test(name)) return resolve(undefined);
      execFile(options.npm ?? (process.platform === 'win32' ? 'npm.cmd' : 'npm'), ['view', name, 'version'], { env: options.env ?? process.env, timeout: options.timeoutMs ?? 15_000, shell: process.platform === 'win32', windowsHide: true }, (err, stdout) => {
        const v = String(stdout).trim();
        resolve(!err && /^\d+\.\d+\.\d+/.test(v) ? v : undefined);
      });
    });
}

/** PyPI's latest version from its JSON API. */
export function pypiResolver(options: { fetch?: typeof fetch; timeoutMs?: number } = {}): VersionResolver {
  return async (ecosystem, name) => {
    if (ecosystem !== 'pypi' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return undefined;
    try {
      const res = await (options.fetch ?? fetch)(`https://pypi.org/pypi/${encodeURIComponent(name)}/json`, { signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) });
      if (!res.ok) return undefined;
      const body = (await res.json()) as { info?: { version?: unknown } };
      return typeof body.info?.version === 'string' ? body.info.version : undefined;
    } catch {
      return undefined;
    }
  };
}

/** Asks each resolver in turn; the first answer wins. */
export function firstResolver(...resolvers: VersionResolver[]): VersionResolver {
  return async (ecosystem, name) => {
    for (const r of resolvers) {
      const v = await r(ecosystem, name);
      if (v) return v;
    }
    return undefined;
  };
}

/** A fixed map (`npm:pkg` → version), for tests and offline use. */
export function mapResolver(versions: Readonly<Record<string, string>>): VersionResolver {
  return async (ecosystem, name) => versions[`${ecosystem}:${name}`];
}

async function packageJsonVersion(file: string): Promise<string | undefined> {
  try {
    const v = (JSON.parse(await readFile(file, 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
