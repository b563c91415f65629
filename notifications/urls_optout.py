from django.urls import path

from notifications import optout

app_name = "sms_optout"
urlpatterns = [
    path("<str:token>/", optout.optout, name="optout"),
]
