import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

/** `src/x/y.ts` as ['x', 'y'], the extension dropped; undefined when the path is outside src/. */
function srcPath(file) {
  const relative = path.relative(SRC, file);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return undefined;
  const parts = relative.split(path.sep);
  parts[parts.length - 1] = parts[parts.length - 1].replace(/\.(?:[cm]?[jt]s|d\.ts)$/, '');
  return parts;
}

/** The string a module specifier node holds, or undefined for a computed one. */
function specifierOf(node) {
  if (node?.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node?.type === 'TemplateLiteral' && node.expressions.length === 0) {
    return node.quasis[0].value.cooked;
  }
  return undefined;
}

function message(where, allowed) {
  const may = allowed.length > 0 ? allowed.join(', ') : 'no other folder';
  return `layers: ${where} may import ${may} (see docs/architecture.md, "Code map").`;
}

/**
 * The layers of src/ as one rule on what an import resolves to, not on how its string is spelt:
 * `./../store/x`, `../../../src/store/x`, `require()`, `import()` and `export … from` all land
 * somewhere in src/, and that folder (and part of src/rollout) is what the tables allow or not.
 * Options: { layers, rolloutParts, wiring } (eslint.config.mjs holds the tables).
 */
const imports = {
  meta: {
    type: 'problem',
    docs: { description: 'imports run one way through the folders of src/' },
    schema: [
      {
        type: 'object',
        properties: {
          layers: { type: 'object' },
          rolloutParts: { type: 'object' },
          wiring: { type: 'array', items: { type: 'string' } },
        },
        required: ['layers', 'rolloutParts', 'wiring'],
        additionalProperties: false,
      },
    ],
  },
  create(context) {
    const { layers, rolloutParts, wiring } = context.options[0];
    const from = srcPath(context.filename);
    // Files directly in src/ are the wiring (or outside src/): they may import anything.
    if (from === undefined || from.length < 2 || !(from[0] in layers)) return {};
    const [folder] = from;
    const part = folder === 'rollout' && from.length > 2 && from[1] in rolloutParts ? from[1] : '';

    /** The message for an import of `to` (a path in src/), or undefined when it may. */
    function refusal(to) {
      const [target] = to;
      if (wiring.includes(target) && to.length === 1)
        return message(`src/${folder}`, layers[folder]);
      if (!(target in layers)) return undefined;
      if (target !== folder) {
        return layers[folder].includes(target)
          ? undefined
          : message(`src/${folder}`, layers[folder]);
      }
      if (part === '' || to.length < 2 || !(to[1] in rolloutParts) || to[1] === part)
        return undefined;
      const allowed = rolloutParts[part];
      return allowed.includes(to[1]) ? undefined : message(`src/rollout/${part}`, allowed);
    }

    function check(sourceNode) {
      const specifier = specifierOf(sourceNode);
      if (specifier === undefined || !specifier.startsWith('.')) return;
      const to = srcPath(path.resolve(path.dirname(context.filename), specifier));
      const refused = to === undefined ? undefined : refusal(to);
      if (refused !== undefined) context.report({ node: sourceNode, message: refused });
    }

    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => node.source && check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      TSImportEqualsDeclaration: (node) =>
        node.moduleReference.type === 'TSExternalModuleReference' &&
        check(node.moduleReference.expression),
      CallExpression: (node) =>
        node.callee.type === 'Identifier' &&
        node.callee.name === 'require' &&
        node.arguments.length === 1 &&
        check(node.arguments[0]),
    };
  },
};

export default { rules: { imports } };
