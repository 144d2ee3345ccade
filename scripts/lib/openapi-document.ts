import YAML from 'yaml';
import { createDocument } from 'zod-openapi';
import { openApiDocument } from '../../src/api-contract/document';

/** Where the generated document is committed, under the repository root. */
export const OPENAPI_PATH = 'docs/openapi.yaml';

const HEADER = [
  '# Generated from src/api-contract by `npm run openapi`: change the contract there and run it',
  '# again; edits made here are lost (a test fails while this file and the contract differ).',
  '',
].join('\n');

const isEmpty = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && Object.keys(value).length === 0;

/**
 * Leaves out what zod writes that says nothing in an OpenAPI document: the safe-integer bounds of
 * every integer, `propertyNames: {type: string}` of every record (JSON keys are strings), and the
 * empty `additionalProperties` of an open object (open is the default).
 */
function withoutNoise({ jsonSchema }: { jsonSchema: Record<string, unknown> }): void {
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  const names = jsonSchema.propertyNames as Record<string, unknown> | undefined;
  if (names && Object.keys(names).length === 1 && names.type === 'string') {
    delete jsonSchema.propertyNames;
  }
  if (isEmpty(jsonSchema.additionalProperties)) delete jsonSchema.additionalProperties;
  if (isEmpty(jsonSchema.properties)) delete jsonSchema.properties;
}

/**
 * docs/openapi.yaml as the contract renders it, byte for byte (the file is left out of Prettier:
 * this rendering is its format).
 */
export function renderOpenApi(): string {
  const document = createDocument(openApiDocument, { override: withoutNoise });
  return HEADER + YAML.stringify(document, { lineWidth: 100, aliasDuplicateObjects: false });
}
