// The camera page: camera (or screen) -> JPEG frames over a WebSocket -> generated JPEGs back.
import { socketUrl, showMessage, clearMessage, serverDefaults, FpsMeter, digest, debounce, closeReason } from './common.js';
import { StyleControls } from './style.js';

const $ = (id) => document.getElementById(id);
const video = $('camera');
const output = $('output');
const overlay = $('overlay');
const startButton = $('start');

// Debug state, readable from the console (and by the end-to-end test): the session, the frames
// received (number, input frame, SHA-256), the settings the server accepted, its messages.
const demo = { state: 'idle', session: null, frames: [], accepted: null, messages: [], hello: null, reconnects: 0,
  style: null, errors: [] };
window.demo = demo;

const MAX_IN_FLIGHT = 2; // frames sent and not yet answered: one in the model, one waiting
let ws = null;
let stream = null;       // the MediaStream being captured
let screenShared = false;
let running = false;
let server = null;       // the hello message: size, limits
let sentSeq = 0;         // frames sent this session (the server numbers them the same way)
let answeredSeq = 0;     // newest input frame an output came back for
let lastSend = 0;
let lastOutputAt = 0;
let encoding = false;
let pendingHeader = null;
let lastBlob = null;
let latency = null;
let sticky = false;      // a full/ended message was shown: keep it
let movingOn = false;    // the server is draining and asked this page to reconnect
let reconnectTries = 0;  // reconnections since the last session that said hello
const RECONNECT_TRIES = 5;
const sentAt = new Map();
const fps = new FpsMeter();
const canvas = document.createElement('canvas');

// ---- settings ------------------------------------------------------------------------------

function currentSettings() {
  const s = {
    type: 'settings',
    negative_prompt: $('negative').value,
    strength: $('strength').value,
    guidance_scale: Number($('guidance').value),
    delta: Number($('delta').value),
    similar_image_filter: { enabled: $('filter').checked, threshold: Number($('threshold').value) },
    interpolation: $('interpolation').value,
    prompt_transition_frames: Math.max(0, Math.min(1000, Math.round(Number($('transition').value) || 0))),
  };
  // a second prompt (or seed) turns the single value into a two-entry blend weighted by its slider
  const blend = Number($('blend').value);
  if ($('blend-prompt').value.trim() !== '') {
    s.prompt_list = [[$('prompt').value, 1 - blend], [$('blend-prompt').value, blend]];
  } else {
    s.prompt = $('prompt').value;
  }
  const seedWeight = Number($('seed-weight').value);
  if ($('blend-seed').value !== '') {
    s.seed_list = [[Number($('seed').value), 1 - seedWeight], [Number($('blend-seed').value), seedWeight]];
  } else {
    s.seed = Number($('seed').value);
  }
  const scales = [...document.querySelectorAll('#controlnets input[type=range]')].map((e) => Number(e.value));
  if (scales.length > 0) s.controlnet_scales = scales;
  return style.settingsInto(s);
}

function sendSettings() {
  if (ws && ws.readyState === WebSocket.OPEN && demo.hello) ws.send(JSON.stringify(currentSettings()));
}
const sendSettingsSoon = debounce(sendSettings, 250);
const style = new StyleControls(() => ws, sendSettingsSoon, demo);

function showValues() {
  for (const id of ['guidance', 'delta', 'threshold', 'blend', 'seed-weight']) {
    document.querySelector(`output[for=${id}]`).textContent = Number($(id).value).toFixed(id === 'threshold' ? 3 : 2);
  }
}

// One scale slider per ControlNet the server runs (0 turns one off); kept across sessions.
function fillControlNets(scales, range) {
  const box = $('controlnets');
  if (box.children.length === scales.length) return;
  box.replaceChildren(...scales.map((v, i) => {
    const label = document.createElement('label');
    const input = Object.assign(document.createElement('input'),
      { id: `controlnet-${i}`, type: 'range', min: range[0], max: range[1], step: 0.05, value: v });
    const out = document.createElement('output');
    out.textContent = Number(v).toFixed(2);
    input.addEventListener('input', () => { out.textContent = Number(input.value).toFixed(2); sendSettingsSoon(); });
    label.append(`ControlNet ${i + 1} scale `, input, out);
    return label;
  }));
  box.hidden = scales.length === 0;
}

function fillStrengths(names, selected) {
  const sel = $('strength');
  sel.replaceChildren(...names.map((n) => new Option(n, n, false, n === selected)));
  if (selected === 'custom') sel.append(new Option('custom (server default)', 'custom', true, true));
}

