from __future__ import annotations

from django.urls import path

from kartosfera.acs import views

app_name = "acs"
urlpatterns = [
    # The acsURL of the ARes (no trailing slash: 3DS servers post to it exactly as given).
    path("challenge", views.challenge, name="challenge"),
    path("challenge/<uuid:acs_trans_id>/", views.challenge_step, name="challenge_step"),
]
