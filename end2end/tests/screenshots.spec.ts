import { test } from "@playwright/test";
import * as path from "node:path";
import { ADMIN_PASSWORD, ADMINISTRATORS, hydrated, signInOk } from "./helpers";

// Refreshes the pictures in docs/ (run with SCREENSHOTS=1); otherwise skipped.
test.skip(!process.env.SCREENSHOTS, "set SCREENSHOTS=1 to refresh docs/ pictures");

const docs = path.resolve(__dirname, "..", "..", "docs");

test("signed-in shell with the Menu drawer open", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 720 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(ADMINISTRATORS);
  await hydrated(page);
  await page.getByLabel("Menu", { exact: true }).click();
  await page.screenshot({ path: path.join(docs, "console-shell.png") });
  await page.getByLabel("Menu", { exact: true }).click();
  await page.goto(`${ADMINISTRATORS}/new`);
  await hydrated(page);
  await page.screenshot({ path: path.join(docs, "new-administrator.png"), fullPage: true });
  await page.goto("/");
  await page.screenshot({ path: path.join(docs, "dashboard.png") });
});

test("API Settings with the ERS API on", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto("/administration/system/settings/api-settings");
  await hydrated(page);
  await page.getByRole("switch", { name: "ERS (Read/Write)" }).check();
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("the ERS API answers.").waitFor();
  await page.screenshot({ path: path.join(docs, "api-settings.png"), fullPage: true });
  await page.getByRole("switch", { name: "ERS (Read/Write)" }).uncheck();
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("the ERS API is off.").waitFor();
});
