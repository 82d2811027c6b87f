import { expect, test } from "@playwright/test";
import * as path from "node:path";
import { ADMIN_PASSWORD, hydrated, signInOk } from "./helpers";

// Named to run after work_centers.sponsor.spec.ts, which added sponsor1.
const SMTP = "/administration/system/settings/smtp-server";
const MAIL_QUEUE = "/operations/mail-queue/outbound-email/mail-queue";
const SPONSOR_PASSWORD = "Sp0nsor-Passw0rd";
const shots = process.env.SCREENSHOTS ? path.resolve(__dirname, "..", "..", "docs") : null;

async function setLimits(page: import("@playwright/test").Page, perMinute: string) {
  await page.goto(SMTP);
  await hydrated(page);
  const limits = page.getByRole("region", { name: "Sending limits" });
  await limits.getByLabel("Max concurrent connections").fill("3");
  await limits.getByLabel("Messages per minute").fill(perMinute);
  await limits.getByLabel("Recipients per 24 hours").fill("0");
  await limits.getByLabel("Recipients per message").fill("0");
  await limits.getByRole("button", { name: "Apply Sending Limits" }).click();
  await expect(limits.getByRole("status").filter({ hasText: "The sending limits were saved." })).toBeVisible();
}

test("the sponsor's bulk progress shows an ETA at the mailbox's configured pace", async ({ page, browser }) => {
  await page.setViewportSize({ width: 1360, height: 1000 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await setLimits(page, "60");
  if (shots) {
    await page.setViewportSize({ width: 1280, height: 3200 });
    await page.screenshot({ path: path.join(shots, "sending-limits.png") });
    await page.setViewportSize({ width: 1360, height: 1000 });
  }

  // The sponsor, in a browser of its own.
  const sponsor = await (await browser.newContext({ viewport: { width: 1360, height: 1000 } })).newPage();
  await sponsor.goto("/sponsor/login");
  await hydrated(sponsor);
  await sponsor.getByLabel("Username").fill("sponsor1");
  await sponsor.getByLabel("Password").fill(SPONSOR_PASSWORD);
  await sponsor.getByRole("button", { name: "Sign On" }).click();
  await expect(sponsor.getByRole("link", { name: "Create Accounts" })).toBeVisible();
  await hydrated(sponsor);
  await sponsor.getByLabel("Import (CSV)").check();
  let csv = "First Name,Last Name,Email Address,Company\n";
  for (let n = 0; n < 20; n++) csv += `Paced,Number${n},e2e-paced${n}@example.com,Acme\n`;
  await sponsor.getByLabel("Guests (CSV)").fill(csv);
  // Before the batch: how long it will take at this pace.
  await expect(sponsor.getByTestId("batch-pace")).toHaveText("The mailbox sends 60 emails a minute: these 20 take about 21 s.");
  await sponsor.getByRole("button", { name: "Create" }).click();
  const created = sponsor.getByRole("region", { name: "Created accounts" });
  await expect(created.getByRole("heading")).toHaveText("Created 20 guest account(s)");

  // While it drains: sent of total, and seconds left at 60 a minute (about one a second).
  const eta = created.getByTestId("email-eta");
  await expect(eta).toContainText("left at 60 a minute");
  const seconds = Number(((await eta.textContent()) ?? "").match(/about (\d+) s/)?.[1]);
  const status = (await created.getByRole("status").textContent()) ?? "";
  const sent = Number(status.match(/(\d+) of 20 sent/)?.[1]);
  expect(seconds).toBeGreaterThanOrEqual(20 - sent - 3);
  expect(seconds).toBeLessThanOrEqual(20 - sent + 3);
  if (shots) await sponsor.screenshot({ path: path.join(shots, "sponsor-pacing.png") });

  // The Mail Queue shows the pace and what waits.
  await page.goto(MAIL_QUEUE);
  await hydrated(page);
  await expect(page.getByTestId("pace")).toHaveText("60 a minute");
  if (shots) await page.screenshot({ path: path.join(shots, "mail-queue-pacing.png") });

  await expect(created.getByRole("status")).toContainText("20 of 20 sent", { timeout: 45_000 });
  await setLimits(page, "0");
});
