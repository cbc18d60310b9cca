// sluice dashboard: progressive enhancement only; every page and action works without this script.
// Loaded as a file of the dashboard itself (the Content-Security-Policy allows no inline script).
(function () {
  'use strict';

  // Destructive forms ask first.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  var main = document.querySelector('main[data-poll]');
  if (!main) return;
  var url = main.dataset.poll;
  var interval = Number(main.dataset.interval) || 2000;
  var status = document.getElementById('live');
  var table = document.querySelector('table[data-refresh]');
  var listKey = table && table.dataset.refresh ? table.dataset.list : undefined;
  var listCount = listKey ? cellText(listKey) : undefined;
  var failures = 0;
  var timer;

  function cellText(key) {
    var cell = document.querySelector('[data-live="' + key + '"]');
    return cell ? cell.textContent : undefined;
  }

  function show(text, ok) {
    status.hidden = false;
    status.textContent = text;
    status.className = 'live ' + (ok ? 'ok' : 'down');
  }

  function apply(cells) {
    document.querySelectorAll('[data-live]').forEach(function (cell) {
      var value = cells[cell.dataset.live];
      if (typeof value === 'string' && cell.textContent !== value) {
        // textContent, never HTML: a value is shown as the text it is.
        cell.textContent = value;
        cell.classList.add('changed');
        setTimeout(function () { cell.classList.remove('changed'); }, 800);
      }
      if (cell.hasAttribute('data-hide-empty')) cell.hidden = cell.textContent === '';
    });
  }

  async function tick() {
    if (document.visibilityState === 'visible') {
      try {
        var response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
        // Gone (a removed job, an obliterated queue): the page itself says so.
        if (response.status === 404) {
          window.location.reload();
          return;
        }
        if (!response.ok) throw new Error('HTTP ' + response.status);
        var body = await response.json();
        var reloadOn = main.dataset.reloadOn;
        if (reloadOn && body.cells[reloadOn] !== main.dataset[reloadOn]) {
          window.location.reload();
          return;
        }
        apply(body.cells);
        if (body.names && main.dataset.names && JSON.stringify(body.names) !== main.dataset.names) {
          var notice = document.getElementById('new-queues');
          if (notice) notice.hidden = false;
        }
        if (listKey && body.cells[listKey] !== listCount) {
          listCount = body.cells[listKey];
          // The rows come rendered (and escaped) by the server, as the page did.
          var rows = await fetch(table.dataset.refresh, { credentials: 'same-origin' });
          if (rows.ok) table.tBodies[0].innerHTML = await rows.text();
        }
        failures = 0;
        show('live', true);
      } catch {
        failures += 1;
        show('offline: retrying', false);
      }
    }
    timer = setTimeout(tick, interval * Math.min(Math.pow(2, failures), 8));
  }

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') {
      clearTimeout(timer);
      void tick();
    }
  });
  document.querySelectorAll('[data-hide-empty]').forEach(function (cell) { cell.hidden = cell.textContent === ''; });
  timer = setTimeout(tick, interval);
})();
