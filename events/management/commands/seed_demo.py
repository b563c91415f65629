"""Demo data: Hưng Yên province with ~40 venues of every kind and tier, staff
logins for each role and ~150 programmes over the past 12 months and the next 3.

    manage.py seed_demo                 # load (or top up) the demo
    manage.py seed_demo --once          # do nothing if the demo is already loaded
    manage.py seed_demo --print-logins  # print the demo logins and exit

Idempotent: venues are keyed on their slug, programmes on (venue, title), users
on their username; what exists is left as it is, so a second run creates nothing.
Programmes go through events.services, so the django-scheduler events, rules and
occurrences are the real ones; some dates are cancelled (public holidays) or moved.
Dates are relative to the day the demo is loaded.

Then a year of history (events.demo_history: registrations, tickets, check-ins,
no-shows, walk-ins and attendance entered by hand, with the kept visit totals
rebuilt from them), the plan's targets (`load_plan_targets --plan hung-yen`, when
that command is installed) and a visits target for every demo venue. History
and targets are added once: a demo loaded before them gets them on the next run.

The passwords below are for the demo only.
"""

import datetime as dt
import zlib
from dataclasses import dataclass, field
from io import StringIO

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from common.timeutil import local_datetime, to_local
from events.demo_history import MARK, demo_targets, history_create, history_loaded
from events.models import Category, Occurrence, Programme
from events.services import occurrence_cancel, occurrence_move, programme_cancel, programme_create
from venues.management.commands.load_admin_units import admin_group_upsert, admin_units_load, province_code
from venues.models import AdminUnit, StaffRole, Venue

PROVINCE = 33  # Hưng Yên in vietnam-provinces
DEMO_PASSWORD = "demo12345"

K, T = Venue.Kind, Venue.Tier

# --- Venues ---------------------------------------------------------------------

HOURS_LIBRARY = "Thứ Hai – Thứ Sáu: 7h30–11h30, 13h30–17h00\nThứ Bảy, Chủ nhật: 8h00–11h30, 14h00–17h00"
HOURS_DISTRICT = "Thứ Ba – Thứ Bảy: 7h30–11h30, 13h30–17h00\nNghỉ Chủ nhật và thứ Hai"
HOURS_MUSEUM = "Thứ Ba – Chủ nhật: 8h00–11h30, 13h30–17h00\nNghỉ thứ Hai (trừ ngày lễ, Tết)"
HOURS_CULTURE = "Hằng ngày: 7h30–21h00 (các câu lạc bộ sinh hoạt buổi tối)"
HOURS_COMMUNE = "Thứ Hai – Thứ Sáu: 14h00–17h00\nThứ Bảy, Chủ nhật: 8h00–11h00, 14h00–17h00"
HOURS_CLC = "Theo lịch lớp học; văn phòng mở Thứ Hai – Thứ Sáu, 7h30–16h30"
HOURS_SCHOOL = "Ngày học: 7h00–11h00, 13h30–16h30 (phục vụ học sinh, giáo viên; khách ngoài trường liên hệ trước)"
HOURS_UNIVERSITY = "Thứ Hai – Thứ Bảy: 7h30–20h00"
HOURS_ARMED = "Thứ Hai – Thứ Sáu: 7h30–16h30 (phục vụ cán bộ, chiến sĩ; khách liên hệ trước)"
HOURS_PRIVATE = "Thứ Bảy, Chủ nhật: 8h00–17h00; ngày thường mở theo hẹn"

ACCESS_FULL = (
    "Lối vào có đường dốc cho xe lăn, thang máy lên các tầng, nhà vệ sinh cho người khuyết tật; "
    "có sách chữ nổi và sách nói cho người khiếm thị."
)
ACCESS_MUSEUM = (
    "Đường dốc ở cổng chính, xe lăn cho mượn tại quầy lễ tân; thuyết minh viên hỗ trợ khách khiếm thị "
    "và khiếm thính khi đặt lịch trước."
)
ACCESS_GROUND = "Phòng đọc ở tầng 1, lối vào bằng phẳng; chưa có nhà vệ sinh dành cho người khuyết tật."
ACCESS_STEPS = "Lối vào có ba bậc thềm; cán bộ hỗ trợ người đi xe lăn khi được báo trước qua điện thoại."
ACCESS_HALL = "Hội trường tầng 1, cửa rộng, có đường dốc; chỗ ngồi dành riêng cho người cao tuổi và người khuyết tật."


@dataclass(frozen=True)
class VenueSpec:
    slug: str
    name: str
    kind: str
    tier: str
    commune: str
    address: str
    opening_hours: str
    accessibility: str
    description: str = ""
    phone: str = ""
    coordinates: tuple[str, str] | None = None
    ownership: str = Venue.Ownership.PUBLIC


