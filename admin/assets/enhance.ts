/**
 * The UI's only script, served as /assets/cuecard.js on every page. After a refused form it moves
 * focus to the first error (a keyboard or screen-reader user lands on what to fix). In the editor,
 * as the author types a template, it asks the server which variables the template uses (the same
 * derivation a save runs) and refreshes the list next to the editor. In the playground, it
 * streams each version's answer in as the model writes it (server-sent events over a POST, read
 * from the fetch body). Every page works without it.
 */
export const ENHANCE_SCRIPT = `"use strict";
(function () {
  var firstError = document.querySelector('main [aria-invalid="true"], main .notice-error[tabindex]');
  if (firstError) firstError.focus();
})();
(function () {
  var form = document.querySelector("form[data-variables-form]");
  var target = document.getElementById("variables-body");
  if (!form || !target) return;
  var timer = 0;
  var latest = 0;

  function show(result) {
    target.replaceChildren();
    if (result.error) {
      var error = document.createElement("p");
      error.className = "field-error";
      error.textContent = result.error;
      target.append(error);
      return;
    }
    if (!result.variables.length) {
      var none = document.createElement("p");
      none.className = "muted";
      none.textContent = "None yet. Write {{name}} to add one.";
      target.append(none);
      return;
    }
    var list = document.createElement("ul");
    list.className = "chips";
    result.variables.forEach(function (variable) {
      var item = document.createElement("li");
      item.className = "chip";
      var code = document.createElement("code");
      code.textContent = variable.name;
      item.append(code);
      if (!variable.required) {
        var optional = document.createElement("span");
        optional.className = "muted";
        optional.textContent = " optional";
        item.append(optional);
      }
      list.append(item);
    });
    target.append(list);
  }

  function refresh() {
    var request = ++latest;
    fetch("/variables", { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (result) { if (result && request === latest) show(result); })
      .catch(function () { /* offline or signed out: the list refreshes on the next keystroke */ });
  }

  form.addEventListener("input", function (event) {
    if (!event.target.matches("[data-template]")) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  });
})();
(function () {
  var form = document.querySelector("form[data-playground]");
  if (!form) return;
  var compare = form.querySelector("select[name=compare]");
  var button = form.querySelector("[data-run-button]");
  var panels = Array.prototype.slice.call(document.querySelectorAll("[data-run-panel]"));
  var runs = [];

  function part(panel, name) { return panel.querySelector("[data-run-" + name + "]"); }

  function summary(done) {
    var tokens = done.inputTokens !== null && done.outputTokens !== null
      ? ", " + done.inputTokens + " \\u2192 " + done.outputTokens + " tokens" : "";
    return "Done in " + done.latencyMs + " ms" + tokens + ".";
  }

  function fail(panel, message) {
    panel.dataset.state = "failed";
    part(panel, "status").textContent = "Failed.";
    var error = part(panel, "error");
    error.textContent = message;
    error.hidden = false;
  }

  function handle(panel, type, data) {
    if (type === "start") {
      part(panel, "model").textContent = data.model;
      part(panel, "status").textContent = "Waiting for the model\\u2026";
    } else if (type === "delta") {
      panel.dataset.state = "streaming";
      part(panel, "status").textContent = "Streaming\\u2026";
      part(panel, "answer").append(data.text);
    } else if (type === "done") {
      panel.dataset.state = "done";
      part(panel, "model").textContent = data.model;
      part(panel, "status").textContent = summary(data);
    } else if (type === "error") {
      fail(panel, data.message);
    }
  }

  /** Reads "event: x\\ndata: {...}" blocks as they arrive; a block may span chunks. */
  function run(panel, version, body, signal) {
    panel.dataset.state = "running";
    part(panel, "answer").textContent = "";
    part(panel, "error").hidden = true;
    part(panel, "status").textContent = "Starting\\u2026";
    return fetch(form.dataset.streamBase + version + "/playground/stream", {
      method: "POST", body: body, credentials: "same-origin", signal: signal,
    }).then(function (response) {
      var type = response.headers.get("content-type") || "";
      if (type.indexOf("text/event-stream") !== 0 || !response.body) {
        fail(panel, "The run could not start (HTTP " + response.status + "). Reload the page and try again.");
        return;
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function read() {
        return reader.read().then(function (chunk) {
          if (chunk.done) {
            if (panel.dataset.state === "running" || panel.dataset.state === "streaming") {
              fail(panel, "The answer stopped before it was complete.");
            }
            return;
          }
          buffer += decoder.decode(chunk.value, { stream: true });
          var end;
          while ((end = buffer.indexOf("\\n\\n")) !== -1) {
            var block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            var event = "message";
            var data = "";
            block.split("\\n").forEach(function (line) {
              if (line.indexOf("event: ") === 0) event = line.slice(7);
              else if (line.indexOf("data: ") === 0) data += line.slice(6);
            });
            if (data) handle(panel, event, JSON.parse(data));
          }
          return read();
        });
      }
      return read();
    }).catch(function (error) {
      if (error && error.name === "AbortError") return;
      fail(panel, "The connection to Cuecard was lost before the answer was complete.");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    runs.forEach(function (controller) { controller.abort(); });
    runs = [];
    var body = new FormData(form);
    var other = compare ? compare.value : "";
    button.disabled = true;
    Promise.all(panels.map(function (panel) {
      var version = panel.dataset.runPanel === "primary" ? panel.dataset.version : other;
      panel.hidden = !version;
      if (!version) return null;
      panel.dataset.version = version;
      part(panel, "title").textContent = "v" + version;
      panel.setAttribute("aria-label", "Answer of v" + version);
      var controller = new AbortController();
      runs.push(controller);
      return run(panel, version, body, controller.signal);
    })).then(function () { button.disabled = false; });
  });
})();
`;
