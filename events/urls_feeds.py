from django.urls import path

from events import views_feeds

app_name = "feeds"
urlpatterns = [
    path("all.ics", views_feeds.site_feed, name="site"),
    path("venue/<slug:slug>.ics", views_feeds.venue_feed, name="venue"),
    path("unit/<str:code>.ics", views_feeds.unit_feed, name="unit"),
    path("category/<str:category>.ics", views_feeds.category_feed, name="category"),
    path("occurrence/<int:pk>.ics", views_feeds.occurrence_ics, name="occurrence"),
]
