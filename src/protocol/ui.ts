// Messages between the web UI (media/, the same bundle in a VS Code webview and at /ui) and its
// host. Declared once here; the host validates what arrives with these schemas. No vscode, no DOM.
import { z } from 'zod';

export const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValueSchema), z.record(z.string(), jsonValueSchema)]),
);
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Which view a UI instance shows. */
export const viewSchema = z.enum(['dashboard', 'approvals', 'policy-test']);
export type UiView = z.infer<typeof viewSchema>;

export const serverViewSchema = z.object({
  name: z.string(),
  builtin: z.boolean(),
  /** running | starting | unhealthy | restarting | crash-looping | failed | stopped */
  state: z.string(),
  /** "running · up 3m 2s · 1 restart" */
  description: z.string(),
  pid: z.number().optional(),
  startedAt: z.number().optional(),
  restarts: z.number(),
  toolCount: z.number(),
  lastError: z.string().optional(),
  endpoint: z.string(),
});
export type ServerView = z.infer<typeof serverViewSchema>;

/** Call statistics over the chosen window, for one tool or a total. */
export const callStatsSchema = z.object({
  server: z.string(),
  tool: z.string(),
  calls: z.number(),
  /** Calls that failed in a tool, a server or the control plane (outcome class `error`). */
  errors: z.number(),
  /** Calls refused by policy or a human, or expired: the oversight working, not errors. */
  refused: z.number().optional(),
  /** errors / calls, 0..1 */
  errorRate: z.number(),
  p50Ms: z.number(),
  p95Ms: z.number(),
  p99Ms: z.number(),
});
export type CallStats = z.infer<typeof callStatsSchema>;

/** One bucket of the time series (calls per minute, latency over time). */
export const seriesPointSchema = z.object({
  /** Bucket start, ms since the epoch. */
  t: z.number(),
  calls: z.number(),
  errors: z.number(),
  p50Ms: z.number(),
  p95Ms: z.number(),
});
export type SeriesPoint = z.infer<typeof seriesPointSchema>;

export const approvalViewSchema = z.object({
  id: z.string(),
  kind: z.enum(['tool', 'resource', 'prompt']),
  server: z.string(),
  tool: z.string(),
  /**
   * Arguments as they will run, NOT redacted: the approver must see what runs. Render them with
   * `displayArgs`/`visible` (src/core/display), never raw. Only human views get them.
   */
  args: z.record(z.string(), jsonValueSchema),
  /** Paths (`target.context`, `items[0].name`) whose value looks like a secret: marked in every UI. */
  secretPaths: z.array(z.string()).optional(),
  /** What the call will change (remote URL and ref, cluster/context/namespace/kind/name, devices), resolved by the built-in server; bound into the digest. */
  effect: z.record(z.string(), jsonValueSchema).optional(),
  /** SHA-256 of the canonical arguments: the decision is bound to it. */
  digest: z.string(),
  /** ok: text is the preview (a diff or the affected objects); untrusted/none/failed: note says why there is none. */
  preview: z.object({
    status: z.enum(['ok', 'failed', 'untrusted', 'none']),
    text: z.string().optional(),
    note: z.string().optional(),
    truncated: z.boolean().optional(),
    secretLooking: z.boolean().optional(),
    /** What no undo brings back, as the built-in tool's dry run said (also at the end of `text`). */
    irreversible: z.array(z.string()).optional(),
  }),
  client: z.object({ name: z.string(), version: z.string().optional() }).optional(),
  rule: z.object({ source: z.string(), index: z.number().optional(), id: z.string().optional() }).optional(),
  reason: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  status: z.enum(['pending', 'approved', 'rejected', 'expired']),
  /** The call the approval is for (its audit records, its undo). */
  callId: z.string().optional(),
  decidedBy: z.string().optional(),
  decisionReason: z.string().optional(),
  decidedAt: z.number().optional(),
  /**
   * Set only by VS Code's host: the card may offer "Allow this tool from now on…" (the tool is not
   * destructive). The host resolves the tool from the approval id in its own state, never from the page.
   */
  canAlwaysAllow: z.boolean().optional(),
  /** Who asked, when it is not the local user (team mode). */
  requestedBy: z.string().optional(),
  /** The roles of who asked (team mode), as the service resolved them. */
  requestedByRoles: z.array(z.string()).optional(),
  /** A rule needing several distinct approvers (four-eyes): how many approved so far, of how many, and who. */
  approvals: z.object({ given: z.number(), required: z.number(), by: z.array(z.string()) }).optional(),
  /** The requester approved their own request, as the configuration allows. */
  selfApproved: z.boolean().optional(),
});
export type ApprovalView = z.infer<typeof approvalViewSchema>;

