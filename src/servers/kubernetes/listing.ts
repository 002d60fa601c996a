/**
 * Listing any type within a byte budget: pages from the API server (limit/continue), rows in the
 * server's own Table format (kubectl's columns) or objects as YAML/JSON, and one opaque continue
 * token that resumes exactly where the output stopped, even mid-page.
 */
import { ControlPlaneError } from '../../core/errors';
import { byteLength, describeBudget, invalidArgument } from '../kit';
import { isK8sError, K8sErrorCode } from './client';
import type { ClusterScope } from './clusters';
import { apiVersionOf, collectionPath, typeName, type ResourceInfo } from './discovery';
import { at, humanAge, isJsonObject, list, nameOf, namespaceOf, redact, render, stripManagedFields, str, type Json, type JsonObject } from './objects';

export type ListOutput = 'table' | 'wide' | 'name' | 'yaml' | 'json';

export interface ListRequest {
  readonly scope: ClusterScope;
  readonly type: ResourceInfo;
  /** Sources in order: one namespace, several (exposed ones), or [undefined] for all/cluster-scoped. */
  readonly namespaces: readonly (string | undefined)[];
  /** True when rows come from several namespaces (a NAMESPACE column is shown). */
  readonly showNamespace: boolean;
  readonly labelSelector: string | undefined;
  readonly fieldSelector: string | undefined;
  readonly output: ListOutput;
  /** Most rows/objects to show in this call. */
  readonly limit: number;
  readonly continueToken: string | undefined;
  readonly budgetBytes: number;
  readonly reveal: boolean;
  readonly signal: AbortSignal;
}

export interface ListResult {
  readonly text: string;
  readonly shown: number;
  /** To pass back as `continue`, when something is left. */
  readonly next: string | undefined;
}

interface Cursor {
  /** Index into `namespaces`. */
  readonly n: number;
  /** API continue token that fetched the current page (undefined: first page). */
  readonly c: string | undefined;
  /** Items of that page already shown. */
  readonly s: number;
  /** What the token belongs to, so it cannot resume another listing. */
  readonly k: string;
}

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
/** Room kept for the closing note and its token. */
const NOTE_RESERVE = 900;

export async function listResources(req: ListRequest): Promise<ListResult> {
  const key = listingKey(req);
  let cursor: Cursor = req.continueToken ? decodeCursor(req.continueToken, key) : { n: 0, c: undefined, s: 0, k: key };
  const budget = Math.max(1_000, req.budgetBytes - NOTE_RESERVE);
  const table = req.output === 'table' || req.output === 'wide' || req.output === 'name';
  const rows: string[][] = [];
  const docs: string[] = [];
  let header: string[] | undefined;
  let docBytes = 0;
  let next: Cursor | undefined;
  /** Known count of what is left, or undefined ("more"). */
  let remaining: number | undefined;
  let skip = cursor.s;

  outer: while (cursor.n < req.namespaces.length) {
    const page = await fetchPage(req, req.namespaces[cursor.n], cursor.c, Math.min(req.limit, table ? 250 : 50), table && req.output !== 'name');
    header ??= page.header;
    const items = page.items.slice(skip);
    const moreSources = cursor.n + 1 < req.namespaces.length;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      const shown = table ? rows.length : docs.length;
      const size = table ? tableBytes(header ?? [], [...rows, item.cells]) : docBytes + byteLength(item.doc) + 5;
      if (shown > 0 && (size > budget || shown >= req.limit)) {
        next = { ...cursor, s: skip + i };
        remaining = (page.more && page.remaining === undefined) || moreSources ? undefined : items.length - i + (page.remaining ?? 0);
        break outer;
      }
      if (table) rows.push(item.cells);
      else {
        docs.push(item.doc);
        docBytes = size;
      }
    }
    skip = 0;
    cursor = page.continue ? { ...cursor, c: page.continue, s: 0 } : { n: cursor.n + 1, c: undefined, s: 0, k: key };
    const shown = table ? rows.length : docs.length;
    if (shown >= req.limit && cursor.n < req.namespaces.length) {
      next = cursor;
      remaining = page.continue && !moreSources ? page.remaining : undefined;
      break;
    }
  }
  const shown = table ? rows.length : docs.length;

  const kind = req.type.resource;
  let body: string;
  if (shown === 0) {
    const where = req.type.namespaced ? (req.showNamespace ? ' in any namespace' : ` in namespace ${req.namespaces[0] ?? ''}`) : '';
    const filter = [req.labelSelector && `labels ${req.labelSelector}`, req.fieldSelector && `fields ${req.fieldSelector}`].filter(Boolean).join(', ');
    body = `No ${kind} found${where}${filter ? ` matching ${filter}` : ''} (context ${req.scope.info.name}).`;
  } else if (table) body = renderTable(header ?? [], rows);
  else if (req.output === 'json') body = `[\n${docs.join(',\n')}\n]`;
  else body = docs.join('\n---\n');

  if (next) {
    const token = encodeCursor(next);
    const more = remaining === undefined ? `more ${kind}` : `${remaining} more ${kind}`;
    body += `\n[${more} not shown (showed ${shown}, budget ${describeBudget(req.budgetBytes)}) — continue with continue: "${token}"${req.output === 'yaml' || req.output === 'json' ? ', or use output: table for more per call' : ''}]`;
  }
  return { text: body, shown, next: next ? encodeCursor(next) : undefined };
}

