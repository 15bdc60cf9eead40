import { flaggerCanarySchema } from './flagger-canary-schema.js';
import { compileJsonSchema, type JsonSchemaValidator } from './json-schema.js';
import { serviceMonitorSchema } from './service-monitor-schema.js';

/**
 * Validators for the custom resources kubernetes-models has no schema for, keyed by
 * `apiVersion/kind`. Each is an Ajv function, so `.errors` holds the last call's problems.
 */
export const customResourceValidators = {
  'flagger.app/v1beta1/Canary': compileJsonSchema(flaggerCanarySchema),
  'monitoring.coreos.com/v1/ServiceMonitor': compileJsonSchema(serviceMonitorSchema),
} satisfies Record<string, JsonSchemaValidator>;
