// The dispatchers' live map: every active car, coloured by milestone, kept
// live over /ws/fleet. Position frames are applied once per animation frame
// and drawn on a canvas, so thousands of cars stay smooth.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { t, when, el, lang } = VP;
  const zh = lang === "zh";

  // A span of minutes in words: "2 h 10 min", "2小时10分钟".
  const dur = (mins) => {
    mins = Math.max(0, Math.round(mins));
    const h = Math.floor(mins / 60), m = mins % 60;
    if (zh) return h ? `${h}小时${m ? `${m}分钟` : ""}` : `${m}分钟`;
    return h ? `${h} h${m ? ` ${m} min` : ""}` : `${m} min`;
  };
  const minsSince = (iso) => (Date.now() - new Date(iso).getTime()) / 60000;

  $("token-label").textContent = t("token");
  $("open").textContent = t("open");

  const start = (token) => {
    const auth = { Authorization: `Bearer ${token}` };
    const api = (path) => fetch(path, { headers: auth }).then((r) => r.ok ? r.json() : Promise.reject(r.status));
    const cars = new Map();      // order_id → {order, marker}
    const empties = new Map();   // truck_id → marker of a truck with no car aboard
    const alerts = new Map();    // alert_id → alert
    const pending = new Map();   // order_id → latest position, applied on the next frame
    let frame = 0, fitted = false;
    const m = VP.map($("map"), "/assets/node_modules/world-atlas/land-50m.json");
    const renderer = L.canvas({ padding: 0.3 });
    $("search").placeholder = t("search");
    $("alerts-title").textContent = t("alerts");
    $("alert-filter-label").textContent = t("with_alerts");

    const visible = (o) => {
      const ms = $("milestone-filter").value, carrier = $("carrier-filter").value;
      const q = $("search").value.trim().toUpperCase();
      if (ms && o.milestone !== ms) return false;
      if (carrier && o.carrier_id !== carrier) return false;
      if ($("alert-filter").checked && ![...alerts.values()].some((a) => a.order_id === o.order_id)) return false;
      if (q && !o.order_id.toUpperCase().includes(q) && !(o.vin || "").includes(q)) return false;
      return true;
    };

    const place = (c) => {
      const o = c.order, p = o.position;
      const show = p && visible(o);
      if (!show) { if (c.marker) { c.marker.remove(); c.marker = null; } return; }
      const at = m.at(p.lat, p.lon);
      const color = VP.colors[o.milestone] || "#52606d";
      if (!c.marker) {
        c.marker = L.circleMarker(at, { renderer, radius: 5, weight: 1, color: "#fff", fillColor: color, fillOpacity: .95 })
          .on("click", () => details(o.order_id)).addTo(m.map);
      } else {
        c.marker.setLatLng(at).setStyle({ fillColor: color });
      }
    };

    // A truck with no car aboard still shows, grey and square-ish.
    const placeTruck = (tr) => {
      if (!tr.position || (tr.order_ids || []).length) return;
      const at = m.at(tr.position.lat, tr.position.lon);
      const old = empties.get(tr.truck_id);
      if (old) { old.setLatLng(at); return; }
      empties.set(tr.truck_id, L.circleMarker(at, { renderer, radius: 4, weight: 2, color: "#52606d", fillColor: "#cbd2d9", fillOpacity: 1 })
        .bindTooltip(`${t("truck")} ${tr.truck_id}`).addTo(m.map));
    };

    const count = () => {
      const n = [...cars.values()].filter((c) => c.marker).length + empties.size;
      $("map").dataset.vehicles = String(n);
      $("count").textContent = `${n} ${t("vehicles")}`;
    };

    const redraw = () => { for (const c of cars.values()) place(c); count(); drawAlerts(); };

    // An alert in the viewer's language, from its data and the time now
    // (how long still, how late now).
    const alertText = (a) => {
      const d = (a.detail && typeof a.detail === "object") ? a.detail : {};
      switch (a.kind) {
        case "stationary": return zh ? `已停留${dur(minsSince(a.since))}` : `still for ${dur(minsSince(a.since))}`;
        case "off_route": return zh ? `偏离规划路线${d.km_off_route}公里` : `${d.km_off_route} km off the planned road`;
        case "late": {
          const o = cars.get(a.order_id)?.order;
          const eta = (o && o.eta) || d.eta, promised = (o && o.promised_by) || d.promised_by;
          const late = eta && promised ? (new Date(eta) - new Date(promised)) / 60000 : d.minutes_late;
          return zh ? `预计晚到约${dur(late)}` : `expected about ${dur(late)} late`;
        }
        case "no_signal": return zh ? `已失联${dur(minsSince(d.since || a.since))}` : `no signal for ${dur(minsSince(d.since || a.since))}`;
        case "emergency": return zh ? `设备 ${d.device_id || ""} 紧急报警` : `alarm from device ${d.device_id || ""}`;
        default: return typeof a.detail === "string" ? a.detail : "";
      }
    };

    const drawAlerts = () => {
      const list = [...alerts.values()].sort((a, b) => (b.since || "").localeCompare(a.since || ""));
      $("alerts").replaceChildren(...list.map((a) => {
        const acked = !!a.ack;
        const button = acked ? null : el("button", { type: "button", className: "ack", text: t("ack"), "data-ack": a.alert_id,
          onclick: (ev) => { ev.stopPropagation(); acknowledge(a.alert_id); } });
        return el("li", { "data-alert-id": a.alert_id, "data-acked": String(acked), className: acked ? "acked" : "", onclick: () => details(a.order_id) },
          el("strong", { text: `${t(a.kind)} · ${a.order_id}` }), el("div", { className: "muted", "data-alert-text": "", text: `${alertText(a)} · ${when(a.since)}` }),
          acked ? el("div", { className: "ack-note", text: `${t("acked")} ${when(a.ack.at)}${a.ack.note ? ` · ${a.ack.note}` : ""}` }) : null,
          button);
      }));
    };

    // Their words follow the clock ("still for 2 h 10 min").
    setInterval(drawAlerts, 30000);

    // Seen to by a dispatcher: every dispatcher's page hears it.
    const acknowledge = async (id) => {
      const note = window.prompt(t("ack_note"), "");
      if (note === null) return;
      const r = await fetch(`/api/v1/alerts/${encodeURIComponent(id)}/ack`, {
        method: "POST", headers: { ...auth, "Content-Type": "application/json" }, body: JSON.stringify({ note }) });
      if (r.ok) { const a = await r.json(); alerts.set(a.alert_id, a); drawAlerts(); }
    };

    const filters = (fleet) => {
      const ms = ["", "ordered", "produced", "released", "loaded", "in_transit", "arrived", "unloaded", "gated_in", "in_storage",
        "pdi", "in_repair", "ready_for_delivery", "out_for_delivery", "on_hold"];
      $("milestone-filter").replaceChildren(...ms.map((v) => el("option", { value: v, text: v ? t(v) : `${t("all")}` })));
      const carriers = ["", ...new Set(fleet.map((o) => o.carrier_id))];
      $("carrier-filter").replaceChildren(...carriers.map((v) => el("option", { value: v, text: v || `${t("carrier")}: ${t("all")}` })));
      for (const id of ["milestone-filter", "carrier-filter", "alert-filter"]) $(id).onchange = redraw;
      $("search").oninput = () => {
        redraw();
        const hit = [...cars.values()].find((c) => c.marker);
        if ($("search").value.trim() && hit) m.map.setView(hit.marker.getLatLng(), Math.max(m.map.getZoom(), 8));
      };
    };

    const snapshot = (msg) => {
      for (const c of cars.values()) if (c.marker) c.marker.remove();
      for (const mk of empties.values()) mk.remove();
      cars.clear(); alerts.clear(); empties.clear();
      for (const tr of msg.trucks || []) placeTruck(tr);
      for (const o of msg.fleet) {
        cars.set(o.order_id, { order: o, marker: null });
        for (const a of o.alerts || []) alerts.set(a.alert_id, a);
      }
      filters(msg.fleet);
      redraw();
      const drawn = [...cars.values()].filter((c) => c.marker).map((c) => c.marker.getLatLng());
      if (drawn.length && !fitted) { m.map.fitBounds(L.latLngBounds(drawn).pad(0.3), { maxZoom: 9 }); fitted = true; }
    };

    const flush = () => {
      frame = 0;
      for (const [id, p] of pending) {
        const c = cars.get(id);
        if (!c) continue;
        c.order.position = { ...(c.order.position || {}), lat: p.lat, lon: p.lon, at: p.at };
        if (p.milestone) c.order.milestone = p.milestone;
        place(c);
        $("map").dataset.lastMoved = id;
      }
      pending.clear();
      count();
    };

    // Orders created after the snapshot: fetched once, then live.
    const asked = new Set();
    const learn = (id) => {
      if (cars.has(id) || asked.has(id)) return;
      asked.add(id);
      api(`/api/v1/orders/${encodeURIComponent(id)}`).then((o) => {
        if (o.milestone === "delivered" || o.milestone === "cancelled") return;
        cars.set(id, { order: { ...o, alerts: [] }, marker: null });
        place(cars.get(id)); count();
      }).catch(() => asked.delete(id));
    };

    const onMessage = (msg) => {
      if (msg.type === "snapshot") return snapshot(msg);
      if (msg.type === "positions") {
        for (const v of msg.vehicles) {
          if (v.order_id) { learn(v.order_id); pending.set(v.order_id, v); }
          else if (empties.has(v.truck_id)) empties.get(v.truck_id).setLatLng(m.at(v.lat, v.lon));
        }
        if (!frame) frame = requestAnimationFrame(flush);
        return;
      }
      if (msg.type !== "event") return;
      const e = msg.event;
      // A correction may reopen a delivered order: learn it afresh.
      if (e.kind === "correction" && !cars.has(e.order_id)) asked.delete(e.order_id);
      if (e.order_id) learn(e.order_id);
      const c = cars.get(e.order_id);
      if (e.kind === "milestone" && c) {
        c.order.milestone = e.milestone;
        if (e.milestone === "delivered" || e.milestone === "cancelled") { if (c.marker) c.marker.remove(); cars.delete(e.order_id); }
        else place(c);
        count();
      } else if (e.kind === "correction" && c) {
        c.order.milestone = e.milestone;
        if (e.position) c.order.position = e.position;
        place(c); count();
        if (shownId === e.order_id) details(e.order_id);
      } else if (e.kind === "alert") {
        if (e.state === "raised" || e.state === "acked") alerts.set(e.alert_id, { ...e, kind: e.alert_kind });
        else alerts.delete(e.alert_id);
        drawAlerts();
      }
    };

    let shownId = null;
    const history = async (id) => {
      const events = [];
      let next = null;
      do {
        const page = await api(`/api/v1/orders/${encodeURIComponent(id)}/history?limit=1000${next ? `&after=${encodeURIComponent(next)}` : ""}`);
        events.push(...page.events.filter((e) => e.kind !== "gps"));
        next = page.next;
      } while (next);
      return { events };
    };
    const details = async (id) => {
      const box = $("details");
      shownId = id;
      box.hidden = false;
      box.replaceChildren(el("h2", { text: id }));
      try {
        const [o, h] = await Promise.all([api(`/api/v1/orders/${encodeURIComponent(id)}`), history(id)]);
        if (shownId !== id) return;
        const steps = h.events.filter((e) => e.status === "accepted" && !e.void && e.milestone && (e.kind === "scan" || e.kind === "geofence" || e.kind === "cancel"));
        const voided = h.events.filter((e) => e.void && (e.kind === "scan" || e.kind === "gps" || e.kind === "geofence"));
        box.append(el("div", { text: `${t(o.milestone)} · ${o.model} · ${o.vin || ""}` }),
          el("div", { className: "muted", text: `${t("eta")}: ${when(o.eta)} · ${t("promised")}: ${when(o.promised_by)}` }),
          o.truck_id ? el("div", { text: `${t("truck")}: ${o.truck_id}` }) : null,
          el("ol", {}, ...steps.map((e) => el("li", { "data-milestone": e.milestone, text: `${t(e.milestone)} · ${when(e.occurred_at)}${e.gap ? " · " + t("gap") : ""}` }))),
          ...voided.map((e) => el("div", { className: "muted", "data-voided": e.event_id, text: `${t("voided")}: ${e.milestone ? t(e.milestone) : t("fix")} · ${when(e.occurred_at)} · ${e.void.reason}` })));
        for (const a of alerts.values()) if (a.order_id === id) box.append(el("div", { className: "error", text: `${t(a.kind)}: ${alertText(a)}` }));
        for (const c of h.events.filter((e) => e.kind === "clip").reverse()) {
          const r = await fetch(`/api/v1/orders/${encodeURIComponent(id)}/clips/${c.clip_id}`, { headers: auth });
          if (!r.ok || shownId !== id) continue;
          const video = el("video", { controls: true, preload: "metadata", src: URL.createObjectURL(await r.blob()) });
          box.append(el("figure", { "data-clip-id": c.clip_id }, video, el("figcaption", { className: "muted", text: `${t(c.clip_kind)} · ${when(c.captured_at)}` })));
        }
      } catch (status) {
        box.append(el("p", { className: "error", text: String(status) }));
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
      $("login-error").hidden = false; $("login-error").textContent = `${r.status}`;
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
