/**
 * HTML built only through the `html` tag: every interpolated value is escaped unless it is itself `Html`
 * made by the tag. Job data, names, ids, errors and logs are hostile input (a job's data may be
 * `</script><img src=x onerror=alert(1)>`); there is no way to put a plain string into a page unescaped.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Fragment = Html | string | number | boolean | null | undefined | readonly Fragment[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

function render(value: Fragment): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return (value as readonly Fragment[]).map(render).join('');
  if (value === null || value === undefined || value === false || value === true) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Fragment[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Joins fragments, each escaped as `html` would. */
export function join(parts: readonly Fragment[], separator = ''): Html {
  return new Html(parts.map(render).join(escapeHtml(separator)));
}
