// taskqueue-emulator console: auto-refresh of the live parts of a page (no framework).
//
// Every few seconds, while the checkbox #auto-refresh is on, the page fetches itself and
// swaps in the fresh copies of the elements marked data-live (figures, charts, task rows);
// forms outside them keep what is being typed. The switch is remembered in localStorage.
// The fresh HTML is the server's own escaped markup; scripts in it never run.
(function () {
  "use strict";
  var KEY = "taskqueue-emulator-console.auto-refresh";
  var toggle = document.getElementById("auto-refresh");
  if (!toggle) {
    return;
  }
  var seconds = Math.max(1, parseInt(toggle.getAttribute("data-seconds"), 10) || 5);
  var timer = null;

  function stored() {
    try {
      return window.localStorage.getItem(KEY);
    } catch (e) {
      return null;
    }
  }

  function remember(on) {
    try {
      window.localStorage.setItem(KEY, on ? "on" : "off");
    } catch (e) {
      /* private mode: the switch lasts for this page only */
    }
  }

  function typing() {
    var active = document.activeElement;
    return !!active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) &&
      !!active.closest("[data-live]");
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live]").forEach(function (element) {
      var replacement = element.id && fresh.getElementById(element.id);
      if (replacement) {
        element.replaceWith(document.importNode(replacement, true));
      }
    });
    var clock = fresh.querySelector(".clock");
    var here = document.querySelector(".clock");
    if (clock && here) {
      here.replaceWith(document.importNode(clock, true));
    }
  }

  function refresh() {
    if (!toggle.checked) {
      return;
    }
    if (document.hidden || typing()) {
      schedule();
      return;
    }
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) {
        var moved = new URL(response.url).pathname !== window.location.pathname;
        if (!response.ok || moved) {
          throw new Error("not refreshed");
        }
        return response.text();
      })
      .then(swap)
      .catch(function () { /* the next round tries again */ })
      .then(schedule);
  }

  function schedule() {
    window.clearTimeout(timer);
    if (toggle.checked) {
      timer = window.setTimeout(refresh, seconds * 1000);
    }
  }

  toggle.checked = stored() !== "off";
  toggle.addEventListener("change", function () {
    remember(toggle.checked);
    schedule();
  });
  document.documentElement.setAttribute("data-refresh", "ready");
  schedule();
})();
