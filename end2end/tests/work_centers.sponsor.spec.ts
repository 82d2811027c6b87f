import { expect, test, type Page } from "@playwright/test";
import * as path from "node:path";
import { ADMIN_PASSWORD, TOKEN_PORT, hydrated, postFromPage, signInOk } from "./helpers";

// The sponsor portal. Sorts after work_centers.spec.ts ("spec" < "sponsor"), which set the guest
// email From address to the SMTP Server page's mailbox; foundation.spec.ts
// made the Read-Only admin "auditor".
test.describe.configure({ mode: "serial" });

const shots = process.env.SCREENSHOTS ? path.resolve(__dirname, "..", "..", "docs") : null;
const SPONSOR_PASSWORD = "Sp0nsor-Passw0rd";
const SPONSOR_GROUPS = "/work-centers/guest-access/portals-components/sponsor-groups";

type Received = { to: string[]; from: string; subject: string; raw?: string };

async function receivedBy(address: string): Promise<Received[]> {
  const response = await fetch(`http://127.0.0.1:${TOKEN_PORT}/_messages`);
  return ((await response.json()) as Received[]).filter((m) => m.to.includes(address));
}

async function addSponsor(page: Page, username: string, group: string) {
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Full name").fill(`${username} Sponsor`);
  await page.getByLabel("Email", { exact: true }).fill(`${username}@contoso.com`);
  await page.getByLabel("Password", { exact: true }).fill(SPONSOR_PASSWORD);
  await page.getByLabel("Sponsor group").selectOption({ label: group });
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await expect(page.getByRole("table", { name: "Sponsor users" }).getByRole("cell", { name: username, exact: true })).toBeVisible();
}

async function sponsorSignIn(page: Page, username: string) {
  await page.goto("/sponsor/login");
  await hydrated(page);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(SPONSOR_PASSWORD);
  await page.getByRole("button", { name: "Sign On" }).click();
  await expect(page.getByRole("link", { name: "Create Accounts" })).toBeVisible();
  await hydrated(page);
}

test("an admin sets up sponsor groups and sponsor users", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 1000 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.getByLabel("Menu", { exact: true }).click();
  await page.getByRole("link", { name: "Sponsor Groups" }).click();
  await expect(page.getByRole("heading", { name: "Sponsor Groups", level: 1 })).toBeVisible();
  await hydrated(page);

  // OWN_ACCOUNTS loses Resend.
  const own = page.getByRole("region", { name: "OWN_ACCOUNTS (default)" });
  await own.getByLabel("Resend credentials").uncheck();
  await own.getByRole("button", { name: "Save" }).click();
  await expect(own.getByRole("status")).toHaveText("Saved.");

  await addSponsor(page, "sponsor1", "ALL_ACCOUNTS (default)");
  await addSponsor(page, "limited", "OWN_ACCOUNTS (default)");
  await expect(page.getByLabel("Username", { exact: true })).toHaveValue("");
  await page.evaluate(() => window.scrollTo(0, 0));
  if (shots) await page.screenshot({ path: path.join(shots, "sponsor-groups.png") });
});

test("a Read-Only admin cannot change sponsor groups", async ({ page }) => {
  await signInOk(page, "auditor", "Aud1tor-Passw0rd");
  const response = await postFromPage(page, "/api/save_sponsor_group", {
    id: "1", "permissions[can_create]": "true", "permissions[scope]": "All",
  });
  expect(response.status).toBe(403);
  const created = await postFromPage(page, "/api/create_sponsor_user", {
    "form[username]": "intruder", "form[email]": "i@example.com", "form[password]": SPONSOR_PASSWORD, "form[group_id]": "1",
  });
  expect(created.status).toBe(403);
});

