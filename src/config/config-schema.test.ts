import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from './config-schema.js';

describe('schema/relay.schema.json', () => {
  it('is the published form of the config schema (regenerate with `npm run schema`)', () => {
    const published = JSON.parse(readFileSync(new URL('../../schema/relay.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const { $schema: _draft, title: _title, ...rest } = published;
    expect(rest).toEqual(JSON.parse(JSON.stringify(ConfigSchema)));
  });
});
