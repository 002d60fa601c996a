// `mcpcp undo`: the CLI side of undo (docs/undo.md). The running instance computes the preview
// (with its drift check) and submits the inverse through its own pipeline, where policy, approval
// and audit apply; this command shows the preview and waits for the outcome.
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ControlPlaneError, errorMessage } from '../core/errors';
import type { UndoPreview, UndoRunResult, UndoSessionPlan, UndoSessionResult } from '../core/undo/service';
import { parseArgs, stringFlag, UsageError } from './args';
import { dataDirFrom } from './data-dir';
import { approverCredential, pickInstance } from './oversight-commands';
import type { InstanceRecord } from './data-dir';
import { instanceTlsOptions } from './instance-http';

export const UNDO_USAGE = `  undo CALL_ID [--preview] [--yes] [--json] [--pid PID] [--data-dir DIR]
        Put back what a destructive call changed: shows the inverse call and a drift check (the
        three-way difference when the state changed since), then submits the inverse, which waits
        for an approval like any destructive call and is audited with undoOf. --preview only shows.
  undo --session SESSION_ID [--preview] [--yes] [--json] [--pid PID] [--data-dir DIR]
        Undo every destructive call of one client session, newest first, under one approval of
        the whole plan; stops at the first failure and says what was undone.
`;

/** `mcpcp undo CALL_ID` / `mcpcp undo --session ID`. Exit 0 when undone (or previewed), 1 when not. */
export async function undoCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir', 'pid', 'session'], ['preview', 'yes', 'json']);
  const session = stringFlag(args, 'session');
  const [callId, extra] = args.positionals;
  if (extra !== undefined || (session === undefined) === (callId === undefined)) throw new UsageError(`usage:\n${UNDO_USAGE}`);
  const id = (session ?? callId)!;
  if (!/^[A-Za-z0-9-]{1,100}$/.test(id)) throw new UsageError(`"${id}" is not a call or session id (as in \`mcpcp audit query\`)`);
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  const instance = await pickInstance(dataDir, stringFlag(args, 'pid'));
  const credential = await approverCredential();
  const json = args.flags.has('json');
  const scope = session !== undefined ? 'sessions' : 'calls';
  const preview = await undoRequest<UndoPreview | UndoSessionPlan>(instance, credential, `${scope}/${id}/preview`);
  if (!json) process.stdout.write(`${preview.text}\n`);
  if (args.flags.has('preview')) {
    if (json) process.stdout.write(`${JSON.stringify(preview, null, 2)}\n`);
    return 0;
  }
  if (!args.flags.has('yes') && !(await confirmUndo())) return 1;
  if (!json) process.stderr.write(`Submitted: the undo now waits for a human's approval (VS Code, /ui or \`mcpcp approvals approve\`)...\n`);
  const result = await undoRequest<UndoRunResult | UndoSessionResult>(instance, credential, `${scope}/${id}/run?digest=${preview.digest}`);
  const ok = 'ok' in result ? result.ok : result.approved && result.failed === undefined;
  process.stdout.write(json ? `${JSON.stringify({ preview, result }, null, 2)}\n` : `${ok ? 'Undone' : 'Not undone'}: ${result.text}\n`);
  return ok ? 0 : 1;
}

async function confirmUndo(): Promise<boolean> {
  if (!process.stdin.isTTY) throw new ControlPlaneError('CONFIRMATION_NEEDED', 'submitting an undo needs a confirmation on a terminal, or --yes (the undo still waits for an approval)');
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = (await rl.question('Submit this undo for approval? Type "undo" to confirm: ')).trim();
  rl.close();
  if (answer !== 'undo') process.stderr.write('not confirmed; nothing submitted\n');
  return answer === 'undo';
}

async function undoRequest<T>(instance: InstanceRecord, credential: string, path: string): Promise<T> {
  // node:http rather than fetch: a run waits for a human, longer than fetch's 300 s header time-out
  // allows; the instance ends it itself (approval expiry, call time-out).
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    // An instance serving HTTPS itself is reached over HTTPS, checked against its own certificate.
    const tls = instanceTlsOptions(instance);
    const send = tls ? httpsRequest : request;
    const req = send({ host: '127.0.0.1', port: instance.port, path: `/control/undo/${path}`, method: 'POST', headers: { 'x-approver-credential': credential }, ...(tls ?? {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(new ControlPlaneError('NO_INSTANCE', `instance pid ${instance.pid} is not answering on port ${instance.port}: ${errorMessage(err)}`)));
    req.end();
  });
  let body: T & { error?: string; code?: string };
  try {
    body = JSON.parse(answer.text) as T & { error?: string; code?: string };
  } catch {
    throw new ControlPlaneError('UNDO_FAILED', `HTTP ${answer.status} from instance pid ${instance.pid}`);
  }
  if (answer.status < 200 || answer.status >= 300) throw new ControlPlaneError(body.code ?? 'UNDO_FAILED', body.error ?? `HTTP ${answer.status}`);
  return body;
}
