"""Field validators shared by the claim form, the API and the import."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError

#: Training dates the scheme can concern: the notice dates from 2019, and a date past
#: 2099 (9999-12-31, a slipped key) is a typing error, not a planned course. Dates
#: in the future inside this range are judged by the rules (a violation, not a refusal).
EARLIEST_TRAINING_DATE = date(2000, 1, 1)
LATEST_TRAINING_DATE = date(2099, 12, 31)


def training_date(value: date) -> None:
    if not EARLIEST_TRAINING_DATE <= value <= LATEST_TRAINING_DATE:
        raise ValidationError(
            "培训日期应在%(earliest)s至%(latest)s之间",
            code="invalid_dates",
            params={
                "earliest": EARLIEST_TRAINING_DATE.isoformat(),
                "latest": LATEST_TRAINING_DATE.isoformat(),
            },
        )
