// Berth's upload form: each file goes to the server as one streamed PUT, with progress.
(function () {
  "use strict";
  function human(n) {
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KB";
    if (n < 1073741824) return (n / 1048576).toFixed(1) + " MB";
    return (n / 1073741824).toFixed(2) + " GB";
  }

  function send(form, file, done, total, progress) {
    return new Promise(function (resolve, reject) {
      // A file over the limit is refused before a byte is sent, in the server's words.
      if (file.size > Number(form.dataset.limit)) {
        reject(new Error(file.name + ": " + form.dataset.limitText + "; this one is " + (file.size / 1073741824).toFixed(1) + " GB."));
        return;
      }
      var q = new URLSearchParams({
        node: form.querySelector("#upload-node").value,
        path: form.querySelector("#upload-dest").value || "/",
        name: file.name,
        overwrite: form.querySelector("#upload-overwrite").value,
        extract: form.querySelector("#upload-extract").checked ? "true" : "false"
      });
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", "/volumes/" + encodeURIComponent(form.querySelector("#upload-mapping").value) + "/files?" + q.toString());
      xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
      xhr.upload.onprogress = function (ev) { progress(done + ev.loaded, total); };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = { error: xhr.statusText }; }
        if (xhr.status === 201) resolve(body); else reject(new Error(file.name + ": " + (body.error || xhr.statusText)));
      };
      xhr.onerror = function () { reject(new Error(file.name + ": the connection broke off")); };
      xhr.send(file);
    });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("#upload-form");
    if (!form) return;
    ev.preventDefault();
    var files = Array.prototype.slice.call(form.querySelector("#upload-files").files);
    var bar = form.querySelector("#upload-progress");
    var state = form.querySelector("#upload-state");
    var list = form.querySelector("#upload-results");
    var total = files.reduce(function (s, f) { return s + f.size; }, 0);
    var done = 0;
    list.textContent = "";
    bar.hidden = false;
    state.className = "";
    function progress(sent, all) {
      bar.value = all ? Math.round(sent * 100 / all) : 100;
      state.textContent = "Sent " + human(sent) + " of " + human(all);
    }
    files.reduce(function (chain, file) {
      return chain.then(function () {
        return send(form, file, done, total, progress).then(function (res) {
          done += file.size;
          (res.written || []).forEach(function (w) {
            var li = document.createElement("li");
            li.textContent = w.path + " (" + human(w.size) + ", sha256 " + w.sha256.slice(0, 12) + "…)";
            list.appendChild(li);
          });
        });
      });
    }, Promise.resolve()).then(function () {
      progress(total, total);
      state.textContent = "Uploaded " + files.length + " file(s), " + human(total) + ", to " + form.querySelector("#upload-node").value + ".";
      state.className = "state-ok";
    }).catch(function (err) {
      state.textContent = "Stopped: " + err.message + " Nothing of that file was written.";
      state.className = "state-bad";
    });
  });
})();
