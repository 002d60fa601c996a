import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { editJsonc, locateJsonc, parseJsonc, positionAt, type JsonPath, type TextPosition } from './jsonc';

/**
 * Reading, locating and editing values in one configuration text, whatever its syntax: JSONC for
 * the editors' files and VS Code settings, YAML for the control plane's own `config.yaml`. Edits
 * are minimal and keep comments.
 */
export interface ConfigSyntax {
  readonly name: 'jsonc' | 'yaml';
  parse(text: string): { value: unknown; errors: { message: string; position: TextPosition }[] };
  /** Where the value at `path` is written (its key when it has one). */
  locate(text: string, path: JsonPath): TextPosition | undefined;
  /** The text with the value at `path` set, or removed when `value` is undefined. */
  edit(text: string, path: JsonPath, value: unknown): string;
}

export const JSONC_SYNTAX: ConfigSyntax = {
  name: 'jsonc',
  parse(text) {
    const doc = parseJsonc(text);
    return { value: doc.value, errors: [...doc.errors] };
  },
  locate(text, path) {
    return locateJsonc(parseJsonc(text), path);
  },
  edit(text, path, value) {
    return editJsonc(text, path, value);
  },
};

export const YAML_SYNTAX: ConfigSyntax = {
  name: 'yaml',
  parse(text) {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    const errors = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { message: e.message.split('\n')[0] ?? 'invalid YAML', position: { line: pos.line, column: pos.col, offset: e.pos[0] } };
    });
    return { value: errors.length ? undefined : (doc.toJS() ?? {}), errors };
  },
  locate(text, path) {
    const doc = parseDocument(text, { uniqueKeys: false });
    for (let depth = path.length; depth >= 0; depth--) {
      const sub = path.slice(0, depth);
      const offset = depth > 0 ? keyOffset(doc, sub) : 0;
      if (offset !== undefined) return positionAt(text, offset);
    }
    return undefined;
  },
  edit(text, path, value) {
    const doc = parseDocument(text);
    // A scalar replaced by a scalar is spliced into the text: nothing else moves.
    const node = path.length > 0 ? doc.getIn([...path], true) : undefined;
    if (isScalar(node) && node.range && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
      return `${text.slice(0, node.range[0])}${JSON.stringify(value)}${text.slice(node.range[1])}`;
    }
    if (value === undefined) doc.deleteIn([...path]);
    else {
      // `setIn` cannot create below a missing or null parent: make the maps on the way.
      for (let i = 1; i < path.length; i++) {
        const parent = doc.getIn(path.slice(0, i), true);
        if (parent === undefined || (isScalar(parent) && parent.value === null)) doc.setIn(path.slice(0, i), doc.createNode({}));
      }
      doc.setIn([...path], doc.createNode(value));
    }
    return doc.toString({ flowCollectionPadding: false });
  },
};

function keyOffset(doc: ReturnType<typeof parseDocument>, path: JsonPath): number | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
    const key = pair?.key as { range?: [number, number, number] } | undefined;
    if (key?.range) return key.range[0];
  }
  const node = doc.getIn([...path], true) as { range?: [number, number, number] } | undefined;
  return node?.range?.[0];
}

/** The syntax of a file by its name: `.yaml`/`.yml` are YAML, everything else JSONC. */
export function syntaxFor(file: string): ConfigSyntax {
  return /\.ya?ml$/i.test(file) ? YAML_SYNTAX : JSONC_SYNTAX;
}
