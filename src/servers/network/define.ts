import { z } from 'zod';
import { toolDefiner } from '../kit';
import type { NetworkService } from './services';

/** What every network tool handler gets as `ctx.services`. */
export interface NetworkServices {
  readonly network: NetworkService;
}

/** `defineTool` for network tools. */
export const defineNetworkTool = toolDefiner<NetworkServices>();

/** Read-only tools that talk to devices: they change nothing, and reach beyond this machine. */
export const READ_DEVICE = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true } as const;

/** Tools that change device configuration. */
export const CHANGE_DEVICE = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true } as const;

export const deviceField = (what = 'Device name from the inventory (devices_list shows them).') => z.string().min(1).max(63).describe(what);

export const timeoutField = z
  .number()
  .int()
  .min(1)
  .max(600)
  .optional()
  .describe('Seconds to wait for the command to finish (default: the device\'s timeoutSeconds from the inventory, 30).');

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}
