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
    const value = Number(raw);
    if (!Number.isInteger(value) || value < range.min || value > range.max) {
      this.problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${range.min} to ${range.max}.`);
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
