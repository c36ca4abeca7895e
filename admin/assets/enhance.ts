/**
 * The UI's only script, served as /assets/cuecard.js on every page. After a refused form it moves
 * focus to the first error (a keyboard or screen-reader user lands on what to fix). In the editor,
 * as the author types a template, it asks the server which variables the template uses (the same
 * derivation a save runs) and refreshes the list next to the editor. Every page works without it.
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
`;
