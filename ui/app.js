// The operator page: reads the JSON API, listens to GET /api/v1/events, writes with the admin
// token. Every text goes in through text nodes, never as markup: reasons and actors are user input.

const TOKEN_KEY = 'canary-admin-token';
const ACTOR_KEY = 'canary-actor';
const HISTORY_LIMIT = 10;
/** A full re-read this often, for what no event reports (a Traefik catching up, Redis away). */
const POLL_MS = 5000;

const $ = (id) => document.getElementById(id);
const cards = new Map();

/** `el('td', {class: 'x'}, 'text', child)`: strings become text nodes. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(
      typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c,
    );
  }
  return node;
}

const str = (v, fallback = '—') =>
  v === null || v === undefined || v === '' ? fallback : String(v);
const isObj = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v) => (Array.isArray(v) ? v : []);

/** A table with its caption, a header row of column titles and `rows` (tr elements) as its body. */
function captionedTable(className, caption, columns, rows) {
  return el(
    'table',
    { class: className },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, ...columns.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows),
  );
}

// ---- token ---------------------------------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

function showTokenState() {
  $('token-state').textContent = token()
    ? 'Token set for this tab: writes enabled.'
    : 'No token: read-only.';
  $('actor').value = sessionStorage.getItem(ACTOR_KEY) ?? '';
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('token').value.trim();
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  const actor = $('actor').value.trim();
  if (actor) sessionStorage.setItem(ACTOR_KEY, actor);
  else sessionStorage.removeItem(ACTOR_KEY);
  $('token').value = '';
  showTokenState();
});
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showTokenState();
});

// ---- notices -------------------------------------------------------------------------------

function notice(text, kind) {
  const n = $('notice');
  n.textContent = text;
  n.dataset.kind = kind;
  n.hidden = false;
}

/** A problem+json answer in words. */
function problemText(status, problem) {
  const detail = isObj(problem) && typeof problem.detail === 'string' ? problem.detail : '';
  switch (status) {
    case 401:
      return `Not authorised (401): ${detail || 'the admin token is missing or wrong'}. Enter the admin token above.`;
    case 412:
      return `Someone else changed this split meanwhile (412): ${detail} Reload and try again.`;
    case 409:
      return `Refused, it conflicts with the current state (409): ${detail}`;
    default:
      return `${isObj(problem) && problem.title ? problem.title : 'Error'} (${status}): ${detail || 'no detail'}`;
  }
}

// ---- API -----------------------------------------------------------------------------------

async function getJson(url) {
  const res = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

async function write(path, body, what) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  headers['X-Actor'] = sessionStorage.getItem(ACTOR_KEY) || 'operator-page';
  let res;
  try {
    res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
  } catch (err) {
    notice(`${what} failed: the service did not answer (${err.message}).`, 'error');
    return false;
  }
  if (!res.ok) {
    const problem = await res.json().catch(() => null);
    notice(`${what}: ${problemText(res.status, problem)}`, 'error');
    return false;
  }
  notice(`${what}: done.`, 'ok');
  return true;
}

// ---- rendering -----------------------------------------------------------------------------

function roleOf(split, backend) {
  if (backend === split.stable) return 'stable';
  if (backend === split.canary) return 'canary';
  return 'other';
}

function backendsTable(split) {
  const served = isObj(split.weights) && isObj(split.weights.served) ? split.weights.served : {};
  const shares = isObj(split.shares) ? split.shares : {};
  const rows = arr(split.backends).map((b) => {
    const share = Number(shares[b.name] ?? 0);
    const bar = el(
      'span',
      { class: 'bar' },
      el('span', { class: `fill ${roleOf(split, b.name)}` }),
    );
    // CSSOM, not a style attribute: the policy forbids inline styles.
    bar.firstChild.style.width = `${Math.max(0, Math.min(100, share))}%`;
    return el(
      'tr',
      { 'data-backend': b.name },
      el('th', { scope: 'row' }, b.name),
      el('td', {}, roleOf(split, b.name)),
      el('td', {}, str(b.version)),
      el('td', { class: 'num', 'data-field': 'weight' }, str(served[b.name], '0')),
      el(
        'td',
        { class: 'share' },
        el('span', { class: 'num', 'data-field': 'share' }, `${share}%`),
        bar,
      ),
    );
  });
  return captionedTable(
    'backends',
    'Backends',
    ['Backend', 'Role', 'Version', 'Weight served', 'Share'],
    rows,
  );
}

