/** Prometheus Operator durations (`30s`, `1m`), as the Canary's. */
const duration = { type: 'string', pattern: '^[0-9]+(m|s)' };

/**
 * The parts of a Prometheus Operator ServiceMonitor (monitoring.coreos.com/v1) the chart renders,
 * closed with additionalProperties: false so a misspelt field fails here rather than being pruned.
 */
export const serviceMonitorSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'monitoring.coreos.com/v1' },
    kind: { const: 'ServiceMonitor' },
    spec: {
      type: 'object',
      additionalProperties: false,
      required: ['selector', 'endpoints'],
      properties: {
        // A metav1.LabelSelector: In and NotIn need values, Exists and DoesNotExist take none.
        selector: {
          type: 'object',
          additionalProperties: false,
          properties: {
            matchLabels: { type: 'object', additionalProperties: { type: 'string' } },
            matchExpressions: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['key', 'operator'],
                properties: { key: { type: 'string' }, operator: { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }, values: { type: 'array', items: { type: 'string' } } },
                if: { properties: { operator: { enum: ['In', 'NotIn'] } } },
                then: { required: ['values'], properties: { values: { minItems: 1 } } },
                else: { properties: { values: { maxItems: 0 } } },
              },
            },
          },
        },
        namespaceSelector: { type: 'object', additionalProperties: false, properties: { matchNames: { type: 'array', items: { type: 'string' } } } },
        endpoints: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            properties: {
              port: { type: 'string' },
              path: { type: 'string' },
              interval: duration,
              scrapeTimeout: duration,
              // SafeAuthorization: a credential from a Secret in the ServiceMonitor's namespace; Basic is refused.
              authorization: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  type: { type: 'string', not: { pattern: '^[Bb]asic$' } },
                  credentials: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['key'],
                    properties: { name: { type: 'string' }, key: { type: 'string' }, optional: { type: 'boolean' } },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};
