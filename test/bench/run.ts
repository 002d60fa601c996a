// `npm run bench`: runs every benchmark module in this folder and keeps the latest tables in
// docs/benchmarks.md. Each module exports `run(): Promise<string>` returning a Markdown section.
import { setMaxListeners } from 'node:events';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

async function main(): Promise<void> {
  // The SDK's HTTP client transport passes one AbortSignal to every fetch; undici releases its
  // listeners only when requests are collected, which thousands of calls outrun.
  setMaxListeners(100_000);
  const only = process.argv.slice(2);
  const dir = __dirname;
  const modules = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
    .sort();
  const sections: string[] = [];
  for (const file of modules) {
    process.stderr.write(`bench: ${file}\n`);
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { run: () => Promise<string> };
    const section = await mod.run();
    process.stdout.write(`${section}\n\n`);
    sections.push(section);
  }
  const header = `# Benchmarks\n\nLatest \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}, ` +
    `Node ${process.version}, ${process.platform}/${process.arch}, 2 cores. Figures are from one run; ratios compare ` +
    `against a baseline measured in the same run.\n\n`;
  if (only.length === 0) writeFileSync(join(dir, '../../docs/benchmarks.md'), header + sections.join('\n\n') + '\n');
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
