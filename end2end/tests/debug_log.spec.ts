import { expect, test } from "@playwright/test";
import { ADMIN_PASSWORD, hydrated, signInOk } from "./helpers";

test("a component's log level is changed from the Debug Log Configuration page and kept", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.getByLabel("Menu", { exact: true }).click();
  await page.getByRole("link", { name: "Debug Log Configuration" }).click();
  await expect(page.getByRole("heading", { name: "Debug Log Configuration", level: 1 })).toBeVisible();
  await hydrated(page);
  const guest = page.getByLabel("Log level of guest-access-admin");
  await expect(guest).toHaveValue("INFO");
  await guest.selectOption("DEBUG");
  await expect(page.getByRole("status").filter({ hasText: "The log level was changed." })).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel("Log level of guest-access-admin")).toHaveValue("DEBUG");
  await expect(page.locator("tbody tr", { hasText: "guest-access-admin" })).toContainText("guest.log");
  // Put it back, so later runs start from INFO.
  await page.getByLabel("Log level of guest-access-admin").selectOption("INFO");
  await expect(page.getByRole("status").filter({ hasText: "The log level was changed." })).toBeVisible();
});
