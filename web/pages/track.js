// The customer's tracking page: the car, where it is, its journey, its
// videos, all kept live over /ws/track with resume after a lost connection.
"use strict";

(() => {
  const token = decodeURIComponent(location.pathname.split("/").pop());
  const $ = (id) => document.getElementById(id);
  const { t, when, ago, el, lang } = VP;
  const zh = lang === "zh";
  const cfg = document.body.dataset;
  const brand = cfg.brand || "vinpath";
  let order = null, cursor = null, track = [], shown = new Set();

  // The journey, in milestone order (a car may skip some; the order's
  // milestone is the current step, whatever the times say).
  const STEPS = ["ordered", "produced", "released", "loaded", "in_transit", "arrived", "unloaded", "gated_in",
    "in_storage", "pdi", "ready_for_delivery", "out_for_delivery", "delivered"];

  for (const [id, key] of [["eta-label", "eta"], ["promised-label", "promised"], ["updated-label", "updated"],
    ["timeline-title", "timeline"], ["clips-title", "clips"], ["inspections-title", "inspections"], ["no-clips", "no_clips"], ["order-label", "order"],
    ["to-label", "to"], ["support-label", "support"]]) $(id).textContent = t(key);
  $("brand").textContent = brand;
  if (cfg.support) { $("support-contact").textContent = cfg.support; $("support").hidden = false; }

  const m = VP.map($("map"), "/assets/node_modules/world-atlas/land-110m.json");
  const travelled = L.polyline([], { color: "#2f80ed", weight: 4, opacity: .85 }).addTo(m.map);
  const ahead = L.polyline([], { color: "#2f80ed", weight: 3, opacity: .55, dashArray: "6 8" }).addTo(m.map);
  const car = L.circleMarker([0, 0], { radius: 9, color: "#fff", weight: 3, fillColor: "#27ae60", fillOpacity: 1 });
  const home = L.circleMarker([0, 0], { radius: 7, color: "#102a43", weight: 2, fillColor: "#fff", fillOpacity: 1 });

  // The map frames the car and where it is going, and follows the car
  // until the customer moves the map; "follow" brings that back.
  let following = true, ours = false;
  m.map.on("dragstart", () => { following = false; });
  m.map.on("zoomstart", () => { if (!ours) following = false; });
  const delivered = () => order.milestone === "delivered";
  const carAt = () => {
    if (delivered() && order.destination) return [order.destination.lat, order.destination.lon];
    return order.position ? [order.position.lat, order.position.lon] : null;
  };
  const inView = () => {
    const c = carAt();
    $("map").dataset.carInView = String(!!c && m.map.getBounds().contains(m.at(...c)));
    $("map").dataset.carLat = c ? c[0].toFixed(4) : "";
  };
  m.map.on("moveend zoomend resize", () => { if (order) inView(); });
  const frame = () => {
    const c = carAt(), d = order.destination;
    const points = [];
    if (c) points.push(m.at(...c));
    if (d && !delivered()) points.push(m.at(d.lat, d.lon));
    if (!points.length) return;
    ours = true;
    if (points.length === 1) m.map.setView(points[0], 11, { animate: false });
    else m.map.fitBounds(L.latLngBounds(points), { padding: [36, 36], maxZoom: 12, animate: false });
    ours = false;
  };
  const Follow = L.Control.extend({
    onAdd: () => {
      const b = el("button", { type: "button", className: "follow", text: t("follow"), "data-follow": "" });
      L.DomEvent.disableClickPropagation(b);
      b.onclick = () => { following = true; frame(); inView(); };
      return b;
    },
  });
  new Follow({ position: "topright" }).addTo(m.map);

  // The road ahead: the planned route from where the car is along it
  // (its nearest point, then on), or a straight line without one.
  const roadAhead = (c, d) => {
    const route = order.route || [];
    if (route.length < 2) return [c, [d.lat, d.lon]];
    const k = Math.cos(c[0] * Math.PI / 180);
    let best = 0, bestD = Infinity;
    route.forEach(([lat, lon], i) => {
      const dist = Math.hypot(lat - c[0], (lon - c[1]) * k);
      if (dist < bestD) { best = i; bestD = dist; }
    });
    return [c, ...route.slice(best + 1), [d.lat, d.lon]];
  };

  const drawMap = () => {
    const c = carAt(), d = order.destination;
    if (d) home.setLatLng(m.at(d.lat, d.lon)).addTo(m.map);
    travelled.setLatLngs(track.map(([lat, lon]) => m.at(lat, lon)));
    const road = c && d && !delivered() ? roadAhead(c, d) : [];
    ahead.setLatLngs(road.map((p) => m.at(...p)));
    $("map").dataset.roadAhead = String(road.length);
    if (c) car.setLatLng(m.at(...c)).addTo(m.map);
    if (following) frame();
    inView();
  };

  // A span of minutes in words: "25 min", "3 h", "2 days".
  const span = (mins) => {
    const word = (n, unit) => zh ? `${n}${t(unit)}` : `${n} ${t(unit)}`;
    if (mins < 60) return word(Math.max(mins, 1), "min");
    // Under ten hours, to the ten minutes ("1 h 40 min").
    if (mins < 600 && Math.round((mins % 60) / 10) * 10 % 60) {
      const h = Math.floor(mins / 60), m = Math.round((mins % 60) / 10) * 10;
      return zh ? `${word(h, "h")}${word(m, "min")}` : `${word(h, "h")} ${word(m, "min")}`;
    }
    return mins < 2880 ? word(Math.round(mins / 60), "h") : word(Math.round(mins / 1440), "days");
  };

  // When in words, from now: "today about 16:40, in 3 h".
  const etaWords = (iso) => {
    const d = new Date(iso), now = new Date();
    const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
    const days = Math.round((day(d) - day(now)) / 86400000);
    const time = d.toLocaleTimeString(zh ? "zh-CN" : undefined, { hour: zh ? "2-digit" : "numeric", minute: "2-digit" });
    // In English the day sits mid-sentence: "Expected tomorrow at about 4:10 PM".
    const date = days === 0 ? t("today") : days === 1 ? t("tomorrow")
      : d.toLocaleDateString(zh ? "zh-CN" : undefined, { weekday: "short", month: "short", day: "numeric" });
    const onDay = zh || days > 1 ? date : date.toLowerCase();
    const mins = Math.round((d - now) / 60000);
    if (mins <= 0) {
      // Only a car out for delivery, or one told it is arriving soon,
      // arrives "any moment"; a time passed anywhere else (it waited in a
      // warehouse) is being worked out anew.
      const arriving = order.milestone === "out_for_delivery" || (order.notices || []).some((n) => n.kind === "arriving");
      if (arriving && mins > -60) return zh ? "随时到达" : "any moment now";
      return t("eta_pending");
    }
    return zh ? `${date} ${time}左右，约${span(mins)}后` : `${onDay} at about ${time}, in ${span(mins)}`;
  };

  // A standing notice in words, from the time now.
  const noticeText = (n) => {
    if (n.kind !== "stopped") return t(n.kind);
    const still = span(Math.round((Date.now() - new Date(n.since).getTime()) / 60000));
    return zh ? `车辆已停留约${still}：司机需要休息，也可能遇到拥堵或排队。车辆一开动，这里会马上更新。`
      : `Stopped for about ${still}: drivers must rest, and traffic and queues happen. This page updates as soon as it moves again.`;
  };

  const drawNow = () => {
    const done = delivered() || order.milestone === "cancelled";
    document.body.dataset.milestone = order.milestone;
    document.title = `${order.model} · ${order.order_id} · ${brand}`;
    $("model").textContent = order.model;
    $("order-id").textContent = order.order_id;
    $("vin").textContent = order.vin_masked || "";
    $("milestone").textContent = t(order.milestone);
    $("eta-label").textContent = delivered() ? t("delivered_on") : t("eta");
    $("eta").textContent = delivered() ? when(order.milestone_at) : order.eta ? etaWords(order.eta) : "—";
    $("promised").textContent = when(order.promised_by);
    const late = !done && order.eta && order.promised_by && new Date(order.eta) > new Date(order.promised_by);
    document.body.dataset.late = String(!!late);
    $("late").hidden = !late;
    if (late) {
      const by = span(Math.round((new Date(order.eta) - new Date(order.promised_by)) / 60000));
      $("late").textContent = zh ? `比承诺时间晚约${by}。非常抱歉，我们会在这里随时更新。`
        : `Running about ${by} later than promised. We're sorry, and we'll keep this page up to date.`;
    }
    // "Arriving soon" belongs to the last stretch, not to a car resting
    // in a warehouse on the way.
    const near = ["in_transit", "arrived", "out_for_delivery"].includes(order.milestone);
    const notices = done ? [] : (order.notices || []).filter((n) => n.kind !== "arriving" || near);
    $("notices").replaceChildren(...notices.map((n) => el("div", { className: `notice ${n.kind}`, "data-notice": n.kind, text: noticeText(n) })));
    // Where the car is now, in words, while it is on its way.
    const p = !done && order.position;
    $("place").hidden = !p;
    if (p) VP.near(p.lat, p.lon).then((n) => { if (n) $("place").textContent = zh ? `当前位置：${VP.nearWords(n)}` : `Now ${VP.nearWords(n)}`; });
    const to = order.destination && order.destination.address;
    $("to").hidden = !to;
    $("to-label").textContent = delivered() ? t("delivered_to") : t("to");
    document.querySelector("[data-follow]")?.toggleAttribute("hidden", done);
    $("vin-sep").hidden = !order.vin_masked;
    $("destination").textContent = to || "";
    $("status").hidden = done;
    $("updated").textContent = ago(order.updated_at);
  };

  const drawTimeline = () => {
    // The latest time each milestone was reached (a car may pass one twice).
    const reached = new Map();
    for (const e of order.timeline) {
      const seen = reached.get(e.milestone);
      if (!seen || new Date(e.at) >= new Date(seen.at)) reached.set(e.milestone, e);
    }
    let current = STEPS.indexOf(order.milestone);
    // A side step (in repair, on hold, cancelled) sits after the furthest
    // step reached.
    const side = current < 0;
    const furthest = Math.max(-1, ...order.timeline.map((e) => STEPS.indexOf(e.milestone)));
    const row = (step, state) => {
      const e = reached.get(step);
      const li = el("li", { "data-step": step, "data-state": state, className: `${state}${state === "done" && !e ? " passed" : ""}` },
        el("span", { className: "name", text: t(step) }),
        e && state !== "todo" ? el("span", { className: "at", text: when(e.at) }) : null,
        e && e.gap && state !== "todo" ? el("span", { className: "gap", "data-gap": "", text: t("gap") }) : null);
      return li;
    };
    const rows = STEPS.map((s, i) => {
      if (side) return row(s, i <= furthest ? "done" : "todo");
      return row(s, i < current ? "done" : i === current ? "current" : "todo");
    });
    if (side) rows.splice(furthest + 1, 0, row(order.milestone, "current"));
    $("timeline").replaceChildren(...rows);
  };

  const drawClips = () => {
    $("no-clips").hidden = order.clips.length > 0;
    for (const c of order.clips) {
      if (shown.has(c.clip_id)) continue;
      shown.add(c.clip_id);
      // Same origin as the page, whatever the configured public URL; a
      // recorded broadcast plays as HLS (started by a tap).
      const src = new URL(c.url, location.href).pathname;
      const video = c.hls ? live.recording(src) : el("video", { controls: true, preload: "metadata", playsInline: true, src });
      const box = el("figure", { className: "clip", "data-clip-id": c.clip_id }, video,
        el("figcaption", { className: "caption", text: `${t(c.kind)} · ${when(c.captured_at)}` }));
      box.dataset.capturedAt = c.captured_at;
      // Newest first: before the first one filmed earlier.
      const older = [...$("clips").children].find((x) => new Date(x.dataset.capturedAt) < new Date(c.captured_at));
      $("clips").insertBefore(box, older || null);
    }
  };

  // The car's condition at each change of custody: its photos and any
  // damage, what is new at that stage marked.
  const inspectionBox = (i) => el("div", { className: "inspection", "data-inspection": i.stage },
    el("div", { className: "caption", text: `${t(`check_${i.stage}`)} · ${when(i.at)}` }),
    el("div", { className: "photos" }, ...i.photos.map((p) => VP.photoLink(p.url, t(`view_${p.view}`)))),
    i.damages.length ? el("ul", { className: "damages" }, ...i.damages.map((d) => el("li", { "data-new": String(d.new) },
      d.new ? el("span", { className: "new", text: t("new_damage") }) : null,
      el("span", { text: d.text[zh ? "zh" : "en"] + (d.note ? ` (${d.note})` : "") }))))
      : el("div", { className: "muted", text: t("no_damage") }));
  const drawInspections = () => {
    const all = order.inspections || [];
    $("inspections-box").hidden = !all.length;
    $("inspections").replaceChildren(...all.map(inspectionBox));
  };

  // The handover at the door, and then how the car was handed over.
  const handover = VPHandover({ token, inspectionBox, refresh: () => refresh() });
  const refresh = () => fetch(`/api/v1/track/${encodeURIComponent(token)}`).then((r) => r.ok ? r.json() : null)
    .then((v) => {
      if (!v || !order) return;
      Object.assign(order, { inspections: v.inspections, handover: v.handover, milestone: v.milestone, cameras: v.cameras });
      drawInspections(); handover.draw(order); live.draw(order.cameras);
    }).catch(() => {});

  const live = VPLive();
  const draw = () => { drawNow(); drawTimeline(); drawMap(); live.draw(order.cameras); drawInspections(); handover.draw(order); drawClips(); };

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
      // Moving again (not a fix of the same stop): no longer stopped.
      const p = order.position;
      if (p && Math.abs(p.lat - e.lat) + Math.abs(p.lon - e.lon) > 0.003) {
        order.notices = (order.notices || []).filter((n) => n.kind !== "stopped");
      }
      order.position = e; track.push([e.lat, e.lon]);
    } else if (e.kind === "eta") {
      order.eta = e.eta;
    } else if (e.kind === "clip") {
      order.clips.push({ clip_id: e.clip_id, kind: e.clip_kind, captured_at: e.captured_at, url: e.url, hls: e.hls });
    } else if (e.kind === "correction" && e.order) {
      // A dispatcher voided a wrong scan or fix: the order as corrected.
      order = e.order; track = order.track || [];
      if (order.position) track.push([order.position.lat, order.position.lon]);
    } else if (e.kind === "notice" && e.notice === "stopped") {
      order.notices = (order.notices || []).filter((n) => n.kind !== "stopped");
      if (!e.cleared) order.notices.push({ kind: "stopped", since: e.since });
    } else if (e.kind === "notice") {
      order.notices = order.notices || [];
      if (!order.notices.some((n) => n.kind === "arriving")) order.notices.push({ kind: "arriving" });
    } else if (e.kind === "live") {
      // A camera that shows the car went live or off.
      const c = (order.cameras || []).find((x) => x.camera_id === e.camera_id);
      if (c) c.live = e.live; else refresh();
    } else if (e.kind === "inspection" || e.kind === "handover") {
      // Photos, names and codes come with the view.
      refresh();
    }
    // A new milestone may bring the car into a camera's view, or out of it.
    if (e.kind === "milestone") refresh();
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
  // Times in words stay true while nothing happens.
  setInterval(() => { if (order) drawNow(); }, 30000);
})();
