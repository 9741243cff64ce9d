"""Keys of what the sign-in and registration steps keep in the session (ids only, never a secret)."""

from __future__ import annotations

# {"user_id", "challenge" (public id), "next"}: between the password and the SMS code.
LOGIN_PENDING = "kartosfera.login"
# {"user_id", "next", "expires" (ISO datetime)}: between the password and the passkey (users with a passkey).
LOGIN_PASSKEY_PENDING = "kartosfera.login_passkey"
# {"customer_id", "challenge" (public id)}: between the registration steps.
REGISTRATION = "kartosfera.registration"
# {"previous_login" (ISO datetime or None), "failures"}: shown after sign-in, read without a query.
LOGIN_SUMMARY = "kartosfera.login_summary"
