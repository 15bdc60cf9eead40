import { useAdminApi } from '../admin-api-context';
import type { DeploymentView, ListOf } from '../admin-types';
import { StatusLine } from '../components/status-line';
import { formatCount, formatMilliseconds, formatPercent, formatTime } from '../format-values';
import { useAdminData } from '../use-admin-data';

interface StateLabel {
  text: string;
  tone: string;
}

const stateLabels: Record<DeploymentView['state'], StateLabel> = {
  closed: { text: 'healthy', tone: 'ok' },
  half_open: { text: 'probing', tone: 'warn' },
  open: { text: 'ejected', tone: 'bad' },
};

/** A state this page does not know (a relay newer than its dashboard) shows as the API names it, in a neutral badge. */
function stateLabel(state: string): StateLabel {
  return Object.hasOwn(stateLabels, state) ? stateLabels[state as DeploymentView['state']] : { text: state, tone: 'neutral' };
}

/** Every deployment's circuit, error rate and latency from `GET /admin/deployments`, refreshed every 5 s. */
export function UpstreamsPage() {
  const api = useAdminApi();
  const deployments = useAdminData(() => api.get<ListOf<DeploymentView>>('/admin/deployments'), 'deployments', 5_000);
  const rows = deployments.data?.data ?? [];

  return (
    <section class="card" aria-labelledby="upstreams-title">
      <div class="section-head">
        <h2 id="upstreams-title">Deployments</h2>
        <span class="muted">{deployments.updatedAt === undefined ? '' : `Updated ${formatTime(deployments.updatedAt)} · every 5 s`}</span>
        <button type="button" class="secondary" onClick={() => void deployments.reload()}>
          Refresh
        </button>
      </div>
      <p class="muted">
        A deployment is one upstream (provider and model) of a route. Its circuit opens after 5 failures in a row or over 50 % errors in 30 s, and lets one probe through after a cooldown. Figures are this
        replica’s.
      </p>
      <StatusLine loading={deployments.loading} error={deployments.error} hasData={deployments.data !== undefined} />
      {deployments.data !== undefined && rows.length === 0 && <p class="muted">No deployment is known yet: routes in relay.yaml list theirs at start, models served by family defaults after their first request.</p>}
      {rows.length > 0 && (
        <div class="table-scroll" tabIndex={0} role="region" aria-labelledby="upstreams-title">
          <table class="upstreams-table">
            <thead>
              <tr>
                <th scope="col">Deployment</th>
                <th scope="col">Health</th>
                <th scope="col">Circuit</th>
                <th scope="col">Error rate (30 s)</th>
                <th scope="col">Requests (30 s)</th>
                <th scope="col">In flight</th>
                <th scope="col">Latency to first byte</th>
                <th scope="col">Ejections</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((deployment) => {
                const label = stateLabel(deployment.state);
                const waitMs = deployment.availableAt - Date.now();
                return (
                  <tr key={deployment.id} data-deployment={deployment.id}>
                    <th scope="row" class="mono">
                      {deployment.id}
                    </th>
                    <td>
                      <span class={`badge ${label.tone}`}>{label.text}</span>
                      {deployment.state === 'open' && waitMs > 0 && <div class="muted">probe in {Math.ceil(waitMs / 1000)} s</div>}
                    </td>
                    <td>{deployment.state}</td>
                    <td class="number">{formatPercent(deployment.errorRate * 100)}</td>
                    <td class="number">{formatCount(deployment.requests)}</td>
                    <td class="number">{formatCount(deployment.inflight)}</td>
                    <td class="number">{formatMilliseconds(deployment.firstByteEwmaMs)}</td>
                    <td class="number">{formatCount(deployment.ejections)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
