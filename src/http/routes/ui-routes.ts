import fs from 'node:fs';
import path from 'node:path';
import { Router, type Response } from 'express';
import { ConfigError, NotFoundError } from '../../errors';

/**
 * The page's policy: everything from this origin, nothing inline, no frames. The page sets every
 * text with textContent, so an audit reason cannot become markup; this makes sure that even if one
 * did, it could not run.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Where the page's files are: `ui/` at the repository root, found from this file both as source
 * (src/http/routes) and as built (dist/src/http/routes), so `npm run build` needs no copy step.
 */
export function defaultUiDir(): string {
  const candidates = [
    path.resolve(__dirname, '../../../ui'),
    path.resolve(__dirname, '../../../../ui'),
  ];
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'index.html')));
  if (!found) {
    throw new ConfigError(
      `the operator page's files are missing: looked for index.html in ${candidates.join(' and ')}`,
    );
  }
  return found;
}

interface UiFile {
  body: Buffer;
  type: string;
}

/** Reads the page's files once: they are small (docs/operator-page.md) and fixed at build time. */
function loadFiles(dir: string): Map<string, UiFile> {
  const files = new Map<string, UiFile>();
  for (const name of fs.readdirSync(dir)) {
    const type = TYPES[path.extname(name)];
    if (type) files.set(name, { body: fs.readFileSync(path.join(dir, name)), type });
  }
  return files;
}

function send(res: Response, file: UiFile): void {
  res.setHeader('Content-Type', file.type);
  res.setHeader('Content-Security-Policy', UI_CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-cache');
  res.send(file.body);
}

/** `GET /` (the operator page) and `GET /ui/:file` (its script and style sheet). */
export function uiRoutes(dir: string = defaultUiDir()): Router {
  const files = loadFiles(dir);
  const index = files.get('index.html');
  if (!index) throw new ConfigError(`the operator page's index.html is missing from ${dir}`);
  const router = Router();
  router.get('/', (_req, res) => send(res, index));
  router.get('/ui/:file', (req, res) => {
    const file = req.params.file === 'index.html' ? undefined : files.get(req.params.file);
    if (!file) {
      throw new NotFoundError(
        `the operator page has no file "${req.params.file}" (it has: ${[...files.keys()].filter((f) => f !== 'index.html').join(', ')})`,
      );
    }
    send(res, file);
  });
  return router;
}
