// Every git tool, called the way an agent would (reads, previews, then the real calls), against one
// repository: whatever a payload hooks into, some call here reaches it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Harness } from '../../unit/git/fixture';

export interface Outcome {
  readonly tool: string;
  readonly args: Record<string, unknown>;
  readonly isError: boolean;
  readonly text: string;
}

/** Calls every tool of the git server against `repo`; returns each outcome (errors included). */
export async function everyTool(h: Harness, repo: string, remote = 'origin'): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const call = async (tool: string, args: Record<string, unknown> = {}): Promise<Outcome> => {
    const full = tool === 'repo_list' ? args : { repo, ...args };
    const r = await h.call(tool, full);
    const o = { tool, args: full, isError: r.isError, text: r.text };
    out.push(o);
    return o;
  };
  const edit = (file: string, content: string) => writeFileSync(join(repo, file), content);

  edit('a.txt', 'one\nlocal edit\nthree\n');
  // Reads.
  await call('repo_list');
  await call('repo_status');
  await call('diff');
  await call('diff', { staged: true });
  await call('diff', { from: 'HEAD~1', to: 'HEAD' });
  await call('log');
  await call('log', { format: 'full' });
  await call('log', { paths: ['a.txt'] });
  await call('show');
  await call('show', { path: 'a.txt' });
  await call('show', { revision: 'side', statOnly: true });
  await call('blame', { path: 'a.txt' });
  await call('branch_list', { remotes: true });
  await call('tag_list');
  await call('remote_list');
  await call('stash_list');
  await call('reflog');
  await call('backup_list');
  // Staging and commits.
  await call('add', { paths: ['a.txt'] });
  await call('unstage', { paths: ['a.txt'] });
  await call('add', { all: true });
  await call('commit', { message: 'agent commit', dryRun: true });
  await call('commit', { message: 'agent commit' });
  await call('commit', { amend: true, message: 'agent commit, amended', dryRun: true });
  await call('commit', { amend: true, message: 'agent commit, amended' });
  await call('tag_create', { name: 'v1' });
  await call('tag_create', { name: 'v1-annotated', message: 'release' });
  // Branches.
  await call('branch_create', { name: 'feature' });
  await call('switch', { branch: 'feature', dryRun: true });
  await call('switch', { branch: 'feature' });
  edit('a.txt', 'one\nfeature\nthree\n');
  await call('add', { paths: ['a.txt'] });
  await call('commit', { message: 'feature work' });
  await call('switch', { branch: 'main' });
  await call('switch', { branch: 'topic', create: true, startPoint: 'side', dryRun: true });
  await call('switch', { branch: 'topic', create: true, startPoint: 'side' });
  await call('switch', { branch: 'main' });
  // Merges (a.txt conflicts between main and side: a merge driver would run).
  await call('merge', { branch: 'side', mode: 'ff' });
  await call('reset', { mode: 'hard', dryRun: true });
  await call('reset', { mode: 'hard' });
  await call('merge', { branch: 'feature', mode: 'no-ff' });
  await call('reset', { mode: 'hard', target: 'HEAD~1' });
  // Remotes.
  await call('fetch', { remote });
  await call('fetch', { remote, prune: true });
  await call('pull');
  await call('pull', { remote, branch: 'side', mode: 'merge' });
  await call('reset', { mode: 'hard', target: 'ORIG_HEAD' });
  await call('push', { remote, dryRun: true });
  await call('push', { remote });
  await call('push', { remote, branch: 'feature', setUpstream: true, dryRun: true });
  await call('push', { remote, branch: 'feature', setUpstream: true });
  await call('fetch', { remote: 'web' });
  await call('push', { remote: 'web', dryRun: true });
  // Stash, restore, clean.
  edit('a.txt', 'one\nstashed\nthree\n');
  edit('new.txt', 'untracked\n');
  await call('stash_push', { message: 'wip', includeUntracked: true });
  await call('stash_pop', { dryRun: true });
  await call('stash_pop');
  await call('restore', { paths: ['a.txt'], dryRun: true });
  await call('restore', { paths: ['a.txt'] });
  await call('clean', { dryRun: true });
  await call('clean');
  edit('b.txt', 'discarded\n');
  await call('switch', { branch: 'side', discardChanges: true, dryRun: true });
  await call('switch', { branch: 'side', discardChanges: true });
  await call('switch', { branch: 'main' });
  await call('branch_delete', { name: 'feature', force: true, dryRun: true });
  await call('branch_delete', { name: 'feature', force: true });
  // Backups.
  const list = await call('backup_list');
  for (const id of [...list.text.matchAll(/^\s*(\d{8}-\d{6}Z-[a-z_]+-[0-9a-f]{6})/gm)].map((m) => m[1]).slice(0, 3)) {
    await call('backup_restore', { id, dryRun: true });
    await call('backup_restore', { id });
  }
  await call('repo_status');
  return out;
}

/** "tool {args}: text" for failure messages. */
export function describe(o: Outcome): string {
  return `${o.tool} ${JSON.stringify(o.args)}: ${o.isError ? 'ERROR ' : ''}${o.text.slice(0, 300)}`;
}
