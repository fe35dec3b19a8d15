// Shared by vinpath's pages: language, the map's basemap and datum, a
// websocket that reconnects by itself, and time formatting. No framework.
"use strict";

const VP = (() => {
  const zh = (navigator.languages || [navigator.language || "en"]).some((l) => /^zh/i.test(l));
  const T = {
    en: {
      ordered: "Ordered", produced: "Built", released: "Ready for dispatch", loaded: "On the truck",
      in_transit: "On the road", arrived: "At a stop", unloaded: "Off the truck", gated_in: "At the warehouse",
      in_storage: "In storage", pdi: "Inspection", in_repair: "Being fixed", ready_for_delivery: "Ready for delivery",
      out_for_delivery: "Out for delivery", delivered: "Delivered", on_hold: "On hold", cancelled: "Cancelled",
      eta: "Expected", promised: "Promised by", updated: "Updated", ago: "ago", just_now: "just now",
      min: "min", h: "h", live: "Live", reconnecting: "Reconnecting…", gap: "some scans were missed",
      clips: "Videos of your car", no_clips: "No videos yet", timeline: "Journey",
      transport: "On the truck", storage: "In the warehouse", inspection: "Inspection", handover: "Handover",
      arriving: "Your car is arriving soon", token: "Dispatcher token", open: "Open", alerts: "Alerts",
      all: "All", search: "Order or VIN", stationary: "Standing still", off_route: "Off route", late: "Late",
      no_signal: "No signal", emergency: "Emergency alarm", vehicles: "vehicles", with_alerts: "With alerts", carrier: "Carrier",
      close: "Close", history: "History", truck: "Truck", milestone: "Milestone", legend: "Legend", no_alerts: "No open alerts", follow_vehicle: "Follow", following: "Following", ack_all: "Acknowledge all", speed: "speed",
      voided: "Voided", fix: "GPS fix", order: "Order", to: "Delivering to", support: "Questions? Contact us:",
      inspections: "Condition checks", check_pickup: "At pickup", check_gate_in: "Into the warehouse",
      check_gate_out: "Out of the warehouse", check_delivery: "At delivery", new_damage: "New", no_damage: "No damage found",
      view_front: "Front", view_rear: "Rear", view_left: "Left side", view_right: "Right side", view_interior: "Interior",
      view_odometer: "Odometer", view_vin: "VIN plate", view_keys: "Keys", view_damage: "Damage",
      damage: "New damage", stage_pickup: "pickup", stage_gate_in: "the warehouse gate (in)",
      stage_gate_out: "the warehouse gate (out)", stage_delivery: "delivery",
      follow: "Follow my car", delivered_to: "Delivered to", delivered_on: "Delivered on", eta_pending: "being worked out again",
      empty_truck_legend: "empty truck", today: "Today", tomorrow: "Tomorrow", days: "days",
      ack: "Acknowledge", acked: "Seen to", ack_note: "What did you do? (optional)",
      search_all: "Order, VIN or truck", vehicles_list: "Vehicles", car: "car", cars: "cars", trucks: "trucks", truck_one: "truck", lone_cars: "cars on their own",
      lone_car: "car on its own", order_one: "order",
      orders: "orders", empty_truck: "empty", last_fix: "last fix", fit_all: "Fit all", legend_truck: "truck: the number is its cars aboard",
      legend_alert: "has an open alert", sort_late: "Most late first", sort_fix: "Oldest fix first", sort_milestone: "By milestone",
      sort_name: "By name", bad_token: "That token was not accepted. Ask your administrator for a dispatcher token.",
      not_loaded: "Could not load",
      hand_title: "Your car is at your door", hand_intro: "Look the car over with the driver: these are the photos the driver just took. Then sign to receive it.",
      hand_accept: "I accept the car", hand_accept_exc: "I accept it, with notes",
      hand_exceptions: "What is wrong?", hand_name: "Your name", hand_sign: "Sign here with your finger",
      hand_clear: "Clear", hand_submit: "Sign and get my code", hand_code: "Tell the driver this code:",
      hand_code_hint: "The code works once, for this delivery only. Never tell it to anyone before you have seen your car.",
      hand_need_sign: "Please sign in the box first.", hand_need_name: "Please write your name.",
      hand_need_exc: "Please write what is wrong.", hand_locked: "Too many wrong codes were tried. Sign again for a new code.",
      hand_signed: "Signed by", hand_error: "That did not go through. Please try again.",
      proof_code: "Handed over to you with your code", proof_away: "You were not there: the driver left the car and took these photos",
      pod: "Proof of delivery (PDF)", hand_refused: "Not accepted", hand_notes: "Your notes",
      live_title: "Watch your car live", watch_live: "Watch live", cam_truck: "On the truck",
      cam_site: "In the warehouse", cam_off: "The camera is off right now", on_air: "LIVE",
    },
    zh: {
      ordered: "已下单", produced: "已生产", released: "待发运", loaded: "已装车", in_transit: "运输中",
      arrived: "已到站", unloaded: "已卸车", gated_in: "已入库", in_storage: "在库", pdi: "交车前检查",
      in_repair: "维修中", ready_for_delivery: "待交付", out_for_delivery: "派送中", delivered: "已交付",
      on_hold: "暂停", cancelled: "已取消", eta: "预计送达", promised: "承诺送达", updated: "更新于", ago: "前",
      just_now: "刚刚", min: "分钟", h: "小时", live: "实时", reconnecting: "正在重新连接…", gap: "部分扫描缺失",
      voided: "已作废", fix: "定位点", order: "订单", to: "送至", support: "如有疑问，请联系：",
      inspections: "车况检查", check_pickup: "提车检查", check_gate_in: "入库检查", check_gate_out: "出库检查",
      check_delivery: "交付检查", new_damage: "新增", no_damage: "未发现损伤",
      view_front: "车头", view_rear: "车尾", view_left: "左侧", view_right: "右侧", view_interior: "内饰",
      view_odometer: "里程表", view_vin: "车架号", view_keys: "钥匙", view_damage: "损伤",
      damage: "新增损伤", stage_pickup: "提车检查", stage_gate_in: "入库检查", stage_gate_out: "出库检查",
      stage_delivery: "交付检查",
      follow: "跟随我的车", delivered_to: "已送至", delivered_on: "送达时间", eta_pending: "正在重新估算",
      empty_truck_legend: "空板车", today: "今天", tomorrow: "明天", days: "天",
      ack: "确认处理", acked: "已处理", ack_note: "处理说明（可选）",
      search_all: "订单号、车架号或板车", vehicles_list: "车辆", car: "辆车", cars: "辆车", trucks: "辆板车", truck_one: "辆板车", lone_cars: "辆单独车辆", lone_car: "辆单独车辆", order_one: "个订单",
      orders: "个订单", empty_truck: "空车", last_fix: "最近定位", fit_all: "显示全部", legend_truck: "板车：数字为所载车辆数",
      legend_alert: "有未处理告警", sort_late: "延误最多优先", sort_fix: "定位最久优先", sort_milestone: "按节点",
      sort_name: "按名称", bad_token: "令牌无效，请向管理员索取调度员令牌。",
      not_loaded: "加载失败",
      clips: "您的爱车视频", no_clips: "暂无视频", timeline: "行程", transport: "运输途中", storage: "仓库中",
      inspection: "检查", handover: "交付", arriving: "您的爱车即将到达", token: "调度员令牌", open: "打开",
      alerts: "告警", all: "全部", search: "订单号或车架号", stationary: "长时间停留", off_route: "偏离路线",
      late: "可能延误", no_signal: "无信号", emergency: "紧急报警", vehicles: "辆车", with_alerts: "有告警", carrier: "承运商",
      close: "关闭", history: "历史", truck: "板车", milestone: "节点", legend: "图例", no_alerts: "没有未处理的告警", follow_vehicle: "跟随", following: "跟随中", ack_all: "全部确认处理", speed: "车速",
      hand_title: "您的爱车已送到门口", hand_intro: "请与司机一起查看车辆：以下是司机刚刚拍摄的照片。确认后签名收车。",
      hand_accept: "确认收车", hand_accept_exc: "收车，但有异议",
      hand_exceptions: "请写下问题", hand_name: "您的姓名", hand_sign: "请用手指在此签名",
      hand_clear: "重写", hand_submit: "签名并获取交付码", hand_code: "请将此交付码告诉司机：",
      hand_code_hint: "交付码仅限本次交付使用一次。看到车辆之前，请勿告诉任何人。",
      hand_need_sign: "请先在框内签名。", hand_need_name: "请填写您的姓名。",
      hand_need_exc: "请写下问题。", hand_locked: "错误交付码尝试次数过多。请重新签名获取新的交付码。",
      hand_signed: "签收人", hand_error: "提交未成功，请重试。",
      proof_code: "已凭您的交付码交付", proof_away: "您不在场：司机已放下车辆并拍摄了以下照片",
      pod: "交付证明（PDF）", hand_refused: "拒收", hand_notes: "您的异议",
      live_title: "实时查看您的爱车", watch_live: "观看直播", cam_truck: "运输车上",
      cam_site: "仓库中", cam_off: "摄像头暂时关闭", on_air: "直播",
    },
  };
  const lang = zh ? "zh" : "en";
  const t = (k) => T[lang][k] || T.en[k] || k;

  const when = (iso) => iso ? new Date(iso).toLocaleString(zh ? "zh-CN" : undefined,
    { month: "short", day: "numeric", weekday: "short", hour: zh ? "2-digit" : "numeric", minute: "2-digit" }) : "—";

  const ago = (iso) => {
    if (!iso) return "—";
    const m = Math.round((Date.now() - new Date(iso).getTime()) / 60000);
    if (m < 1) return t("just_now");
    const text = m < 120 ? `${m} ${t("min")}` : `${Math.round(m / 60)} ${t("h")}`;
    return zh ? `${text}${t("ago")}` : `${text} ${t("ago")}`;
  };

  // WGS-84 to GCJ-02, for Chinese tile providers (positions are stored in
  // WGS-84 and converted only when drawn on such tiles).
  const A = 6378245.0, EE = 0.00669342162296594323;
  const outside = (lat, lon) => lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  const tLat = (x, y) => { let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
    return r + (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3; };
  const tLon = (x, y) => { let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
    r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
    return r + (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3; };
  const gcj02 = (lat, lon) => {
    if (outside(lat, lon)) return [lat, lon];
    let dLat = tLat(lon - 105, lat - 35), dLon = tLon(lon - 105, lat - 35);
    const rad = lat / 180 * Math.PI; let magic = Math.sin(rad); magic = 1 - EE * magic * magic;
    const sq = Math.sqrt(magic);
    dLat = (dLat * 180) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
    dLon = (dLon * 180) / (A / sq * Math.cos(rad) * Math.PI);
    return [lat + dLat, lon + dLon];
  };

  // Natural Earth's land crosses the antimeridian (Chukotka, Antarctica):
  // a ring that jumps from +180 to -180 is drawn as a stripe across the
  // world. Unwrapped, each ring runs on past 180 instead, placed where
  // most of it lies within -180..180 (Eurasia stays where it is).
  const unwrap = (ring) => {
    let shift = 0;
    const out = ring.map(([lon, lat], i) => {
      if (i) {
        const prev = ring[i - 1][0];
        if (lon - prev > 180) shift -= 360; else if (prev - lon > 180) shift += 360;
      }
      return [lon + shift, lat];
    });
    const inside = (k) => out.reduce((n, [lon]) => n + (Math.abs(lon + k) <= 180), 0);
    const k = [0, 360, -360].reduce((best, k) => inside(k) > inside(best) ? k : best, 0);
    return k ? out.map(([lon, lat]) => [lon + k, lat]) : out;
  };
  const unwrapped = (geometry) => {
    const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    return { type: "MultiPolygon", coordinates: polygons.map((p) => p.map(unwrap)) };
  };

  // The cities the map names (GeoNames, picked at build time), largest
  // first: [lon, lat, English, Chinese, min zoom].
  const cities = fetch("/assets/cities.json").then((r) => r.json())
    .then((list) => list.filter((c) => zh ? c[3] : c[2])).catch(() => []);
  const cityName = (c) => zh ? c[3] : c[2];

  // The nearest city people know (300,000 people or more, named in both
  // languages, so both say the same place) and how far it is, for "12 km
  // from Shaoguan".
  const near = async (lat, lon) => {
    let best = null, bestKm = Infinity;
    const k = Math.cos(lat * Math.PI / 180);
    for (const c of await cities) {
      if (!c[2] || !c[3] || c[4] > 7) continue;
      const km = 111.2 * Math.hypot(c[1] - lat, (c[0] - lon) * k);
      if (km < bestKm) { best = c; bestKm = km; }
    }
    return best && { name: cityName(best), km: Math.round(bestKm) };
  };
  const nearWords = (p) => {
    if (!p) return "";
    if (p.km < 5) return zh ? `${p.name}` : `in ${p.name}`;
    return zh ? `${p.name}附近（${p.km}公里）` : `${p.km} km from ${p.name}`;
  };

  // City names over the land, placed largest first where they find room:
  // the map says where things are without any tiles.
  const placeNames = (m, datum) => {
    m.createPane("places").style.zIndex = 450;
    const layer = L.layerGroup().addTo(m);
    let list = [];
    const draw = () => {
      layer.clearLayers();
      const z = m.getZoom(), view = m.getBounds().pad(0.05), taken = [];
      for (const c of list) {
        if (c[4] > z || taken.length >= 60) continue;
        const at = datum(c[1], c[0]);
        if (!view.contains(at)) continue;
        const p = m.latLngToContainerPoint(at), name = cityName(c);
        const w = name.length * (zh ? 13 : 7) + 10;
        const box = [p.x - w / 2, p.y - 18, p.x + w / 2, p.y + 4];
        if (taken.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue;
        taken.push(box);
        const label = document.createElement("span");
        label.textContent = name;
        L.marker(at, { pane: "places", interactive: false, keyboard: false,
          icon: L.divIcon({ className: `place${c[4] <= 4 ? " major" : ""}`, html: label, iconSize: null }) }).addTo(layer);
      }
      m.getContainer().dataset.places = String(taken.length);
    };
    cities.then((c) => { list = c; draw(); });
    m.on("zoomend moveend", draw);
    return () => { m.off("zoomend moveend", draw); layer.remove(); m.getContainer().dataset.places = "0"; };
  };

  // A map that is never blank: land outlines from Natural Earth drawn
  // offline (land only, so no borders are drawn at all) with city names,
  // tiles on top (and no names of ours) when a tile server is configured
  // and reachable.
  const map = (el, atlas) => {
    const cfg = document.body.dataset;
    const datum = cfg.tileDatum === "gcj02" ? gcj02 : (lat, lon) => [lat, lon];
    const m = L.map(el, { preferCanvas: true, worldCopyJump: true, zoomControl: true, minZoom: 2 }).setView([31, 112], 4);
    m.getContainer().style.background = "#cfe3f2";
    // The land sits in a pane of its own, under tiles and markers.
    m.createPane("land").style.zIndex = 150;
    const landRenderer = L.canvas({ pane: "land" });
    fetch(atlas).then((r) => r.json()).then((topo) => {
      const land = topojson.feature(topo, topo.objects.land);
      const shapes = (land.features || [land]).map((f) => ({ type: "Feature", properties: {}, geometry: unwrapped(f.geometry) }));
      L.geoJSON({ type: "FeatureCollection", features: shapes }, { pane: "land", renderer: landRenderer, interactive: false,
        style: { color: "#b9c4a8", weight: 1, fillColor: "#eef1e6", fillOpacity: 1 } }).addTo(m);
    }).catch(() => {});
    // Names until tiles (which carry their own) actually arrive: a tile
    // server out of reach leaves the offline map readable.
    const unname = placeNames(m, datum);
    if (cfg.tileUrl) {
      L.tileLayer(cfg.tileUrl, { attribution: cfg.tileAttribution || "", maxZoom: 18 }).once("tileload", unname).addTo(m);
    }
    return { map: m, at: (lat, lon) => datum(lat, lon) };
  };

  // A websocket that reconnects with backoff and tells its state.
  // `onDead` is asked, after a connection that never delivered anything or
  // one the server closed with 4404, whether to give up (a link that no
  // longer works).
  const socket = (url, { onMessage, onState, resumeUrl, onDead }) => {
    let ws, delay = 500, closed = false;
    const open = () => {
      let heard = false;
      ws = new WebSocket((resumeUrl && resumeUrl()) || url);
      ws.onopen = () => onState(true);
      ws.onmessage = (e) => {
        // Only a connection that works resets the backoff.
        if (!heard) { heard = true; delay = 500; }
        try { onMessage(JSON.parse(e.data)); } catch (_) { /* not ours */ }
      };
      ws.onclose = async (e) => {
        onState(false);
        if (closed) return;
        // 4404: the server closed it for a link that no longer works.
        if ((e.code === 4404 || !heard) && onDead && await onDead()) return;
        setTimeout(open, delay + Math.random() * 250);
        delay = Math.min(delay * 2, 15000);
      };
    };
    open();
    return { close: () => { closed = true; ws.close(); } };
  };

  const wsUrl = (path) => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v; else if (k.startsWith("data-") || k.startsWith("aria-")) e.setAttribute(k, v); else e[k] = v;
    }
    for (const c of children) if (c) e.append(c);
    return e;
  };

  const colors = {
    ordered: "#9aa5b1", produced: "#9aa5b1", released: "#7b8794", loaded: "#0f9d9a", in_transit: "#2f80ed",
    arrived: "#9b51e0", unloaded: "#bb6bd9", gated_in: "#f2994a", in_storage: "#f2c94c", pdi: "#e2b93b",
    in_repair: "#eb5757", ready_for_delivery: "#6fcf97", out_for_delivery: "#27ae60", on_hold: "#eb5757",
  };

  // A photo under a customer's link: its thumbnail, opening the full copy.
  const photoLink = (url, alt) => {
    const u = new URL(url, location.href);
    return el("a", { href: u.pathname, target: "_blank", rel: "noopener" },
      el("img", { src: `${u.pathname}?copy=thumb`, alt, loading: "lazy" }));
  };

  // Plays HLS in a video: hls.js where Media Source Extensions exist (with
  // a bearer token, for staff), the browser's own HLS elsewhere (iOS
  // Safari). `then` once it can play. Answers the hls.js instance, if any.
  const playHls = (video, url, then, token) => {
    if (window.Hls && Hls.isSupported()) {
      const hls = new Hls({ liveSyncDurationCount: 2,
        xhrSetup: token ? (xhr) => xhr.setRequestHeader("Authorization", `Bearer ${token}`) : undefined });
      hls.loadSource(url);
      hls.attachMedia(video);
      hls.on(Hls.Events.MANIFEST_PARSED, then);
      return hls;
    }
    if (video.canPlayType("application/vnd.apple.mpegurl")) { video.src = url; then(); }
    return null;
  };

  return { t, lang, when, ago, map, near, nearWords, socket, wsUrl, el, colors, gcj02, photoLink, playHls };
})();
