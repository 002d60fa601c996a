import { z } from 'zod';
import { defineGitTool, short } from '../define';
import { refNameField, repoField, revisionField } from '../fields';

export const branchCreate = defineGitTool({
  name: 'branch_create',
  title: 'Branches: Create',
  description:
    'Creates a local branch at a commit (default: HEAD) without switching to it. Fails if the name is taken. To start from a remote branch, pass e.g. origin/feature as startPoint. To create a branch and switch to it, use switch with create: true (it previews what happens to local changes).',
  input: z.object({
    repo: repoField(),
    name: refNameField('Name of the new branch, e.g. feature/login-form.'),
    startPoint: revisionField('Commit, branch or tag the branch starts at (default HEAD).').optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    await repo.checkRefName(input.name, 'branch', 'name');
    const start = await repo.resolveCommit(input.startPoint ?? 'HEAD', 'startPoint');
    await repo.exclusive(() => repo.write(['branch', '--end-of-options', input.name, start]));
    return {
      text: `Created branch ${input.name} at ${short(start)}${input.startPoint === undefined ? ' (HEAD)' : ` (${input.startPoint})`}.`,
      undo: {
        undoable: true,
        summary: `delete branch ${input.name}, which the call created (its tip stays in a backup ref)`,
        inverse: { tool: 'branch_delete', args: { repo: repo.path, name: input.name, force: true } },
        check: { tool: 'log', args: { repo: repo.path, to: input.name, limit: 1, format: 'full' } },
        before: { kind: 'absent', text: `branch ${input.name} did not exist` },
      },
    };
  },
});
