import { BrowserContext, expect, Page, test } from "@playwright/test";
import { ADMIN_PASSWORD, HTTP_URL, hydrated, postFromPage } from "./helpers";

// Bytes on the wire with an empty cache, as Chromium counts them (compressed
// bodies plus headers), for the sign-in page, the dashboard and the SMTP
// Server page; a second visit must fetch no static file again; and the SMTP
// Server page's time to interactive on a throttled office link.

const SMTP = "/administration/system/settings/smtp-server";
const KB = 1024;
// What a new admin's browser downloads before the page works, as measured
// (BENCHMARKS.md) plus a little room: a page that grows past its budget
// fails here. The SMTP Server page is over the 500 KB aimed for: besides
// the main wasm and its own chunk it needs about 285 small shared chunks,
// each its own request with its own headers (BENCHMARKS.md).
const BUDGET = { "/login": 320 * KB, "/": 320 * KB, [SMTP]: 560 * KB };

type Load = { bytes: number; assetsFetched: string[]; assetsCached: number; ms: number };

/** Loads `path` in `page` until it is hydrated; what crossed the network. */
async function measure(context: BrowserContext, page: Page, path: string, throttle = false): Promise<Load> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: false });
  if (throttle) {
    // A typical office link: 20 Mbit/s both ways, 20 ms round trip.
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false,
      latency: 20,
      downloadThroughput: (20 * 1000 * 1000) / 8,
      uploadThroughput: (20 * 1000 * 1000) / 8,
    });
  }
  const urls = new Map<string, string>();
  const fromNetwork = new Set<string>();
  const sizes = new Map<string, number>();
  let bytes = 0;
  const fromCache = new Set<string>();
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.responseReceived", (e) => {
    // A memory-cache hit is announced by requestServedFromCache first.
    if (fromCache.has(e.requestId) || e.response.fromDiskCache || e.response.fromPrefetchCache) {
      fromCache.add(e.requestId);
    } else if (e.response.status !== 304) {
      fromNetwork.add(e.requestId);
    }
  });
  cdp.on("Network.requestServedFromCache", (e) => {
    fromCache.add(e.requestId);
    fromNetwork.delete(e.requestId);
  });
  cdp.on("Network.loadingFinished", (e) => {
    bytes += e.encodedDataLength;
    sizes.set(e.requestId, e.encodedDataLength);
  });
  const started = Date.now();
  await page.goto(path);
  await hydrated(page);
  const ms = Date.now() - started;
  // Lazy chunks and late requests after hydration count too.
  await page.waitForLoadState("networkidle");
  await cdp.detach();
  const assetsFetched = [...fromNetwork]
    .filter((id) => new URL(urls.get(id) ?? "http://x/").pathname.startsWith("/assets/"))
    .map((id) => `${urls.get(id)} (${sizes.get(id) ?? "?"} bytes)`);
  if (process.env.E2E_WEIGHT_DETAIL) {
    for (const [id, size] of sizes) console.log(`${path} ${size} ${urls.get(id)}`);
  }
  return { bytes, assetsFetched, assetsCached: fromCache.size, ms };
}

async function signedInContext(browser: import("@playwright/test").Browser): Promise<BrowserContext> {
  // Signed in from another context, whose cache the measured one does not share.
  const signing = await browser.newContext();
  const page = await signing.newPage();
  await page.goto("/login");
  const reply = await postFromPage(page, "/api/login", { username: "admin", password: ADMIN_PASSWORD });
  expect(reply.status).toBe(200);
  const storageState = await signing.storageState();
  await signing.close();
  return browser.newContext({ storageState });
}

test("cold loads stay within their byte budgets and a second visit fetches no static file", async ({ browser }) => {
  const results: string[] = [];
  for (const path of ["/login", "/", SMTP]) {
    const context = path === "/login" ? await browser.newContext() : await signedInContext(browser);
    const page = await context.newPage();
    const cold = await measure(context, page, path);
    expect(cold.assetsFetched.length, `${path}: static files fetched cold`).toBeGreaterThan(0);
    expect(cold.bytes, `${path}: ${cold.bytes} bytes cold`).toBeLessThanOrEqual(BUDGET[path]);

    // The same page again in the same browser: every static file from the
    // cache (versioned URLs are immutable), only the HTML crosses.
    const repeat = await measure(context, page, path);
    expect(repeat.assetsFetched, `${path}: static files fetched again`).toEqual([]);
    expect(repeat.assetsCached).toBeGreaterThan(0);
    results.push(
      `${path}: cold ${(cold.bytes / KB).toFixed(0)} KB (budget ${BUDGET[path] / KB} KB), ` +
        `repeat ${(repeat.bytes / KB).toFixed(0)} KB, ${repeat.assetsCached} files from cache`,
    );
    await context.close();
  }
  console.log(results.join("\n"));
});

test.describe("on a slow link", () => {
  // Over the plain loopback listener (HTTP/1.1) for now: under Chromium's
  // emulated throttling, an HTTP/2 load of this page's 226 requests can
  // stall for good and never hydrate (BENCHMARKS.md, "HTTPS against plain
  // HTTP"), which is not understood yet.
  test.use({ baseURL: HTTP_URL });

test("the SMTP Server page is interactive quickly on a 20 Mbit/s, 20 ms link", async ({ browser }) => {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const context = await signedInContext(browser);
    const page = await context.newPage();
    const load = await measure(context, page, SMTP, true);
    times.push(load.ms);
    await context.close();
  }
  times.sort((a, b) => a - b);
  console.log(`SMTP Server page, cold, throttled (20 Mbit/s, 20 ms): time to interactive ${times.join(", ")} ms (median ${times[1]} ms)`);
  // A loose ceiling: the figure itself goes in BENCHMARKS.md.
  expect(times[1]).toBeLessThan(10_000);
});
});
