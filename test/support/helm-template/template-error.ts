/**
 * A template that cannot be parsed or executed — including a chart's own `fail`/`required`, and
 * values refused by values.schema.json — as `helm template` would report it. Tests catch this type
 * to tell a refused configuration from a bug in the renderer.
 */
export class TemplateError extends Error {
  override name = 'TemplateError';
}
