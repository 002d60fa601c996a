import type { ToolDefinition } from '../../kit';
import type { K8sServices } from '../define';
import { apiResources } from './api-resources';
import { contextsList } from './contexts-list';
import { eventsList } from './events-list';
import { namespacesList } from './namespaces-list';
import { podsLogs } from './pods-logs';
import { resourceApply } from './resource-apply';
import { resourceDelete } from './resource-delete';
import { resourceDescribe } from './resource-describe';
import { resourceGet } from './resource-get';
import { resourcePatch } from './resource-patch';
import { resourcesList } from './resources-list';
import { rolloutRestart } from './rollout-restart';
import { rolloutStatus } from './rollout-status';
import { rolloutUndo } from './rollout-undo';
import { scale } from './scale';

/** Every Kubernetes tool, in the order tools/list shows them: discovery and reads, then writes. */
export const k8sTools: readonly ToolDefinition<K8sServices>[] = [
  contextsList,
  namespacesList,
  apiResources,
  resourcesList,
  resourceGet,
  resourceDescribe,
  eventsList,
  podsLogs,
  rolloutStatus,
  resourceApply,
  resourcePatch,
  resourceDelete,
  scale,
  rolloutRestart,
  rolloutUndo,
];
