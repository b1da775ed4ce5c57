/** The chat's stylesheet, served at `/chat.css`. */
export const CHAT_CSS: string = `
:root {
  color-scheme: light dark;
  --accent: #2563eb;
  --muted: #6b7280;
  --line: #d1d5db;
  --ok: #15803d;
  --warn: #b45309;
  --bad: #b91c1c;
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; flex-direction: column; }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
button, input { font: inherit; padding: .35rem .6rem; border: 1px solid var(--line); border-radius: 6px; }
button { background: var(--accent); color: white; border-color: var(--accent); cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }

body.login main { margin: 15vh auto; width: min(24rem, 90vw); display: grid; gap: 1rem; }
body.login form { display: grid; gap: .5rem; }
.hint { color: var(--muted); font-size: .9rem; margin: 0; }
.error { color: var(--bad); margin: 0; }

body.chat header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
body.chat header h1 { margin-right: auto; }
header form { display: flex; gap: .4rem; align-items: center; }
#room-input { width: 9rem; }
#status { margin: 0; padding: .4rem 1rem; font-size: .9rem; }
#status.online { color: var(--ok); }
#status.connecting { color: var(--warn); }
#status.offline { color: white; background: var(--bad); }
body.chat main { flex: 1; display: grid; grid-template-columns: 1fr 14rem; gap: 1rem; padding: 1rem; min-height: 0; }
section { display: flex; flex-direction: column; min-height: 0; }
#messages { flex: 1; list-style: none; margin: 0; padding: .5rem; overflow-y: auto; border: 1px solid var(--line); border-radius: 6px; min-height: 16rem; max-height: 65vh; }
#messages li { padding: .15rem 0; overflow-wrap: anywhere; white-space: pre-wrap; }
#messages time { color: var(--muted); font-size: .8rem; margin-right: .4rem; }
#messages .from { font-weight: 600; }
#messages .notice { color: var(--muted); font-style: italic; }
#messages .notice.error { color: var(--bad); font-style: normal; }
#messages .notice.gap { color: var(--warn); font-style: normal; }
#messages .pending { opacity: .55; }
#send-form { display: flex; gap: .5rem; margin-top: .5rem; }
#text { flex: 1; }
#online { list-style: none; margin: 0; padding: 0; }
#online li { overflow-wrap: anywhere; }
#online li::before { content: "● "; color: var(--ok); }
@media (max-width: 40rem) { body.chat main { grid-template-columns: 1fr; } }
`;
