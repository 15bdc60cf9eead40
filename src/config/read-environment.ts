/**
 * `raw` as a whole number when it is written in plain decimal digits (`8080`, `030`) and is exact
 * as a JavaScript number, else `undefined`. `Number()` alone also takes `0x1F90`, `1e4`, `8080.0`,
 * `+5` and `0b10`: forms no one means for a port or a timeout, which let a typo pass silently.
 */
export function decimalInteger(raw: string): number | undefined {
  if (!/^\d+$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Reads typed values from the environment; every bad value becomes a problem naming the variable. */
export class EnvironmentReader {
  readonly problems: string[] = [];

  constructor(private readonly environment: NodeJS.ProcessEnv) {}

  string(name: string): string | undefined {
    const value = this.environment[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  integer(name: string, range: { min: number; max: number }): number | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const value = decimalInteger(raw);
    if (value === undefined || value < range.min || value > range.max) {
      this.problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${range.min} to ${range.max}, in plain decimal digits.`);
      return undefined;
    }
    return value;
  }

  boolean(name: string): boolean | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const lower = raw.toLowerCase();
    if (lower === 'true' || lower === '1' || lower === 'yes') return true;
    if (lower === 'false' || lower === '0' || lower === 'no') return false;
    this.problems.push(`${name}=${JSON.stringify(raw)}: expected true or false.`);
    return undefined;
  }

  url(name: string): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http');
      return raw.replace(/\/+$/, '');
    } catch {
      this.problems.push(`${name}=${JSON.stringify(raw)}: expected an http(s) URL such as https://api.holysheep.ai/v1.`);
      return undefined;
    }
  }
}
