// `mcpcp consent list | grant ID | revoke ID | hooks`: the headless human gesture for what the
// workspace proposes. Granting and revoking need the approver credential and a typed confirmation
// on a terminal (piped input is refused), as deciding an approval does; the client token never can.
import { createInterface } from 'node:readline/promises';
import { verifyApproverCredential } from '../core/approvals';
import { gitHooksGrant } from '../core/consent/git-hooks';
import { ConsentStore, type ConsentGrant, type Proposal } from '../core/consent/store';
import { ControlPlaneError } from '../core/errors';
import { parseArgs, stringFlag, UsageError } from './args';
import { dataDirFrom, ensureDataDir } from './data-dir';
import { approverCredential } from './oversight-commands';

export const CONSENT_USAGE = `  consent list [--json] [--data-dir DIR]
        What the workspace proposes (servers, devices) and waits for consent, and what was granted.
  consent grant ID [--allow-secret-in-args] | revoke ID [--data-dir DIR]
        Consent to a proposal (binds the secrets it names to exactly that spec or destination),
        or withdraw a grant. Needs the approver credential and a confirmation on a terminal.
  consent hooks --repo PATH --hooks pre-commit[,pre-push…] [--data-dir DIR]
        Allow the git server to run these hooks of this repository (approver credential, terminal).
  policy reload [--data-dir DIR]
        Drop workspace policy rules kept from removed or loosened files (approver credential, terminal).
`;

/** `mcpcp policy reload`: drops workspace rules kept from removed or loosened files (a human gesture). */
export async function policyReloadCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir'], []);
  if (args.positionals[0] !== 'reload') throw new UsageError('mcpcp policy reload');
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  process.stdout.write('Reloading drops the workspace rules kept from removed or changed .mcpcp/policy.yaml files (see `mcpcp status`): the files as they are now become the whole workspace policy.\n');
  await humanGesture(dataDir, 'Reload the workspace policy?', 'reload');
  await new ConsentStore(dataDir).requestPolicyReload();
  process.stdout.write('reload requested; running instances apply it now\n');
  return 0;
}

