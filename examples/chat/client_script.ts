/**
 * The chat page's script, served at `/chat.js`: plain browser JavaScript, no
 * bundler. It is a string, not a function's source, so that no bundler
 * (Deno's, wrangler's) rewrites it on the way. Every name and text from the
 * server is set with `textContent`, never parsed as HTML.
 *
 * It talks through `ResumableWebSocket`, loaded from the app's own
 * `/client.js` (examples/chat/client_bundle.ts): after a drop the page
 * resumes its session, gets what it missed once and in order, and what was
 * typed meanwhile is sent once. When history could not cover the gap (the
 * room's topic was not recovered, the session was lost, or the server does
 * not resume at all), the page
 * says so and reloads the room's state: a new welcome, by itself for a new
 * session, or asked for with `{"type":"sync"}`. `#status` shows the state
 * in its text and in `data-state` (`connecting`, `live`, `reconnecting`,
 * `closed`).
 */
export const CHAT_SCRIPT: string = String.raw`"use strict";
(function () {
  var MAX_DELAY = 10000;
  var room = new URLSearchParams(location.search).get("room") || "lobby";
  var byId = function (id) { return document.getElementById(id); };
  var statusLine = byId("status");
  var messages = byId("messages");
  var online = byId("online");
  var you = byId("you");
  var form = byId("send-form");
  var input = byId("text");
  var sendButton = byId("send");
  var socket = null;
  var me = "";
  var joined = false; // a welcome arrived once
  var live = false; // the socket is up
  var dropped = false; // it went down once
  var needState = true; // waiting for a welcome: the first, or a reload
  var reloading = false; // the welcome awaited is a reload after a gap
  var anchor = null; // the first message shown while waiting for it
  var lastCode = 0; // the close code of the last connection
  var statusTimer = 0;
  var shown = new Set();

  byId("room-input").value = room;
  byId("room-title").textContent = "#" + room;
  document.title = "#" + room + " · edgesocket chat";

  var CLASSES = { connecting: "connecting", live: "online", reconnecting: "offline", closed: "offline" };
  function setStatus(text, state) {
    statusLine.textContent = text;
    statusLine.className = CLASSES[state];
    statusLine.dataset.state = state;
  }

  function setEnabled(enabled) {
    input.disabled = !enabled;
    sendButton.disabled = !enabled;
  }

  function scrollDown() {
    messages.scrollTop = messages.scrollHeight;
  }

  function line(className, from, text) {
    var li = document.createElement("li");
    li.className = className;
    var name = document.createElement("span");
    name.className = "from";
    name.textContent = from;
    var body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(name, ": ", body);
    return li;
  }

  // What was missed goes before what came live while the room's state was
  // on its way: the page keeps the room's order.
  function addMessage(m, before) {
    if (shown.has(m.id)) return;
    shown.add(m.id);
    if (m.from === me) removePending(m.text);
    var li = line("message", m.from, m.text);
    li.dataset.id = m.id;
    var time = document.createElement("time");
    var at = new Date(m.at);
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    li.prepend(time);
    if (before) messages.insertBefore(li, before);
    else {
      messages.append(li);
      if (needState && !anchor) anchor = li;
    }
    scrollDown();
  }

  // Typed while the connection is down: shown greyed until the server has it.
  function addPending(text) {
    var li = line("pending", me || "you", text);
    li.dataset.text = text;
    li.title = "Sent when the connection is back";
    messages.append(li);
    scrollDown();
  }

  function removePending(text) {
    var items = messages.querySelectorAll("li.pending");
    for (var i = 0; i < items.length; i++) {
      if (items[i].dataset.text === text) return items[i].remove();
    }
  }

  function addNotice(text, kind) {
    var li = document.createElement("li");
    li.className = "notice " + kind;
    li.textContent = text;
    messages.append(li);
    scrollDown();
  }

  function showOnline(names) {
    online.replaceChildren.apply(online, names.map(function (name) {
      var li = document.createElement("li");
      li.textContent = name;
      return li;
    }));
  }

  function welcome(event) {
    me = event.you;
    you.textContent = event.you;
    showOnline(event.online);
    var before = anchor && anchor.isConnected ? anchor : null;
    var added = 0;
    event.history.forEach(function (m) {
      if (!shown.has(m.id)) added++;
      addMessage(m, before);
    });
    needState = false;
    anchor = null;
    if (reloading) {
      reloading = false;
      addNotice("Reloaded #" + event.room + ": " + added + " messages from its history.", "reloaded");
    }
    if (!joined) {
      joined = true;
      setEnabled(true);
      input.focus();
      if (live) setStatus((dropped ? "Reconnected to #" : "Connected to #") + event.room, "live");
    }
  }

  function handle(event) {
    switch (event.type) {
      case "welcome":
        welcome(event);
        break;
      case "message":
        addMessage(event);
        break;
      case "join":
        showOnline(event.online);
        addNotice(event.name + " joined", "join");
        break;
      case "leave":
        showOnline(event.online);
        addNotice(event.name + " left", "leave");
        break;
      case "error":
        addNotice(event.error, "error");
        break;
    }
  }

  // A connection that never opened may have been refused (401 after the
  // secret changed): the page cannot see the status, so ask.
  function checkSession() {
    fetch("/me", { cache: "no-store" }).then(function (response) {
      if (response.status === 401) location.assign("/?room=" + encodeURIComponent(room));
    }, function () { /* the server is down: keep trying */ });
  }

  function start(ResumableWebSocket) {
    // The browser's WebSocket, watched for what the client does not say:
    // each connection's close code, and whether it ever opened.
    function Watched(url, protocols) {
      var ws = new WebSocket(url, protocols);
      var opened = false;
      lastCode = 0;
      ws.addEventListener("open", function () { opened = true; });
      ws.addEventListener("close", function (e) {
        lastCode = e.code;
        if (!opened) checkSession();
      });
      return ws;
    }
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new ResumableWebSocket(
      scheme + "//" + location.host + "/chat/" + encodeURIComponent(room),
      { WebSocket: Watched, maxDelay: MAX_DELAY },
    );
    socket.addEventListener("open", function () {
      live = true;
      setStatus("Joining #" + room + "…", "live");
    });
    socket.addEventListener("message", function (e) {
      var event;
      try {
        event = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      handle(event);
    });
    socket.addEventListener("reconnecting", function (e) {
      if (live) {
        addNotice(lastCode === 1001 ? "Disconnected: the server went away." : "Disconnected.", "info");
      }
      live = false;
      dropped = true;
      var why = lastCode === 1001 ? "the server went away" : "the connection was lost";
      setStatus(
        "Disconnected: " + why + (lastCode ? " (code " + lastCode + ")" : "") +
          ". Reconnecting in " + Math.max(1, Math.round(e.delay / 1000)) + " s (attempt " +
          e.attempt + ")…",
        "reconnecting",
      );
      clearTimeout(statusTimer);
      statusTimer = setTimeout(function () {
        if (!live) setStatus("Reconnecting (attempt " + e.attempt + ")…", "reconnecting");
      }, e.delay);
    });
    socket.addEventListener("resumed", function (e) {
      clearTimeout(statusTimer);
      var wasLive = live;
      live = true;
      setStatus("Reconnected to #" + room, "live");
      if (!wasLive) addNotice("Reconnected.", "info");
      if (!e.recovered && !reloading) {
        // A gap history could not fill: say so, and have the room again.
        needState = reloading = true;
        anchor = null;
        addNotice(
          socket.protocol !== "edgesocket.resume.v1"
            ? "This server does not resume connections: reloading the room."
            : e.session
            ? "Some messages could not be recovered: reloading the room."
            : "The server lost this connection's session: reloading the room.",
          "gap",
        );
      }
      // A new session (or a plain server) sends its welcome by itself.
      if (needState && e.session) socket.send(JSON.stringify({ type: "sync" }));
    });
    socket.addEventListener("close", function (e) {
      clearTimeout(statusTimer);
      live = false;
      setEnabled(false);
      setStatus("Disconnected (code " + e.code + "). Reload the page to try again.", "closed");
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    if (!socket || text.trim() === "") return;
    try {
      // Queued while the connection is down, sent once when it is back.
      socket.send(JSON.stringify({ type: "message", text: text }));
    } catch (error) {
      return addNotice("Not sent: " + error.message, "error");
    }
    if (!live) addPending(text);
    input.value = "";
    input.focus();
  });

  // Back from sleep or a lost network: try now rather than at the next tick.
  window.addEventListener("online", function () {
    if (socket && !live && socket.readyState === 0) socket.reconnect();
  });

  // Leaving the page ends the session, so the room hears of it now rather
  // than when the server stops waiting for this page to come back.
  window.addEventListener("pagehide", function () {
    if (socket) socket.close(1000, "Page closed");
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) location.reload();
  });

  import("/client.js").then(function (client) {
    start(client.ResumableWebSocket);
  }, function () {
    setStatus("Could not load /client.js. Reload the page to try again.", "closed");
  });
})();
`;
