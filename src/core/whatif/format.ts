import type { PolicyTestResult } from '../policy';
import { ruleLabel, type WhatIfExample, type WhatIfReport } from './replay';
import type { WhatIfSource } from './source';

/** True when the draft lets through something history shows was stopped or held (the CI gate). */
export function loosens(report: Pick<WhatIfReport, 'loosened'>): boolean {
  return report.loosened > 0;
}

function exampleLine(e: WhatIfExample): string {
  const recorded = e.recorded.rule ? ` (${ruleLabel(e.recorded.rule)})` : '';
  return `    ${e.ts} ${e.callId} ${e.server}/${e.tool} ${e.args}  recorded ${e.recorded.decision}${recorded}`;
}

/** The report as the CLI prints it. */
export function formatWhatIfReport(report: WhatIfReport, source: WhatIfSource, draftPath: string, tests: readonly PolicyTestResult[] = []): string {
  const lines: string[] = [];
  lines.push(`what-if: ${draftPath} as the ${report.layer} layer`);
  lines.push(
    `history: ${source.kind === 'live' ? `live audit ${source.path} (verified with the key)` : `exported audit ${source.path} (not verified: no key)`}, ${source.records} records${source.skipped > 0 ? `, ${source.skipped} lines skipped (not audit records)` : ''}${report.from ? `, calls from ${report.from} to ${report.to}` : ''}`,
  );
  lines.push(
    `replayed ${report.replayed} calls: ${report.unchanged} unchanged, ${report.loosened} loosened, ${report.tightened} tightened, ${report.undecidable} undecidable${report.withoutDecision > 0 ? ` (${report.withoutDecision} requests had no policy decision and were skipped)` : ''}`,
  );
  for (const g of report.groups) {
    lines.push('');
    lines.push(`${g.direction.toUpperCase()}  ${g.from} -> ${g.to}  by ${g.label}: ${g.count} call${g.count === 1 ? '' : 's'}`);
    for (const e of g.examples) lines.push(exampleLine(e));
    if (g.count > g.examples.length) lines.push(`    … and ${g.count - g.examples.length} more`);
  }
  if (report.undecidable > 0) {
    lines.push('');
    lines.push(`UNDECIDABLE  ${report.undecidable} call${report.undecidable === 1 ? '' : 's'}: a rule tests a value the audit masked (never guessed)`);
    for (const e of report.undecidableExamples) lines.push(`${exampleLine(e)}  unknown: ${(e.unknown ?? []).join(', ')}`);
    if (report.undecidable > report.undecidableExamples.length) lines.push(`    … and ${report.undecidable - report.undecidableExamples.length} more`);
  }
  if (tests.length > 0) {
    const failed = tests.filter((t) => !t.ok).length;
    lines.push('');
    lines.push(`draft tests: ${tests.length - failed} of ${tests.length} passed`);
    for (const t of tests.filter((x) => !x.ok)) lines.push(`    FAIL tests[${t.index}] ${t.name}: ${t.actual !== undefined ? `expected ${t.expected}, got ${t.actual}` : t.reason}`);
  }
  lines.push('');
  lines.push(loosens(report) ? `verdict: the draft LOOSENS ${report.loosened} recorded call${report.loosened === 1 ? '' : 's'}` : 'verdict: the draft loosens nothing that was recorded');
  return `${lines.join('\n')}\n`;
}
