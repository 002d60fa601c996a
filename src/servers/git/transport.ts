// Where a fetch, pull or push connects, resolved locally and without side effects, the way git
// resolves it (remote.<name>.url / pushurl, url.<base>.insteadOf / pushInsteadOf), and the config
// that keeps a local-path remote from running the target repository's hooks.
import { dirname } from 'node:path';
import { ControlPlaneError } from '../../core/errors';
import { GitErrorCode } from './client';
import { applyRewrite, isUserScope, rewriteRules, type ConfigEntry } from './config-guard';
import type { Repository } from './repo';

export interface ResolvedRemote {
  readonly name: string;
  /** The URL git will connect to. */
  readonly url: string;
  /** The same, with credentials redacted: what humans and the model see. */
  readonly display: string;
  /** A path or file:// URL: git runs the target's upload-pack/receive-pack locally. */
  readonly local: boolean;
  /** Command-scope config the transport command needs (see localTransportConfig). */
  readonly config: readonly (readonly [string, string])[];
}

function values(entries: readonly ConfigEntry[], key: string): ConfigEntry[] {
  const dot = key.lastIndexOf('.');
  const first = key.indexOf('.');
  // Section and variable compare case-insensitively, the subsection (the remote name) exactly.
  return entries.filter((e) => {
    const f = e.key.indexOf('.');
    const l = e.key.lastIndexOf('.');
    return (
      e.key.slice(0, f).toLowerCase() === key.slice(0, first).toLowerCase() &&
      e.key.slice(f + 1, l) === key.slice(first + 1, dot) &&
      e.key.slice(l + 1).toLowerCase() === key.slice(dot + 1).toLowerCase()
    );
  });
}

/** git's rule: a URL has "://"; "host:path" with the colon before any slash is ssh; anything else is a local path. */
export function isLocalUrl(url: string): boolean {
  if (/^file:/i.test(url)) return true;
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url)) return false; // transport helper (ext::, fd::...)
  if (url.includes('://')) return false;
  const colon = url.indexOf(':');
  const slash = url.indexOf('/');
  return colon === -1 || (slash !== -1 && slash < colon);
}

/** Credentials never appear in what the server shows: the user info of http(s) URLs, the password of any other. */
export function redactUrl(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/@]*)@(.*)$/.exec(url);
  if (m === null) return url;
  const [, scheme = '', userinfo = '', rest = ''] = m;
  if (/^https?:\/\/$/i.test(scheme)) return `${scheme}***@${rest}`;
  const colon = userinfo.indexOf(':');
  return colon === -1 ? url : `${scheme}${userinfo.slice(0, colon)}:***@${rest}`;
}

/**
 * Resolves where `remote` connects for `direction`, reading only the config git already showed
 * the guard (no command runs, nothing is contacted). Refused: a remote with several URLs (git
 * would contact each), and any repository-level insteadOf/pushInsteadOf rule that matches the
 * URL (git offers no way to unset such a rule from a higher scope, and the longest match wins).
 */
export async function resolveRemote(repo: Repository, remote: string, direction: 'fetch' | 'push'): Promise<ResolvedRemote> {
  const guard = await repo.guard();
  const entries = guard.entries;
  const urls = values(entries, `remote.${remote}.url`).map((e) => e.value);
  const pushurls = direction === 'push' ? values(entries, `remote.${remote}.pushurl`).map((e) => e.value) : [];
  const raw = pushurls.length > 0 ? pushurls : urls;
  if (raw.length === 0) {
    throw new ControlPlaneError(GitErrorCode.refused, `Refused: the remote "${remote}" has no URL in this repository's config.`, {
      details: { field: 'remote', hint: 'Check it with remote_list; the user can set it with git remote set-url.' },
    });
  }
  if (raw.length > 1) {
    throw new ControlPlaneError(GitErrorCode.refused, `Refused: the remote "${remote}" has ${raw.length} ${pushurls.length > 0 ? 'push URLs' : 'URLs'} (${raw.map(redactUrl).join(', ')}); git would ${direction} to each of them, and this server ${direction}es to one destination it can show.`, {
      details: { field: 'remote', hint: 'Ask the user to keep one URL for this remote, or to push outside the agent.' },
    });
  }
  const original = raw[0] ?? '';
  const rules = rewriteRules(entries).filter((r) => (r.push ? direction === 'push' && pushurls.length === 0 : true));
  const hostile = rules.filter((r) => !r.user && original.startsWith(r.prefix));
  if (hostile.length > 0) {
    throw new ControlPlaneError(GitErrorCode.unsafeConfig, `Refused: this repository's own config rewrites the URL of "${remote}" (url.${hostile[0]?.base}.${hostile[0]?.push ? 'pushInsteadOf' : 'insteadOf'} = ${hostile[0]?.prefix}), so git would connect somewhere other than ${redactUrl(original)}.`, {
      details: { field: 'remote', hint: 'A repository-level URL rewrite is not followed. The user can remove it (git config --remove-section url.<base>) or move it to their global config.' },
    });
  }
  // First value wins for these, so the server cannot override a repository's own: refuse instead.
  for (const key of ['uploadpack', 'receivepack']) {
    for (const name of new Set([remote, original])) {
      const set = values(entries, `remote.${name}.${key}`).filter((e) => !isUserScope(e.scope));
      if (set.length > 0) {
        throw new ControlPlaneError(GitErrorCode.unsafeConfig, `Refused: this repository's own config names the program git runs for "${remote}" (remote.${name}.${key} = ${set[0]?.value}).`, {
          details: { field: 'remote', hint: `The user can remove it (git config --unset-all remote.${name}.${key}); the server never runs a program a repository names.` },
        });
      }
    }
  }
  const userRules = rules.filter((r) => r.user);
  const pushRules = userRules.filter((r) => r.push);
  let url: string;
  if (direction === 'push' && pushurls.length === 0 && pushRules.some((r) => original.startsWith(r.prefix))) url = applyRewrite(original, pushRules);
  else url = applyRewrite(original, userRules.filter((r) => !r.push));
  const local = isLocalUrl(url);
  return { name: remote, url, display: redactUrl(url), local, config: local ? localTransportConfig(remote, dirname(guard.hooksPath)) : [] };
}

/**
 * A local-path remote runs the target repository's receive-pack (and its hooks, with its own
 * config) on this machine. The server names the program itself, with command-line config that
 * beats the target's: hooks from the server's empty directory, no work-tree update, no auto gc.
 */
function localTransportConfig(remote: string, hooksRoot: string): [string, string][] {
  const empty = `'${`${hooksRoot}/none`.replace(/'/g, "'\\''")}'`;
  const common = `-c core.hooksPath=${empty} -c core.fsmonitor=false -c core.alternateRefsCommand= -c protocol.ext.allow=never`;
  return [
    [`remote.${remote}.receivepack`, `git ${common} -c receive.denyCurrentBranch=refuse -c receive.autogc=false receive-pack`],
    [`remote.${remote}.uploadpack`, `git ${common} upload-pack`],
  ];
}
