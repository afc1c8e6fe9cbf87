// The txt2img page: settings over a WebSocket as the user types, pictures back.
import { socketUrl, showMessage, serverDefaults, FpsMeter, debounce, closeReason } from './common.js';

const $ = (id) => document.getElementById(id);
const demo = { state: 'connecting', session: null, frames: 0, accepted: null };
window.demo = demo;
const fps = new FpsMeter();
let ws = null;
let ended = false;
let latest = null;

function settings() {
  return { type: 'settings', prompt: $('prompt').value, guidance_scale: Number($('guidance').value), seed: Number($('seed').value) };
}

function send() {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(settings()));
}
const sendSoon = debounce(send, 150);

$('prompt').addEventListener('input', sendSoon);
$('guidance').addEventListener('input', () => { $('guidance').nextElementSibling.textContent = Number($('guidance').value).toFixed(2); sendSoon(); });
$('seed').addEventListener('change', send);
$('dice').addEventListener('click', () => { $('seed').value = Math.floor(Math.random() * 2 ** 31); send(); });

function connect() {
  ws = new WebSocket(socketUrl('/ws/txt2img'));
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
      demo.session = m.session;
      demo.state = 'running';
      send();
    } else if (m.type === 'settings') {
      demo.accepted = m.settings;
    } else if (m.type === 'error') {
      showMessage(m.message, 'error');
    } else if (m.type === 'full' || m.type === 'ended') {
      ended = true;
      demo.state = m.type;
      showMessage(m.message, m.type === 'full' ? 'error' : 'info', true);
    }
  };
  ws.onclose = (e) => {
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
