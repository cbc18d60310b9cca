import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application, Logger, LogLevel, ReflectionKind, type ProjectReflection, type Reflection } from 'typedoc';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The API reference (docs/api/, `npm run docs:api`) is TypeDoc's reading of the TSDoc comments of the
 * public surface. This runs TypeDoc as that script does (typedoc.json: convert, validate, render the
 * markdown into a temporary directory) and fails listing every warning, above all every export or member
 * without a comment; every optional property of the public types without a `@defaultValue` (an option's
 * default is part of its documentation); and every file of docs/api/ that is not what the comments
 * generate now. About 6 s of CPU, most of it TypeScript reading the sources; the fixture run below, 1 s.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Keeps TypeDoc's warnings and errors instead of printing them. */
class CollectingLogger extends Logger {
  readonly messages: string[] = [];

  override log(message: string, level: LogLevel): void {
    super.log(message, level);
    if (level >= LogLevel.Warn) this.messages.push(`[${LogLevel[level]}] ${message}`);
  }
}

interface Reading {
  project: ProjectReflection | undefined;
  /** TypeDoc's warnings and errors, from reading the options to validating the project. */
  messages: string[];
}

/**
 * TypeDoc with the options file `config` (the project's, or the fixture's that extends it): converted,
 * validated and, given `out`, rendered there, as `npm run docs:api` does.
 */
async function readApi(config: string, out?: string): Promise<Reading> {
  const app = await Application.bootstrapWithPlugins({ options: join(root, config), logLevel: 'Warn', ...(out === undefined ? {} : { out }) });
  // What bootstrapping reported went to TypeDoc's own logger: counted, not lost.
  const early = app.logger.errorCount + app.logger.warningCount;
  const logger = new CollectingLogger();
  app.logger = logger;
  if (early > 0) logger.messages.push(`[Warn] ${early} warnings or errors while TypeDoc read its options (run npx typedoc to see them)`);
  const project = await app.convert();
  if (project !== undefined) {
    app.validate(project);
    if (out !== undefined) await app.generateOutputs(project);
  }
  return { project, messages: logger.messages };
}

/** Every file under `dir`, by its path relative to `dir`, with its text. */
function filesUnder(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), readFileSync(path, 'utf8'));
  }
  return files;
}

/** Whether `reflection` is part of a parameter's type, as `force` in `obliterate(options: { force?: boolean })`. */
function inParameter(reflection: Reflection): boolean {
  for (let parent = reflection.parent; parent !== undefined; parent = parent.parent) {
    if (parent.kindOf(ReflectionKind.Parameter)) return true;
  }
  return false;
}

/**
 * The optional properties declared in this package (options, above all), not the ones inherited from
 * TypeScript's lib or a dependency (an Error's `stack` and `cause`). A parameter's own inline properties
 * are documented with `@param options.force - ...`, which holds no block tag: their default is said in
 * that text, as TypeDoc's own validation leaves parameters to the method's comment.
 */
function optionalProperties(project: ProjectReflection): Reflection[] {
  return project
    .getReflectionsByKind(ReflectionKind.Property)
    .filter((property) => property.flags.isOptional && !inParameter(property) && project.getSymbolIdFromReflection(property)?.packageName === 'sluice');
}

/** Optional properties whose comment gives no default: `@defaultValue` with some text. */
function withoutDefault(project: ProjectReflection): string[] {
  const hasDefault = (reflection: Reflection): boolean =>
    reflection.comment?.getTag('@defaultValue')?.content.some((part) => part.text.trim() !== '') === true;
  return optionalProperties(project)
    .filter((property) => !hasDefault(property))
    .map((property) => property.getFriendlyFullName());
}

describe('API reference', () => {
  let api: Reading;
  let generated: Map<string, string>;
  beforeAll(async () => {
    const out = mkdtempSync(join(tmpdir(), 'sluice-api-docs-'));
    try {
      api = await readApi('typedoc.json', out);
      generated = filesUnder(out);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('builds with no TypeDoc warning: every export and member of the public surface has a comment', () => {
    expect(api.project).toBeDefined();
    expect(api.messages).toEqual([]);
  });

  it('gives every optional property of the public types its default with @defaultValue', () => {
    const project = api.project as ProjectReflection;
    const optional = optionalProperties(project);
    // The check reads the real surface, not an empty project: the options of Queue, Worker and the rest.
    expect(optional.length).toBeGreaterThan(60);
    expect(optional.map((property) => property.getFriendlyFullName())).toEqual(
      expect.arrayContaining(['sluice.QueueOptions.prefix', 'sluice.WorkerOptions.concurrency', 'sluice/dashboard.DashboardOptions.pollIntervalMs']),
    );
    expect(withoutDefault(project)).toEqual([]);
  });

  it('is committed as generated: docs/api/ is what the comments give now (else run npm run docs:api)', () => {
    const committed = filesUnder(join(root, 'docs/api'));
    const paths = [...new Set([...generated.keys(), ...committed.keys()])].sort();
    const stale = paths.filter((path) => generated.get(path) !== committed.get(path));
    expect(generated.size).toBeGreaterThan(50);
    expect(stale).toEqual([]);
  });

  it('reports an undocumented export and an option without a default (a fixture)', async () => {
    const fixture = await readApi('test/fixtures/api-docs/typedoc.json');
    expect(fixture.messages.join('\n')).toMatch(/BareOptions \(Interface\).*does not have any documentation/);
    expect(fixture.messages.join('\n')).toMatch(/BareOptions\.limit \(Property\).*does not have any documentation/);
    expect(fixture.messages.join('\n')).toMatch(/bare \(CallSignature\).*does not have any documentation/);
    expect(fixture.messages.join('\n')).not.toMatch(/GoodOptions/);
    expect(withoutDefault(fixture.project as ProjectReflection)).toEqual(['BareOptions.limit', 'NoDefaultOptions.wait']);
  }, 60_000);
});
