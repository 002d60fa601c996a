// Generated from test/snapshots/*.json (the built-in servers' tool catalogues); a unit test fails on
// drift. It lets policy `tests:` judge a built-in tool by its real annotations and refuse a tool
// that does not exist.
import type { ToolAnnotations } from './engine';

/** Each built-in server's tools and their annotations, as the servers declare them. */
export const BUILTIN_TOOL_ANNOTATIONS: Readonly<Record<string, Readonly<Record<string, ToolAnnotations>>>> = {
  git: {
    add: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    backup_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    backup_restore: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    backup_rewind: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    blame: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    branch_create: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    branch_delete: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    branch_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    clean: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    commit: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    diff: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    fetch: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    log: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    merge: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    pull: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    push: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    reflog: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    remote_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    repo_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    repo_state: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    repo_status: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    reset: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    restore: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    show: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    stash_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    stash_pop: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    stash_push: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    switch: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    tag_create: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    tag_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    unstage: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  },
  kubernetes: {
    api_resources: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    contexts_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    events_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    namespaces_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    node_cordon: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    node_drain: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    node_uncordon: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    pods_exec: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    pods_logs: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    port_forward_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    port_forward_start: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    port_forward_stop: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    resource_apply: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    resource_delete: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    resource_describe: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    resource_get: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    resource_patch: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    resources_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    rollout_restart: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    rollout_status: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    rollout_undo: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    scale: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    top_nodes: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    top_pods: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  },
  network: {
    config_apply: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    config_diff: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    config_get: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    config_rollback: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    config_save: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
    device_command: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    device_command_many: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    device_facts: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    devices_list: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  },
};

/**
 * The built-in tools that declare their effect (`_meta["mcpcp/effect"]: true`, see
 * src/servers/kit/effect.ts); a unit test checks this list against the servers. Policy rules about
 * what these tools change should match `effect` fields: their arguments have other spellings
 * (`push {}` pushes the current branch).
 */
export const BUILTIN_EFFECT_TOOLS: Readonly<Record<string, readonly string[]>> = {
  git: ['push'],
  kubernetes: [
    'node_cordon', 'node_drain', 'node_uncordon', 'pods_exec', 'pods_logs', 'resource_apply', 'resource_delete', 'resource_describe', 'resource_get', 'resource_patch',
    'resources_list', 'rollout_restart', 'rollout_undo', 'scale',
  ],
  network: ['config_apply', 'config_rollback', 'config_save'],
};