VENUES = [
    # Provincial tier
    VenueSpec(
        "thu-vien-tinh-hung-yen", "Thư viện tỉnh Hưng Yên", K.LIBRARY, T.PROVINCIAL, "Phường Phố Hiến",
        "Số 2 đường Chu Mạnh Trinh, phường Phố Hiến, tỉnh Hưng Yên", HOURS_LIBRARY, ACCESS_FULL,
        "Thư viện công cộng cấp tỉnh: phòng đọc tổng hợp, phòng đọc thiếu nhi, phòng đa phương tiện "
        "và không gian đọc sách ngoài trời.", "0221 3862 456", ("20.656120", "106.057340"),
    ),
    VenueSpec(
        "thu-vien-tinh-hung-yen-co-so-2", "Thư viện tỉnh Hưng Yên – Cơ sở 2", K.LIBRARY, T.PROVINCIAL,
        "Phường Trần Hưng Đạo", "Số 8 phố Lê Lợi, phường Trần Hưng Đạo, tỉnh Hưng Yên", HOURS_LIBRARY, ACCESS_FULL,
        "Cơ sở của Thư viện tỉnh tại khu vực Thái Bình cũ, có phòng đọc địa chí và kho sách Hán Nôm.",
        "0227 3831 247", ("20.447810", "106.340120"),
    ),
    VenueSpec(
        "bao-tang-tinh-hung-yen", "Bảo tàng tỉnh Hưng Yên", K.MUSEUM, T.PROVINCIAL, "Phường Phố Hiến",
        "Đường Nguyễn Văn Linh, phường Phố Hiến, tỉnh Hưng Yên", HOURS_MUSEUM, ACCESS_MUSEUM,
        "Trưng bày về lịch sử, văn hóa vùng đất Hưng Yên, thương cảng Phố Hiến và các làng nghề truyền thống.",
        "0221 3863 675", ("20.647030", "106.053110"),
    ),
    VenueSpec(
        "bao-tang-tinh-hung-yen-co-so-2", "Bảo tàng tỉnh Hưng Yên – Cơ sở 2", K.MUSEUM, T.PROVINCIAL,
        "Phường Thái Bình", "Phố Lê Lợi, phường Thái Bình, tỉnh Hưng Yên", HOURS_MUSEUM, ACCESS_MUSEUM,
        "Trưng bày về nền văn minh lúa nước, nghệ thuật Chèo và các làng nghề vùng Thái Bình cũ.",
        "0227 3831 532", ("20.450440", "106.336620"),
    ),
    VenueSpec(
        "trung-tam-van-hoa-tinh-hung-yen", "Trung tâm Văn hóa tỉnh Hưng Yên", K.CULTURE_CENTRE, T.PROVINCIAL,
        "Phường Sơn Nam", "Đường Tô Hiệu, phường Sơn Nam, tỉnh Hưng Yên", HOURS_CULTURE, ACCESS_HALL,
        "Nhà hát, hội trường 500 chỗ và các phòng sinh hoạt câu lạc bộ văn nghệ quần chúng.", "0221 3862 118",
        ("20.660250", "106.061870"),
    ),
    VenueSpec(
        "cung-van-hoa-thanh-thieu-nhi", "Cung Văn hóa Thanh thiếu nhi tỉnh Hưng Yên", K.CULTURE_CENTRE,
        T.PROVINCIAL, "Phường Hồng Châu", "Đường Điện Biên, phường Hồng Châu, tỉnh Hưng Yên", HOURS_CULTURE,
        ACCESS_HALL, "Lớp năng khiếu, câu lạc bộ khoa học và sân chơi cuối tuần cho thiếu nhi.", "0221 3865 020",
    ),
    VenueSpec(
        "trung-tam-van-hoa-nghe-thuat-thai-binh", "Trung tâm Văn hóa – Nghệ thuật Thái Bình", K.CULTURE_CENTRE,
        T.PROVINCIAL, "Phường Trần Lãm", "Phố Trần Thái Tông, phường Trần Lãm, tỉnh Hưng Yên", HOURS_CULTURE,
        ACCESS_HALL, "Sân khấu Chèo, phòng tập và không gian triển lãm của khu vực Thái Bình cũ.",
        "0227 3840 616", ("20.440500", "106.352400"),
    ),
    # District tier: libraries and culture centres of the former districts, now in a commune.
    VenueSpec(
        "thu-vien-van-giang", "Thư viện Văn Giang", K.LIBRARY, T.DISTRICT, "Xã Văn Giang",
        "Thôn Đan Phượng, xã Văn Giang, tỉnh Hưng Yên", HOURS_DISTRICT, ACCESS_GROUND,
        "Thư viện huyện Văn Giang cũ, nay trực thuộc xã Văn Giang.", "0221 3932 115", ("20.935400", "105.934200"),
    ),
    VenueSpec(
        "thu-vien-khoai-chau", "Thư viện Khoái Châu", K.LIBRARY, T.DISTRICT, "Xã Khoái Châu",
        "Đường 39B, xã Khoái Châu, tỉnh Hưng Yên", HOURS_DISTRICT, ACCESS_STEPS,
        "Thư viện huyện Khoái Châu cũ; có góc đọc về Chử Đồng Tử – Tiên Dung.", "0221 3910 238",
        ("20.830900", "105.982100"),
    ),
    VenueSpec(
        "thu-vien-an-thi", "Thư viện Ân Thi", K.LIBRARY, T.DISTRICT, "Xã Ân Thi",
        "Phố Bãi Sậy, xã Ân Thi, tỉnh Hưng Yên", HOURS_DISTRICT, ACCESS_GROUND,
        "Thư viện huyện Ân Thi cũ; phòng đọc thiếu nhi mở cả sáng thứ Bảy.",
    ),
    VenueSpec(
        "thu-vien-tien-lu", "Thư viện Tiên Lữ", K.LIBRARY, T.DISTRICT, "Xã Tiên Lữ",
        "Thôn Vương, xã Tiên Lữ, tỉnh Hưng Yên", HOURS_DISTRICT, ACCESS_STEPS,
        "Thư viện huyện Tiên Lữ cũ, gần khu di tích Đền thờ Thám hoa Hoàng Hoa Thám.",
    ),
    VenueSpec(
        "thu-vien-yen-my", "Thư viện Yên Mỹ", K.LIBRARY, T.DISTRICT, "Xã Yên Mỹ",
        "Đường Nguyễn Văn Linh, xã Yên Mỹ, tỉnh Hưng Yên", HOURS_DISTRICT, ACCESS_GROUND,
        "Thư viện huyện Yên Mỹ cũ, có phòng Internet miễn phí.", "0221 3967 340", ("20.885600", "106.031500"),
    ),
    VenueSpec(
        "thu-vien-my-hao", "Thư viện Mỹ Hào", K.LIBRARY, T.DISTRICT, "Phường Mỹ Hào",
        "Đường Nguyễn Bình, phường Mỹ Hào, tỉnh Hưng Yên", HOURS_DISTRICT, ACCESS_FULL,
        "Thư viện thị xã Mỹ Hào cũ, phục vụ nhiều công nhân các khu công nghiệp.", "0221 3943 566",
        ("20.928300", "106.083900"),
    ),
    VenueSpec(
        "thu-vien-quynh-phu", "Thư viện Quỳnh Phụ", K.LIBRARY, T.DISTRICT, "Xã Quỳnh Phụ",
        "Khu phố 2, xã Quỳnh Phụ, tỉnh Hưng Yên", HOURS_DISTRICT, ACCESS_STEPS,
        "Thư viện huyện Quỳnh Phụ cũ.",
    ),
    VenueSpec(
        "thu-vien-tien-hai", "Thư viện Tiền Hải", K.LIBRARY, T.DISTRICT, "Xã Tiền Hải",
        "Đường Hùng Thắng, xã Tiền Hải, tỉnh Hưng Yên", HOURS_DISTRICT, ACCESS_GROUND,
        "Thư viện huyện Tiền Hải cũ; có tủ sách về biển đảo và nghề biển.", "0227 3823 109",
        ("20.405600", "106.497800"),
    ),
    VenueSpec(
        "trung-tam-vhtt-hung-ha", "Trung tâm Văn hóa – Thể thao Hưng Hà", K.CULTURE_CENTRE, T.DISTRICT,
        "Xã Hưng Hà", "Thị trấn Hưng Hà cũ, xã Hưng Hà, tỉnh Hưng Yên", HOURS_CULTURE, ACCESS_HALL,
        "Trung tâm văn hóa huyện Hưng Hà cũ, quê hương nhà Trần.",
    ),
    VenueSpec(
        "trung-tam-vhtt-thai-thuy", "Trung tâm Văn hóa – Thể thao Thái Thụy", K.CULTURE_CENTRE, T.DISTRICT,
        "Xã Thái Thụy", "Khu Diêm Điền cũ, xã Thái Thụy, tỉnh Hưng Yên", HOURS_CULTURE, ACCESS_HALL,
        "Trung tâm văn hóa huyện Thái Thụy cũ, vùng ven biển.", "0227 3853 301", ("20.540200", "106.529800"),
    ),
    VenueSpec(
        "trung-tam-vhtt-vu-thu", "Trung tâm Văn hóa – Thể thao Vũ Thư", K.CULTURE_CENTRE, T.DISTRICT,
        "Xã Vũ Thư", "Thị trấn Vũ Thư cũ, xã Vũ Thư, tỉnh Hưng Yên", HOURS_CULTURE, ACCESS_STEPS,
        "Trung tâm văn hóa huyện Vũ Thư cũ.",
    ),
    # Commune tier
    VenueSpec(
        "thu-vien-xa-nghia-tru", "Thư viện xã Nghĩa Trụ", K.LIBRARY, T.COMMUNE, "Xã Nghĩa Trụ",
        "Nhà văn hóa trung tâm xã Nghĩa Trụ, tỉnh Hưng Yên", HOURS_COMMUNE, ACCESS_GROUND,
        "Thư viện xã kết hợp trung tâm học tập cộng đồng.",
    ),
    VenueSpec(
        "thu-vien-phuong-son-nam", "Thư viện phường Sơn Nam", K.LIBRARY, T.COMMUNE, "Phường Sơn Nam",
        "Trụ sở khu phố Lê Lai, phường Sơn Nam, tỉnh Hưng Yên", HOURS_COMMUNE, ACCESS_GROUND,
    ),
    VenueSpec(
        "thu-vien-xa-nhu-quynh", "Thư viện xã Như Quỳnh", K.LIBRARY, T.COMMUNE, "Xã Như Quỳnh",
        "Quốc lộ 5, xã Như Quỳnh, tỉnh Hưng Yên", HOURS_COMMUNE, ACCESS_STEPS,
        "Phục vụ cả công nhân khu công nghiệp Như Quỳnh vào buổi tối thứ Bảy.",
    ),
    VenueSpec(
        "thu-vien-xa-dong-thuy-anh", "Thư viện xã Đông Thụy Anh", K.LIBRARY, T.COMMUNE, "Xã Đông Thụy Anh",
        "Nhà văn hóa xã Đông Thụy Anh, tỉnh Hưng Yên", HOURS_COMMUNE, ACCESS_GROUND,
    ),
    VenueSpec(
        "nha-van-hoa-xa-phung-cong", "Nhà văn hóa xã Phụng Công", K.CULTURE_CENTRE, T.COMMUNE, "Xã Phụng Công",
        "Thôn Phú Thị, xã Phụng Công, tỉnh Hưng Yên", HOURS_COMMUNE, ACCESS_HALL,
    ),
    VenueSpec(
        "nha-van-hoa-phuong-hong-chau", "Nhà văn hóa phường Hồng Châu", K.CULTURE_CENTRE, T.COMMUNE,
        "Phường Hồng Châu", "Khu phố Hồng Châu, phường Hồng Châu, tỉnh Hưng Yên", HOURS_COMMUNE, ACCESS_HALL,
    ),
    VenueSpec(
        "nha-van-hoa-xa-tan-hung", "Nhà văn hóa xã Tân Hưng", K.CULTURE_CENTRE, T.COMMUNE, "Xã Tân Hưng",
        "Thôn Tân Hưng, xã Tân Hưng, tỉnh Hưng Yên", HOURS_COMMUNE, ACCESS_STEPS,
    ),
    VenueSpec(
        "nha-van-hoa-xa-kien-xuong", "Nhà văn hóa xã Kiến Xương", K.CULTURE_CENTRE, T.COMMUNE, "Xã Kiến Xương",
        "Trung tâm xã Kiến Xương, tỉnh Hưng Yên", HOURS_COMMUNE, ACCESS_HALL,
    ),
    VenueSpec(
        "diem-buu-dien-van-hoa-xa-duc-hop", "Điểm Bưu điện – Văn hóa xã Đức Hợp", K.OTHER, T.COMMUNE,
        "Xã Đức Hợp", "Thôn Đức Nhuận, xã Đức Hợp, tỉnh Hưng Yên", "Hằng ngày: 7h00–11h00, 13h30–17h30",
        ACCESS_GROUND, "Điểm bưu điện có tủ sách, báo và máy tính nối mạng miễn phí cho người dân.",
    ),
    VenueSpec(
        "nha-truyen-thong-xa-pham-ngu-lao", "Nhà truyền thống xã Phạm Ngũ Lão", K.MUSEUM, T.COMMUNE,
        "Xã Phạm Ngũ Lão", "Thôn Phù Ủng, xã Phạm Ngũ Lão, tỉnh Hưng Yên", "Chủ nhật: 8h00–11h00; ngày khác theo hẹn",
        ACCESS_STEPS, "Hiện vật, tư liệu về danh tướng Phạm Ngũ Lão và truyền thống quê hương Phù Ủng.",
    ),
    # Community learning centres
    VenueSpec(
        "ttht-cong-dong-xa-me-so", "Trung tâm học tập cộng đồng xã Mễ Sở", K.LEARNING_CENTRE, T.COMMUNE,
        "Xã Mễ Sở", "Trụ sở UBND xã Mễ Sở, tỉnh Hưng Yên", HOURS_CLC, ACCESS_GROUND,
    ),
    VenueSpec(
        "ttht-cong-dong-xa-lac-dao", "Trung tâm học tập cộng đồng xã Lạc Đạo", K.LEARNING_CENTRE, T.COMMUNE,
        "Xã Lạc Đạo", "Thôn Lạc Đạo, xã Lạc Đạo, tỉnh Hưng Yên", HOURS_CLC, ACCESS_GROUND,
    ),
    VenueSpec(
        "ttht-cong-dong-xa-hoang-hoa-tham", "Trung tâm học tập cộng đồng xã Hoàng Hoa Thám", K.LEARNING_CENTRE,
        T.COMMUNE, "Xã Hoàng Hoa Thám", "Thôn Dị Chế, xã Hoàng Hoa Thám, tỉnh Hưng Yên", HOURS_CLC, ACCESS_STEPS,
    ),
    VenueSpec(
        "ttht-cong-dong-xa-nam-cuong", "Trung tâm học tập cộng đồng xã Nam Cường", K.LEARNING_CENTRE, T.COMMUNE,
        "Xã Nam Cường", "Nhà văn hóa xã Nam Cường, tỉnh Hưng Yên", HOURS_CLC, ACCESS_GROUND,
    ),
    VenueSpec(
        "ttht-cong-dong-xa-minh-tho", "Trung tâm học tập cộng đồng xã Minh Thọ", K.LEARNING_CENTRE, T.COMMUNE,
        "Xã Minh Thọ", "Trụ sở UBND xã Minh Thọ, tỉnh Hưng Yên", HOURS_CLC, ACCESS_GROUND,
    ),
    # School libraries
    VenueSpec(
        "thu-vien-thpt-chuyen-hung-yen", "Thư viện Trường THPT Chuyên Hưng Yên", K.LIBRARY, T.SCHOOL,
        "Phường Phố Hiến", "Đường Chu Văn An, phường Phố Hiến, tỉnh Hưng Yên", HOURS_SCHOOL, ACCESS_FULL,
        phone="0221 3863 303", coordinates=("20.667800", "106.057900"),
    ),
    VenueSpec(
        "thu-vien-thcs-doan-thi-diem", "Thư viện Trường THCS Đoàn Thị Điểm", K.LIBRARY, T.SCHOOL, "Xã Yên Mỹ",
        "Xã Yên Mỹ, tỉnh Hưng Yên", HOURS_SCHOOL, ACCESS_GROUND,
    ),
    VenueSpec(
        "thu-vien-tieu-hoc-le-quy-don", "Thư viện Trường Tiểu học Lê Quý Đôn", K.LIBRARY, T.SCHOOL,
        "Xã Lê Quý Đôn", "Thôn Diên Hà, xã Lê Quý Đôn, tỉnh Hưng Yên", HOURS_SCHOOL, ACCESS_GROUND,
        "Thư viện thân thiện: sách đặt trên giá thấp, góc đọc trải thảm cho học sinh lớp 1–2.",
    ),
    VenueSpec(
        "thu-vien-thpt-chuyen-thai-binh", "Thư viện Trường THPT Chuyên Thái Bình", K.LIBRARY, T.SCHOOL,
        "Phường Trần Lãm", "Phố Hoàng Công Chất, phường Trần Lãm, tỉnh Hưng Yên", HOURS_SCHOOL, ACCESS_FULL,
        coordinates=("20.437900", "106.348700"),
    ),
    # College / university libraries
    VenueSpec(
        "thu-vien-dh-su-pham-ky-thuat-hung-yen", "Trung tâm Thông tin – Thư viện, Trường ĐH Sư phạm Kỹ thuật Hưng Yên",
        K.LIBRARY, T.UNIVERSITY, "Phường Mỹ Hào", "Cơ sở Mỹ Hào, phường Mỹ Hào, tỉnh Hưng Yên", HOURS_UNIVERSITY,
        ACCESS_FULL, "Thư viện điện tử với hơn 20 phòng học nhóm và cơ sở dữ liệu luận văn.", "0221 3713 081",
        ("20.943600", "106.069500"),
    ),
    VenueSpec(
        "thu-vien-dh-thai-binh", "Thư viện Trường Đại học Thái Bình", K.LIBRARY, T.UNIVERSITY, "Phường Vũ Phúc",
        "Phường Vũ Phúc, tỉnh Hưng Yên", HOURS_UNIVERSITY, ACCESS_FULL,
    ),
    VenueSpec(
        "thu-vien-cd-y-te-hung-yen", "Thư viện Trường Cao đẳng Y tế Hưng Yên", K.LIBRARY, T.UNIVERSITY,
        "Phường Hồng Châu", "Đường Hải Thượng Lãn Ông, phường Hồng Châu, tỉnh Hưng Yên", HOURS_UNIVERSITY,
        ACCESS_GROUND,
    ),
    # Armed forces / police
    VenueSpec(
        "thu-vien-bo-chi-huy-quan-su-tinh", "Thư viện Bộ Chỉ huy Quân sự tỉnh Hưng Yên", K.LIBRARY,
        T.ARMED_FORCES, "Phường Phố Hiến", "Phường Phố Hiến, tỉnh Hưng Yên", HOURS_ARMED, ACCESS_GROUND,
    ),
    VenueSpec(
        "thu-vien-cong-an-tinh", "Thư viện Công an tỉnh Hưng Yên", K.LIBRARY, T.ARMED_FORCES, "Phường Hồng Châu",
        "Phường Hồng Châu, tỉnh Hưng Yên", HOURS_ARMED, ACCESS_GROUND,
    ),
    # Private
    VenueSpec(
        "tu-sach-pho-hien", "Thư viện tư nhân Tủ sách Phố Hiến", K.LIBRARY, T.PRIVATE, "Phường Phố Hiến",
        "Ngõ 12 phố Bãi Sậy, phường Phố Hiến, tỉnh Hưng Yên", HOURS_PRIVATE, ACCESS_STEPS,
        "Thư viện tư nhân do một gia đình nhà giáo lập, cho mượn sách miễn phí.",
        ownership=Venue.Ownership.PRIVATE,
    ),
    VenueSpec(
        "nha-trung-bay-tuong-ban", "Nhà trưng bày tư nhân Làng nghề tương Bần", K.MUSEUM, T.PRIVATE,
        "Phường Mỹ Hào", "Khu phố Bần, phường Mỹ Hào, tỉnh Hưng Yên", HOURS_PRIVATE, ACCESS_GROUND,
        "Dụng cụ, chum vại và câu chuyện của nghề làm tương Bần trăm năm.", "0912 345 678",
        ("20.935100", "106.079700"), ownership=Venue.Ownership.PRIVATE,
    ),
]

