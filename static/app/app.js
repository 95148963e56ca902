/* Small behaviours without inline scripts (ready for a strict Content-Security-Policy). */
(function () {
  "use strict";

  // A form with data-confirm asks before it is sent (撤回 and the like).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) ||
      form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // A text box with data-filter-select="<id>" narrows the options of that select.
  document.addEventListener("input", function (event) {
    var box = event.target;
    var targetId = box.getAttribute && box.getAttribute("data-filter-select");
    if (!targetId) return;
    var select = document.getElementById(targetId);
    if (!select) return;
    var needle = box.value.trim().toLowerCase();
    var firstMatch = null;
    Array.prototype.forEach.call(select.querySelectorAll("option"), function (option) {
      if (!option.value) return;
      var hit = !needle || option.textContent.toLowerCase().indexOf(needle) !== -1;
      option.hidden = !hit;
      if (hit && !firstMatch) firstMatch = option;
    });
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
    if (needle && firstMatch && (select.selectedOptions.length === 0 ||
        select.selectedOptions[0].hidden || !select.value)) {
      select.value = firstMatch.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  // Elements with data-toggle-target="<id>" reveal that element (e.g. 更换培训人员).
  document.addEventListener("click", function (event) {
    var trigger = event.target.closest && event.target.closest("[data-toggle-target]");
    if (!trigger) return;
    var target = document.getElementById(trigger.getAttribute("data-toggle-target"));
    if (!target) return;
    event.preventDefault();
    target.classList.remove("d-none");
    var input = target.querySelector("input");
    if (input) input.focus();
    trigger.classList.add("d-none");
  });
})();
