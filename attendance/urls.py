from django.urls import path

from attendance import views

app_name = "attendance"
urlpatterns = [
    path("events/<int:pk>/register/", views.register, name="register"),
    path("t/<str:secret>/", views.ticket_detail, name="ticket"),
    path("t/<str:secret>/qr.png", views.ticket_qr_png, name="ticket_qr_png"),
    path("t/<str:secret>/qr.svg", views.ticket_qr_svg, name="ticket_qr_svg"),
    path("t/<str:secret>/cancel/", views.ticket_cancel, name="ticket_cancel"),
    path("tickets/", views.ticket_lookup_start, name="ticket_lookup_start"),
    path("tickets/sent/", views.ticket_lookup_sent, name="ticket_lookup_sent"),
    path("tickets/<str:token>/", views.ticket_lookup, name="ticket_lookup"),
]
