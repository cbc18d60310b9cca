/**
 * A decoded job value as JSON a person reads: bytes as their length and first bytes, BigInt as `123n`,
 * dates as ISO text, `undefined` said in words. The one rendering the dashboard and the `sluice` command
 * share; each cuts and escapes the text for its own medium.
 */
export function readableJson(value: unknown, indent = 2): string {
  if (value === undefined) return 'undefined';
  const text = JSON.stringify(
    value,
    function replacer(this: unknown, key: string, v: unknown): unknown {
      const raw = (this as Record<string, unknown>)[key];
      if (typeof v === 'bigint') return `${v.toString()}n`;
      if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? 'Invalid Date' : raw.toISOString();
      if (raw instanceof Uint8Array) {
        const head = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.length, 32)).toString('hex');
        return `<${raw.length} bytes: ${head}${raw.length > 32 ? '…' : ''}>`;
      }
      if (v instanceof Map) return Object.fromEntries(v);
      return v;
    },
    indent,
  );
  // JSON.stringify gives undefined only for a function or symbol, which msgpack never decodes to.
  return text ?? typeof value;
}
