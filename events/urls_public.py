from django.urls import path

from events import views_public

app_name = "public"
urlpatterns = [
    path("", views_public.occurrence_list, name="occurrence_list"),
    path("events/<int:pk>/", views_public.occurrence_detail, name="occurrence_detail"),
    path("programmes/<int:pk>/", views_public.programme_detail, name="programme_detail"),
    path("venues/", views_public.venue_list, name="venue_list"),
    path("venues/<slug:slug>/", views_public.venue_detail, name="venue_detail"),
]
