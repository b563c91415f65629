from config.formats.vi.formats import *  # noqa: F401,F403 - the same dd/mm/yyyy in English

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
