// How pages talk to the service worker: one message type per request, answers as { ok, result | error }.

export async function ask(type, payload = {}) {
  const answer = await chrome.runtime.sendMessage({ type, ...payload });
  if (!answer) throw Object.assign(new Error("no answer from the extension's service worker"), { kind: "error" });
  if (!answer.ok) throw Object.assign(new Error(answer.error.message), { kind: answer.error.kind });
  return answer.result;
}
