import { Writable } from 'node:stream';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { byteLength, cutToBytes, invalidArgument } from '../../kit';
import { defineK8sTool, DESTRUCTIVE } from '../define';
import { contextField, namespaceField } from '../fields';
import { list, nameOf, str } from '../objects';
import { findPod, pickContainer } from '../pods';
import { execEffect } from '../effects';

/** Said before approval (dry run) and recorded with the call: why no undo exists. */
const EXEC_IRREVERSIBLE = 'a command run in a container can change anything the container reaches, and the server cannot know what it changed';

export const podsExec = defineK8sTool({
  name: 'pods_exec',
  title: 'Pods: Exec',
  description:
    'Runs a command in a container (like `kubectl exec`, over WebSocket) and returns its exit code, stdout and stderr, cut at maxBytes. The command is an argument array, not a shell line: use ["sh", "-c", "..."] for shell syntax. It can change anything the container can, so it is treated as destructive: dryRun: true only checks the pod and container and says what would run.',
  input: z.object({
    context: contextField(),
    namespace: namespaceField(),
    pod: z.string().min(1).describe('Pod name, or deployment/NAME (also statefulset/, daemonset/, service/) to pick a ready pod of it.'),
    container: z.string().optional().describe('Container name; default the pod\'s default container or its first.'),
    command: z.array(z.string()).min(1).describe('Program and arguments, e.g. ["ls", "-l", "/data"] or ["sh", "-c", "env | sort"].'),
    stdin: z.string().optional().describe('Text sent to the command\'s standard input (then closed).'),
    timeoutSeconds: z.number().int().min(1).max(600).default(30).describe('Stop waiting after this long (the process may keep running in the container).'),
    maxBytes: z.number().int().min(100).max(1_000_000).optional().describe('Most bytes of stdout and stderr together to keep (default: the output budget); the connection is closed beyond.'),
  }),
  annotations: DESTRUCTIVE,
  outputKind: 'command',
  preview: true,
  effect: (input, ctx) => execEffect(ctx, input),
  async handler(input, ctx) {
    const { clusters } = ctx.services;
    const scope = clusters.scope(input.context);
    const namespace = clusters.namespace(scope, input.namespace);
    const { pod, note } = await findPod(scope, namespace, input.pod, ctx.signal);
    const { container } = pickContainer(pod, input.container);
    const running = list(pod, 'status.containerStatuses').find((c) => str(c, 'name') === container);
    if (!running || !running['state'] || str(running, 'state.running.startedAt') === undefined) {
      const waiting = str(running, 'state.waiting.reason') ?? str(pod, 'status.phase') ?? 'not running';
      throw invalidArgument('pod', `container ${container} of pod ${nameOf(pod)} is not running (${waiting}).`, 'Check it with resource_describe; logs of a crashed container come from pods_logs with previous: true.');
    }
    const where = `container ${container} of pod ${namespace}/${nameOf(pod)}${note ? ` (${note})` : ''}, context ${scope.info.name}`;
    const shown = JSON.stringify(input.command);
    if (ctx.dryRun) return { text: `Dry run: would run ${shown} in ${where}${input.stdin !== undefined ? ` with ${byteLength(input.stdin)} bytes on stdin` : ''}. Nothing was run.`, irreversible: [EXEC_IRREVERSIBLE] };
    const cap = input.maxBytes ?? ctx.budgetBytes - 500;
    const out = collector(cap);
    const err = collector(cap);
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    ctx.signal.addEventListener('abort', stop, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, input.timeoutSeconds * 1000);
    const overflow = setInterval(() => {
      if (out.bytes + err.bytes > cap) stop();
    }, 50);
    let result: { exitCode: number; closed: string };
    try {
      result = await scope.client.exec({
        namespace,
        pod: nameOf(pod),
        container,
        command: input.command,
        stdout: out.stream,
        stderr: err.stream,
        stdin: input.stdin === undefined ? null : Readable.from([Buffer.from(input.stdin, 'utf8')]),
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
      clearInterval(overflow);
      ctx.signal.removeEventListener('abort', stop);
    }
    const over = out.bytes + err.bytes > cap;
    const status = timedOut
      ? `Timed out after ${input.timeoutSeconds}s (the process may still run in the container)`
      : over
        ? `Output passed maxBytes (${cap}); the connection was closed`
        : result.closed === 'disconnected'
          ? 'The connection closed before an exit status arrived'
          : `Exit code ${result.exitCode}`;
    const parts = [`${status} — ${shown} in ${where}.`];
    const text = (c: ReturnType<typeof collector>, label: string): void => {
      if (c.bytes === 0) return;
      const body = cutToBytes(c.text(), Math.max(0, cap - (label === 'stderr' ? out.kept : 0)));
      parts.push(`--- ${label}${c.bytes > byteLength(body) ? ` (first ${byteLength(body)} of ${c.bytes} bytes)` : ''} ---\n${body.replace(/\n$/, '')}`);
    };
    text(out, 'stdout');
    text(err, 'stderr');
    if (out.bytes === 0 && err.bytes === 0) parts.push('(no output)');
    return { text: parts.join('\n'), undo: { undoable: false, reason: EXEC_IRREVERSIBLE } };
  },
});

/** A writable that keeps the first `cap` bytes and counts the rest. */
function collector(cap: number): { stream: Writable; text(): string; bytes: number; kept: number } {
  const chunks: Buffer[] = [];
  const state = {
    bytes: 0,
    kept: 0,
    stream: new Writable({
      write(chunk: Buffer, _enc, cb) {
        state.bytes += chunk.length;
        if (state.kept < cap) {
          const piece = chunk.subarray(0, cap - state.kept);
          chunks.push(piece);
          state.kept += piece.length;
        }
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
  return state;
}
