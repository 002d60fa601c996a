// JSON with comments and trailing commas (VS Code's mcp.json and settings.json), through VS Code's
// own parser. Imported from its ESM build: the package's `main` is a UMD wrapper whose inner
// `require("./impl/…")` calls esbuild cannot follow, so a bundle built from it fails at run time
// with "Cannot find module './impl/format'".
import {
  applyEdits,
  findNodeAtLocation,
  getNodeValue,
  modify,
  parseTree,
  printParseErrorCode,
  type Node,
  type ParseError,
} from 'jsonc-parser/lib/esm/main.js';

export type JsonPath = readonly (string | number)[];

/** A position in a text file: 1-based line and column, and the 0-based offset. */
export interface TextPosition {
  line: number;
  column: number;
  offset: number;
}

/** A parsed JSONC text: the tree, its plain value and the syntax errors (with positions). */
export interface JsoncDocument {
  readonly text: string;
  readonly root: Node | undefined;
  readonly value: unknown;
  readonly errors: readonly { message: string; position: TextPosition }[];
}

export function parseJsonc(text: string): JsoncDocument {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  return {
    text,
    root,
    value: root ? getNodeValue(root) : undefined,
    errors: errors.map((e) => ({ message: printParseErrorCode(e.error), position: positionAt(text, e.offset) })),
  };
}

/** Where the node at `path` starts (its property name when it is a property), or undefined. */
export function locateJsonc(doc: JsoncDocument, path: JsonPath): TextPosition | undefined {
  if (!doc.root) return undefined;
  const node = findNodeAtLocation(doc.root, [...path]);
  if (!node) return undefined;
  const at = node.parent?.type === 'property' ? node.parent.offset : node.offset;
  return positionAt(doc.text, at);
}

/**
 * The text after setting (or, with `undefined`, removing) the value at `path`: a minimal edit that
 * keeps comments, order and the file's indentation.
 */
export function editJsonc(text: string, path: JsonPath, value: unknown): string {
  const indent = detectIndent(text);
  const edits = modify(text, [...path], value, { formattingOptions: { insertSpaces: indent.spaces, tabSize: indent.size, eol: text.includes('\r\n') ? '\r\n' : '\n' } });
  return applyEdits(text, edits);
}

/** 1-based line and column of an offset. */
export function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1, offset: end };
}

function detectIndent(text: string): { spaces: boolean; size: number } {
  const m = /\n([ \t]+)\S/.exec(text);
  if (!m) return { spaces: true, size: 2 };
  const ws = m[1]!;
  return ws.startsWith('\t') ? { spaces: false, size: 1 } : { spaces: true, size: ws.length };
}