test("a sponsor imports 50 guests, resends to three, and Resend on a Suspended account is refused", async ({ page }) => {
  await page.setViewportSize({ width: 1360, height: 1000 });
  await sponsorSignIn(page, "sponsor1");
  await page.getByLabel("Guest type").selectOption({ label: "Weekly (default)" });
  await expect(page.getByLabel("Duration (days)")).toHaveValue("7");
  await page.getByLabel("Import (CSV)").check();
  let csv = "First Name,Last Name,Email Address,Company\n";
  for (let n = 0; n < 50; n++) csv += `Visitor,Number${n},e2e-guest${n}@example.com,Acme & Co\n`;
  await page.getByLabel("CSV file").setInputFiles({ name: "guests.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await expect(page.getByLabel("Guests (CSV)")).toHaveValue(/e2e-guest49@example.com/);
  await page.getByRole("button", { name: "Create" }).click();
  const created = page.getByRole("region", { name: "Created accounts" });
  await expect(created.getByRole("heading")).toHaveText("Created 50 guest account(s)");
  await expect(created.getByRole("status")).toContainText("50 of 50 sent", { timeout: 30_000 });
  if (shots) await page.screenshot({ path: path.join(shots, "sponsor-create.png") });
  expect((await receivedBy("e2e-guest0@example.com")).length).toBe(1);

  await page.getByRole("link", { name: "Manage Accounts" }).click();
  const table = page.getByRole("table", { name: "Guest accounts" });
  await page.getByLabel("Search guests").fill("e2e-guest");
  await expect(table.getByText("50 guest account(s)")).toBeVisible();
  for (const n of [47, 48, 49]) await table.getByLabel(`Select e2e-guest${n}`).check();
  await page.getByRole("button", { name: "Resend", exact: true }).click();
  await expect(page.getByRole("status").filter({ hasText: "Credentials resent to 3 account(s)" })).toBeVisible();
  for (const n of [47, 48, 49]) {
    await expect.poll(async () => (await receivedBy(`e2e-guest${n}@example.com`)).length, { timeout: 20_000 }).toBe(2);
  }
  expect((await receivedBy("e2e-guest46@example.com")).length).toBe(1);

  // Suspend one, then Resend: refused with ISE's rule, nothing sent.
  await table.getByLabel("Select e2e-guest46").check();
  await page.getByRole("button", { name: "Suspend" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Suspended 1 account(s): e2e-guest46" })).toBeVisible();
  await expect(table.getByRole("row").filter({ hasText: "e2e-guest46" })).toContainText("Suspended");
  await table.getByLabel("Select e2e-guest46").check();
  await page.getByRole("button", { name: "Resend", exact: true }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Resend is possible only for Created or Active accounts; this account is Suspended." })).toBeVisible();
  if (shots) await page.screenshot({ path: path.join(shots, "sponsor-manage.png") });
  expect((await receivedBy("e2e-guest46@example.com")).length).toBe(1);
});

test("a sponsor whose group may not resend is refused on the server", async ({ page }) => {
  await sponsorSignIn(page, "limited");
  await page.getByLabel("Random accounts").check();
  await page.getByLabel("Number of accounts").fill("2");
  await page.getByLabel("Username prefix").fill("lim");
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("table", { name: "New credentials" }).getByRole("cell", { name: "lim001" })).toBeVisible();

  await page.getByRole("link", { name: "Manage Accounts" }).click();
  const table = page.getByRole("table", { name: "Guest accounts" });
  await expect(table.getByText("2 guest account(s)")).toBeVisible();
  await table.getByLabel("Select lim001").check();
  await expect(page.getByRole("button", { name: "Resend", exact: true })).toBeDisabled();
  // The button is only a hint: the server itself refuses.
  const rows = await postFromPage(page, "/api/sponsor_guests", { search: "lim001", state: "", page: "1" });
  const id = JSON.parse(rows.body).rows[0].id;
  const response = await postFromPage(page, "/api/sponsor_guest_action", { "ids[0]": String(id), action: "Resend" });
  expect(response.status).toBe(403);
});
