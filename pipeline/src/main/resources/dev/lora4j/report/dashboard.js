// The live dashboard: fills the live panel from the server's event stream (EventSource, same origin) and swaps in a
// fresh rendering of the report's charts and leaderboard, drawn by the server with the code that writes report.html,
// at most once a second while steps arrive. Data only ever becomes text (textContent), never markup.
(function () {
  'use strict';
  var body = document.body;
  var token = document.querySelector('meta[name="lora4j-token"]').getAttribute('content');
  var controls = body.getAttribute('data-live') === 'control';
  var tbody = document.querySelector('#live-trials tbody');
  var metric = document.querySelector('#live-trials thead th:nth-child(6)').textContent;
  var rows = {};
  var lanes = {};
  var rungs = [];
  var stepTimes = [];
  var refreshTimer = null;
  var lastRefresh = 0;
  var refreshes = 0;
  var requested = 0;
  var applied = 0;
  var finished = false;
  var polling = null;

  // the policy blocks style attributes in markup, so the server writes them as data-style; the CSSOM sets them
  function applyStyles(root) {
    root.querySelectorAll('[data-style]').forEach(function (e) { e.style.cssText = e.getAttribute('data-style'); });
  }

  function el(tag, value, cls) {
    var e = document.createElement(tag);
    e.textContent = value === null || value === undefined ? '' : String(value);
    if (cls) {
      e.className = cls;
    }
    return e;
  }

  function number(v) {
    if (typeof v !== 'number') {
      return '—';
    }
    return Math.abs(v) >= 1000 || Math.abs(v) < 0.001 ? v.toExponential(3) : v.toPrecision(4);
  }

  function post(url) {
    return fetch(url, { method: 'POST', headers: { 'Authorization': 'Bearer ' + token }, cache: 'no-store' });
  }

  function row(id, name) {
    var r = rows[id];
    if (r) {
      if (name && r.name !== name) {
        r.name = name;
        r.cells.trial.firstChild.textContent = name;
      }
      return r;
    }
    var tr = document.createElement('tr');
    tr.setAttribute('data-trial', id);
    var cells = {};
    ['trial', 'state', 'lane', 'step', 'loss', 'metric', 'rung', 'why', 'action'].forEach(function (k) {
      var td = document.createElement('td');
      td.className = k === 'step' || k === 'loss' || k === 'metric' || k === 'rung' ? k + ' num' : k;
      tr.appendChild(td);
      cells[k] = td;
    });
    cells.trial.appendChild(el('span', name || id));
    cells.trial.appendChild(el('small', ' ' + id));
    cells.state.appendChild(el('span', '', 'status'));
    r = { tr: tr, cells: cells, name: name || id, ended: false, step: 0, total: 0 };
    if (controls) {
      var b = el('button', 'stop', 'stop');
      b.type = 'button';
      b.setAttribute('data-trial', id);
      b.addEventListener('click', function () {
        b.disabled = true;
        post('api/trials/' + encodeURIComponent(id) + '/stop').then(function (res) {
          if (res.status === 202) {
            b.textContent = 'stopping';
            if (!r.ended) {
              state(r, 'stopping');
            }
          } else {
            b.disabled = false;
          }
        }, function () { b.disabled = false; });
      });
      cells.action.appendChild(b);
      r.button = b;
    }
    tbody.appendChild(tr);
    rows[id] = r;
    return r;
  }

  function state(r, s) {
    var span = r.cells.state.firstChild;
    span.textContent = s;
    span.className = 'status ' + s.replace(/[^a-z]/g, '');
    r.tr.setAttribute('data-state', s);
  }

  function steps(r, step, total) {
    if (typeof step === 'number') {
      r.step = step;
    }
    if (typeof total === 'number' && total > 0) {
      r.total = total;
    }
    r.cells.step.textContent = r.total > 0 ? r.step + ' / ' + r.total : String(r.step);
    rung(r);
  }

  // the early termination's rungs (steps) the trial has reached, of those before its last step: it is evaluated
  // at each, so reaching a rung's step is being judged there
  function rung(r) {
    if (rungs.length === 0) {
      r.cells.rung.textContent = '—';
      return;
    }
    var reached = rungs.filter(function (s) { return s <= r.step; }).length;
    var of = r.total > 0 ? rungs.filter(function (s) { return s < r.total; }).length : rungs.length;
    r.cells.rung.textContent = reached + ' / ' + of;
  }

  function lane(id, name) {
    Object.keys(lanes).forEach(function (k) {
      if (lanes[k] === id) {
        delete lanes[k];
      }
    });
    if (name) {
      lanes[name] = id;
    }
    var ul = document.getElementById('lanes');
    ul.replaceChildren();
    Object.keys(lanes).sort().forEach(function (k) {
      var li = document.createElement('li');
      li.setAttribute('data-lane', k);
      li.appendChild(el('code', k));
      li.appendChild(el('span', rows[lanes[k]] ? rows[lanes[k]].name : lanes[k]));
      ul.appendChild(li);
    });
    if (ul.children.length === 0) {
      ul.appendChild(el('li', 'no trial is training'));
    }
  }

  function incident(kind, r, what) {
    var li = document.createElement('li');
    li.appendChild(el('span', kind, 'kind'));
    li.appendChild(el('span', r.name + ': ' + (what || '')));
    document.getElementById('incidents').prepend(li);
  }

  function ended(r, result) {
    r.ended = true;
    state(r, result.status);
    steps(r, result.steps, null);
    r.cells.why.textContent = result.reason || '';
    var m = result.metrics ? result.metrics[metric] : undefined;
    if (typeof m === 'number') {
      r.cells.metric.textContent = number(m);
    }
    if (r.button) {
      r.button.remove();
      r.button = null;
    }
    lane(result.trial_id, null);
    if (result.status === 'failed' || result.status === 'stopped' || result.status === 'rejected') {
      incident(result.status, r, result.reason);
    }
  }

  function trialJson(t) {
    var r = row(t.trial_id, t.name);
    if (['queued', 'running', 'retrying'].indexOf(t.status) >= 0) {
      state(r, t.status);
      steps(r, t.steps, t.total_steps);
      if (t.lane) {
        r.cells.lane.textContent = t.lane;
        lane(t.trial_id, t.lane);
      }
      var m = t.metrics ? t.metrics[metric] : undefined;
      r.cells.metric.textContent = typeof m === 'number' ? number(m) : '';
    } else {
      ended(r, t);
    }
  }

  function onTrial(e) {
    var r = row(e.trial_id, e.name);
    if (r.ended && e.type !== 'ended') {
      return;
    }
    switch (e.type) {
      case 'queued':
        state(r, 'queued');
        break;
      case 'started':
        state(r, r.tr.getAttribute('data-state') === 'stopping' ? 'stopping' : 'running');
        r.cells.lane.textContent = e.lane + (e.node === 'local' ? '' : ' @ ' + e.node);
        steps(r, e.resumed_at_step, e.total_steps);
        lane(e.trial_id, e.lane);
        break;
      case 'progress':
        steps(r, e.step, e.total_steps);
        r.cells.loss.textContent = number(e.loss);
        stepTimes.push(Date.now());
        scheduleRefresh();
        break;
      case 'evaluated':
        r.cells.metric.textContent = number(e.metrics[metric]);
        scheduleRefresh();
        break;
      case 'retried':
        state(r, 'retrying');
        lane(e.trial_id, null);
        incident('retry', r, 'attempt ' + e.attempt + ' after ' + e.failure + ': ' + e.reason);
        break;
      case 'warned':
        incident('warning', r, e.message);
        break;
      case 'ended':
        ended(r, e.result);
        scheduleRefresh();
        break;
      default:
        break;
    }
  }

  function sweepState(s) {
    var span = document.getElementById('sweep-state');
    span.textContent = s.state + ' · ' + s.trials + ' trials';
    span.className = 'status ' + (s.state === 'running' ? 'running' : s.state === 'cancelled' ? 'cancelled'
      : 'finished');
    body.setAttribute('data-sweep', s.state);
    if (!controls && s.state === 'running' && polling === null) {
      // another process runs the sweep: its files are all there is to watch
      polling = setInterval(refresh, 3000);
    }
  }

  function throughput() {
    var now = Date.now();
    while (stepTimes.length > 0 && stepTimes[0] < now - 10000) {
      stepTimes.shift();
    }
    var running = Object.keys(lanes).length;
    document.getElementById('throughput').textContent = (stepTimes.length / 10).toFixed(1) + ' steps/s · '
      + running + ' training';
  }

  function scheduleRefresh() {
    if (refreshTimer !== null || finished) {
      return;
    }
    refreshTimer = setTimeout(refresh, Math.max(0, 1000 - (Date.now() - lastRefresh)));
  }

  function swap(fresh, selector) {
    var now = fresh.querySelector(selector);
    var old = document.querySelector(selector);
    if (now && old) {
      var imported = document.importNode(now, true);
      old.replaceWith(imported);
      applyStyles(imported);
      if (window.lora4jHighlight) {
        window.lora4jHighlight(imported);
      }
    }
  }

  function refresh() {
    refreshTimer = null;
    lastRefresh = Date.now();
    var last = finished;
    var mine = ++requested;
    return fetch('./', { headers: { 'Authorization': 'Bearer ' + token }, cache: 'no-store' })
      .then(function (res) { return res.ok ? res.text() : Promise.reject(res.status); })
      .then(function (html) {
        if (mine < applied) {
          // an older rendering that arrived after a newer one
          return;
        }
        applied = mine;
        // parsed as an inert document: nothing in it runs; only the server's own (escaped) markup is moved over
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        swap(fresh, 'header.top');
        swap(fresh, '#report');
        refreshes++;
        body.setAttribute('data-refreshes', String(refreshes));
        if (last) {
          body.setAttribute('data-final', 'true');
        }
      }, function () {
        if (last) {
          setTimeout(refresh, 500);
        }
      });
  }

  var stopSweep = document.getElementById('stop-sweep');
  if (stopSweep) {
    stopSweep.addEventListener('click', function () {
      stopSweep.disabled = true;
      post('api/stop').then(function (res) {
        stopSweep.textContent = res.status === 202 ? 'stopping: running trials checkpoint first' : 'Stop the sweep';
        stopSweep.disabled = res.status === 202;
      });
    });
  }

  applyStyles(document);
  lane(null, null);
  setInterval(throughput, 1000);
  var source = new EventSource('api/events');
  source.addEventListener('snapshot', function (m) {
    var s = JSON.parse(m.data);
    var et = s.sweep.early_terminate;
    rungs = et && Array.isArray(et.rungs) ? et.rungs.filter(function (x) { return typeof x === 'number'; }) : [];
    sweepState(s.sweep);
    s.trials.forEach(trialJson);
    body.setAttribute('data-connected', 'true');
  });
  source.addEventListener('trial', function (m) { onTrial(JSON.parse(m.data)); });
  source.addEventListener('end', function (m) {
    source.close();
    finished = true;
    if (refreshTimer !== null) {
      clearTimeout(refreshTimer);
      refreshTimer = null;
    }
    sweepState(JSON.parse(m.data));
    if (stopSweep) {
      stopSweep.disabled = true;
    }
    refresh();
  });
  body.setAttribute('data-live-ready', 'true');
})();
