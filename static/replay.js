// Berth's recording player: plays an asciicast v2 file back in xterm.js.
(function () {
  "use strict";
  var el = document.getElementById("terminal");
  if (!el || !el.dataset.cast || typeof Terminal === "undefined") return;
  var state = document.getElementById("replay-state");
  var again = document.getElementById("replay-again");
  var events = [];
  var header = {};
  var term = null;

  function play() {
    again.hidden = true;
    if (term) term.dispose();
    term = new Terminal({ cols: header.width || 80, rows: header.height || 24, scrollback: 5000 });
    term.open(el);
    state.textContent = "Playing…";
    var i = 0;
    var clock = 0;
    (function next() {
      if (i >= events.length) {
        state.textContent = "Played to the end.";
        el.dataset.done = "true";
        again.hidden = false;
        return;
      }
      var ev = events[i++];
      var wait = Math.min(Math.max(ev[0] - clock, 0), 1) * 1000; // idle gaps are cut to a second
      clock = ev[0];
      setTimeout(function () {
        if (ev[1] === "o") term.write(ev[2]);
        if (ev[1] === "r") {
          var size = ev[2].split("x");
          term.resize(parseInt(size[0], 10), parseInt(size[1], 10));
        }
        next();
      }, wait);
    })();
  }

  fetch(el.dataset.cast, { credentials: "same-origin" }).then(function (res) {
    if (!res.ok) throw new Error("status " + res.status);
    return res.text();
  }).then(function (text) {
    var lines = text.split("\n").filter(function (l) { return l.trim() !== ""; });
    header = JSON.parse(lines[0]);
    events = lines.slice(1).map(function (l) { return JSON.parse(l); });
    play();
  }).catch(function (err) {
    state.textContent = "The recording could not be loaded: " + err.message;
  });
  again.addEventListener("click", play);
})();
