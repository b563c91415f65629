import unicodedata


def unaccent(text: str) -> str:
    """Lower-case `text` without Vietnamese diacritics, so "thu vien" finds "Thư viện"."""
    return unaccent_keep_case(text).lower()


def unaccent_keep_case(text: str) -> str:
    """Vietnamese without diacritics, case kept: "Thư viện Đức" -> "Thu vien Duc"."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))
