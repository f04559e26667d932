import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generate } from '../../scripts/protocol-doc.ts';

describe('protocol reference (docs/protocol.md, docs/protocol.schema.json)', () => {
  it('is what the schemas say now (regenerate with npx tsx scripts/protocol-doc.ts)', () => {
    const { markdown, schema } = generate();
    expect(fs.readFileSync('docs/protocol.md', 'utf8')).toBe(markdown);
    expect(fs.readFileSync('docs/protocol.schema.json', 'utf8')).toBe(schema);
  });

  it('lists every method with what it requires', () => {
    const { markdown } = generate();
    expect(markdown).toContain('### `produce` (requires `publish`)');
    expect(markdown).toContain('### `subscribeLobby` (requires `lobby`)');
    expect(markdown).toMatch(/\| 4401 \| `unauthorized` \|/);
  });
});
