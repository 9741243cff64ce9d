from __future__ import annotations

from django.urls import path

from kartosfera.profile import views
from kartosfera.users import session_timeout

app_name = "profile"
urlpatterns = [
    path("", views.index, name="index"),
    path("password/", views.password, name="password"),
    path("login/", views.own_login, name="login"),
    path("phone/", views.phone, name="phone"),
    path("block/", views.block, name="block"),
    path("sessions/", views.sessions, name="sessions"),
    path("sessions/others/end/", views.sessions_end_others, name="sessions_end_others"),
    path("sessions/<uuid:public_id>/end/", views.session_end, name="session_end"),
    path("passkeys/", views.passkeys, name="passkeys"),
    path("passkeys/add/", views.passkey_add, name="passkey_add"),
    path("passkeys/add/create/", views.passkey_create, name="passkey_create"),
    path("passkeys/only/", views.passkey_only, name="passkey_only"),
    path("passkeys/<uuid:public_id>/remove/", views.passkey_remove, name="passkey_remove"),
    path("notifications/", views.notifications, name="notifications"),
    # The session warning's endpoints (kartosfera/users/session_timeout.py).
    path("session/", session_timeout.session_status, name="session_status"),
    path("session/extend/", session_timeout.session_extend, name="session_extend"),
]
