import { renderDoctorReport } from './render-doctor-report.js';
import { runDoctor } from './run-doctor.js';

export interface DoctorCommandOptions {
  json?: boolean;
  timeoutMs: number;
}

/** `relay doctor`: runs the checks, prints the report, exits 1 when a check failed (warnings do not). */
export async function runDoctorCommand(options: DoctorCommandOptions): Promise<void> {
  const report = await runDoctor({ timeoutMs: Math.max(1, options.timeoutMs) });
  const output = renderDoctorReport(report, options.json === true ? 'json' : 'text');
  const code = report.ok ? 0 : 1;
  // Exit explicitly once the report is out: a resolver thread or a socket of a step that timed out
  // may still be pending, and the verdict must not wait for it.
  await new Promise<void>(() => {
    process.stdout.write(output, () => process.exit(code));
  });
}
