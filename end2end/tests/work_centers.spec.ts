import { expect, test } from "@playwright/test";
import * as path from "node:path";
import { ADMIN_PASSWORD, TOKEN_PORT, hydrated, signInOk } from "./helpers";

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

type Received = { to: string[]; from: string; subject: string; raw?: string };

async function receivedBy(address: string): Promise<Received[]> {
  const response = await fetch(`http://127.0.0.1:${TOKEN_PORT}/_messages`);
  const messages = (await response.json()) as Received[];
  return messages.filter((m) => m.to.includes(address));
}

test("Guest Types: ISE's defaults, the expiration notice edited, test-sent and saved", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.getByLabel("Menu", { exact: true }).click();
  await page.getByRole("link", { name: "Guest Types" }).click();
  await expect(page.getByRole("heading", { name: "Guest Types", level: 1 })).toBeVisible();
  await hydrated(page);
  const table = page.getByRole("table", { name: "Guest types" });
  for (const name of ["Contractor (default)", "Daily (default)", "Weekly (default)"]) {
    await expect(table.getByRole("link", { name })).toBeVisible();
  }
  await expect(table.getByRole("row").filter({ hasText: "Contractor (default)" })).toContainText("365 days");
  if (shots) await page.screenshot({ path: path.join(shots, "guest-types.png") });

  await table.getByRole("link", { name: "Contractor (default)" }).click();
  await expect(page.getByRole("heading", { name: "Guest Type Contractor (default)" })).toBeVisible();
  await hydrated(page);
  await expect(page.getByLabel("Message text")).toHaveValue(/Your account is going to expire in 3 days/);

  // A default longer than the maximum is refused next to its field.
  await page.getByLabel("Default duration (days)").fill("400");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "cannot be longer than the maximum (365 days)" })).toBeVisible();
  await page.getByLabel("Default duration (days)").fill("90");

  // Turn the notice on; an unknown placeholder is named.
  await page.getByRole("switch", { name: "Send account expiration notification" }).check();
  await page.getByLabel("Email subject").fill("Access for $ui_user_name$ ends soon");
  await page.getByLabel("Message text").fill("Hello $ui_first_name$, your access ends $ui_end_date$.");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Unknown placeholder $ui_end_date$" })).toBeVisible();
  await page.getByLabel("Message text").fill("Hello $ui_first_name$, your access ends $ui_end_date_time$.");

  // "Send test email to me at": the unsaved text, through the outbox.
  const to = "guest-types-admin@example.com";
  await page.getByLabel("Send test email to me at").fill(to);
  await page.getByRole("button", { name: "Send test email" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Delivered in" })).toBeVisible({ timeout: 20_000 });
  const [mail] = await receivedBy(to);
  expect(mail.subject).toBe("Access for jsmith42 ends soon");
  expect(mail.from).toBe(MAILBOX);
  expect(mail.raw).toContain("Hello John, your access ends 2026-11-30 09:00 UTC.");
  if (shots) await page.screenshot({ path: path.join(shots, "guest-type-edit.png"), fullPage: true });

  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Guest type 'Contractor (default)' was saved." })).toBeVisible();
  await expect(table.getByRole("row").filter({ hasText: "Contractor (default)" })).toContainText("3 days before");

  // Create one, then delete it after confirming.
  await hydrated(page);
  await page.getByRole("link", { name: "+ Create" }).click();
  await hydrated(page);
  await page.getByLabel("Guest type name").fill("Conference");
  await page.getByLabel("Maximum account duration (days)").fill("3");
  await page.getByLabel("Default duration (days)").fill("2");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Guest type 'Conference' was saved." })).toBeVisible();
  await hydrated(page);
  await table.getByRole("checkbox", { name: "Select Conference" }).check();
  await page.getByRole("button", { name: "✕ Delete" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Deleted 1 guest type(s)." })).toBeVisible();
  await expect(table.getByRole("link", { name: "Conference" })).toHaveCount(0);
});
