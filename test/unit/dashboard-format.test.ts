import { describe, expect, it } from 'vitest';
import { cut, duration, pretty } from '../../src/dashboard/format.js';
import { escapeHtml, html, join } from '../../src/dashboard/html.js';

describe("the dashboard's escaping", () => {
  it('escapes every interpolated value, and only Html made by the tag passes as markup', () => {
    const hostile = `<img src=x onerror=alert(1)>"'&</script>`;
    expect(html`<p title="${hostile}">${hostile}</p>`.value).toBe(
      '<p title="&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;&lt;/script&gt;">&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;&lt;/script&gt;</p>',
    );
    expect(html`<ul>${['<a>', html`<li>ok</li>`, 3, null, undefined, false]}</ul>`.value).toBe('<ul>&lt;a&gt;<li>ok</li>3</ul>');
    expect(join(['<b>', html`<i></i>`], '<br>').value).toBe('&lt;b&gt;&lt;br&gt;<i></i>');
    expect(escapeHtml('a & b')).toBe('a &amp; b');
  });
});

describe("the dashboard's formatting", () => {
  it('cuts text to a size in UTF-8 bytes, never inside a character, and says from what size', () => {
    expect(cut('abc', 10)).toEqual({ text: 'abc' });
    expect(cut('é'.repeat(10), 5)).toEqual({ text: 'éé', cutFrom: 20 });
    expect(cut('a😀b', 3)).toEqual({ text: 'a', cutFrom: 6 });
  });

  it('shows any value msgpack decodes as JSON a person reads', () => {
    expect(pretty(undefined)).toBe('undefined');
    expect(pretty({ n: 10n, at: new Date(0), bytes: new Uint8Array([1, 2, 255]) }, 0)).toBe('{"n":"10n","at":"1970-01-01T00:00:00.000Z","bytes":"<3 bytes: 0102ff>"}');
    expect(pretty(Buffer.alloc(40), 0)).toBe(`"<40 bytes: ${'00'.repeat(32)}…>"`);
  });

  it('says durations at a glance', () => {
    expect([850, 42_000, 300_000, 11_400_000, 2 * 86_400_000 + 4 * 3_600_000].map(duration)).toEqual(['850 ms', '42 s', '5 min', '3 h 10 min', '2 d 4 h']);
  });
});
