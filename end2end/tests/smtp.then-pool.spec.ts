import { expect, test } from "@playwright/test";
import * as path from "node:path";
import { ADMIN_PASSWORD, TOKEN_PORT, hydrated, signInOk } from "./helpers";

// Runs after smtp.spec.ts saved the OAuth SMTP settings. It leaves the pool
// empty again, so the specs after it send from the one mailbox.
const SMTP = "/administration/system/settings/smtp-server";
const MAILBOX = "noreply@contoso.onmicrosoft.com";
const POOLED = "guests1@contoso.onmicrosoft.com";
const shots = process.env.SCREENSHOTS ? path.resolve(__dirname, "..", "..", "docs") : null;

type Received = { to: string[]; from: string; user: string; subject: string };

test("a sender pool mailbox is added, proved with a test email sent as it, disabled and removed", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(SMTP);
  await hydrated(page);
  const pool = page.getByRole("region", { name: "Sender pool" });
  await expect(pool.getByRole("table", { name: "Sending mailboxes" })).toContainText(MAILBOX);
  await expect(pool.getByText("No further mailboxes")).toBeVisible();

  // Bad input is refused next to the field and adds nothing.
  const field = pool.getByLabel("Add mailbox");
  const add = pool.getByRole("button", { name: "Add Mailbox" });
  await field.fill("guests1");
  await add.click();
  await expect(pool.getByText("Enter the full address of an Exchange Online mailbox")).toBeVisible();
  await field.fill(MAILBOX);
  await add.click();
  await expect(pool.getByText("This is the SMTP Server's own mailbox")).toBeVisible();
  await expect(pool.getByText("No further mailboxes")).toBeVisible();

  await field.fill(POOLED);
  await add.click();
  await expect(pool.getByRole("status").filter({ hasText: "The mailbox joined the pool." })).toBeVisible();
  const row = pool.getByRole("row").filter({ hasText: POOLED });
  await expect(row).toContainText("Sending");

  // A test email From the pool mailbox, signed in as it.
  await pool.getByText("Send Test Email from a Pool Mailbox").click();
  await pool.getByLabel("From", { exact: true }).selectOption(POOLED);
  await pool.getByLabel("To", { exact: true }).fill("admin@example.com");
  await pool.getByRole("button", { name: "Send", exact: true }).click();
  await expect(pool.getByRole("status").filter({ hasText: "Delivered in" })).toContainText("250", { timeout: 20_000 });
  const messages = (await (await fetch(`http://127.0.0.1:${TOKEN_PORT}/_messages`)).json()) as Received[];
  // Signed in as the pool mailbox, and From it.
  const sent = messages.filter((m) => m.user === POOLED);
  expect(sent).toHaveLength(1);
  expect(sent[0].from).toBe(POOLED);
  expect(sent[0].to).toEqual(["admin@example.com"]);
  // The table counts the pool mailbox's send.
  await expect(row.getByRole("cell").nth(2)).toHaveText("1");
  if (shots) await pool.screenshot({ path: path.join(shots, "sender-pool.png") });

  await pool.getByRole("button", { name: `Disable ${POOLED}` }).click();
  await expect(row).toContainText("Disabled");
  await pool.getByRole("button", { name: `Remove ${POOLED}` }).click();
  const confirm = pool.getByRole("alertdialog", { name: "Confirm remove" });
  await expect(confirm).toContainText(`Remove ${POOLED} from the sender pool?`);
  await confirm.getByRole("button", { name: "Remove" }).click();
  await expect(pool.getByRole("status").filter({ hasText: "The mailbox left the pool." })).toBeVisible();
  await expect(pool.getByText("No further mailboxes")).toBeVisible();
});
