"""Segment counting on known cases: what staff see in the editor is what Twilio bills."""

import pytest

from notifications.sms import GSM7, UCS2, sms_measure, sms_prepare


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_is_160_in_one_segment_and_153_when_split(length, segments):
    # when
    sms = sms_measure("a" * length)

    # then
    assert (sms.encoding, sms.characters, sms.segments) == (GSM7, length, segments)


@pytest.mark.parametrize("char", ["€", "[", "]", "{", "}", "^", "~", "|", "\\"])
def test_gsm7_extension_characters_count_two(char):
    # given: one extension character makes 159 + 2 = 161 septets
    text = "a" * 159 + char

    # when
    sms = sms_measure(text)

    # then
    assert (sms.encoding, sms.characters, sms.segments) == (GSM7, 161, 2)
    assert sms_measure("a" * 158 + char).segments == 1


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_is_70_in_one_segment_and_67_when_split(length, segments):
    # when: "ư" is outside GSM-7
    sms = sms_measure("ư" * length)

    # then
    assert (sms.encoding, sms.characters, sms.segments) == (UCS2, length, segments)


def test_vietnamese_with_diacritics_is_ucs2():
    sms = sms_prepare("Thư viện tỉnh Hưng Yên")

    assert sms.encoding == UCS2
    assert sms.characters == len("Thư viện tỉnh Hưng Yên")


def test_vietnamese_without_diacritics_is_gsm7():
    sms = sms_prepare("Thư viện tỉnh Hưng Yên, Đường Nguyễn Văn Linh", without_diacritics=True)

    assert sms.text == "Thu vien tinh Hung Yen, Duong Nguyen Van Linh"
    assert sms.encoding == GSM7


def test_a_long_reminder_costs_fewer_segments_without_diacritics():
    # given: a realistic reminder of about 100 characters
    body = "Nhắc lịch: Câu lạc bộ đọc sách thiếu nhi, 9:00 thứ Bảy 14/6 tại Thư viện tỉnh Hưng Yên. Vé: https://x.vn/t/a"

    # then
    assert sms_prepare(body).segments == 2
    assert sms_prepare(body, without_diacritics=True).segments == 1


@pytest.mark.parametrize(
    "text",
    [
        "Hen gap\u00a0lai",  # no-break space
        "Hen gap\u202flai",  # narrow no-break space
        "\u201cHen gap lai\u201d",  # curly double quotes
        "\u2018Hen gap lai\u2019",  # curly single quotes
        "Hen gap lai \u2013 thu vien",  # en dash
    ],
)
def test_look_alike_characters_alone_do_not_force_ucs2(text):
    # given
    assert sms_measure(text).encoding == UCS2

    # when
    sms = sms_prepare(text)

    # then
    assert sms.encoding == GSM7
    assert sms.characters == len(sms.text)


def test_an_emoji_counts_as_two_utf16_units():
    # when: 🎉 is outside the Basic Multilingual Plane: a surrogate pair
    sms = sms_measure("🎉")

    # then
    assert (sms.encoding, sms.characters) == (UCS2, 2)
    assert sms_measure("a" * 68 + "🎉").segments == 1
    assert sms_measure("a" * 69 + "🎉").segments == 2