# Reporting groups: former districts, as their communes now are.
GROUPS = [
    ("Huyện Khoái Châu (cũ)", ["Xã Khoái Châu", "Xã Triệu Việt Vương", "Xã Việt Tiến", "Xã Chí Minh", "Xã Châu Ninh"]),
    ("Thành phố Thái Bình (cũ)", ["Phường Thái Bình", "Phường Trần Lãm", "Phường Trần Hưng Đạo", "Phường Trà Lý", "Phường Vũ Phúc"]),
]

# --- Logins ---------------------------------------------------------------------

@dataclass(frozen=True)
class LoginSpec:
    username: str
    full_name: str
    role: str  # a StaffRole.Role, or "superuser"
    venue: str = ""  # slug, for managers and door staff
    unit: str = ""  # commune name (or "" for the province), for officers


LOGINS = [
    LoginSpec("admin", "Quản trị hệ thống", "superuser"),
    LoginSpec("canbo.so", "Trần Thu Hà", StaffRole.Role.OFFICER),
    LoginSpec("canbo.phohien", "Lê Minh Tuấn", StaffRole.Role.OFFICER, unit="Phường Phố Hiến"),
    LoginSpec("quanly.thuvien", "Nguyễn Thị Lan", StaffRole.Role.MANAGER, venue="thu-vien-tinh-hung-yen"),
    LoginSpec("soatve.thuvien", "Phạm Văn Hùng", StaffRole.Role.DOOR, venue="thu-vien-tinh-hung-yen"),
    LoginSpec("quanly.baotang", "Đỗ Quang Minh", StaffRole.Role.MANAGER, venue="bao-tang-tinh-hung-yen"),
    LoginSpec("soatve.baotang", "Vũ Thị Hoa", StaffRole.Role.DOOR, venue="bao-tang-tinh-hung-yen"),
    LoginSpec("quanly.vanhoa", "Hoàng Văn Nam", StaffRole.Role.MANAGER, venue="trung-tam-van-hoa-tinh-hung-yen"),
    LoginSpec("quanly.thuvienxa", "Bùi Thị Thu", StaffRole.Role.MANAGER, venue="thu-vien-xa-nghia-tru"),
    LoginSpec("quanly.hoctap", "Ngô Đức Thắng", StaffRole.Role.MANAGER, venue="ttht-cong-dong-xa-me-so"),
]

ROLE_LABELS = {
    "superuser": "superuser (Django admin)",
    StaffRole.Role.OFFICER: "department officer",
    StaffRole.Role.MANAGER: "venue manager",
    StaffRole.Role.DOOR: "door staff",
}

# --- Programmes -----------------------------------------------------------------

C = Category
WEEKDAY_NAMES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# First day of the lunar new year; occurrences around it, 1/1, 30/4, 1/5 and 2/9 are cancelled.
TET = {2024: (2, 10), 2025: (1, 29), 2026: (2, 17), 2027: (2, 6), 2028: (1, 26), 2029: (2, 13), 2030: (2, 3)}


def public_holidays(years) -> set[dt.date]:
    days = set()
    for year in years:
        days |= {dt.date(year, 1, 1), dt.date(year, 4, 30), dt.date(year, 5, 1), dt.date(year, 9, 2)}
        if year in TET:
            first = dt.date(year, *TET[year])
            days |= {first + dt.timedelta(days=d) for d in range(-2, 5)}
    return days


