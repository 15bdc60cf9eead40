import { useMemo, useState } from 'preact/hooks';
import { useAdminApi } from '../admin-api-context';
import type { CanaryView, ListOf } from '../admin-types';
import { useAnnouncer } from '../announcer';
import { ConfirmButton } from '../components/confirm-button';
import { StatusLine } from '../components/status-line';
import { formatDateTime, formatInterval, formatMilliseconds, formatPercent, formatTime } from '../format-values';
import { useAdminData } from '../use-admin-data';

const phaseLabels: Record<CanaryView['phase'], { text: string; tone: string }> = {
  progressing: { text: 'progressing', tone: 'ok' },
  paused: { text: 'paused', tone: 'warn' },
  promoted: { text: 'promoted', tone: 'ok' },
  rolled_back: { text: 'rolled back', tone: 'bad' },
};

type CanaryAction = 'promote' | 'pause' | 'resume' | 'rollback';

/** The actions that change something in a phase (the API accepts all of them). */
function actionsFor(phase: CanaryView['phase']): ReadonlySet<CanaryAction> {
  if (phase === 'progressing') return new Set(['promote', 'pause', 'rollback']);
  if (phase === 'paused') return new Set(['promote', 'resume', 'rollback']);
  if (phase === 'rolled_back') return new Set(['resume', 'promote']);
  return new Set(['rollback']);
}

function CanaryCard(props: { canary: CanaryView; onAction: (action: CanaryAction) => Promise<void> }) {
  const canary = props.canary;
  const phase = phaseLabels[canary.phase];
  const history = useMemo(() => [...canary.history].reverse().slice(0, 50), [canary.history]);
  const headingId = `canary-${canary.model.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  const available = actionsFor(canary.phase);
  // One action at a time: the buttons wait for the relay's answer.
  const [busy, setBusy] = useState(false);
  const run = async (action: CanaryAction) => {
    setBusy(true);
    try {
      await props.onAction(action);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card canary" aria-labelledby={headingId} data-canary={canary.model}>
      <div class="section-head">
        <h2 id={headingId}>{canary.model}</h2>
        <span class={`badge ${phase.tone}`} data-testid="canary-phase">
          {phase.text}
        </span>
      </div>
      {!canary.synced && (
        <p class="notice" role="status">
          This replica could not write the canary’s last change to the database. It routes by that change and writes it once the database answers; other replicas do not know it yet.
        </p>
      )}
      <div class="weight">
        <label for={`${headingId}-weight`}>
          Candidate weight: <strong data-testid="canary-weight">{canary.weight} %</strong>
        </label>
        <progress id={`${headingId}-weight`} max={100} value={canary.weight}>
          {canary.weight} %
        </progress>
      </div>
      <dl class="facts">
        <div>
          <dt>Candidate</dt>
          <dd>{canary.settings.targets.map((target) => `${target.provider}${target.model === undefined ? '' : `/${target.model}`}`).join(', ')}</dd>
        </div>
        <div>
          <dt>Failed checks</dt>
          <dd>
            {canary.failedChecks} of {canary.settings.threshold} before rollback
          </dd>
        </div>
        <div>
          <dt>Steps</dt>
          <dd>
            {canary.settings.initialWeight} % first, +{canary.settings.stepWeight} % every {formatInterval(canary.settings.intervalMs)}, promoted after {canary.settings.maxWeight} %
          </dd>
        </div>
        <div>
          <dt>Healthy when</dt>
          <dd>
            success ≥ {canary.settings.minSuccessRate} %, p99 ≤ {formatMilliseconds(canary.settings.maxLatencyP99Ms)}, ≥ {canary.settings.minRequests} requests
          </dd>
        </div>
      </dl>
      {/* Every button keeps its place in every phase (those that would change nothing are disabled),
          so a second click never lands on another action: Roll back where Promote was, say. Promote
          and Roll back move every request, and ask first. */}
      <div class="button-row" role="group" aria-label={`Canary actions for ${canary.model}`}>
        <ConfirmButton label="Promote" confirmLabel="Confirm promote" accessibleName={canary.model} disabled={busy || !available.has('promote')} onConfirm={() => run('promote')} />
        <button type="button" class="secondary" disabled={busy || !available.has('pause')} onClick={() => void run('pause')}>
          Pause
        </button>
        <button type="button" class="secondary" disabled={busy || !available.has('resume')} onClick={() => void run('resume')}>
          Resume
        </button>
        <ConfirmButton label="Roll back" confirmLabel="Confirm roll back" accessibleName={canary.model} danger disabled={busy || !available.has('rollback')} onConfirm={() => run('rollback')} />
      </div>
      <details open={history.length > 0 && history.length <= 10}>
        <summary>Analysis history ({canary.history.length})</summary>
        {history.length === 0 ? (
          <p class="muted">No check yet: the first comes after {formatInterval(canary.settings.intervalMs)}.</p>
        ) : (
          <div class="table-scroll" tabIndex={0} role="region" aria-label={`Analysis history of ${canary.model}`}>
            <table>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Action</th>
                  <th scope="col">Verdict</th>
                  <th scope="col">Weight</th>
                  <th scope="col">Requests</th>
                  <th scope="col">Success</th>
                  <th scope="col">p99</th>
                </tr>
              </thead>
              <tbody>
                {history.map((check, index) => (
                  <tr key={`${check.at}-${index}`}>
                    <th scope="row" class="nowrap">{formatDateTime(check.at)}</th>
                    <td>{check.action}</td>
                    <td>{check.verdict}</td>
                    <td class="number">{check.weight} %</td>
                    <td class="number">{check.requests}</td>
                    <td class="number">{formatPercent(check.successRate)}</td>
                    <td class="number">{formatMilliseconds(check.latencyP99Ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </details>
    </section>
  );
}

/** Canary migrations from `/admin/canaries`, with the promote, pause, resume and roll-back buttons. */
export function CanaryPage() {
  const api = useAdminApi();
  const announce = useAnnouncer();
  const canaries = useAdminData(() => api.get<ListOf<CanaryView>>('/admin/canaries'), 'canaries', 10_000);

  const act = async (model: string, action: CanaryAction) => {
    try {
      const after = await api.send<CanaryView>('POST', `/admin/canaries/${encodeURIComponent(model)}/${action}`);
      announce(`${model}: ${phaseLabels[after.phase].text}, candidate weight ${after.weight} %.`);
    } catch (error) {
      announce(`${action} on ${model} failed: ${(error as Error).message}`);
    }
    await canaries.reload();
  };

  return (
    <>
      <div class="section-head">
        <p class="muted">Every replica follows the same canary state, kept in the database: a button pressed here reaches the others within a second.</p>
        <span class="muted">{canaries.updatedAt === undefined ? '' : `Updated ${formatTime(canaries.updatedAt)}`}</span>
      </div>
      <StatusLine loading={canaries.loading} error={canaries.error} hasData={canaries.data !== undefined} />
      {canaries.data !== undefined && canaries.data.data.length === 0 && (
        <p class="card muted">No canary is configured. Add a canary block to a route in relay.yaml (see docs/routing.md).</p>
      )}
      {(canaries.data?.data ?? []).map((canary) => (
        <CanaryCard key={canary.model} canary={canary} onAction={(action) => act(canary.model, action)} />
      ))}
    </>
  );
}
