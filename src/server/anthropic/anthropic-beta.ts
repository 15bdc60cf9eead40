import { RelayError } from '../../spec/relay-error.js';

/** A beta feature's name as Anthropic spells them (`interleaved-thinking-2025-05-14`, `context-1m-2025-08-07`). */
const featureName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const mostFeatures = 32;

/**
 * The beta features a client asked for with `anthropic-beta` (one header of comma-separated names,
 * or several headers), in order and without repeats; undefined when it asked for none. A name that
 * is not a feature name is refused with a 400 rather than sent on: the header goes to the upstream.
 * @see https://docs.anthropic.com/en/api/beta-headers
 */
export function readAnthropicBetas(header: string | string[] | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const features: string[] = [];
  for (const value of Array.isArray(header) ? header : [header]) {
    for (const piece of value.split(',')) {
      const feature = piece.trim();
      if (feature === '') continue;
      if (!featureName.test(feature)) {
        throw new RelayError(`The anthropic-beta header names "${feature.slice(0, 100)}", which is not a beta feature name (letters, digits, ".", "_" and "-").`, {
          status: 400,
          type: 'invalid_request_error',
          code: 'invalid_header',
          param: 'anthropic-beta',
        });
      }
      if (!features.includes(feature)) features.push(feature);
    }
  }
  if (features.length > mostFeatures) {
    throw new RelayError(`The anthropic-beta header names ${features.length} features; at most ${mostFeatures} are accepted.`, {
      status: 400,
      type: 'invalid_request_error',
      code: 'invalid_header',
      param: 'anthropic-beta',
    });
  }
  return features.length === 0 ? undefined : features;
}
