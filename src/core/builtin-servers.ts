/** A server shipped with the control plane: its own esbuild entry under dist/servers/. */
export interface BuiltinServerDefinition {
  name: string;
  /** File name in the servers folder (dist/servers). */
  entry: string;
  description: string;
  /** Host variables passed through besides the defaults. */
  passEnv: readonly string[];
  /** Whether it runs when the configuration does not say. */
  enabledByDefault(host: { env: NodeJS.ProcessEnv }): boolean;
}

export const BUILTIN_SERVERS: readonly BuiltinServerDefinition[] = [
  {
    name: 'git',
    entry: 'git.js',
    description: 'Git repositories in the workspace (simple-git), confined to the roots.',
    passEnv: ['SSH_AUTH_SOCK', 'GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL'],
    enabledByDefault: () => true,
  },
];

export function findBuiltin(name: string): BuiltinServerDefinition | undefined {
  return BUILTIN_SERVERS.find((b) => b.name === name);
}
