import { toolDefiner } from '../kit';
import type { GitService } from './repo';

/** What every git tool handler gets as `ctx.services`. */
export interface GitServices {
  readonly git: GitService;
}

/** `defineTool` for git tools. */
export const defineGitTool = toolDefiner<GitServices>();

/** Annotations of the read-only tools: they change nothing and only read local files. */
export const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;

/** "a1b2c3d4": commits as shown in tool output. */
export function short(sha: string): string {
  return sha.slice(0, 8);
}

/** "3 files" / "1 file". */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}
