// JSON with comments and trailing commas (VS Code's mcp.json and settings.json), through VS Code's
// own parser. Imported from its ESM build: the package's `main` is a UMD wrapper whose inner
// `require("./impl/…")` calls esbuild cannot follow, so a bundle built from it fails at run time
// with "Cannot find module './impl/format'".
import {
  applyEdits,
  createScanner,
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
  if (value === undefined) {
    const removed = removeProperty(text, path);
    if (removed !== undefined) return removed;
  }
  const indent = detectIndent(text);
  const edits = modify(text, [...path], value, { formattingOptions: { insertSpaces: indent.spaces, tabSize: indent.size, eol: text.includes('\r\n') ? '\r\n' : '\n' } });
  return applyEdits(text, edits);
}

/**
 * Removes an object property with its comma, and its lines when it stood on lines of its own.
 * (The library's own removal leaves a stray comma behind a property followed by a trailing comma,
 * and reformats the whole parent object.) Undefined when `path` is not an existing property.
 */
function removeProperty(text: string, path: JsonPath): string | undefined {
  const root = parseTree(text, [], { allowTrailingComma: true });
  const node = root ? findNodeAtLocation(root, [...path]) : undefined;
  const prop = node?.parent;
  if (!prop || prop.type !== 'property' || !prop.parent) return undefined;
  const siblings = prop.parent.children ?? [];
  const index = siblings.indexOf(prop);
  let start = prop.offset;
  let end = prop.offset + prop.length;
  // The comma after it goes with it; when it is the last one, the comma before it does.
  let orphanComma: number | undefined;
  const after = nextToken(text, end);
  if (text[after] === ',') end = after + 1;
  else if (index > 0) {
    const before = nextToken(text, siblings[index - 1]!.offset + siblings[index - 1]!.length);
    if (text[before] === ',') orphanComma = before;
  }
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const newline = text.indexOf('\n', end);
  const lineEnd = newline === -1 ? text.length : newline;
  // Alone on its lines (a line comment after it is its own): the lines go.
  if (text.slice(lineStart, start).trim() === '' && /^\s*(?:\/\/.*)?$/.test(text.slice(end, lineEnd))) {
    start = lineStart;
    end = newline === -1 ? lineEnd : newline + 1;
  }
  const out = text.slice(0, start) + text.slice(end);
  return orphanComma === undefined ? out : out.slice(0, orphanComma) + out.slice(orphanComma + 1);
}

/** Where the first token at or after `offset` that is not whitespace or a comment starts. */
function nextToken(text: string, offset: number): number {
  const scanner = createScanner(text, true);
  scanner.setPosition(offset);
  scanner.scan();
  return scanner.getTokenOffset();
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
