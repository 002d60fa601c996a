import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ControlPlaneError } from '../errors';
import { deprecatedDurations } from './duration';
import { configSchema, DURATION_GROUPS, type Config } from './schema';

/** Where in a YAML file a problem is. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/**
 * Parses YAML text and validates it with a zod schema. A syntax error or a schema violation throws a
 * `ControlPlaneError` with code `CONFIG_INVALID` whose message names the file, line and field, and
 * whose details carry `{ file, line, column, field }`. Never falls back to a default.
 */
export function parseYamlWithSchema<S extends z.ZodType>(text: string, file: string, schema: S): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const firstError = doc.errors[0];
  if (firstError) {
    const pos = lineCounter.linePos(firstError.pos[0]);
    throw invalid(file, pos.line, pos.col, '', firstError.message.split('\n')[0] ?? 'invalid YAML');
  }
  const value: unknown = doc.toJS() ?? {};
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  // Point at the deepest node that exists along the path; an unknown key at its own line.
  const located = issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...path, issue.keys[0]] : path;
  let line = 1;
  let column = 1;
  for (let depth = located.length; depth >= 0; depth--) {
    const node = doc.getIn(located.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    const keyNode = depth > 0 ? findKeyNode(doc, located.slice(0, depth)) : undefined;
    const offset = keyNode?.range?.[0] ?? node?.range?.[0];
    if (offset !== undefined) {
      const pos = lineCounter.linePos(offset);
      line = pos.line;
      column = pos.col;
      break;
    }
  }
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return throwInvalid(file, line, column, path.join('.'), message);
}

function findKeyNode(doc: ReturnType<typeof parseDocument>, path: (string | number)[]): { range?: [number, number, number] } | undefined {
  const parent = doc.getIn(path.slice(0, -1), true) as { items?: Array<{ key?: { value?: unknown; range?: [number, number, number] } }> } | undefined;
  const last = path[path.length - 1];
  const pair = parent?.items?.find((item) => item.key !== undefined && item.key.value === last);
  return pair?.key;
}

function invalid(file: string, line: number, column: number, field: string, message: string): ControlPlaneError {
  const where = `${file}:${line}:${column}`;
  const text = field ? `${where}: ${field}: ${message}` : `${where}: ${message}`;
  return new ControlPlaneError('CONFIG_INVALID', text, { details: { file, line, column, field } });
}

function throwInvalid(file: string, line: number, column: number, field: string, message: string): never {
  throw invalid(file, line, column, field, message);
}

/**
 * Reads and validates a headless configuration file. Deprecated keys (`…Ms` durations) still work;
 * each is reported through `warn` (default: standard error) with its place and replacement:
 * `config.yaml:3:3: supervisor.healthIntervalMs is deprecated: write supervisor.healthInterval: "10s" instead`.
 */
export async function loadConfigFile(file: string, warn: (message: string) => void = (m) => process.stderr.write(`mcpcp: warning: ${m}\n`)): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ControlPlaneError('CONFIG_UNREADABLE', `cannot read configuration ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err, details: { file } });
  }
  const config = parseYamlWithSchema(text, file, configSchema);
  for (const m of configWarnings(text, file)) warn(m);
  return config;
}

/** Deprecated keys of a (valid) configuration text, each as `file:line:column: message`. */
export function configWarnings(text: string, file: string): string[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  return deprecatedDurations(doc.toJS() ?? {}, DURATION_GROUPS).map((d) => {
    const offset = findKeyNode(doc, d.path)?.range?.[0];
    const pos = offset !== undefined ? lineCounter.linePos(offset) : { line: 1, col: 1 };
    return `${file}:${pos.line}:${pos.col}: ${d.message}`;
  });
}

/** The configuration used when no file is given or found. */
export function defaultConfig(): Config {
  return configSchema.parse({});
}
