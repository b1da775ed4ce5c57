/**
 * The demo page in Chromium (playwright-core) for the resume tests: launch,
 * log in and enter a room, read what the page shows. Every status the page
 * goes through (`#status`'s `data-state`) is recorded from the first paint.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

// The little of the DOM the in-page functions use (this file is checked
// without the DOM lib, which would clash with Deno's).
interface PageElement {
  textContent: string | null;
  className: string;
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement> & { length: number };
  addEventListener(type: string, listener: () => void): void;
};
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: Record<string, unknown>): void;
}
/** What the init script adds to the page's global scope. */
interface Instrumented {
  __states: string[];
}

/** The Chromium binary (CHROMIUM to name another). */
export const CHROMIUM: string = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
/** In CI a missing Chromium fails the test rather than skipping it. */
export const IN_CI: boolean = ["true", "1"].includes(Deno.env.get("CI") ?? "");
/** Whether the binary is there. */
export const HAS_CHROMIUM: boolean = await Deno.stat(CHROMIUM).then(() => true, () => false);

/**
 * Starts Chromium; throws with how to install it when it is missing.
 *
 * @returns The browser.
 */
export async function launchChromium(): Promise<Browser> {
  if (!HAS_CHROMIUM) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: apt-get install chromium`);
  }
  return await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Records each `data-state` the status line takes, from the start. */
function instrument(): void {
  const w = globalThis as unknown as Instrumented;
  w.__states = [];
  document.addEventListener("DOMContentLoaded", () => {
    const status = document.getElementById("status");
    if (!status) return;
    const record = () => {
      const state = status.dataset.state ?? "";
      if (w.__states.at(-1) !== state) w.__states.push(state);
    };
    record();
    new MutationObserver(record).observe(status, { attributes: true });
  });
}

/**
 * Logs in as `name` through the form and waits until the page is in `room`.
 *
 * @param context A browser context (one user's cookies).
 * @param origin `http://host:port` of the app (or a proxy before it).
 * @param name The user.
 * @param room The room.
 * @returns The page.
 */
export async function enterRoom(
  context: BrowserContext,
  origin: string,
  name: string,
  room: string,
): Promise<Page> {
  const page = await context.newPage();
  await page.addInitScript(instrument);
  await page.goto(`${origin}/?room=${room}`);
  await page.fill("#name", name);
  await Promise.all([
    page.waitForURL(`${origin}/?room=${room}`),
    page.click("button[type=submit]"),
  ]);
  await page.waitForFunction(
    (room) => document.getElementById("status")?.textContent === `Connected to #${room}`,
    room,
  );
  return page;
}

/**
 * Types a message and sends it with Enter.
 *
 * @param page The page.
 * @param text The message.
 */
export async function typeMessage(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/** A message as the page shows it. */
export interface ShownMessage {
  from: string;
  text: string;
}

/**
 * The messages on the page, in the order shown (not the pending ones).
 *
 * @param page The page.
 * @returns Sender and text of each.
 */
export async function shownMessages(page: Page): Promise<ShownMessage[]> {
  return await page.$$eval("#messages li.message", (items) =>
    items.map((li) => ({
      from: li.querySelector(".from")?.textContent ?? "",
      text: li.querySelector(".text")?.textContent ?? "",
    })));
}

/**
 * The notices of a kind (`gap`, `reloaded`, `info`, …), in order.
 *
 * @param page The page.
 * @param kind The notice's class.
 * @returns Their texts.
 */
export async function notices(page: Page, kind: string): Promise<string[]> {
  return await page.$$eval(
    `#messages li.notice.${kind}`,
    (items) => items.map((li) => li.textContent ?? ""),
  );
}

/**
 * Waits until the page shows at least `count` messages from `from`.
 *
 * @param page The page.
 * @param from The sender.
 * @param count How many.
 * @param timeout In ms (default 30,000).
 */
export async function waitForMessages(
  page: Page,
  from: string,
  count: number,
  timeout = 30_000,
): Promise<void> {
  await page.waitForFunction(
    ([from, count]) =>
      [...document.querySelectorAll("#messages li.message")].filter((li) =>
        li.querySelector(".from")?.textContent === from
      ).length >= (count as number),
    [from, count] as const,
    { timeout },
  );
}

/**
 * Waits until `#status` has this `data-state`.
 *
 * @param page The page.
 * @param state `live`, `reconnecting`, …
 * @param timeout In ms (default 30,000).
 */
export async function waitForState(page: Page, state: string, timeout = 30_000): Promise<void> {
  await page.waitForFunction(
    (state) => document.getElementById("status")?.dataset.state === state,
    state,
    { timeout },
  );
}

/**
 * Every `data-state` the status line took, in order, repeats folded.
 *
 * @param page The page.
 * @returns The states.
 */
export async function stateHistory(page: Page): Promise<string[]> {
  return await page.evaluate(() => (globalThis as unknown as Instrumented).__states);
}
