/* Small behaviours without inline scripts (ready for a strict Content-Security-Policy). */
(function () {
  "use strict";

  // A form with data-confirm asks before it is sent (撤回 and the like). A button with
  // data-requires="<field id>" is refused first while that field is blank (驳回 and
  // 退回 need a reason): the browser says so at the field, and nothing is asked.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var required = submitter && submitter.getAttribute("data-requires");
    var field = required && document.getElementById(required);
    if (field && !field.value.trim()) {
      event.preventDefault();
      field.setCustomValidity(submitter.getAttribute("data-requires-message") || "请填写此项");
      field.reportValidity();
      field.addEventListener("input", function () { field.setCustomValidity(""); }, { once: true });
      return;
    }
    var message = (submitter && submitter.getAttribute("data-confirm")) ||
      form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  // Inside data-live-ignore (the registration on the claim form), typing never sends
  // the form's live check: stopped on its way to the form's htmx trigger.
  ["change", "input"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      var target = event.target;
      if (target.closest && target.closest("[data-live-ignore]")) {
        event.stopPropagation();
      }
    }, true);
  });

  // A box with data-implies-check="<id>" ticks that checkbox once it holds a value: a
  // certificate number means the training was passed (the clerk may still untick it).
  document.addEventListener("input", function (event) {
    var box = event.target;
    var targetId = box.getAttribute && box.getAttribute("data-implies-check");
    if (!targetId || !box.value.trim()) return;
    var check = document.getElementById(targetId);
    if (check && !check.checked) {
      check.checked = true;
      check.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  // data-choice-of="<id>" spells out the option chosen in that select in full: a
  // phone cuts a long program name off inside the select itself.
  function spellChoice(select) {
    var out = document.querySelector('[data-choice-of="' + select.id + '"]');
    if (!out) return;
    var option = select.selectedOptions[0];
    out.textContent = option && option.value ? "已选：" + option.textContent : "";
  }
  document.addEventListener("change", function (event) {
    if (event.target.tagName === "SELECT" && event.target.id) spellChoice(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-choice-of]"), function (out) {
      var select = document.getElementById(out.getAttribute("data-choice-of"));
      if (select) spellChoice(select);
    });
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
  // An htmx answer htmx does not swap (403, 404, 5xx; 400 and 409 carry their reasons
  // and are swapped, base.html) or no answer at all: say so in Chinese where the answer
  // was going, or at the top of the page; the page itself and what was typed stay.
  var FAILURES = {
    403: "您无权进行此操作。",
    404: "未找到该记录：可能已被删除，或不在您的办理范围内。",
    413: "提交的内容过大。"
  };

  function htmxFailure(event, text) {
    var target = event.detail && event.detail.target;
    var box = document.createElement("div");
    box.className = "alert alert-danger small py-2 my-2 htmx-failure";
    box.setAttribute("role", "alert");
    box.setAttribute("data-testid", "htmx-error");
    box.textContent = text;
    if (target && target.isConnected && target.tagName === "DIV") {
      var earlier = target.querySelector(":scope > .htmx-failure");
      if (earlier) earlier.remove();
      target.prepend(box);
      return;
    }
    var place = document.querySelector(".app-messages");
    if (!place) {
      place = document.createElement("div");
      place.className = "app-messages";
      var container = document.querySelector("main > div") || document.body;
      container.prepend(place);
    }
    place.prepend(box);
    box.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var text = FAILURES[status] ||
      "服务器暂时无法处理（" + status + "），请稍后重试；已填写的内容仍保留在页面上。";
    htmxFailure(event, text);
  });

  document.addEventListener("htmx:sendError", function (event) {
    htmxFailure(event, "无法连接服务器，请检查网络后重试；已填写的内容仍保留在页面上。");
  });

  // A successful answer clears an earlier failure message of the same place.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.isConnected) return;
    var earlier = target.querySelector(":scope > .htmx-failure");
    if (earlier) earlier.remove();
  });
})();
