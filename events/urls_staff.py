from django.urls import path

from events import views_staff

app_name = "staff"
urlpatterns = [
    path("", views_staff.home, name="home"),
    path("venues/<slug:slug>/", views_staff.venue_detail, name="venue_detail"),
    path("venues/<slug:slug>/programmes/new/", views_staff.programme_create, name="programme_create"),
    path("programmes/<int:pk>/", views_staff.programme_detail, name="programme_detail"),
    path("programmes/<int:pk>/edit/", views_staff.programme_edit, name="programme_edit"),
    path("programmes/<int:pk>/publish/", views_staff.programme_publish, name="programme_publish"),
    path("programmes/<int:pk>/unpublish/", views_staff.programme_unpublish, name="programme_unpublish"),
    path("programmes/<int:pk>/cancel/", views_staff.programme_cancel, name="programme_cancel"),
    path("occurrences/<int:pk>/cancel/", views_staff.occurrence_cancel, name="occurrence_cancel"),
    path("occurrences/<int:pk>/restore/", views_staff.occurrence_restore, name="occurrence_restore"),
    path("occurrences/<int:pk>/move/", views_staff.occurrence_move, name="occurrence_move"),
    path("occurrences/<int:pk>/capacity/", views_staff.occurrence_capacity, name="occurrence_capacity"),
]
