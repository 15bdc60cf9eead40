import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../config/config-error.js';
import { ConfigSchema } from '../config/config-schema.js';
import { loadConfig, sha256Hex } from '../config/load-config.js';
import { decimalInteger } from '../config/read-environment.js';
import { registerAccountsCommand } from './accounts-command.js';
import { registerCanaryCommand } from './canary-command.js';
import { registerKeysCommand } from './keys-command.js';
import { registerMigrateCommand } from './migrate-command.js';
import { registerUsageCommand } from './usage-command.js';
import { withConfigErrors } from './with-config-errors.js';

function milliseconds(value: string): number {
  const parsed = decimalInteger(value.trim());
  if (parsed === undefined) throw new InvalidArgumentError('expected a whole number of milliseconds');
  return parsed;
}

/** Ten minutes: a longer step is no check, and timers past 2^31 ms fire at once. */
const maxDoctorTimeoutMs = 600_000;

/**
 * `relay doctor --timeout-ms`: a whole number of milliseconds from 1 up. At 0 every network step
 * would time out at once and the doctor would report healthy upstreams as unreachable; anything
 * else is a usage error, exit code 2, before any check runs.
 */
function doctorTimeout(raw: string | undefined): number {
  if (raw === undefined) return 5000;
  const value = decimalInteger(raw.trim());
  if (value !== undefined && value >= 1 && value <= maxDoctorTimeoutMs) return value;
  process.stderr.write(`relay doctor: --timeout-ms ${JSON.stringify(raw)}: expected a whole number of milliseconds from 1 to ${maxDoctorTimeoutMs}, such as 5000 (the time each network step may take).\n`);
  process.exit(2);
}

/**
 * The shutdown times of `relay serve`: each flag, else its variable, else the default. A variable
 * that is not a whole number of milliseconds stops the start like any other bad setting (it would
 * otherwise make the drain and the grace period end at once).
 */
function shutdownTimes(flags: { drainDelayMs?: number; gracePeriodMs?: number }): { drainDelayMs: number; gracePeriodMs: number } {
  const problems: string[] = [];
  const fromEnvironment = (name: string, fallback: number): number => {
    const raw = process.env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const value = decimalInteger(raw);
    if (value !== undefined) return value;
    problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number of milliseconds (0 or more), such as ${fallback}.`);
    return fallback;
  };
  const drainDelayMs = flags.drainDelayMs ?? fromEnvironment('SHUTDOWN_DRAIN_DELAY_MS', 5000);
  const gracePeriodMs = flags.gracePeriodMs ?? fromEnvironment('SHUTDOWN_GRACE_PERIOD_MS', 25000);
  if (problems.length > 0) throw new ConfigError(problems);
  return { drainDelayMs, gracePeriodMs };
}

/** The `relay` command line. */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('relay').description('An OpenAI-compatible LLM API relay.').showHelpAfterError();

  program
    .command('serve', { isDefault: true })
    .description('run the relay (configuration from the environment and relay.yaml)')
    .option('--drain-delay-ms <ms>', 'time /ready reports 503 before the listener closes on SIGTERM (default: SHUTDOWN_DRAIN_DELAY_MS, else 5000)', milliseconds)
    .option('--grace-period-ms <ms>', 'time in-flight requests get to finish after that (default: SHUTDOWN_GRACE_PERIOD_MS, else 25000)', milliseconds)
    .action(async (options: { drainDelayMs?: number; gracePeriodMs?: number }) => {
      await withConfigErrors(async () => {
        const shutdown = shutdownTimes(options);
        // Loaded here, not at the top: the other commands need none of the server's dependencies.
        const { serve } = await import('./serve.js');
        await serve(shutdown);
      });
    });

  program
    .command('check-config')
    .description('validate the environment and config file, and print what the relay would serve')
    .action(async () => {
      await withConfigErrors(async () => {
        const config = loadConfig();
        const summary = {
          configFile: config.configFile ?? null,
          listen: `${config.host}:${config.port}`,
          providers: [...config.providers.values()].map((provider) => ({ name: provider.name, type: provider.type, baseUrl: provider.baseUrl, apiKeySet: provider.apiKey !== undefined })),
          routes: [...config.routes.keys()],
          aliases: Object.fromEntries(config.aliases),
          clientKeys: config.clientKeys.map((key) => key.name),
          masterKeySet: config.masterKeySha256 !== undefined,
        };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      });
    });

  program
    .command('doctor')
    .description('check the configuration, each upstream (DNS, connection, key), model names and storage, with the fix for what fails')
    .option('--json', 'print the checks as JSON: { ok, checks: [{ name, status, detail, fix? }] }')
    .option('--timeout-ms <ms>', `time each network step may take, 1 to ${maxDoctorTimeoutMs} (default: 5000)`)
    .action(async (options: { json?: boolean; timeoutMs?: string }) => {
      const timeoutMs = doctorTimeout(options.timeoutMs);
      // Loaded here, not at the top: like serve, it pulls in drivers the other commands do not need.
      const { runDoctorCommand } = await import('./doctor/doctor-command.js');
      await runDoctorCommand({ json: options.json, timeoutMs });
    });

  program
    .command('schema')
    .description('print the JSON Schema of relay.yaml')
    .action(() => {
      process.stdout.write(`${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', title: 'relay.yaml', ...ConfigSchema }, null, 2)}\n`);
    });

  program
    .command('hash-key')
    .argument('[key]', 'a client key; without it (or "-") the key is read from standard input, which keeps it out of shell history and the process list')
    .description('print the SHA-256 of a client key, for "sha256:" entries in relay.yaml (printf %s "$KEY" | relay hash-key)')
    .action(async (given: string | undefined) => {
      let key = given;
      if (key === undefined || key === '-') {
        if (process.stdin.isTTY) throw new Error('give the key on standard input, e.g. printf %s "$KEY" | relay hash-key (a key typed as an argument stays in shell history)');
        const chunks: Buffer[] = [];
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
        // The line break of `echo` is not part of the key.
        key = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
        if (key.trim() === '') throw new Error('no key on standard input: printf %s "$KEY" | relay hash-key');
      }
      process.stdout.write(`${sha256Hex(key)}\n`);
    });

  registerCanaryCommand(program);
  registerKeysCommand(program);
  registerAccountsCommand(program);
  registerUsageCommand(program);
  registerMigrateCommand(program);

  // `serve` is the default command, so commander would hand a mistyped command (`relay key list`)
  // to it and answer "too many arguments for 'serve'": name the unknown command instead.
  const first = argv[0];
  if (first !== undefined && !first.startsWith('-') && first !== 'help' && !program.commands.some((command) => command.name() === first)) {
    program.error(`error: unknown command '${first}'`);
  }
  await program.parseAsync(argv, { from: 'user' });
}
