"""The writes of decline notices: the card core's hook and the holder's switch (docs/decline-notices.md)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation

from kartosfera.cards.models import Card
from kartosfera.core.audit import Actor, audit_record
from kartosfera.customers.models import Customer
from kartosfera.notices.controls import notice_control_name
from kartosfera.notices.models import DeclineNotice, NoticePreference
from kartosfera.notices.sms_texts import decline_sms, sms_amount
from kartosfera.notifications.services import sms_send
from kartosfera.notifications.texts import sms_bank_name
from kartosfera.processing.models import Authorization

# At most one SMS per card and control in any sliding hour: a holder whose phone is refused at
# the till five times in a row learns it once; the portal lists every one.
SMS_INTERVAL = dt.timedelta(hours=1)
# A decision this far behind the clock (a back-filled history, simulation.py) gets its portal entry
# but no SMS: a text about a payment long past would only alarm its holder.
SMS_MAX_DELAY = dt.timedelta(minutes=15)
SMS_PURPOSE = "notices.decline"


def decline_notice_record(*, authorization: Authorization, card: Card, now: dt.datetime) -> DeclineNotice | None:
    """The card core's hook, in the decision's transaction (the card's row is locked): a holder's control
    declined ``authorization`` → a notice for the portal and, when due, an SMS queued for after the commit.

    Nothing at all (no query) for an approval or any other decline. Because the decision holds the
    card's lock, two declines of one card run here one after the other and the second sees the
    first's notice: the rate limit's look-up is exact without a constraint of its own.
    """
    if authorization.approved:
        return None
    control = notice_control_name(authorization.decline_reason)
    if control is None:
        return None
    recent_sms = DeclineNotice.objects.filter(
        card=OuterRef("pk"),
        control=authorization.decline_reason,
        sms__isnull=False,
        created_at__gt=now - SMS_INTERVAL,
    )
    switched_off = NoticePreference.objects.filter(customer=OuterRef("customer_id"), decline_sms=False)
    # One query: the bank (the sender's name), the holder and their portal account (the phone), and the two answers.
    row = (
        Card.objects.select_related("bank", "customer__portal_user")
        .annotate(recent_sms=Exists(recent_sms), switched_off=Exists(switched_off))
        .get(pk=card.pk)
    )
    sms = None
    if not row.recent_sms and not row.switched_off and abs(timezone.now() - now) <= SMS_MAX_DELAY:
        from kartosfera.users.services import holder_phone

        phone = holder_phone(row.customer)
        if phone:
            # The bank's language: the holder's own is not known outside a page (as processing/cbpr2.py).
            with translation.override(settings.LANGUAGE_CODE):
                message = decline_sms(
                    bank=sms_bank_name(row.bank),
                    last4=row.pan_last4,
                    amount=sms_amount(authorization.amount_minor, authorization.currency),
                    merchant=authorization.merchant_name,
                    control=control,
                )
            sms = sms_send(to=phone, message=message, purpose=SMS_PURPOSE, bank=row.bank)
    return DeclineNotice.objects.create(
        card=card, authorization=authorization, control=authorization.decline_reason, sms=sms, created_at=now
    )


@transaction.atomic
def decline_sms_set(*, actor: Actor, customer: Customer, enabled: bool) -> NoticePreference:
    """Switch the text messages about payments declined by the holder's own settings on or off.

    No SMS confirmation: the message only informs and moves no money; the card page lists the
    declines either way. Audited only when it changes.
    """
    # The customer's row serializes two switches at once (the preference row may not exist yet).
    Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True).get()
    preference, _created = NoticePreference.objects.get_or_create(customer_id=customer.pk)
    if preference.decline_sms != enabled:
        before = preference.decline_sms
        preference.decline_sms = enabled
        preference.save(update_fields=["decline_sms", "updated_at"])
        audit_record(
            actor=actor,
            action="notices.decline_sms.changed",
            obj=preference,
            customer_id=customer.pk,
            before={"enabled": before},
            after={"enabled": enabled},
        )
    return preference
