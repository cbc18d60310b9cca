import { createRequire } from 'node:module';

/**
 * The instrumentation scope every sluice tracer and meter is created under. Backends group spans and
 * metrics by it, so it names the library and its version rather than the application.
 */
export const SCOPE_NAME = 'sluice';

// src/telemetry/ and dist/telemetry/ both sit two levels below the package root.
export const SCOPE_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
