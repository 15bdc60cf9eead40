/** How one check of `relay doctor` came out. A warning is worth reading but does not fail the run. */
export type CheckStatus = 'pass' | 'fail' | 'warn';

/** One line of the doctor's report (and one entry of its `--json` output). */
export interface CheckResult {
  /** What was checked, e.g. `upstream holysheep DNS`. */
  name: string;
  status: CheckStatus;
  /** What was found, on one line. Never a key or a password. */
  detail: string;
  /** What to do about it (may span several lines: commands to run), for failures and warnings. */
  fix?: string;
}

/** Builds a result, leaving `fix` out when there is none so the JSON stays minimal. */
export function checkResult(name: string, status: CheckStatus, detail: string, fix?: string): CheckResult {
  return fix === undefined ? { name, status, detail } : { name, status, detail, fix };
}
