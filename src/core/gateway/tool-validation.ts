import { ErrorCode, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaValidator } from '@modelcontextprotocol/sdk/validation';
import { protocolError } from './protocol-error';

/**
 * Only valid calls reach policy and a human: a `tools/call` naming a tool the server does not
 * list, or with arguments its `inputSchema` (as the server listed it) rejects, is refused with
 * JSON-RPC -32602 naming the problem. Built-in and third-party servers alike.
 */
export class ToolCallValidator {
  private readonly ajv = new AjvJsonSchemaValidator();
  /** Compiled validators per listed tool object (a new tool list brings new objects). */
  private readonly compiled = new WeakMap<Tool, JsonSchemaValidator<unknown> | null>();

  constructor(private readonly log: (message: string) => void) {}

  /**
   * Throws a JSON-RPC error -32602 when `name` is not among `tools` or `args` do not match its schema.
   * `tools` undefined (the server's list is not known yet) checks nothing.
   */
  check(server: string, tools: readonly Tool[] | undefined, name: string, args: unknown): void {
    if (!tools) return;
    const tool = tools.find((t) => t.name === name);
    if (!tool) {
      const known = tools.map((t) => t.name);
      const shown = known.length > 20 ? `${known.slice(0, 20).join(', ')}, … (${known.length} in all; see tools/list)` : known.join(', ') || 'none';
      throw protocolError(ErrorCode.InvalidParams, `Unknown tool "${clip(name)}" on server "${server}"; its tools are: ${shown}`);
    }
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      throw protocolError(ErrorCode.InvalidParams, `Invalid arguments for tool "${name}" on server "${server}": arguments must be an object`);
    }
    const validate = this.validatorFor(server, tool);
    if (!validate) return;
    const result = validate(args ?? {});
    if (!result.valid) {
      throw protocolError(ErrorCode.InvalidParams, `Invalid arguments for tool "${name}" on server "${server}": ${clip(result.errorMessage, 500)}. Fix the arguments to match the tool's input schema (see tools/list).`);
    }
  }

  private validatorFor(server: string, tool: Tool): JsonSchemaValidator<unknown> | null {
    const cached = this.compiled.get(tool);
    if (cached !== undefined) return cached;
    let validator: JsonSchemaValidator<unknown> | null;
    try {
      // The dialect marker is not needed to validate and Ajv's default instance may not know it.
      const { $schema: _dialect, ...schema } = tool.inputSchema as Record<string, unknown>;
      validator = this.ajv.getValidator(schema as never);
    } catch (err) {
      // A schema that does not compile cannot be checked; the call still goes through policy.
      this.log(`${server}: input schema of tool "${tool.name}" does not compile (${err instanceof Error ? err.message : String(err)}); its arguments are not validated`);
      validator = null;
    }
    this.compiled.set(tool, validator);
    return validator;
  }
}

function clip(text: string, max = 100): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
