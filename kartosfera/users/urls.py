from __future__ import annotations

from django.urls import path

from kartosfera.users import passkey_views, views

app_name = "users"
urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("login/passkey/", passkey_views.login_passkey, name="login_passkey"),
    path("logout/", views.logout, name="logout"),
    path("register/", views.register, name="register"),
    path("register/phone/", views.register_send, name="register_send"),
    path("register/activate/", views.register_activate, name="register_activate"),
    path("register/password/", views.register_password, name="register_password"),
    path("security/", views.security, name="security"),
    path("confirm/<uuid:public_id>/passkey/", passkey_views.stepup_passkey, name="stepup_passkey"),
]
