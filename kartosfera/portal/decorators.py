from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from kartosfera.customers.models import Customer
from kartosfera.users.models import User

P = ParamSpec("P")


def cardholder_required(
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Anonymous visitors go to the login page; signed-in users who are not cardholders get 403.

    Bank staff have no cards: the portal refuses them outright rather than
    showing an empty list, so a staff session can never wander into
    cardholder pages (least privilege).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        user = request.user
        if not isinstance(user, User) or not user.is_cardholder or user.customer_id is None:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def cardholder_user(request: HttpRequest) -> User:
    """The signed-in cardholder of a view behind ``cardholder_required`` (which has vetted the user)."""
    user = request.user
    if not isinstance(user, User) or user.customer is None:  # unreachable behind cardholder_required
        raise PermissionDenied
    return user


def cardholder_customer(request: HttpRequest) -> Customer:
    """The signed-in cardholder's customer record: every portal object is reached through it."""
    customer = cardholder_user(request).customer
    if customer is None:  # unreachable: cardholder_user checked it
        raise PermissionDenied
    return customer
