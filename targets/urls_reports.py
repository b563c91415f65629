"""URLs of the annual report pages (included by targets.urls under the `targets` namespace)."""

urlpatterns = []
