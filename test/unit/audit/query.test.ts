import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AUDIT_CSV_COLUMNS, exportAudit, queryAudit, recordMac, type AuditEvent, type AuditRecord } from '../../../src/core/audit';
import { TEST_KEYS, openLog, readAuditLines, tempDir } from './helpers';

const T0 = Date.parse('2025-01-01T00:00:00.000Z');

/** Two instances writing interleaved in time: a at even seconds, b at odd seconds; 30 records each. */
async function fixture(t: TestContext): Promise<string> {
  const dir = tempDir(t);
  for (const [instance, offset] of [['a', 0], ['b', 1]] as const) {
    let i = 0;
    const log = await openLog(dir, { instanceId: instance, now: () => T0 + (2 * i + offset) * 1000, maxFileBytes: 3000 });
    for (; i < 30; i++) await log.append(eventFor(instance, i));
    await log.close();
  }
  return dir;
}

function eventFor(instance: string, i: number): AuditEvent {
  const server = i % 3 === 0 ? 'kubernetes' : i % 3 === 1 ? 'git' : 'network';
  switch (i % 4) {
    case 0:
      return { type: 'call.requested', callId: `${instance}${i}`, server, tool: 'pods_list', client: { name: 'vscode', version: '1.101' } };
    case 1:
      return { type: 'policy.decided', callId: `${instance}${i}`, server, tool: 'pod_delete', decision: i % 8 === 1 ? 'deny' : 'approve', reason: 'needs, "care"\nreally', rule: { source: 'user', index: 2, id: 'prod' } };
    case 2:
      return { type: 'call.completed', callId: `${instance}${i}`, server, tool: 'repo_status', outcome: 'ok', durationMs: i, resultBytes: 10 * i };
    default:
      return { type: 'call.failed', callId: `${instance}${i}`, server, tool: 'device_command', outcome: 'error', error: '=cmd|calc', durationMs: 1 };
  }
}

async function all(dir: string, filter = {}, order: 'asc' | 'desc' = 'asc', limit = 7): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await queryAudit(dir, filter, { limit, order, ...(cursor !== undefined ? { cursor } : {}) });
    assert.ok(page.records.length <= limit);
    out.push(...page.records);
    cursor = page.nextCursor;
    assert.ok(++pages < 100, 'pagination ends');
  } while (cursor !== undefined);
  return out;
}

const ids = (records: readonly AuditRecord[]): string[] => records.map((r) => `${r.instance}:${r.seq}`);