/** A row of the recent-calls table (from the audit log). */
export const auditRowSchema = z.object({
  seq: z.number(),
  ts: z.string(),
  instance: z.string(),
  type: z.string(),
  callId: z.string().optional(),
  server: z.string().optional(),
  tool: z.string().optional(),
  client: z.string().optional(),
  /** Team mode: who asked, "alice@example.com (operator)". */
  principal: z.string().optional(),
  decision: z.string().optional(),
  outcome: z.string().optional(),
  durationMs: z.number().optional(),
  reason: z.string().optional(),
  error: z.string().optional(),
  /** A completed destructive call of a built-in server: whether it can be undone (docs/undo.md). */
  undo: z.object({ undoable: z.boolean(), summary: z.string().optional(), reason: z.string().optional() }).optional(),
  /** This call undid that one. */
  undoOf: z.string().optional(),
});
export type AuditRow = z.infer<typeof auditRowSchema>;

/** An undo's preview (`undo.preview`): the inverse and the drift check, as text; `digest` binds `undo.submit` to it. */
export interface UndoPreviewView {
  callId: string;
  text: string;
  digest: string;
  changed: boolean;
  irreversible: string[];
}

export const dashboardStateSchema = z.object({
  generatedAt: z.number(),
  windowMs: z.number(),
  servers: z.array(serverViewSchema),
  totals: callStatsSchema,
  tools: z.array(callStatsSchema),
  /** One point per minute over the window, oldest first. */
  series: z.array(seriesPointSchema),
  pending: z.array(approvalViewSchema),
  /** Decided approvals, newest first. */
  history: z.array(approvalViewSchema),
  /** Latest completed or refused calls, newest first. */
  recentCalls: z.array(auditRowSchema),
  /** Tools offered over enabled servers and VS Code's per-request limit (128). */
  toolBudget: z.object({ total: z.number(), limit: z.number() }),
  /** The policy in force and any problem loading it. */
  policy: z.object({ readOnlyMode: z.boolean(), problems: z.array(z.string()) }),
});
export type DashboardState = z.infer<typeof dashboardStateSchema>;

export const auditFilterSchema = z.object({
  server: z.string().optional(),
  tool: z.string().optional(),
  type: z.string().optional(),
  decision: z.string().optional(),
  outcome: z.string().optional(),
  /** ISO time or ms since the epoch */
  from: z.union([z.string(), z.number()]).optional(),
  to: z.union([z.string(), z.number()]).optional(),
  /** The records of one call (a what-if example opened). */
  callId: z.string().max(200).optional(),
});
export type AuditFilter = z.infer<typeof auditFilterSchema>;

/** Requests the UI makes; each carries an id echoed in the response. */
export const uiRequestSchema = z.discriminatedUnion('method', [
  z.object({
    type: z.literal('request'),
    id: z.string().min(1).max(64),
    method: z.literal('approval.decide'),
    params: z.object({ approvalId: z.string(), digest: z.string(), approve: z.boolean(), reason: z.string().max(500).optional() }),
  }),
  z.object({
    type: z.literal('request'),
    id: z.string().min(1).max(64),
    method: z.literal('audit.query'),
    params: z.object({ filter: auditFilterSchema, cursor: z.string().optional(), limit: z.number().int().min(1).max(500).optional() }),
  }),
  z.object({
    type: z.literal('request'),
    id: z.string().min(1).max(64),
    method: z.literal('dashboard.setWindow'),
    params: z.object({ windowMs: z.number().int().min(60_000).max(24 * 3_600_000) }),
  }),
  z.object({
    type: z.literal('request'),
    id: z.string().min(1).max(64),
    method: z.literal('policy.test'),
    /** What-if: replay the recorded calls through a draft policy (docs/whatif.md). */
    params: z.object({
      /** The draft's file name, for messages. */
      name: z.string().min(1).max(200),
      /** The draft's YAML text (the web UI takes request bodies up to 64 KiB). */
      text: z.string().max(48 * 1024),
      /** The layer the draft replaces; default: the operator's (user in VS Code, config headless). */
      layer: z.enum(['user', 'config', 'workspace']).optional(),
      /** How far back to replay. */
      sinceMs: z.number().int().min(60_000).max(90 * 86_400_000),
    }),
  }),
  z.object({
    type: z.literal('request'),
    id: z.string().min(1).max(64),
    method: z.literal('approval.allowTool'),
    /** "Allow this tool from now on…" on a card: only the approval's id; VS Code's host asks in a modal dialog. */
    params: z.object({ approvalId: z.string().min(1).max(200) }),
  }),
  z.object({
    type: z.literal('request'),
    id: z.string().min(1).max(64),
    method: z.literal('undo.preview'),
    /** The inverse of a call and its drift check (docs/undo.md). */
    params: z.object({ callId: z.string().regex(/^[A-Za-z0-9-]{1,100}$/) }),
  }),
  z.object({
    type: z.literal('request'),
    id: z.string().min(1).max(64),
    method: z.literal('undo.submit'),
    /** Submits the previewed undo; it then waits for an approval like any destructive call. */
    params: z.object({ callId: z.string().regex(/^[A-Za-z0-9-]{1,100}$/), digest: z.string().regex(/^[0-9a-f]{64}$/) }),
  }),
]);
export type UiRequest = z.infer<typeof uiRequestSchema>;

