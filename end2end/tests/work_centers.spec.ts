import { expect, test } from "@playwright/test";
import * as path from "node:path";
import { ADMIN_PASSWORD, hydrated, signInOk } from "./helpers";

// Work Centers > Guest Access. Sorts after smtp.spec.ts, which saved the
// SMTP settings with OAuth as noreply@contoso.onmicrosoft.com.
const shots = process.env.SCREENSHOTS ? path.resolve(__dirname, "..", "..", "docs") : null;
const MAILBOX = "noreply@contoso.onmicrosoft.com";

test("Guest Email Settings: the From address Exchange accepts, checked as the admin types", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.getByLabel("Menu", { exact: true }).click();
  await page.getByRole("link", { name: "Guest Email Settings" }).click();
  await expect(page.getByRole("heading", { name: "Guest Email Settings", level: 1 })).toBeVisible();
  await hydrated(page);

  // ISE's defaults, and the warning that Exchange will refuse them.
  const from = page.getByLabel('Default "From" email address', { exact: true });
  await expect(from).toHaveValue("donotreply@example.com");
  await expect(page.getByRole("switch", { name: "Enable email notifications to guests" })).toBeChecked();
  const warning = page.getByRole("status").filter({ hasText: "554 5.2.252" });
  await expect(warning).toContainText(MAILBOX);
  if (shots) await page.screenshot({ path: path.join(shots, "guest-email-settings.png") });

  // A bad address is refused next to the field.
  await from.fill("not an address");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Enter a valid email address" })).toBeVisible();

  // The mailbox itself: the warning goes away as it is typed; Save; reload.
  await from.fill(MAILBOX);
  await expect(warning).toHaveCount(0);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The guest email settings were saved." })).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel('Default "From" email address', { exact: true })).toHaveValue(MAILBOX);

  // The sponsor's own address would be refused too.
  await page.getByLabel("Use sponsor's email address").check();
  await expect(page.getByRole("status").filter({ hasText: "a sponsor's own address" })).toBeVisible();
  await page.getByLabel('Always use the default "From" email address').check();
  await expect(page.getByRole("status").filter({ hasText: "554 5.2.252" })).toHaveCount(0);
});