def _hm(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def _stable(text: str) -> int:
    # Python's hash() changes per process; the demo must choose the same way every run.
    return zlib.crc32(text.encode())


@dataclass
class ProgrammeSpec:
    venue: str
    title: str
    description: str
    category: str
    start: dt.datetime
    end: dt.datetime
    recurrence: str = Programme.Recurrence.ONCE
    weekdays: tuple[str, ...] = ()
    nth: int | None = None
    repeat_until: dt.date | None = None
    audiences: tuple[str, ...] = ()
    commemorative_day: str | None = None
    close_on_holidays: bool = True
    status: str = Programme.Status.PUBLISHED
    # Published, then called off as a whole (programme_cancel).
    called_off: bool = False
    fields: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.venue, self.title


class DemoPlan:
    """Every demo programme, dated relative to `today`."""

    def __init__(self, today: dt.date):
        self.today = today
        self.first_day = today - dt.timedelta(days=365)
        self.last_day = today + dt.timedelta(days=92)
        self.specs: list[ProgrammeSpec] = []

    # Builders -------------------------------------------------------------

    def once(self, venue, title, description, category, day, time, minutes, *, audiences=(), **kw):
        start = local_datetime(day, _hm(time))
        self._add(venue, title, description, category, start, start + dt.timedelta(minutes=minutes),
                  audiences=audiences, **kw)

    def daily(self, venue, title, description, category, day, days, time, minutes, *, audiences=(), **kw):
        start = local_datetime(day, _hm(time))
        kw.setdefault("close_on_holidays", False)
        self._add(venue, title, description, category, start, start + dt.timedelta(minutes=minutes),
                  recurrence=Programme.Recurrence.DAILY, repeat_until=day + dt.timedelta(days=days - 1),
                  audiences=audiences, **kw)

    def weekly(self, venue, title, description, category, weekdays, time, minutes, *, audiences=(),
               first=None, until=None, **kw):
        first = first or self._series_start(venue, title)
        until = until or self.today + dt.timedelta(days=88)
        start = local_datetime(first, _hm(time))
        self._add(venue, title, description, category, start, start + dt.timedelta(minutes=minutes),
                  recurrence=Programme.Recurrence.WEEKLY, weekdays=tuple(weekdays.split(",")),
                  repeat_until=until, audiences=audiences, **kw)

    def monthly(self, venue, title, description, category, weekday, nth, time, minutes, *, audiences=(),
                first=None, until=None, **kw):
        first = first or self._series_start(venue, title)
        until = until or self.today + dt.timedelta(days=88)
        start = local_datetime(first, _hm(time))
        self._add(venue, title, description, category, start, start + dt.timedelta(minutes=minutes),
                  recurrence=Programme.Recurrence.MONTHLY_NTH, weekdays=(weekday,), nth=nth,
                  repeat_until=until, audiences=audiences, **kw)

    def _series_start(self, venue, title) -> dt.date:
        # Series began between 9 and 12 months ago, each on its own day.
        return self.today - dt.timedelta(days=270 + _stable(venue + title) % 90)

    def _add(self, venue, title, description, category, start, end, *, audiences=(), commemorative_day=None,
             close_on_holidays=True, recurrence=Programme.Recurrence.ONCE, weekdays=(), nth=None,
             repeat_until=None, status=Programme.Status.PUBLISHED, called_off=False, **fields):
        self.specs.append(ProgrammeSpec(
            venue=venue, title=title, description=description, category=category, start=start, end=end,
            recurrence=recurrence, weekdays=weekdays, nth=nth, repeat_until=repeat_until,
            audiences=tuple(audiences), commemorative_day=commemorative_day,
            close_on_holidays=close_on_holidays, status=status, called_off=called_off, fields=fields,
        ))

    def dates_of(self, month: int, day: int) -> list[dt.date]:
        """Every `day/month` inside the demo window (past 12 months, next 3)."""
        found = []
        for year in range(self.first_day.year, self.last_day.year + 1):
            try:
                date = dt.date(year, month, day)
            except ValueError:
                continue
            if self.first_day <= date <= self.last_day:
                found.append(date)
        return found

    def latest_of(self, month: int, day: int) -> dt.date | None:
        dates = self.dates_of(month, day)
        return dates[-1] if dates else None

    # The plan -------------------------------------------------------------

    def build(self) -> list[ProgrammeSpec]:
        self._commemorative_days()
        self._provincial()
        self._district()
        self._commune()
        self._schools_and_universities()
        self._armed_forces_and_private()
        self._themed_displays()
        self._drafts_and_cancellations()
        keys = [s.key for s in self.specs]
        assert len(keys) == len(set(keys)), "demo programme titles must be unique per venue"
        return self.specs

    def _commemorative_days(self):
        lib, lib2 = "thu-vien-tinh-hung-yen", "thu-vien-tinh-hung-yen-co-so-2"
        museum, museum2 = "bao-tang-tinh-hung-yen", "bao-tang-tinh-hung-yen-co-so-2"
        centre = "trung-tam-van-hoa-tinh-hung-yen"
        district_libraries = [v.slug for v in VENUES if v.tier == T.DISTRICT and v.kind == K.LIBRARY]
        school_libraries = [v for v in VENUES if v.tier == T.SCHOOL]
        learning_centres = [v for v in VENUES if v.kind == K.LEARNING_CENTRE]

        for day in self.dates_of(10, 1):
            y, cd = day.year, {"commemorative_day": "lifelong-learning-week"}
            self.once(centre, f"Lễ khai mạc Tuần lễ hưởng ứng học tập suốt đời tỉnh Hưng Yên năm {y}",
                      "Lễ khai mạc cấp tỉnh với chủ đề xây dựng xã hội học tập; biểu dương gia đình, dòng họ, "
                      "cộng đồng học tập tiêu biểu và giao lưu văn nghệ.",
                      C.OTHER, day, "08:00", 150, audiences=("adults", "elderly", "students"), capacity=450, **cd)
            self.daily(lib, f"Triển lãm sách “Học tập suốt đời – chìa khóa của tương lai” năm {y}",
                       "Hơn 1.000 cuốn sách, báo, tài liệu về kỹ năng, nghề nghiệp và chuyển đổi số, trưng bày "
                       "suốt Tuần lễ hưởng ứng học tập suốt đời. Vào cửa tự do.",
                       C.EXHIBITION, day, 7, "07:30", 570, audiences=("adults", "students", "elderly"),
                       registration_required=False, **cd)
            self.once(lib, f"Ngày hội Thư viện số: trải nghiệm sách điện tử và sách nói năm {y}",
                      "Cài đặt ứng dụng thư viện số, mượn sách điện tử bằng thẻ căn cước, nghe sách nói; có "
                      "cán bộ hướng dẫn từng người, người khiếm thị được hỗ trợ riêng.",
                      C.DIGITAL, day + dt.timedelta(days=2), "08:00", 180,
                      audiences=("students", "adults", "elderly", "disabilities"), capacity=120, **cd)
            self.daily(museum, f"Bảo tàng mở cửa miễn phí trong Tuần lễ học tập suốt đời {y}",
                       "Miễn vé tham quan cả tuần; thuyết minh theo đoàn vào 9h00 và 15h00 hằng ngày.",
                       C.OTHER, day, 7, "08:00", 540, audiences=("families", "adults", "students"),
                       registration_required=False, **cd)
            self.once("thu-vien-dh-su-pham-ky-thuat-hung-yen",
                      f"Tọa đàm “Học tập suốt đời trong thời đại số” năm {y}",
                      "Giảng viên và sinh viên trao đổi về tự học với tài nguyên mở, MOOC và trí tuệ nhân tạo.",
                      C.TALK, day + dt.timedelta(days=1), "14:00", 120, audiences=("students", "adults"),
                      capacity=200, **cd)
            for offset, clc in enumerate(learning_centres):
                commune = clc.commune.removeprefix("Xã ")
                self.once(clc.slug, f"Ngày hội học tập cộng đồng xã {commune} năm {y}",
                          "Trưng bày sản phẩm các lớp học, thi tìm hiểu kiến thức nông nghiệp, pháp luật và "
                          "khen thưởng gia đình học tập của xã.",
                          C.OTHER, day + dt.timedelta(days=3 + offset % 3), "07:30", 180,
                          audiences=("adults", "elderly", "families"), capacity=250, **cd)

        for day in self.dates_of(4, 19):
            y, cd = day.year, {"commemorative_day": "ethnic-cultures-day"}
            self.once(centre, f"Ngày hội Văn hóa các dân tộc Việt Nam tại Hưng Yên năm {y}",
                      "Trình diễn trang phục, ẩm thực và trò chơi dân gian của đồng bào các dân tộc đang sinh "
                      "sống, làm việc tại Hưng Yên.",
                      C.OTHER, day, "08:00", 210, audiences=("families", "minorities", "adults"), capacity=400, **cd)
            self.once(museum2, f"Giáo dục trải nghiệm: Trang phục và trò chơi dân gian các dân tộc năm {y}",
                      "Học sinh thử trang phục, chơi ném còn, đẩy gậy và nghe kể về phong tục các dân tộc.",
                      C.EXPERIENTIAL, day, "08:00", 150, audiences=("students", "children"), capacity=120,
                      group_bookings=True, max_party_size=45, **cd)
            self.daily(museum, f"Trưng bày chuyên đề “Sắc màu văn hóa các dân tộc Việt Nam” năm {y}",
                       "Trang phục, nhạc cụ và đồ dùng của 54 dân tộc, mượn từ các bảo tàng bạn.",
                       C.EXHIBITION, day, 14, "08:00", 540, audiences=("families", "students", "minorities"),
                       registration_required=False, **cd)

        for day in self.dates_of(4, 21):
            y, cd = day.year, {"commemorative_day": "book-reading-day"}
            self.once(lib, f"Ngày Sách và Văn hóa đọc Việt Nam năm {y}: hội sách và giao lưu tác giả",
                      "Hội sách, đổi sách cũ lấy sách mới, giao lưu với nhà văn viết cho thiếu nhi và trao giải "
                      "cuộc thi Đại sứ Văn hóa đọc cấp tỉnh.",
                      C.READING, day, "08:00", 210, audiences=("children", "students", "families"), capacity=300, **cd)
            self.daily(lib2, f"Phố sách Thái Bình hưởng ứng Ngày Sách năm {y}",
                       "Các gian sách của nhà xuất bản, thư viện và trường học dọc phố Lê Lợi; đọc thơ buổi tối.",
                       C.READING, day - dt.timedelta(days=2), 3, "08:00", 720,
                       audiences=("families", "students", "adults"), registration_required=False, **cd)
            for slug in district_libraries:
                self.once(slug, f"Ngày hội đọc sách thiếu nhi năm {y}",
                          "Đọc sách cùng bạn, thi kể chuyện theo sách, vẽ tranh về nhân vật yêu thích; mỗi em "
                          "tham gia được tặng một cuốn sách.",
                          C.READING, day, "08:00", 150, audiences=("children", "families"), capacity=100, **cd)
            for school in school_libraries:
                self.once(school.slug, f"Cuộc thi Kể chuyện theo sách năm {y}",
                          "Mỗi lớp cử hai học sinh kể lại một cuốn sách đã đọc trong năm học; giáo viên ngữ văn "
                          "chấm giải.", C.READING, day, "14:00", 120, audiences=("students",), capacity=150, **cd)
            self.once("thu-vien-xa-nghia-tru", f"Xe thư viện lưu động về xã Nghĩa Trụ năm {y}",
                      "Xe thư viện của Thư viện tỉnh mang 3.000 cuốn sách, máy tính và kính thực tế ảo về sân "
                      "nhà văn hóa xã.", C.READING, day + dt.timedelta(days=1), "07:30", 240,
                      audiences=("children", "families", "elderly"), registration_required=False, **cd)

        for day in self.dates_of(4, 23):
            y, cd = day.year, {"commemorative_day": "world-book-day"}
            self.once(lib, f"Tọa đàm “Tôn trọng bản quyền trong thời đại số” năm {y}",
                      "Luật sư và nhà xuất bản nói về bản quyền sách điện tử, sách nói và tài liệu học tập "
                      "chia sẻ trên mạng.", C.TALK, day, "14:00", 120, audiences=("adults", "students"),
                      capacity=120, **cd)
            self.once("thu-vien-dh-thai-binh", f"Trao giải Cuộc thi Đại sứ Văn hóa đọc cấp trường năm {y}",
                      "Công bố và trao giải các bài dự thi xuất sắc; sinh viên chia sẻ thói quen đọc.",
                      C.READING, day, "15:00", 90, audiences=("students",), capacity=200, **cd)

        for day in self.dates_of(5, 18):
            y, cd = day.year, {"commemorative_day": "museum-day"}
            self.once(museum, f"Ngày Quốc tế Bảo tàng năm {y}: mở cửa miễn phí và thuyết minh chuyên đề",
                      "Miễn vé cả ngày; thuyết minh chuyên đề về thương cảng Phố Hiến lúc 9h00 và 15h00.",
                      C.OTHER, day, "08:00", 540, audiences=("families", "adults", "students"),
                      registration_required=False, **cd)
            self.once(museum, f"Giáo dục trải nghiệm “Em làm nhà khảo cổ nhỏ tuổi” năm {y}",
                      "Học sinh tự tay khai quật hố thám sát mô phỏng, phân loại và vẽ hiện vật gốm sứ Phố Hiến.",
                      C.EXPERIENTIAL, day + dt.timedelta(days=1), "08:00", 150,
                      audiences=("children", "students"), capacity=60, group_bookings=True, max_party_size=40, **cd)
            self.once(museum2, f"Tọa đàm “Bảo tàng và giáo dục di sản cho thế hệ trẻ” năm {y}",
                      "Cán bộ bảo tàng, giáo viên lịch sử và đoàn viên thanh niên bàn cách đưa di sản vào bài học.",
                      C.TALK, day, "14:00", 120, audiences=("adults", "students"), capacity=100, **cd)
            self.once("nha-truyen-thong-xa-pham-ngu-lao", f"Kể chuyện danh tướng Phạm Ngũ Lão cho đội viên năm {y}",
                      "Nghe kể chuyện “Tỏ lòng” và sự tích Phù Ủng, xem hiện vật và vẽ tranh về người anh hùng quê hương.",
                      C.EXPERIENTIAL, day, "08:30", 90, audiences=("children", "students"), capacity=80, **cd)
            self.once("nha-trung-bay-tuong-ban", f"Mở cửa miễn phí Nhà trưng bày tương Bần năm {y}",
                      "Nghệ nhân giới thiệu các công đoạn làm tương, khách được nếm thử tương mới ủ.",
                      C.OTHER, day, "08:00", 480, audiences=("families",), registration_required=False, **cd)

        for day in self.dates_of(11, 23):
            y, cd = day.year, {"commemorative_day": "heritage-day"}
            self.once(museum, f"Ngày Di sản văn hóa Việt Nam năm {y}: trình diễn Hát Trống quân",
                      "Các nghệ nhân câu lạc bộ Trống quân Đức Hợp trình diễn và hướng dẫn khán giả hát đối đáp.",
                      C.OTHER, day, "08:00", 150, audiences=("families", "adults", "elderly"), capacity=200, **cd)
            self.once(museum, f"Giáo dục trải nghiệm: Học sinh tìm hiểu di tích Phố Hiến năm {y}",
                      "Đi bộ theo tuyến Văn Miếu Xích Đằng – chùa Chuông – đền Mẫu với phiếu học tập của bảo tàng.",
                      C.EXPERIENTIAL, day + dt.timedelta(days=1), "07:30", 210, audiences=("students",),
                      capacity=80, group_bookings=True, max_party_size=45, **cd)
            self.once(museum2, f"Liên hoan Chèo không chuyên – Ngày Di sản văn hóa Việt Nam năm {y}",
                      "Các câu lạc bộ Chèo trong tỉnh trình diễn trích đoạn cổ; khán giả được học hát một làn điệu.",
                      C.OTHER, day, "19:30", 150, audiences=("adults", "elderly", "families"), capacity=300, **cd)
            self.daily("trung-tam-vhtt-hung-ha", f"Triển lãm ảnh “Di sản Hưng Yên qua ống kính” năm {y}",
                       "Tác phẩm của các hội viên nhiếp ảnh về di tích, lễ hội và làng nghề trong tỉnh.",
                       C.EXHIBITION, day - dt.timedelta(days=3), 10, "07:30", 570,
                       audiences=("adults", "families"), registration_required=False, **cd)

    def _provincial(self):
        lib, lib2 = "thu-vien-tinh-hung-yen", "thu-vien-tinh-hung-yen-co-so-2"
        museum, museum2 = "bao-tang-tinh-hung-yen", "bao-tang-tinh-hung-yen-co-so-2"
        self.weekly(lib, "Câu lạc bộ Đọc sách thiếu nhi",
                    "Mỗi sáng thứ Bảy, các em từ 6 đến 11 tuổi cùng đọc, kể lại và vẽ về cuốn sách yêu thích "
                    "dưới sự hướng dẫn của cán bộ thư viện. Phụ huynh có thể ngồi cùng con.",
                    C.CLUB, "SA", "08:30", 90, audiences=("children", "families"), capacity=30)
        self.weekly(lib, "Câu lạc bộ Tiếng Anh cuối tuần",
                    "Luyện nói tiếng Anh theo chủ đề cùng tình nguyện viên; trình độ nào cũng tham gia được.",
                    C.CLUB, "SU", "08:00", 90, audiences=("students", "adults"), capacity=25)
        self.weekly(lib, "Lớp kỹ năng số cho người cao tuổi",
                    "Sử dụng điện thoại thông minh an toàn: gọi video với con cháu, đọc báo điện tử, nhận biết "
                    "tin giả và cuộc gọi lừa đảo. Mang theo điện thoại của bác; thư viện có máy cho mượn.",
                    C.DIGITAL, "TU,TH", "14:30", 90, audiences=("elderly",), capacity=20)
        self.weekly(lib, "Giờ kể chuyện cho bé và gia đình",
                    "Cán bộ thư viện đọc to truyện tranh, sau đó bố mẹ và bé cùng làm đồ thủ công theo truyện.",
                    C.READING, "SU", "09:30", 60, audiences=("children", "families"), capacity=40)
        self.monthly(lib, "Tọa đàm giới thiệu sách mới hằng tháng",
                     "Giới thiệu sách mới bổ sung trong tháng; bạn đọc đề xuất sách thư viện nên mua.",
                     C.TALK, "TH", 2, "15:00", 90, audiences=("adults", "elderly"), capacity=80)
        self.monthly(lib, "Hướng dẫn khai thác thư viện số và cơ sở dữ liệu trực tuyến",
                     "Tra cứu mục lục trực tuyến, mượn sách điện tử, truy cập cơ sở dữ liệu khoa học miễn phí.",
                     C.DIGITAL, "WE", 1, "09:00", 120, audiences=("students", "adults"), capacity=30)
        self.monthly(lib2, "Câu lạc bộ Thơ Thái Bình",
                     "Sinh hoạt thơ ngày Chủ nhật cuối tháng: đọc thơ mới sáng tác, bình thơ và giao lưu.",
                     C.CLUB, "SU", -1, "08:00", 150, audiences=("adults", "elderly"), registration_required=False)
        self.weekly(lib2, "Câu lạc bộ Đọc sách thiếu nhi Thái Bình",
                    "Đọc sách theo chủ đề tháng, thi đố vui và làm sổ tay đọc sách.",
                    C.CLUB, "SA", "15:00", 90, audiences=("children",), capacity=30)
        self.weekly(lib2, "Lớp tin học cơ bản cho người lớn",
                    "Mười hai buổi: soạn thảo văn bản, bảng tính, thư điện tử và dịch vụ công trực tuyến.",
                    C.DIGITAL, "MO,WE", "18:30", 90, audiences=("adults",), capacity=20,
                    first=self.today - dt.timedelta(days=200), until=self.today - dt.timedelta(days=158))
        self.weekly(museum, "Bảo tàng với học đường: tham quan có hướng dẫn cho lớp học",
                    "Khung giờ dành cho một lớp (tối đa 45 học sinh) kèm phiếu học tập theo chương trình Lịch sử "
                    "và Địa lý địa phương. Giáo viên đặt chỗ cho cả lớp; bảo tàng xác nhận trong hai ngày làm việc.",
                    C.EXPERIENTIAL, "TU,TH", "08:30", 120, audiences=("students", "children"), capacity=45,
                    group_bookings=True, group_approval_required=True, max_party_size=45)
        self.monthly(museum, "Nói chuyện chuyên đề: Phố Hiến – thương cảng xưa",
                     "Mỗi tháng một câu chuyện về người Hoa, người Nhật, người Hà Lan ở Phố Hiến thế kỷ XVII.",
                     C.TALK, "SA", -1, "09:00", 90, audiences=("adults", "students"), capacity=100)
        self.weekly(museum, "Thuyết minh trưng bày thường xuyên sáng Chủ nhật",
                    "Thuyết minh viên dẫn khách qua ba phòng trưng bày; tập trung ở sảnh lúc 9h00.",
                    C.OTHER, "SU", "09:00", 60, audiences=("families", "adults"), registration_required=False,
                    close_on_holidays=False)
        self.weekly(museum2, "Bảo tàng với học đường: Khám phá văn minh lúa nước",
                    "Học sinh tìm hiểu nông cụ, thử giã gạo, xay lúa và nghe kể về lễ hội cầu mùa.",
                    C.EXPERIENTIAL, "WE,FR", "08:00", 120, audiences=("students", "children"), capacity=45,
                    group_bookings=True, group_approval_required=True, max_party_size=45)
        self.monthly(museum2, "Câu lạc bộ Những người yêu di sản",
                     "Hội viên chia sẻ tư liệu, ảnh cũ, hiện vật gia đình và lên kế hoạch khảo sát di tích.",
                     C.CLUB, "SU", 3, "08:30", 120, audiences=("adults", "elderly"), capacity=40)
        centre, youth, arts = (
            "trung-tam-van-hoa-tinh-hung-yen", "cung-van-hoa-thanh-thieu-nhi", "trung-tam-van-hoa-nghe-thuat-thai-binh",
        )
        self.weekly(centre, "Câu lạc bộ Hát Trống quân",
                    "Học hát đối đáp Trống quân – làn điệu dân ca đặc sắc của Hưng Yên – cùng nghệ nhân.",
                    C.CLUB, "TU,FR", "19:30", 90, audiences=("adults", "elderly"), registration_required=False)
        self.weekly(centre, "Lớp dân vũ và dưỡng sinh cho người cao tuổi",
                    "Bài tập nhẹ theo nhạc, giữ sức khỏe và gặp gỡ bạn bè; mang giày vải, nước uống.",
                    C.OTHER, "MO,WE,FR", "06:00", 60, audiences=("elderly",), registration_required=False)
        summer = self.today.year if self.today >= dt.date(self.today.year, 6, 10) else self.today.year - 1
        self.weekly(centre, f"Lớp kỹ năng sống mùa hè cho thiếu nhi năm {summer}",
                    "Phòng tránh đuối nước, an toàn giao thông, sơ cứu cơ bản và làm việc nhóm trong mười buổi hè.",
                    C.WORKSHOP, "TU,TH", "08:00", 120, audiences=("children",), capacity=30,
                    first=dt.date(summer, 6, 10), until=dt.date(summer, 8, 14))
        self.weekly(youth, "Lớp vẽ thiếu nhi cuối tuần",
                    "Vẽ màu nước và chì màu theo chủ đề quê hương, lớp cho các em từ 5 đến 12 tuổi.",
                    C.WORKSHOP, "SA,SU", "08:00", 90, audiences=("children",), capacity=25)
        self.weekly(youth, "Câu lạc bộ Khoa học vui STEM",
                    "Lắp mạch điện đơn giản, làm tên lửa nước, lập trình robot bằng khối lệnh.",
                    C.WORKSHOP, "SA", "14:00", 90, audiences=("children", "students"), capacity=24)
        self.weekly(arts, "Câu lạc bộ Chèo Thái Bình",
                    "Thái Bình là quê hương của nghệ thuật Chèo: học hát các làn điệu cổ cùng nghệ sĩ nhà hát.",
                    C.CLUB, "WE,SA", "19:30", 90, audiences=("adults", "elderly"), registration_required=False)
        self.monthly(arts, "Chiếu phim tài liệu và giao lưu cuối tháng",
                     "Chiếu phim tài liệu về lịch sử, văn hóa địa phương và giao lưu với đạo diễn hoặc nhân vật.",
                     C.TALK, "SA", -1, "19:30", 120, audiences=("families", "adults"), capacity=250)

    def _district(self):
        digital = {"thu-vien-van-giang", "thu-vien-my-hao", "thu-vien-quynh-phu", "thu-vien-tien-hai"}
        for venue in VENUES:
            if venue.tier != T.DISTRICT:
                continue
            if venue.kind == K.LIBRARY:
                self.weekly(venue.slug, "Giờ đọc sách thiếu nhi cuối tuần",
                            "Phòng đọc thiếu nhi mở sáng Chủ nhật với hoạt động đọc theo nhóm tuổi và đố vui.",
                            C.READING, "SU", "08:30", 90, audiences=("children",), capacity=30)
                if venue.slug in digital:
                    self.weekly(venue.slug, "Hướng dẫn dịch vụ công trực tuyến và VNeID",
                                "Kích hoạt tài khoản định danh điện tử, nộp hồ sơ trực tuyến, thanh toán hóa đơn; "
                                "mang căn cước và điện thoại.",
                                C.DIGITAL, "WE", "14:00", 90, audiences=("adults", "elderly"), capacity=20)
            else:
                self.weekly(venue.slug, "Câu lạc bộ Cờ tướng và đọc báo người cao tuổi",
                            "Sinh hoạt cờ tướng, đọc báo và trao đổi thời sự mỗi sáng thứ Năm.",
                            C.CLUB, "TH", "08:00", 120, audiences=("elderly",), registration_required=False)
                self.weekly(venue.slug, "Lớp tiếng Anh giao tiếp cho thanh niên",
                            "Tiếng Anh cho thanh niên chuẩn bị đi làm ở khu công nghiệp và ngành du lịch.",
                            C.WORKSHOP, "TU,TH", "19:00", 90, audiences=("adults", "students"), capacity=25)
        self.monthly("trung-tam-vhtt-thai-thuy", "Sinh hoạt chuyên đề: phòng chống thiên tai vùng ven biển",
                     "Cán bộ phòng chống thiên tai hướng dẫn chằng chống nhà cửa, sơ tán và sơ cứu khi bão lũ.",
                     C.TALK, "SU", 1, "08:00", 120, audiences=("adults", "families"), capacity=150)

    def _commune(self):
        for venue in VENUES:
            if venue.tier != T.COMMUNE:
                continue
            if venue.kind == K.LIBRARY:
                self.weekly(venue.slug, "Giờ kể chuyện cho bé",
                            "Cán bộ thư viện và tình nguyện viên đọc truyện cho trẻ từ 3 đến 8 tuổi.",
                            C.READING, "SA", "15:30", 60, audiences=("children", "families"), capacity=25)
                self.weekly(venue.slug, "Lớp dùng điện thoại thông minh cho người dân",
                            "Cài ứng dụng, chụp ảnh giấy tờ, tra cứu thông tin nông nghiệp và nhận biết lừa đảo.",
                            C.DIGITAL, "TH", "14:00", 90, audiences=("adults", "elderly"), capacity=15,
                            first=self.today - dt.timedelta(days=120))
            elif venue.kind == K.CULTURE_CENTRE:
                self.weekly(venue.slug, "Câu lạc bộ Văn nghệ quần chúng",
                            "Tập hát, múa, chuẩn bị tiết mục cho liên hoan văn nghệ của xã.",
                            C.CLUB, "TU,SA", "19:30", 90, audiences=("adults", "elderly"), registration_required=False)
                self.monthly(venue.slug, "Sinh hoạt chuyên đề pháp luật cho người dân",
                             "Cán bộ tư pháp giải đáp về đất đai, hôn nhân gia đình, an toàn giao thông.",
                             C.TALK, "WE", 3, "19:00", 90, audiences=("adults",), capacity=120)
            elif venue.kind == K.LEARNING_CENTRE:
                self.weekly(venue.slug, "Lớp xóa mù chữ số: dùng điện thoại thông minh",
                            "Từng bước làm quen điện thoại: nhắn tin, gọi video, tìm thông tin, thanh toán an toàn.",
                            C.DIGITAL, "MO", "19:00", 90, audiences=("adults", "elderly"), capacity=20)
                self.monthly(venue.slug, "Chuyên đề trồng trọt, chăn nuôi an toàn",
                             "Cán bộ khuyến nông hướng dẫn kỹ thuật theo mùa vụ và cách bán nông sản trên mạng.",
                             C.TALK, "SU", 2, "08:00", 120, audiences=("adults",), capacity=80)
                self.monthly(venue.slug, "Lớp nuôi dạy con theo khoa học",
                             "Dinh dưỡng, phòng tai nạn thương tích và đồng hành cùng con tuổi đi học.",
                             C.WORKSHOP, "SA", 1, "19:00", 90, audiences=("families", "adults"), capacity=40)
            elif venue.kind == K.MUSEUM:
                self.monthly(venue.slug, "Kể chuyện truyền thống quê hương cho đội viên",
                             "Sinh hoạt ngoại khóa cho liên đội các trường trong xã tại nhà truyền thống.",
                             C.EXPERIENTIAL, "SU", 1, "08:00", 90, audiences=("children", "students"), capacity=60,
                             group_bookings=True, max_party_size=40)
            else:
                self.weekly(venue.slug, "Đọc báo sáng cùng người cao tuổi",
                            "Đọc báo in và báo điện tử, trao đổi thời sự; có kính lúp và báo chữ to.",
                            C.READING, "MO,TH", "07:30", 90, audiences=("elderly",), registration_required=False)
                self.monthly(venue.slug, "Hướng dẫn thanh toán không dùng tiền mặt",
                             "Mở tài khoản, chuyển khoản, trả tiền điện nước bằng mã QR và giữ an toàn mật khẩu.",
                             C.DIGITAL, "FR", 2, "14:00", 90, audiences=("adults", "elderly"), capacity=15)

    def _schools_and_universities(self):
        days = ["MO", "TU", "WE", "TH"]
        school_year = self._school_year_start()
        # Reading lessons stop for the summer holidays.
        lessons_until = min(self.today + dt.timedelta(days=88), dt.date(school_year.year + 1, 5, 31))
        for n, venue in enumerate(v for v in VENUES if v.tier == T.SCHOOL):
            self.weekly(venue.slug, "Tiết đọc thư viện",
                        "Một tiết mỗi tuần lớp học lên thư viện đọc tự chọn và ghi sổ tay đọc sách.",
                        C.READING, days[n % 4], "09:30", 45, audiences=("students", "children"), capacity=45,
                        group_bookings=True, max_party_size=45, first=school_year, until=lessons_until)
            self.monthly(venue.slug, "Câu lạc bộ Đọc sách học sinh",
                         "Học sinh giới thiệu sách hay, tranh luận về nhân vật và viết cảm nhận.",
                         C.CLUB, "FR", 2, "15:30", 75, audiences=("students",), capacity=40)
        autumn = self.today.year if self.today >= dt.date(self.today.year, 9, 15) else self.today.year - 1
        self.weekly("thu-vien-dh-su-pham-ky-thuat-hung-yen", f"Kỹ năng tra cứu tài liệu số cho tân sinh viên khóa {autumn}",
                    "Tra cứu mục lục, cơ sở dữ liệu khoa học, trích dẫn tài liệu và dùng công cụ AI đúng cách.",
                    C.DIGITAL, "TU", "14:00", 90, audiences=("students",), capacity=60,
                    first=dt.date(autumn, 9, 15), until=dt.date(autumn, 11, 10))
        self.monthly("thu-vien-dh-su-pham-ky-thuat-hung-yen", "Câu lạc bộ Sách sinh viên",
                     "Mỗi tháng một cuốn sách: đọc trước, gặp nhau thảo luận và ghi hình giới thiệu sách.",
                     C.CLUB, "TH", 3, "18:00", 90, audiences=("students",), capacity=40)
        self.monthly("thu-vien-dh-thai-binh", "Hội thảo khoa học trẻ hằng tháng",
                     "Sinh viên, học viên trình bày đề tài nghiên cứu; thư viện hỗ trợ trình bày tài liệu tham khảo.",
                     C.TALK, "WE", 4, "14:00", 120, audiences=("students",), capacity=100)
        self.weekly("thu-vien-cd-y-te-hung-yen", "Giờ tự học có hướng dẫn: tra cứu tài liệu y khoa",
                    "Thủ thư hướng dẫn tra cứu PubMed, hướng dẫn điều trị của Bộ Y tế và sách điều dưỡng.",
                    C.DIGITAL, "TH", "15:00", 90, audiences=("students",), capacity=30, first=self._school_year_start())
        talk_day = self.today + dt.timedelta(days=24)
        self.once("thu-vien-dh-thai-binh", "Hội thảo “Trí tuệ nhân tạo trong học tập và nghiên cứu”",
                  "Giảng viên công nghệ thông tin và thư viện bàn cách dùng AI minh bạch, không đạo văn.",
                  C.TALK, talk_day, "08:00", 180, audiences=("students", "adults"), capacity=250)

    def _school_year_start(self) -> dt.date:
        year = self.today.year if self.today >= dt.date(self.today.year, 9, 5) else self.today.year - 1
        return dt.date(year, 9, 5)

    def _armed_forces_and_private(self):
        self.weekly("thu-vien-bo-chi-huy-quan-su-tinh", "Giờ đọc sách của chiến sĩ",
                    "Đọc sách, báo chuyên đề quốc phòng và văn học chiến tranh vào chiều thứ Sáu.",
                    C.READING, "FR", "15:00", 90, audiences=("adults",), capacity=60)
        for day in self.dates_of(12, 20):
            self.once("thu-vien-bo-chi-huy-quan-su-tinh",
                      f"Giới thiệu sách kỷ niệm Ngày thành lập Quân đội nhân dân Việt Nam năm {day.year}",
                      "Giới thiệu hồi ký, sách ảnh về các chiến dịch và gặp gỡ cựu chiến binh.",
                      C.TALK, day, "14:00", 120, audiences=("adults",), capacity=120)
        self.monthly("thu-vien-cong-an-tinh", "Tọa đàm sách pháp luật cho cán bộ chiến sĩ",
                     "Giới thiệu văn bản pháp luật mới và sách nghiệp vụ; trao đổi tình huống thực tế.",
                     C.TALK, "TU", 2, "14:00", 120, audiences=("adults",), capacity=80)
        self.once("thu-vien-cong-an-tinh", "Tọa đàm “Phòng chống lừa đảo trên không gian mạng”",
                  "Cán bộ An ninh mạng giới thiệu các thủ đoạn lừa đảo mới và cách bảo vệ dữ liệu cá nhân. "
                  "Mở cho người dân.", C.TALK, self.today + dt.timedelta(days=17), "08:00", 120,
                  audiences=("adults", "elderly", "students"), capacity=150)
        self.weekly("tu-sach-pho-hien", "Tủ sách thiếu nhi cuối tuần",
                    "Các em đến đọc, mượn sách miễn phí; chủ nhà kể chuyện lúc 9h00.",
                    C.READING, "SA,SU", "08:00", 180, audiences=("children", "families"), registration_required=False)
        self.monthly("nha-trung-bay-tuong-ban", "Trải nghiệm làm tương Bần cùng nghệ nhân",
                     "Rang gạo, ủ mốc, phơi tương: mỗi gia đình mang về một hũ tương nhỏ tự làm.",
                     C.EXPERIENTIAL, "SU", 2, "08:00", 150, audiences=("families", "children"), capacity=30,
                     max_party_size=6)

    def _themed_displays(self):
        # The plans ask each library for 2–3 themed displays a year; each runs two weeks.
        themes = [
            ((1, 20), "Mừng Đảng, mừng Xuân", "Sách, báo về lịch sử Đảng và phong tục Tết cổ truyền."),
            ((5, 12), "Bác Hồ với thiếu niên nhi đồng", "Sách, ảnh về Bác Hồ nhân ngày sinh của Người và Ngày Quốc tế Thiếu nhi."),
            ((6, 1), "Chủ quyền biển, đảo Việt Nam", "Tư liệu, bản đồ và sách về biển, đảo trong Tuần lễ Biển và Hải đảo."),
            ((8, 20), "Cách mạng tháng Tám và Quốc khánh 2/9", "Sách, ảnh tư liệu về Cách mạng tháng Tám ở Hưng Yên."),
            ((10, 12), "Phụ nữ Việt Nam – những tấm gương sáng", "Sách về những người phụ nữ tiêu biểu nhân ngày 20/10."),
            ((11, 10), "Tri ân thầy cô", "Sách về nghề giáo và các nhà giáo tiêu biểu nhân ngày 20/11."),
            ((3, 1), "Phòng chống đuối nước và tai nạn thương tích cho trẻ em", "Sách, tranh và hướng dẫn an toàn trước mùa hè."),
            ((9, 10), "Nông nghiệp xanh, nông thôn mới", "Sách kỹ thuật, mô hình kinh tế hay cho bà con nông dân."),
        ]
        libraries = [v.slug for v in VENUES if v.tier == T.DISTRICT and v.kind == K.LIBRARY]
        libraries += ["thu-vien-tinh-hung-yen-co-so-2", "thu-vien-phuong-son-nam"]
        for n, slug in enumerate(libraries):
            for (month, day), theme, description in (themes[n % len(themes)], themes[(n + 3) % len(themes)]):
                first = self.latest_of(month, day)
                if first is None:
                    continue
                self.daily(slug, f"Trưng bày sách chuyên đề “{theme}” năm {first.year}",
                           description + " Vào cửa tự do trong giờ mở cửa.",
                           C.EXHIBITION, first, 14, "07:30", 570, audiences=("adults", "students", "children"),
                           registration_required=False)
        # Mobile exhibitions of the provincial museum in the communes.
        for slug, (month, day) in [
            ("nha-van-hoa-xa-tan-hung", (3, 10)), ("nha-van-hoa-xa-kien-xuong", (7, 15)), ("ttht-cong-dong-xa-minh-tho", (12, 5))
        ]:
            first = self.latest_of(month, day)
            if first:
                self.daily(slug, f"Triển lãm lưu động “Hưng Yên – đất và người” năm {first.year}",
                           "Triển lãm lưu động của Bảo tàng tỉnh: ảnh, hiện vật phục chế và tư liệu về lịch sử "
                           "vùng đất Hưng Yên, kèm chiếu phim tài liệu buổi tối.",
                           C.EXHIBITION, first, 5, "07:30", 600, audiences=("families", "adults", "students"),
                           registration_required=False)


    def _drafts_and_cancellations(self):
        # A draft still being prepared and a talk called off, so staff pages show both states.
        self.once("thu-vien-tinh-hung-yen", "Lớp viết văn cho học sinh trung học (dự kiến)",
                  "Sáu buổi với nhà văn về truyện ngắn và tản văn; đang chờ xác nhận lịch của khách mời.",
                  C.WORKSHOP, self.today + dt.timedelta(days=40), "14:00", 120, audiences=("students",),
                  capacity=30, status=Programme.Status.DRAFT)
        self.once("trung-tam-van-hoa-tinh-hung-yen", "Tọa đàm “Văn hóa đọc trong gia đình” (hoãn)",
                  "Tọa đàm đã hoãn vì diễn giả bận công tác; Trung tâm sẽ thông báo lịch mới.",
                  C.TALK, self.today + dt.timedelta(days=30), "14:00", 120, audiences=("adults", "families"),
                  capacity=100, called_off=True)


# --- Command --------------------------------------------------------------------

class ProgressBar:
    """A plain text bar on one line. On a terminal it is redrawn as it grows;
    into a file or a pipe it is written once, when done."""

    def __init__(self, out, label: str, total: int, width: int = 30):
        self.out, self.label, self.total, self.width = out, label, total, width
        self.done, self.drawn = 0, -1
        self.live = out.isatty()
        if self.live:
            self._draw()

    def advance(self, n: int = 1):
        self.done += n
        if self.live:
            self._draw()

    def _draw(self):
        filled = self.width * self.done // self.total if self.total else self.width
        if filled == self.drawn:
            return
        self.drawn = filled
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(f"\r{self.label:<11} [{bar}] {self.done}/{self.total}", ending="")
        self.out.flush()

    def finish(self):
        self._draw()
        self.out.write("")


def logins_table(out):
    out.write(f"Demo logins (password for every account: {DEMO_PASSWORD}; demo data only)")
    rows = [("username", "role", "where")]
    names = {v.slug: v.name for v in VENUES}
    for login in LOGINS:
        if login.role == "superuser":
            where = "everything (/admin/)"
        elif login.venue:
            where = names[login.venue]
        else:
            where = login.unit or "Tỉnh Hưng Yên"
        rows.append((login.username, ROLE_LABELS[login.role], where))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    for username, role, where in rows:
        out.write(f"  {username:<{widths[0]}}  {role:<{widths[1]}}  {where}")


def demo_loaded() -> bool:
    """Whether every demo venue and login exists (the seed runs in one transaction)."""
    slugs = [v.slug for v in VENUES]
    return (
        Venue.objects.filter(slug__in=slugs).count() == len(slugs)
        and get_user_model().objects.filter(username__in=[u.username for u in LOGINS]).count() == len(LOGINS)
        and Programme.objects.filter(venue__slug=VENUES[0].slug).exists()
        and history_loaded()
        and demo_targets_loaded()
    )


def demo_targets_loaded() -> bool:
    from targets.models import Target

    return Target.objects.filter(preset__startswith=MARK).exists()


PLAN = "hung-yen"


def plan_targets_load(out) -> str:
    """The province plan's targets, through the command that loads plan presets
    (skipped, with a note, where that command is not installed)."""
    if "load_plan_targets" not in get_commands():
        return "plan targets skipped (load_plan_targets is not installed)"
    try:
        with transaction.atomic():
            call_command("load_plan_targets", plan=PLAN, stdout=out)
    except Exception as error:  # noqa: BLE001 - the demo must load even if that command breaks
        return f"plan targets NOT loaded (load_plan_targets failed: {type(error).__name__}: {error})"
    return f"plan targets of {PLAN} loaded"


class Command(BaseCommand):
    help = (
        "Load the demo: Hưng Yên, ~40 venues, staff logins, ~150 programmes, a year of visits and targets "
        "(idempotent)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Do nothing if the demo is already loaded.")
        parser.add_argument("--print-logins", action="store_true", help="Print the demo logins and exit.")

    def handle(self, *args, **options):
        if options["print_logins"]:
            logins_table(self.stdout)
            return
        if options["once"] and demo_loaded():
            self.stdout.write("Demo data already loaded; nothing to do.")
            return
        started = timezone.now()
        with transaction.atomic():
            counts = self.seed()
        seconds = (timezone.now() - started).total_seconds()
        self.stdout.write(
            f"Demo loaded in {seconds:.1f} s: {counts['venues']} venues, {counts['users']} logins, "
            f"{counts['programmes']} programmes created ({counts['programmes_total']} in the demo), "
            f"{counts['occurrences']} occurrences, {counts['cancelled']} dates cancelled, {counts['moved']} moved; "
            f"history: {counts['history']}; {counts['plan']}; {counts['targets']} demo targets created (venues and province)."
        )

    def seed(self) -> dict:
        counts = {"venues": 0, "users": 0, "programmes": 0, "occurrences": 0, "cancelled": 0, "moved": 0}
        result = admin_units_load(province=PROVINCE)
        self.stdout.write(f"Administrative units: {result}")
        province = AdminUnit.objects.get(code=province_code(PROVINCE))
        communes = {u.name: u for u in AdminUnit.objects.filter(parent=province, level=AdminUnit.Level.COMMUNE)}
        for name, members in GROUPS:
            admin_group_upsert(name=name, province=PROVINCE, members=[communes[m].code for m in members])

        venues = {v.slug: v for v in Venue.objects.filter(slug__in=[s.slug for s in VENUES])}
        bar = ProgressBar(self.stdout, "Venues", len(VENUES))
        for spec in VENUES:
            if spec.slug not in venues:
                venues[spec.slug] = self._venue_create(spec, communes[spec.commune])
                counts["venues"] += 1
            bar.advance()
        bar.finish()

        counts["users"] = self._logins(province, communes, venues)

        today = to_local(timezone.now()).date()
        plan = DemoPlan(today).build()
        counts["programmes_total"] = len(plan)
        existing = set(
            Programme.objects.filter(venue__slug__in=venues).values_list("venue__slug", "event__title")
        )
        todo = [spec for spec in plan if spec.key not in existing]
        holidays = public_holidays(range(today.year - 2, today.year + 2))
        admin = get_user_model().objects.get(username="admin")
        bar = ProgressBar(self.stdout, "Programmes", len(todo))
        for n, spec in enumerate(todo):
            programme = programme_create(
                venue=venues[spec.venue],
                title=spec.title,
                description=spec.description,
                start=spec.start,
                end=spec.end,
                category=spec.category,
                recurrence=spec.recurrence,
                weekdays=list(spec.weekdays),
                nth=spec.nth,
                repeat_until=spec.repeat_until,
                audiences=spec.audiences,
                commemorative_day_id=spec.commemorative_day,
                status=spec.status,
                created_by=admin,
                **spec.fields,
            )
            if spec.called_off:
                programme_cancel(programme=programme)
            counts["programmes"] += 1
            counts["occurrences"] += programme.occurrences.count()
            cancelled, moved = self._exceptions(programme, spec, n, holidays)
            counts["cancelled"] += cancelled
            counts["moved"] += moved
            bar.advance()
        bar.finish()

        demo_venues = [venues[spec.slug] for spec in VENUES]
        if history_loaded():
            counts["history"] = "already loaded"
        else:
            counts["history"] = str(history_create(venues=demo_venues, now=timezone.now()))
        counts["plan"] = plan_targets_load(StringIO())
        counts["targets"] = demo_targets(venues=demo_venues, today=today)
        return counts

    def _venue_create(self, spec: VenueSpec, commune: AdminUnit) -> Venue:
        latitude, longitude = spec.coordinates or (None, None)
        return Venue.objects.create(
            slug=spec.slug,
            name=spec.name,
            kind=spec.kind,
            tier=spec.tier,
            ownership=spec.ownership,
            admin_unit=commune,
            address=spec.address,
            phone=spec.phone,
            latitude=latitude,
            longitude=longitude,
            opening_hours=spec.opening_hours,
            accessibility=spec.accessibility,
            description=spec.description,
        )

    def _logins(self, province: AdminUnit, communes: dict, venues: dict) -> int:
        User = get_user_model()
        existing = set(User.objects.filter(username__in=[u.username for u in LOGINS]).values_list("username", flat=True))
        password = make_password(DEMO_PASSWORD) if len(existing) < len(LOGINS) else None  # hash once: it is slow
        created = 0
        for login in LOGINS:
            if login.username in existing:
                continue
            family, _, given = login.full_name.rpartition(" ")
            is_super = login.role == "superuser"
            user = User.objects.create(
                username=login.username, password=password, first_name=given, last_name=family,
                is_staff=is_super, is_superuser=is_super,
            )
            created += 1
            if is_super:
                continue
            if login.role == StaffRole.Role.OFFICER:
                unit = communes[login.unit] if login.unit else province
                StaffRole.objects.get_or_create(user=user, role=login.role, venue=None, admin_unit=unit)
            else:
                StaffRole.objects.get_or_create(user=user, role=login.role, venue=venues[login.venue], admin_unit=None)
        return created

    def _exceptions(self, programme: Programme, spec: ProgrammeSpec, n: int, holidays: set) -> tuple[int, int]:
        """Cancel the dates of a new recurring programme that fall on public holidays,
        and move one upcoming (and one past) date of every fifth one."""
        if spec.recurrence == Programme.Recurrence.ONCE:
            return 0, 0
        cancelled = moved = 0
        rows = list(Occurrence.objects.filter(programme=programme).order_by("start"))
        if spec.close_on_holidays:
            for row in rows:
                if to_local(row.start).date() in holidays:
                    occurrence_cancel(occurrence=row)
                    row.cancelled = True
                    cancelled += 1
        if spec.recurrence != Programme.Recurrence.DAILY and n % 5 == 0:
            now = timezone.now()
            future = [r for r in rows if r.start > now and not r.cancelled]
            past = [r for r in rows if r.start <= now and not r.cancelled]
            taken = {r.original_start for r in rows}
            for row in future[1:2] + past[-3:-2]:
                # Postponed by a day, or an hour earlier when the next day is another date of the series.
                options = [row.start + dt.timedelta(days=1), row.start - dt.timedelta(hours=1)]
                start = next(s for s in options if s not in taken)
                occurrence_move(occurrence=row, start=start, end=start + (row.end - row.start))
                moved += 1
        return cancelled, moved
