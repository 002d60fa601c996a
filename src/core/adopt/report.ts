import { plural, utcStamp } from '../display/words';
import { SEVERITIES, type AssessmentReport, type Finding } from './assess';

/** The report as JSON (stable field order, 2-space indent). Holds no secret value. */
export function reportToJson(report: AssessmentReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** The report as Markdown: summary, files read, then findings by severity with location and fix. */
export function reportToMarkdown(report: AssessmentReport): string {
  const out: string[] = ['# MCP configuration assessment', '', `Generated ${utcStamp(report.generatedAt)}.`, ''];
  out.push(`| ${SEVERITIES.join(' | ')} |`, `|${SEVERITIES.map(() => '---').join('|')}|`, `| ${SEVERITIES.map((s) => report.summary[s]).join(' | ')} |`, '');
  if (report.toolTotal !== undefined) out.push(`Tools over the enabled servers: ${report.toolTotal} (VS Code takes at most ${report.toolLimit} per request).`, '');
  out.push('## Files', '');
  for (const f of report.files) out.push(`- \`${f.path}\` (${f.kind}, ${f.scope}): ${f.status === 'ok' ? plural(f.servers, 'server') : f.status}${f.error ? `: ${md(f.error)}` : ''}`);
  out.push('');
  out.push('## Findings', '');
  if (report.findings.length === 0) out.push('No findings.');
  for (const severity of SEVERITIES) {
    const list = report.findings.filter((f) => f.severity === severity);
    if (list.length === 0) continue;
    out.push(`### ${severity[0]!.toUpperCase()}${severity.slice(1)} (${list.length})`, '');
    for (const f of list) {
      out.push(`- **${f.rule}** ${md(f.message)}  `);
      out.push(`  ${where(f)} · id \`${f.id}\``);
      if (f.remediation) out.push(`  Fix: ${md(f.remediation.title)}`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** The report for a terminal: one block per finding, most severe first. */
export function reportToText(report: AssessmentReport): string {
  const out: string[] = [];
  const read = report.files.filter((f) => f.status !== 'missing');
  out.push(`Assessed ${plural(read.length, 'file')}: ${read.map((f) => f.path).join(', ') || 'none found'}`);
  for (const f of report.files.filter((x) => x.status === 'unreadable')) out.push(`  cannot read ${f.path}: ${f.error}`);
  out.push(`Findings: ${SEVERITIES.map((s) => `${report.summary[s]} ${s}`).join(', ')}`);
  if (report.toolTotal !== undefined) out.push(`Tools over the enabled servers: ${report.toolTotal} of at most ${report.toolLimit} per request`);
  for (const f of report.findings) {
    out.push('');
    out.push(`[${f.severity.toUpperCase()}] ${f.rule}  (${f.id})`);
    out.push(`  ${f.message}`);
    out.push(`  at ${where(f)}`);
    if (f.remediation) out.push(`  fix: ${f.remediation.title}`);
  }
  return `${out.join('\n')}\n`;
}

function where(f: Finding): string {
  return f.location.line > 0 ? `${f.location.file}:${f.location.line}:${f.location.column}${f.location.pointer ? ` (${f.location.pointer})` : ''}` : f.location.file;
}

function md(text: string): string {
  return text.replace(/([\\`*_[\]|<>])/g, '\\$1');
}
