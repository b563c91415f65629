from django.shortcuts import render


def csrf_failure(request, reason=""):
    """A translated page instead of Django's English-only CSRF error."""
    return render(request, "403_csrf.html", status=403)
