// The campaign page's live progress (R22): poll progress.json and update the figures in place.
(function () {
  "use strict";
  var root = document.getElementById("campaign-live");
  if (!root) { return; }
  var url = root.getAttribute("data-progress-url");
  var live = document.getElementById("live-status");
  var stopped = false;

  function paint(data) {
    root.querySelectorAll("[data-field]").forEach(function (node) {
      var key = node.getAttribute("data-field");
      if (Object.prototype.hasOwnProperty.call(data, key)) { node.textContent = String(data[key]); }
    });
    var total = Math.max(data.total, 1);
    root.querySelectorAll("[data-width]").forEach(function (node) {
      var key = node.getAttribute("data-width");
      node.style.width = (100 * (data[key] || 0) / total).toFixed(2) + "%";
    });
    if (data.state === "finished" || data.state === "stopped") { stopped = true; }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(function (data) {
        paint(data);
        if (live) { live.textContent = "Обновлено в " + new Date().toLocaleTimeString("ru-RU") + "."; }
      })
      .catch(function () { if (live) { live.textContent = "Нет связи с сервером, повторим."; } })
      .finally(function () { if (!stopped) { window.setTimeout(poll, 3000); } });
  }
  poll();
})();
