import { z } from 'zod';
import { capList } from '../../kit';
import { notUndoable } from '../undo';

/** A fetch only moves remote-tracking branches: nothing local to put back. */
const FETCH_UNDO = notUndoable('a fetch changes no local branch, file or stash: it only moves remote-tracking branches, which the next fetch moves again');
import { defineGitTool, plural, short } from '../define';
import { remoteField, repoField } from '../fields';
import { chooseRemote, progressReporter, trackingRefs } from '../remote';
import { resolveRemote } from '../transport';

export const fetch = defineGitTool({
  name: 'fetch',
  title: 'Remotes: Fetch',
  description:
    'Downloads new commits and branches from a remote into the remote-tracking branches (origin/main...). Changes no local branch and no file: follow with merge or pull to integrate. prune: true also removes remote-tracking branches deleted on the remote. Reports which remote branches moved.',
  input: z.object({
    repo: repoField(),
    remote: remoteField(),
    prune: z.boolean().default(false).describe('Remove remote-tracking branches whose branch was deleted on the remote.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    const { branch } = await repo.head();
    const remote = await chooseRemote(repo, input.remote, branch);
    const resolved = await resolveRemote(repo, remote, 'fetch');
    const { before, after } = await repo.exclusive(async () => {
      const refsBefore = await trackingRefs(repo, remote);
      await repo.write(['fetch', ...(input.prune ? ['--prune'] : []), '--end-of-options', remote], {
        idleTimeoutMs: 120_000,
        onProgress: progressReporter(ctx, `fetch ${remote}`),
        config: resolved.config,
      });
      return { before: refsBefore, after: await trackingRefs(repo, remote) };
    });
    const lines: string[] = [];
    for (const [name, sha] of after) {
      const old = before.get(name);
      if (old === undefined) lines.push(`  new     ${name} at ${short(sha)}`);
      else if (old !== sha) {
        const count = (await repo.read(['rev-list', '--count', sha, '--not', old, '--'])).trim();
        const forced = !(await repo.isAncestor(old, sha));
        lines.push(`  updated ${name} ${short(old)}..${short(sha)} (${plural(Number(count), 'new commit')}${forced ? ', history rewritten on the remote' : ''})`);
      }
    }
    for (const [name, sha] of before) if (!after.has(name)) lines.push(`  pruned  ${name} (was ${short(sha)})`);
    if (lines.length === 0) return { text: `Fetched ${remote}: already up to date.`, undo: FETCH_UNDO };
    const { items, omitted } = capList(lines, 100);
    return { text: `Fetched ${remote}:\n${items.join('\n')}${omitted > 0 ? `\n  [truncated: ${omitted} more branches; branch_list with remotes: true lists them]` : ''}`, undo: FETCH_UNDO };
  },
});
