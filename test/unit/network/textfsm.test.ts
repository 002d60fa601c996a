import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ControlPlaneError } from '../../../src/core/errors';
import { parseText } from '../../../src/servers/network/textfsm/engine';
import { expandCompletion, NtcTemplates } from '../../../src/servers/network/textfsm/ntc-index';
import { compileTemplate } from '../../../src/servers/network/textfsm/template';
import { pythonTextFsmAvailable, runPythonTextFsm } from './python-textfsm';
import { FSM_CASES, type FsmCase } from './textfsm-cases';

function run(name: string): Record<string, unknown>[] {
  const c = FSM_CASES.find((x) => x.name === name) as FsmCase;
  return parseText(compileTemplate(c.template, name), c.text);
}

describe('TextFSM engine', () => {
  it('Filldown carries a value into later records; Required skips incomplete ones', () => {
    assert.deepEqual(run('filldown-required'), [
      { Chassis: 'alpha', Slot: '1', State: 'up' },
      { Chassis: 'alpha', Slot: '2', State: 'down' },
      { Chassis: 'beta', Slot: '7', State: 'up' },
    ]);
  });

  it('List accumulates; Continue.Record records before the same line matches again', () => {
    assert.deepEqual(run('list-and-continue'), [
      { Interface: 'a', Address: ['10.0.0.1', '10.0.0.2'], Mtu: '1500' },
      { Interface: 'b', Address: ['10.0.1.1'], Mtu: '9000' },
    ]);
  });

  it('List with nested named groups keeps a dict per match', () => {
    assert.deepEqual(run('nested-list'), [
      { Name: 'x', Pair: [{ key: 'a', val: '1' }, { key: 'b', val: '2' }] },
      { Name: 'y', Pair: [] },
    ]);
  });

  it('Fillup fills earlier records upwards until one has a value, and stays until a record clears it', () => {
    assert.deepEqual(run('fillup'), [
      { Item: 'one', Group: 'g1' },
      { Item: 'two', Group: 'g1' },
      { Item: 'three', Group: 'g1' },
    ]);
  });

  it('states, $$ as end anchor and End stopping without the implicit record', () => {
    assert.deepEqual(run('states-and-eof'), [
      { Name: 'a', Value: '1' },
      { Name: 'b', Value: '2' },
    ]);
  });

  it('an explicit empty EOF state suppresses the implicit record; without it the last record is kept', () => {
    assert.deepEqual(run('explicit-eof-suppresses-record'), []);
    assert.deepEqual(run('implicit-eof-record'), [{ Name: 'last' }]);
  });

  it('Clear keeps Filldown values, Clearall drops them', () => {
    assert.deepEqual(run('clear-and-clearall'), [
      { A: 'x', B: '1' },
      { A: 'x', B: '' },
      { A: 'y', B: '4' },
    ]);
  });

  it('Next.Record with state transitions', () => {
    assert.deepEqual(run('next-record-state-transition'), [
      { Host: 'h1', Port: '1' },
      { Host: 'h1', Port: '2' },
      { Host: 'h2', Port: '3' },
    ]);
  });

  it('an unmatched optional group is empty, not missing', () => {
    assert.deepEqual(run('optional-group-and-empty-string'), [
      { A: 'one', B: 'two' },
      { A: 'three', B: '' },
      { A: 'four', B: '' },
    ]);
  });

  it('-> Error stops with the message and the offending line', () => {
    const t = compileTemplate('Value A (\\w+)\n\nStart\n  ^ok ${A}\n  ^bad -> Error "unexpected bad"\n', 't');
    assert.throws(
      () => parseText(t, 'ok 1\nbad\n'),
      (err: unknown) => err instanceof ControlPlaneError && /unexpected bad/.test(err.message) && /Input line: bad/.test(err.message),
    );
  });

  it('template faults name the line', () => {
    const cases: [string, RegExp][] = [
      ['Value A (\\w+)\n\nFoo\n  ^x -> Start\n', /missing the Start state/],
      ['Value Bogus A (\\w+)\n\nStart\n  ^x\n', /line 1: unknown option "Bogus"/],
      ['Value A (\\w+)\n\nStart\n  ^x -> Nowhere\n', /line 4: transition to undefined state "Nowhere"/],
      ['Value A (\\w+)\n\nStart\n  ^x -> Continue Start\n', /line 4: Continue cannot change state/],
      ['Value A (\\w+)\n\nStart\n  ^${B}\n', /line 4: unknown value/],
      ['Value A \\w+\n\nStart\n  ^x\n', /line 1: a Value regex must be in parentheses/],
      ['Value A (\\w+)\n\nStart\n  ^x\n\nEOF\n  ^y\n', /EOF state must be empty/],
    ];
    for (const [text, re] of cases) {
      assert.throws(() => compileTemplate(text, 'bad'), (err: unknown) => err instanceof ControlPlaneError && re.test(err.message), text);
    }
  });

  it('translates Python regex syntax', () => {
    const t = compileTemplate('Value A ((?P<x>a)(?P=x))\n\nStart\n  ^${A} -> Record\n', 't');
    assert.deepEqual(parseText(t, 'aa\nab\n'), [{ A: 'aa' }]);
  });
});

describe('ntc-templates index', () => {
  it('expands [[completions]] into optional characters', () => {
    const re = new RegExp(`^${expandCompletion('sh[[ow]] ip int[[erface]] br[[ief]]')}`);
    for (const cmd of ['sh ip int br', 'show ip interface brief', 'sho ip inte bri']) assert.ok(re.test(cmd), cmd);
    assert.ok(!re.test('show ip route'));
  });

  it('finds the first matching row for a platform and loads the template', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ntc-'));
    try {
      await writeFile(
        join(dir, 'index'),
        '# comment\nTemplate, Hostname, Platform, Command\n\ncisco_ios_show_clock.textfsm, .*, cisco_ios, sh[[ow]] clo[[ck]]\n',
      );
      await writeFile(join(dir, 'cisco_ios_show_clock.textfsm'), 'Value Time (\\S+)\n\nStart\n  ^\\*?${Time} -> Record\n');
      const ntc = await NtcTemplates.load(dir);
      const t = await ntc.find(['cisco_xe', 'cisco_ios'], 'show clock');
      assert.ok(t);
      assert.deepEqual(parseText(t, '*10:00:00.123\n'), [{ Time: '10:00:00.123' }]);
      assert.equal(await ntc.find(['cisco_ios'], 'show version'), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('TextFSM engine agrees with Python textfsm', { skip: !pythonTextFsmAvailable() && 'python3-textfsm not installed' }, () => {
  it('on every feature case', () => {
    const py = runPythonTextFsm(FSM_CASES);
    FSM_CASES.forEach((c, i) => {
      const ours = parseText(compileTemplate(c.template, c.name), c.text);
      assert.deepEqual({ rows: ours }, py[i], c.name);
    });
  });
});
