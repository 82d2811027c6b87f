import { expect, Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";

export const ADMIN_PASSWORD = "E2e-Sup3r-Passw0rd";
export const ADMINISTRATORS = "/administration/system/admin-access/administrators";

/** Waits until the page's wasm has hydrated, so clicks run client code. */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached", timeout: 20_000 });
}

export async function signIn(page: Page, username: string, password: string) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Login" }).click();
}

export async function signInOk(page: Page, username: string, password: string) {
  await signIn(page, username, password);
  await expect(page.getByTestId("signed-in-user")).toHaveText(username);
  await hydrated(page);
}

/** Where the test peers write peers.json (their ports, the test CA's path). */
export const PEERS_DIR = path.join(__dirname, "..", ".data", "peers");
export const TOKEN_PORT = Number(process.env.E2E_TOKEN_PORT ?? 3391);
/** The console's data directory for this run. */
export const DATA_DIR = path.join(__dirname, "..", ".data", "run");

export type PeersInfo = {
  smtp: number; smtp_basic_off: number; proxy: number; ca_pem: string; tenant_id: string; client_secret: string;
  proxy_user: string; proxy_password: string;
};

export function peers(): PeersInfo {
  return JSON.parse(fs.readFileSync(path.join(PEERS_DIR, "peers.json"), "utf8"));
}

/** The console's plain loopback listener, for tests about the edge rather
 * than TLS (the runner's Node side does not trust the generated
 * certificate; the browser does). */
export const HTTP_URL = process.env.E2E_HTTP_URL ?? "";

/** A form POST made from inside `page` (the browser's own TLS, cookies
 * and Origin), as a hand-made request from that tab would be. */
export async function postFromPage(
  page: Page, path: string, form: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return page.evaluate(async ([path, form]) => {
    const response = await fetch(path, { method: "POST", body: new URLSearchParams(form) });
    return { status: response.status, body: await response.text() };
  }, [path, form] as const);
}
