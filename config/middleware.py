from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class SiteLanguageMiddleware(LocaleMiddleware):
    """Vietnamese unless the visitor picked another language with the switcher.

    Pages ignore the browser's Accept-Language: many phones in Vietnam run in
    English while their owners read Vietnamese, and the plans ask for a
    Vietnamese service first. The API still honours Accept-Language, since an
    integrator's client asks for what it can show.
    """

    def process_request(self, request):
        if request.path_info.startswith("/api/"):
            return super().process_request(request)
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
