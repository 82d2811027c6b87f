import { expect, test } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { ADMIN_PASSWORD, TOKEN_PORT, hydrated, signInOk } from "./helpers";

// The mail spool: Mail Queue and Download Logs. Named to sort after
// smtp.spec.ts, which saved the SMTP settings these tests send with.
const shots = process.env.SCREENSHOTS ? path.resolve(__dirname, "..", "..", "docs") : null;

async function fault(body: object) {
  const response = await fetch(`http://127.0.0.1:${TOKEN_PORT}/_faults`, { method: "POST", body: JSON.stringify(body) });
  expect(response.ok).toBeTruthy();
}

test("Send Test Email through the queue, then retry a dead letter from the Mail Queue", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.getByLabel("Menu", { exact: true }).click();
  await page.getByRole("link", { name: "Mail Queue" }).click();
  await expect(page.getByRole("heading", { name: "Mail Queue", level: 1 })).toBeVisible();
  await hydrated(page);

  // A test email waits for the server's reply.
  await page.getByText("Send Test Email").click();
  await page.getByLabel("To", { exact: true }).fill("helpdesk@example.com");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Delivered in" })).toContainText("250");

  // The next one is refused for good: a dead letter with its diagnosis.
  await fault({ at: "rcpt", action: "reply", code: 550, text: "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup" });
  await page.getByLabel("To", { exact: true }).fill("nobody@example.com");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Dead letter: the first attempt failed." })).toBeVisible();
  await expect(page.locator(".test-email .diagnosis")).toContainText("550 5.1.10");

  // The table and the counts show both; filter to the dead letters.
  const table = page.getByRole("table", { name: "Messages" });
  await expect(table.locator("tbody tr", { hasText: "helpdesk@example.com" })).toContainText("Sent");
  await page.getByRole("link", { name: /^Dead letter: 1$/ }).click();
  await expect(table.locator("tbody tr")).toHaveCount(1);
  const dead = table.locator("tbody tr", { hasText: "nobody@example.com" });
  await expect(dead).toContainText("Dead letter");
  await expect(dead).toContainText("550");

  // Open it: the attempts, the diagnosis, and Retry after a confirmation.
  await dead.getByRole("link").first().click();
  const detail = page.getByRole("region", { name: /^Message \d+$/ });
  await expect(detail).toContainText("RecipientNotFound");
  await expect(detail.getByRole("table", { name: "Attempts" })).toContainText("Dead letter");
  await expect(detail).toContainText("PSN");
  if (shots) await page.screenshot({ path: path.join(shots, "mail-queue.png"), fullPage: true });
  await detail.getByRole("button", { name: "Retry" }).click();
  await expect(page.getByRole("alertdialog")).toContainText("Send message");
  await page.getByRole("button", { name: "Yes, retry" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The message is queued again." })).toBeVisible();
  await expect(detail.getByRole("table", { name: "Attempts" })).toContainText("Delivered", { timeout: 15_000 });

  // Unfiltered, both are sent now.
  await page.getByRole("link", { name: "Clear" }).click();
  await expect(table.locator("tbody tr", { hasText: "nobody@example.com" })).toContainText("Sent");
  await expect(page.getByRole("link", { name: /^Dead letter: 0$/ })).toBeVisible();
});

test("a filter without JavaScript still narrows the table", async ({ browser, page: signedIn }) => {
  await signInOk(signedIn, "admin", ADMIN_PASSWORD);
  const context = await browser.newContext({
    javaScriptEnabled: false,
    storageState: await signedIn.context().storageState(),
  });
  const page = await context.newPage();
  await page.goto("/operations/mail-queue/outbound-email/mail-queue");
  await expect(page.getByRole("heading", { name: "Mail Queue", level: 1 })).toBeVisible();
  await page.getByLabel("Recipient").fill("helpdesk");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/recipient=helpdesk/);
  const rows = page.getByRole("table", { name: "Messages" }).locator("tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("helpdesk@example.com");
  await context.close();
});

test("Download Logs gives a zip of the log files with guest.log", async ({ page }) => {
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.getByLabel("Menu", { exact: true }).click();
  await page.getByRole("link", { name: "Debug Logs" }).click();
  await expect(page.getByRole("heading", { name: "Debug Logs", level: 1 })).toBeVisible();
  const files = page.getByRole("table", { name: "Log files" });
  await expect(files).toContainText("mailroom.log");
  await expect(files).toContainText("guest.log");
  if (shots) await page.screenshot({ path: path.join(shots, "download-logs.png") });
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download Logs (zip)" }).click(),
  ]);
  const saved = path.join(__dirname, "..", ".data", "logs.zip");
  await download.saveAs(saved);
  const zip = fs.readFileSync(saved);
  expect(zip.subarray(0, 2).toString()).toBe("PK");
  expect(zip.includes(Buffer.from("guest.log"))).toBeTruthy();
  expect(zip.includes(Buffer.from("mailroom.log"))).toBeTruthy();
});
