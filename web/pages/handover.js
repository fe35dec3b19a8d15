// The handover at the door (on the customer's tracking page): once the car
// is out for delivery and the driver has recorded its condition, the
// customer reviews the photos and damage, accepts (or writes what is
// wrong), signs with a finger or a mouse, and gets the six-digit code to
// tell the driver. Once delivered: how it was handed over, and the PDF.
"use strict";

// eslint-disable-next-line no-unused-vars
const VPHandover = ({ token, inspectionBox, refresh }) => {
  const $ = (id) => document.getElementById(id);
  const { t, el, when } = VP;
  const base = `/api/v1/track/${encodeURIComponent(token)}`;
  for (const [id, key] of [["hand-title", "hand_title"], ["hand-intro", "hand_intro"], ["hand-accept", "hand_accept"],
    ["hand-accept-exc", "hand_accept_exc"], ["hand-exc-label", "hand_exceptions"],
    ["hand-name-label", "hand_name"], ["hand-sign-label", "hand_sign"], ["hand-clear", "hand_clear"],
    ["hand-submit", "hand_submit"], ["hand-code-label", "hand_code"], ["hand-code-hint", "hand_code_hint"],
    ["pod", "pod"]]) $(id).textContent = t(key);

  // (A car the customer will not take is a call to the seller, not a
  // signature: the page offers accepting it, or accepting it with notes.)

  // The signature: strokes drawn with pointer events (finger, pen or mouse).
  const canvas = document.querySelector("canvas[data-signature]");
  const ctx = canvas.getContext("2d");
  let signed = false, drawing = null;
  const fit = () => {
    const r = canvas.getBoundingClientRect();
    if (!r.width) return;
    const k = window.devicePixelRatio || 1;
    if (canvas.width === Math.round(r.width * k)) return;
    canvas.width = Math.round(r.width * k); canvas.height = Math.round(r.height * k);
    ctx.setTransform(k, 0, 0, k, 0, 0);
    ctx.lineWidth = 2.6; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#102a43";
    signed = false;
  };
  const point = (e) => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  canvas.addEventListener("pointerdown", (e) => {
    fit(); e.preventDefault(); canvas.setPointerCapture(e.pointerId); problem("");
    drawing = point(e); ctx.beginPath(); ctx.arc(...drawing, 1.2, 0, 2 * Math.PI); ctx.fillStyle = "#102a43"; ctx.fill();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const p = point(e);
    ctx.beginPath(); ctx.moveTo(...drawing); ctx.lineTo(...p); ctx.stroke();
    drawing = p; signed = true;
  });
  const stop = () => { drawing = null; };
  canvas.addEventListener("pointerup", stop); canvas.addEventListener("pointercancel", stop);
  $("hand-clear").addEventListener("click", () => { ctx.clearRect(0, 0, canvas.width, canvas.height); signed = false; });

  const form = $("hand-form");
  const choice = () => form.querySelector("input[name=accept]:checked").value;
  form.addEventListener("change", () => { $("hand-exc-box").hidden = choice() === "yes"; });
  const problem = (text) => { $("hand-error").textContent = text; $("hand-error").hidden = !text; };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const exceptions = $("hand-exc").value.trim(), name = $("hand-name").value.trim();
    if (choice() !== "yes" && !exceptions) return problem(t("hand_need_exc"));
    if (!name) return problem(t("hand_need_name"));
    if (!signed) return problem(t("hand_need_sign"));
    problem("");
    $("hand-submit").disabled = true;
    try {
      const r = await fetch(`${base}/handover`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ accepted: true, exceptions: choice() === "yes" ? "" : exceptions,
          signer_name: name, signature: canvas.toDataURL("image/png") }),
      });
      const body = await r.json().catch(() => ({}));
      if (r.ok) { show(body.handover_code); refresh(); } else {
        problem(body.detail || t("hand_error"));
        // Signed already (on another phone): the view holds the code.
        if (r.status === 409) refresh();
      }
    } catch (_) {
      problem(t("hand_error"));
    } finally {
      $("hand-submit").disabled = false;
    }
  });

  const show = (code) => {
    $("hand-code").textContent = code;
    $("hand-done").hidden = false; form.hidden = true;
  };

  const draw = (order) => {
    const h = order.handover || {};
    const s = h.signed;
    const open = h.ready || (s && s.code);
    $("handover").hidden = !open;
    if (open) {
      const check = (order.inspections || []).filter((i) => i.stage === "delivery").pop();
      if (check) $("hand-check").replaceChildren(inspectionBox(check));
      if (s && s.code) show(s.code);
      else {
        $("hand-done").hidden = true; form.hidden = false;
        if (s && s.locked) problem(t("hand_locked"));
        requestAnimationFrame(fit);
      }
    }
    const proof = h.proof;
    $("proof").hidden = !proof;
    if (proof) {
      const said = proof.kind === "handover" ? t("proof_code") : t("proof_away");
      const who = s ? ` · ${t("hand_signed")} ${s.signer_name}${s.accepted ? "" : ` · ${t("hand_refused")}`}` : "";
      $("proof-text").textContent = `${said} · ${when(proof.at)}${who}`;
      if (s && s.exceptions) $("proof-text").append(el("div", { className: "muted", text: `${t("hand_notes")}: ${s.exceptions}` }));
      $("proof-photos").replaceChildren(...(proof.photos || []).map((u) => VP.photoLink(u, t("view_damage"))));
      $("pod").href = `${base}/pod.pdf`;
    }
  };
  window.addEventListener("resize", () => { if (!signed) fit(); });
  return { draw };
};
