import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { migrate, openPostgres, type PgPool } from '../../../src/core/storage/postgres';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../../helpers/postgres';

const skip = postgresSkipReason();

describe('PostgreSQL storage: connection and migrations (real server)', { skip }, () => {
  let server: TestPostgres;
  let pool: PgPool;
  before(async () => {
    server = await startPostgres();
    pool = await openPostgres(server.url, { applicationName: 'migrations-test' });
  });
  after(async () => {
    await pool?.end();
    await server?.stop();
  });

  const v1 = { version: 1, description: 'things', sql: 'CREATE TABLE things (id serial PRIMARY KEY, name text NOT NULL)' };
  const v2 = { version: 2, description: 'things.note', sql: 'ALTER TABLE things ADD COLUMN note text' };

  it('applies versions once, in order, and is idempotent', async () => {
    assert.deepEqual(await migrate(pool, 'test', [v1]), [1]);
    assert.deepEqual(await migrate(pool, 'test', [v2, v1]), [2]);
    assert.deepEqual(await migrate(pool, 'test', [v1, v2]), []);
    await pool.query("INSERT INTO things (name, note) VALUES ('a', 'b')");
    const { rows } = await pool.query('SELECT version FROM mcpcp_migrations WHERE component = $1 ORDER BY version', ['test']);
    assert.deepEqual(rows.map((r) => r.version), [1, 2]);
  });

  it('replicas starting together apply each migration exactly once', async () => {
    const m = [{ version: 1, description: 'race', sql: 'CREATE TABLE race (id int)' }];
    const pools = await Promise.all([1, 2, 3].map(() => openPostgres(server.url)));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, 'race', m)));
      assert.equal(results.flat().length, 1, `applied ${JSON.stringify(results)}`);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('a failing migration rolls back with its name and leaves nothing half-applied', async () => {
    const bad = [
      { version: 1, description: 'ok', sql: 'CREATE TABLE half (id int)' },
      { version: 2, description: 'broken', sql: 'ALTER TABLE nope ADD COLUMN x int' },
    ];
    await assert.rejects(migrate(pool, 'half', bad), /half migration 2 \(broken\) failed: .*nope/);
    const { rows } = await pool.query("SELECT to_regclass('half') AS t");
    assert.equal(rows[0].t, null, 'migration 1 was rolled back with the failure');
  });

  it('refuses a schema newer than this build', async () => {
    await migrate(pool, 'newer', [v1, { ...v2, sql: 'SELECT 1' }].map((m) => ({ ...m, sql: m.version === 1 ? 'SELECT 1' : m.sql })));
    await assert.rejects(migrate(pool, 'newer', [{ ...v1, sql: 'SELECT 1' }]), /newer than this build knows/);
  });

  it('a wrong password fails with a message that does not contain it', async () => {
    const wrong = server.url.replace(encodeURIComponent(server.password), 'not-the-password-x9');
    await assert.rejects(openPostgres(wrong), (err: Error) => {
      assert.match(err.message, /cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/mcpcp/);
      assert.ok(!err.message.includes('not-the-password-x9'), err.message);
      return true;
    });
  });
  it('a connection killed during a migration fails the migration, not the process', async () => {
    const slow = [{ version: 1, description: 'slow', sql: 'SELECT pg_sleep(10)' }];
    const own = await openPostgres(server.url, { applicationName: 'migration-victim' });
    try {
      const running = migrate(own, 'victim', slow);
      // It may fail while this test still awaits the termination below: handled from the start
      // (assert.rejects judges it after).
      running.catch(() => undefined);
      // Wait until the migration's query runs, then end its connection from the server side.
      for (let i = 0; i < 100; i++) {
        const { rows } = await pool.query("SELECT pid FROM pg_stat_activity WHERE application_name = 'migration-victim' AND query LIKE 'SELECT pg_sleep%'");
        if (rows.length > 0) {
          await pool.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      await assert.rejects(running, /victim migration 1 \(slow\) failed: .*terminat/);
      // Still alive, and nothing was recorded as applied.
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM mcpcp_migrations WHERE component = $1', ['victim']);
      assert.equal(rows[0].n, 0);
    } finally {
      await own.end().catch(() => undefined);
    }
  });
});
