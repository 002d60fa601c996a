import { ControlPlaneError } from '../errors';
import { auditRecordSchema, type AuditRecord } from '../audit';
import { exportPostgresAudit, queryPostgresAudit } from '../audit/postgres';
import { verifyPostgresAudit } from '../audit/postgres-verify';
import type { PgPool } from '../storage/postgres';
import type { AuditHistory } from './oversight';

/** The audit in PostgreSQL: queries over every writer, a what-if run's history after verifying the whole database. */
export function postgresAuditHistory(pool: PgPool): AuditHistory {
  return {
    query: (filter, page) => queryPostgresAudit(pool, filter, page),
    async live(keys, sinceMs) {
      const verified = await verifyPostgresAudit(pool, { keys });
      const b = verified.firstBroken;
      if (b !== undefined) throw new ControlPlaneError('WHATIF_AUDIT_BROKEN', `the audit in PostgreSQL does not verify (writer ${b.writer} seq ${b.seq}: ${b.reason}): run \`mcpcp audit verify --config F\`; a what-if run needs intact history`);
      const records: AuditRecord[] = [];
      for await (const line of exportPostgresAudit(pool, 'jsonl', { from: new Date(Date.now() - sinceMs).toISOString() })) {
        const parsed = auditRecordSchema.safeParse(JSON.parse(line));
        if (parsed.success) records.push(parsed.data);
      }
      return { records, source: { kind: 'live', path: 'PostgreSQL (mcpcp_audit_records)', records: records.length, skipped: 0, verified: true } };
    },
  };
}

