import { plural, utcStamp } from '../display/words';
import { SEVERITIES, type AssessmentReport, type Finding } from './assess';

/** Command ids the report's links run (VS Code command URIs; the webview allows only these). */
export interface ReportCommands {
  exportJson: string;
  exportMarkdown: string;
  rerun: string;
  reveal: string;
  remediate: string;
}

export interface ReportHtmlOptions {
  nonce: string;
  commands: ReportCommands;
  /** What happened to a finding's remediation in this panel (applied, rejected, failed). */
  outcomes?: Readonly<Record<string, string>>;
  /** How "Generated …" shows the report's time (VS Code: local, "today 14:02:07"). Default `utcStamp`. */
  formatTime?: (iso: string) => string;
}

/** `command:<id>?<args>`: a link that runs a VS Code command with JSON arguments. */
export function commandUri(id: string, args: readonly unknown[]): string {
  return `command:${id}?${encodeURIComponent(JSON.stringify(args))}`;
}

/**
 * The assessment report as a self-contained page for a webview: no script at all (actions are
 * command links the host allows one by one), one nonce'd style block using VS Code's theme
 * variables, and a CSP that allows nothing else. Every text is escaped.
 */
export function renderAssessmentHtml(report: AssessmentReport, options: ReportHtmlOptions): string {
  const c = options.commands;
  const n = escapeHtml(options.nonce);
  const rows = report.findings.map((f) => findingHtml(f, c, options.outcomes?.[f.id])).join('\n');
  const files = report.files
    .filter((f) => f.status !== 'missing')
    .map((f) => `<li><code>${escapeHtml(f.path)}</code> <span class="muted">${escapeHtml(f.kind)}, ${escapeHtml(f.scope)}: ${f.status === 'ok' ? plural(f.servers, 'server') : escapeHtml(`${f.status}${f.error ? `: ${f.error}` : ''}`)}</span></li>`)
    .join('');
  const chips = SEVERITIES.map((s) => `<span class="chip sev-${s}">${report.summary[s]} ${s}</span>`).join(' ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${n}'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MCP Configuration Assessment</title>
<style nonce="${n}">
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 0 20px 20px; }
h1 { font-size: 1.4em; font-weight: 600; }
h2 { font-size: 1.1em; font-weight: 600; margin-top: 1.5em; }
a { color: var(--vscode-textLink-foreground); }
a.button { display: inline-block; padding: 3px 10px; margin-right: 6px; border-radius: 2px; text-decoration: none; color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
a.button:hover { background: var(--vscode-button-hoverBackground); }
a.secondary { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
.muted { color: var(--vscode-descriptionForeground); }
.chip { display: inline-block; padding: 1px 8px; border-radius: 10px; border: 1px solid var(--vscode-panel-border); margin-right: 4px; }
.finding { border-left: 3px solid var(--vscode-panel-border); padding: 6px 10px; margin: 8px 0; background: var(--vscode-editorWidget-background); }
.sev-critical { border-color: var(--vscode-errorForeground); }
.sev-high { border-color: var(--vscode-editorError-foreground, var(--vscode-errorForeground)); }
.sev-medium { border-color: var(--vscode-editorWarning-foreground); }
.sev-low { border-color: var(--vscode-editorInfo-foreground); }
.badge { font-weight: 600; text-transform: uppercase; font-size: 0.85em; margin-right: 6px; }
.rule { font-family: var(--vscode-editor-font-family); }
.outcome { margin-top: 4px; font-style: italic; }
code { font-family: var(--vscode-editor-font-family); }
</style>
</head>
<body>
<h1>MCP configuration assessment</h1>
<p class="muted">Generated ${escapeHtml((options.formatTime ?? utcStamp)(report.generatedAt))}${report.toolTotal !== undefined ? ` · ${plural(report.toolTotal, 'tool')} over the enabled servers (VS Code takes at most ${report.toolLimit} per request)` : ''}</p>
<p>${chips}</p>
<p><a class="button" href="${commandUri(c.rerun, [])}">Assess again</a><a class="button secondary" href="${commandUri(c.exportJson, [])}">Export JSON</a><a class="button secondary" href="${commandUri(c.exportMarkdown, [])}">Export Markdown</a></p>
<h2>Findings (${report.findings.length})</h2>
${rows || '<p>No findings.</p>'}
<h2>Files</h2>
<ul>${files || '<li class="muted">No MCP configuration found.</li>'}</ul>
</body>
</html>
`;
}

function findingHtml(f: Finding, c: ReportCommands, outcome: string | undefined): string {
  const loc = f.location.line > 0
    ? `<a href="${commandUri(c.reveal, [f.location.file, f.location.line, f.location.column])}">${escapeHtml(`${f.location.file}:${f.location.line}:${f.location.column}`)}</a>`
    : escapeHtml(f.location.file);
  const fix = f.remediation && !outcome?.startsWith('applied')
    ? `<div><a class="button" href="${commandUri(c.remediate, [f.id])}">Fix…</a><span class="muted">${escapeHtml(f.remediation.title)} (shows the diff for approval)</span></div>`
    : '';
  return `<div class="finding sev-${f.severity}" id="f-${escapeHtml(f.id)}">
<div><span class="badge">${f.severity}</span><span class="rule">${escapeHtml(f.rule)}</span></div>
<div>${escapeHtml(f.message)}</div>
<div class="muted">${loc}${f.location.pointer ? ` <code>${escapeHtml(f.location.pointer)}</code>` : ''}</div>
${fix}${outcome ? `<div class="outcome">${escapeHtml(outcome)}</div>` : ''}
</div>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}
