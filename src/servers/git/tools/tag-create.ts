import { z } from 'zod';
import { notUndoable } from '../undo';
import { defineGitTool, short } from '../define';
import { messageField, refNameField, repoField, revisionField } from '../fields';

export const tagCreate = defineGitTool({
  name: 'tag_create',
  title: 'Tags: Create',
  description:
    'Creates a tag at a commit (default HEAD): annotated when a message is given (recommended for releases), lightweight otherwise. Fails if the tag exists. Push it with push (tags: true) to publish it.',
  input: z.object({
    repo: repoField(),
    name: refNameField('Tag name, e.g. v1.2.0.'),
    revision: revisionField('Commit, branch or tag to tag (default HEAD).').optional(),
    message: messageField('Tag message; makes an annotated tag.').optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async handler(input, ctx) {
    const repo = await ctx.services.git.open(input.repo, ctx.signal);
    await repo.checkRefName(input.name, 'tag', 'name');
    const sha = await repo.resolveCommit(input.revision ?? 'HEAD', 'revision');
    await repo.exclusive(() =>
      repo.write(['tag', ...(input.message === undefined ? [] : ['--annotate', `--message=${input.message}`]), '--end-of-options', input.name, sha]),
    );
    return {
      text: `Created ${input.message === undefined ? 'lightweight' : 'annotated'} tag ${input.name} at ${short(sha)}.`,
      undo: notUndoable(`no tool of this server deletes a tag (a tag may be pushed and fetched by others); git tag -d ${input.name} outside the agent removes it`),
    };
  },
});
