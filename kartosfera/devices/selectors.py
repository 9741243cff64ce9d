"""Reads of BS Pay devices, always through their owner."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import Http404

from kartosfera.customers.models import Customer
from kartosfera.devices.models import AppDevice, DeviceActivationCode


def device_list_for_customer(*, customer: Customer) -> QuerySet[AppDevice]:
    """The customer's devices, newest activation first."""
    return AppDevice.objects.filter(customer=customer).order_by("-activated_at", "-pk")


def device_get_for_customer(*, customer: Customer, public_id: uuid.UUID | str) -> AppDevice:
    """One device of ``customer``; anybody else's (or none) is a 404."""
    try:
        return AppDevice.objects.get(customer=customer, public_id=public_id)
    except (AppDevice.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def activation_code_get_for_customer(*, customer: Customer, public_id: uuid.UUID | str) -> DeviceActivationCode:
    """One activation code of ``customer``; anybody else's is a 404."""
    try:
        return DeviceActivationCode.objects.get(customer=customer, public_id=public_id)
    except (DeviceActivationCode.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
