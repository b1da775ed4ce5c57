/**
 * The chat page's script, served at `/chat.js`: plain browser JavaScript, no
 * bundler. It is a string, not a function's source, so that no bundler
 * (Deno's, wrangler's) rewrites it on the way. Every name and text from the
 * server is set with `textContent`, never parsed as HTML.
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
  var attempt = 0;
  var timer = 0;
  var everWelcomed = false;
  var shown = new Set();

  byId("room-input").value = room;
  byId("room-title").textContent = "#" + room;
  document.title = "#" + room + " · edgesocket chat";

  function setStatus(text, state) {
    statusLine.textContent = text;
    statusLine.className = state;
  }

  function setConnected(connected) {
    input.disabled = !connected;
    sendButton.disabled = !connected;
  }

  function scrollDown() {
    messages.scrollTop = messages.scrollHeight;
  }

  function addMessage(m) {
    if (shown.has(m.id)) return;
    shown.add(m.id);
    var li = document.createElement("li");
    li.className = "message";
    li.dataset.id = m.id;
    var time = document.createElement("time");
    var at = new Date(m.at);
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    var from = document.createElement("span");
    from.className = "from";
    from.textContent = m.from;
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = m.text;
    li.append(time, from, ": ", text);
    messages.append(li);
    scrollDown();
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

  function handle(event) {
    switch (event.type) {
      case "welcome": {
        var again = everWelcomed;
        everWelcomed = true;
        attempt = 0;
        you.textContent = event.you;
        showOnline(event.online);
        // Keep what is on screen (a restarted server forgot it); add what
        // was missed while away.
        event.history.forEach(addMessage);
        if (again) addNotice("Reconnected.", "info");
        setStatus((again ? "Reconnected to #" : "Connected to #") + event.room, "online");
        setConnected(true);
        break;
      }
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

  // A socket that never opened may have been refused (401 after the
  // secret changed): the page cannot see the status, so ask.
  function checkSession() {
    fetch("/me", { cache: "no-store" }).then(function (response) {
      if (response.status === 401) location.assign("/?room=" + encodeURIComponent(room));
    }, function () { /* the server is down: keep trying */ });
  }

  function scheduleReconnect(code) {
    attempt++;
    var ceiling = Math.min(MAX_DELAY, 500 * Math.pow(2, attempt - 1));
    var delay = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    var why = code === 1001 ? "the server went away" : "the connection was lost";
    setStatus(
      "Disconnected: " + why + " (code " + code + "). Reconnecting in " +
        Math.max(1, Math.round(delay / 1000)) + " s (attempt " + attempt + ")…",
      "offline",
    );
    clearTimeout(timer);
    timer = setTimeout(connect, delay);
  }

  function connect() {
    if (attempt > 0) setStatus("Reconnecting (attempt " + attempt + ")…", "connecting");
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(scheme + "//" + location.host + "/chat/" + encodeURIComponent(room));
    var opened = false;
    socket = ws;
    ws.onopen = function () { opened = true; };
    ws.onmessage = function (e) {
      var event;
      try {
        event = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      handle(event);
    };
    ws.onclose = function (e) {
      if (socket !== ws) return;
      socket = null;
      setConnected(false);
      if (opened) {
        addNotice(
          e.code === 1001 ? "Disconnected: the server went away." : "Disconnected.",
          "info",
        );
      } else checkSession();
      scheduleReconnect(e.code);
    };
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value;
    if (!socket || socket.readyState !== 1 || text.trim() === "") return;
    socket.send(JSON.stringify({ type: "message", text: text }));
    input.value = "";
    input.focus();
  });

  // Back from sleep or a lost network: try now rather than at the next tick.
  window.addEventListener("online", function () {
    if (!socket) {
      clearTimeout(timer);
      connect();
    }
  });

  connect();
})();
`;
