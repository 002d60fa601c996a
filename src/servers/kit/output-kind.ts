/**
 * How a tool says its output is a log or a command's output (`pods_logs`, `pods_exec`,
 * `device_command`): the gateway then masks credential *patterns* (`PASSWORD=…`, connection
 * strings, private keys) in it before it reaches the agent, with a note. Not for file content the
 * agent edits from (a diff, a file), which must stay exact.
 */
export const OUTPUT_KIND_META_KEY = 'mcpcp/output';

export type OutputKind = 'log' | 'command';

/** The `_meta` entry for a tool's declared output kind (none when undeclared). */
export function outputKindMeta(kind: OutputKind | undefined): Record<string, string> {
  return kind === undefined ? {} : { [OUTPUT_KIND_META_KEY]: kind };
}