/** Everything the UI may send. The UI says `ready` before the host posts state. */
export const uiToHostSchema = z.union([z.object({ type: z.literal('ready'), view: viewSchema }), uiRequestSchema]);
export type UiToHost = z.infer<typeof uiToHostSchema>;

/** Everything the host may send. A response's `result` is `UiResults[method]` of the request with that id. */
export type HostToUi =
  | { type: 'state'; state: DashboardState }
  /** A draft policy the host picked (VS Code's Test Policy command): the view tests it. */
  | { type: 'draft'; name: string; text: string }
  /** VS Code's Approvals view only: the team control plane's section (null: no team URL set). */
  | { type: 'team'; team: TeamSection | null }
  | { type: 'response'; id: string; ok: true; result: UiResults[UiRequest['method']] | TeamResults[TeamRequest['method']] }
  | { type: 'response'; id: string; ok: false; error: string };

/** Results of the requests. */
export interface UiResults {
  'approval.decide': {
    status: ApprovalView['status'];
    /** Why it is still pending ("1 of 2 approvals; …"). */
    note?: string;
    /** Who the decision (or vote) was recorded as: `ui-session (bob@example.com)`, `vscode-ui`… */
    decidedBy?: string;
  };
  'audit.query': { records: AuditRow[]; nextCursor?: string };
  'dashboard.setWindow': { windowMs: number };
  'policy.test': PolicyTestView;
  /** `written`: the rule is in the user's settings; `message` says what was written, or why not. */
  'approval.allowTool': { written: boolean; message: string };
  'undo.preview': UndoPreviewView;
  'undo.submit': { status: 'submitted'; text: string };
}

/** A replayed call, as a what-if report shows it (`src/core/whatif` `WhatIfExample`). */
export interface PolicyTestExample {
  callId: string;
  ts: string;
  instance: string;
  kind: 'tool' | 'resource' | 'prompt';
  server: string;
  tool: string;
  args: string;
  recorded: { decision: 'allow' | 'approve' | 'deny'; rule?: { source: string; index?: number; id?: string } };
  draft?: { decision: 'allow' | 'approve' | 'deny'; rule: { source: string; index?: number; id?: string }; reason: string };
  unknown?: readonly string[];
}

/** The result of `policy.test`: what the draft would have changed in the recorded history. */
export interface PolicyTestView {
  draft: string;
  layer: 'user' | 'config' | 'workspace';
  /** Layers kept beside the draft, and what could not be (several workspace files in force). */
  kept: string;
  source: { kind: 'live' | 'file'; path: string; records: number; skipped: number; verified: boolean };
  report: {
    replayed: number;
    unchanged: number;
    loosened: number;
    tightened: number;
    undecidable: number;
    withoutDecision: number;
    from?: string;
    to?: string;
    groups: ReadonlyArray<{ direction: 'loosened' | 'tightened'; from: string; to: string; label: string; count: number; examples: readonly PolicyTestExample[] }>;
    undecidableExamples: readonly PolicyTestExample[];
  };
  tests: ReadonlyArray<{ index: number; name: string; expected: string; actual?: string; reason: string; ok: boolean }>;
  loosens: boolean;
}

/**
 * VS Code's Approvals view only: the team control plane's pending approvals (mcpControlPlane.team.url),
 * decided through the person's separate approver sign-in, never the MCP API key. The extension's host
 * talks to the service; the page only shows what the host posts and asks it to act.
 */
export type TeamSection =
  /** No approver session for this team: the row "Sign in as approver…" (`message`: why, e.g. the session ended). */
  | { kind: 'signed-out'; host: string; message?: string }
  /** The sign-in runs in the browser. */
  | { kind: 'signing-in'; host: string }
  /** Signed in: the service's pending approvals; `problem` when the last read failed (the list is the last one read). */
  | { kind: 'signed-in'; host: string; signedInAs: string; roles: string[]; pending: ApprovalView[]; problem?: string };

/** Requests of the team section (VS Code's webview only; the web UI at /ui never accepts them). */
export const teamRequestSchema = z.discriminatedUnion('method', [
  z.object({ type: z.literal('request'), id: z.string().min(1).max(64), method: z.literal('team.signIn'), params: z.object({}).strict() }),
  z.object({
    type: z.literal('request'),
    id: z.string().min(1).max(64),
    method: z.literal('team.decide'),
    params: z.object({ approvalId: z.string().min(1).max(200), digest: z.string().min(1).max(128), approve: z.boolean(), reason: z.string().max(500).optional() }),
  }),
]);
export type TeamRequest = z.infer<typeof teamRequestSchema>;

export interface TeamResults {
  /** `signedIn`: the person is signed in now, as `name`. */
  'team.signIn': { signedIn: boolean; name?: string; message?: string };
  /** The service's answer: status, the four-eyes note, and who it recorded as the decider. */
  'team.decide': UiResults['approval.decide'];
}

/** What VS Code's webviews may send: the shared messages, plus the Approvals view's team requests. */
export const webviewToHostSchema = z.union([uiToHostSchema, teamRequestSchema]);
export type WebviewToHost = z.infer<typeof webviewToHostSchema>;
