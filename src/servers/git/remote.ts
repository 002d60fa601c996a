import { invalidArgument, type ToolContext } from '../kit';
import type { Repository } from './repo';

const SAFE_REMOTE = /^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** The remote a tool acts on: the given one (checked to exist), else the branch's upstream remote, else origin, else the only remote. */
export async function chooseRemote(repo: Repository, given: string | undefined, branch: string | undefined): Promise<string> {
  if (given !== undefined) {
    await repo.requireRemote(given, 'remote');
    return given;
  }
  // Names read back from the repository's config: only those a model could also have given.
  const remotes = (await repo.read(['remote'])).split('\n').filter((r) => SAFE_REMOTE.test(r));
  if (branch !== undefined) {
    const upstream = await repo.config(`branch.${branch}.remote`);
    if (upstream !== undefined && remotes.includes(upstream)) return upstream;
  }
  if (remotes.includes('origin')) return 'origin';
  if (remotes.length === 1 && remotes[0] !== undefined) return remotes[0];
  if (remotes.length === 0) throw invalidArgument('remote', 'this repository has no remote.', 'The user must add one (git remote add); this server does not change configuration.');
  throw invalidArgument('remote', `several remotes exist and none is the default: ${remotes.join(', ')}.`, 'Pass "remote".');
}

/** Remote-tracking refs of `remote` as name → commit. */
export async function trackingRefs(repo: Repository, remote: string): Promise<Map<string, string>> {
  const out = await repo.read(['for-each-ref', '--format=%(refname)%1f%(objectname)', `refs/remotes/${remote}/`]);
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [ref, sha] = line.split('\x1f');
    if (ref !== undefined && sha !== undefined && !ref.endsWith('/HEAD')) refs.set(ref.slice('refs/remotes/'.length), sha);
  }
  return refs;
}

/** A progress callback for git's --progress output that reports through MCP progress notifications. */
export function progressReporter(ctx: ToolContext<unknown>, what: string): (e: { stage: string; percent: number }) => void {
  let last = -1;
  return (e) => {
    if (e.percent === last) return;
    last = e.percent;
    void ctx.progress(e.percent, 100, `${what}: ${e.stage} ${e.percent}%`);
  };
}
