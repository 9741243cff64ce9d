"""The enrolment link the staff-account commands print."""

from __future__ import annotations

from django.urls import reverse

SITE_HELP = "The site's address to print the link with (e.g. https://karty.example.pl); omitted: the path alone."


def enrolment_link(token: str, *, site: str = "") -> str:
    """The back office's enrolment page for ``token``, after ``site`` (the public address) when given."""
    return site.rstrip("/") + reverse("backoffice:enrol_start", args=[token])
