// Berth's terminal page: xterm.js over a websocket to a shell in a container.
(function () {
  "use strict";
  var el = document.getElementById("terminal");
  if (!el || typeof Terminal === "undefined") return;
  var state = document.getElementById("terminal-state");
  var again = document.getElementById("terminal-reconnect");
  var term = new Terminal({ cursorBlink: true, scrollback: 5000 });
  var fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(el);
  fit.fit();
  var ws = null;
  var ended = false;

  function say(text, bad) {
    state.textContent = text;
    state.className = bad ? "state-bad" : "state-ok";
  }

  function send(msg) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
  }

  function connect() {
    ended = false;
    term.reset();
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(proto + location.host + el.dataset.ws + "&cols=" + term.cols + "&rows=" + term.rows);
    ws.binaryType = "arraybuffer";
    say("Connecting…", false);
    again.hidden = true;
    ws.onopen = function () { say("Connected", false); term.focus(); };
    ws.onmessage = function (ev) {
      if (typeof ev.data !== "string") {
        term.write(new Uint8Array(ev.data));
        return;
      }
      var m = JSON.parse(ev.data);
      if (m.type === "exit") {
        ended = true;
        say("The shell exited with code " + m.code + ".", m.code !== 0);
        el.dataset.exitCode = String(m.code);
      } else if (m.type === "error") {
        ended = true;
        say(m.message, true);
        term.write("\r\n\x1b[31m" + m.message + "\x1b[0m\r\n");
      } else if (m.type === "notice") {
        term.write("\r\n\x1b[33m" + m.message + "\x1b[0m\r\n");
      }
    };
    ws.onclose = function (ev) {
      if (!ended) say("Disconnected" + (ev.reason ? ": " + ev.reason : "") + ". The shell was ended.", true);
      again.hidden = false;
    };
  }

  term.onData(function (d) { send({ type: "input", data: d }); });
  term.onResize(function (s) { send({ type: "resize", cols: s.cols, rows: s.rows }); });
  window.addEventListener("resize", function () { fit.fit(); });
  again.addEventListener("click", connect);
  connect();
})();
