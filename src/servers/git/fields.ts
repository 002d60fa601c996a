// Input fields shared by the git tools. Each one refuses, at the schema, the shapes git would
// read as something else: a leading '-' (an option), '..' (a range or a parent directory),
// control characters. What the schema cannot know (does the ref exist, is the path inside the
// repository after symlinks) is checked by the workspace and the repository at run time.
import { z } from 'zod';

// Rules are regexes where possible, so they also show in the JSON schema the model reads.
const SINGLE_LINE = /^[^\u0000-\u001f\u007f]*$/;
const NOT_AN_OPTION = /^[^-]/;

function safeText(max: number) {
  return z.string().max(max).regex(SINGLE_LINE, { error: 'must be a single line without control characters' });
}

/** Branch, tag, commit hash or an expression on them (HEAD~2, main^, HEAD@{1}, v1.0^{commit}); never '..'. */
export const REVISION = /^(?!.*\.\.)[A-Za-z0-9_@][A-Za-z0-9._/~^@{}+-]*$/;

/** A name for a new branch or tag (checked again with `git check-ref-format`). */
function isRefName(s: string): boolean {
  return (
    /^[A-Za-z0-9_][A-Za-z0-9._/+-]*$/.test(s) &&
    !s.includes('..') &&
    !s.includes('//') &&
    !s.endsWith('/') &&
    !s.endsWith('.') &&
    !/\.lock(\/|$)/.test(s) &&
    !s.split('/').some((part) => part.startsWith('.'))
  );
}

export function repoField() {
  return safeText(4096)
    .min(1)
    .regex(NOT_AN_OPTION, { error: "must be a path, not an option (it starts with '-')" })
    .optional()
    .describe(
      'Repository as listed by repo_list: its absolute path, or a path relative to a workspace root. Optional when the workspace holds exactly one repository.',
    );
}

export function revisionField(description: string) {
  return safeText(256)
    .min(1)
    .regex(REVISION, {
      error:
        "must be a branch, tag, commit hash or an expression like HEAD~2, main^ or HEAD@{1}: letters, digits and . _ / - ~ ^ @ { } +, not starting with '-', without '..' (give range ends as separate fields)",
    })
    .describe(description);
}

export function refNameField(description: string) {
  return safeText(200)
    .min(1)
    .regex(/^[A-Za-z0-9_][A-Za-z0-9._/+-]*$/, { error: "must be a ref name: letters, digits and . _ / - +, not starting with '-' or '.'" })
    .refine(isRefName, {
      error:
        "must be a valid ref name: letters, digits and . _ / - +, not starting with '-' or '.', without '..', '//', '@{' or a trailing '/', '.' or '.lock'",
    })
    .describe(description);
}

export function remoteField() {
  return safeText(100)
    .min(1)
    .regex(/^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9._-]*$/, {
      error: 'must be the name of a configured remote (see remote_list), not a URL or an option',
    })
    .optional()
    .describe("Remote name as listed by remote_list. Default: the current branch's upstream remote, else origin.");
}

/** A path inside the repository: relative to its top level, or absolute inside it. */
export function pathItem() {
  return safeText(4096)
    .min(1)
    .regex(NOT_AN_OPTION, { error: "must be a path, not an option (it starts with '-'); write ./-name for such a file" })
    .regex(/^(?!(?:.*[\\/])?\.\.(?:[\\/]|$))/, {
      error: "must not contain '..': give paths relative to the repository root, or absolute inside the repository",
    });
}

export function pathsField(description: string) {
  return z.array(pathItem()).max(1000).describe(description);
}

export function textField(max: number, description: string) {
  return safeText(max).describe(description);
}

export function messageField(description: string) {
  return z
    .string()
    .min(1)
    .max(20_000)
    .refine((s) => !s.includes('\u0000'), { error: 'must not contain NUL characters' })
    .refine((s) => s.trim().length > 0, { error: 'must not be blank' })
    .describe(description);
}

export function limitField(defaultValue: number, max: number, what: string) {
  return z.number().int().min(1).max(max).default(defaultValue).describe(`Maximum number of ${what} to return (default ${defaultValue}, at most ${max}).`);
}

export function offsetField(what: string) {
  return z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe(`Line of the output to start at, for paging: a truncated ${what} says which offset to pass next.`);
}