interface Page {
  readonly header: string[] | undefined;
  readonly items: { cells: string[]; doc: string }[];
  readonly continue: string | undefined;
  readonly remaining: number | undefined;
  readonly more: boolean;
}

async function fetchPage(req: ListRequest, namespace: string | undefined, cont: string | undefined, limit: number, asTable: boolean): Promise<Page> {
  const path = collectionPath(req.type, namespace);
  const query = { limit, continue: cont, labelSelector: req.labelSelector, fieldSelector: req.fieldSelector, ...(asTable ? { includeObject: req.showNamespace ? 'Metadata' : 'None' } : {}) };
  let body: JsonObject;
  try {
    body = await req.scope.client.json<JsonObject>({ path, query, accept: asTable ? TABLE_ACCEPT : 'application/json', signal: req.signal });
  } catch (err) {
    if (cont && isK8sError(err, K8sErrorCode.expired)) {
      throw new ControlPlaneError(K8sErrorCode.expired, `The continue token has expired: the ${req.type.resource} list changed too much since the first page (context ${req.scope.info.name}).`, {
        details: { hint: 'List again without continue to start over.' },
      });
    }
    throw err;
  }
  const meta = isJsonObject(body['metadata']) ? body['metadata'] : {};
  const next = typeof meta['continue'] === 'string' && meta['continue'].length > 0 ? meta['continue'] : undefined;
  const remaining = typeof meta['remainingItemCount'] === 'number' ? meta['remainingItemCount'] : undefined;
  if (body['kind'] === 'Table') return { ...tablePage(req, body), continue: next, remaining, more: next !== undefined };
  const items = list(body, 'items').map((item) => {
    const full: JsonObject = { apiVersion: apiVersionOf(req.type), kind: req.type.kind, ...item };
    if (req.output === 'name' || req.output === 'table' || req.output === 'wide') {
      const cells = [
        ...(req.showNamespace && req.type.namespaced ? [namespaceOf(full) ?? ''] : []),
        req.output === 'name' ? `${typeName(req.type)}/${nameOf(full)}` : nameOf(full),
        ...(req.output === 'name' ? [] : [humanAge(str(full, 'metadata.creationTimestamp'))]),
      ];
      return { cells, doc: '' };
    }
    const shaped = stripManagedFields(req.reveal ? full : redact(full));
    return { cells: [], doc: req.output === 'json' ? indent(JSON.stringify(shaped, null, 2)) : render(shaped, 'yaml') };
  });
  const header = req.output === 'name' ? [...(req.showNamespace && req.type.namespaced ? ['NAMESPACE'] : []), 'NAME'] : [...(req.showNamespace && req.type.namespaced ? ['NAMESPACE'] : []), 'NAME', 'AGE'];
  return { header, items, continue: next, remaining, more: next !== undefined };
}

function indent(text: string): string {
  return text.split('\n').map((l) => `  ${l}`).join('\n');
}

