/**
 * The chat end to end in real Chromium (playwright-core) against
 * examples/serve_deno.ts and under wrangler dev (workerd): two users in one room, markup shown as text, a
 * leave, and the page recovering from a server restart. Leaves a screenshot
 * in artifacts/chat.png. Skipped without Chromium, except in CI (CI=true),
 * where a missing Chromium fails. CHROMIUM names another binary.
 */
import assert from "node:assert/strict";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { freePort, ROOT, type ServerProcess } from "../_util/server_process.ts";
import {
  type ChatServerOptions,
  startChatDeno,
  startChatWorkerd,
  TEST_SECRET,
} from "./_chat_server.ts";

// The little of the DOM the in-page functions use (this file is checked
// without the DOM lib, which would clash with Deno's).
interface PageElement {
  textContent: string | null;
  className: string;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement> & { length: number };
  addEventListener(type: string, listener: () => void): void;
};
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: Record<string, boolean>): void;
}
/** What the init script adds to the page's global scope. */
interface Instrumented {
  __statuses: string[];
  __xss?: number;
}

const CHROMIUM = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const IN_CI = ["true", "1"].includes(Deno.env.get("CI") ?? "");
const HAS_CHROMIUM = await Deno.stat(CHROMIUM).then(() => true, () => false);
const ROOM = "e2e";
// At most 32 characters, so it is a valid name: markup that must stay text.
const SCRIPT_NAME = "<script>__xss=1</script>";

