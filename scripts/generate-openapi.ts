import fs from 'node:fs';
import path from 'node:path';
import { OPENAPI_PATH, renderOpenApi } from './lib/openapi-document';

// npm runs its scripts from the repository root.
const OPENAPI_FILE = path.resolve(OPENAPI_PATH);

/** `npm run openapi`: writes docs/openapi.yaml from the contract in src/api-contract. */
function main(): void {
  const text = renderOpenApi();
  const before = fs.existsSync(OPENAPI_FILE) ? fs.readFileSync(OPENAPI_FILE, 'utf8') : '';
  fs.writeFileSync(OPENAPI_FILE, text);
  process.stdout.write(
    `${OPENAPI_FILE}: ${before === text ? 'unchanged' : 'written'} (${text.split('\n').length} lines)\n`,
  );
}

main();
