// The dispatchers' console: one marker per truck with its number of cars
// (cars with their own tracker, or off any truck, on their own), a list of
// vehicles to sort and search, alerts grouped per truck and worded from
// the time now, all kept live over /ws/fleet. Position frames are applied
// once per animation frame.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { t, when, el, lang } = VP;
  const zh = lang === "zh";
  $("token-label").textContent = t("token");
  $("open").textContent = t("open");

  // A span of minutes in words: "2 h 10 min", "2小时10分钟".
  const dur = (mins) => {
    mins = Math.max(0, Math.round(mins));
    const h = Math.floor(mins / 60), m = mins % 60;
    if (zh) return h ? `${h}小时${m ? `${m}分钟` : ""}` : `${m}分钟`;
    return h ? `${h} h${m ? ` ${m} min` : ""}` : `${m} min`;
  };
  const minsSince = (iso) => (Date.now() - new Date(iso).getTime()) / 60000;
  // "last fix 5 min ago", "最近定位5分钟前".
  const fixAgo = (iso) => zh ? `${t("last_fix")}${dur(minsSince(iso))}前` : `${t("last_fix")} ${dur(minsSince(iso))} ago`;
  const ONBOARD = new Set(["loaded", "in_transit", "arrived"]);
  const carsWord = (n) => `${n} ${t(n === 1 ? "car" : "cars")}`;
  // Minutes an order's ETA is after its promise (negative: early).
  const lateBy = (o) => o.eta && o.promised_by ? (new Date(o.eta) - new Date(o.promised_by)) / 60000 : -Infinity;

  const start = (token) => {
    const auth = { Authorization: `Bearer ${token}` };
    const api = (path) => fetch(path, { headers: auth }).then((r) => r.ok ? r.json() : Promise.reject(r.status));
    const cars = new Map();      // order_id → fleet view of the order
    const trucks = new Map();    // carrier/truck → {carrier_id, truck_id, position}
    const alerts = new Map();    // alert_id → alert
    const markers = new Map();   // "t:carrier/truck" | "o:order" → marker
    const pending = new Map();   // vehicle key → latest position, applied on the next frame
    let frame = 0, fitted = false, selected = null, following = false;
    const m = VP.map($("map"), "/assets/node_modules/world-atlas/land-50m.json");
    const renderer = L.canvas({ padding: 0.3 });
    $("search").placeholder = t("search_all");
    $("alerts-title").textContent = t("alerts");
    $("vehicles-title").textContent = t("vehicles_list");
    $("alert-filter-label").textContent = t("with_alerts");

    const truckKey = (o) => `${o.carrier_id}/${o.truck_id}`;
    const aboard = (o) => o.truck_id && ONBOARD.has(o.milestone);
    const carsOf = (key) => [...cars.values()].filter((o) => aboard(o) && truckKey(o) === key);
    const alertsOf = (orders) => [...alerts.values()].filter((a) => orders.some((o) => o.order_id === a.order_id));

    // The filters as they stand, read once per pass (not once per car).
    const filterState = () => ({
      ms: $("milestone-filter").value, carrier: $("carrier-filter").value,
      alerted: $("alert-filter").checked, q: $("search").value.trim().toUpperCase(),
    });
    const matches = (o, f) => {
      if (f.ms && o.milestone !== f.ms) return false;
      if (f.carrier && o.carrier_id !== f.carrier) return false;
      if (f.alerted && !alertsOf([o]).length) return false;
      if (f.q && !o.order_id.toUpperCase().includes(f.q) && !(o.vin || "").includes(f.q) && !(o.truck_id || "").toUpperCase().includes(f.q)) return false;
      return true;
    };

    // What is on the map: trucks (with the cars aboard that match), and
    // cars on their own.
    const vehicles = () => {
      const out = [];
      const byTruck = new Map();
      const places = new Map(); // a place → the lone cars standing there
      const f = filterState();
      for (const o of cars.values()) {
        if (!matches(o, f)) continue;
        if (aboard(o)) {
          const k = truckKey(o);
          if (!byTruck.has(k)) byTruck.set(k, []);
          byTruck.get(k).push(o);
        } else if (o.position) {
          out.push({ key: `o:${o.order_id}`, kind: "car", orders: [o], position: o.position, label: o.order_id });
          const at = `${o.position.lat.toFixed(4)},${o.position.lon.toFixed(4)}`;
          places.set(at, [...(places.get(at) || []), out[out.length - 1]]);
        }
      }
      for (const here of places.values()) for (const v of here) v.together = here.length;
      const filtering = f.ms || f.carrier || f.alerted || f.q;
      for (const [k, tr] of trucks) if (!byTruck.has(k) && !filtering && tr.position) byTruck.set(k, []);
      for (const [k, orders] of byTruck) {
        const tr = trucks.get(k);
        const position = (tr && tr.position) || orders.find((o) => o.position)?.position;
        if (!position) continue;
        out.push({ key: `t:${k}`, kind: "truck", truck: k, orders, position, label: k.split("/").slice(1).join("/") });
      }
      return out;
    };

    const colorOf = (v) => {
      if (!v.orders.length) return "#9aa5b1";
      const counts = {};
      for (const o of v.orders) counts[o.milestone] = (counts[o.milestone] || 0) + 1;
      const lead = Object.entries(counts).sort((a, b) => b[1] - a[1])[0][0];
      return VP.colors[lead] || "#52606d";
    };

    const tooltip = (v) => {
      const n = v.orders.length;
      const here = v.together > 1 ? ` · ${carsWord(v.together)}` : "";
      const what = v.kind === "truck" ? `${t("truck")} ${v.label} · ${carsWord(n)}` : `${v.label} · ${v.orders[0].model || ""}${here}`;
      const state = n ? t(v.orders[0].milestone) : t("empty_truck");
      const fix = v.position.at ? ` · ${fixAgo(v.position.at)}` : "";
      return `${what} · ${state}${fix}`;
    };

    // A truck with cars: a rounded square with its number of cars, ringed
    // red while an alert is open, drawn on the map's one canvas like every
    // other vehicle (thousands of elements would not paint smoothly), and
    // hit as a circle its size.
    const TruckMark = L.CircleMarker.extend({
      _updatePath() {
        const r = this._renderer;
        if (!r._drawing || this._empty()) return;
        const p = this._point, ctx = r._ctx, o = this.options, s = 13;
        ctx.beginPath();
        ctx.roundRect(p.x - s, p.y - s, 2 * s, 2 * s, 7);
        ctx.fillStyle = o.fillColor;
        ctx.shadowColor = "rgba(0,0,0,.35)"; ctx.shadowBlur = 3;
        ctx.fill();
        ctx.shadowBlur = 0;
        ctx.lineWidth = o.alarmed ? 4 : 2;
        ctx.strokeStyle = o.alarmed ? "#c53030" : "#fff";
        ctx.stroke();
        ctx.fillStyle = "#fff";
        ctx.font = "700 12px system-ui, sans-serif";
        ctx.textAlign = "center"; ctx.textBaseline = "middle";
        ctx.fillText(String(o.count), p.x, p.y + 1);
      },
    });

    // A car on its own: a dot; cars standing at one place (a warehouse's
    // yard) each keep their own, the dot on top saying how many are there.
    const CarMark = L.CircleMarker.extend({
      _updatePath() {
        L.CircleMarker.prototype._updatePath.call(this);
        const r = this._renderer, o = this.options;
        if (!r._drawing || this._empty() || !(o.together > 1)) return;
        const ctx = r._ctx, p = this._point;
        ctx.fillStyle = "#fff";
        ctx.font = "700 11px system-ui, sans-serif";
        ctx.textAlign = "center"; ctx.textBaseline = "middle";
        ctx.fillText(String(o.together), p.x, p.y + 1);
      },
    });

    // For tests and the benchmark: a truck's marker as drawn ("carrier/
    // plate"), and how many are drawn whose key starts with `prefix`.
    $("map").vpTruck = (key) => {
      const mk = markers.get(`t:${key}`);
      if (!mk || mk._vpEmpty) return null;
      const p = m.map.latLngToContainerPoint(mk.getLatLng()), size = m.map.getSize();
      return { x: p.x, y: p.y, count: mk.options.count, alarmed: mk.options.alarmed,
        inView: p.x >= 13 && p.y >= 13 && p.x <= size.x - 13 && p.y <= size.y - 13 };
    };
    $("map").vpCar = (id) => {
      const mk = markers.get(`o:${id}`);
      return mk ? { together: mk.options.together } : null;
    };
    $("map").vpTrucks = (prefix) => [...markers.entries()].filter(([k, mk]) => k.startsWith(`t:${prefix}`) && !mk._vpEmpty).length;

    const draw = (v) => {
      const at = m.at(v.position.lat, v.position.lon);
      const alarmed = alertsOf(v.orders).some((a) => !a.ack);
      const color = colorOf(v);
      let mk = markers.get(v.key);
      if (v.kind === "truck" && !v.orders.length) {
        // An empty truck: a small grey dot on the canvas, never over a car.
        if (mk && !mk._vpEmpty) { mk.remove(); mk = null; }
        if (!mk) {
          mk = L.circleMarker(at, { renderer, radius: 4, weight: 1, color: "#fff", fillColor: "#9aa5b1", fillOpacity: .9 })
            .on("click", () => select(v.key)).addTo(m.map);
          mk._vpEmpty = true;
          mk.bringToBack();
        } else {
          mk.setLatLng(at);
        }
      } else if (v.kind === "truck") {
        if (mk && mk._vpEmpty) { mk.remove(); mk = null; }
        const look = { fillColor: color, alarmed, count: v.orders.length };
        if (!mk) {
          mk = new TruckMark(at, { renderer, radius: 15, ...look }).on("click", () => select(v.key)).addTo(m.map);
        } else {
          mk.setLatLng(at);
          if (mk.options.fillColor !== color || mk.options.alarmed !== alarmed || mk.options.count !== look.count) mk.setStyle(look);
        }
      } else {
        const together = v.together || 1;
        const look = { fillColor: color, weight: alarmed ? 3 : 1, color: alarmed ? "#c53030" : "#fff", together };
        if (!mk) {
          mk = new CarMark(at, { renderer, radius: together > 1 ? 10 : 6, fillOpacity: .95, ...look })
            .on("click", () => select(v.key)).addTo(m.map);
        } else {
          mk.setLatLng(at).setStyle(look).setRadius(together > 1 ? 10 : 6);
        }
      }
      // The label is worded when it opens, from the vehicle as it is then.
      if (!mk._vp) mk.bindTooltip(() => tooltip(mk._vp), { direction: "top" });
      mk._vp = v;
      return mk;
    };

    // What the last full pass drew (by key), and every vehicle it looked
    // at: a move of a vehicle it left out (filtered) needs no new pass.
    let drawn = [], drawnByKey = new Map(), considered = new Set();
    const redraw = () => {
      drawn = vehicles();
      drawnByKey = new Map(drawn.map((v) => [v.key, v]));
      considered = new Set([...[...trucks.keys()].map((k) => `t:${k}`), ...[...cars.keys()].map((k) => `o:${k}`)]);
      const keep = new Set(drawn.map((v) => v.key));
      for (const [k, mk] of markers) if (!keep.has(k)) { mk.remove(); markers.delete(k); }
      for (const v of drawn) markers.set(v.key, draw(v));
      const nTrucks = drawn.filter((v) => v.kind === "truck").length;
      $("map").dataset.vehicles = String(drawn.length);
      $("map").dataset.trucks = String(nTrucks);
      const lone = drawn.length - nTrucks;
      $("count").textContent = `${nTrucks} ${t(nTrucks === 1 ? "truck_one" : "trucks")} · ${lone} ${t(lone === 1 ? "lone_car" : "lone_cars")} · ${cars.size} ${t(cars.size === 1 ? "order_one" : "orders")}`;
      drawList(); drawAlerts();
      if (selected) showSelected();
    };

    // The list of vehicles, sortable; a click finds the vehicle.
    const sorters = {
      late: (a, b) => Math.max(...b.orders.map(lateBy), -1e9) - Math.max(...a.orders.map(lateBy), -1e9),
      fix: (a, b) => new Date(a.position.at || 0) - new Date(b.position.at || 0),
      milestone: (a, b) => (a.orders[0]?.milestone || "").localeCompare(b.orders[0]?.milestone || ""),
      name: (a, b) => a.label.localeCompare(b.label),
    };
    const drawList = () => {
      const rows = drawn.slice().sort(sorters[$("sort").value] || sorters.late).slice(0, 300);
      $("vehicles").replaceChildren(...rows.map((v) => {
        const late = Math.max(...v.orders.map(lateBy), -Infinity);
        const attrs = v.kind === "truck" ? { "data-truck-id": v.label, "data-cars": String(v.orders.length) } : { "data-order-id": v.label };
        return el("li", { ...attrs, className: v.key === selected ? "selected" : "", onclick: () => select(v.key) },
          el("span", { className: "dot", style: `background:${colorOf(v)}` }),
          el("strong", { text: v.kind === "truck" && v.orders.length ? `${v.label} · ${carsWord(v.orders.length)}` : v.label }),
          el("span", { className: "muted", text: ` ${v.orders.length ? t(v.orders[0].milestone) : `· ${t("empty_truck")}`}` }),
          el("div", { className: "muted small", text: [
            v.position.at ? fixAgo(v.position.at) : "",
            late > 0 ? `${t("late")} ${dur(late)}` : "",
          ].filter(Boolean).join(" · ") }));
      }));
    };
    $("sort").replaceChildren(...["late", "fix", "milestone", "name"].map((k) => el("option", { value: k, text: t(`sort_${k}`) })));
    $("sort").onchange = drawList;

    // An alert in the viewer's language, from its data and the time now
    // (how long still, how late now).
    const alertText = (a) => {
      const d = (a.detail && typeof a.detail === "object") ? a.detail : {};
      switch (a.kind) {
        case "stationary": return zh ? `已停留${dur(minsSince(a.since))}` : `still for ${dur(minsSince(a.since))}`;
        case "off_route": return zh ? `偏离规划路线${d.km_off_route}公里` : `${d.km_off_route} km off the planned road`;
        case "late": {
          const o = cars.get(a.order_id);
          const late = o && lateBy(o) > -Infinity ? lateBy(o) : d.minutes_late;
          return zh ? `预计晚到约${dur(late)}` : `expected about ${dur(late)} late`;
        }
        case "no_signal": return zh ? `已失联${dur(minsSince(d.since || a.since))}` : `no signal for ${dur(minsSince(d.since || a.since))}`;
        case "emergency": return zh ? `设备 ${d.device_id || ""} 紧急报警` : `alarm from device ${d.device_id || ""}`;
        case "damage": {
          const n = (d.damages || []).length;
          const stage = t(`stage_${d.stage}`);
          return zh ? `${stage}发现${n}处新损伤` : `${n} new damage${n === 1 ? "" : "s"} found at ${stage}`;
        }
        default: return typeof a.detail === "string" ? a.detail : "";
      }
    };

    // Alerts grouped per truck (one stopped truck is one group, not eight
    // rows), each still acknowledged on its own.
    const drawAlerts = () => {
      const groups = new Map();
      for (const a of alerts.values()) {
        const o = cars.get(a.order_id);
        const key = o && aboard(o) ? `t:${truckKey(o)}` : `o:${a.order_id}`;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key).push(a);
      }
      const sorted = [...groups.entries()].sort((x, y) => (x[1][0].since || "").localeCompare(y[1][0].since || ""));
      if (!sorted.length) {
        $("alerts").replaceChildren(el("li", { className: "none", "data-no-alerts": "", text: t("no_alerts") }));
        return;
      }
      $("alerts").replaceChildren(...sorted.map(([key, list]) => {
        const name = key.startsWith("t:") ? `${t("truck")} ${key.slice(2).split("/").slice(1).join("/")}` : key.slice(2);
        const kinds = [...new Set(list.map((a) => t(a.kind)))].join(", ");
        const open = list.filter((a) => !a.ack);
        return el("li", { className: `group${list.every((a) => a.ack) ? " acked" : ""}`, "data-alert-group": key, onclick: () => select(key) },
          el("strong", { text: `${name} · ${kinds}` }),
          open.length > 1 ? el("button", { type: "button", className: "ack", text: t("ack_all"), "data-ack-all": key,
            onclick: (ev) => { ev.stopPropagation(); acknowledge(open.map((a) => a.alert_id)); } }) : null,
          el("ul", {}, ...list.map((a) => {
            const acked = !!a.ack;
            return el("li", { "data-alert-id": a.alert_id, "data-acked": String(acked), className: acked ? "acked" : "" },
              el("span", { text: `${a.order_id}: ${alertText(a)}` }),
              acked ? el("div", { className: "ack-note", text: `${t("acked")} ${when(a.ack.at)}${a.ack.note ? ` · ${a.ack.note}` : ""}` })
                : el("button", { type: "button", className: "ack", text: t("ack"), "data-ack": a.alert_id,
                  onclick: (ev) => { ev.stopPropagation(); acknowledge([a.alert_id]); } }));
          })));
      }));
    };

    // Words that follow the clock ("still for 2 h 10 min", "last fix 5 min
    // ago"): every half minute, and at once when the dispatcher comes back
    // to the tab.
    const reword = () => { drawAlerts(); drawList(); };
    setInterval(reword, 30000);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) reword(); });

    // Seen to by a dispatcher: every dispatcher's page hears it.
    // One note for them all (a truck's alerts, one per car aboard).
    const acknowledge = async (ids) => {
      const note = window.prompt(t("ack_note"), "");
      if (note === null) return;
      for (const id of ids) {
        const r = await fetch(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, {
          method: "POST", headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify({ note }) });
        if (r.ok) { const a = await r.json(); alerts.set(a.alert_id, a); }
      }
      drawAlerts();
    };

    const fitAll = () => {
      const points = drawn.map((v) => m.at(v.position.lat, v.position.lon));
      if (points.length) m.map.fitBounds(L.latLngBounds(points).pad(0.2), { maxZoom: 10, animate: false });
    };
    const Controls = L.Control.extend({
      onAdd: () => {
        const box = el("div", { className: "map-tools" },
          el("button", { type: "button", text: t("fit_all"), "data-fit-all": "", onclick: () => { setFollowing(false); fitAll(); } }));
        L.DomEvent.disableClickPropagation(box);
        return box;
      },
    });
    new Controls({ position: "topright" }).addTo(m.map);
    const Legend = L.Control.extend({
      onAdd: () => {
        const rows = ["in_transit", "loaded", "arrived", "in_storage", "out_for_delivery", "on_hold"]
          .map((s) => el("div", {}, el("span", { className: "dot", style: `background:${VP.colors[s]}` }), el("span", { text: t(s) })));
        // Folded to one line on a phone (and whenever the dispatcher folds
        // it): the map is what matters.
        const box = el("details", { className: "legend", "data-legend": "" },
          el("summary", { text: t("legend") }),
          el("div", {}, el("span", { className: "truck-sample", text: "3" }), el("span", { text: t("legend_truck") })),
          el("div", {}, el("span", { className: "dot ring" }), el("span", { text: t("legend_alert") })), ...rows,
          el("div", {}, el("span", { className: "dot empty" }), el("span", { text: t("empty_truck_legend") })));
        box.open = window.matchMedia("(min-width: 900px)").matches;
        L.DomEvent.disableClickPropagation(box);
        return box;
      },
    });
    new Legend({ position: "bottomleft" }).addTo(m.map);
    const setFollowing = (on) => {
      following = on;
      const b = document.querySelector("#details [data-follow]");
      if (b) { b.setAttribute("aria-pressed", String(on)); b.textContent = t(on ? "following" : "follow_vehicle"); }
    };
    m.map.on("dragstart", () => setFollowing(false));

    const filters = () => {
      const ms = ["", "ordered", "produced", "released", "loaded", "in_transit", "arrived", "unloaded", "gated_in", "in_storage",
        "pdi", "in_repair", "ready_for_delivery", "out_for_delivery", "on_hold"];
      $("milestone-filter").replaceChildren(...ms.map((v) => el("option", { value: v, text: v ? t(v) : `${t("milestone")}: ${t("all")}` })));
      const carriers = ["", ...new Set([...cars.values()].map((o) => o.carrier_id))];
      $("carrier-filter").replaceChildren(...carriers.map((v) => el("option", { value: v, text: v || `${t("carrier")}: ${t("all")}` })));
      // Filters and search move the map to what they leave.
      const refit = () => { redraw(); setFollowing(false); fitAll(); };
      for (const id of ["milestone-filter", "carrier-filter", "alert-filter"]) $(id).onchange = refit;
      $("search").oninput = () => { redraw(); if ($("search").value.trim()) fitAll(); };
    };

    const snapshot = (msg) => {
      cars.clear(); alerts.clear(); trucks.clear();
      for (const tr of msg.trucks || []) trucks.set(`${tr.carrier_id}/${tr.truck_id}`, tr);
      for (const o of msg.fleet) {
        cars.set(o.order_id, o);
        for (const a of o.alerts || []) alerts.set(a.alert_id, a);
      }
      filters();
      redraw();
      if (!fitted && drawn.length) { fitAll(); fitted = true; }
    };

    // Each frame's work is measured (Performance API, "vp-frame", for an
    // observer such as the benchmark's), and the entries cleared now and
    // then: the page stays open all day.
    let measured = 0;
    const flush = () => {
      const began = performance.now();
      try { apply(); } finally {
        performance.measure("vp-frame", { start: began });
        if (++measured % 600 === 0) performance.clearMeasures("vp-frame");
      }
    };
    // A frame of positions: only what moved is touched, and no frame
    // spends more than about 6 ms moving markers (the rest move on the
    // next frame), so the map stays smooth with thousands of trucks. A
    // vehicle new to the map, or a car that changed milestone, makes a
    // whole pass.
    const toMove = new Set();
    const move = (k) => {
      const v = drawnByKey.get(k), mk = markers.get(k);
      if (!v || !mk) return;
      const tr = v.kind === "truck" ? trucks.get(v.truck) : null;
      const position = v.kind === "truck" ? (tr && tr.position) || v.orders.find((o) => o.position)?.position : v.orders[0].position;
      if (!position) return;
      v.position = position;
      mk.setLatLng(m.at(position.lat, position.lon));
    };
    const apply = () => {
      frame = 0;
      let whole = false, lastMoved = null;
      for (const [key, p] of pending) {
        if (key.startsWith("o:")) {
          const o = cars.get(key.slice(2));
          if (!o) continue;
          o.position = { ...(o.position || {}), lat: p.lat, lon: p.lon, at: p.at, speed_kmh: p.speed_kmh };
          if (p.milestone && p.milestone !== o.milestone) { o.milestone = p.milestone; whole = true; }
          lastMoved = o.order_id;
          toMove.add(aboard(o) ? `t:${truckKey(o)}` : key);
        } else {
          const tr = trucks.get(key.slice(2)) || { carrier_id: p.carrier_id, truck_id: p.truck_id };
          tr.position = { lat: p.lat, lon: p.lon, at: p.at, speed_kmh: p.speed_kmh };
          trucks.set(key.slice(2), tr);
          toMove.add(key);
        }
      }
      pending.clear();
      // Once a frame: a write to the map's attributes restyles it.
      if (lastMoved && $("map").dataset.lastMoved !== lastMoved) $("map").dataset.lastMoved = lastMoved;
      for (const k of toMove) if (!drawnByKey.has(k) && !considered.has(k)) whole = true;
      if (whole) { toMove.clear(); return redraw(); }
      const began = performance.now();
      let n = 0, selectedMoved = false;
      for (const k of toMove) {
        toMove.delete(k);
        move(k);
        if (k === selected) selectedMoved = true;
        if (++n % 16 === 0 && performance.now() - began > 6) break;
      }
      if (toMove.size && !frame) frame = requestAnimationFrame(flush);
      if (selectedMoved) {
        const v = drawnByKey.get(selected);
        if (following && v) m.map.panTo(m.at(v.position.lat, v.position.lon), { animate: false });
        showSelected();
      }
    };

    // Orders created after the snapshot: fetched once, then live.
    const asked = new Set();
    const learn = (id) => {
      if (cars.has(id) || asked.has(id)) return;
      asked.add(id);
      api(`/api/v1/orders/${encodeURIComponent(id)}`).then((o) => {
        if (o.milestone === "delivered" || o.milestone === "cancelled") return;
        cars.set(id, { ...o, alerts: [] });
        redraw();
      }).catch(() => asked.delete(id));
    };

    const onMessage = (msg) => {
      if (msg.type === "snapshot") return snapshot(msg);
      if (msg.type === "positions") {
        for (const v of msg.vehicles) {
          if (v.order_id) { learn(v.order_id); pending.set(`o:${v.order_id}`, v); }
          else if (v.truck_id) pending.set(`t:${v.carrier_id}/${v.truck_id}`, v);
        }
        if (!frame) frame = requestAnimationFrame(flush);
        return;
      }
      if (msg.type !== "event") return;
      const e = msg.event;
      // A correction may reopen a delivered order: learn it afresh.
      if (e.kind === "correction" && !cars.has(e.order_id)) asked.delete(e.order_id);
      if (e.order_id) learn(e.order_id);
      const o = cars.get(e.order_id);
      if (e.kind === "milestone" && o) {
        o.milestone = e.milestone;
        o.truck_id = e.truck_id || null;
        if (e.milestone === "delivered" || e.milestone === "cancelled") cars.delete(e.order_id);
        redraw();
      } else if (e.kind === "correction" && o) {
        o.milestone = e.milestone;
        o.truck_id = e.truck_id || null;
        if (e.position) o.position = e.position;
        redraw();
      } else if (e.kind === "alert") {
        if (e.state === "raised" || e.state === "acked") alerts.set(e.alert_id, { ...e, kind: e.alert_kind });
        else alerts.delete(e.alert_id);
        redraw();
      }
    };

    // Finds a vehicle: the map goes to it and follows it; its details open.
    const select = (key) => {
      const v = drawnByKey.get(key);
      selected = key;
      if (v) { setFollowing(true); m.map.setView(m.at(v.position.lat, v.position.lon), Math.max(m.map.getZoom(), 9), { animate: false }); }
      drawList();
      showSelected(true);
      // On a phone the details sit in the list's panel: bring them up.
      if (!window.matchMedia("(min-width: 900px)").matches) $("details").scrollIntoView({ block: "start" });
    };

    const history = async (id) => {
      const events = [];
      let next = null;
      do {
        const page = await api(`/api/v1/orders/${encodeURIComponent(id)}/history?limit=1000${next ? `&after=${encodeURIComponent(next)}` : ""}`);
        events.push(...page.events.filter((e) => e.kind !== "gps"));
        next = page.next;
      } while (next);
      return events;
    };

    const closeDetails = () => { selected = null; setFollowing(false); $("details").hidden = true; $("app").classList.remove("detailed"); drawList(); };
    // "Follow": the map keeps the open vehicle in its middle as it moves,
    // until the dispatcher drags the map or presses it again.
    const followButton = () => el("button", { type: "button", className: "close follow", text: t(following ? "following" : "follow_vehicle"),
      "data-follow": "", "aria-pressed": String(following), onclick: () => {
        setFollowing(!following);
        const v = following && drawnByKey.get(selected);
        if (v) m.map.panTo(m.at(v.position.lat, v.position.lon), { animate: false });
      } });
    const header = (title) => el("div", { className: "details-head" }, el("h2", { text: title }),
      el("div", {}, followButton(),
        el("button", { type: "button", className: "close", text: t("close"), "data-close": "", onclick: closeDetails })));
    const fixLine = (p) => p && p.at ? el("div", { "data-last-fix": "",
      text: `${fixAgo(p.at)}${p.speed_kmh != null ? ` · ${t("speed")} ${Math.round(p.speed_kmh)} km/h` : ""}` }) : null;
    // Where it is, in words: "12 km from Shaoguan".
    const placeLine = (p) => {
      if (!p || p.lat == null) return null;
      const line = el("div", { className: "muted", "data-place": "" });
      VP.near(p.lat, p.lon).then((n) => { line.textContent = VP.nearWords(n); });
      return line;
    };
    const etaLine = (o) => {
      const late = lateBy(o);
      return el("div", { className: late > 0 ? "error" : "muted", "data-eta": o.eta || "", "data-late": String(late > 0),
        text: `${t("eta")} ${when(o.eta)} · ${t("promised")} ${when(o.promised_by)}${late > 0 ? ` · ${t("late")} ${dur(late)}` : ""}` });
    };

    // The cameras watching a truck or a site (read at most every 10 s): a
    // player each, live ones started by a click.
    let camerasRead = null;
    const camerasOf = async (match) => {
      if (!camerasRead || camerasRead.at < Date.now() - 10000) {
        camerasRead = { at: Date.now(), list: api("/api/v1/cameras").then((r) => r.cameras).catch(() => []) };
      }
      return (await camerasRead.list).filter(match);
    };
    const cameraPlayers = async (box, key, match) => {
      for (const c of await camerasOf(match)) {
        if (shownKey !== key) return;
        const video = el("video", { muted: true, playsInline: true, controls: true, preload: "none" });
        const play = el("button", { type: "button", className: "link", text: `▶ ${t("watch_live")}`, disabled: !c.live });
        play.addEventListener("click", () => {
          play.hidden = true;
          VP.playHls(video, `/api/v1/cameras/${encodeURIComponent(c.camera_id)}/live.m3u8`, () => video.play().catch(() => {}), token);
        }, { once: true });
        box.append(el("figure", { className: "camera", "data-camera-id": c.camera_id, "data-live": String(c.live) }, video, play,
          el("figcaption", { className: "muted", text: `${c.camera_id} · ${c.live ? t("on_air") : t("cam_off")}` })));
      }
    };

    let shownKey = null;
    const showSelected = async (fresh) => {
      const key = selected;
      if (!key) return;
      const box = $("details");
      box.hidden = false;
      $("app").classList.add("detailed");
      // Live numbers refresh in place; the history is read only when a
      // vehicle is opened.
      // An order opened from a truck's list stays open.
      if (!fresh && shownKey !== key) return;
      if (!fresh && shownKey === key) {
        const v = drawnByKey.get(key);
        const line = box.querySelector("[data-last-fix]"), place = box.querySelector("[data-place]");
        if (v && line) line.replaceWith(fixLine(v.position));
        if (v && place) place.replaceWith(placeLine(v.position));
        return;
      }
      shownKey = key;
      const v = drawnByKey.get(key);
      if (key.startsWith("t:")) {
        const orders = v ? v.orders : carsOf(key.slice(2));
        box.replaceChildren(...[header(`${t("truck")} ${key.slice(2).split("/").slice(1).join("/")}`),
          fixLine(v && v.position), placeLine(v && v.position),
          el("ul", { className: "aboard" }, ...orders.map((o) => el("li", { "data-order-id": o.order_id, onclick: () => openOrder(o.order_id) },
            el("strong", { text: o.order_id }), el("span", { className: "muted", text: ` ${[o.model, t(o.milestone)].filter(Boolean).join(" · ")}` }), etaLine(o))))].filter(Boolean));
        const [carrier, ...plate] = key.slice(2).split("/");
        await cameraPlayers(box, key, (c) => c.carrier_id === carrier && c.truck_id === plate.join("/"));
        return;
      }
      await openOrder(key.slice(2));
    };

    // Its condition checks: each stage, its damage named in the viewer's
    // language, what was new there marked (not at the first check: there
    // is nothing before it).
    let codesOnce = null;
    const showInspections = async (box, id) => {
      let inspections, codes;
      try {
        codesOnce = codesOnce || api("/api/v1/damage-codes");
        [{ inspections }, codes] = await Promise.all([api(`/api/v1/orders/${encodeURIComponent(id)}/inspections`), codesOnce]);
      } catch (_) { return; }
      if (shownKey !== `o:${id}`) return;
      // The proof of delivery, fetched with the dispatcher's token and
      // opened as a PDF in a new tab.
      if (inspections.length) {
        const pod = el("button", { type: "button", className: "link", text: t("pod"), "data-pod": id });
        pod.addEventListener("click", async () => {
          const tab = window.open("", "_blank");
          try {
            const r = await fetch(`/api/v1/orders/${encodeURIComponent(id)}/pod.pdf`, { headers: auth });
            if (!r.ok) throw r.status;
            const url = URL.createObjectURL(await r.blob());
            if (tab) tab.location = url; else location.assign(url);
          } catch (_) { if (tab) tab.close(); pod.textContent = `${t("pod")} · ${t("not_loaded")}`; }
        });
        box.append(pod);
      }
      const name = (table, code) => { const c = codes[table].find((x) => x.code === code); return c ? (zh ? c.name_zh : c.name) : code; };
      inspections.forEach((i, n) => {
        const isNew = (d) => n > 0 && i.new_damages.some((x) => x.area === d.area && x.type === d.type);
        box.append(el("div", { className: "inspection", "data-inspection": i.stage },
          el("strong", { text: `${t(`check_${i.stage}`)} · ${when(i.at)} · ${i.inspector}` }),
          i.damages.length ? el("ul", {}, ...i.damages.map((d) => el("li", { className: isNew(d) ? "error" : "", "data-new": String(isNew(d)),
            text: `${isNew(d) ? `${t("new_damage")} · ` : ""}${name("areas", d.area)}${zh ? "：" : ": "}${name("types", d.type)}${zh ? "，" : ", "}${name("severities", d.severity)}` })))
            : el("div", { className: "muted", text: t("no_damage") })));
      });
    };

    const openOrder = async (id) => {
      const box = $("details");
      box.hidden = false;
      $("app").classList.add("detailed");
      shownKey = `o:${id}`;
      box.replaceChildren(header(id));
      try {
        const [o, events] = await Promise.all([api(`/api/v1/orders/${encodeURIComponent(id)}`), history(id)]);
        if (shownKey !== `o:${id}`) return;
        // The fleet's socket carries no ETA changes: what was just read
        // words the list and the alerts too.
        const known = cars.get(id);
        if (known && known.eta !== o.eta) { known.eta = o.eta; drawAlerts(); drawList(); }
        const steps = events.filter((e) => e.status === "accepted" && !e.void && e.milestone && (e.kind === "scan" || e.kind === "geofence" || e.kind === "cancel"));
        const voided = events.filter((e) => e.void && (e.kind === "scan" || e.kind === "gps" || e.kind === "geofence"));
        const to = o.destination ? (o.destination.address || o.destination.name || `${o.destination.lat}, ${o.destination.lon}`) : "—";
        // (append would write a missing line as the text "null")
        box.append(...[el("div", { text: [t(o.milestone), o.model, o.vin].filter(Boolean).join(" · ") }),
          fixLine(o.position), placeLine(o.position), etaLine(o),
          el("div", { className: "muted", "data-destination": "", text: `${t("to")} ${to}` }),
          o.truck_id ? el("div", { text: `${t("truck")}: ${o.truck_id}` }) : null,
          el("ol", {}, ...steps.map((e) => el("li", { "data-milestone": e.milestone, text: `${t(e.milestone)} · ${when(e.occurred_at)}${e.gap ? " · " + t("gap") : ""}` }))),
          ...voided.map((e) => el("div", { className: "muted", "data-voided": e.event_id, text: `${t("voided")}: ${e.milestone ? t(e.milestone) : t("fix")} · ${when(e.occurred_at)} · ${e.void.reason}` }))].filter(Boolean));
        for (const a of alerts.values()) if (a.order_id === id) box.append(el("div", { className: "error", text: `${t(a.kind)}: ${alertText(a)}` }));
        // The camera of the truck it is on, or of the site it is in.
        await cameraPlayers(box, `o:${id}`, (c) => (o.truck_id && c.truck_id === o.truck_id && c.carrier_id === o.carrier_id)
          || (o.site && c.site_id === o.site.site_id));
        await showInspections(box, id);
        if (shownKey !== `o:${id}`) return;
        // Played by streaming from a short-lived signed link (a <video>
        // sends no token), never downloaded whole first.
        for (const c of events.filter((e) => e.kind === "clip").reverse()) {
          // A recorded broadcast: HLS, its segments read with the token.
          if (c.content_type === "application/vnd.apple.mpegurl") {
            const video = el("video", { controls: true, playsInline: true, preload: "none" });
            const play = el("button", { type: "button", className: "link", text: "▶" });
            play.addEventListener("click", () => {
              play.hidden = true;
              VP.playHls(video, `/api/v1/orders/${encodeURIComponent(id)}/clips/${c.clip_id}`, () => video.play().catch(() => {}), token);
            }, { once: true });
            box.append(el("figure", { "data-clip-id": c.clip_id }, video, play, el("figcaption", { className: "muted", text: `${t(c.clip_kind)} · ${when(c.captured_at)}` })));
            continue;
          }
          let link;
          try { link = await api(`/api/v1/orders/${encodeURIComponent(id)}/clips/${c.clip_id}/link`); } catch (_) { continue; }
          if (shownKey !== `o:${id}`) return;
          const u = new URL(link.url, location.href);
          const video = el("video", { controls: true, preload: "metadata", src: u.pathname + u.search });
          box.append(el("figure", { "data-clip-id": c.clip_id }, video, el("figcaption", { className: "muted", text: `${t(c.clip_kind)} · ${when(c.captured_at)}` })));
        }
      } catch (status) {
        box.append(el("p", { className: "error", text: `${t("not_loaded")} (${status})` }));
      }
    };

    const setState = (live) => { $("status").dataset.live = String(live); $("status").textContent = live ? t("live") : t("reconnecting"); };
    setState(false);
    VP.socket(VP.wsUrl(`/ws/fleet?access_token=${encodeURIComponent(token)}`), { onMessage, onState: setState });
  };

  const begin = async (token) => {
    const r = await fetch("/api/v1/fleet", { headers: { Authorization: `Bearer ${token}` } });
    if (!r.ok) {
      sessionStorage.removeItem("vinpath-token");
      $("login").hidden = false; $("app").hidden = true;
      $("login-error").hidden = false;
      $("login-error").textContent = r.status === 401 || r.status === 403 ? t("bad_token") : `${t("not_loaded")} (${r.status})`;
      return;
    }
    sessionStorage.setItem("vinpath-token", token);
    $("login").hidden = true; $("app").hidden = false;
    start(token);
  };
  $("login").onsubmit = (e) => { e.preventDefault(); begin(new FormData(e.target).get("token")); };
  const kept = sessionStorage.getItem("vinpath-token");
  if (kept) begin(kept);
})();
