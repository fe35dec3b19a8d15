// The customer's tracking page: the car, where it is, its journey, its
// videos, all kept live over /ws/track with resume after a lost connection.
"use strict";

(() => {
  const token = decodeURIComponent(location.pathname.split("/").pop());
  const $ = (id) => document.getElementById(id);
  const { t, when, ago, el } = VP;
  let order = null, cursor = null, track = [], shown = new Set();

  for (const [id, key] of [["eta-label", "eta"], ["promised-label", "promised"], ["updated-label", "updated"],
    ["timeline-title", "timeline"], ["clips-title", "clips"], ["no-clips", "no_clips"]]) $(id).textContent = t(key);

  const m = VP.map($("map"), "/assets/node_modules/world-atlas/land-110m.json");
  const line = L.polyline([], { color: "#2f80ed", weight: 4, opacity: .8 }).addTo(m.map);
  const car = L.circleMarker([0, 0], { radius: 9, color: "#fff", weight: 3, fillColor: "#27ae60", fillOpacity: 1 });
  const home = L.circleMarker([0, 0], { radius: 6, color: "#102a43", weight: 2, fillColor: "#fff", fillOpacity: 1 });
  let fitted = false;

  const drawMap = () => {
    const p = order.position;
    if (order.destination) home.setLatLng(m.at(order.destination.lat, order.destination.lon)).addTo(m.map);
    line.setLatLngs(track.map(([lat, lon]) => m.at(lat, lon)));
    if (p) {
      car.setLatLng(m.at(p.lat, p.lon)).addTo(m.map);
      if (!fitted) { m.map.setView(m.at(p.lat, p.lon), 9); fitted = true; }
    } else if (!fitted && order.destination) {
      m.map.setView(m.at(order.destination.lat, order.destination.lon), 6);
    }
  };

  const drawTimeline = () => {
    const list = $("timeline");
    // Newest first, by when it happened (late scans arrive out of order).
    const steps = order.timeline.slice().sort((a, b) => new Date(b.at) - new Date(a.at));
    // The current step is the order's milestone (a late scan kept in the
    // journey, or a clock that differs, may date another one later).
    let current = steps.findIndex((e) => e.milestone === order.milestone);
    if (current < 0) current = 0;
    list.replaceChildren(...steps.map((e, i) => el("li",
      { "data-milestone": e.milestone, className: i === current ? "current" : "" },
      el("span", { text: t(e.milestone) }), el("span", { className: "at", text: when(e.at) }),
      e.gap ? el("span", { className: "gap", text: t("gap") }) : null)));
  };

  const drawClips = () => {
    $("no-clips").hidden = order.clips.length > 0;
    for (const c of order.clips) {
      if (shown.has(c.clip_id)) continue;
      shown.add(c.clip_id);
      // Same origin as the page, whatever the configured public URL.
      const video = el("video", { controls: true, preload: "metadata", playsInline: true, src: new URL(c.url, location.href).pathname });
      const box = el("figure", { className: "clip", "data-clip-id": c.clip_id }, video,
        el("figcaption", { className: "caption", text: `${t(c.kind)} · ${when(c.captured_at)}` }));
      box.dataset.capturedAt = c.captured_at;
      // Newest first: before the first one filmed earlier.
      const older = [...$("clips").children].find((x) => new Date(x.dataset.capturedAt) < new Date(c.captured_at));
      $("clips").insertBefore(box, older || null);
    }
  };

  const drawNow = () => {
    document.body.dataset.milestone = order.milestone;
    $("model").textContent = order.model;
    $("vin").textContent = order.vin_masked || "";
    $("milestone").textContent = t(order.milestone);
    const done = order.milestone === "delivered";
    $("eta-label").textContent = done ? t("delivered") : t("eta");
    $("eta").textContent = done ? when(order.milestone_at) : when(order.eta);
    $("promised").textContent = when(order.promised_by);
    $("updated").textContent = ago(order.updated_at);
  };

  const draw = () => { drawNow(); drawTimeline(); drawMap(); drawClips(); };

  const apply = (msg) => {
    if (msg.type === "snapshot") {
      order = msg.order; cursor = msg.cursor; track = order.track || [];
      if (order.position) track.push([order.position.lat, order.position.lon]);
      return draw();
    }
    if (msg.type !== "event" || !order) return;
    cursor = msg.cursor;
    const e = msg.event;
    const happened = e.at || e.captured_at;
    if (happened && (!order.updated_at || happened > order.updated_at)) order.updated_at = happened;
    if (e.kind === "milestone") {
      order.milestone = e.milestone; order.milestone_at = e.at;
      order.timeline.push({ milestone: e.milestone, at: e.at, gap: e.gap });
    } else if (e.kind === "position") {
      order.position = e; track.push([e.lat, e.lon]);
    } else if (e.kind === "eta") {
      order.eta = e.eta;
    } else if (e.kind === "clip") {
      order.clips.push({ clip_id: e.clip_id, kind: e.clip_kind, captured_at: e.captured_at, url: e.url });
    } else if (e.kind === "correction" && e.order) {
      // A dispatcher voided a wrong scan or fix: the order as corrected.
      order = e.order; track = order.track || [];
      if (order.position) track.push([order.position.lat, order.position.lon]);
    } else if (e.kind === "notice") {
      $("notice").textContent = t("arriving"); $("notice").hidden = false;
    }
    draw();
  };

  const setState = (live) => {
    $("status").dataset.live = String(live);
    $("status").textContent = live ? t("live") : t("reconnecting");
  };
  setState(false);
  VP.socket(VP.wsUrl(`/ws/track/${encodeURIComponent(token)}`), {
    onMessage: apply,
    onState: setState,
    // After a drop, resume from the last cursor: no gap, no repeat.
    resumeUrl: () => cursor ? VP.wsUrl(`/ws/track/${encodeURIComponent(token)}?after=${encodeURIComponent(cursor)}`) : null,
    // A link rotated away or expired meanwhile: show the friendly page.
    onDead: async () => {
      try {
        const r = await fetch(`/api/v1/track/${encodeURIComponent(token)}`);
        if (r.status === 404) { location.reload(); return true; }
      } catch (_) { /* offline: keep trying */ }
      return false;
    },
  });
  // "Updated N minutes ago" stays true while nothing happens.
  setInterval(() => { if (order) $("updated").textContent = ago(order.updated_at); }, 30000);
})();
