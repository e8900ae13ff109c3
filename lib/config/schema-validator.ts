import Ajv, { ValidateFunction } from 'ajv';

/**
 * ajv options for builds.yaml. verbose: errors carry their schema, so
 * messages can quote the allowed range and keys.
 */
export const AJV_OPTIONS = { allErrors: true, strict: true, verbose: true } as const;

/**
 * Compiles the JSON Schema of builds.yaml. Compiling costs more than the rest
 * of a small synth, so the synth bundle (scripts/build.js) replaces this module
 * with the validator ajv generates for BUILDS_SCHEMA at build time (ajv
 * standalone code, same options); that replacement refuses any other schema.
 */
export function compileBuildsSchema(schema: object): ValidateFunction {
  return new Ajv(AJV_OPTIONS).compile(schema);
}
