/**
 * The HTML shell of the dashboard. Everything inside <main> is rendered by the client
 * bundle from the read API; the shell only carries the filters and the regions the
 * client fills, so the page says something useful even before the script runs.
 */

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export const RANGES = ['15m', '1h', '6h', '24h'] as const;

export function dashboardPage(sourceHash: string): string {
  const v = escapeHtml(sourceHash);
  const ranges = RANGES.map(
    (r) =>
      `<label class="range-option"><input type="radio" name="range" value="${r}"${r === '1h' ? ' checked' : ''}><span>${r}</span></label>`,
  ).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>cxvitals · vital signs</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/app.css?v=${v}">
<script defer src="/dashboard/app.js?v=${v}"></script>
</head>
<body data-state="loading">
<header class="top">
  <h1><span class="brand">cxvitals</span> vital signs</h1>
  <form id="filters" class="filters" aria-label="Filters">
    <label>Region <select name="region"><option value="">all regions</option></select></label>
    <label>Segment <select name="segment"><option value="">all segments</option></select></label>
    <label>Product <select name="product"><option value="">all products</option></select></label>
    <fieldset class="ranges"><legend>Range</legend>${ranges}</fieldset>
  </form>
  <div id="live" class="live" role="status" aria-live="polite"><span class="dot"></span><span class="text">connecting…</span></div>
</header>
<div id="stale" class="banner" role="alert" hidden></div>
<section id="overview" class="overview" aria-label="Goals and maintenance"></section>
<section id="incidents" class="incidents panel" aria-label="Incidents" aria-live="polite"></section>
<main id="services" class="services" aria-busy="true"><p class="placeholder">Loading vital signs…</p></main>
<dialog id="drill" class="drill" aria-labelledby="drill-title">
  <form method="dialog" class="drill-close"><button aria-label="Close">✕</button></form>
  <nav id="drill-crumbs" class="crumbs" aria-label="Drill-down path"></nav>
  <h2 id="drill-title"></h2>
  <div id="drill-body"></div>
</dialog>
<noscript><p class="banner">The dashboard needs JavaScript. The same figures are in the API: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></noscript>
</body>
</html>`;
}

export function unavailablePage(problem: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cxvitals · dashboard unavailable</title></head>
<body style="font:20px/1.5 system-ui,sans-serif;background:#0b0f14;color:#e8edf2;padding:2rem">
<h1>Dashboard unavailable</h1><p>${escapeHtml(problem)}</p>
<p>The API still works: <a style="color:#56B4E9" href="/api/v1/openapi.json">/api/v1/openapi.json</a>, <a style="color:#56B4E9" href="/metrics">/metrics</a>.</p>
</body></html>`;
}

/** The page without a session: paste a read token (or open the URL the start-up banner prints). */
export function signInPage(problem?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cxvitals · sign in</title></head>
<body style="font:20px/1.5 system-ui,sans-serif;background:#0b0f14;color:#e8edf2;padding:2rem">
<h1>Sign in to cxvitals</h1>
${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
<p>The dashboard needs a read token with the <code>read:vitals</code> scope. The embedded demo prints a sign-in URL at start; an operator issues tokens with <code>cxvitals tokens issue</code>.</p>
<form method="get" action="/"><label>Token <input name="token" type="password" autocomplete="off" required></label> <button>Sign in</button></form>
</body></html>`;
}
