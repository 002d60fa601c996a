// Writes the generated parts of package.json: `contributes.configuration` from the zod settings
// schema and `contributes.commands` from the command map. `npm run gen:manifest`; a unit test
// fails when package.json drifts from what this would write.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestContributions } from '../src/extension/manifest';

const file = join(__dirname, '..', 'package.json');
const pkg = JSON.parse(readFileSync(file, 'utf8')) as { contributes?: Record<string, unknown> };
const generated = manifestContributions();
pkg.contributes = { ...pkg.contributes, configuration: generated.configuration, commands: generated.commands };
writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`);
process.stdout.write(`package.json: ${Object.keys(generated.configuration.properties).length} settings, ${generated.commands.length} commands\n`);
