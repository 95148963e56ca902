"""What the admin shows staff: the reference data and users of the apps, and the
login lock-outs to lift; not the machinery behind them.

The task results (django-celery-results), the beat schedule (django-celery-beat; its entries
are written from settings.CELERY_BEAT_SCHEDULE) and axes' logs of every login are not
for staff to browse or edit, and their pages are in English. They are registered by
their apps' own admin modules, which Django imports before this one (INSTALLED_APPS
order). Nor are Django's groups: a user's role decides what they may do. Axes'
access attempts stay: the administrator lifts a lock-out there.
"""

from __future__ import annotations

from contextlib import suppress

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.auth.models import Group
from django.db.models import Model

from axes.models import AccessFailureLog, AccessLog
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_celery_results.models import GroupResult, TaskResult

NOT_FOR_STAFF: tuple[type[Model], ...] = (
    Group,  # who may do what is the user's role (accounts.models.Role), not a group
    TaskResult,
    GroupResult,
    PeriodicTask,
    IntervalSchedule,
    CrontabSchedule,
    SolarSchedule,
    ClockedSchedule,
    AccessLog,
    AccessFailureLog,
)

for model in NOT_FOR_STAFF:
    with suppress(NotRegistered):
        admin.site.unregister(model)
