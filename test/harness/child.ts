import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Child {
  readonly process: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
}

/** Runs test/fixtures/<name>.ts in a real Node process (through tsx), with `env` added. */
export function runFixture(name: string, env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', `test/fixtures/${name}.ts`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      if (code !== 0 && signal === null && stderr !== '') process.stderr.write(`fixture ${name} stderr:\n${stderr}\n`);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { process: child, lines, exited };
}
