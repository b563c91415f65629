"""The numeric targets of the provincial plans, as data (loaded by `load_plan_targets`).

Each preset is a dict with a stable `preset` key ("<plan>/<year>/<what>[/<tier>]"), the
indicator, the venue kind and tier it selects (empty: every venue of the unit), `per_venue`,
`value` (and `value_max` for a range such as 15.000–18.000), the activity `category` and
`commemorative_days` (slugs of events.CommemorativeDay) for ACTIVITIES, a `label` for MANUAL
targets, and `source_document`: the plan's number, date and section.

How the plans' wording maps onto venues (`Venue.Kind` / `Venue.Tier`):

- thư viện công cộng cấp tỉnh → LIBRARY + PROVINCIAL; cấp huyện → LIBRARY + DISTRICT;
  cấp xã → LIBRARY + COMMUNE; thư viện các trường cao đẳng, đại học → LIBRARY + UNIVERSITY;
  thư viện lực lượng vũ trang, công an → LIBRARY + ARMED_FORCES; thư viện cơ sở giáo dục phổ
  thông, giáo dục nghề nghiệp và cơ sở giáo dục khác → LIBRARY + SCHOOL;
- bảo tàng (tỉnh) → MUSEUM + PROVINCIAL; trung tâm văn hóa, thể thao cấp xã → CULTURE_CENTRE + COMMUNE.
- "Thư viện công cộng cấp tỉnh … có cung cấp dịch vụ" names the provincial library without a
  percentage: a 100 % share of LIBRARY + PROVINCIAL.
- "Số lượt người sử dụng thư viện … tăng bình quân x % mỗi năm" is a VISITS_GROWTH target over
  every library of the unit (kind LIBRARY, no tier), set for the plan's milestone years, as an
  average yearly growth over the plan's period up to that year: for 2025 since 2022 (the plans
  run from 2023), for 2030 since 2025 (`GROWTH_BASE`).
- Numbers no event system can measure (artifacts digitised or collected, guides trained, private
  libraries/museums founded, buildings) are MANUAL targets with a Vietnamese label, entered by an
  officer each year.

Targets without a number (e.g. "Tổ chức Tuần lễ hưởng ứng học tập suốt đời … với quy mô cấp
tỉnh", "Hoàn thành việc chỉnh lý trưng bày") are not presets.
"""

from events.models import Category
from targets.models import Indicator
from venues.models import Venue

LIB, MUS, CC = Venue.Kind.LIBRARY, Venue.Kind.MUSEUM, Venue.Kind.CULTURE_CENTRE
T = Venue.Tier

BAC_GIANG_SOURCE = "Kế hoạch 74/KH-UBND ngày 11/04/2023 của UBND tỉnh Bắc Giang"
HUNG_YEN_SOURCE = "Kế hoạch 66/KH-UBND ngày 14/04/2023 của UBND tỉnh Hưng Yên"

# The plans, by the name given to `load_plan_targets --plan`.
# `province_code`: the province the plan's area belongs to since 1/7/2025 (vietnam-provinces
# numbering: Bắc Giang is now part of Bắc Ninh, P24; Hưng Yên, with the former Thái Bình, is P33).
# `former_name`: the province that issued it, looked for among that province's reporting groups.
PLANS = {
    "bac-giang": {
        "key": "bac-giang-74-2023",
        "title": "Kế hoạch 74/KH-UBND ngày 11/04/2023 (tỉnh Bắc Giang)",
        "former_name": "Bắc Giang",
        "province_code": "P24",
        "source": BAC_GIANG_SOURCE,
    },
    "hung-yen": {
        "key": "hung-yen-66-2023",
        "title": "Kế hoạch 66/KH-UBND ngày 14/04/2023 (tỉnh Hưng Yên)",
        "former_name": "Hưng Yên",
        "province_code": "P33",
        "source": HUNG_YEN_SOURCE,
    },
}

_TIER_SLUGS = {
    T.PROVINCIAL: "provincial-library",
    T.DISTRICT: "district-library",
    T.COMMUNE: "commune-library",
    T.UNIVERSITY: "university-library",
    T.ARMED_FORCES: "armed-forces-library",
    T.SCHOOL: "school-library",
}


