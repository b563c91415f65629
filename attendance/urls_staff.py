from django.urls import path

from attendance import views_staff

app_name = "staff_attendance"
urlpatterns = [
    path("occurrences/<int:pk>/registrations/", views_staff.registration_list, name="registrations"),
    path("occurrences/<int:pk>/registrations/desk/", views_staff.registration_desk, name="registration_desk"),
    path("occurrences/<int:pk>/attendance/", views_staff.manual_attendance, name="manual_attendance"),
    path("occurrences/<int:pk>/registrations.csv", views_staff.registrations_csv, name="registrations_csv"),
    path("occurrences/<int:pk>/registrations.xlsx", views_staff.registrations_xlsx, name="registrations_xlsx"),
    path("registrations/<int:pk>/cancel/", views_staff.registration_cancel, name="registration_cancel"),
    path("registrations/<int:pk>/approve/", views_staff.registration_approve, name="registration_approve"),
    path("registrations/<int:pk>/decline/", views_staff.registration_decline, name="registration_decline"),
]
