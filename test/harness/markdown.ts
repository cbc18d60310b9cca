/**
 * What the docs tests read from Markdown: fenced code blocks with their line, links, and the anchors a page
 * offers (GitHub's heading slugs and explicit `<a id>`s). A small reader of the subset our docs use, not a
 * Markdown parser: fences are ``` at the start of a line, links are [text](target) outside code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface CodeBlock {
  /** Path from the repository's root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
}

export interface Link {
  file: string;
  line: number;
  target: string;
}

/** README.md and every page of the guide: the docs whose code must compile and whose links must resolve. */
export function docFiles(): string[] {
  const guide = readdirSync(join(REPO, 'docs/guide'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/guide/${name}`);
  return ['README.md', ...guide];
}

export function read(file: string): string {
  return readFileSync(join(REPO, file), 'utf8');
}

export function codeBlocks(file: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  let open: { line: number; lang: string; lines: string[] } | undefined;
  read(file)
    .split('\n')
    .forEach((text, index) => {
      const fence = /^```\s*([\w-]*)\s*$/.exec(text);
      if (open === undefined) {
        if (fence) open = { line: index + 1, lang: fence[1] ?? '', lines: [] };
      } else if (fence && fence[1] === '') {
        blocks.push({ file, line: open.line, lang: open.lang, code: open.lines.join('\n') });
        open = undefined;
      } else {
        open.lines.push(text);
      }
    });
  if (open !== undefined) throw new Error(`${file}:${open.line}: a code block that is never closed`);
  return blocks;
}

/** Lines outside code blocks, with their 1-based numbers, and inline code spans blanked out. */
function prose(file: string): { line: number; text: string }[] {
  const lines: { line: number; text: string }[] = [];
  let inCode = false;
  read(file)
    .split('\n')
    .forEach((text, index) => {
      if (/^```/.test(text)) {
        inCode = !inCode;
        return;
      }
      if (!inCode) lines.push({ line: index + 1, text: text.replace(/`[^`]*`/g, '``') });
    });
  return lines;
}

export function links(file: string): Link[] {
  const found: Link[] = [];
  for (const { line, text } of prose(file)) {
    for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) found.push({ file, line, target: match[1]! });
  }
  return found;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

export function anchors(file: string): Set<string> {
  const found = new Set<string>();
  const counts = new Map<string, number>();
  let inCode = false;
  for (const text of read(file).split('\n')) {
    if (/^```/.test(text)) inCode = !inCode;
    if (inCode) continue;
    const heading = /^#{1,6} (.*)$/.exec(text);
    if (heading) {
      const base = slug(heading[1]!);
      const seen = counts.get(base) ?? 0;
      counts.set(base, seen + 1);
      found.add(seen === 0 ? base : `${base}-${seen}`);
    }
    for (const id of text.matchAll(/<a id="([^"]+)"/g)) found.add(id[1]!);
  }
  return found;
}

export function fromRepo(path: string): string {
  return relative(REPO, path);
}
