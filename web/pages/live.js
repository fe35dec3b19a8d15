// Live video on the customer's tracking page: a player for each camera
// that shows the car now (on its truck's deck, in its warehouse bay),
// started by a tap (muted, inline on phones). hls.js plays it wherever the
// browser has Media Source Extensions; native HLS only where it has not
// (iOS Safari): Chromium says "maybe" to HLS yet cannot play MPEG-TS.
"use strict";

// eslint-disable-next-line no-unused-vars
const VPLive = () => {
  const $ = (id) => document.getElementById(id);
  const { t, el } = VP;
  $("live-title").textContent = t("live_title");
  const players = new Map();

  const stop = (p) => {
    if (p.hls) { p.hls.destroy(); p.hls = null; }
    p.video.removeAttribute("src"); p.video.load();
    p.button.hidden = false;
  };

  const start = (p) => {
    const url = new URL(p.url, location.href).pathname;
    p.button.hidden = true;
    p.video.controls = true;
    if (window.Hls && Hls.isSupported()) {
      p.hls = new Hls({ liveSyncDurationCount: 2, lowLatencyMode: false });
      p.hls.loadSource(url);
      p.hls.attachMedia(p.video);
      p.hls.on(Hls.Events.MANIFEST_PARSED, () => p.video.play().catch(() => { p.button.hidden = false; }));
    } else if (p.video.canPlayType("application/vnd.apple.mpegurl")) {
      p.video.src = url;
      p.video.play().catch(() => { p.button.hidden = false; });
    }
  };

  const player = (c) => {
    const video = el("video", { muted: true, playsInline: true, preload: "none" });
    video.muted = true; video.setAttribute("playsinline", ""); video.setAttribute("muted", "");
    const button = el("button", { type: "button", className: "play", text: `▶ ${t("watch_live")}` });
    const caption = el("figcaption", {});
    const box = el("figure", { className: "cam", "data-camera-id": c.camera_id },
      el("div", { className: "frame" }, video, button, el("span", { className: "badge", text: t("on_air") })), caption);
    const p = { box, video, button, caption, url: c.url, hls: null };
    button.addEventListener("click", () => start(p));
    return p;
  };

  // The cameras in view now, as the order lists them.
  const draw = (cameras) => {
    const list = cameras || [];
    for (const [id, p] of players) {
      if (!list.some((c) => c.camera_id === id)) { stop(p); p.box.remove(); players.delete(id); }
    }
    for (const c of list) {
      let p = players.get(c.camera_id);
      if (!p) { p = player(c); players.set(c.camera_id, p); $("live-players").append(p.box); }
      p.url = c.url;
      const was = p.box.dataset.live === "true";
      p.box.dataset.live = String(!!c.live);
      p.caption.textContent = `${t(c.kind === "site" ? "cam_site" : "cam_truck")}${c.live ? "" : ` · ${t("cam_off")}`}`;
      if (was && !c.live) stop(p);
      p.button.disabled = !c.live;
    }
    $("live-box").hidden = !list.some((c) => c.live) && ![...players.values()].some((p) => p.hls);
  };
  return { draw };
};
