import { ConfigError } from '../config/config-error.js';

/** Runs a command; a configuration problem is printed as such and exits with code 2, as `relay serve` does at start. */
export async function withConfigErrors(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`relay: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}