async function loadDefaults() {
  try {
    const d = await serverDefaults();
    $('prompt').value = d.prompt;
    $('negative').value = d.negative_prompt;
    fillStrengths(d.strengths, d.strength);
    $('guidance').value = d.guidance_scale;
    $('delta').value = d.delta;
    $('seed').value = d.seed;
    $('threshold').value = 0.98;
    showValues();
  } catch (e) {
    showMessage(`Could not load the server's settings: ${e.message}`, 'error', true);
  }
}

for (const id of ['prompt', 'negative', 'blend-prompt']) $(id).addEventListener('input', sendSettingsSoon);
for (const id of ['guidance', 'delta', 'threshold', 'blend', 'seed-weight']) {
  $(id).addEventListener('input', () => { showValues(); sendSettingsSoon(); });
}
for (const id of ['strength', 'seed', 'filter', 'interpolation', 'transition', 'blend-seed']) $(id).addEventListener('change', sendSettings);
$('dice').addEventListener('click', () => { $('seed').value = Math.floor(Math.random() * 2 ** 31); sendSettings(); });

// ---- camera and screen ---------------------------------------------------------------------------

async function listCameras() {
  const sel = $('camera-select');
  const chosen = sel.value;
  const cams = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
  sel.replaceChildren(new Option('default camera', ''),
    ...cams.map((c, i) => new Option(c.label || `camera ${i + 1}`, c.deviceId, false, c.deviceId === chosen)));
}

async function openCamera() {
  const id = $('camera-select').value;
  return navigator.mediaDevices.getUserMedia({
    video: { deviceId: id ? { exact: id } : undefined, width: { ideal: 640 }, height: { ideal: 480 } }, audio: false,
  });
}

async function useSource(next) {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = next;
  video.srcObject = stream;
  stream.getVideoTracks()[0]?.addEventListener('ended', () => { if (screenShared) { screenShared = false; stop(); } });
  await video.play().catch(() => {});
}

$('camera-select').addEventListener('change', async () => {
  if (running && !screenShared) await useSource(await openCamera());
});

$('share').addEventListener('click', async () => {
  try {
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    screenShared = true;
    await useSource(screen);
    if (!running) await start();
  } catch (e) {
    showMessage(`Screen sharing was not started: ${e.message}`, 'error');
  }
});

// ---- session -----------------------------------------------------------------------------------

async function start() {
  if (running) return;
  clearMessage();
  sticky = false;
  try {
    if (!screenShared) await useSource(await openCamera());
    await listCameras();
  } catch (e) {
    showMessage(`No camera: ${e.message}`, 'error', true);
    return;
  }
  running = true;
  reconnectTries = 0;
  startButton.textContent = 'Stop';
  connect();
  pump();
}

/** Opens a session for the running page (at start, and again after a server that drains asked us to move). */
function connect() {
  demo.state = 'connecting';
  sentSeq = 0; answeredSeq = 0; pendingHeader = null; latency = null; sentAt.clear(); server = null; demo.hello = null;
  movingOn = false;
  const socket = new WebSocket(socketUrl('/ws'));
  ws = socket;
  socket.binaryType = 'arraybuffer';
  socket.onmessage = (e) => (typeof e.data === 'string' ? onText(JSON.parse(e.data)) : onImage(e.data));
  socket.onclose = (e) => {
    if (ws !== socket) return; // a socket this page already left
    ws = null;
    // A draining server said where to go (any server behind the same address), or the first tries to get
    // there failed while the proxy still sent us to the stopping one: try again, a few times, a moment apart.
    if (running && (movingOn || (reconnectTries > 0 && !demo.hello)) && reconnectTries < RECONNECT_TRIES) {
      reconnectTries += 1;
      demo.state = 'reconnecting';
      setTimeout(() => { if (running && !ws) connect(); }, 500 * reconnectTries + Math.random() * 500);
      return;
    }
    if (!sticky && running) showMessage(closeReason(e), e.code === 1000 ? 'info' : 'error', true);
    stop();
  };
}

function stop() {
  running = false;
  if (!sticky) demo.state = 'stopped';
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'stopped');
  ws = null;
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  screenShared = false;
  video.srcObject = null;
  startButton.textContent = 'Start';
  overlay.textContent = 'stopped';
}

startButton.addEventListener('click', () => (running ? stop() : start()));