/** Rows of a meta.k8s.io Table: kubectl's columns (wide adds priority > 0), ages for dates. */
function tablePage(req: ListRequest, table: JsonObject): { header: string[]; items: { cells: string[]; doc: string }[] } {
  const columns = list(table, 'columnDefinitions');
  const keep = columns.map((c, i) => ({ c, i })).filter(({ c }) => req.output === 'wide' || (typeof c['priority'] === 'number' ? c['priority'] : 0) === 0);
  const withNamespace = req.showNamespace && req.type.namespaced;
  const header = [...(withNamespace ? ['NAMESPACE'] : []), ...keep.map(({ c }) => (c['type'] === 'date' ? 'AGE' : String(c['name'] ?? '').toUpperCase()))];
  const items = list(table, 'rows').map((row) => {
    const cells = Array.isArray(row['cells']) ? row['cells'] : [];
    const ns = str(row, 'object.metadata.namespace') ?? '';
    return {
      cells: [...(withNamespace ? [ns] : []), ...keep.map(({ c, i }) => cell(cells[i], c))],
      doc: '',
    };
  });
  return { header, items };
}

function cell(value: Json | undefined, column: JsonObject): string {
  if (value === null || value === undefined || value === '') return '<none>';
  if (column['type'] === 'date' && typeof value === 'string' && /^\d{4}-\d\d-\d\dT/.test(value)) return humanAge(value);
  if (typeof value === 'string') return value.replace(/[\r\n\t]+/g, ' ');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Bytes of the rendered table (two spaces between columns, last column unpadded). */
function tableBytes(header: readonly string[], rows: readonly (readonly string[])[]): number {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): number => r.reduce((sum, c, i) => sum + (i === r.length - 1 ? byteLength(c) : (widths[i] ?? 0) + 2), 0) + 1;
  return line(header) + rows.reduce((sum, r) => sum + line(r), 0);
}

export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function listingKey(req: ListRequest): string {
  return [req.scope.info.name, apiVersionOf(req.type), req.type.resource, req.namespaces.join(','), req.labelSelector ?? '', req.fieldSelector ?? '', req.output].join('|');
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify({ n: c.n, c: c.c, s: c.s, k: shortHash(c.k) })).toString('base64url');
}

function decodeCursor(token: string, key: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidArgument('continue', 'this is not a continue token from resources_list.', 'Pass the token exactly as given, or list again without continue.');
  }
  const n = at(parsed, 'n');
  const c = at(parsed, 'c');
  const s = at(parsed, 's');
  const k = at(parsed, 'k');
  if (typeof n !== 'number' || typeof s !== 'number' || (c !== undefined && typeof c !== 'string') || typeof k !== 'string') {
    throw invalidArgument('continue', 'this is not a continue token from resources_list.', 'Pass the token exactly as given, or list again without continue.');
  }
  if (k !== shortHash(key)) {
    throw invalidArgument('continue', 'this token belongs to another listing (other type, namespace, selector or output).', 'Repeat the same arguments with the token, or list again without continue.');
  }
  return { n, c: typeof c === 'string' ? c : undefined, s, k: key };
}

function shortHash(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

/**
 * One page of a type as kubectl's table (for describe's related objects): header, rows and
 * whether more exist. Namespace column when `namespace` is undefined and the type is namespaced.
 */
export async function fetchTable(
  scope: ClusterScope,
  type: ResourceInfo,
  namespace: string | undefined,
  options: { labelSelector?: string | undefined; fieldSelector?: string | undefined; limit: number; wide?: boolean; signal: AbortSignal },
): Promise<{ header: string[]; rows: string[][]; more: boolean; remaining: number | undefined }> {
  const req: ListRequest = {
    scope,
    type,
    namespaces: [namespace],
    showNamespace: namespace === undefined && type.namespaced,
    labelSelector: options.labelSelector,
    fieldSelector: options.fieldSelector,
    output: options.wide ? 'wide' : 'table',
    limit: options.limit,
    continueToken: undefined,
    budgetBytes: 0,
    reveal: false,
    signal: options.signal,
  };
  const page = await fetchPage(req, namespace, undefined, options.limit, true);
  return { header: page.header ?? [], rows: page.items.map((i) => i.cells), more: page.more, remaining: page.remaining };
}
