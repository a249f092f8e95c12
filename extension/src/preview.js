import { ask } from "./messages.js";
import { PREVIEW_PROFILES, explainError } from "./logic.js";

const $ = (id) => document.getElementById(id);
const src = new URLSearchParams(location.search).get("src") ?? "";

function figure(imageSrc, title, verdict, detail) {
  const fig = document.createElement("figure");
  const img = Object.assign(document.createElement("img"), { src: imageSrc, alt: title });
  const caption = document.createElement("figcaption");
  caption.append(Object.assign(document.createElement("strong"), { textContent: title }));
  if (verdict) caption.append(Object.assign(document.createElement("span"), { className: `chip ${verdict}`, textContent: verdict }), " ");
  caption.append(detail);
  fig.append(img, caption);
  return fig;
}

async function main() {
  $("where").textContent = `${src} — each client below was answered by your running Fixative, as it would be on your site.`;
  for (const [profile, label] of [["person", "A person (your original)"], ...PREVIEW_PROFILES]) {
    try {
      const p = await ask("preview", { imageUrl: src, profile });
      const type = (p.headers.find(([k]) => k.toLowerCase() === "content-type") ?? [, "image/jpeg"])[1];
      const reason = p.reasons.length ? p.reasons[0].rule : "no rule matched";
      const gets = p.applied || p.treatment === "original" ? p.treatment
        : `original (observe mode; enforce gives ${p.treatment})`;
      $("grid").append(figure(`data:${type};base64,${p.body_base64}`, label, p.verdict, `${gets} · ${reason}`));
    } catch (e) {
      $("error").hidden = false;
      $("error").textContent = explainError(e);
      return;
    }
  }
}

main();
