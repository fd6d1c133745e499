// One websocket to one session: decodes messages and hands them on; reconnects
// after a dropped connection or a server restart (close 1012).

import { decodeFrame, parseText, subscribeMessage, MSG } from "./protocol.js";

const NO_RETRY = new Set([1000, 1008, 4404]);

export class SessionSocket {
  /**
   * @param {string} id
   * @param {{onHello, onFrame, onText, onStatus}} handlers
   * @param {object} subscription  the subscribe fields to send after every hello
   */
  constructor(id, handlers, subscription) {
    this.id = id;
    this.handlers = handlers;
    this.subscription = subscription;
    this.ws = null;
    this.closed = false;
    this.retry = 0;
    this.timer = null;
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/ws/sessions/${encodeURIComponent(this.id)}`;
  }

  connect() {
    if (this.closed) return;
    const ws = new WebSocket(this.url());
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.handlers.onStatus?.("connecting");
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        const msg = parseText(ev.data);
        if (!msg) return;
        if (msg.type === MSG.HELLO) {
          this.retry = 0;
          this.handlers.onStatus?.("live");
          this.handlers.onHello?.(msg);
          if (this.subscription) ws.send(subscribeMessage(this.subscription));
        } else this.handlers.onText?.(msg);
        return;
      }
      let frame;
      try {
        frame = decodeFrame(ev.data);
      } catch (err) {
        this.handlers.onError?.(err);
        return;
      }
      this.handlers.onFrame?.(frame.header, frame.arrays);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed || NO_RETRY.has(ev.code)) {
        this.handlers.onStatus?.(ev.code === 4404 ? "gone" : "closed", ev.code);
        return;
      }
      this.handlers.onStatus?.("reconnecting", ev.code);
      const delay = Math.min(5000, 250 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  subscribe(fields) {
    this.subscription = { ...this.subscription, ...fields };
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(subscribeMessage(fields));
  }

  send(text) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(text);
      return true;
    }
    return false;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
  }
}
