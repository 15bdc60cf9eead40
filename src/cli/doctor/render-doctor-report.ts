import type { CheckStatus } from './doctor-check.js';
import type { DoctorReport } from './run-doctor.js';

const marks: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!' };
const fixIndent = '    ';

/**
 * The report for people (a line per check, the fix indented under each failure and warning, and a
 * summary) or for programs (`--json`: `{ ok, checks: [{ name, status, detail, fix? }] }`).
 */
export function renderDoctorReport(report: DoctorReport, format: 'text' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(`${marks[check.status]} ${check.name}: ${check.detail}`);
    if (check.fix === undefined || check.status === 'pass') continue;
    const [first, ...rest] = check.fix.split('\n');
    lines.push(`${fixIndent}fix: ${first}`);
    for (const line of rest) lines.push(`${fixIndent}     ${line}`);
  }
  const count = (status: CheckStatus) => report.checks.filter((check) => check.status === status).length;
  const passed = count('pass');
  const warnings = count('warn');
  const summary = [`${passed} ${passed === 1 ? 'check' : 'checks'} passed`, `${count('fail')} failed`];
  if (warnings > 0) summary.push(`${warnings} ${warnings === 1 ? 'warning' : 'warnings'}`);
  lines.push('', summary.join(', '));
  return `${lines.join('\n')}\n`;
}
