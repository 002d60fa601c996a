/**
 * Runs a compiled TextFSM template over text, with the semantics of Python textfsm 1.1:
 * per line, the current state's rules are tried in order; a match assigns its named groups, runs
 * the record operation, then `Next` (next line, state transition) or `Continue` (next rule, same
 * line). A record skips when a Required value is empty and is dropped when every value is empty;
 * Filldown values survive a record, Fillup values fill earlier records upwards, List values
 * accumulate. At end of input an implicit Record runs unless the template defines `EOF` or the
 * machine reached `End`.
 */
import { ControlPlaneError } from '../../../core/errors';
import { TextFsmErrorCode, type CompiledTemplate, type TemplateRule, type TemplateValue } from './template';

export type Cell = string | (string | Record<string, string>)[];
export type Row = Record<string, Cell>;

class SkipRecord extends Error {}

interface ValueState {
  readonly def: TemplateValue;
  value: string | undefined;
  filldown: string | undefined;
  list: (string | Record<string, string>)[];
}

/** Parses `text` with `template`; returns one object per record, keyed by value name. */
export function parseText(template: CompiledTemplate, text: string): Row[] {
  return new Machine(template).run(text);
}

class Machine {
  private readonly values: ValueState[];
  private readonly results: (string | (string | Record<string, string>)[])[][] = [];
  private stateName = 'Start';

  constructor(private readonly template: CompiledTemplate) {
    this.values = template.values.map((def) => ({ def, value: undefined, filldown: undefined, list: [] }));
  }

  run(text: string): Row[] {
    const lines = text.length === 0 ? [] : text.split(/\r\n|\n|\r/);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) {
      this.checkLine(line);
      if (this.stateName === 'End' || this.stateName === 'EOF') break;
    }
    if (this.stateName !== 'End' && !this.template.states.has('EOF')) this.appendRecord();
    const names = this.values.map((v) => v.def.name);
    return this.results.map((record) => Object.fromEntries(record.map((cell, i) => [names[i] ?? '', cell])));
  }

  private checkLine(line: string): void {
    const rules = this.template.states.get(this.stateName) ?? [];
    for (const rule of rules) {
      rule.regex.lastIndex = 0;
      const match = rule.regex.exec(line);
      if (match === null) continue;
      for (const [name, captured] of Object.entries(match.groups ?? {})) {
        const v = this.values.find((x) => x.def.name === name);
        if (v !== undefined) this.assign(v, captured);
      }
      if (this.operations(rule, line)) {
        if (rule.newState !== undefined) this.stateName = rule.newState;
        return;
      }
    }
  }

  /** Runs the rule's record op and line op; true when processing moves to the next line. */
  private operations(rule: TemplateRule, line: string): boolean {
    if (rule.recordOp === 'Record') this.appendRecord();
    else if (rule.recordOp === 'Clear') this.clearRecord();
    else if (rule.recordOp === 'Clearall') this.clearAll();
    if (rule.lineOp === 'Error') {
      const reason = rule.newState === undefined ? 'State Error raised' : `Error: ${rule.newState}`;
      throw new ControlPlaneError(TextFsmErrorCode.parse, `${reason}. Rule line: ${rule.line}. Input line: ${line}`, {
        details: { template: this.template.name, line: rule.line },
      });
    }
    return rule.lineOp !== 'Continue';
  }

  private assign(v: ValueState, captured: string | undefined): void {
    v.value = captured;
    const opts = v.def.options;
    if (opts.has('Filldown')) v.filldown = captured;
    if (opts.has('List') && captured !== undefined) {
      const nested = v.def.groups > 1 ? v.def.compiled.exec(captured) : null;
      if (nested?.groups !== undefined && Object.keys(nested.groups).length > 0) {
        v.list.push(Object.fromEntries(Object.entries(nested.groups).map(([k, x]) => [k, x ?? ''])));
      } else {
        v.list.push(captured);
      }
    }
    if (opts.has('Fillup') && captured !== undefined && captured !== '') {
      const idx = this.values.indexOf(v);
      for (let r = this.results.length - 1; r >= 0; r--) {
        const record = this.results[r];
        if (record === undefined) break;
        const cell = record[idx];
        if (cell !== undefined && cell !== '' && !(Array.isArray(cell) && cell.length === 0)) break;
        record[idx] = captured;
      }
    }
  }

  private appendRecord(): void {
    if (this.values.length === 0) return;
    const record: (string | undefined | (string | Record<string, string>)[])[] = [];
    try {
      for (const v of this.values) {
        const cell = v.def.options.has('List') ? [...v.list] : v.value;
        if (v.def.options.has('Required') && (cell === undefined || cell === '' || (Array.isArray(cell) && cell.length === 0))) {
          throw new SkipRecord();
        }
        record.push(cell);
      }
    } catch (err) {
      if (!(err instanceof SkipRecord)) throw err;
      this.clearRecord();
      return;
    }
    const empty = record.every((c) => c === undefined || (Array.isArray(c) && c.length === 0));
    if (empty) return;
    this.results.push(record.map((c) => c ?? ''));
    this.clearRecord();
  }

  private clearRecord(): void {
    for (const v of this.values) {
      v.value = v.def.options.has('Filldown') ? v.filldown : undefined;
      if (!v.def.options.has('Filldown')) v.list = [];
    }
  }

  private clearAll(): void {
    for (const v of this.values) {
      v.value = undefined;
      v.filldown = undefined;
      v.list = [];
    }
  }
}
