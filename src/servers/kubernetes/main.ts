// The Kubernetes server program (dist/servers/kubernetes.js): MCP over stdio, started by the supervisor.
import { runStdioServer } from '../kit';
import { k8sOptionsFromEnv } from './config';
import { K8S_SERVER_NAME, createKubernetesServer } from './server';

runStdioServer({
  name: K8S_SERVER_NAME,
  create: ({ log, shutdown }) => createKubernetesServer({ log, shutdown, env: process.env, options: k8sOptionsFromEnv(process.env) }),
});
