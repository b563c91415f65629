from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("config.api_urls")),
    path("staff/attendance/", include("attendance.urls_staff")),
    path("staff/messages/", include("notifications.urls_staff")),
    path("staff/targets/", include("targets.urls")),
    path("staff/", include("events.urls_staff")),
    path("calendar/", include("events.urls_feeds")),
    path("door/", include("attendance.urls_door")),
    path("sms/optout/", include("notifications.urls_optout")),
    path("sms/", include("notifications.urls")),
    path("", include("attendance.urls")),
    path("", include("events.urls_public")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
