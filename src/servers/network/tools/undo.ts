// Undo handles of the network tools (docs/undo.md): the device's full prior running
// configuration (never a rollback number or archive slot: those move with later commits), kept
// encrypted by the control plane in the handle's state and shown with secrets removed.
import type { UndoHandle } from '../../../core/undo/handle';
import { readConfig } from '../config-read';
import { sanitize } from '../config-text';
import type { NetworkService, Target } from '../services';
import { configFormat } from '../restore';
import { showConfig } from './config-get';

export interface PriorConfig {
  readonly text: string;
  readonly shown: string;
  readonly format: 'set' | 'text';
}

/** The running configuration of one device now, and how config_get shows it (secrets removed). */
export async function priorConfig(network: NetworkService, target: Target, budgetBytes: number, signal: AbortSignal): Promise<PriorConfig> {
  const format = configFormat(target);
  const text = await readConfig(network, target, 'running', format, signal);
  const shown = showConfig(target, text, { source: 'running', format, offset: 0, budgetBytes }).text;
  return { text, shown, format };
}

/** Handle that makes `prior` the running configuration again (config_rollback with a configuration). */
export function configUndo(target: Target, prior: PriorConfig, summary: string): UndoHandle {
  return {
    undoable: true,
    summary,
    inverse: { tool: 'config_rollback', args: { device: target.device.name, configuration: sanitize(target.platform, prior.text) } },
    state: { configuration: prior.text },
    check: { tool: 'config_get', args: { device: target.device.name, format: prior.format } },
    before: prior.shown,
  };
}