function statusLine(split) {
  const badges = [
    el('span', { class: 'badge', 'data-field': 'source' }, `source: ${str(split.source)}`),
    split.valid === false
      ? el('span', { class: 'badge bad', 'data-field': 'valid' }, 'stored weights invalid')
      : el('span', { class: 'badge good', 'data-field': 'valid' }, 'valid'),
  ];
  if (split.stale)
    badges.push(
      el(
        'span',
        { class: 'badge bad', 'data-field': 'stale' },
        'stale: Redis unreachable, serving the last good weights',
      ),
    );
  const parts = [el('p', { class: 'badges' }, badges)];
  if (arr(split.problems).length > 0) {
    parts.push(
      el(
        'ul',
        { class: 'problems' },
        arr(split.problems).map((p) => el('li', {}, str(p))),
      ),
    );
  }
  return parts;
}

function traefikList(split) {
  if (!Array.isArray(split.traefik))
    return el('p', { class: 'muted' }, 'No Traefik API configured (TRAEFIK_API_URLS).');
  return el(
    'ul',
    { class: 'traefik' },
    split.traefik.map((t) =>
      el(
        'li',
        {},
        el(
          'span',
          { class: `badge ${t.applied ? 'good' : 'bad'}` },
          t.applied ? 'applied' : 'not applied',
        ),
        ' ',
        str(t.traefik),
        t.error ? el('span', { class: 'muted' }, ` (${t.error})`) : null,
      ),
    ),
  );
}

function checkBound(c) {
  const bound = c.threshold ?? c.bound;
  const comparator = c.comparator ? `${c.comparator} ` : '';
  return bound === null || bound === undefined ? '—' : `${comparator}${bound}`;
}

function rolloutView(split) {
  const r = isObj(split.rollout) ? split.rollout : null;
  if (!r) return [el('p', { class: 'muted' }, 'No rollout.')];
  const bake = isObj(r.bake) ? r.bake : null;
  const step = r.step ?? (isObj(r.position) ? r.position.step : undefined);
  const steps = r.steps ?? (isObj(r.position) ? r.position.steps : undefined);
  const out = [
    el('p', { class: 'summary', 'data-field': 'summary' }, str(r.summary, '')),
    el(
      'dl',
      { class: 'facts' },
      el('dt', {}, 'Status'),
      el('dd', {}, str(r.status)),
      el('dt', {}, 'Step'),
      el('dd', {}, `${str(step, '?')} of ${str(Array.isArray(steps) ? steps.length : steps, '?')}`),
      el('dt', {}, 'Canary'),
      el('dd', {}, r.canaryPercent === undefined ? '—' : `${r.canaryPercent}%`),
      el('dt', {}, 'Bake'),
      el(
        'dd',
        {},
        bake
          ? `${str(bake.elapsed)} elapsed, ${str(bake.remaining)} remaining of ${str(bake.total)}`
          : '—',
      ),
      el('dt', {}, 'Version'),
      el('dd', {}, str(r.version)),
    ),
  ];
  const checks = arr(r.checks);
  if (checks.length > 0) {
    out.push(
      captionedTable(
        'checks',
        'Checks',
        ['Check', 'Last value', 'Bound', 'Verdict'],
        checks.map((c) =>
          el(
            'tr',
            {},
            el('th', { scope: 'row' }, str(c.name)),
            el('td', { class: 'num' }, str(c.value)),
            el('td', { class: 'num' }, checkBound(c)),
            el(
              'td',
              {},
              el(
                'span',
                {
                  class: `badge ${c.verdict === 'pass' ? 'good' : c.verdict === 'fail' ? 'bad' : ''}`,
                },
                str(c.verdict, 'unknown'),
              ),
            ),
          ),
        ),
      ),
    );
  }
  return out;
}

