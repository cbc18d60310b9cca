/**
 * `sluice/dashboard`: the web dashboard as a plain Node `(req, res)` handler. A separate entry point, so
 * `import 'sluice'` never loads it (test/unit/entry-points.test.ts walks the import graph to check).
 *
 * @module sluice/dashboard
 */
export { createDashboard, type DashboardHandler, type DashboardOptions } from './handler.js';
