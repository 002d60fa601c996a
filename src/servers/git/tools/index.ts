import type { ToolDefinition } from '../../kit';
import type { GitServices } from '../define';
import { add } from './add';
import { backupList } from './backup-list';
import { backupRestore } from './backup-restore';
import { backupRewind } from './backup-rewind';
import { blame } from './blame';
import { branchCreate } from './branch-create';
import { branchDelete } from './branch-delete';
import { branchList } from './branch-list';
import { clean } from './clean';
import { commit } from './commit';
import { diff } from './diff';
import { fetch } from './fetch';
import { log } from './log';
import { merge } from './merge';
import { pull } from './pull';
import { push } from './push';
import { reflog } from './reflog';
import { remoteList } from './remote-list';
import { repoList } from './repo-list';
import { repoState } from './repo-state';
import { repoStatus } from './repo-status';
import { reset } from './reset';
import { restore } from './restore';
import { show } from './show';
import { stashList } from './stash-list';
import { stashPop } from './stash-pop';
import { stashPush } from './stash-push';
import { switchBranch } from './switch';
import { tagCreate } from './tag-create';
import { tagList } from './tag-list';
import { unstage } from './unstage';

/** Every git tool, in the order tools/list shows them: reads first, then writes, then undo. */
export const gitTools: readonly ToolDefinition<GitServices>[] = [
  repoList,
  repoStatus,
  diff,
  log,
  show,
  blame,
  branchList,
  tagList,
  remoteList,
  stashList,
  reflog,
  repoState,
  add,
  unstage,
  restore,
  commit,
  branchCreate,
  branchDelete,
  switchBranch,
  reset,
  stashPush,
  stashPop,
  fetch,
  pull,
  push,
  merge,
  tagCreate,
  clean,
  backupList,
  backupRestore,
  backupRewind,
];
