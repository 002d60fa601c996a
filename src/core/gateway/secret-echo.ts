import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Redactor } from '../redact';
import { EchoFilter } from '../redact/echo';
import type { Supervisor } from '../supervisor/supervisor';

/** The `_meta` key by which a tool says its output is a log or a command's output (`'log'`, `'command'`). */
export const OUTPUT_META = 'mcpcp/output';

/** The note added to a log or command-output result in which credentials were masked. */
export const MASKED_NOTE = '[mcpcp] Credential-looking values in this output (passwords, connection strings, keys, tokens) were masked as [REDACTED] before it reached you; the original output is unchanged where it came from.';

/**
 * Server → client secret hygiene, on every path (results, errors, progress, log notifications,
 * sampling/elicitation requests, lists, resource contents, prompts, completions, instructions):
 * the secret values a server was handed never go back to a client, nor their common encodings
 * (`EchoFilter`). Output of tools that declare it a log or a command's output
 * (`_meta["mcpcp/output"]`) is also cleared of credential *patterns* (`PASSWORD=…`, connection
 * strings, private keys), with a note; other output (file content the agent edits from) is not.
 */
export class EchoGuard {
  private readonly filters = new Map<string, { key: string; filter: EchoFilter }>();
  private readonly patterns = new Redactor();

  constructor(private readonly supervisor: () => Supervisor | undefined) {}

  /** `value` with the server's secrets masked (the same object when nothing was). */
  outbound<T>(server: string, value: T): T {
    const filter = this.filterFor(server);
    return filter ? filter.filter(value).value : value;
  }

  /** A string with the server's secrets masked. */
  text(server: string, text: string): string {
    const filter = this.filterFor(server);
    return filter ? filter.filterString(text).text : text;
  }

  /** A tool result on its way to the client: echoes masked; credential patterns too for log/command output. */
  toolResult(server: string, tool: Tool | undefined, result: CallToolResult): CallToolResult {
    const filtered = this.outbound(server, result);
    const kind = tool?._meta?.[OUTPUT_META];
    if (kind !== 'log' && kind !== 'command') return filtered;
    let masked = false;
    const content = (filtered.content ?? []).map((item) => {
      if (item.type !== 'text') return item;
      const text = this.patterns.redactString(item.text);
      if (text !== item.text) masked = true;
      return text === item.text ? item : { ...item, text };
    });
    let structured = filtered.structuredContent;
    if (structured !== undefined) {
      const redacted = this.patterns.redact(structured) as Record<string, unknown>;
      if (JSON.stringify(redacted) !== JSON.stringify(structured)) {
        masked = true;
        structured = redacted;
      }
    }
    if (!masked) return filtered;
    return { ...filtered, content: [...content, { type: 'text', text: MASKED_NOTE }], ...(structured !== undefined ? { structuredContent: structured } : {}) };
  }

  private filterFor(server: string): EchoFilter | undefined {
    const values = this.supervisor()?.get(server)?.spec.secretValues?.() ?? [];
    if (values.length === 0) return undefined;
    const key = [...values].sort().join('\u0000');
    const cached = this.filters.get(server);
    if (cached?.key === key) return cached.filter.empty ? undefined : cached.filter;
    const filter = new EchoFilter(values);
    this.filters.set(server, { key, filter });
    return filter.empty ? undefined : filter;
  }
}