describe('queryAudit', () => {
  it('returns every record of every instance, in time order, across rotated files', async (t) => {
    const dir = await fixture(t);
    assert.ok(readAuditLines(dir).size > 2, 'rotation happened');
    const records = await all(dir, {}, 'asc', 1000);
    assert.equal(records.length, 60);
    const times = records.map((r) => Date.parse(r.ts));
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    assert.deepEqual(records.slice(0, 3).map((r) => `${r.instance}:${r.seq}`), ['a:1', 'b:1', 'a:2']);
  });

  it('pages without gaps or repeats, in both orders', async (t) => {
    const dir = await fixture(t);
    const full = await all(dir, {}, 'asc', 1000);
    const asc = await all(dir, {}, 'asc', 7);
    assert.deepEqual(ids(asc), ids(full));
    const desc = await all(dir, {}, 'desc', 11);
    assert.deepEqual(ids(desc), ids(full).reverse());
    const first = await queryAudit(dir, {}, { limit: 60 });
    assert.equal(first.nextCursor, undefined, 'no cursor when everything fits');
  });

  const filters: readonly { name: string; filter: Parameters<typeof queryAudit>[1]; expected: (r: AuditRecord) => boolean }[] = [
    { name: 'server', filter: { server: 'git' }, expected: (r) => r.server === 'git' },
    { name: 'tool', filter: { tool: 'pod_delete' }, expected: (r) => r.tool === 'pod_delete' },
    { name: 'decision', filter: { decision: 'deny' }, expected: (r) => r.decision === 'deny' },
    { name: 'outcome', filter: { outcome: ['ok', 'error'] }, expected: (r) => r.outcome === 'ok' || r.outcome === 'error' },
    { name: 'type list', filter: { type: ['call.failed', 'call.completed'] }, expected: (r) => r.type === 'call.failed' || r.type === 'call.completed' },
    { name: 'instance', filter: { instance: 'b' }, expected: (r) => r.instance === 'b' },
    {
      name: 'time window (from inclusive, to exclusive)',
      filter: { from: new Date(T0 + 10_000), to: T0 + 20_000 },
      expected: (r) => Date.parse(r.ts) >= T0 + 10_000 && Date.parse(r.ts) < T0 + 20_000,
    },
    { name: 'ISO strings and combined fields', filter: { from: '2025-01-01T00:00:30.000Z', server: 'kubernetes', type: 'call.requested' }, expected: (r) => Date.parse(r.ts) >= T0 + 30_000 && r.server === 'kubernetes' && r.type === 'call.requested' },
    { name: 'callId', filter: { callId: 'b5' }, expected: (r) => r.callId === 'b5' },
  ];
  for (const f of filters) {
    it(`filters by ${f.name}`, async (t) => {
      const dir = await fixture(t);
      const everything = await all(dir, {}, 'asc', 1000);
      const wanted = everything.filter(f.expected);
      assert.ok(wanted.length > 0 && wanted.length < everything.length, 'the filter is selective');
      assert.deepEqual(ids(await all(dir, f.filter, 'asc', 4)), ids(wanted));
    });
  }

  it('refuses a foreign cursor and a bad time', async (t) => {
    const dir = await fixture(t);
    const page = await queryAudit(dir, {}, { limit: 5 });
    assert.ok(page.nextCursor !== undefined);
    await assert.rejects(queryAudit(dir, {}, { cursor: page.nextCursor, order: 'desc' }), { code: 'AUDIT_BAD_CURSOR' });
    await assert.rejects(queryAudit(dir, {}, { cursor: 'garbage' }), { code: 'AUDIT_BAD_CURSOR' });
    await assert.rejects(queryAudit(dir, { from: 'yesterday' }), { code: 'AUDIT_BAD_FILTER' });
  });

  it('skips a torn tail and reads an empty or missing directory as empty', async (t) => {
    const dir = await fixture(t);
    const newest = [...readAuditLines(dir).keys()].filter((n) => n.includes('-a-')).at(-1) ?? '';
    appendFileSync(join(dir, newest), '{"seq":31,"partial');
    assert.equal((await all(dir, {}, 'asc', 1000)).length, 60);
    assert.deepEqual(await queryAudit(join(dir, 'absent')), { records: [] });
  });
});

describe('exportAudit', () => {
  async function collect(gen: AsyncIterable<string>): Promise<string> {
    let out = '';
    for await (const chunk of gen) out += chunk;
    return out;
  }

  it('exports JSONL exactly as stored, merged in time order, each record still verifiable', async (t) => {
    const dir = await fixture(t);
    const text = await collect(exportAudit(dir, 'jsonl'));
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 60);
    const stored = new Set([...readAuditLines(dir).values()].flat());
    for (const line of lines) {
      assert.ok(stored.has(line), 'the line is byte-identical to the stored one');
      const record = JSON.parse(line) as AuditRecord;
      assert.equal(recordMac(TEST_KEYS.keys.get(record.kid ?? '') ?? Buffer.alloc(0), record), record.hash);
    }
    const times = lines.map((l) => Date.parse((JSON.parse(l) as AuditRecord).ts));
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
  });

  it('exports filtered CSV with quoting and formula neutralised', async (t) => {
    const dir = await fixture(t);
    const text = await collect(exportAudit(dir, 'csv', { type: ['policy.decided', 'call.failed'], instance: 'a' }));
    const rows = parseCsv(text);
    assert.deepEqual(rows[0], [...AUDIT_CSV_COLUMNS]);
    assert.equal(rows.length - 1, (await all(dir, { type: ['policy.decided', 'call.failed'], instance: 'a' }, 'asc', 1000)).length);
    const col = (name: (typeof AUDIT_CSV_COLUMNS)[number]): number => AUDIT_CSV_COLUMNS.indexOf(name);
    const decided = rows.find((r) => r[col('type')] === 'policy.decided');
    assert.equal(decided?.[col('reason')], 'needs, "care"\nreally');
    assert.equal(decided?.[col('rule')], 'user#3 prod');
    const failed = rows.find((r) => r[col('type')] === 'call.failed');
    assert.equal(failed?.[col('error')], "'=cmd|calc");
    const requested = await collect(exportAudit(dir, 'csv', { type: 'call.requested', instance: 'b' }));
    assert.equal(parseCsv(requested)[1]?.[col('client')], 'vscode@1.101');
  });
});

/** A small RFC 4180 parser, enough to read the export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}
