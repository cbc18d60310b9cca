/**
 * How a command says it failed: one line on stderr (`sluice <command>: <message>`), or with --json one JSON
 * document there, `{"error":{"code","message"}}`, so a script can tell "no such job" from "Redis is down"
 * beyond the exit code. Every message passes through a redactor first: the messages sluice writes never
 * name the Redis URL, and this is the net under that rule for what a library below us says (ioredis names
 * the host and port it could not reach).
 */
import { SluiceError } from '../errors.js';
import { json, safeBlock } from './output.js';

const REDACTED = '<redacted>';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A function that takes the Redis URL's secrets out of a text: the URL itself, its password and user name
 * (as written and percent-decoded), its host with the port, and its host name as a whole word. Addresses a
 * connection resolved to (`10.0.0.5:6379`) are not in the URL, so any IP address with a port goes too.
 */
export function redactor(url: string): (text: string) => string {
  const secrets = new Set<string>([url]);
  let hostname = '';
  try {
    const parsed = new URL(url);
    for (const part of [parsed.password, parsed.username]) {
      if (part === '' || part === 'default') continue;
      secrets.add(part);
      try {
        secrets.add(decodeURIComponent(part));
      } catch {
        // Not valid percent-encoding: only the form as written can appear.
      }
    }
    if (parsed.port !== '') secrets.add(parsed.host);
    hostname = parsed.hostname.replace(/^\[|\]$/g, '');
  } catch {
    // checkRedisUrl let only parseable URLs through; nothing more to take out.
  }
  // Longest first, so a password inside the URL is not cut around.
  const ordered = [...secrets].filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length);
  return (text: string): string => {
    let out = text;
    for (const secret of ordered) out = out.split(secret).join(REDACTED);
    // `redis` as a host name would take the word out of every message about Redis.
    if (hostname.length > 0 && !/^rediss?$/i.test(hostname)) out = out.replace(new RegExp(`(?<![\\w.-])${escapeRegExp(hostname)}(?![\\w-])`, 'g'), REDACTED);
    return out.replace(/\b\d{1,3}(?:\.\d{1,3}){3}:\d{1,5}\b/g, REDACTED).replace(/\[[0-9a-f:.]+\]:\d{1,5}/gi, REDACTED);
  };
}

/** The error's stable code: a SluiceError's, Node's (EADDRINUSE), or ERR_SLUICE_UNEXPECTED. */
function codeOf(error: unknown): string {
  if (error instanceof SluiceError) return error.code;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'ERR_SLUICE_UNEXPECTED';
}

/** Writes the failure of `command` on stderr, redacted, as a line or (`asJson`) a JSON document. */
export function reportFailure(command: string, error: unknown, asJson: boolean, redact: (text: string) => string): void {
  const message = redact(error instanceof Error ? error.message : String(error));
  if (asJson) process.stderr.write(json({ error: { code: codeOf(error), message } }));
  else process.stderr.write(`sluice ${command}: ${safeBlock(message)}\n`);
}
