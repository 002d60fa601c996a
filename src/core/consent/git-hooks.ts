import { realpathSync } from 'node:fs';
import { sha256Hex } from '../canonical-json';
import { ControlPlaneError } from '../errors';
import type { ConsentStore, GitHooksGrant } from './store';

/** Hook names git runs (githooks(5)); a grant names only these. */
export const GIT_HOOK_NAMES = [
  'applypatch-msg', 'pre-applypatch', 'post-applypatch', 'pre-commit', 'pre-merge-commit', 'prepare-commit-msg',
  'commit-msg', 'post-commit', 'pre-rebase', 'post-checkout', 'post-merge', 'pre-push', 'pre-receive', 'update',
  'proc-receive', 'post-receive', 'post-update', 'reference-transaction', 'push-to-checkout', 'pre-auto-gc',
  'post-rewrite', 'sendemail-validate', 'fsmonitor-watchman', 'p4-changelist', 'p4-prepare-changelist',
  'p4-post-changelist', 'p4-pre-submit', 'post-index-change',
] as const;

/** One entry of MCPCP_GIT_HOOKS_ALLOW: the repository's work tree (real path) and the hooks allowed to run there. */
export interface GitHooksAllowEntry {
  repo: string;
  hooks: string[];
}

/** A grant "git hooks for repository R naming hooks H", checked and normalised (real path, known hook names). */
export function gitHooksGrant(repo: string, hooks: readonly string[], now = new Date()): GitHooksGrant {
  let real: string;
  try {
    real = realpathSync(repo);
  } catch {
    throw new ControlPlaneError('REPO_NOT_FOUND', `${repo} does not exist`);
  }
  const unknown = hooks.filter((h) => !(GIT_HOOK_NAMES as readonly string[]).includes(h));
  if (unknown.length > 0) throw new ControlPlaneError('HOOK_UNKNOWN', `not a git hook: ${unknown.join(', ')}; hooks are ${GIT_HOOK_NAMES.join(', ')}`);
  if (hooks.length === 0) throw new ControlPlaneError('HOOK_UNKNOWN', 'name at least one hook (for example pre-commit)');
  const sorted = [...new Set(hooks)].sort();
  return { kind: 'git-hooks', id: sha256Hex(`git-hooks\0${real}\0${sorted.join(',')}`).slice(0, 12), repo: real, hooks: sorted, grantedAt: now.toISOString() };
}

/** What the git server gets in MCPCP_GIT_HOOKS_ALLOW: every hooks grant a human gave. */
export async function gitHooksAllowed(store: ConsentStore): Promise<GitHooksAllowEntry[]> {
  return (await store.grants()).filter((g): g is GitHooksGrant => g.kind === 'git-hooks').map((g) => ({ repo: g.repo, hooks: g.hooks }));
}
