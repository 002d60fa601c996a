/**
 * TextFSM templates: the format of Google's textfsm (and of ntc-templates), parsed into a compiled
 * form the engine runs. Semantics follow the Python implementation (textfsm 1.1): Value options
 * Filldown, Fillup, Key, List, Required; states with `^regex -> LineOp.RecordOp NewState` rules;
 * `Start` required, `End` and `EOF` reserved; the implicit EOF record unless an `EOF` state exists.
 *
 * Regexes are written in Python syntax and translated to JavaScript: `(?P<n>` becomes `(?<n>`,
 * `(?P=n)` becomes `\k<n>`, a leading `(?i)` becomes the `i` flag.
 */
import { ControlPlaneError } from '../../../core/errors';

export const VALUE_OPTIONS = ['Filldown', 'Fillup', 'Key', 'List', 'Required'] as const;
export type ValueOption = (typeof VALUE_OPTIONS)[number];

export interface TemplateValue {
  readonly name: string;
  readonly options: ReadonlySet<ValueOption>;
  /** The value's own regex (JavaScript syntax), outer parentheses included. */
  readonly regex: string;
  /** Compiled whole-value regex, used by List to collect nested named groups. */
  readonly compiled: RegExp;
  /** Number of capture groups in `regex` (more than one: List values keep nested group dicts). */
  readonly groups: number;
}

export type LineOp = 'Next' | 'Continue' | 'Error';
export type RecordOp = 'NoRecord' | 'Record' | 'Clear' | 'Clearall';

export interface TemplateRule {
  /** Rule regex after `${Value}` substitution, anchored at the line start. */
  readonly regex: RegExp;
  readonly source: string;
  readonly lineOp: LineOp;
  readonly recordOp: RecordOp;
  /** Target state (or, for `Error`, the message); undefined to stay. */
  readonly newState: string | undefined;
  /** 1-based line number in the template, for error messages. */
  readonly line: number;
}

export interface CompiledTemplate {
  readonly name: string;
  readonly values: readonly TemplateValue[];
  readonly states: ReadonlyMap<string, readonly TemplateRule[]>;
}

export const TextFsmErrorCode = {
  template: 'TEXTFSM_TEMPLATE',
  parse: 'TEXTFSM_ERROR',
} as const;

const RESERVED_STATES = new Set(['End', 'EOF']);
const MAX_NAME = 48;

function templateError(name: string, line: number, problem: string): ControlPlaneError {
  return new ControlPlaneError(TextFsmErrorCode.template, `TextFSM template ${name}, line ${line}: ${problem}`, {
    details: { template: name, line },
  });
}

/** Python regex syntax to JavaScript; returns the source and extra flags. */
export function pythonRegexToJs(source: string): { source: string; flags: string } {
  let flags = '';
  let s = source;
  const inline = /^\(\?([aiLmsux]+)\)/.exec(s);
  if (inline?.[1] !== undefined) {
    if (inline[1].includes('i')) flags += 'i';
    if (inline[1].includes('s')) flags += 's';
    if (inline[1].includes('m')) flags += 'm';
    s = s.slice(inline[0].length);
  }
  s = s.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>').replace(/\\Z/g, '$').replace(/\\A/g, '^');
  return { source: s, flags };
}

function countGroups(regex: string): number {
  // A match against the empty alternative reveals the number of groups without parsing.
  return new RegExp(`${regex}|`).exec('')!.length - 1;
}

