import type { ToolDefinition } from '../../kit';
import type { K8sServices } from '../define';
import { apiResources } from './api-resources';
import { contextsList } from './contexts-list';
import { eventsList } from './events-list';
import { namespacesList } from './namespaces-list';
import { nodeCordon, nodeDrain, nodeUncordon } from './nodes';
import { podsExec } from './pods-exec';
import { podsLogs } from './pods-logs';
import { portForwardList, portForwardStart, portForwardStop } from './port-forward';
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
import { topNodes, topPods } from './top';

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
  topNodes,
  topPods,
  rolloutStatus,
  portForwardList,
  resourceApply,
  resourcePatch,
  resourceDelete,
  scale,
  rolloutRestart,
  rolloutUndo,
  nodeCordon,
  nodeUncordon,
  nodeDrain,
  podsExec,
  portForwardStart,
  portForwardStop,
];
