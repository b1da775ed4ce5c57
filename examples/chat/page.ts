/**
 * The chat's two HTML pages, as strings so that Workers serve them with no
 * filesystem. Nothing a user typed is put into them but the room name,
 * escaped; names and messages reach the page as JSON and are set with
 * `textContent` by the script.
 */

const HEAD = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgesocket chat</title>
<link rel="stylesheet" href="/chat.css">
</head>`;

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for an HTML text node or a quoted attribute.
 *
 * @param text Any text.
 * @returns The text with `& < > " '` as entities.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./page.ts";
 * console.log(escapeHtml("<b>")); // "&lt;b&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]);
}

/**
 * The login page: a form that posts a name to `/login`.
 *
 * @param options The room to go to afterwards, and an error to show.
 * @returns The HTML.
 *
 * @example
 * ```ts
 * import { renderLoginPage } from "./page.ts";
 * console.log(renderLoginPage({ room: "lobby" }).includes('action="/login"')); // true
 * ```
 */
export function renderLoginPage(options: { room?: string; error?: string } = {}): string {
  const room = options.room
    ? `<input type="hidden" name="room" value="${escapeHtml(options.room)}">`
    : "";
  const error = options.error
    ? `<p class="error" role="alert">${escapeHtml(options.error)}</p>`
    : "";
  return `${HEAD}
<body class="login">
<main>
<h1>edgesocket chat</h1>
${error}
<form method="post" action="/login" id="login-form">
<label for="name">Pick a name</label>
<input id="name" name="name" required maxlength="32" autocomplete="nickname" autofocus>
${room}
<button type="submit">Enter</button>
</form>
<p class="hint">1 to 32 characters. Others will see it next to what you write.</p>
</main>
</body>
</html>
`;
}

/**
 * The chat page; `/chat.js` does the rest, over `/client.js`. `#status`
 * says where the connection is, in `data-state`: `connecting`, `live`,
 * `reconnecting` or `closed`.
 */
export const CHAT_PAGE: string = `${HEAD}
<body class="chat">
<header>
<h1>edgesocket chat</h1>
<form method="get" action="/" id="room-form">
<label for="room-input">Room</label>
<input id="room-input" name="room" required maxlength="32" pattern="[\\p{L}\\p{N}_\\-]{1,32}">
<button type="submit">Go</button>
</form>
<form method="post" action="/logout"><button type="submit">Log out</button></form>
</header>
<p id="status" role="status" class="connecting" data-state="connecting">Connecting…</p>
<main>
<section aria-labelledby="room-title">
<h2 id="room-title"></h2>
<ol id="messages" aria-live="polite"></ol>
<form id="send-form" autocomplete="off">
<input id="text" name="text" maxlength="2000" placeholder="Say something" disabled>
<button id="send" type="submit" disabled>Send</button>
</form>
</section>
<aside>
<h2>Online</h2>
<ul id="online"></ul>
<p>You are <strong id="you"></strong>.</p>
</aside>
</main>
<script src="/chat.js"></script>
</body>
</html>
`;
