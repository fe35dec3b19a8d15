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

  const attach = (video, url, then) => VP.playHls(video, url, then);

  // A recorded broadcast in the clips list: a frame with a play button.
  const recording = (url) => {
    const video = el("video", { playsInline: true, preload: "none" });
    const button = el("button", { type: "button", className: "play", text: "▶" });
    const frame = el("div", { className: "cam" }, el("div", { className: "frame" }, video, button));
    button.addEventListener("click", () => {
      button.hidden = true; video.controls = true;
      attach(video, url, () => video.play().catch(() => { button.hidden = false; }));
    }, { once: true });
    return frame;
  };

  const start = (p) => {
    const url = new URL(p.url, location.href).pathname;
    p.button.hidden = true;
    p.video.controls = true;
    p.hls = attach(p.video, url, () => p.video.play().catch(() => { p.button.hidden = false; }));
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
  return { draw, recording };
};