export async function consentCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['data-dir', 'repo', 'hooks'], ['json', 'allow-secret-in-args']);
  const [action, id] = args.positionals;
  const dataDir = dataDirFrom(stringFlag(args, 'data-dir'), undefined);
  const store = new ConsentStore(dataDir);
  switch (action) {
    case 'list': {
      const [pending, grants] = [await store.pending(), await store.grants()];
      if (args.flags.has('json')) {
        process.stdout.write(`${JSON.stringify({ waiting: pending, granted: grants })}\n`);
        return 0;
      }
      if (pending.length === 0) process.stdout.write('nothing waits for consent\n');
      for (const p of pending) process.stdout.write(`${describeProposal(p)}\n  grant: mcpcp consent grant ${p.id}${p.argSecrets.length ? ' --allow-secret-in-args' : ''}\n\n`);
      if (grants.length > 0) process.stdout.write('granted:\n');
      for (const g of grants) process.stdout.write(`  ${describeGrant(g)}\n`);
      return 0;
    }
    case 'grant': {
      if (!id) throw new UsageError('mcpcp consent grant ID (see `mcpcp consent list`)');
      const matches = (await store.pending()).filter((p) => p.id.startsWith(id));
      if (matches.length === 0) throw new ControlPlaneError('PROPOSAL_NOT_FOUND', `nothing waits for consent with id ${id}; see \`mcpcp consent list\` (a changed proposal has a new id)`);
      if (matches.length > 1) throw new ControlPlaneError('CONSENT_AMBIGUOUS', `"${id}" matches ${matches.length} proposals; give more of the id`);
      const p = matches[0]!;
      process.stdout.write(`${describeProposal(p)}\n`);
      if (p.argSecrets.length > 0 && !args.flags.has('allow-secret-in-args')) {
        throw new ControlPlaneError('ARG_SECRET_OPT_IN', `"${p.name}" puts ${p.argSecrets.join(', ')} in its arguments, which every local user can read in the process list; move it to \`env\` if the server reads it there, or grant with --allow-secret-in-args`);
      }
      await humanGesture(dataDir, `Consent to ${p.kind} "${p.name}"${p.secrets.length ? ` and bind ${p.secrets.join(', ')} to it` : ''}?`, 'grant');
      const now = new Date().toISOString();
      const grant: ConsentGrant =
        p.kind === 'server'
          ? { kind: 'server', id: p.id, source: p.source, name: p.name, hash: p.hash, secrets: p.secrets, argSecrets: p.argSecrets.length > 0, summary: p.summary, grantedAt: now }
          : { kind: 'device', id: p.id, source: p.source, name: p.name, hash: p.hash, destination: p.destination ?? '', secrets: p.secrets, hostKeys: p.hostKeys ?? {}, summary: p.summary, grantedAt: now };
      await ensureDataDir(dataDir);
      await store.grant(grant);
      process.stdout.write(`granted ${p.id}: ${p.kind} "${p.name}"; the running instance applies it now\n`);
      return 0;
    }
    case 'revoke': {
      if (!id) throw new UsageError('mcpcp consent revoke ID (see `mcpcp consent list`)');
      const found = (await store.grants()).filter((g) => g.id.startsWith(id));
      if (found.length !== 1) throw new ControlPlaneError('GRANT_NOT_FOUND', found.length === 0 ? `no grant with id ${id}` : `"${id}" matches ${found.length} grants; give more of the id`);
      process.stdout.write(`${describeGrant(found[0]!)}\n`);
      await humanGesture(dataDir, 'Withdraw this consent?', 'revoke');
      await store.revoke(found[0]!.id);
      process.stdout.write(`revoked ${found[0]!.id}\n`);
      return 0;
    }
    case 'hooks': {
      const repo = stringFlag(args, 'repo');
      const hooks = stringFlag(args, 'hooks');
      if (!repo || !hooks) throw new UsageError('mcpcp consent hooks --repo PATH --hooks pre-commit[,pre-push]');
      const grant = gitHooksGrant(repo, hooks.split(',').map((h) => h.trim()).filter(Boolean));
      process.stdout.write(`Git hooks for repository ${grant.repo}: ${grant.hooks.join(', ')}\nThe git server will run these hooks (programs from the repository) when its tools commit, merge or push there.\n`);
      await humanGesture(dataDir, 'Allow these hooks to run?', 'grant');
      await ensureDataDir(dataDir);
      await new ConsentStore(dataDir).grant(grant);
      process.stdout.write(`granted ${grant.id}\n`);
      return 0;
    }
    default:
      throw new UsageError('mcpcp consent list | grant ID | revoke ID | hooks --repo PATH --hooks H');
  }
}

/**
 * The human gesture behind every consent: a terminal (piped input refused, so no script or agent
 * answers), the approver credential (checked against the data directory), and the typed word.
 */
async function humanGesture(dataDir: string, question: string, word: string): Promise<void> {
  if (!process.stdin.isTTY) throw new ControlPlaneError('CONFIRMATION_NEEDED', `${word} needs an interactive confirmation on a terminal (piped input is refused)`);
  const credential = await approverCredential();
  if (!(await verifyApproverCredential(dataDir, credential))) throw new ControlPlaneError('CREDENTIAL_INVALID', 'that is not the approver credential of this data directory');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = (await rl.question(`${question} Type "${word}" to confirm: `)).trim();
  rl.close();
  if (answer !== word) throw new ControlPlaneError('NOT_CONFIRMED', 'not confirmed; nothing changed');
}

function describeProposal(p: Proposal): string {
  return [`${p.id}  ${p.kind} "${p.name}" waits for consent`, ...p.summary.map((l) => `  ${l}`)].join('\n');
}

function describeGrant(g: ConsentGrant): string {
  if (g.kind === 'git-hooks') return `${g.id}  git hooks ${g.hooks.join(', ')} in ${g.repo} (granted ${g.grantedAt})`;
  return `${g.id}  ${g.kind} "${g.name}" from ${g.source}${g.kind === 'device' ? ` → ${g.destination}` : ''}${g.secrets.length ? `; secrets ${g.secrets.join(', ')}` : ''} (granted ${g.grantedAt})`;
}
