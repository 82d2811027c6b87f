"""A sponsor's workflow through Cisco's own ciscoisesdk, unchanged, against
the console's ERS API. Exits non-zero with the reason on the first
difference; tests/ers.rs runs it and then checks the emails that arrived."""

import datetime
import os
import sys

from ciscoisesdk import IdentityServicesEngineAPI
from ciscoisesdk.exceptions import ApiError

BASE = os.environ["ERS_BASE_URL"]
VERSION = os.environ["ERS_VERSION"]
CSRF = os.environ.get("ERS_CSRF") == "1"
TAG = os.environ["ERS_TAG"]


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def refused(status, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ApiError as error:
        check(error.status_code == status, f"{getattr(call, '__name__', call)} answered {error.status_code}, not {status}: {error}")
        return str(error)
    check(False, f"{getattr(call, '__name__', call)} was not refused with {status}")


api = IdentityServicesEngineAPI(
    username=os.environ["ERS_USER"],
    password=os.environ["ERS_PASSWORD"],
    base_url=BASE,
    uses_api_gateway=True,
    version=VERSION,
    verify=False,
    uses_csrf_token=CSRF,
    debug=False,
)

if VERSION.startswith("3.5"):
    # 3.5.0 renames the families and their calls.
    class Ops:
        type_create = api.guesttype.create_guesttype
        type_get = api.guesttype.get_guesttype_by_id
        type_update = api.guesttype.update_guesttype_by_id
        type_delete = api.guesttype.delete_guesttype_by_id
        portals = api.sponsorportal.get_sponsorportal
        guest_create = api.guestuser.create_guestuser
        guest_get = api.guestuser.get_guestuser_by_id
        guest_by_name = api.guestuser.get_guestuser_name_by_name
        guests = api.guestuser.get_guestuser
        guests_generator = api.guestuser.get_guestuser_generator
        guest_suspend = api.guestuser.update_guestuser_suspend_by_id
        guest_reinstate = api.guestuser.update_guestuser_reinstate_by_id
        guest_reset = api.guestuser.update_guestuser_resetpassword_by_id
        guest_update = api.guestuser.update_guestuser_by_id
        guest_delete = api.guestuser.delete_guestuser_by_id
        guest_delete_by_name = api.guestuser.delete_guestuser_name_by_name
        smtp_list = api.guestsmtpnotificationsettings.get_guestsmtpnotificationsettings
        smtp_get = api.guestsmtpnotificationsettings.get_guestsmtpnotificationsettings_by_id
        smtp_update = api.guestsmtpnotificationsettings.update_guestsmtpnotificationsettings_by_id
        smtp_create = api.guestsmtpnotificationsettings.create_guestsmtpnotificationsettings

        @staticmethod
        def guest_email(id, portal_id, **_):
            return api.guestuser.update_guestuser_email_portalid_by_id(id, portal_id)
else:
    class Ops:
        type_create = api.guest_type.create_guest_type
        type_get = api.guest_type.get_guest_type_by_id
        type_update = api.guest_type.update_guest_type_by_id
        type_delete = api.guest_type.delete_guest_type_by_id
        portals = api.sponsor_portal.get_sponsor_portal
        guest_create = api.guest_user.create_guest_user
        guest_get = api.guest_user.get_guest_user_by_id
        guest_by_name = api.guest_user.get_guest_user_by_name
        guests = api.guest_user.get_guest_users
        guests_generator = api.guest_user.get_guest_users_generator
        guest_email = api.guest_user.update_guest_user_email
        guest_suspend = api.guest_user.suspend_guest_user_by_id
        guest_reinstate = api.guest_user.reinstate_guest_user_by_id
        guest_reset = api.guest_user.reset_guest_user_password_by_id
        guest_update = api.guest_user.update_guest_user_by_id
        guest_delete = api.guest_user.delete_guest_user_by_id
        guest_delete_by_name = api.guest_user.delete_guest_user_by_name
        smtp_list = api.guest_smtp_notification_configuration.get_guest_smtp_notification_settings
        smtp_get = api.guest_smtp_notification_configuration.get_guest_smtp_notification_settings_by_id
        smtp_update = api.guest_smtp_notification_configuration.update_guest_smtp_notification_settings_by_id
        smtp_create = api.guest_smtp_notification_configuration.create_guest_smtp_notification_settings

# A guest type with an expiry notice.
type_name = f"ERS {TAG}"
created = Ops.type_create(
    name=type_name,
    description="Made through ciscoisesdk",
    is_default_type=False,
    access_time={"fromFirstLogin": False, "maxAccountDuration": 5, "durationTimeUnit": "DAYS",
                 "defaultDuration": 1, "allowAccessOnSpecificDaysTimes": False},
    login_options={"limitSimultaneousLogins": True, "maxSimultaneousLogins": 2,
                   "failureAction": "Disconnect_Oldest_Connection", "allowGuestPortalBypass": False},
    expiration_notification={"enableNotification": True, "advanceNotificationDuration": 2,
                             "advanceNotificationUnits": "HOURS", "sendEmailNotification": True,
                             "sendSmsNotification": False,
                             "emailText": "Hello $ui_first_name$, your access ends soon."},
    sponsor_groups=["ALL_ACCOUNTS (default)"],
)
check(created.status_code == 201, f"guest type create answered {created.status_code}")
type_id = created.headers["Location"].rsplit("/", 1)[1]
guest_type = Ops.type_get(type_id).response.GuestType
check(guest_type.name == type_name, f"guest type name {guest_type.name}")
check(guest_type.accessTime.maxAccountDuration == 5, "maxAccountDuration")
check(guest_type.expirationNotification.advanceNotificationUnits == "HOURS", "notice units")
# A partial update keeps the rest.
updated = Ops.type_update(type_id, description="Changed through ciscoisesdk")
fields = [f.field for f in updated.response.UpdatedFieldsList.updatedField]
check(fields == ["description"], f"guest type update changed {fields}")
check(Ops.type_get(type_id).response.GuestType.accessTime.maxAccountDuration == 5,
      "a partial update lost maxAccountDuration")

portals = Ops.portals().response.SearchResult
check(portals.total == 1, f"{portals.total} sponsor portals")
portal_id = portals.resources[0].id

# Five guests with addresses; the first is the one the workflow follows.
now = datetime.datetime.now(datetime.timezone.utc)
from_date = now.strftime("%m/%d/%Y %H:%M")
to_date = (now + datetime.timedelta(days=1)).strftime("%m/%d/%Y %H:%M")
ids = []
for n in range(5):
    reply = Ops.guest_create(
        guest_type=type_name,
        portal_id=portal_id,
        reason_for_visit="Acceptance",
        guest_info={"userName": f"ada{n}.{TAG}", "firstName": "Ada", "lastName": "Lovelace",
                    "emailAddress": f"ada.lovelace+{TAG}{n}@example.com", "company": "Analytical Engines",
                    "phoneNumber": "+13211239034"},
        guest_access_info={"validDays": 1, "fromDate": from_date, "toDate": to_date, "location": "San Jose"},
    )
    check(reply.status_code == 201, f"guest create answered {reply.status_code}")
    ids.append(reply.headers["Location"].rsplit("/", 1)[1])
guest_id = ids[0]
guest = Ops.guest_get(guest_id).response.GuestUser
check(guest.name == f"ada0.{TAG}", f"guest name {guest.name}")
check(guest.status == "AWAITING_INITIAL_LOGIN", f"status {guest.status}")
check(guest.guestAccessInfo.location == "San Jose", "location")
by_name = Ops.guest_by_name(f"ada0.{TAG}").response.GuestUser
check(by_name.id == guest_id, "by name gives another guest")
refused(400, Ops.guest_create, guest_type=type_name,
        guest_info={"userName": f"bad.{TAG}", "emailAddress": "not-an-email"})

# A dotted filter with a '+', paged by the SDK's generator two at a time.
seen = []
for page in Ops.guests_generator(filter=[f"emailAddress.CONTAINS.+{TAG}"], size=2):
    seen.extend(item.id for item in page.response.SearchResult.resources)
check(sorted(seen) == sorted(ids), f"the generator gave {len(seen)} guests: {seen}")
none = Ops.guests(filter=[f"name.EQ.nobody.{TAG}"]).response.SearchResult
check(none.total == 0 and len(none.resources) == 0, "an empty search")

# Resend the credentials with the portal's template, suspend, reinstate.
Ops.guest_email(guest_id, portal_id,
                                       additional_data=[{"name": "senderEmail", "value": "sponsor@example.com"}])
Ops.guest_suspend(guest_id, additional_data=[{"name": "reason", "value": "acceptance"}])
check(Ops.guest_get(guest_id).response.GuestUser.status == "SUSPENDED", "not suspended")
refused(400, Ops.guest_email, guest_id, portal_id)
Ops.guest_reinstate(guest_id)
check(Ops.guest_get(guest_id).response.GuestUser.status != "SUSPENDED", "still suspended")
reset = Ops.guest_reset(guest_id).response.OperationResult.resultValue[0]
check(reset.name == "password" and len(reset.value) >= 8, "reset password gave no password")
changed = Ops.guest_update(guest_id, guest_info={"company": "Difference Engines"})
check([f.field for f in changed.response.UpdatedFieldsList.updatedField] == ["guestInfo.company"],
      "guest update fields")
for other in ids[1:]:
    Ops.guest_delete(other)
Ops.guest_delete_by_name(f"ada0.{TAG}")
refused(404, Ops.guest_get, guest_id)
refused(404, Ops.guest_by_name, f"ada0.{TAG}")

# The SMTP settings: read, a partial update that Test Connection checks first.
settings = Ops.smtp_list().response.SearchResult
check(settings.total == 1, "one SMTP record")
smtp_id = settings.resources[0].id
smtp = Ops.smtp_get(smtp_id).response
record = smtp.ERSGuestSmtpNotificationSettings
check("password" not in record, "the password came back")
timeout = "61" if record.connectionTimeout != "61" else "62"
update = Ops.smtp_update(
    smtp_id, connection_timeout=timeout)
check([f.field for f in update.response.UpdatedFieldsList.updatedField] == ["connectionTimeout"], "smtp update")
after = Ops.smtp_get(smtp_id).response
check(after.ERSGuestSmtpNotificationSettings.connectionTimeout == timeout, "timeout not saved")
check(after.ERSGuestSmtpNotificationSettings.smtpServer == record.smtpServer, "a partial update lost smtpServer")
refused(400, Ops.smtp_update,
        smtp_id, smtp_port="smtp")
refused(400, Ops.smtp_create,
        smtp_server="smtp.example.com")

Ops.type_delete(type_id)
refused(404, Ops.type_get, type_id)
print(f"OK {VERSION} csrf={CSRF}")
