import { expect, test } from "@playwright/test";
import * as path from "node:path";
import { ADMIN_PASSWORD, TOKEN_PORT, hydrated, signInOk } from "./helpers";

// Self-registered guests approved by email. Runs after the other Work
// Centers specs (which register guests without approval) and turns
// approval off again at its end.
const shots = process.env.SCREENSHOTS ? path.resolve(__dirname, "..", "..", "docs") : null;
const PORTAL = "/work-centers/guest-access/portals-components/guest-portals/1";
const APPROVER = "front-desk@contoso.com";
const GUEST = "ada@example.com";
const LATE_GUEST = "bea@example.com";
const SPANISH_GUEST = "lucia@example.com";

type Received = { to: string[]; subject: string; raw?: string };

async function receivedBy(address: string): Promise<Received[]> {
  const response = await fetch(`http://127.0.0.1:${TOKEN_PORT}/_messages`);
  return ((await response.json()) as Received[]).filter((m) => m.to.includes(address));
}

/** The message's raw text with quoted-printable undone. */
function decoded(raw: string): string {
  return raw
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

async function setApproval(page: import("@playwright/test").Page, on: boolean) {
  await page.goto(PORTAL);
  await hydrated(page);
  const require = page.getByRole("switch", { name: "Require self-registered guests to be approved" });
  if (on) {
    await require.check();
    await page.getByLabel("Email approval request to").selectOption("listed");
    await page.getByLabel("Sponsor email addresses").fill(APPROVER);
  } else {
    await require.uncheck();
  }
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByRole("status").filter({ hasText: "The guest portal was saved." })).toBeVisible();
}

test("a self-registered guest waits for approval; the approver's link approves and the credentials arrive", async ({ page, browser }) => {
  await page.setViewportSize({ width: 1360, height: 1000 });
  await signInOk(page, "admin", ADMIN_PASSWORD);

  // Listed sponsors without an address are refused next to the field.
  await page.goto(PORTAL);
  await hydrated(page);
  await page.getByRole("switch", { name: "Require self-registered guests to be approved" }).check();
  await page.getByLabel("Email approval request to").selectOption("listed");
  await page.getByLabel("Sponsor email addresses").fill("");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#portal-approver-emails-error")).toContainText("at least one sponsor email address");
  await setApproval(page, true);

  // The approval request's template, previewed with its sample links.
  await page.getByRole("link", { name: "Portal Page Customization" }).click();
  const preview = page.getByRole("region", { name: "Approval request preview" });
  await expect(preview.getByTestId("approval_email-preview-text")).toContainText("Approve: https://mailroom.example.com/sponsor/approval/");
  if (shots) await page.screenshot({ path: path.join(shots, "portal-approval-email.png"), fullPage: true });

  // The guest registers and is told to wait.
  const guestContext = await browser.newContext();
  const guest = await guestContext.newPage();
  await guest.goto("/portal/1/self-registration");
  await hydrated(guest);
  await guest.getByLabel("First name").fill("Ada");
  await guest.getByLabel("Last name").fill("Lovelace");
  await guest.getByLabel("Email address").fill(GUEST);
  await guest.getByLabel("Company").fill("Analytical Engines");
  await guest.getByLabel("I agree to the terms and conditions").check();
  await guest.getByRole("button", { name: "Register" }).click();
  await expect(guest.getByRole("heading", { name: "Request sent" })).toBeVisible();
  await guestContext.close();

  // The approver's email carries the two links.
  let request: Received | undefined;
  await expect.poll(async () => (request = (await receivedBy(APPROVER))[0]) !== undefined, { timeout: 20_000 }).toBe(true);
  const links = [...decoded(request!.raw ?? "").matchAll(/\/sponsor\/approval\/([A-Za-z0-9_-]{20,})/g)].map((m) => m[1]);
  expect(links.length).toBeGreaterThanOrEqual(2);
  const [approve, deny] = links;
  expect(approve).not.toBe(deny);
  expect(await receivedBy(GUEST)).toEqual([]);

  // The approver opens the link in another browser: one click approves.
  const approverContext = await browser.newContext();
  const approver = await approverContext.newPage();
  await approver.goto(`/sponsor/approval/${approve}`);
  await hydrated(approver);
  await expect(approver.getByRole("heading", { name: "Approve guest access" })).toBeVisible();
  await expect(approver.getByRole("definition").filter({ hasText: GUEST })).toBeVisible();
  if (shots) await approver.screenshot({ path: path.join(shots, "guest-approval.png") });
  await approver.getByRole("button", { name: "Approve" }).click();
  await expect(approver.getByText(`Ada Lovelace was approved: the credentials were sent to ${GUEST}.`)).toBeVisible();

  // The deny link of the same request now does nothing.
  await approver.goto(`/sponsor/approval/${deny}`);
  await hydrated(approver);
  await expect(approver.getByText("This request was already handled")).toBeVisible();
  await expect(approver.getByRole("button", { name: "Deny" })).toHaveCount(0);
  await approverContext.close();

  await expect.poll(async () => (await receivedBy(GUEST)).length, { timeout: 20_000 }).toBe(1);
  const [credentials] = await receivedBy(GUEST);
  expect(decoded(credentials.raw ?? "")).toContain("ada");

  // Another guest waits; a sponsor (work_centers.sponsor.spec.ts made
  // sponsor1, whose group approves any request) denies it on the sponsor
  // portal's Pending Accounts with a reason, and the guest is told.
  const otherContext = await browser.newContext();
  const other = await otherContext.newPage();
  await other.goto("/portal/1/self-registration");
  await hydrated(other);
  await other.getByLabel("First name").fill("Bea");
  await other.getByLabel("Last name").fill("Kerr");
  await other.getByLabel("Email address").fill(LATE_GUEST);
  await other.getByLabel("I agree to the terms and conditions").check();
  await other.getByRole("button", { name: "Register" }).click();
  await expect(other.getByRole("heading", { name: "Request sent" })).toBeVisible();
  await otherContext.close();

  const sponsorContext = await browser.newContext();
  const sponsor = await sponsorContext.newPage();
  await sponsor.setViewportSize({ width: 1360, height: 800 });
  await sponsor.goto("/sponsor/login");
  await hydrated(sponsor);
  await sponsor.getByLabel("Username").fill("sponsor1");
  await sponsor.getByLabel("Password").fill("Sp0nsor-Passw0rd");
  await sponsor.getByRole("button", { name: "Sign On" }).click();
  await sponsor.getByRole("link", { name: "Pending Accounts" }).click();
  await hydrated(sponsor);
  const pending = sponsor.getByRole("table", { name: "Pending accounts" });
  await expect(pending.getByRole("cell", { name: LATE_GUEST, exact: true })).toBeVisible();
  await pending.getByLabel(`Select ${LATE_GUEST}`).check();
  await sponsor.getByRole("button", { name: "Deny", exact: true }).click();
  await sponsor.getByLabel("Reason for denying").fill("No visit booked today");
  if (shots) await sponsor.screenshot({ path: path.join(shots, "sponsor-pending-accounts.png") });
  await sponsor.getByRole("button", { name: "Deny Selected" }).click();
  await expect(sponsor.getByText("Denied 1 account(s): bea")).toBeVisible();
  await expect(pending.getByText("No guests are waiting for approval.")).toBeVisible();
  await sponsorContext.close();
  await expect.poll(async () => (await receivedBy(LATE_GUEST)).map((m) => m.subject), { timeout: 20_000 })
    .toEqual(["Your guest access request was not approved"]);

  await setApproval(page, false);
});

