// Shared by the pages: the WebSocket address, the message banner, defaults, an fps meter.

/** ws(s)://this-host/path; the access token (if any) travels in the cookie set when the page was opened. */
export function socketUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

const banner = () => document.getElementById('message');
let bannerTimer = null;

/** Shows a message; sticky ones (full, ended) stay until the next one, others fade after a few seconds. */
export function showMessage(text, kind = 'info', sticky = false) {
  const el = banner();
  el.textContent = text;
  el.className = kind;
  el.hidden = false;
  clearTimeout(bannerTimer);
  if (!sticky) bannerTimer = setTimeout(() => { el.hidden = true; }, 5000);
}

export function clearMessage() {
  banner().hidden = true;
}

/** The server's defaults, from the original demo's settings API (the same values a new session starts with). */
export async function serverDefaults() {
  const r = await fetch('api/settings');
  if (!r.ok) throw new Error(`the server answered ${r.status} to api/settings`);
  const p = (await r.json()).input_params.properties;
  return {
    prompt: p.prompt.default, negative_prompt: p.negative_prompt.default, strength: p.strength.default,
    strengths: p.strength.values, guidance_scale: p.guidance_scale.default, delta: p.delta.default, seed: p.seed.default,
  };
}

/** Frames per second over the frames of the last five seconds (slow streams still get a number). */
export class FpsMeter {
  constructor() { this.times = []; }
  mark(now = performance.now()) { this.times.push(now); this.trim(now); }
  trim(now) { while (this.times.length && now - this.times[0] > 5000) this.times.shift(); }
  value(now = performance.now()) {
    this.trim(now);
    const n = this.times.length;
    if (n < 2) return 0;
    return (n - 1) * 1000 / (this.times[n - 1] - this.times[0]);
  }
}

/** Hex SHA-256 of bytes (the page's frame log lets a session prove which images it got). */
export async function digest(buffer) {
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
  return Array.from(h, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Calls fn after the input has been quiet for ms. */
export function debounce(fn, ms) {
  let t = null;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

/** What a close without an explanation from the server means. */
export function closeReason(event) {
  if (event.code === 1009) return 'The server refused a message that was too large and closed the session.';
  if (event.code === 1013) return 'The server is full. Try again in a minute.';
  // also a refused handshake: the browser does not tell why (503 while the server loads or shuts down)
  if (event.code === 1006) return 'The connection to the server failed or was lost. If the server is starting or shutting down, try again in a few seconds.';
  return event.reason ? `The session ended (${event.reason}).` : 'The session ended.';
}
