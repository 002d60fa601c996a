import type { ToolDefinition } from '../../kit';
import type { NetworkServices } from '../define';
import { configApply } from './config-apply';
import { configDiff } from './config-diff';
import { configGet } from './config-get';
import { configRollback } from './config-rollback';
import { configSave } from './config-save';
import { deviceCommand } from './device-command';
import { deviceCommandMany } from './device-command-many';
import { deviceFacts } from './device-facts';
import { devicesList } from './devices-list';

/** Every network tool, in the order tools/list shows them: reads first, then changes. */
export const networkTools: readonly ToolDefinition<NetworkServices>[] = [
  devicesList,
  deviceFacts,
  deviceCommand,
  deviceCommandMany,
  configGet,
  configDiff,
  configApply,
  configRollback,
  configSave,
];
