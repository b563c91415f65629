from django.urls import path

from notifications import views_staff

app_name = "staff_messages"
urlpatterns = [
    path("venues/<slug:slug>/", views_staff.venue_log, name="venue_log"),
    path("venues/<slug:slug>/templates/", views_staff.template_list, name="template_list"),
    path(
        "venues/<slug:slug>/templates/<str:kind>/<str:language>/",
        views_staff.template_edit,
        name="template_edit",
    ),
    path(
        "venues/<slug:slug>/templates/<str:kind>/<str:language>/reset/",
        views_staff.template_reset,
        name="template_reset",
    ),
    path("venues/<slug:slug>/sms/", views_staff.sms_policy_edit, name="sms_policy"),
    path("occurrences/<int:pk>/", views_staff.occurrence_log, name="occurrence_log"),
    path("occurrences/<int:pk>/send/", views_staff.staff_message, name="staff_message"),
    path("<int:pk>/resend/", views_staff.message_resend, name="message_resend"),
]
