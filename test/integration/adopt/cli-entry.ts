// Runs `mcpcp assess|adopt` from source for the CLI tests, as src/cli/main.ts dispatches them.
import { adoptCommand, assessCommand } from '../../../src/cli/adopt-commands';
import { errorMessage } from '../../../src/core/errors';

const [command, ...rest] = process.argv.slice(2);
(command === 'assess' ? assessCommand(rest) : adoptCommand(rest)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mcpcp: ${errorMessage(err)}\n`);
    process.exitCode = 2;
  },
);
