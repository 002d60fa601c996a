/**
 * Configuration from templates: nunjucks (the Jinja2 dialect for JavaScript) over a trusted
 * templates folder only. A template is named by its path inside that folder (no `..`, no absolute
 * path, no symlink out of it); variables are plain values (strings without control characters,
 * numbers, booleans, lists of those), so a value can never smuggle an extra configuration line in;
 * an undefined variable is an error, not an empty string. Rendering is sandboxed by nunjucks' own
 * scoping: templates see only the variables given and can include only files of the folder.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import nunjucks from 'nunjucks';
import { z } from 'zod';
import { ControlPlaneError } from '../../core/errors';
import { NetworkErrorCode } from './client';

const scalar = z.union([
  z.string().max(1024).regex(/^[^\x00-\x1f\x7f]*$/, 'must not contain newlines or control characters'),
  z.number(),
  z.boolean(),
]);

export const variablesSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.union([scalar, z.array(scalar).max(1000)]))
  .describe('Template variables: strings (one line each), numbers, booleans or lists of those.');

export type TemplateVariables = z.infer<typeof variablesSchema>;

function templateError(message: string, hint?: string): ControlPlaneError {
  return new ControlPlaneError(NetworkErrorCode.template, message, { details: { field: 'template', ...(hint === undefined ? {} : { hint }) } });
}

/** Loads templates from `root` only, resolving symlinks to make sure they stay inside it. */
class FolderLoader extends nunjucks.Loader {
  constructor(private readonly root: string) {
    super();
  }

  getSource(name: string): nunjucks.LoaderSource {
    const file = inside(this.root, name);
    return { src: readFileSync(file, 'utf8'), path: file, noCache: true };
  }
}

function inside(root: string, name: string): string {
  if (isAbsolute(name) || name.split(/[\\/]/).includes('..')) throw templateError(`template "${name}" must be a path inside the templates folder`);
  const file = join(root, name);
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    throw templateError(`no template "${name}" in ${root}`, 'List the templates folder and use a file name from it.');
  }
  const rel = relative(root, real);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) throw templateError(`template "${name}" resolves outside the templates folder`);
  return real;
}

/** Renders `name` from the trusted folder with `variables`; returns the configuration text. */
export async function renderTemplate(folder: string | undefined, name: string, variables: TemplateVariables): Promise<string> {
  if (folder === undefined) {
    throw templateError('configuration templates are disabled (untrusted workspace or no templates folder)', 'Send plain configuration lines instead.');
  }
  let root: string;
  try {
    root = await realpath(folder);
  } catch {
    throw templateError(`the templates folder ${folder} does not exist`, 'Create it (MCPCP_TEMPLATES_DIR, default .mcpcp/templates) or send plain lines.');
  }
  // Reading it once here gives a precise error before nunjucks does.
  await readFile(inside(root, name), 'utf8');
  const env = new nunjucks.Environment(new FolderLoader(root), { autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true });
  try {
    return env.render(name, variables);
  } catch (err) {
    const msg = err instanceof Error ? err.message.replace(/\s+/g, ' ').trim() : String(err);
    throw templateError(`template "${name}" failed to render: ${msg}`, 'Check the variables the template uses.');
  }
}
