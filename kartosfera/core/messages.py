"""Flash messages: Django's cookie-then-session storage, with the cookie under a name of our own.

Django's cookie storage always calls its cookie ``messages``; production names every cookie with the
``__Host-`` prefix (Secure, this host only, path /), so that neither plain http nor a sibling subdomain can
set or overwrite it (ASVS 3.3.1, 3.3.3). The cookie is signed and takes the session cookie's Secure,
HttpOnly and SameSite, as Django's does.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.messages.storage.session import SessionStorage


class NamedCookieStorage(CookieStorage):
    """Django's cookie storage under ``settings.MESSAGES_COOKIE_NAME``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cookie_name = settings.MESSAGES_COOKIE_NAME


class MessageStorage(FallbackStorage):
    """The cookie first, the session for what does not fit: Django's FallbackStorage with our cookie."""

    storage_classes = (NamedCookieStorage, SessionStorage)
