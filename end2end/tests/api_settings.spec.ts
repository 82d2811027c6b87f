import { expect, request as playwrightRequest, test } from "@playwright/test";
import { ADMIN_PASSWORD, HTTP_URL, hydrated, signInOk } from "./helpers";

// Administration > System > Settings > API Settings: the ERS API is off
// until an admin switches it on here, and then a script's Basic
// credentials reach it; switched off again, it refuses.

const PAGE = "/administration/system/settings/api-settings";
const basic = "Basic " + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64");

async function guestTypes() {
  const api = await playwrightRequest.newContext({ baseURL: HTTP_URL });
  const reply = await api.get("/ers/config/guesttype", {
    headers: { Authorization: basic, Accept: "application/json" },
  });
  const body = await reply.json();
  await api.dispose();
  return { status: reply.status(), body };
}

test.describe.configure({ mode: "serial" });

test("the ERS API answers only while API Settings has it on", async ({ page }) => {
  const before = await guestTypes();
  expect(before.status).toBe(403);
  expect(before.body.ERSResponse.messages[0].title).toContain("API Settings");

  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(PAGE);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "API Settings" })).toBeVisible();
  const ers = page.getByRole("switch", { name: "ERS (Read/Write)" });
  await expect(ers).not.toBeChecked();
  await expect(page.locator("code", { hasText: /^https:\/\/.*\/ers\/config\/$/ })).toBeVisible();
  await ers.check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("the ERS API answers.")).toBeVisible();

  const after = await guestTypes();
  expect(after.status).toBe(200);
  expect(after.body.SearchResult.total).toBeGreaterThanOrEqual(3);

  // Reloaded, the page shows what was saved, and who saved it.
  await page.reload();
  await hydrated(page);
  await expect(page.getByRole("switch", { name: "ERS (Read/Write)" })).toBeChecked();
  await expect(page.getByText(/Last changed by admin/)).toBeVisible();

  await page.getByRole("switch", { name: "ERS (Read/Write)" }).uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("the ERS API is off.")).toBeVisible();
  expect((await guestTypes()).status).toBe(403);
});
