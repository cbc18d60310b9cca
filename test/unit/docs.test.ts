/**
 * The docs cannot drift from the code: every TypeScript block of README and the guide compiles against the
 * source, every shell block names scripts and files that exist, every relative link and anchor resolves,
 * and README stays a front page (issue 19: under 10 KB).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { anchors, codeBlocks, docFiles, links, REPO, type CodeBlock } from '../harness/markdown.js';

const files = docFiles();
const blocks = files.flatMap(codeBlocks);

/** Names the snippets use without defining them (a user's own functions, a connection they made). */
const GLOBALS = join(REPO, 'docs/snippet-globals.d.ts');

function compile(snippets: readonly CodeBlock[]): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(REPO, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  // Virtual files inside the repository, so `paths` maps 'sluice' to src/ as for tests and examples.
  const virtual = new Map<string, CodeBlock>();
  snippets.forEach((block, index) => {
    // Beside its page, so a relative import in a block resolves as a reader of that page would expect.
    const name = normalize(join(REPO, dirname(block.file), `.snippet-${block.line}-${index}.ts`));
    // A block without an import is still a module of its own, so two blocks may declare the same names.
    virtual.set(name, { ...block, code: /^\s*(import|export) /m.test(block.code) ? block.code : `${block.code}\nexport {};\n` });
  });
  const host = ts.createCompilerHost(config.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, onError) => {
    const block = virtual.get(normalize(fileName));
    if (block) return ts.createSourceFile(fileName, block.code, language);
    return getSourceFile(fileName, language, onError);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => virtual.has(normalize(fileName)) || fileExists(fileName);
  const program = ts.createProgram([...virtual.keys(), GLOBALS], { ...config.options, noEmit: true, noUnusedLocals: false }, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const file = diagnostic.file;
    const block = file ? virtual.get(normalize(file.fileName)) : undefined;
    if (file === undefined || block === undefined) return `${file?.fileName ?? '(program)'}: ${message}`;
    const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    // The fence is at block.line; the block's first line is the one after it.
    return `${block.file}:${block.line + 1 + line}: ${message}`;
  });
}

describe('the docs', () => {
  it('README is a front page: under 10 KB', () => {
    expect(statSync(join(REPO, 'README.md')).size).toBeLessThan(10 * 1024);
  });

  it('gives every code block a language the tests know', () => {
    const unknown = blocks.filter((b) => !['ts', 'sh', 'python', 'text'].includes(b.lang)).map((b) => `${b.file}:${b.line} '${b.lang}'`);
    expect(unknown).toEqual([]);
  });

  it('compiles every TypeScript block against the source', () => {
    const snippets = blocks.filter((b) => b.lang === 'ts');
    expect(snippets.length).toBeGreaterThan(10);
    expect(compile(snippets)).toEqual([]);
  }, 60_000);

  it('names only npm scripts, files and sluice commands that exist in its shell blocks', () => {
    const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const problems: string[] = [];
    for (const block of blocks.filter((b) => b.lang === 'sh')) {
      for (const match of block.code.matchAll(/npm run ([\w:-]+)/g)) {
        if (scripts[match[1]!] === undefined) problems.push(`${block.file}:${block.line}: no npm script '${match[1]!}'`);
      }
      for (const match of block.code.matchAll(/npx tsx (\S+)/g)) {
        if (!existsSync(join(REPO, match[1]!))) problems.push(`${block.file}:${block.line}: no file ${match[1]!}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('has Python blocks that parse', () => {
    for (const block of blocks.filter((b) => b.lang === 'python')) {
      expect(() => execFileSync('python3', ['-c', 'import ast, sys; ast.parse(sys.stdin.read())'], { input: block.code, stdio: ['pipe', 'ignore', 'pipe'] }), `${block.file}:${block.line}`).not.toThrow();
    }
  });

  it('links only to files and anchors that exist', () => {
    const broken: string[] = [];
    const others = ['CONTRIBUTING.md', 'docs/ARCHITECTURE.md', 'docs/guarantees.md', 'docs/wire-format.md', 'docs/limits-bench.md'];
    for (const file of [...files, ...others]) {
      for (const link of links(file)) {
        if (/^[a-z]+:/i.test(link.target)) continue;
        const [path = '', anchor] = link.target.split('#');
        const target = path === '' ? file : normalize(join(dirname(file), path));
        if (!existsSync(join(REPO, target))) {
          broken.push(`${file}:${link.line}: ${link.target} (no file ${target})`);
          continue;
        }
        if (anchor !== undefined && target.endsWith('.md') && !anchors(target).has(anchor)) {
          broken.push(`${file}:${link.line}: ${link.target} (no anchor #${anchor} in ${target})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
