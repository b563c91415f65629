from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AttendanceConfig(AppConfig):
    name = "attendance"
    verbose_name = _("Attendance")

    def ready(self):
        from attendance import (
            door_auth,  # noqa: F401  (connects its signal receivers)
            schema,  # noqa: F401  (registers its OpenAPI extension)
        )
