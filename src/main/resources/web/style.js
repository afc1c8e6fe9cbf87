// The IP-Adapter's controls of both pages (shown when the server's hello says it runs one): a style image
// file and its scale. A style image goes as {"type":"style_image","bytes":N} and then the file itself as
// one binary message; the server answers style_image once it is in the pipeline, or an error (the session
// then keeps the style image it had).
import { showMessage } from './common.js';

const $ = (id) => document.getElementById(id);

export class StyleControls {
  /**
   * @param socket () => the page's open WebSocket, or null
   * @param changed called when the scale moves (the page sends its settings)
   * @param demo the page's debug state: style (the server's last style_image answer), errors (codes)
   */
  constructor(socket, changed, demo) {
    this.socket = socket;
    this.demo = demo;
    this.hello = null;
    this.file = null;   // the style image the server accepted (bytes), sent again to a new session
    this.sent = null;   // the style image sent and not yet answered
    $('style-image').addEventListener('change', () => this.picked());
    $('style-clear').addEventListener('click', () => this.clear());
    $('ip-scale').addEventListener('input', () => { this.showScale(); changed(); });
  }

  /** The hello's ip_adapter (absent: the controls stay hidden); sends the page's style image to a new session. */
  onHello(ip) {
    this.hello = ip ?? null;
    $('ip-adapter').hidden = !ip;
    if (!ip) return;
    const scale = $('ip-scale');
    if (scale.dataset.set !== 'yes') { // kept across sessions once the page has one
      scale.min = ip.scale_range[0];
      scale.max = Math.min(ip.scale_range[1], Math.max(2, ip.scale));
      scale.value = ip.scale;
      scale.dataset.set = 'yes';
    }
    this.showScale();
    if (this.file) this.send(this.file);
    else $('style-status').textContent = ip.style_image ? "the server's" : 'none';
    $('style-clear').disabled = !(ip.style_image || this.file);
  }

  /** Adds the scale to a settings message when the server runs an adapter. */
  settingsInto(s) {
    if (this.hello) s.ip_adapter_scale = Number($('ip-scale').value);
    return s;
  }

  /** The server's style_image answer. */
  onStyleImage(m) {
    this.demo.style = m;
    if (m.set && this.sent) this.file = this.sent;
    this.sent = null;
    $('style-status').textContent = m.set ? `${m.width}×${m.height}` : 'none';
    $('style-clear').disabled = !m.set;
  }

  /** An error message: a refused style image leaves the one the session had. */
  onError(m) {
    this.demo.errors.push(m.code);
    if (m.code.includes('style_image') && this.sent) {
      this.sent = null;
      $('style-status').textContent = this.file ? 'unchanged' : 'none';
    }
  }

  showScale() {
    document.querySelector('output[for=ip-scale]').textContent = Number($('ip-scale').value).toFixed(2);
  }

  send(bytes) {
    const ws = this.socket();
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.hello) return false;
    ws.send(JSON.stringify({ type: 'style_image', bytes: bytes.byteLength }));
    ws.send(bytes); // right after its announcement: no frame can come between them
    this.sent = bytes;
    $('style-status').textContent = 'sending…';
    return true;
  }

  async picked() {
    const file = $('style-image').files[0];
    if (!file) return;
    const limit = this.hello?.max_style_bytes;
    if (limit && file.size > limit) {
      // a larger message would close the session: say so here instead
      showMessage(`The style image ${file.name} is ${file.size} bytes; the server takes at most ${limit}.`, 'error');
      return;
    }
    const bytes = await file.arrayBuffer();
    if (!this.send(bytes)) {
      this.file = bytes;
      $('style-status').textContent = `${file.name} (sent when the session starts)`;
    }
  }

  clear() {
    this.file = null;
    this.sent = null;
    $('style-image').value = '';
    const ws = this.socket();
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'style_image', clear: true }));
  }
}