/** Parses template text; throws a `TEXTFSM_TEMPLATE` error naming the line on any fault. */
export function compileTemplate(text: string, name = 'template'): CompiledTemplate {
  const lines = text.split(/\r?\n/);
  const values: TemplateValue[] = [];
  let i = 0;

  // Value definitions: until the first blank line (comments allowed).
  for (; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;
    if (/^\s*#/.test(raw)) continue;
    if (raw.trim() === '') {
      i++;
      break;
    }
    if (!raw.startsWith('Value ')) {
      throw templateError(name, lineNo, `expected "Value [Options] Name (regex)" or a blank line before the states, got "${raw}"`);
    }
    values.push(parseValue(raw, name, lineNo, values));
  }
  if (values.length === 0) throw templateError(name, 1, 'no Value definitions');

  const byName = new Map(values.map((v) => [v.name, v]));
  const states = new Map<string, TemplateRule[]>();
  let current: TemplateRule[] | undefined;
  const transitions: { state: string; line: number }[] = [];

  for (; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const lineNo = i + 1;
    if (raw.trim() === '' || /^\s*#/.test(raw)) {
      if (raw.trim() === '') current = undefined;
      continue;
    }
    if (/^\S/.test(raw)) {
      const stateName = raw.trim();
      if (!/^\w+$/.test(stateName) || stateName.length > MAX_NAME) throw templateError(name, lineNo, `invalid state name "${stateName}"`);
      if (['Continue', 'Next', 'Error', 'Clear', 'Clearall', 'Record', 'NoRecord'].includes(stateName)) {
        throw templateError(name, lineNo, `invalid state name "${stateName}" (an operator)`);
      }
      if (states.has(stateName)) throw templateError(name, lineNo, `state "${stateName}" defined twice`);
      current = [];
      states.set(stateName, current);
      continue;
    }
    if (current === undefined) throw templateError(name, lineNo, 'rule outside a state (a state name must start the block)');
    const rule = parseRule(raw, name, lineNo, byName);
    if (rule.newState !== undefined && rule.lineOp !== 'Error') transitions.push({ state: rule.newState, line: lineNo });
    current.push(rule);
  }

  if (!states.has('Start')) throw templateError(name, lines.length, 'missing the Start state');
  for (const reserved of RESERVED_STATES) {
    if ((states.get(reserved)?.length ?? 0) > 0) throw templateError(name, lines.length, `the ${reserved} state must be empty`);
  }
  states.delete('End');
  for (const t of transitions) {
    if (!states.has(t.state) && !RESERVED_STATES.has(t.state)) throw templateError(name, t.line, `transition to undefined state "${t.state}"`);
  }
  return { name, values, states };
}

function parseValue(raw: string, name: string, lineNo: number, previous: readonly TemplateValue[]): TemplateValue {
  const rest = raw.slice('Value '.length).trim();
  const open = rest.indexOf('(');
  if (open < 0) throw templateError(name, lineNo, 'a Value regex must be in parentheses');
  const head = rest.slice(0, open).trim().split(/\s+/);
  const regexPy = rest.slice(open).trim();
  if (!regexPy.endsWith(')')) throw templateError(name, lineNo, 'a Value regex must end with ")"');
  let optionList: string[] = [];
  let valueName: string;
  if (head.length === 1) valueName = head[0] ?? '';
  else if (head.length === 2) {
    optionList = (head[0] ?? '').split(',');
    valueName = head[1] ?? '';
  } else throw templateError(name, lineNo, `expected "Value [Options] Name (regex)", got "${raw}"`);
  if (!/^\w+$/.test(valueName) || valueName.length > MAX_NAME) throw templateError(name, lineNo, `invalid value name "${valueName}"`);
  if (previous.some((v) => v.name === valueName)) throw templateError(name, lineNo, `duplicate value name "${valueName}"`);
  const options = new Set<ValueOption>();
  for (const opt of optionList) {
    if (!(VALUE_OPTIONS as readonly string[]).includes(opt)) throw templateError(name, lineNo, `unknown option "${opt}" (known: ${VALUE_OPTIONS.join(', ')})`);
    if (options.has(opt as ValueOption)) throw templateError(name, lineNo, `duplicate option "${opt}"`);
    options.add(opt as ValueOption);
  }
  const { source } = pythonRegexToJs(regexPy);
  let compiled: RegExp;
  try {
    compiled = new RegExp(source);
  } catch (err) {
    throw templateError(name, lineNo, `invalid regex for ${valueName}: ${(err as Error).message}`);
  }
  return { name: valueName, options, regex: source, compiled, groups: countGroups(source) };
}

// `-> Continue.Record State`, `-> Record`, `-> State`, `-> Error "message"`.
const OPERATOR = /^(?:(Continue|Next|Error)(?:\.(Clear|Clearall|Record|NoRecord))?|(Clear|Clearall|Record|NoRecord))$/;

function parseRule(raw: string, name: string, lineNo: number, values: ReadonlyMap<string, TemplateValue>): TemplateRule {
  const body = raw.trim();
  if (!body.startsWith('^')) throw templateError(name, lineNo, `a rule must start with "^", got "${body}"`);
  const arrow = /\s->/.exec(body);
  const matchPart = arrow === null ? body : body.slice(0, arrow.index);
  const actionPart = arrow === null ? '' : body.slice(arrow.index + arrow[0].length).trim();
  let lineOp: LineOp = 'Next';
  let recordOp: RecordOp = 'NoRecord';
  let newState: string | undefined;
  if (actionPart !== '') {
    const [first = '', ...restWords] = actionPart.split(/\s+/);
    const op = OPERATOR.exec(first);
    let target: string;
    if (op === null) {
      target = actionPart;
    } else {
      lineOp = (op[1] as LineOp | undefined) ?? 'Next';
      recordOp = ((op[2] ?? op[3]) as RecordOp | undefined) ?? 'NoRecord';
      target = restWords.join(' ');
    }
    if (target !== '') {
      newState = /^".*"$/.test(target) ? target.slice(1, -1) : target;
      if (lineOp !== 'Error' && !/^\w+$/.test(newState)) throw templateError(name, lineNo, `bad action "${actionPart}"`);
    }
    if (lineOp === 'Continue' && newState !== undefined) throw templateError(name, lineNo, 'Continue cannot change state');
  }
  const substituted = substituteValues(matchPart, values, name, lineNo);
  const { source, flags } = pythonRegexToJs(substituted);
  let regex: RegExp;
  try {
    // Sticky: a rule matches at the start of the line, as Python's re.match does.
    regex = new RegExp(source, `${flags}y`);
  } catch (err) {
    throw templateError(name, lineNo, `invalid rule regex: ${(err as Error).message}`);
  }
  return { regex, source: matchPart, lineOp, recordOp, newState, line: lineNo };
}

/** `${Name}` and `$Name` become the value's named group; `$$` is a literal `$`. */
function substituteValues(match: string, values: ReadonlyMap<string, TemplateValue>, name: string, lineNo: number): string {
  return match.replace(/\$(\$|\{(\w+)\}|(\w+))?/g, (whole, _all: string | undefined, braced: string | undefined, bare: string | undefined) => {
    if (whole === '$$') return '$';
    const valueName = braced ?? bare;
    if (valueName === undefined) return '$';
    const value = values.get(valueName);
    if (value === undefined) {
      if (braced !== undefined) throw templateError(name, lineNo, `unknown value "\${${valueName}}"`);
      return whole;
    }
    return value.regex.replace(/^\(/, `(?<${valueName}>`);
  });
}
