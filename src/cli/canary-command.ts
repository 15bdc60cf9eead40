import type { Command } from 'commander';
import type { CanarySnapshot } from '../routing/canary-controller.js';
import { callAdmin } from './admin-client.js';
import { adminOptions } from './keys-command.js';
import { canaryActions } from '../routing/canary-controller.js';

function describeCanary(canary: CanarySnapshot): string {
  const last = canary.history.at(-1);
  const lastCheck = last === undefined ? 'no check yet' : `last: ${last.action} (${last.verdict}, ${last.requests} requests, success ${last.successRate?.toFixed(2) ?? '–'} %, p99 ${last.latencyP99Ms?.toFixed(0) ?? '–'} ms)`;
  return `${canary.model}: ${canary.phase} at ${canary.weight} % to the candidate, ${canary.failedChecks}/${canary.settings.threshold} failed checks; ${lastCheck}`;
}

/** `relay canary list|show|promote|pause|resume|rollback`: the canary buttons, from a terminal. */
export function registerCanaryCommand(program: Command): void {
  const canary = program.command('canary').description('show and drive canary migrations of a running relay (admin API)');
  const options = adminOptions(canary);
  const print = (value: CanarySnapshot | CanarySnapshot[]) => {
    if (options().json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else for (const entry of Array.isArray(value) ? value : [value]) process.stdout.write(`${describeCanary(entry)}\n`);
  };

  canary
    .command('list')
    .description('every canary and where it stands')
    .action(async () => {
      const { body } = await callAdmin('/admin/canaries', options());
      const canaries = (body as { data: CanarySnapshot[] }).data;
      if (canaries.length === 0 && !options().json) process.stdout.write('no canary is configured: add "canary" to a route under "models" in relay.yaml\n');
      else print(canaries);
    });
  canary
    .command('show')
    .argument('<model>')
    .description('one canary with its analysis history')
    .action(async (model: string) => {
      const { body } = await callAdmin(`/admin/canaries/${encodeURIComponent(model)}`, options());
      const snapshot = body as CanarySnapshot;
      print(snapshot);
      if (!options().json) {
        for (const check of snapshot.history) {
          process.stdout.write(`  ${new Date(check.at).toISOString()}  ${check.action.padEnd(8)} ${check.verdict.padEnd(6)} weight ${String(check.weight).padStart(3)} %  requests ${check.requests}\n`);
        }
      }
    });
  for (const action of canaryActions) {
    canary
      .command(action)
      .argument('<model>')
      .description(`${action} the canary of a model`)
      .action(async (model: string) => {
        const { body } = await callAdmin(`/admin/canaries/${encodeURIComponent(model)}/${action}`, { ...options(), method: 'POST' });
        print(body as CanarySnapshot);
      });
  }
}
