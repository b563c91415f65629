from django.urls import path

from attendance import views

app_name = "attendance"
urlpatterns = [
    path("t/<str:secret>/", views.ticket_detail, name="ticket"),
]