/** Records every status line the page shows, and any markup that ran. */
function instrument(): void {
  const w = globalThis as unknown as Instrumented;
  w.__statuses = [];
  document.addEventListener("DOMContentLoaded", () => {
    const status = document.getElementById("status");
    if (!status) return;
    new MutationObserver(() => w.__statuses.push(status.textContent ?? "")).observe(status, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
}

async function enter(context: BrowserContext, origin: string, name: string): Promise<Page> {
  const page = await context.newPage();
  await page.addInitScript(instrument);
  await page.goto(`${origin}/?room=${ROOM}`);
  await page.fill("#name", name);
  await Promise.all([
    page.waitForURL(`${origin}/?room=${ROOM}`),
    page.click("button[type=submit]"),
  ]);
  await page.waitForFunction(
    (room) => document.getElementById("status")?.textContent === `Connected to #${room}`,
    ROOM,
  );
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/** Waits until the page shows a message from `from` with exactly `text`. */
async function seeMessage(page: Page, from: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([from, text]) =>
      [...document.querySelectorAll("#messages li.message")].some((li) =>
        li.querySelector(".from")?.textContent === from &&
        li.querySelector(".text")?.textContent === text
      ),
    [from, text],
    { timeout: 10_000 },
  );
}

async function onlineNames(page: Page): Promise<string[]> {
  return await page.$$eval("#online li", (items) => items.map((li) => li.textContent ?? ""));
}

/** Whether any markup from users became elements or ran. */
async function markupLeaked(page: Page): Promise<unknown> {
  return await page.evaluate(() => ({
    ran: (globalThis as unknown as Instrumented).__xss ?? null,
    elements: document.querySelectorAll(
      "#messages script, #messages img, #online script, #online img, #you *",
    ).length,
  }));
}

/** The demo's servers the page is tested against, and how each goes away. */
const TARGETS: Array<{
  name: string;
  start: (options: ChatServerOptions) => Promise<ServerProcess>;
  // Deno's server says 1001 on SIGTERM; wrangler's workerd just dies.
  disconnect: string;
  screenshot: string;
}> = [
  {
    name: "deno task serve",
    start: startChatDeno,
    disconnect: "Disconnected: the server went away (code 1001)",
    screenshot: "chat.png",
  },
  {
    name: "wrangler dev (workerd)",
    start: startChatWorkerd,
    disconnect: "Disconnected",
    screenshot: "chat-workerd.png",
  },
];

for (const target of TARGETS) {
  Deno.test({
    name:
      `chat page in Chromium on ${target.name}: two users talk, markup stays text, a leave shows, it survives a restart`,
    ignore: !HAS_CHROMIUM && !IN_CI,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      if (!HAS_CHROMIUM) {
        throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium`);
      }
      const port = freePort();
      const origin = `http://127.0.0.1:${port}`;
      let server: ServerProcess | undefined = await target.start({ port, secret: TEST_SECRET });
      let browser: Browser | undefined;
      try {
        browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
        const ada = await enter(await browser.newContext(), origin, "ada");
        const otherContext = await browser.newContext();
        const other = await enter(otherContext, origin, SCRIPT_NAME);
        const dialogs: string[] = [];
        for (const page of [ada, other]) page.on("dialog", (d) => dialogs.push(d.message()));

        await t.step("both see each other online and exchange messages both ways", async () => {
          await ada.waitForFunction(
            (name) =>
              [...document.querySelectorAll("#online li")].some((li) => li.textContent === name),
            SCRIPT_NAME,
          );
          assert.deepEqual(await onlineNames(ada), ["ada", SCRIPT_NAME]);
          assert.deepEqual(await onlineNames(other), ["ada", SCRIPT_NAME]);
          await say(ada, "hello from ada");
          await seeMessage(other, "ada", "hello from ada");
          await seeMessage(ada, "ada", "hello from ada");
          await say(other, "hi ada, it's me");
          await seeMessage(ada, SCRIPT_NAME, "hi ada, it's me");
        });

        await t.step("names and messages with markup show as text and never run", async () => {
          await say(ada, "<img src=x onerror=__xss=2>");
          await say(other, "<script>__xss=3</script><b>bold?</b>");
          await seeMessage(other, "ada", "<img src=x onerror=__xss=2>");
          await seeMessage(ada, SCRIPT_NAME, "<script>__xss=3</script><b>bold?</b>");
          for (const page of [ada, other]) {
            assert.deepEqual(await markupLeaked(page), { ran: null, elements: 0 });
            const text = await page.textContent("#messages");
            assert.ok(text?.includes("<img src=x onerror=__xss=2>"), text ?? "");
            assert.ok(text?.includes(SCRIPT_NAME));
          }
          assert.equal(await other.textContent("#you"), SCRIPT_NAME);
          assert.ok((await ada.textContent("#messages"))?.includes(`${SCRIPT_NAME} joined`));
          assert.deepEqual(dialogs, []);
        });

        await t.step("when one leaves, the other sees it", async () => {
          await otherContext.close();
          await ada.waitForFunction(
            (name) =>
              [...document.querySelectorAll("#messages li.notice")].some((li) =>
                li.textContent === `${name} left`
              ),
            SCRIPT_NAME,
          );
          assert.deepEqual(await onlineNames(ada), ["ada"]);
        });

        await t.step("the page reconnects after the server restarts, and says so", async () => {
          await server!.stop();
          server = undefined;
          await ada.waitForFunction(
            () => document.getElementById("status")?.className === "offline",
          );
          // Typed while the server is down: queued, and sent once it is back.
          assert.ok(!await ada.isDisabled("#text"), "typing goes on while offline");
          await say(ada, "typed while the server was down");
          server = await target.start({ port, secret: TEST_SECRET });
          await ada.waitForFunction(
            (room) => document.getElementById("status")?.textContent === `Reconnected to #${room}`,
            ROOM,
            { timeout: 20_000 },
          );
          const statuses = await ada.evaluate(() =>
            (globalThis as unknown as Instrumented).__statuses
          );
          assert.ok(
            statuses.some((s) => s.startsWith(target.disconnect)),
            statuses.join("\n"),
          );
          assert.ok(statuses.some((s) => s.startsWith("Reconnecting")), statuses.join("\n"));
          // What was on screen stays; the new server works.
          await seeMessage(ada, "ada", "hello from ada");
          await seeMessage(ada, "ada", "typed while the server was down");
          await say(ada, "back again");
          await seeMessage(ada, "ada", "back again");
          assert.deepEqual(await onlineNames(ada), ["ada"]);
          await Deno.mkdir(`${ROOT}artifacts`, { recursive: true });
          await ada.screenshot({ path: `${ROOT}artifacts/${target.screenshot}`, fullPage: true });
        });
      } finally {
        await browser?.close();
        await server?.stop();
      }
    },
  });
}
