/**
 * The UI's stylesheet, served as /assets/cuecard.css. It lives in a module (not a .css file) so
 * wrangler, vitest and tsc all bundle it without extra loader rules.
 */
export const STYLESHEET = `
:root {
  --ink: #1c2330; --muted: #5b6577; --line: #dde2ea; --bg: #f6f7f9; --card: #fff;
  --accent: #3451b2; --accent-ink: #fff; --accent-soft: #e8edfb;
  --ok: #1d7a46; --ok-soft: #e3f4ea; --warn: #8a5a00; --warn-soft: #fdf3dc;
  --danger: #b42318; --danger-soft: #fdecea; --focus: #f5a524;
  --mono: ui-monospace, "SFMono-Regular", "JetBrains Mono", Menlo, Consolas, monospace;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; font-family: var(--sans); color: var(--ink); background: var(--bg); line-height: 1.5; }
a { color: var(--accent); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 3px; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.2rem 0 0.6rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 0.6rem; }
h3 { font-size: 1rem; margin: 1rem 0 0.4rem; }
code, .mono, pre { font-family: var(--mono); font-size: 0.9rem; }
.muted { color: var(--muted); }
.small { font-size: 0.87rem; }
.lead { font-size: 1.05rem; margin: 0 0 0.4rem; color: #364152; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip-link { position: absolute; left: -999px; top: 0.5rem; background: var(--card); padding: 0.4rem 0.8rem; z-index: 10; }
.skip-link:focus { left: 0.5rem; }

/* The header wraps (nav below the brand, the account below that) instead of overflowing a phone. */
.topbar { display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem 2rem; padding: 0.55rem 1.5rem; min-height: 3.2rem; background: #1f2a44; color: #e9edf5; }
.topbar a { color: #e9edf5; text-decoration: none; }
.topbar a:hover { text-decoration: underline; }
.brand { font-weight: 700; font-size: 1.1rem; letter-spacing: 0.02em; }
.topbar nav { display: flex; flex-wrap: wrap; gap: 0.3rem 1.25rem; }
.who { margin-left: auto; display: flex; flex-wrap: wrap; align-items: center; gap: 0.3rem 1rem; font-size: 0.92rem; }
.who form { margin: 0; }
.project { background: rgba(255,255,255,0.12); padding: 0.1rem 0.55rem; border-radius: 999px; }
.role { font-size: 0.78rem; padding: 0.05rem 0.45rem; border-radius: 999px; background: #3a4a70; margin-left: 0.25rem; }
.link-button { background: none; border: 0; color: #e9edf5; font: inherit; cursor: pointer; padding: 0; text-decoration: underline; }

main { max-width: 1240px; margin: 0 auto; padding: 1.25rem 1.5rem 4rem; }
.page-head { display: flex; justify-content: space-between; align-items: flex-start; gap: 1rem; margin-bottom: 0.5rem; }
.actions { display: flex; gap: 0.5rem; flex-wrap: wrap; justify-content: flex-end; }
.breadcrumbs ol { list-style: none; display: flex; flex-wrap: wrap; gap: 0.4rem; padding: 0; margin: 0 0 0.6rem; font-size: 0.9rem; color: var(--muted); }
.breadcrumbs li + li::before { content: "/"; margin-right: 0.4rem; color: #aab2c0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1.2rem 1.4rem; margin: 1rem 0; }

.button, button.button-primary, button.button-secondary, button.button-danger, button.button-quiet {
  display: inline-block; font: inherit; font-weight: 600; font-size: 0.93rem; padding: 0.45rem 0.95rem; border-radius: 7px;
  border: 1px solid transparent; cursor: pointer; text-decoration: none; line-height: 1.3;
}
.button-primary { background: var(--accent); color: var(--accent-ink); }
.button-primary:hover { background: #2a4296; }
.button-secondary { background: var(--card); color: var(--ink); border-color: #c4cbd6 !important; }
.button-secondary:hover { background: #eef1f5; }
.button-danger { background: var(--danger); color: #fff; }
.button-danger-quiet { background: var(--card); color: var(--danger); border-color: #efc2bd !important; }
.button-quiet { background: none; color: var(--muted); border: 0; font-weight: 500; padding: 0.2rem 0.4rem; }
.button-quiet:hover { color: var(--danger); }
.quiet-link { color: var(--muted); margin-left: 0.5rem; }
.form-actions { display: flex; align-items: center; gap: 0.75rem; margin-top: 1.2rem; }

.field { margin: 0 0 1rem; display: flex; flex-direction: column; gap: 0.25rem; }
.field > label, .message-head label { font-weight: 600; font-size: 0.92rem; }
.field-row { display: flex; gap: 1.2rem; flex-wrap: wrap; }
.field-row .field { min-width: 14rem; }
.grow { flex: 1; }
input[type=text], input[type=search], input[type=password], input[type=url], input[type=date], select, textarea {
  font: inherit; padding: 0.45rem 0.6rem; border: 1px solid #c4cbd6; border-radius: 6px; background: #fff; color: var(--ink); width: 100%;
}
textarea { resize: vertical; line-height: 1.45; }
textarea.mono { font-family: var(--mono); font-size: 0.9rem; background: #fbfcfd; }
input:focus, select:focus, textarea:focus { border-color: var(--accent); }
[aria-invalid=true] { border-color: var(--danger) !important; background: #fffafa; }
.hint { margin: 0; font-size: 0.85rem; color: var(--muted); }
.field-error { margin: 0.1rem 0 0; color: var(--danger); font-size: 0.88rem; font-weight: 600; }
.field-error::before { content: "⚠ "; }
.checkbox { flex-direction: row; align-items: center; gap: 0.4rem; }
.checkbox input { width: auto; }

.filters { display: flex; align-items: flex-end; gap: 1rem; flex-wrap: wrap; background: var(--card); border: 1px solid var(--line);
  border-radius: 10px; padding: 0.9rem 1.1rem; margin: 0.8rem 0 1.2rem; }
.filters .field { margin: 0; min-width: 11rem; }
.filters .checkbox { min-width: 0; padding-bottom: 0.5rem; }
.filters button { margin-bottom: 0.05rem; }

.notice { border-radius: 8px; padding: 0.7rem 1rem; margin: 0.8rem 0; border: 1px solid; }
.notice p { margin: 0.2rem 0; }
.notice-info { background: var(--warn-soft); border-color: #f0d9a0; color: #5c3d00; }
.notice-ok { background: var(--ok-soft); border-color: #b5dfc4; color: #14532d; }
.notice-error { background: var(--danger-soft); border-color: #f3b8b1; color: #7a1610; }

.table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
.table th, .table td { text-align: left; padding: 0.6rem 0.8rem; border-bottom: 1px solid var(--line); vertical-align: top; }
.table thead th { background: #eef1f5; font-size: 0.82rem; text-transform: uppercase; letter-spacing: 0.04em; color: #4a5568; }
.table tbody tr:last-child > * { border-bottom: 0; }
.table tbody tr:hover { background: #fafbfc; }
.table tbody th { font-weight: 600; }
.table td:has(> time) { white-space: nowrap; }
.numeric { text-align: right !important; font-variant-numeric: tabular-nums; }
.row-actions { white-space: nowrap; text-align: right !important; }
.row-actions a + a { margin-left: 0.9rem; }
.prompt-name { font-weight: 600; font-family: var(--mono); }
.prompts-table p { margin: 0.15rem 0 0; }
.empty { background: var(--card); border: 1px dashed #c4cbd6; border-radius: 10px; padding: 2rem; text-align: center; color: var(--muted); }

.badge { display: inline-flex; align-items: center; gap: 0.3rem; font-size: 0.8rem; font-weight: 600; padding: 0.05rem 0.5rem;
  border-radius: 999px; margin: 0 0.25rem 0.15rem 0; border: 1px solid; white-space: nowrap; vertical-align: middle; }
.badge-live { background: var(--ok-soft); color: var(--ok); border-color: #a8d8b9; }
.badge-auto { background: #eef0f3; color: #4a5568; border-color: #d2d7df; }
.badge-other { background: var(--accent-soft); color: var(--accent); border-color: #c3cff3; }
.badge-version { font-weight: 500; }
.label-list { list-style: none; margin: 0; padding: 0; }
.label-list li { margin-bottom: 0.1rem; }
.chips { list-style: none; margin: 0.2rem 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.3rem; }
.chip { background: #eef1f5; border-radius: 5px; padding: 0 0.45rem; font-size: 0.82rem; }
.type { font-size: 0.72rem; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); border: 1px solid var(--line);
  border-radius: 4px; padding: 0 0.3rem; margin-left: 0.45rem; vertical-align: middle; font-family: var(--sans); font-weight: 600; }
.kind-rollback { color: var(--warn); font-weight: 600; }

.tabs { display: flex; gap: 0.3rem; margin: 0.4rem 0 0; border-bottom: 1px solid var(--line); }
.tabs a { padding: 0.45rem 0.9rem; text-decoration: none; color: var(--muted); border: 1px solid transparent; border-bottom: 0; border-radius: 7px 7px 0 0; }
.tabs a[aria-current=page] { background: var(--card); border-color: var(--line); color: var(--ink); font-weight: 600; margin-bottom: -1px; }
.section-title { border-top: 1px solid var(--line); padding-top: 1rem; }
.editor-grid { display: grid; grid-template-columns: minmax(0, 1fr) 15rem; gap: 1.4rem; }
.editor-side .variables { position: sticky; top: 1rem; background: #f8f9fb; border: 1px solid var(--line); border-radius: 8px; padding: 0.6rem 0.9rem; }
.small-heading { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted); margin: 0.2rem 0 0.5rem; }
.messages { border: 1px solid var(--line); border-radius: 8px; padding: 0.6rem 1rem 1rem; margin: 0 0 1rem; }
.messages legend { font-weight: 600; font-size: 0.92rem; padding: 0 0.3rem; }
.message { border-bottom: 1px dashed var(--line); padding: 0.6rem 0 0.8rem; }
.message-head { display: flex; align-items: center; gap: 0.6rem; margin-bottom: 0.4rem; }
.message-head select { width: auto; }
.message-head button { margin-left: auto; }

.card > h2:first-child { margin-top: 0; }
.declarations { margin: 0 0 1rem; }
.declaration { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 0 1rem; border-bottom: 1px dashed var(--line); padding: 0.4rem 0; }
.declaration .field { margin: 0 0 0.5rem; min-width: 10rem; }
.declaration-name { flex-basis: 100%; margin: 0.2rem 0; font-size: 0.95rem; }
.two-columns { display: grid; grid-template-columns: minmax(0, 1.2fr) minmax(0, 1fr); gap: 2rem; }
pre.code { background: #fbfcfd; border: 1px solid var(--line); border-radius: 8px; padding: 0.8rem 1rem; white-space: pre-wrap; word-break: break-word; margin: 0 0 0.6rem; }
.message-list { list-style: none; margin: 0; padding: 0; }
.message-list li { margin-bottom: 0.6rem; }
.role-tag { display: inline-block; font-size: 0.75rem; font-weight: 700; text-transform: uppercase; letter-spacing: 0.05em; color: #4a5568; margin-bottom: 0.2rem; }
.rendered { margin-top: 1rem; }
.rendered pre.code { background: #f3f8f4; border-color: #b5dfc4; }
.confirm .summary { font-size: 1.05rem; margin: 0 0 0.6rem; }
.sign-in { max-width: 28rem; margin: 4rem auto; }

.diff-block h3 { margin-top: 1.4rem; }
.diff { width: 100%; border-collapse: collapse; table-layout: fixed; background: var(--card); border: 1px solid var(--line); font-family: var(--mono); font-size: 0.86rem; }
.diff th { font-family: var(--sans); text-align: left; background: #eef1f5; padding: 0.45rem 0.7rem; font-size: 0.85rem; border-bottom: 1px solid var(--line); }
.diff td { padding: 0.1rem 0.6rem; white-space: pre-wrap; word-break: break-word; vertical-align: top; }
.diff col.diff-number-col { width: 3rem; }
.diff td.diff-number { color: #98a1b0; text-align: right; user-select: none; border-right: 1px solid var(--line); }
.diff td.diff-removed { background: #fdecea; }
.diff td.diff-added { background: #e6f6ec; }
.diff td.diff-empty { background: #f4f5f7; }
.diff del { background: #f7c1bb; text-decoration: line-through; text-decoration-color: #b42318; border-radius: 2px; }
.diff ins { background: #a9e2bd; text-decoration: none; border-radius: 2px; }
.preview form.card { margin-top: 0.4rem; }

.narrow { max-width: 46rem; }
.section-head { align-items: center; margin: 2rem 0 0.6rem; }
.section-head h2 { margin: 0; }
.pager { margin: 1rem 0; }
.row-inactive > * { color: var(--muted); }
.row-actions form { margin: 0; display: inline; }
.status, .role-pill { display: inline-block; font-size: 0.78rem; font-weight: 600; padding: 0.05rem 0.5rem; border-radius: 999px;
  border: 1px solid; white-space: nowrap; }
.status-active, .status-succeeded { background: var(--ok-soft); color: var(--ok); border-color: #a8d8b9; }
.status-revoked, .status-failed { background: var(--danger-soft); color: var(--danger); border-color: #f3b8b1; }
.status-retrying, .status-pending { background: var(--warn-soft); color: var(--warn); border-color: #f0d9a0; }
.status-experiment-running { background: var(--ok-soft); color: var(--ok); border-color: #a8d8b9; }
.status-experiment-paused { background: var(--warn-soft); color: var(--warn); border-color: #f0d9a0; }
.status-experiment-draft, .status-experiment-stopped { background: #eef0f3; color: #4a5568; border-color: #d2d7df; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 1rem 0; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 1rem 0; padding: 0.6rem 1rem; }
fieldset legend { font-weight: 600; padding: 0 0.3rem; }
.role-pill { background: #eef0f3; color: #4a5568; border-color: #d2d7df; }
.role-pill-publisher { background: var(--accent-soft); color: var(--accent); border-color: #c3cff3; }
.role-pill-admin { background: #f3e8fb; color: #6b2c91; border-color: #dcc3ee; }
.secret-card .notice { margin-top: 0; }
input.secret { font-family: var(--mono); font-size: 0.95rem; background: #fbfcfd; }
.event-types { margin-top: 0.4rem; }
.checkbox-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 0 1rem; margin-top: 0.4rem; }
.checkbox-grid .field { margin: 0.2rem 0; }
.endpoint-url { word-break: break-all; }
.endpoint-title { word-break: break-all; }
.excerpt { max-width: 22rem; word-break: break-word; }
.excerpt code { font-size: 0.82rem; }
.delivery-error { color: var(--danger); }
.audit-table td { font-size: 0.92rem; }
.audit-table td:last-child { min-width: 24rem; }
h1 code, h1 .mono { font-size: 1.3rem; }
button:disabled { opacity: 0.45; cursor: not-allowed; }
.webhooks-table p { margin: 0.15rem 0 0; }
.action-name { font-family: var(--mono); font-size: 0.88rem; }
.action-denied { color: var(--danger); font-weight: 600; }
.change-list { list-style: none; margin: 0; padding: 0; font-family: var(--mono); font-size: 0.82rem; }
.change-field { color: var(--muted); }
.change-list del { background: #fdecea; text-decoration: line-through; text-decoration-color: #b42318; border-radius: 2px; padding: 0 0.15rem; word-break: break-word; }
.change-list ins { background: #e6f6ec; text-decoration: none; border-radius: 2px; padding: 0 0.15rem; word-break: break-word; }
.metrics-controls { display: flex; flex-wrap: wrap; gap: 1.5rem; margin: 1rem 0; }
.choices { display: flex; align-items: center; gap: 0.3rem; }
.choices a { padding: 0.2rem 0.6rem; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; background: var(--card); }
.choices a[aria-current=true] { background: var(--accent); color: var(--accent-ink); border-color: var(--accent); font-weight: 600; }
/* A chart is drawn 560 units wide with 11-unit axis text: shown about that wide, its labels stay legible. */
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(30rem, 1fr)); gap: 1rem; }
.chart { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 0.7rem 0.9rem; }
.chart-title { font-weight: 600; margin-bottom: 0.3rem; }
.chart-svg { display: block; height: auto; }
.chart-legend { list-style: none; display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; margin: 0.3rem 0 0; padding: 0; font-size: 0.85rem; }
.chart-data { margin-top: 0.4rem; font-size: 0.85rem; }
.chart-data summary { cursor: pointer; color: var(--muted); }
.table.compact th, .table.compact td { padding: 0.25rem 0.5rem; }
.table-scroll { overflow-x: auto; }
.totals caption { text-align: left; color: var(--muted); padding: 0.4rem 0.8rem; }
.totals tr.muted > * { color: var(--muted); font-style: italic; }
.run-answer { min-height: 5rem; }
.run-heading { margin-bottom: 0.2rem; }
.compare-columns { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.4rem; }
.compare-row { margin-bottom: 1rem; }
.trend-figures { display: flex; flex-wrap: wrap; gap: 2rem; align-items: center; }
.trend-figures > div { display: flex; align-items: center; gap: 0.6rem; }
.trend-number { font-size: 1.2rem; font-variant-numeric: tabular-nums; }
.sparkline { vertical-align: middle; }
@media (max-width: 900px) { .two-columns, .editor-grid, .compare-columns { grid-template-columns: 1fr; } .topbar { gap: 0.4rem 1rem; } }
/* On a phone a wide table scrolls inside itself, never the page. */
@media (max-width: 700px) {
  main { padding: 1rem 0.9rem 3rem; }
  .topbar { padding: 0.5rem 0.9rem; }
  /* Long ids and URLs break anywhere, but table columns keep whole words and scroll instead. */
  main { overflow-wrap: anywhere; }
  /* Relative: the visually hidden text in its cells is placed inside it, not beyond the page. */
  .table { display: block; overflow-x: auto; position: relative; overflow-wrap: normal; }
  .table td:has(> time) { white-space: normal; }
  .page-head { flex-wrap: wrap; }
  .actions { justify-content: flex-start; }
  .field-row .field, .filters .field { min-width: 0; flex: 1 1 100%; }
  .charts { grid-template-columns: minmax(0, 1fr); }
  .facts { grid-template-columns: 1fr; }
  .facts dd { margin-bottom: 0.5rem; }
}
`;
