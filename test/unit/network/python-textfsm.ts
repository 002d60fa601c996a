// Runs Google's Python textfsm (Debian python3-textfsm, a netmiko dependency) on the same
// template/text pairs as our engine: the reference our engine must agree with.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const PYTHON = '/usr/bin/python3';

const SCRIPT = `
import io, json, sys, textfsm
out = []
for case in json.load(sys.stdin):
    try:
        fsm = textfsm.TextFSM(io.StringIO(case["template"]))
        rows = fsm.ParseText(case["text"])
        out.append({"rows": [dict(zip(fsm.header, r)) for r in rows]})
    except Exception as e:
        out.append({"error": str(e)})
json.dump(out, sys.stdout)
`;

export type PyResult = { rows: Record<string, unknown>[] } | { error: string };

/** Undefined when Python textfsm is not installed (scripts/setup-network-tests.sh installs it). */
export function pythonTextFsmAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  return spawnSync(PYTHON, ['-c', 'import textfsm'], { stdio: 'ignore' }).status === 0;
}

export function runPythonTextFsm(cases: { template: string; text: string }[]): PyResult[] {
  const res = spawnSync(PYTHON, ['-c', SCRIPT], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`python textfsm failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as PyResult[];
}
