import { expect, Page, test } from "@playwright/test";
import * as path from "node:path";
import { ADMIN_PASSWORD, ADMINISTRATORS, TOKEN_PORT, hydrated, signInOk } from "./helpers";

// Named to run right after smtp.spec.ts, which saved the OAuth SMTP settings.
const SMTP = "/administration/system/settings/smtp-server";
const ALARM_SETTINGS = "/administration/system/settings/alarm-settings";
const USERS = "/administration/identity-management/identities/users";
const USER_POLICY = "/administration/identity-management/settings/user-password-policy";
const MAILBOX = "noreply@contoso.onmicrosoft.com";
const shots = process.env.SCREENSHOTS ? path.resolve(__dirname, "..", "..", "docs") : null;

type Received = { to: string[]; from: string; subject: string; raw?: string };

async function receivedBy(address: string, subject: string): Promise<Received[]> {
  const response = await fetch(`http://127.0.0.1:${TOKEN_PORT}/_messages`);
  const messages = (await response.json()) as Received[];
  return messages.filter((m) => m.to.includes(address) && m.subject.startsWith(subject));
}

function dateIn(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** Sets the client secret's expiry date on the SMTP Server page: Test Connection, then Save. */
async function setSecretExpiry(page: Page, date: string) {
  await page.goto(SMTP);
  await hydrated(page);
  await page.getByLabel("Expiry Date", { exact: true }).fill(date);
  await page.getByRole("button", { name: "Test Connection" }).click();
  const result = page.getByRole("region", { name: "Test Connection result" });
  await expect(result.getByRole("status")).toHaveText("Successfully connected to localhost.");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The SMTP server settings were saved." })).toBeVisible();
}

test("an opted-in admin gets the secret-expiry alarm by email, acknowledges it, and edits a threshold", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);

  // The admin opts in to alarm emails on its own admin user.
  await page.goto(ADMINISTRATORS);
  await hydrated(page);
  await page.getByRole("link", { name: "admin", exact: true }).click();
  await hydrated(page);
  await page.getByLabel("Email", { exact: true }).fill("admin@example.com");
  await page.getByLabel("Include system alarms in emails").check();
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "was saved" })).toBeVisible();

  // Alarm Notification: a sender that is not the mailbox is warned about.
  await page.goto(`${ALARM_SETTINGS}?tab=notification`);
  await hydrated(page);
  await page.getByLabel("Enter sender email address").fill("alerts@example.com");
  await expect(page.getByRole("status").filter({ hasText: "554 5.2.252" })).toBeVisible();
  await page.getByLabel("Enter sender email address").fill(MAILBOX);
  await expect(page.getByRole("status").filter({ hasText: "554 5.2.252" })).toHaveCount(0);
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "alarm notification settings were saved" })).toBeVisible();
  // Two opted-in admins now: auditor (from the foundation tests) and admin.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("alarm-recipients")).toContainText(": 2 now");
  await page.getByLabel("Send test alarm email to").fill("admin@example.com");
  await page.getByRole("button", { name: "Send Test Email" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Delivered in" })).toBeVisible({ timeout: 20_000 });
  if (shots) await page.screenshot({ path: path.join(shots, "alarm-notification.png") });

  // The client secret now expires in 10 days: saving raises the alarm.
  await setSecretExpiry(page, dateIn(10));
  await page.goto("/");
  await hydrated(page);
  const dashlet = page.getByTestId("alarms-dashlet");
  const row = dashlet.locator("tbody tr", { hasText: "SMTP OAuth client secret about to expire" });
  await expect(row).toBeVisible();
  await expect(row).toContainText("Warning");
  await expect(row).toContainText("New");

  // Its email reaches every opted-in admin from the configured sender.
  const subject = "Mailroom Alarm : Warning : SMTP OAuth client secret about to";
  for (const address of ["admin@example.com", "auditor@example.com"]) {
    await expect.poll(async () => (await receivedBy(address, subject)).length, { timeout: 20_000 }).toBe(1);
    const [mail] = await receivedBy(address, subject);
    expect(mail.from).toBe(MAILBOX);
    expect(mail.raw).toContain("Suggested Actions:");
  }

  // Acknowledge it on Operations > Alarms, reached from the dashlet.
  await dashlet.getByRole("link", { name: "Acknowledge or clear on All Alarms" }).click();
  await hydrated(page);
  const listed = page.locator("tbody tr", { hasText: "SMTP OAuth client secret about to expire" });
  await expect(listed).toContainText("Suggested action: In the Entra admin center");
  await listed.getByRole("checkbox").check();
  await page.getByRole("button", { name: "✓ Acknowledge" }).click();
  await expect(page.getByRole("status").filter({ hasText: "1 alarm(s) updated." })).toBeVisible();
  await expect(listed).toContainText("Acknowledged by admin");
  if (shots) await page.screenshot({ path: path.join(shots, "alarms.png") });
  await page.goto("/");
  await hydrated(page);
  await expect(dashlet.locator("tbody tr", { hasText: "SMTP OAuth client secret about to expire" })).toContainText("Acknowledged by admin");
  if (shots) await page.screenshot({ path: path.join(shots, "alarms-dashboard.png") });

  // Edit a threshold; a bad value is refused next to its field.
  await page.goto(ALARM_SETTINGS);
  await hydrated(page);
  await page.getByRole("button", { name: "Edit SMTP OAuth client secret about to expire" }).click();
  await page.getByLabel("Warning at (days before expiry)").fill("45, 0");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("'0' is not a number of days from 1 to 365.")).toBeVisible();
  await page.getByLabel("Warning at (days before expiry)").fill("45, 20");
  await page.getByRole("button", { name: "Save" }).click();
  const catalogueRow = page.locator("tbody tr", { hasText: "SMTP OAuth client secret about to expire" });
  await expect(catalogueRow).toContainText("Warning: 45, 20 · Critical: 7, 1");
  if (shots) await page.screenshot({ path: path.join(shots, "alarm-settings.png") });

  // The menu leads to Operations > Alarms too.
  await page.getByLabel("Menu", { exact: true }).click();
  await page.getByRole("link", { name: "All Alarms" }).click();
  await expect(page.getByRole("heading", { name: "Alarms", level: 1 })).toBeVisible();

  // A renewed secret clears the alarm.
  await setSecretExpiry(page, "2027-06-30");
  await page.goto("/");
  await hydrated(page);
  await expect(page.getByTestId("alarms-dashlet").getByTestId("no-alarms")).toBeVisible();
});

