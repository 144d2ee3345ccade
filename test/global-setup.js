/**
 * Jest globalSetup, run once per selected project before any test: checks that the external tools
 * the project's suites start are on this machine, so a fresh machine gets one message naming all
 * of them instead of whole suites failing one by one. Only `command -v`-style PATH lookups: cheap.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- jest loads this file as CommonJS */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const GO_FALLBACK = '/usr/local/go/bin/go';

/**
 * The tools each project's suites start. `traefik` is TRAEFIK_BIN or the pinned cached build;
 * `chromium` is CHROMIUM_BIN or Debian's /usr/bin/chromium, which the operator page's test drives.
 */
const TOOLS_BY_PROJECT = {
  unit: [],
  integration: ['redis-server', 'redis-cli', 'prometheus', 'promtool', 'shellcheck', 'go'],
  e2e: ['redis-server', 'redis-cli', 'traefik', 'chromium'],
};

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name, envPath) {
  return (envPath || '')
    .split(path.delimiter)
    .filter(Boolean)
    .some((dir) => isExecutable(path.join(dir, name)));
}

function traefikBinary(env) {
  if (env.TRAEFIK_BIN) return env.TRAEFIK_BIN;
  const version = fs.readFileSync(path.join(ROOT, 'scripts/traefik-version.txt'), 'utf8').trim();
  return path.join(ROOT, '.cache/traefik', version, 'traefik');
}

function found(tool, env) {
  if (tool === 'traefik') return isExecutable(traefikBinary(env));
  if (tool === 'chromium') return isExecutable(env.CHROMIUM_BIN || '/usr/bin/chromium');
  // Go is often installed in /usr/local/go without being on a non-login shell's PATH.
  if (tool === 'go') return onPath('go', env.PATH) || isExecutable(GO_FALLBACK);
  return onPath(tool, env.PATH);
}

/** The tools that `projects` need and `env` lacks, each once, in a stable order. */
function missingTools(projects, env = process.env) {
  const needed = [...new Set(projects.flatMap((p) => TOOLS_BY_PROJECT[p] || []))];
  return needed.filter((tool) => !found(tool, env));
}

function missingMessage(missing, env = process.env) {
  const lines = [`Missing on this machine: ${missing.join(', ')}.`];
  if (missing.includes('traefik') && env.TRAEFIK_BIN) {
    lines.push(`(TRAEFIK_BIN=${env.TRAEFIK_BIN} is not an executable file.)`);
  }
  if (missing.includes('chromium') && env.CHROMIUM_BIN) {
    lines.push(`(CHROMIUM_BIN=${env.CHROMIUM_BIN} is not an executable file.)`);
  }
  lines.push('Install everything the tests need with: bash scripts/setup.sh');
  return lines.join('\n');
}

module.exports = async function globalSetup(globalConfig, projectConfig) {
  const own = projectConfig && projectConfig.displayName;
  const name = typeof own === 'string' ? own : own && own.name;
  // With --selectProjects, check every selected project's tools in this first hook, so one message
  // names them all.
  const selected = (globalConfig && globalConfig.selectProjects) || [];
  const projects = [...new Set([name, ...selected].filter(Boolean))];
  const missing = missingTools(projects);
  if (missing.length > 0) throw new Error(missingMessage(missing));
  // The Compose file check runs `go`: let it find the fallback install.
  if (!onPath('go', process.env.PATH) && isExecutable(GO_FALLBACK)) {
    process.env.PATH = `${path.dirname(GO_FALLBACK)}${path.delimiter}${process.env.PATH || ''}`;
  }
};
module.exports.missingTools = missingTools;
module.exports.missingMessage = missingMessage;
module.exports.TOOLS_BY_PROJECT = TOOLS_BY_PROJECT;
