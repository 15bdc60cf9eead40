/** Flagger's duration fields: a number of minutes or seconds (`1m`, `30s`). */
const duration = { type: 'string', pattern: '^[0-9]+(m|s)' };

const objectRef = (kindsAllowed: string[]) => ({
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'name'],
  properties: { apiVersion: { type: 'string' }, kind: { enum: kindsAllowed }, name: { type: 'string' } },
});

const serviceMetadata = {
  type: 'object',
  additionalProperties: false,
  properties: {
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

/**
 * The fields of Flagger's Canary (flagger.app/v1beta1) that these manifests use, from Flagger's
 * CRD (artifacts/flagger/crd.yaml): the same types, enums and patterns, and additionalProperties:
 * false where the CRD's structural schema would silently prune an unknown field (so a misspelt
 * field fails here instead of vanishing in the cluster).
 */
export const flaggerCanarySchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'flagger.app/v1beta1' },
    kind: { const: 'Canary' },
    metadata: { type: 'object', required: ['name'] },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['targetRef', 'analysis', 'service'],
      properties: {
        provider: {
          enum: [
            'apisix', 'appmesh', 'appmesh:v1beta2', 'contour', 'gatewayapi:v1', 'gatewayapi:v1beta1', 'gloo', 'istio', 'knative',
            'kubernetes', 'kuma', 'linkerd', 'nginx', 'osm', 'skipper', 'smi:v1alpha1', 'smi:v1alpha2', 'smi:v1alpha3', 'traefik',
          ],
        },
        metricsServer: { type: 'string' },
        progressDeadlineSeconds: { type: 'number' },
        targetRef: objectRef(['DaemonSet', 'Deployment', 'Service']),
        autoscalerRef: objectRef(['HorizontalPodAutoscaler', 'ScaledObject']),
        ingressRef: objectRef(['Ingress']),
        skipAnalysis: { type: 'boolean' },
        suspend: { type: 'boolean' },
        service: {
          type: 'object',
          additionalProperties: false,
          required: ['port'],
          properties: {
            name: { type: 'string' },
            port: { type: 'number' },
            portName: { type: 'string' },
            targetPort: { type: ['integer', 'string'] },
            appProtocol: { type: 'string' },
            portDiscovery: { type: 'boolean' },
            timeout: { type: 'string' },
            apex: serviceMetadata,
            primary: serviceMetadata,
            canary: serviceMetadata,
          },
        },
        analysis: {
          type: 'object',
          additionalProperties: false,
          oneOf: [
            { required: ['interval', 'threshold', 'iterations'] },
            { required: ['interval', 'threshold', 'stepWeight'] },
            { required: ['interval', 'threshold', 'stepWeights'] },
          ],
          properties: {
            interval: duration,
            iterations: { type: 'number' },
            threshold: { type: 'number' },
            maxWeight: { type: 'number', minimum: 0, maximum: 100 },
            stepWeight: { type: 'number', minimum: 0, maximum: 100 },
            stepWeights: { type: 'array', items: { type: 'number' } },
            stepWeightPromotion: { type: 'number' },
            metrics: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['name'],
                properties: {
                  name: { type: 'string' },
                  interval: duration,
                  threshold: { type: 'number' },
                  thresholdRange: {
                    type: 'object',
                    additionalProperties: false,
                    minProperties: 1,
                    properties: { min: { type: 'number' }, max: { type: 'number' } },
                  },
                  query: { type: 'string' },
                  templateRef: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, namespace: { type: 'string' } } },
                  templateVariables: { type: 'object', additionalProperties: { type: 'string' } },
                },
                // Without a MetricTemplate, only Flagger's built-in checks exist.
                if: { not: { anyOf: [{ required: ['templateRef'] }, { required: ['query'] }] } },
                then: { properties: { name: { enum: ['request-success-rate', 'request-duration'] } } },
              },
            },
            webhooks: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['name', 'url'],
                properties: {
                  name: { type: 'string' },
                  type: {
                    enum: ['', 'confirm-rollout', 'pre-rollout', 'rollout', 'confirm-promotion', 'post-rollout', 'event', 'rollback', 'confirm-traffic-increase'],
                  },
                  muteAlert: { type: 'boolean' },
                  url: { type: 'string', pattern: '^https?://' },
                  timeout: duration,
                  retries: { type: 'number' },
                  disableTLS: { type: 'boolean' },
                  metadata: { type: 'object', additionalProperties: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
  },
};
