import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { errorMessage } from '../../core/errors';
import { startServerTracer, type ServerTracer } from '../../core/telemetry';
import { createLogger, parseLogLevel, type Logger } from './log';

export interface StdioServerOptions {
  /** Log prefix, e.g. "mcpcp-git". */
  readonly name: string;
  /** Builds the server; `shutdown` is aborted when the process is asked to stop. */
  readonly create: (env: { readonly log: Logger; readonly shutdown: AbortSignal }) => McpServer | Promise<McpServer>;
}

/** How long a clean shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 2_000;

/**
 * Runs a server on stdin/stdout until the supervisor stops it.
 *
 * Guarantees: stdout carries MCP messages only (console.log/info/debug are sent to stderr, where
 * all logs go; level from `MCPCP_LOG_LEVEL`); the process exits with code 0 promptly when stdin
 * ends (how the supervisor asks a child to stop) or on SIGTERM/SIGINT: the shutdown signal is
 * aborted first (running handlers stop their child processes), then the server is closed, and an
 * unref'd timer forces the exit after 2 s. A startup failure or an uncaught exception exits 1.
 */
export function runStdioServer(options: StdioServerOptions): void {
  const log = createLogger(options.name, parseLogLevel(process.env['MCPCP_LOG_LEVEL']));
  // Anything a dependency prints must not corrupt the protocol stream.
  console.log = console.info = console.debug = (...args: unknown[]) => log.info(args.map(String).join(' '));

  const controller = new AbortController();
  let server: McpServer | undefined;
  let tracer: ServerTracer | undefined;
  let stopping = false;
  const stop = (reason: string, code = 0): void => {
    if (stopping) return;
    stopping = true;
    log.info(`stopping: ${reason}`);
    controller.abort(new Error(reason));
    setTimeout(() => process.exit(code), SHUTDOWN_GRACE_MS).unref();
    void (server?.close() ?? Promise.resolve())
      .catch((err: unknown) => log.warn(`close failed: ${errorMessage(err)}`))
      // Spans still batched go out before the exit (within the grace period).
      .then(() => tracer?.shutdown())
      .catch((err: unknown) => log.warn(`trace export at exit failed: ${errorMessage(err)}`))
      .finally(() => process.exit(code));
  };

  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('close', () => stop('stdin closed'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (err) => {
    log.error(`uncaught exception: ${err.stack ?? err.message}`);
    stop('uncaught exception', 1);
  });
  process.on('unhandledRejection', (err) => log.error(`unhandled rejection: ${errorMessage(err)}`));

  void (async () => {
    server = await options.create({ log, shutdown: controller.signal });
    // Only when the control plane handed over an OTLP endpoint is OpenTelemetry loaded at all.
    tracer = await startServerTracer(process.env, options.name);
    const transport = new StdioServerTransport();
    await server.connect(transport);
    tracer?.instrument(transport);
    log.info('ready on stdio');
  })().catch((err: unknown) => {
    log.error(`startup failed: ${err instanceof Error ? (err.stack ?? err.message) : errorMessage(err)}`);
    stop('startup failed', 1);
  });
}
