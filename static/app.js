// Opens the error dialog as a real modal and puts focus back where it was, keeps the live board from refreshing
// under someone's hands, and ticks the bulk assign's boxes in place. Nothing else lives here.
(function () {
  "use strict";
  let returnFocusTo = null;

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function rowFocusTarget(dialog) {
    const row = document.getElementById("task-" + dialog.dataset.taskId);
    return row ? row.querySelector("button, select, a") || row : null;
  }

  function openDialog(dialog) {
    if (dialog.open) return;
    dialog.addEventListener("close", function () {
      const target = (returnFocusTo && returnFocusTo.isConnected) ? returnFocusTo : rowFocusTarget(dialog);
      dialog.remove();
      if (target) target.focus();
    }, { once: true });
    dialog.showModal();
    const refresh = dialog.querySelector('[data-action="refresh"]');
    if (refresh) refresh.focus();
  }

  // showModal() makes the page behind inert, but Tab still walks out to the browser's own toolbar; on a shared
  // terminal or a tablet keep it going round the dialog's controls instead.
  document.addEventListener("keydown", function (event) {
    const dialog = document.querySelector("dialog[open]");
    if (event.key !== "Tab" || !dialog) return;
    const controls = Array.from(dialog.querySelectorAll("button, a[href], input, select, textarea"))
      .filter(function (control) { return !control.disabled; });
    if (!controls.length) return;
    const first = controls[0];
    const last = controls[controls.length - 1];
    const active = document.activeElement;
    if (!dialog.contains(active) || active === (event.shiftKey ? first : last)) {
      event.preventDefault();
      (event.shiftKey ? last : first).focus();
    }
  });

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  // The live board must not pull the rug from under someone: no refresh while a dialog is open, a request is
  // on its way, or a form on the board is half filled in.
  function userIsBusy() {
    if (document.querySelector("dialog[open], .htmx-request")) return true;
    const board = document.getElementById("board");
    if (!board) return false;
    if (board.querySelector("details[open]")) return true;
    const active = document.activeElement;
    if (active && board.contains(active) && active.matches("input, select, textarea")) return true;
    if (board.querySelector('input[name="task"]:checked')) return true;  // tasks ticked for the bulk assign
    return Array.from(board.querySelectorAll("form.assign select, form.bulk select")).some(changedByHand);
  }

  // A select with no option marked `selected` (a free task's "Nobody") starts on its first option.
  function changedByHand(select) {
    const options = Array.from(select.options);
    const start = options.find(function (option) { return option.defaultSelected; }) || options[0];
    return select.selectedIndex >= 0 && options[select.selectedIndex] !== start;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.hasAttribute("data-poll")) {
      if (userIsBusy()) event.preventDefault();
      return;
    }
    if (!event.target.closest("dialog")) returnFocusTo = document.activeElement;
  });

  document.addEventListener("htmx:afterSettle", function () {
    const dialog = document.querySelector("#modal-slot dialog#task-dialog");
    if (dialog) openDialog(dialog);
  });

  document.addEventListener("click", function (event) {
    const control = event.target.closest('dialog [data-action="refresh"], dialog [data-action="close"]');
    if (!control) return;
    const dialog = control.closest("dialog");
    // htmx has already read the refresh button's hx-get by now; closing does not cancel that request.
    setTimeout(function () { dialog.close(); }, 0);
  });

  // "Select all shown" and "Clear" reload the board with every box ticked or none (that is how they work without
  // JavaScript); here they tick or clear the boxes in place.
  document.addEventListener("click", function (event) {
    const link = event.target.closest("a[data-select]");
    if (!link) return;
    event.preventDefault();
    const tick = link.dataset.select === "all";
    document.querySelectorAll('input[name="task"][form="bulk-assign"]').forEach(function (box) {
      box.checked = tick;
    });
  });

  // Our own 4xx/503 answers are outcomes the page shows, not failures: a dialog the server sends to the modal slot
  // (HX-Retarget), or a form sent back in its own place with its errors. Saying so keeps htmx from logging each
  // one as a console error; every other error answer stays an error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail;
    const shown = detail.xhr.getResponseHeader("HX-Retarget") || detail.target === detail.requestConfig.elt;
    if (detail.isError && detail.shouldSwap && shown) detail.isError = false;
  });

  // A response htmx will not swap (a proxy's 502, a dropped connection): say so instead of doing nothing.
  function announce(text) {
    const area = document.getElementById("messages");
    if (!area) return;
    const message = document.createElement("p");
    message.className = "message message-error";
    message.textContent = text;
    area.replaceChildren(message);
  }
  // The texts come translated from the page (base.html's #messages), in the viewer's language.
  function text(name) {
    const area = document.getElementById("messages");
    return area ? area.dataset[name] || "" : "";
  }
  document.addEventListener("htmx:responseError", function (event) {
    announce(text("responseError").replace("{status}", String(event.detail.xhr.status)));
  });
  document.addEventListener("htmx:sendError", function () {
    announce(text("sendError"));
  });

  // The language selector is a plain form with its own button; with script it goes as soon as a language is picked.
  document.addEventListener("change", function (event) {
    const select = event.target.closest("select[data-submit-on-change]");
    if (select && select.form) select.form.requestSubmit();
  });
})();
