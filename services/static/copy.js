/* wirefeed: the "Copy" buttons of the subscribe boxes.
 *
 * Pages work without this script: the feed address is in a read-only field to select and copy
 * by hand, and the buttons stay hidden. This file only shows the buttons and copies on click.
 * Loaded with <script src defer> (the CSP allows scripts from this origin only, none inline).
 */
(function () {
  "use strict";

  function say(button, text) {
    var box = button.closest(".subscribe");
    var status = box && box.querySelector(".copy-status");
    if (status) {
      status.textContent = text;
    }
  }

  function selectAll(input) {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
  }

  function legacyCopy(input) {
    selectAll(input);
    try {
      return document.execCommand("copy");
    } catch (e) {
      return false;
    }
  }

  function copy(button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) {
      return;
    }
    function copied() {
      say(button, "Copied " + input.value + " to the clipboard.");
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    }
    function byHand() {
      selectAll(input);
      say(button, "Press Ctrl+C (\u2318C on a Mac) to copy the selected address.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(copied, function () {
        if (legacyCopy(input)) { copied(); } else { byHand(); }
      });
    } else if (legacyCopy(input)) {
      copied();
    } else {
      byHand();
    }
  }

  function init() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copy(button); });
    });
    document.querySelectorAll("input.feed-url").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