const weightsText = (w) =>
  isObj(w)
    ? Object.entries(w)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')
    : '—';

function historyTable(events) {
  if (events.length === 0) return el('p', { class: 'muted' }, 'No changes recorded yet.');
  return captionedTable(
    'history',
    `Last ${HISTORY_LIMIT} changes`,
    ['Time', 'Action', 'Source', 'Actor', 'Reason', 'Weights after'],
    events.map((e) =>
      el(
        'tr',
        {},
        el(
          'td',
          {},
          el(
            'time',
            { datetime: str(e.time, '') },
            str(e.time)
              .replace('T', ' ')
              .replace(/\.\d+Z$/, 'Z'),
          ),
        ),
        el('td', {}, str(e.action)),
        el('td', {}, str(e.source)),
        el('td', { 'data-field': 'actor' }, str(e.actor)),
        el('td', { class: 'reason', 'data-field': 'reason' }, str(e.reason, '')),
        el('td', {}, weightsText(e.after)),
      ),
    ),
  );
}

/** One card per split; its form stays put across refreshes so a typed reason survives. */
function cardFor(name) {
  let card = cards.get(name);
  if (card) return card;
  const id = `split-${cards.size}`;
  const reason = el('input', {
    id: `${id}-reason`,
    type: 'text',
    maxlength: 500,
    placeholder: 'why (goes in the audit log)',
  });
  const act = (label) =>
    el('button', { type: 'button', 'data-action': label.toLowerCase() }, label);
  const buttons = [];
  const scale = el(
    'div',
    { class: 'group', role: 'group', 'aria-label': 'Scale the canary' },
    el('span', { class: 'group-label' }, 'Canary to'),
  );
  for (const p of [5, 25, 50, 100]) {
    const b = el('button', { type: 'button', 'data-action': `scale-${p}` }, `${p}%`);
    b.addEventListener('click', () =>
      run(name, `Scale to ${p}%`, `/api/v1/splits/${encodeURIComponent(name)}/scale`, {
        percent: p,
      }),
    );
    scale.append(b);
  }
  const rollback = act('Rollback');
  rollback.classList.add('danger');
  rollback.addEventListener('click', () =>
    run(
      name,
      'Rollback',
      `/api/v1/splits/${encodeURIComponent(name)}/rollback`,
      {},
      `Roll "${name}" back: all traffic to the stable backend?`,
    ),
  );
  const promote = act('Promote');
  promote.addEventListener('click', () =>
    run(
      name,
      'Promote',
      `/api/v1/splits/${encodeURIComponent(name)}/promote`,
      {},
      `Promote "${name}": all traffic to the canary?`,
    ),
  );
  buttons.push(scale, el('div', { class: 'group' }, rollback, promote));
  const rolloutButtons = el(
    'div',
    { class: 'group', role: 'group', 'aria-label': 'Rollout' },
    el('span', { class: 'group-label' }, 'Rollout'),
  );
  for (const verb of ['pause', 'resume', 'promote', 'abort']) {
    const b = el(
      'button',
      { type: 'button', 'data-action': `rollout-${verb}` },
      verb[0].toUpperCase() + verb.slice(1),
    );
    const confirmText =
      verb === 'promote'
        ? `Promote the rollout of "${name}" to its next step now?`
        : verb === 'abort'
          ? `Abort the rollout of "${name}" and roll back?`
          : undefined;
    b.addEventListener('click', () =>
      run(
        name,
        `Rollout ${verb}`,
        `/api/v1/splits/${encodeURIComponent(name)}/rollout/${verb}`,
        {},
        confirmText,
      ),
    );
    rolloutButtons.append(b);
  }
  const parts = {
    status: el('div', { class: 'status' }),
    backends: el('div', {}),
    traefik: el('div', {}),
    rollout: el('div', {}),
    history: el('div', {}),
    rolloutButtons,
  };
  const root = el(
    'section',
    { class: 'split', 'aria-labelledby': `${id}-title`, 'data-split': name },
    el('h2', { id: `${id}-title` }, name),
    parts.status,
    parts.backends,
    el('h3', {}, 'Traefik'),
    parts.traefik,
    el('h3', {}, 'Rollout'),
    parts.rollout,
    el('h3', {}, 'Act'),
    el(
      'div',
      { class: 'actions' },
      el('label', { for: reason.id }, 'Reason'),
      reason,
      buttons,
      rolloutButtons,
    ),
    el('h3', {}, 'History'),
    parts.history,
  );
  card = { root, parts, reason };
  cards.set(name, card);
  return card;
}

