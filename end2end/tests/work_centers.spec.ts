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
  await page.evaluate(() => window.scrollTo(0, 0));
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

test("Self-Registered Guest Portal: the email template with live preview, Send Test Email, then a guest registers", async ({ page, browser }) => {
  await page.setViewportSize({ width: 1360, height: 1000 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.getByLabel("Menu", { exact: true }).click();
  await page.getByRole("link", { name: "Guest Portals" }).click();
  await expect(page.getByRole("heading", { name: "Guest Portals", level: 1 })).toBeVisible();
  await hydrated(page);
  await page.getByRole("link", { name: "Self-Registered Guest Portal (default)" }).click();
  await hydrated(page);
  await expect(page.getByLabel("Employees using this portal as guests inherit login options from")).toHaveValue(/\d+/);
  await expect(page.getByLabel("Employees using this portal as guests inherit login options from").locator("option:checked")).toHaveText("Daily (default)");

  // Portal Page Customization > Notifications > Email.
  await page.getByRole("link", { name: "Portal Page Customization" }).click();
  const subject = page.getByLabel("Email subject");
  await expect(subject).toBeVisible();
  const preview = page.getByRole("region", { name: "Email preview" });
  await expect(preview.getByTestId("preview-subject")).toHaveText("Your guest account credentials");
  await subject.fill("Guest Wi-Fi for $ui_first_name$ at $ui_company$");
  await expect(preview.getByTestId("preview-subject")).toHaveText("Guest Wi-Fi for John at Smith & Sons <Consulting>");
  const html = page.getByLabel("Email body (HTML)");
  await html.fill("<p>Welcome <b>$ui_first_name$</b> of $ui_company$</p><p>$ui_user_name$ / $ui_password$ $ui_typo$</p>");
  await expect(page.getByRole("alert").filter({ hasText: "Unknown placeholder $ui_typo$" })).toBeVisible();
  const frame = page.frameLocator("iframe[title='HTML preview']");
  await expect(frame.locator("b")).toHaveText("John");
  await expect(frame.locator("body")).toContainText("of Smith & Sons <Consulting>");
  await html.fill("<p>Welcome <b>$ui_first_name$</b> of $ui_company$</p><p>$ui_user_name$ / $ui_password$</p>");
  await expect(page.getByRole("alert").filter({ hasText: "Unknown placeholder" })).toHaveCount(0);
  await expect(frame.locator("b")).toHaveText("John");
  if (shots) await page.screenshot({ path: path.join(shots, "portal-email-customization.png"), fullPage: true });

  // Settings > Send Test Email: the unsaved template, escaped, from the mailbox.
  const to = "portal-admin@example.com";
  await page.getByLabel("Send test email to").fill(to);
  await page.getByRole("region", { name: "Send Test Email" }).getByRole("button", { name: "Send" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Delivered in" })).toBeVisible({ timeout: 20_000 });
  const [test] = await receivedBy(to);
  expect(test.subject).toBe("Guest Wi-Fi for John at Smith & Sons <Consulting>");
  expect(test.from).toBe(MAILBOX);
  expect(test.raw).toContain("<b>John</b> of Smith &amp; Sons &lt;Consulting&gt;");

  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The guest portal was saved." })).toBeVisible();

  // A guest, in a browser with no admin session, registers on the portal.
  const guestContext = await browser.newContext();
  const guest = await guestContext.newPage();
  await guest.goto("/portal/1/self-registration");
  await hydrated(guest);
  await guest.getByLabel("First name").fill("Grace");
  await guest.getByLabel("Last name").fill("Hopper");
  await guest.getByLabel("Email address").fill("grace@example.com");
  await guest.getByLabel("Company").fill("Navy & <Co>");
  await guest.getByRole("button", { name: "Register" }).click();
  await expect(guest.getByRole("alert").filter({ hasText: "Accept the Acceptable Use Policy" })).toBeVisible();
  await guest.getByLabel("I agree to the terms and conditions").check();
  await guest.getByRole("button", { name: "Register" }).click();
  await expect(guest.getByRole("heading", { name: "Account created" })).toBeVisible();
  const credentials = guest.getByRole("definition");
  await expect(credentials.first()).toHaveText("grace");
  const password = (await credentials.nth(1).textContent()) ?? "";
  expect(password).toMatch(/^[A-Za-z0-9]{8}$/);
  await expect(guest.getByText("Your credentials were sent to grace@example.com.")).toBeVisible();
  if (shots) await guest.screenshot({ path: path.join(shots, "self-registration-success.png") });

  // The guest signs in with them (the account becomes Active) and picks
  // its own password.
  await guest.getByRole("link", { name: "Sign in now" }).click();
  await hydrated(guest);
  await guest.getByLabel("Username").fill("grace");
  await guest.getByLabel("Password").fill(password);
  await guest.getByRole("button", { name: "Sign On" }).click();
  await expect(guest.getByRole("heading", { name: "Welcome" })).toBeVisible();
  await guest.getByLabel("Current password").fill(password);
  await guest.getByLabel("New password").fill("Grace-0wn-Pass");
  await guest.getByLabel("Confirm password").fill("Grace-0wn-Pasz");
  await guest.getByRole("button", { name: "Change Password" }).click();
  await expect(guest.getByRole("alert").filter({ hasText: "The passwords do not match." })).toBeVisible();
  await guest.getByLabel("Confirm password").fill("Grace-0wn-Pass");
  await guest.getByRole("button", { name: "Change Password" }).click();
  await expect(guest.getByRole("status").filter({ hasText: "Your password was changed." })).toBeVisible();
  await guestContext.close();

  await expect.poll(async () => (await receivedBy("grace@example.com")).length, { timeout: 20_000 }).toBe(1);
  const [credentialsMail] = await receivedBy("grace@example.com");
  expect(credentialsMail.subject).toBe("Guest Wi-Fi for Grace at Navy & <Co>");
  expect(credentialsMail.raw).toContain(`grace / ${password}`);
  expect(credentialsMail.raw).toContain("of Navy &amp; &lt;Co&gt;");
});
