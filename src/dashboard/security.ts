import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The dashboard's defences, each on every request, in this order: the token (when set), the authorize
 * hook (when set), then for a POST the Origin check and the CSRF token. Nothing of a queue is read before
 * the first two pass.
 *
 * CSRF: a signed double-submit. The first page sets a random cookie (HttpOnly, SameSite=Strict); every
 * form carries HMAC(secret, cookie), and a POST passes only when the two agree. A cookie planted by a
 * sibling subdomain is of no use without the secret, and no secret is ever sent to a browser.
 */

export const CSRF_COOKIE = 'sluice_csrf';
export const TOKEN_COOKIE = 'sluice_token';
export const CSRF_FIELD = '_csrf';

/**
 * No inline script or style, nothing from another origin: the page's own script and stylesheet, served by
 * the handler, are all it loads. Even a value that escaped escaping could run nothing.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on a form POST, which the
  // Origin check must refuse. A trace link to another origin still gets no referrer.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    try {
      out.set(name, decodeURIComponent(part.slice(at + 1).trim()));
    } catch {
      // A cookie that is not ours, badly encoded: ignored.
    }
  }
  return out;
}

/** Behind a TLS-terminating proxy the socket is plain; X-Forwarded-Proto says https then. */
function secure(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true || req.headers['x-forwarded-proto'] === 'https';
}

export function setCookie(req: IncomingMessage, res: ServerResponse, name: string, value: string, path: string): void {
  const attributes = [`${name}=${encodeURIComponent(value)}`, `Path=${path}`, 'HttpOnly', 'SameSite=Strict', ...(secure(req) ? ['Secure'] : [])];
  const previous = res.getHeader('Set-Cookie');
  const list = previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
  res.setHeader('Set-Cookie', [...list, attributes.join('; ')]);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Equal strings, compared in time that does not depend on where they differ. */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

export class Csrf {
  readonly #secret: Buffer;

  constructor(secret: string | undefined) {
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret);
  }

  /** The form token for this browser's cookie; sets the cookie when the browser has none yet. */
  token(req: IncomingMessage, res: ServerResponse, path: string): string {
    let cookie = cookies(req).get(CSRF_COOKIE);
    if (cookie === undefined || !/^[A-Za-z0-9_-]{22,64}$/.test(cookie)) {
      cookie = randomBytes(18).toString('base64url');
      setCookie(req, res, CSRF_COOKIE, cookie, path);
    }
    return this.#sign(cookie);
  }

  #sign(cookie: string): string {
    return createHmac('sha256', this.#secret).update(cookie).digest('base64url');
  }

  /** A POST's token matches its cookie. */
  check(req: IncomingMessage, field: string | undefined): boolean {
    const cookie = cookies(req).get(CSRF_COOKIE);
    if (cookie === undefined || field === undefined || field === '') return false;
    return sameSecret(field, this.#sign(cookie));
  }
}

/**
 * A POST from a page of this dashboard: its Origin (or, from browsers that send none, Sec-Fetch-Site) is
 * this host. A browser cannot forge either header for another site; a client that sends neither (curl)
 * still needs the CSRF cookie and token.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return false; // 'null' (a sandboxed frame, a redirect from elsewhere) or garbage
    }
    const forwarded = req.headers['x-forwarded-host'];
    const hosts = [req.headers.host, ...(typeof forwarded === 'string' ? forwarded.split(',').map((h) => h.trim()) : [])];
    return hosts.some((candidate) => candidate !== undefined && candidate.toLowerCase() === host.toLowerCase());
  }
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin' || site === 'none';
}

/** The token a request carries: `Authorization: Bearer`, or the cookie a `?token=` visit set. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth !== undefined && /^Bearer /i.test(auth)) return auth.slice(7).trim();
  return cookies(req).get(TOKEN_COOKIE);
}
