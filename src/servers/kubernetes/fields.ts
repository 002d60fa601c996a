import { z } from 'zod';

/** Every tool's `context`: a kubeconfig context, per call. */
export function contextField() {
  return z
    .string()
    .min(1)
    .optional()
    .describe('Kubeconfig context to run against (see contexts_list); default: the current context. The kubeconfig itself is never changed.');
}

export function namespaceField(what = 'Namespace') {
  return z.string().min(1).optional().describe(`${what}; default: the context's namespace (usually "default"). Ignored for cluster-scoped types.`);
}

export function resourceField() {
  return z
    .string()
    .min(1)
    .describe('Resource type as kubectl accepts it: plural, singular, kind or short name (pods, po, deploy, svc), with a group (deployments.apps, widgets.example.com) or group/version/kind (apps/v1/Deployment).');
}

export function nameField(what = 'Object name') {
  return z.string().min(1).describe(what);
}

export function revealField() {
  return z
    .boolean()
    .default(false)
    .describe('Show Secret data and the last-applied-configuration annotation instead of [REDACTED]. Only when the values themselves are needed: it goes to a human for approval.');
}

export function outputField() {
  return z.enum(['yaml', 'json']).default('yaml').describe('yaml (default) or json. managedFields are always left out.');
}
