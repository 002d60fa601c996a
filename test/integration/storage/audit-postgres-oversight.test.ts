// The oversight stages with the PostgreSQL audit, in process: a real gateway, a real fixture server,
// real calls; the dashboard's audit queries and a what-if run's verified history read the database;
// a tampered database refuses the what-if run (it would test a draft against a lie).
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { AUDIT_RECORDS_TABLE } from '../../../src/core/audit/postgres';
import { ControlPlaneError } from '../../../src/core/errors';
import { openPostgres, type PgPool } from '../../../src/core/storage/postgres';
import { connectClient, firstText, startPlane, type TestPlane } from '../../helpers/fixture-plane';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';

const skip = postgresSkipReason();

describe('oversight with the PostgreSQL audit: dashboard queries and what-if history from the database (real server)', { skip }, () => {
  let server: TestPostgres;
  let pool: PgPool;
  let plane: TestPlane;
  before(async () => {
    server = await startPostgres();
    pool = await openPostgres(server.url);
    plane = await startPlane([{ name: 'fx', fixture: 'well-behaved' }], { oversight: { postgresAudit: { pool, writerId: 'replica-1' } } });
    await plane.supervisor.get('fx')!.waitUntilServing(15_000);
  });
  after(async () => {
    await plane?.stop();
    await pool?.end();
    await server?.stop();
  });

  it('calls are recorded in the database; the dashboard query and a what-if run read them there; tampering refuses the what-if run', async () => {
    const client = await connectClient(plane, 'fx');
    for (let i = 0; i < 3; i++) assert.equal(firstText(await client.callTool({ name: 'echo', arguments: { text: `hi ${i}` } })), `hi ${i}`);
    await client.close();
    const oversight = plane.oversight!;

    const page = await oversight.queryAudit({ tool: 'echo', type: 'call.completed' }, undefined, 10);
    assert.equal(page.records.length, 3);
    assert.ok(page.records.every((r) => r.instance === 'replica-1' && r.outcome === 'ok'));
    const state = await oversight.state(60_000);
    assert.equal(state.recentCalls.filter((r) => r.tool === 'echo').length, 3);

    const report = await oversight.testPolicy({ name: 'tight.yaml', text: 'rules:\n  - {tool: echo, decision: deny}\n', sinceMs: 3_600_000 });
    assert.equal(report.source.path, 'PostgreSQL (mcpcp_audit_records)');
    assert.equal(report.source.verified, true);
    assert.ok(report.source.records >= 9, `records ${report.source.records}`);
    assert.ok(JSON.stringify(report.report).includes('echo'));

    // Someone edits a call's record in the database: the what-if run refuses the history.
    await pool.query(`UPDATE ${AUDIT_RECORDS_TABLE} SET record = replace(record, '"hi 1"', '"bye"') WHERE writer_id = 'replica-1' AND type = 'call.requested' AND record LIKE '%hi 1%'`);
    await assert.rejects(
      oversight.testPolicy({ name: 'tight.yaml', text: 'rules:\n  - {tool: echo, decision: deny}\n', sinceMs: 3_600_000 }),
      (err: unknown) => err instanceof ControlPlaneError && err.code === 'WHATIF_AUDIT_BROKEN' && /writer replica-1 seq \d+: record seq \d+ does not match its MAC/.test(err.message),
    );
  });
});
