"""The text message of the back office: a staff member's enrolment link, to their own work phone."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from kartosfera.backoffice.checks import BACKOFFICE_BASE_URL_MAX_LENGTH
from kartosfera.notifications.texts import sms_template

# The longest link: the longest BACKOFFICE_BASE_URL the check allows, the path and a 43-character token.
LONGEST_ENROLMENT_LINK = (
    "https://" + "w" * (BACKOFFICE_BASE_URL_MAX_LENGTH - len("https://")) + "/backoffice/enrol/" + "A" * 43 + "/"
)

# [ASVS 5.0 6.4.6] The link reaches the member alone: nobody who starts an enrolment sees it. Few words, so
# that the link fits one segment with the longest address (backoffice/checks.py).
SMS_STAFF_ENROLMENT = sms_template(
    "backoffice.staff.enrolment",
    gettext_lazy("Kartosfera back office: set password and app (%(hours)s h): %(link)s"),
    examples=lambda: [{"hours": 24, "link": LONGEST_ENROLMENT_LINK}],
)