function onText(m) {
  demo.messages.push(m.type);
  switch (m.type) {
    case 'hello':
      server = m;
      demo.hello = m;
      demo.session = m.session;
      demo.state = 'running';
      if (reconnectTries > 0) showMessage('Reconnected.', 'info');
      reconnectTries = 0;
      fillStrengths(Object.keys(m.strengths), $('strength').value || m.settings.strength);
      fillControlNets(m.settings.controlnet_scales || [], m.limits.controlnet_scale || [0, 2]);
      style.onHello(m.ip_adapter); // the page's style image, to a new session too
      sendSettings(); // the page's controls are the truth from now on
      break;
    case 'settings':
      demo.accepted = m.settings;
      break;
    case 'frame':
      pendingHeader = m;
      break;
    case 'status':
      $('server-stats').textContent =
        `model ${m.fps_out.toFixed(1)} fps · server ${Math.round(m.latency_ms.p50)} ms · dropped ${m.dropped}`;
      break;
    case 'style_image':
      style.onStyleImage(m);
      break;
    case 'error':
      style.onError(m);
      showMessage(m.message, 'error');
      break;
    case 'ended':
      if (m.reconnect && running) {
        // the server is shutting down: keep the camera, and start a new session where the address now leads
        movingOn = true;
        demo.state = 'reconnecting';
        demo.reconnects += 1;
        showMessage('This server is shutting down. Reconnecting…', 'info', true);
        break;
      }
    // falls through
    case 'full':
      sticky = true;
      demo.state = m.type;
      showMessage(m.message, m.type === 'full' ? 'error' : 'info', true);
      break;
  }
}

function onImage(buffer) {
  const header = pendingHeader;
  pendingHeader = null;
  const now = performance.now();
  fps.mark(now);
  lastOutputAt = now;
  if (header) {
    const sent = sentAt.get(header.input_seq);
    if (sent !== undefined) latency = latency === null ? now - sent : 0.8 * latency + 0.2 * (now - sent);
    answeredSeq = Math.max(answeredSeq, header.input_seq);
    for (const k of sentAt.keys()) if (k <= header.input_seq) sentAt.delete(k);
  }
  const blob = new Blob([buffer], { type: 'image/jpeg' });
  const url = URL.createObjectURL(blob);
  const previous = output.src;
  output.src = url;
  if (previous.startsWith('blob:')) URL.revokeObjectURL(previous);
  lastBlob = blob;
  $('snapshot').disabled = false;
  digest(buffer).then((d) => {
    demo.frames.push({ session: header?.session, seq: header?.seq, input: header?.input_seq, digest: d });
    if (demo.frames.length > 1000) demo.frames.shift();
  });
}

/** Sends the camera's newest frame whenever the server has room for one, at most max_fps. */
function pump() {
  if (!running) return;
  const now = performance.now();
  // no answer for much longer than usual: a frame was dropped on the way, stop waiting for it
  const patience = Math.max(2000, 3 * (latency ?? 0));
  if (answeredSeq < sentSeq && now - Math.max(lastOutputAt, lastSend) > patience) answeredSeq = sentSeq;
  const ready = ws && ws.readyState === WebSocket.OPEN && server && video.readyState >= 2 && !encoding;
  if (ready && sentSeq - answeredSeq < MAX_IN_FLIGHT && now - lastSend >= 1000 / server.max_fps) {
    captureAndSend(now);
  }
  setTimeout(pump, 5);
}

function captureAndSend(now) {
  const w = server.width, h = server.height;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  // centre crop to the server's aspect ratio, then scale: the server never resizes our frames
  const vw = video.videoWidth, vh = video.videoHeight;
  const scale = Math.min(vw / w, vh / h);
  const sw = w * scale, sh = h * scale;
  canvas.getContext('2d').drawImage(video, (vw - sw) / 2, (vh - sh) / 2, sw, sh, 0, 0, w, h);
  encoding = true;
  lastSend = now;
  canvas.toBlob((blob) => {
    encoding = false;
    if (!blob || !ws || ws.readyState !== WebSocket.OPEN) return;
    sentSeq += 1;
    sentAt.set(sentSeq, now);
    ws.send(blob);
  }, 'image/jpeg', 0.85);
}

// The overlay: frames per second received and capture-to-display latency.
setInterval(() => {
  if (!running) return;
  const f = fps.value();
  overlay.textContent = `${f.toFixed(1)} fps · ${latency === null ? '–' : Math.round(latency)} ms`;
}, 250);

$('snapshot').addEventListener('click', () => {
  if (!lastBlob) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(lastBlob);
  a.download = `streamdiffusion4j-${new Date().toISOString().replace(/[:.]/g, '-')}.jpg`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

loadDefaults();
navigator.mediaDevices?.enumerateDevices && listCameras().catch(() => {});
