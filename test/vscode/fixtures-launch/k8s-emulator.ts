// Runs the Kubernetes API emulator (demo seed) as its own process for the real-VS-Code suite:
//   node --import tsx test/vscode/fixtures-launch/k8s-emulator.ts [context]
// Prints one JSON line `{"context","namespace","url","token","ca","kubeconfig"}` on stdout once
// listening (kubeconfig: the YAML text, context current, namespace shop, bearer admin-token), and
// exits when stdin closes, so a harness that dies leaves no emulator behind.
import { EMULATOR_CA, kubeconfigYaml, startEmulator } from '../../fixtures/k8s-emulator/index';

async function main(): Promise<void> {
  const context = process.argv[2] ?? 'emu';
  const namespace = 'shop';
  const emulator = await startEmulator({ seed: 'demo' });
  process.stdout.write(
    `${JSON.stringify({ context, namespace, url: emulator.url, token: 'admin-token', ca: EMULATOR_CA, kubeconfig: kubeconfigYaml([{ name: context, emulator, namespace }]) })}\n`,
  );
  const stop = (): void => {
    void emulator.close().then(() => process.exit(0));
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