function renderSplit(split, events) {
  const card = cardFor(split.name);
  card.parts.status.replaceChildren(...statusLine(split));
  card.parts.backends.replaceChildren(backendsTable(split));
  card.parts.traefik.replaceChildren(traefikList(split));
  card.parts.rollout.replaceChildren(...rolloutView(split));
  card.parts.rolloutButtons.hidden = !isObj(split.rollout);
  if (events) card.parts.history.replaceChildren(historyTable(events));
  return card;
}

async function run(name, what, path, extra, confirmText) {
  const card = cardFor(name);
  const reason = card.reason.value.trim();
  if (confirmText && !window.confirm(`${confirmText}${reason ? `\nReason: ${reason}` : ''}`))
    return;
  const ok = await write(path, { ...extra, ...(reason && { reason }) }, `${what} (${name})`);
  if (ok) card.reason.value = '';
  await refreshSplit(name);
}

// ---- loading -------------------------------------------------------------------------------

async function loadHistory(name) {
  const body = await getJson(
    `/api/v1/splits/${encodeURIComponent(name)}/history?limit=${HISTORY_LIMIT}`,
  );
  return arr(body.events);
}

async function refreshSplit(name) {
  try {
    const [split, events] = await Promise.all([
      getJson(`/api/v1/splits/${encodeURIComponent(name)}`),
      loadHistory(name),
    ]);
    renderSplit(split, events);
  } catch (err) {
    notice(`Could not read split "${name}": ${err.message}`, 'read-error');
  }
}

async function refreshAll() {
  const main = $('splits');
  try {
    const { splits } = await getJson('/api/v1/splits');
    const histories = await Promise.all(
      arr(splits).map((s) => loadHistory(s.name).catch(() => null)),
    );
    const roots = arr(splits).map((s, i) => renderSplit(s, histories[i]).root);
    if (main.getAttribute('aria-busy') === 'true') {
      main.replaceChildren(...roots);
      main.setAttribute('aria-busy', 'false');
    }
    // A failed read is over once a read succeeds; a refused write stays until the next action.
    if ($('notice').dataset.kind === 'read-error') $('notice').hidden = true;
  } catch (err) {
    notice(`Could not read the splits: ${err.message}`, 'read-error');
  }
}

const pending = new Map();
/** Events come in bursts (weights, then the audit entry): one read per split per burst. */
function refreshSoon(name) {
  if (!cards.has(name) || pending.has(name)) return;
  pending.set(
    name,
    setTimeout(() => {
      pending.delete(name);
      void refreshSplit(name);
    }, 50),
  );
}

// ---- live stream ---------------------------------------------------------------------------

function setStream(state, text) {
  const s = $('stream');
  s.dataset.state = state;
  s.textContent = text;
}

function connect() {
  const source = new EventSource('/api/v1/events');
  source.addEventListener('ready', () => {
    setStream('live', 'Live: changes show as they happen.');
    void refreshAll(); // catch up on what happened while disconnected
  });
  for (const type of ['weights', 'audit', 'rollout']) {
    source.addEventListener(type, (e) => {
      try {
        refreshSoon(JSON.parse(e.data).split);
      } catch {
        /* a malformed event: the next poll catches up */
      }
    });
  }
  source.addEventListener('error', () => {
    setStream(
      'lost',
      'Lost the live stream: reconnecting… (the page re-reads every 5 s meanwhile)',
    );
    if (source.readyState === EventSource.CLOSED) {
      source.close();
      setTimeout(connect, 2000);
    }
  });
}

showTokenState();
void refreshAll();
connect();
setInterval(() => void refreshAll(), POLL_MS);