test("internal users and their password policy", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(USER_POLICY);
  await hydrated(page);
  await page.getByLabel("Passwords expire").check();
  await page.getByLabel("Disable the user account if the password is not changed within (days)").fill("10");
  await page.getByLabel("Send an email reminder (days before expiry)").fill("30");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#policy-reminders-error")).toContainText("comes before the password's 10-day lifetime starts");
  await page.getByLabel("Disable the user account if the password is not changed within (days)").fill("60");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The password policy was saved." })).toBeVisible();
  if (shots) await page.screenshot({ path: path.join(shots, "user-password-policy.png") });

  await page.goto(USERS);
  await hydrated(page);
  await page.getByRole("button", { name: "+ Add" }).click();
  await page.getByLabel("Name", { exact: true }).fill("alice");
  await page.getByLabel("Email", { exact: true }).fill("alice@example");
  await page.getByLabel("Login password").fill("Net-User-Passw0rd");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.locator("#user-email-error")).toContainText("Enter a valid email address");
  await page.getByLabel("Email", { exact: true }).fill("alice@example.com");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The user was created." })).toBeVisible();
  const row = page.locator("tbody tr", { hasText: "alice@example.com" });
  await expect(row).toContainText("Enabled");
  await expect(row).toContainText(dateIn(60));
  if (shots) await page.screenshot({ path: path.join(shots, "users.png") });
});
