import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboard, type DashboardHandler, type DashboardOptions } from 'sluice/dashboard';

/** A dashboard on node:http at the root of a loopback port, for one test. */
export interface ServedDashboard {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  origin: string;
  handler: DashboardHandler;
  close(): Promise<void>;
}

export async function serveDashboard(options: DashboardOptions): Promise<ServedDashboard> {
  const handler = createDashboard(options);
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    handler,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await handler.close();
    },
  };
}

/** A browser's part, as far as the dashboard sees it: it keeps cookies and reads forms' CSRF tokens. */
export class FormClient {
  readonly cookies = new Map<string, string>();
  /** The last CSRF token a page carried. */
  csrf = '';

  constructor(readonly origin: string) {}

  #cookieHeader(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
  }

  #keep(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (pair !== undefined && at > 0) this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: Headers }> {
    const response = await fetch(this.origin + path, { headers: { ...this.#cookieHeader(), ...headers }, redirect: 'manual' });
    this.#keep(response);
    const text = await response.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (token !== undefined) this.csrf = token;
    return { status: response.status, text, headers: response.headers };
  }

  /** A form POST as a page of the dashboard sends it (same Origin, the CSRF token), unless told otherwise. */
  async post(path: string, fields: Record<string, string> = {}, options: { csrf?: string | null; origin?: string | null } = {}): Promise<{ status: number; location: string | null; text: string }> {
    const form = new URLSearchParams(fields);
    const csrf = options.csrf === undefined ? this.csrf : options.csrf;
    if (csrf !== null) form.set('_csrf', csrf);
    const origin = options.origin === undefined ? this.origin : options.origin;
    const response = await fetch(this.origin + path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...this.#cookieHeader(), ...(origin === null ? {} : { origin }) },
      body: form.toString(),
      redirect: 'manual',
    });
    this.#keep(response);
    return { status: response.status, location: response.headers.get('location'), text: await response.text() };
  }
}
