// What the VSIX holds, as vsce itself lists it (the same file selection `npm run package` packs):
// the extension and its servers but not the headless CLI, the marketplace files, and every file
// README.md links to (README links stay relative and resolve inside the installed extension).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, before } from 'node:test';

const root = join(__dirname, '..', '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown> & { icon?: string };

/** The files `vsce package` would put in the VSIX, relative to the extension root. */
function vsixFiles(): string[] {
  const out = execFileSync(process.execPath, [join(root, 'node_modules/@vscode/vsce/vsce'), 'ls', '--no-dependencies'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return out.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Link targets of README.md: inline links and images, `[text](target)`, outside code blocks. */
export function markdownLinks(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors(markdown: string): Set<string> {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...prose.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-')));
}

describe('the VSIX', () => {
  let files: string[] = [];
  before(() => {
    // The CLI bundle must exist on disk, or its absence from the list below would prove nothing.
    assert.ok(existsSync(join(root, 'dist/cli.js')) && existsSync(join(root, 'dist/extension.js')), 'run `npm run build` first: dist/cli.js and dist/extension.js are missing');
    assert.ok(existsSync(join(root, 'dist/extension-main.js')), 'run `npm run build` first: dist/extension-main.js (the main bundle the shell loads) is missing');
    files = vsixFiles();
  });

  it('holds the extension, its servers and webview code, but not the headless CLI', () => {
    for (const f of ['dist/extension.js', 'dist/extension-main.js', 'dist/servers/git.js', 'dist/servers/kubernetes.js', 'dist/servers/network.js', 'dist/media/main.js']) assert.ok(files.includes(f), `${f} missing from the VSIX: ${files.join(', ')}`);
    assert.deepEqual(files.filter((f) => /^dist\/cli/.test(f) || f.endsWith('.map') || f.startsWith('dist/test/') || f.startsWith('src/') || f.startsWith('test/') || f.startsWith('node_modules/')), []);
    // Nothing the extension runs reaches for the CLI bundle.
    for (const f of ['dist/extension.js', 'dist/extension-main.js']) assert.doesNotMatch(readFileSync(join(root, f), 'utf8'), /cli\.js/, `${f} names the CLI bundle`);
  });

  it('holds README, CHANGELOG, LICENSE and the icon the manifest names, a real PNG of 128 or 256 pixels', () => {
    for (const f of ['README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']) assert.ok(files.includes(f), `${f} missing from the VSIX`);
    assert.equal(manifest.icon, 'media/icon.png');
    assert.ok(files.includes('media/icon.png'));
    const png = readFileSync(join(root, 'media/icon.png'));
    assert.equal(png.subarray(0, 8).toString('hex'), '89504e470d0a1a0a', 'media/icon.png is not a PNG');
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    assert.ok(width === height && (width === 128 || width === 256), `icon is ${width}x${height}`);
  });

  it('has the marketplace fields', () => {
    for (const key of ['repository', 'bugs', 'homepage', 'license', 'categories', 'keywords', 'galleryBanner', 'displayName', 'description', 'publisher']) assert.ok(manifest[key], `package.json has no ${key}`);
    assert.match(String((manifest['repository'] as { url: string }).url), /^https:\/\//);
  });

  it('resolves every link of README.md: an https URL, an anchor of the README, or a file in the VSIX', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const links = markdownLinks(readme);
    assert.ok(links.length > 10, `only ${links.length} links found: the link parser is broken`);
    const own = anchors(readme);
    const broken = links.filter((link) => {
      if (/^https:\/\//.test(link)) return false;
      if (link.startsWith('#')) return !own.has(link.slice(1));
      if (/^[a-z]+:/i.test(link)) return true; // http:, file:, command: do not work on a marketplace page
      const [path] = link.split('#');
      return !files.includes(path!.replace(/^\.\//, ''));
    });
    assert.deepEqual(broken, [], 'README links that do not resolve inside the VSIX');
  });

  it('README starts with the extension user and keeps the two developer commands verbatim in Development', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const heading = (h: string): number => readme.search(new RegExp(`^## ${h}$`, 'm'));
    for (const h of ['Install', 'First run', 'In VS Code', 'Development']) assert.ok(heading(h) > 0, `no "## ${h}" section`);
    assert.ok(heading('Install') < heading('Development') && heading('First run') < heading('Development'));
    // CI (.ci/run) and docs/testing-vscode.md run these as the README writes them.
    const commands = ['npm ci && npm start        # the control plane, embedded default: the git server on this directory', 'npm run test:all           # every test: npm test (unit + integration), then the real-VS-Code suite'];
    for (const c of commands) assert.ok(readme.indexOf(c) > heading('Development'), `"${c}" is not verbatim in the Development section`);
  });

  it('the Get Started walkthrough: each step\'s page is in the VSIX, each button names a command the extension contributes', () => {
    const contributes = manifest['contributes'] as { walkthroughs: Array<{ steps: Array<{ id: string; description: string; media: { markdown?: string } }> }>; commands: Array<{ command: string }>; views: Record<string, Array<{ id: string }>> };
    const known = new Set([...contributes.commands.map((c) => c.command), ...Object.values(contributes.views).flat().map((v) => `${v.id}.focus`)]);
    const [walkthrough] = contributes.walkthroughs;
    assert.equal(walkthrough!.steps.length, 5);
    for (const step of walkthrough!.steps) {
      assert.ok(step.media.markdown && files.includes(step.media.markdown), `${step.id}: ${step.media.markdown} is not in the VSIX`);
      const commands = [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]!);
      assert.ok(commands.length > 0, `${step.id} has no button`);
      for (const c of commands) assert.ok(known.has(c), `${step.id}: unknown command ${c}`);
    }
  });

  it('the link check itself catches a link to a file the VSIX does not hold', () => {
    const links = markdownLinks('see [x](docs/nope.md) and [y](https://example.org) and `[z](ignored.md)`');
    assert.deepEqual(links, ['docs/nope.md', 'https://example.org']);
    assert.ok(!files.includes('docs/nope.md'));
  });
});
