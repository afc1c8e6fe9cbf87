// The txt2img page: settings over a WebSocket as the user types, pictures back.
import { socketUrl, showMessage, serverDefaults, FpsMeter, debounce, closeReason } from './common.js';
import { StyleControls } from './style.js';

const $ = (id) => document.getElementById(id);
const demo = { state: 'connecting', session: null, frames: 0, accepted: null, reconnects: 0, style: null, errors: [] };
window.demo = demo;
const fps = new FpsMeter();
let ws = null;
let ended = false;
let movingOn = false;     // the server is draining and asked this page to reconnect
let reconnectTries = 0;   // reconnections since the last session that said hello
const RECONNECT_TRIES = 5;
let latest = null;

function settings() {
  const s = { type: 'settings', guidance_scale: Number($('guidance').value), seed: Number($('seed').value),
    interpolation: $('interpolation').value };
  // a second prompt turns the prompt into a two-entry blend weighted by the blend slider
  const blend = Number($('blend').value);
  if ($('blend-prompt').value.trim() !== '') s.prompt_list = [[$('prompt').value, 1 - blend], [$('blend-prompt').value, blend]];
  else s.prompt = $('prompt').value;
  return style.settingsInto(s);
}

function send() {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(settings()));
}
const sendSoon = debounce(send, 150);
const style = new StyleControls(() => ws, sendSoon, demo);

$('prompt').addEventListener('input', sendSoon);
$('blend-prompt').addEventListener('input', sendSoon);
$('blend').addEventListener('input', () => { $('blend').nextElementSibling.textContent = Number($('blend').value).toFixed(2); sendSoon(); });
$('interpolation').addEventListener('change', send);
$('blend').nextElementSibling.textContent = Number($('blend').value).toFixed(2);
$('guidance').addEventListener('input', () => { $('guidance').nextElementSibling.textContent = Number($('guidance').value).toFixed(2); sendSoon(); });
$('seed').addEventListener('change', send);
$('dice').addEventListener('click', () => { $('seed').value = Math.floor(Math.random() * 2 ** 31); send(); });

function connect() {
  movingOn = false;
  demo.state = 'connecting';
  const socket = new WebSocket(socketUrl('/ws/txt2img'));
  ws = socket;
  let greeted = false;
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (e) => {
    if (typeof e.data !== 'string') {
      fps.mark();
      demo.frames += 1;
      const url = URL.createObjectURL(new Blob([e.data], { type: 'image/jpeg' }));
      const previous = $('output').src;
      $('output').src = url;
      if (previous.startsWith('blob:')) URL.revokeObjectURL(previous);
      latest = performance.now();
      return;
    }
    const m = JSON.parse(e.data);
    if (m.type === 'hello') {
      greeted = true;
      demo.session = m.session;
      demo.state = 'running';
      if (reconnectTries > 0) showMessage('Reconnected.', 'info');
      reconnectTries = 0;
      style.onHello(m.ip_adapter);
      send();
    } else if (m.type === 'settings') {
      demo.accepted = m.settings;
    } else if (m.type === 'style_image') {
      style.onStyleImage(m);
    } else if (m.type === 'error') {
      style.onError(m);
      showMessage(m.message, 'error');
    } else if (m.type === 'ended' && m.reconnect) {
      // the server is shutting down: start a new session where the address now leads
      movingOn = true;
      demo.state = 'reconnecting';
      demo.reconnects += 1;
      showMessage('This server is shutting down. Reconnecting…', 'info', true);
    } else if (m.type === 'full' || m.type === 'ended') {
      ended = true;
      demo.state = m.type;
      showMessage(m.message, m.type === 'full' ? 'error' : 'info', true);
    }
  };
  ws.onclose = (e) => {
    if (ws !== socket) return;
    // moving on from a draining server, or the first tries to get to another one failed: try again, a moment apart
    if ((movingOn || (reconnectTries > 0 && !greeted)) && reconnectTries < RECONNECT_TRIES) {
      reconnectTries += 1;
      setTimeout(connect, 500 * reconnectTries + Math.random() * 500);
      return;
    }
    if (!ended) showMessage(closeReason(e), 'error', true);
    if (!ended) demo.state = 'closed';
    $('overlay').textContent = 'disconnected';
  };
}

setInterval(() => {
  if (demo.state !== 'running') return;
  const idle = latest === null || performance.now() - latest > 2000;
  $('overlay').textContent = idle ? 'waiting for a change' : `${fps.value().toFixed(1)} fps`;
}, 250);

serverDefaults().then((d) => {
  $('prompt').value = d.prompt;
  $('guidance').value = d.guidance_scale;
  $('guidance').nextElementSibling.textContent = Number(d.guidance_scale).toFixed(2);
  $('seed').value = d.seed;
  connect();
}).catch((e) => showMessage(`Could not load the server's settings: ${e.message}`, 'error', true));