test("guest emails follow the guest's language; the customization preview switches language", async ({ page, browser }) => {
  await page.setViewportSize({ width: 1360, height: 1000 });
  await signInOk(page, "admin", ADMIN_PASSWORD);
  await page.goto(`${PORTAL}?tab=customization`);
  await hydrated(page);
  const preview = page.getByRole("region", { name: "Email preview" });
  // English as work_centers.spec.ts left it.
  const english = (await preview.getByTestId("preview-subject").textContent()) ?? "";
  expect(english).not.toBe("");
  await page.getByLabel("Language being edited").selectOption("es");
  await expect(preview.getByTestId("preview-subject")).toHaveText("Sus credenciales de acceso como invitado");
  await expect(preview.getByTestId("preview-text")).toContainText("Contraseña: Kx7#mQ2p");
  await expect(preview).toContainText("in Español");
  await page.evaluate(() => window.scrollTo(0, 0));
  if (shots) await page.screenshot({ path: path.join(shots, "portal-languages.png") });
  // A bad tag is refused next to its field and adds nothing.
  await page.getByLabel("Add a language").fill("not a tag");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await expect(page.getByText("Enter a language tag such as es")).toBeVisible();
  await page.getByLabel("Language being edited").selectOption("en");
  await expect(preview.getByTestId("preview-subject")).toHaveText(english);

  // A guest whose browser prefers Spanish gets the form and the email in
  // Spanish.
  const guestContext = await browser.newContext({ locale: "es-ES" });
  const guest = await guestContext.newPage();
  await guest.goto("/portal/1/self-registration");
  await hydrated(guest);
  await expect(guest.getByLabel("Idioma")).toHaveValue("es");
  await guest.getByLabel("Nombre", { exact: true }).fill("Lucía");
  await guest.getByLabel("Apellidos").fill("Pérez");
  await guest.getByLabel("Correo electrónico", { exact: true }).fill(SPANISH_GUEST);
  await guest.getByLabel("Acepto los términos y condiciones").check();
  await guest.getByRole("button", { name: "Registrarse" }).click();
  await expect(guest.getByRole("heading", { name: "Cuenta creada" })).toBeVisible();
  if (shots) await guest.screenshot({ path: path.join(shots, "self-registration-spanish.png") });
  // The sign-in page keeps the guest's language.
  await guest.getByRole("link", { name: "Iniciar sesión ahora" }).click();
  await expect(guest.getByRole("heading", { name: "Acceso de invitados" })).toBeVisible();
  await expect(guest.getByRole("button", { name: "Iniciar sesión" })).toBeVisible();
  await guestContext.close();
  await expect.poll(async () => (await receivedBy(SPANISH_GUEST)).length, { timeout: 20_000 }).toBe(1);
  const [mail] = await receivedBy(SPANISH_GUEST);
  expect(mail.raw ?? "").toMatch(/^Content-Language: es\r?$/m);
  expect(decoded(mail.raw ?? "")).toContain("Usuario: ");
});
