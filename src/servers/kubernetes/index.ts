export { IN_CLUSTER_CONTEXT, K8sErrorCode, clusterAvailable, kubeconfigFiles } from './client';
export { FIELD_MANAGER, k8sOptionsFromEnv } from './config';
export type { K8sServerOptions } from './config';
export type { Target } from './clusters';
export { K8S_SERVER_NAME, K8S_SERVER_VERSION, createKubernetesServer } from './server';
export type { K8sServerConfig } from './server';
export { TARGETS_URI } from './resources';
export { k8sTools } from './tools';