# "tăng bình quân x % mỗi năm": the year the average growth to each milestone is counted from.
GROWTH_BASE = {2025: 2022, 2030: 2025}


def _t(plan, year, what, indicator, value, *, value_max=None, kind="", tier="", per_venue=False,
       category="", days=(), label="", base_year=None, section="II.2"):
    source = f"{PLANS[plan]['source']}, mục {section}"
    return {
        "plan": plan,
        "preset": f"{PLANS[plan]['key']}/{year}/{what}",
        "year": year,
        "indicator": indicator,
        "venue_kind": kind,
        "venue_tier": tier,
        "per_venue": per_venue,
        "value": value,
        "value_max": value_max,
        "base_year": base_year,
        "category": category,
        "commemorative_days": list(days),
        "label": label,
        "source_document": source,
    }


def _library_shares(plan, year, indicator, shares: dict, section: str):
    what = "lll-share" if indicator == Indicator.LIFELONG_LEARNING_SHARE else "digital-share"
    return [
        _t(plan, year, f"{what}/{_TIER_SLUGS[tier]}", indicator, value, kind=LIB, tier=tier, section=section)
        for tier, value in shares.items()
    ]


BG = "bac-giang"
HY = "hung-yen"

PRESETS: list[dict] = [
    # -- Bắc Giang, 2.1 libraries ---------------------------------------------------------------
    *_library_shares(BG, 2025, Indicator.LIFELONG_LEARNING_SHARE, {
        T.PROVINCIAL: 100, T.DISTRICT: 70, T.COMMUNE: 40, T.UNIVERSITY: 90, T.ARMED_FORCES: 80, T.SCHOOL: 70,
    }, "II.2.1"),
    *_library_shares(BG, 2025, Indicator.DIGITAL_SHARE, {
        T.PROVINCIAL: 100, T.DISTRICT: 50, T.COMMUNE: 15, T.UNIVERSITY: 60, T.ARMED_FORCES: 80, T.SCHOOL: 50,
    }, "II.2.1"),
    _t(BG, 2025, "library-visits-growth", Indicator.VISITS_GROWTH, 8, kind=LIB, base_year=GROWTH_BASE[2025],
       section="II.2.1"),
    *_library_shares(BG, 2030, Indicator.LIFELONG_LEARNING_SHARE, {
        T.PROVINCIAL: 100, T.DISTRICT: 90, T.COMMUNE: 60, T.UNIVERSITY: 100, T.ARMED_FORCES: 100, T.SCHOOL: 90,
    }, "II.2.1"),
    *_library_shares(BG, 2030, Indicator.DIGITAL_SHARE, {
        T.PROVINCIAL: 100, T.DISTRICT: 100, T.COMMUNE: 30, T.UNIVERSITY: 80, T.ARMED_FORCES: 80, T.SCHOOL: 70,
    }, "II.2.1"),
    _t(BG, 2030, "private-libraries", Indicator.MANUAL, 2, value_max=4, kind=LIB, tier=T.PRIVATE, section="II.2.1",
       label="Số thư viện tư nhân có phục vụ cộng đồng được xây dựng, hình thành"),
    # -- Bắc Giang, 2.2 museum ------------------------------------------------------------------
    _t(BG, 2025, "museum-visits", Indicator.VISITS, 15000, value_max=18000, kind=MUS, tier=T.PROVINCIAL,
       per_venue=True, section="II.2.2"),
    _t(BG, 2025, "museum-exhibitions", Indicator.ACTIVITIES, 2, value_max=4, kind=MUS, tier=T.PROVINCIAL,
       category=Category.EXHIBITION, section="II.2.2"),
    _t(BG, 2025, "museum-artifacts-digitised", Indicator.MANUAL, 50, value_max=100, kind=MUS, tier=T.PROVINCIAL,
       section="II.2.2", label="Số hiện vật được số hóa trong năm tại bảo tàng"),
    _t(BG, 2025, "museum-artifacts-collected", Indicator.MANUAL, 80, value_max=100, kind=MUS, tier=T.PROVINCIAL,
       section="II.2.2", label="Số tài liệu, hiện vật được sưu tầm trong năm"),
    _t(BG, 2025, "museum-guides", Indicator.MANUAL, 2, value_max=4, kind=MUS, tier=T.PROVINCIAL, section="II.2.2",
       label="Số thuyết minh viên đáp ứng đủ tiêu chuẩn bảo tàng"),
    _t(BG, 2025, "private-museums", Indicator.MANUAL, 1, value_max=2, kind=MUS, tier=T.PRIVATE, section="II.2.2",
       label="Số bảo tàng tư nhân được xây dựng"),
    _t(BG, 2030, "museum-visits", Indicator.VISITS, 20000, kind=MUS, tier=T.PROVINCIAL, per_venue=True,
       section="II.2.2"),
    _t(BG, 2030, "museum-artifacts-inventoried", Indicator.MANUAL, 100, kind=MUS, tier=T.PROVINCIAL, section="II.2.2",
       label="Tỷ lệ tài liệu, hiện vật tại bảo tàng tỉnh được kiểm kê, phân loại (%)"),
    _t(BG, 2030, "museum-artifacts-digitised-share", Indicator.MANUAL, 70, kind=MUS, tier=T.PROVINCIAL,
       section="II.2.2", label="Tỷ lệ hiện vật tại bảo tàng được số hóa (%)"),
    _t(BG, 2030, "private-museums", Indicator.MANUAL, 2, value_max=4, kind=MUS, tier=T.PRIVATE, section="II.2.2",
       label="Số bảo tàng tư nhân được xây dựng"),
    # -- Bắc Giang, 2.3 culture centres ---------------------------------------------------------
    _t(BG, 2025, "district-cultural-facilities", Indicator.MANUAL, 70, value_max=80, section="II.2.3",
       label="Tỷ lệ đơn vị cấp huyện có nhà văn hóa đa năng, sân vận động, quảng trường trung tâm, "
             "nhà thi đấu thể thao, trụ sở thư viện độc lập (%)"),
    _t(BG, 2025, "commune-culture-houses", Indicator.MANUAL, 100, kind=CC, tier=T.COMMUNE, section="II.2.3",
       label="Tỷ lệ xã, phường, thị trấn có nhà văn hóa (%)"),
    # "100% trung tâm văn hóa, thể thao cấp xã … có lớp năng khiếu, câu lạc bộ, nhóm sở thích,
    # thường xuyên tổ chức các hoạt động …": measured as the lifelong-learning share of commune
    # culture centres (village culture houses are not venues of the system).
    _t(BG, 2030, "lll-share/commune-culture-centre", Indicator.LIFELONG_LEARNING_SHARE, 100, kind=CC,
       tier=T.COMMUNE, section="II.2.3"),
    # -- Hưng Yên, a) libraries -----------------------------------------------------------------
    *[
        _t(HY, year, "library-themed-displays", Indicator.ACTIVITIES, 2, value_max=3, kind=LIB, tier=T.PROVINCIAL,
           category=Category.EXHIBITION, section="II.2, điểm a")
        for year in (2025, 2030)
    ],
    _t(HY, 2025, "library-visits-growth", Indicator.VISITS_GROWTH, 6, value_max=8, kind=LIB,
       base_year=GROWTH_BASE[2025], section="II.2, điểm a"),
    _t(HY, 2030, "library-visits-growth", Indicator.VISITS_GROWTH, 8, value_max=10, kind=LIB,
       base_year=GROWTH_BASE[2030], section="II.2, điểm a"),
    # -- Hưng Yên, b) museum --------------------------------------------------------------------
    *[
        _t(HY, year, "museum-experiential-education", Indicator.ACTIVITIES, 2, value_max=3, kind=MUS,
           tier=T.PROVINCIAL, category=Category.EXPERIENTIAL,
           days=("ethnic-cultures-day", "museum-day", "heritage-day"), section="II.2, điểm b")
        for year in (2025, 2030)
    ],
]

# The fields of a Target a preset sets (the rest are the plan, the unit and the days).
TARGET_FIELDS = (
    "year", "indicator", "venue_kind", "venue_tier", "per_venue", "value", "value_max", "base_year", "category", "label",
    "source_document",
)


def presets_for(plan: str) -> list[dict]:
    return [p for p in PRESETS if p["plan"] == plan]
