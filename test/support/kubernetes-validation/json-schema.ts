import { Ajv, type ErrorObject } from 'ajv';

/** One Ajv for every schema here: allErrors so a test failure lists all problems at once. */
const ajv = new Ajv({ allErrors: true, strict: false });

/**
 * A compiled schema: true when the data is valid, with the problems in `errors` otherwise. Not a
 * type predicate (as Ajv's own type is), so a failed check does not narrow the object to `never`.
 */
export interface JsonSchemaValidator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

/** Compiles a JSON Schema (custom resources, a chart's values.schema.json). */
export function compileJsonSchema(schema: object): JsonSchemaValidator {
  return ajv.compile(schema);
}

/** Ajv's errors as readable lines: `<instance path> <message> <params>`. */
export function ajvProblems(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((error) => `${error.instancePath || '(root)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`);
}
